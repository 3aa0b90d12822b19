"""Finding a data set's files (the jkeras home, a Keras user's `~/.keras`, else a download) and
reading them without running code: `.npz` object arrays and CIFAR's pickled batches are unpickled
with only numpy's array-building names allowed, so a tampered file cannot execute anything."""
import io
import os
import pickle
import zipfile

import numpy as np

from jkeras.backend.config import jkeras_home
from jkeras.utils.data_utils import get_file

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"

# What an array's pickle may name: numpy's reconstructors, arrays and dtypes (numpy 1 and 2 paths).
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"), ("numpy", "dtype"),
            ("_codecs", "encode")}  # how protocol-2 pickles written by Python 3 spell bytes


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}: a data set file may hold only "
                                     "numpy arrays, lists, numbers and strings.")


def load_pickle(path):
    """A (Python 2 or 3) pickle of dicts, lists and numpy arrays, keys as bytes (CIFAR's batches)."""
    with open(path, "rb") as f:
        return _ArrayUnpickler(f, encoding="bytes").load()


def load_npz(path):
    """`{name: array}` of an `.npz` file; object arrays (lists per sample) read safely."""
    out = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as f:
                data = io.BytesIO(f.read())
            version = np.lib.format.read_magic(data)
            reader = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = reader(data)
            if dtype.hasobject:
                array = _ArrayUnpickler(data, encoding="latin1").load()
                if not isinstance(array, np.ndarray):
                    raise ValueError(f"{path}: member {member!r} is not an array.")
            else:
                array = np.frombuffer(bytearray(data.read()), dtype=dtype).reshape(shape, order="F" if fortran else "C")
            out[member[:-4] if member.endswith(".npy") else member] = array
    return out


def locate(fname, origin, file_hash=None, cache_dir=None, cache_subdir="datasets", untar=False):
    """The path of a data set file: the copy already in the cache (`cache_dir`, else the jkeras
    home) or in `~/.keras/<cache_subdir>`, used as it is; else `get_file` downloads it (hash
    checked) into the cache."""
    base = os.path.expanduser(cache_dir) if cache_dir else jkeras_home()
    for folder in (os.path.join(base, cache_subdir),
                   os.path.join(os.path.expanduser("~"), ".keras", cache_subdir)):
        path = os.path.join(folder, fname)
        if (os.path.isdir(path) if untar else os.path.isfile(path)):
            return path
    if cache_dir:
        os.makedirs(os.path.expanduser(cache_dir), exist_ok=True)
    return get_file(fname, origin=origin, file_hash=file_hash, cache_dir=cache_dir,
                    cache_subdir=cache_subdir, untar=untar)


def shuffled(rng, *arrays):
    """The arrays reordered by one permutation drawn with `rng.shuffle`, as Keras's loaders do."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [a[indices] for a in arrays]

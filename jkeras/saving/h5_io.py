"""HDF5 plumbing every `.h5` reader and writer shares: atomic writes, a checked open, attribute
and name-list reading and writing, and the boundary that turns any low-level failure into a
`FileFormatError` naming the file and the part at fault.

Every file is written to a temporary name beside the target and renamed, so a crash mid-save
leaves the previous file whole. Reading trusts nothing in the file: first `h5_probe` walks it
in a child process, since libhdf5 itself can crash or loop on damaged bytes; then every
attribute, group and dataset is checked (kind, link type, declared shape and dtype) before it
is read. Weights are assigned only after all of them are checked, and put back if an
assignment fails, so a failed load leaves the model as it was.
"""
import contextlib
import json
import math
import os
import tempfile
import warnings

import h5py
import numpy as np

from jkeras.errors import FileFormatError, JkerasError
from jkeras.saving import h5_probe


_ATTR_LIMIT = 64512  # HDF5 object-header limit for one attribute, as Keras chunks at


_MAX_ATTR_BYTES = 256 * 2 ** 20  # an attribute declaring more than this is refused unread


class atomic_file:
    """An `h5py.File` opened on a temporary name, renamed over `path` on success."""

    def __init__(self, path, overwrite):
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f"{self.path} exists and overwrite=False.")

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)  # as Keras: saving into a new folder creates it
        fd, self.tmp = tempfile.mkstemp(prefix=".jkeras-", suffix=".h5.tmp", dir=folder)
        os.close(fd)
        self.file = h5py.File(self.tmp, "w")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
            h5_probe.trust(self.path)  # written here from the model's own values
        else:
            os.unlink(self.tmp)
        return False


def write_names(group, attr, names):
    """A string-array attribute, chunked as `attr0, attr1, ...` when it is too big (as Keras does)."""
    data = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])
    if data.nbytes <= _ATTR_LIMIT:
        group.attrs[attr] = data
        return
    chunks = int(np.ceil(data.nbytes / _ATTR_LIMIT))
    for i, chunk in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{attr}{i}"] = chunk


@contextlib.contextmanager
def file_part(description):
    """Label failures inside the block with the file part being read (the innermost label wins)."""
    try:
        yield
    except BaseException as error:
        if not isinstance(error, JkerasError) and getattr(error, "_jkeras_part", None) is None:
            try:
                error._jkeras_part = description
            except AttributeError:
                pass
        raise


@contextlib.contextmanager
def read_boundary(filepath, action):
    """Every failure reading `filepath` leaves as a jkeras error naming the file and the part."""
    try:
        yield
    except JkerasError:
        raise
    except FileNotFoundError as error:
        if getattr(error, "_jkeras_part", None) is None:
            raise
        raise FileFormatError(f"{os.fspath(filepath)}: {error._jkeras_part}: {error}") from error
    except (KeyboardInterrupt, SystemExit):
        raise
    except RecursionError as error:
        part = getattr(error, "_jkeras_part", None) or "the file's structure"
        raise FileFormatError(f"{os.fspath(filepath)}: {part} is nested too deeply to "
                              f"{action}.") from error
    except MemoryError as error:
        part = getattr(error, "_jkeras_part", None) or "a declared size"
        raise FileFormatError(f"{os.fspath(filepath)}: {part}: reading it would need more memory "
                              f"than there is; the file is damaged or not a Keras file.") from error
    except Exception as error:  # noqa: BLE001 - h5py, numpy, json: anything a damaged file does
        part = getattr(error, "_jkeras_part", None) or "the file"
        raise FileFormatError(f"{os.fspath(filepath)}: cannot {action}: {part} is damaged or not "
                              f"what a Keras file holds ({type(error).__name__}: {error}).") from error


def open_h5(filepath):
    """`filepath` opened read-only, after `h5_probe` walked it in a child process; a missing,
    foreign (a zip: Keras 3's `.keras`) or damaged file raises with its reason."""
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    if os.path.isdir(path):
        raise FileFormatError(f"{path} is a folder, not an HDF5 file.")
    if not os.path.isfile(path):
        raise FileFormatError(f"{path} is not a regular file (a device, pipe or socket?); an HDF5 "
                              "file is expected.")
    problem = h5_probe.probe(path)
    if problem is not None:
        raise FileFormatError(f"{path}: {problem}; the file is damaged (it was read in a separate "
                              "process first, so this one is unharmed).")
    try:
        return h5py.File(path, "r")
    except Exception as error:  # noqa: BLE001 - h5py raises OSError, some damage gives others
        try:
            with open(path, "rb") as raw:
                is_zip = raw.read(4) == b"PK\x03\x04"
        except OSError:
            is_zip = False
        if is_zip:
            raise FileFormatError(
                f"{path} is a zip archive (Keras 3's `.keras` format), not HDF5. jkeras reads "
                "Keras `.h5` files: in Keras 3, save with model.save('m.h5') or "
                "model.save_weights('m.weights.h5').") from error
        raise FileFormatError(f"{path} is not an HDF5 file (or it is truncated): {error}") from error


def member(group, name, kind, where=None):
    """`group[name]` if it is a hard link to a `kind` (h5py.Group or h5py.Dataset), else None.

    External and soft links are refused: a file must not make jkeras read another file.
    """
    where = where or f"'{path_of(group)}'"
    with file_part(f"member '{name}' of {where}"):
        if name not in group:
            return None
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise FileFormatError(f"{where} holds '{name}' as a {type(link).__name__}; a Keras "
                                  "file holds its groups and datasets directly (links to other "
                                  "places or files are refused).")
        obj = group[name]
    if not isinstance(obj, kind):
        wanted = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise FileFormatError(f"{where}: '{name}' is a {type(obj).__name__}; expected a {wanted}.")
    return obj


def path_of(group):
    """The HDF5 path of `group` for messages ("?" where its header is damaged)."""
    try:
        return group.name or "/"
    except Exception:  # noqa: BLE001 - a damaged object header
        return "?"


def read_attr(group, name, where=None):
    """An attribute's value, or None; its declared size is checked before it is read."""
    where = where or f"attribute '{name}' of '{path_of(group)}'"
    with file_part(where):
        if name not in group.attrs:
            return None
        aid = group.attrs.get_id(name)
        dtype = aid.dtype
        count = math.prod(aid.shape or ())
        size = count * max(dtype.itemsize, 1)
        if size > _MAX_ATTR_BYTES or count > _MAX_ATTR_BYTES:
            raise FileFormatError(f"{where} declares {count} values ({size} bytes): more than any "
                                  "Keras file holds; the file is damaged.")
        return group.attrs[name]


def decode_text(value, where):
    """`value` (an attribute's bytes or str) as text; `where` names it when it is not UTF-8."""
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError as error:
            raise FileFormatError(f"{where} is not UTF-8 text ({error}).") from error
    if isinstance(value, str):
        try:  # h5py hands undecodable bytes back as surrogate escapes
            value.encode("utf8")
        except UnicodeEncodeError as error:
            raise FileFormatError(f"{where} is not UTF-8 text ({error}).") from error
        return value
    raise FileFormatError(f"{where} must hold text; it holds {type(value).__name__} "
                          f"{str(value)[:80]!r}.")


def read_names(group, attr):
    """The names `write_names` stored as `attr` of `group` (chunks `attr0`, `attr1`, ... joined),
    each checked to be non-empty UTF-8 text."""
    where = f"attribute '{attr}' of '{path_of(group)}'"
    raw = read_attr(group, attr)
    if raw is None:
        with file_part(f"attributes of '{path_of(group)}'"):
            keys = list(group.attrs.keys())
        numbered = {}
        for key in keys:
            if key.startswith(attr) and key[len(attr):].isdigit():
                numbered[int(key[len(attr):])] = key
        if not numbered:
            raise FileFormatError(f"'{path_of(group)}' has no '{attr}' attribute: not a Keras "
                                  "weights group.")
        if sorted(numbered) != list(range(len(numbered))):
            raise FileFormatError(f"'{path_of(group)}' holds '{attr}' in chunks "
                                  f"{sorted(numbered)}; chunks must be numbered 0, 1, 2, ... "
                                  "without gaps.")
        chunks = [np.asarray(read_attr(group, numbered[i])).reshape(-1) for i in range(len(numbered))]
        raw = np.concatenate(chunks) if chunks else np.asarray([])
        where = f"attributes '{attr}0'..'{attr}{len(numbered) - 1}' of '{path_of(group)}'"
    if isinstance(raw, (bytes, str, np.bytes_, np.str_)):
        raw = [raw]
    values = np.asarray(raw, dtype=object).reshape(-1) if not isinstance(raw, list) else raw
    if isinstance(raw, np.ndarray) and raw.size and raw.dtype.kind not in "SUO":
        raise FileFormatError(f"{where} must hold names (strings); it holds {raw.dtype} values.")
    names = [decode_text(n, f"{where}[{i}]") for i, n in enumerate(values)]
    for i, n in enumerate(names):
        if not n or "\x00" in n:
            raise FileFormatError(f"{where}[{i}] is not a valid name: {n!r}.")
    return names


def attr_text(f, name):
    """The text attribute `name` of `f`, or None."""
    value = read_attr(f, name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return decode_text(value, f"attribute '{name}'")


def parse_json_attr(f, name):
    """The JSON attribute `name` of `f` (`model_config`, `training_config`) parsed, or None."""
    text = attr_text(f, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except RecursionError as error:
        raise FileFormatError(f"attribute '{name}' is JSON nested too deeply.") from error
    except ValueError as error:
        raise FileFormatError(f"attribute '{name}' is not valid JSON ({error}).") from error


def with_file(path, fn, *args):
    """Call `fn`; a FileFormatError it raises gets the file's path in front."""
    try:
        return fn(*args)
    except FileFormatError as error:
        if str(error).startswith(path):
            raise
        raise FileFormatError(f"{path}: {error}") from error


def has_names(group, attr):
    """Whether `group` holds the name list `attr` (whole or chunked)."""
    with file_part(f"attributes of '{path_of(group)}'"):
        return attr in group.attrs or f"{attr}0" in group.attrs


def shape_of(ds):
    """A dataset's declared shape, read without reading its values."""
    with file_part(f"dataset '{path_of(ds)}'"):
        return tuple(ds.shape) if ds.shape is not None else None


def read_dataset(ds, variable):
    """`ds` as an array of `variable`'s dtype, read only after its shape and dtype are checked."""
    where = f"dataset '{path_of(ds)}'"
    with file_part(where):
        shape, dtype = shape_of(ds), ds.dtype
    if shape != tuple(variable.shape):
        raise FileFormatError(f"{where} has shape {shape}; weight '{variable.path}' has shape "
                              f"{tuple(variable.shape)}.")
    if dtype.kind not in "biuf":
        raise FileFormatError(f"{where} holds {dtype} values; a weight needs numbers (weight "
                              f"'{variable.path}', {variable.dtype}).")
    with file_part(where):
        value = np.asarray(ds[()])
    if value.shape != tuple(variable.shape) or value.dtype.kind not in "biuf":
        raise FileFormatError(f"{where} did not read as a {tuple(variable.shape)} array of numbers.")
    with file_part(where):
        return np.asarray(value, dtype=variable.value.dtype)


def read_raw(ds):
    """A dataset of numbers as a numpy array, its dtype checked before it is read."""
    where = f"dataset '{path_of(ds)}'"
    with file_part(where):
        dtype = ds.dtype
    if dtype.kind not in "biuf":
        raise FileFormatError(f"{where} holds {dtype} values; a weight needs numbers.")
    with file_part(where):
        return np.asarray(ds[()])


def assign_all(assignments):
    """`layer.set_weights(values)` for each; if one fails, every layer gets its old values back."""
    saved = [(layer, [w.value for w in layer.weights]) for layer, _ in assignments]
    try:
        for layer, values in assignments:
            layer.set_weights(values)
    except BaseException:
        for layer, old in saved:
            for w, value in zip(layer.weights, old):
                w._value = value
        raise


def queue_or_skip(assignments, layer, values, problem, skip_mismatch):
    """Queue `layer`'s `values` for `assign_all`; where there is a `problem`, raise it as a
    FileFormatError, or with `skip_mismatch` warn and leave the layer as it is."""
    if not problem:
        assignments.append((layer, values))
    elif skip_mismatch:
        warn_skip(layer, problem)
    else:
        raise FileFormatError(problem)


def warn_skip(layer, problem):
    """Warn that `layer`'s weights are skipped (`skip_mismatch=True`) and why."""
    warnings.warn(f"Skipping loading weights for layer '{layer.name}' (skip_mismatch=True): {problem}",
                  stacklevel=5)

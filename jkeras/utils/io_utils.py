"""`HDF5Matrix`: an HDF5 dataset used in place of a numpy array, read from disk on demand; and
Keras 2's `ask_to_proceed_with_overwrite`."""
import os

import h5py
import numpy as np

from jkeras.utils.logging_utils import print_msg


class HDF5Matrix:
    """Rows `start:end` of an HDF5 dataset, read lazily, with `normalizer` applied to every read.

    Indexing reads only the rows asked for: an int, a slice (positive step), or a list/array of
    row indices (any order; read sorted and unique, as h5py requires, then put back in order).
    It can be passed as `x`, `y` or `sample_weight` to `fit`, `evaluate` and `predict`, which
    then read it batch by batch.

    Example:
        x = HDF5Matrix('data.h5', 'features', start=0, end=1000, normalizer=lambda a: a / 255)
        model.fit(x, y, batch_size=32, shuffle='batch')
    """

    def __init__(self, datapath, dataset, start=0, end=None, normalizer=None):
        handle = h5py.File(datapath, "r")
        self.data = handle.get(dataset)
        if not isinstance(self.data, h5py.Dataset):
            raise ValueError(f"No dataset {dataset!r} in HDF5 file {os.fspath(datapath)!r}; its "
                             f"top level holds {sorted(handle)}.")
        total = self.data.shape[0]
        self.start = int(start)
        self.end = total if end is None else int(end)
        if not 0 <= self.start <= self.end <= total:
            raise ValueError(f"HDF5Matrix needs 0 <= start <= end <= {total} (the rows of "
                             f"{dataset!r}); received start={start}, end={end}.")
        self.normalizer = normalizer
        self._args = (os.fspath(datapath), dataset, self.start, self.end, normalizer)
        first = self._read(slice(self.start, min(self.start + 1, self.end)))
        self._row_shape, self._dtype = first.shape[1:], first.dtype

    def __reduce__(self):
        return HDF5Matrix, self._args

    def __len__(self):
        return self.end - self.start

    @property
    def shape(self):
        return (len(self),) + self._row_shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape))

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)

    def __getitem__(self, key):
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step < 1:
                raise IndexError(f"HDF5Matrix slices need a positive step; received {key}.")
            return self._read(slice(self.start + start, self.start + max(stop, start), step))
        if isinstance(key, (int, np.integer)):
            return self._read(self.start + self._check(np.asarray(key)).item())
        if isinstance(key, (list, np.ndarray)):
            index = self._check(np.asarray(key, np.int64))
            rows, inverse = np.unique(index, return_inverse=True)
            return self._read(self.start + rows)[inverse.reshape(index.shape)]
        raise TypeError(f"HDF5Matrix indices must be ints, slices or lists/arrays of ints; "
                        f"received {type(key).__name__}.")

    def _check(self, index):
        """`index` with negatives counted from the end; an IndexError if out of range."""
        n = len(self)
        if index.size and (index.min() < -n or index.max() >= n):
            raise IndexError(f"Index out of range for an HDF5Matrix of {n} rows: {index.tolist()}.")
        return np.where(index < 0, index + n, index)

    def _read(self, rows):
        values = self.data[rows]
        return values if self.normalizer is None else self.normalizer(values)


def ask_to_proceed_with_overwrite(filepath):
    """Ask on the terminal whether `filepath` may be overwritten: True for yes, False for no."""
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print_msg("[TIP] Next time specify overwrite=True!")
    return True

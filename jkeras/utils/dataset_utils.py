"""tf.keras 2's array-side data helpers, on numpy: split a data set, pack and unpack `(x, y, w)`,
cut windows from a time series, warm-start an embedding matrix for a new vocabulary.

Where tf.keras returns a `tf.data.Dataset`, jkeras returns what its `fit` takes: arrays, or a
`jkeras.utils.Sequence` of numpy batches.
"""
import random
from collections.abc import Mapping

import numpy as np

from jkeras.utils.sequence import Sequence


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """`x`, `(x, y)` or `(x, y, sample_weight)`: the tuple forms `fit` reads (a tuple `x` alone is
    wrapped, so it is not read as `(x, y)`)."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` from `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`, Nones filled in."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if 1 <= len(data) <= 3:
        return tuple(data) + (None,) * (3 - len(data))
    raise ValueError("Data is expected to be in format `x`, `(x,)`, `(x, y)`, or "
                     f"`(x, y, sample_weight)`, found a tuple of {len(data)} items.")


def _split_sizes(left_size, right_size, total):
    """Integer sizes of the two sides, from ints (counts), floats (fractions) or one None."""
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    sizes = []
    for name, size in (("left_size", left_size), ("right_size", right_size)):
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, float))):
            raise TypeError(f"Invalid `{name}` type. Expected: int or float or None, "
                            f"received: {type(size).__name__}.")
        if isinstance(size, int) and not 0 < size < total or isinstance(size, float) and not 0 < size < 1:
            raise ValueError(f"`{name}` should be either a positive integer smaller than {total}, "
                             f"or a float within the range `(0, 1)`. Received: {name}={size}")
        sizes.append(round(size * total) if isinstance(size, float) else size)
    left, right = sizes
    left = total - right if left is None else left
    right = total - left if right is None else right
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` ({left} + {right}) is larger "
                         f"than the {total} samples of `dataset`.")
    if not left or not right:
        raise ValueError(f"With `dataset` of length={total}, left_size={left_size} and "
                         f"right_size={right_size}, one side of the split would be empty.")
    return int(left), int(right)


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Split an array, or a tuple/list/dict of arrays, into `(left, right)` along the first axis.

    Sizes are sample counts (ints) or fractions (floats); either may be None (the rest).
    `shuffle` draws the order as tf.keras does (`random.seed(seed)` then `random.shuffle`), so
    the same seed puts the same samples on each side. Returns two objects of `dataset`'s kind.
    """
    leaves = list(dataset.values()) if isinstance(dataset, Mapping) else (
        list(dataset) if isinstance(dataset, (tuple, list)) else [dataset])
    arrays = [np.asarray(a) for a in leaves]
    lengths = {len(a) for a in arrays}
    if len(lengths) != 1:
        raise ValueError(f"All arrays of `dataset` must have the same number of samples; received "
                         f"lengths {sorted(lengths)}.")
    total = lengths.pop()
    left, right = _split_sizes(left_size, right_size, total)
    order = list(range(total))
    if shuffle:
        random.seed(random.randint(0, 10 ** 6) if seed is None else seed)
        random.shuffle(order)
    pick_left, pick_right = np.asarray(order[:left]), np.asarray(order[total - right:])

    def rebuild(rows):
        parts = [a[rows] for a in arrays]
        if isinstance(dataset, Mapping):
            return dict(zip(dataset.keys(), parts))
        if isinstance(dataset, (tuple, list)):
            return type(dataset)(parts)
        return parts[0]

    return rebuild(pick_left), rebuild(pick_right)


class TimeseriesDataset(Sequence):
    """Batches of windows `data[s : s + sequence_length * sampling_rate : sampling_rate]` (and
    `targets[s]`), as `timeseries_dataset_from_array` makes them; a `Sequence` for `fit`.
    With `batch_size=None` each item is one window (and its target), unbatched as in tf.keras."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        self.data, self.targets, self.starts = data, targets, starts
        self.offsets = np.arange(sequence_length) * sampling_rate
        self.batch_size = None if batch_size is None else int(batch_size)

    def __len__(self):
        return len(self.starts) if self.batch_size is None else -(-len(self.starts) // self.batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"Item {index} out of range for {len(self)} items.")
        if self.batch_size is None:
            start = self.starts[index]
            window = self.data[start + self.offsets]
            return window if self.targets is None else (window, self.targets[start])
        starts = self.starts[index * self.batch_size:(index + 1) * self.batch_size]
        windows = self.data[starts[:, None] + self.offsets[None, :]]
        return windows if self.targets is None else (windows, self.targets[starts])


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None,
                                  end_index=None):
    """Sliding windows over `data` (with `targets[i]` for the window starting at `i`), as tf.keras.

    Returns a `TimeseriesDataset` (a `jkeras.utils.Sequence` of numpy batches) instead of a
    `tf.data.Dataset`. `shuffle` shuffles the window starts with `np.random.RandomState(seed)`,
    tf.keras's first shuffle (its extra shuffle buffer over batches is not reproduced).
    """
    data = np.asarray(data)
    n = len(data)
    if start_index is not None and not 0 <= start_index < n:
        raise ValueError(f"`start_index` must be 0 or greater and lower than the length of the data "
                         f"({n}). Received: start_index={start_index}")
    if end_index is not None:
        if start_index and end_index <= start_index:
            raise ValueError(f"`end_index` must be higher than `start_index`. Received: "
                             f"start_index={start_index}, and end_index={end_index}")
        if not 0 < end_index < n:
            raise ValueError(f"`end_index` must be higher than 0 and lower than the length of the "
                             f"data ({n}). Received: end_index={end_index}")
    for name, value in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if not 0 < value < n:
            raise ValueError(f"`{name}` must be higher than 0 and lower than the length of the data "
                             f"({n}). Received: {name}={value}")
    start_index = start_index or 0
    end_index = n if end_index is None else end_index
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(targets)
        count = min(count, len(targets))
    starts = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        np.random.RandomState(np.random.randint(10 ** 6) if seed is None else seed).shuffle(starts)
    window_data = data[start_index:end_index]
    window_targets = None if targets is None else targets[start_index:end_index]
    return TimeseriesDataset(window_data, window_targets, starts, sequence_length, sampling_rate,
                             batch_size)


def warmstart_embedding_matrix(base_vocabulary, new_vocabulary, base_embeddings,
                               new_embeddings_initializer="uniform"):
    """An embedding matrix for `new_vocabulary`: rows of words in `base_vocabulary` copied from
    `base_embeddings`, the others drawn from `new_embeddings_initializer`."""
    from jkeras import initializers
    from jkeras.backend.random import stream_key
    base_vocabulary, new_vocabulary = _vocabulary(base_vocabulary), _vocabulary(new_vocabulary)
    base_embeddings = np.asarray(base_embeddings)
    if base_embeddings.ndim != 2 or len(base_embeddings) != len(base_vocabulary):
        raise ValueError(f"base_embeddings must be a (vocabulary size, dim) matrix with one row per "
                         f"base word ({len(base_vocabulary)}); received shape {base_embeddings.shape}.")
    init = initializers.get(new_embeddings_initializer)
    matrix = np.array(init(stream_key(), (len(new_vocabulary), base_embeddings.shape[1]),
                           base_embeddings.dtype))
    position = {word: i for i, word in enumerate(base_vocabulary)}
    pairs = [(i, position[w]) for i, w in enumerate(new_vocabulary) if w in position]
    if pairs:
        new_rows, base_rows = map(list, zip(*pairs))
        matrix[new_rows] = base_embeddings[base_rows]
    return matrix


def _vocabulary(vocabulary):
    """A vocabulary given as a list/array of words or a text file of one word per line."""
    if isinstance(vocabulary, str):
        with open(vocabulary, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    return [w.decode() if isinstance(w, bytes) else w for w in np.asarray(vocabulary).tolist()]

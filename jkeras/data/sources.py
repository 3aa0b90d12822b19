"""Batch sources for data that is read batch by batch: generators, `Sequence`, HDF5.

A source gives `(x, y, sample_weight)` host batches per epoch (`batches(epoch)`),
knows its `steps` when it can, and can `peek()` at its first batch so a model
can be built before training starts. HDF5 data (`h5py.Dataset`, `HDF5Matrix`)
is read from disk one batch at a time, so memory stays bounded by a few batches.
`device_prefetch` moves batches to the accelerator in a background thread, so
the device does not wait for the host; closing or dropping its iterator stops
that thread.
"""
import collections
import itertools
import math
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import h5py
import jax
import numpy as np

from jkeras.data import adapters
from jkeras.utils.io_utils import HDF5Matrix
from jkeras.utils.sequence import Sequence


def is_batch_source(x):
    """Whether `x` is read batch by batch rather than held as arrays."""
    if isinstance(x, (np.ndarray, jax.Array)):
        return False
    return isinstance(x, Sequence) or _is_iterator(x) or _holds_hdf5(x)


def is_source_object(obj):
    return isinstance(obj, (GeneratorSource, SequenceSource, HDF5Source))


def _holds_hdf5(x):
    """Whether `x` is, or a list/tuple/dict holds, an `h5py.Dataset` or an `HDF5Matrix`."""
    if isinstance(x, (list, tuple)):
        return any(map(_holds_hdf5, x))
    if isinstance(x, Mapping):
        return any(map(_holds_hdf5, x.values()))
    return isinstance(x, (h5py.Dataset, HDF5Matrix))


def _is_iterator(x):
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and not hasattr(x, "shape")
                                      and not isinstance(x, (list, tuple, dict, str)))


def _split(batch):
    """`(x, y, sample_weight)` from what a generator yields: `x`, `(x, y)` or `(x, y, w)`."""
    if isinstance(batch, tuple):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch
        if len(batch) == 1:
            return batch[0], None, None
        raise ValueError(f"A generator must yield x, (x, y) or (x, y, sample_weight); it yielded a "
                         f"tuple of {len(batch)} items.")
    return batch, None, None


def make_source(x, y=None, sample_weight=None, *, batch_size=None, shuffle=False, steps=None,
                seed_key=None, max_queue_size=10, workers=1, use_multiprocessing=False):
    """The source for `x`: a generator/iterator, a `Sequence`, or HDF5 data with `y` and weights.

    HDF5 data given as one tuple `(x, y)` or `(x, y, sample_weight)`, as `validation_data` is,
    is unpacked; a model's several inputs go in a list or dict.
    """
    if isinstance(x, Sequence) or _is_iterator(x):
        if y is not None or sample_weight is not None:
            raise ValueError("With a generator or Sequence, `y` and `sample_weight` come from the "
                             "batches it yields; do not pass them separately.")
        if isinstance(x, Sequence):
            return SequenceSource(x, shuffle=bool(shuffle), steps=steps, seed_key=seed_key,
                                  max_queue_size=max_queue_size, workers=workers,
                                  use_multiprocessing=use_multiprocessing)
        return GeneratorSource(x, steps=steps)
    if isinstance(x, tuple) and len(x) in (2, 3) and y is None and sample_weight is None:
        x, y, sample_weight = (x + (None,))[:3]
    return HDF5Source(x, y, sample_weight, batch_size=batch_size or 32, shuffle=shuffle,
                      steps=steps, seed_key=seed_key)


class GeneratorSource:
    """A Python generator: one shared stream, `steps` batches per epoch (Keras's `fit_generator`)."""

    def __init__(self, generator, steps=None):
        self._it = iter(generator)
        self.steps = None if steps is None else int(steps)
        self._peeked = collections.deque()

    def peek(self):
        if not self._peeked:
            try:
                self._peeked.append(next(self._it))
            except StopIteration:
                raise ValueError("The generator yielded no batches.") from None
        return _split(self._peeked[0])

    def batches(self, epoch):
        stream = itertools.chain(self._drain(), self._it)
        if self.steps is not None:
            stream = itertools.islice(stream, self.steps)
        for batch in stream:
            yield _split(batch)

    def _drain(self):
        while self._peeked:
            yield self._peeked.popleft()


class SequenceSource:
    """A `Sequence`: `len(seq)` batches per epoch, in a shuffled order when asked, read ahead.

    With `workers > 1`, batches are read by that many threads, or by worker processes with
    `use_multiprocessing=True` (started afresh each epoch with a pickled copy of the Sequence,
    so they see what `on_epoch_end` changed); batches keep their order either way.
    """

    def __init__(self, sequence, shuffle, steps, seed_key, max_queue_size, workers,
                 use_multiprocessing=False):
        self.sequence = sequence
        self.shuffle, self.seed_key = shuffle, seed_key
        self.steps = len(sequence) if steps is None else min(int(steps), len(sequence))
        self.max_queue_size, self.workers = max_queue_size, max(int(workers), 1)
        self.use_multiprocessing = bool(use_multiprocessing) and self.workers > 1
        if self.use_multiprocessing:
            _check_picklable(sequence)

    def peek(self):
        return _split(self.sequence[0])

    def _order(self, epoch):
        if not self.shuffle or self.seed_key is None:
            return np.arange(len(self.sequence))
        return adapters.epoch_order(self.seed_key, epoch, len(self.sequence), True)

    def batches(self, epoch):
        order = self._order(epoch)[:self.steps]
        if self.workers <= 1:
            for i in order:
                yield _split(self.sequence[int(i)])
        else:
            if self.use_multiprocessing:
                pool = ProcessPoolExecutor(self.workers, mp_context=_worker_context(),
                                           initializer=_hold, initargs=(self.sequence,))
                fetch = _held_item
            else:
                pool, fetch = ThreadPoolExecutor(self.workers), self.sequence.__getitem__
            try:
                for batch in _ordered_map(pool, fetch, order, self.max_queue_size):
                    yield _split(batch)
            finally:
                pool.shutdown(cancel_futures=True)
        self.sequence.on_epoch_end()


def _check_picklable(sequence):
    try:
        pickle.dumps(sequence)
    except Exception as error:
        raise ValueError(f"use_multiprocessing=True sends the Sequence to spawned worker "
                         f"processes, but this {type(sequence).__name__} cannot be pickled "
                         f"({error}). Define it at module level with picklable attributes, or use "
                         "threads: use_multiprocessing=False.") from error


def _worker_context():
    """Forkserver (workers fork from a clean process with jkeras imported), else spawn."""
    # Never a fork of this process: it runs JAX's threads, which a fork would break.
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "jkeras"])
    return context


_held_sequence = None  # a worker process's copy of the Sequence


def _hold(sequence):
    global _held_sequence
    _held_sequence = sequence


def _held_item(index):
    return _held_sequence[index]


def _ordered_map(pool, fn, items, max_queue_size):
    """`map(fn, items)` computed by `pool`, in order, at most `max_queue_size` items ahead."""
    pending = collections.deque()
    for item in items:
        pending.append(pool.submit(fn, int(item)))
        if len(pending) >= max_queue_size:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


class HDF5Source:
    """HDF5 datasets and `HDF5Matrix` (with arrays beside them) read from disk batch by batch.

    `shuffle=True` draws a sample order per epoch from `(seed_key, epoch)`, the same order as
    for arrays, and reads each batch's rows sorted (h5py reads sorted indices only);
    `shuffle='batch'` reorders whole contiguous batches and keeps a short last batch last,
    as Keras 2 does for HDF5 data.
    """

    def __init__(self, x, y, sample_weight, batch_size, shuffle, steps, seed_key):
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"shuffle must be True, False or 'batch'; received {shuffle!r}.")
        self.data = (x, y, sample_weight)
        sizes = sorted({int(a.shape[0]) for a in jax.tree.leaves(self.data)})
        if len(sizes) != 1 or sizes[0] == 0:
            raise ValueError(f"HDF5 inputs, targets and sample weights must have the same, nonzero "
                             f"number of samples; received sizes {sizes}.")
        self.num_samples, self.batch_size = sizes[0], int(batch_size)
        self.shuffle = shuffle if shuffle == "batch" else bool(shuffle)
        if self.shuffle and seed_key is None:
            raise ValueError("Shuffling HDF5 data needs a seed_key.")
        self.seed_key = seed_key
        available = math.ceil(self.num_samples / self.batch_size)
        self.steps = available if steps is None else int(steps)
        if not 0 < self.steps <= available:
            raise ValueError(f"steps={steps} cannot be supplied: {self.num_samples} HDF5 samples "
                             f"make {available} batches of batch_size={self.batch_size}.")

    def peek(self):
        return self._read(slice(0, min(self.batch_size, self.num_samples)))

    def batches(self, epoch):
        for rows in self._selections(epoch)[:self.steps]:
            yield self._read(rows)

    def _selections(self, epoch):
        """The rows of each batch of `epoch`: slices, or sorted indices when shuffling samples."""
        n, size = self.num_samples, self.batch_size
        if self.shuffle == "batch":
            full = n // size
            order = np.concatenate([self._permutation(epoch, full),
                                    np.arange(full, math.ceil(n / size))])
            return [slice(i * size, min((i + 1) * size, n)) for i in order]
        if self.shuffle:
            perm = self._permutation(epoch, n)
            return [np.sort(perm[i:i + size]) for i in range(0, n, size)]
        return [slice(i, min(i + size, n)) for i in range(0, n, size)]

    def _permutation(self, epoch, n):
        return adapters.epoch_order(self.seed_key, epoch, n, True)

    def _read(self, rows):
        return jax.tree.map(lambda a: np.asarray(a[rows]), self.data)


def device_prefetch(batches, size=2):
    """Iterate `batches` moved to the device by a background thread, `size` batches ahead.

    The thread starts at the first `next()`. It ends when `batches` is exhausted or raises (the
    error is raised here), or when this iterator is closed or garbage collected (training stopped
    early): then it finishes the batch in hand, closes `batches` and is joined.
    """
    buffer = queue.Queue(maxsize=size)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for batch in batches:
                if not _offer(buffer, jax.device_put(batch), stop):
                    return
            _offer(buffer, done, stop)
        except BaseException as error:  # handed to the consumer, raised there
            _offer(buffer, _Failure(error), stop)
        finally:
            getattr(batches, "close", lambda: None)()

    thread = threading.Thread(target=produce, name="jkeras-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = buffer.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()


def _offer(buffer, item, stop):
    """Put `item` in `buffer` unless `stop` is set first; whether it was put."""
    while not stop.is_set():
        try:
            buffer.put(item, timeout=0.05)
            return True
        except queue.Full:
            pass
    return False


class _Failure:
    def __init__(self, error):
        self.error = error

"""Batch sources for data that is read batch by batch: generators, `Sequence`, HDF5.

A source gives `(x, y, sample_weight)` host batches per epoch (`batches(epoch)`),
knows its `steps` when it can, and can `peek()` at its first batch so a model
can be built before training starts. `device_prefetch` moves batches to the
accelerator in a background thread, so the device does not wait for the host.
"""
import collections
import itertools
import queue
import threading

import jax
import numpy as np

from jkeras.utils.sequence import Sequence


def is_batch_source(x):
    """Whether `x` is read batch by batch rather than held as arrays."""
    return isinstance(x, Sequence) or _is_iterator(x)


def is_source_object(obj):
    return isinstance(obj, (GeneratorSource, SequenceSource))


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
    """The source for `x` (a generator/iterator or a `Sequence`)."""
    if y is not None or sample_weight is not None:
        raise ValueError("With a generator or Sequence, `y` and `sample_weight` come from the "
                         "batches it yields; do not pass them separately.")
    if isinstance(x, Sequence):
        return SequenceSource(x, shuffle=bool(shuffle), steps=steps, seed_key=seed_key,
                              max_queue_size=max_queue_size, workers=workers)
    return GeneratorSource(x, steps=steps)


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
    """A `Sequence`: `len(seq)` batches per epoch, in a shuffled order when asked, read ahead."""

    def __init__(self, sequence, shuffle, steps, seed_key, max_queue_size, workers):
        self.sequence = sequence
        self.shuffle, self.seed_key = shuffle, seed_key
        self.steps = len(sequence) if steps is None else min(int(steps), len(sequence))
        self.max_queue_size, self.workers = max_queue_size, max(int(workers), 1)

    def peek(self):
        return _split(self.sequence[0])

    def _order(self, epoch):
        if not self.shuffle or self.seed_key is None:
            return np.arange(len(self.sequence))
        key = jax.random.fold_in(jax.random.fold_in(self.seed_key, 0x5EC), epoch)
        return np.asarray(jax.random.permutation(key, len(self.sequence)))

    def batches(self, epoch):
        order = self._order(epoch)[:self.steps]
        if self.workers <= 1:
            for i in order:
                yield _split(self.sequence[int(i)])
        else:
            yield from map(_split, _threaded_map(self.sequence.__getitem__, order, self.workers,
                                                 self.max_queue_size))
        self.sequence.on_epoch_end()


def _threaded_map(fn, items, workers, max_queue_size):
    """`map(fn, items)` computed by `workers` threads, in order, at most `max_queue_size` ahead."""
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(workers) as pool:
        pending = collections.deque()
        for item in items:
            pending.append(pool.submit(fn, int(item)))
            if len(pending) >= max_queue_size:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def device_prefetch(batches, size=2):
    """Iterate `batches` moved to the device by a background thread, `size` batches ahead."""
    buffer = queue.Queue(maxsize=size)
    done = object()

    def produce():
        try:
            for batch in batches:
                buffer.put(jax.device_put(batch))
        except BaseException as error:  # handed to the consumer, raised there
            buffer.put(_Failure(error))
        buffer.put(done)

    threading.Thread(target=produce, daemon=True).start()
    while True:
        item = buffer.get()
        if item is done:
            return
        if isinstance(item, _Failure):
            raise item.error
        yield item


class _Failure:
    def __init__(self, error):
        self.error = error

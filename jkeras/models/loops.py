"""The epoch loops of `fit`: over device-resident arrays (many steps per dispatch, paced for
a progress bar) or over host batches, with the batch callbacks between dispatches."""
import itertools
import math
import time

import jax
import numpy as np

from jkeras import callbacks as callbacks_mod
from jkeras.backend import config
from jkeras.data import adapters as data_mod
from jkeras.data import sources


def chunk_rows(tree, n, batch_size):
    """Rows of one `"auto"` inference dispatch: as many batches as fit in ~4 MB of inputs (at
    most 64), one size per model and batch size, so one program; 0 (batch by batch, the
    program a short call compiles anyway) for data of fewer than 8 batches, where padding
    up to a chunk would cost more than the dispatches it saves."""
    row_bytes = sum(a.dtype.itemsize * math.prod(a.shape[1:]) for a in jax.tree.leaves(tree))
    batches = min(64, (4 << 20) // max(1, batch_size * row_bytes))
    return batches * batch_size if batches >= 2 and n >= 8 * batch_size else 0


class Pace:
    """Chunk sizes for `"auto"` with a progress bar: each dispatch takes about `seconds`, so the
    bar still moves, sized from the time the previous dispatch took per step."""

    seconds = 0.1

    def __init__(self):
        self.chunk, self.began = 1, None

    def steps(self, left):
        self.began = time.perf_counter()
        return min(self.chunk, left)

    def measured(self, steps, done_marker):
        jax.block_until_ready(done_marker)  # the bar reads the logs next anyway
        per_step = (time.perf_counter() - self.began) / steps
        # at most 4x per dispatch: the first one's time holds the compile
        self.chunk = max(1, min(4 * self.chunk, 4096, int(self.seconds / max(per_step, 1e-7))))


def check_finite(data, batch_of):
    """With `check_finite_inputs` on, refuse data holding NaN/Inf, naming the first bad batch."""
    if not config.check_finite_inputs():
        return
    bad = data.first_non_finite()
    if bad is not None:
        row, part = bad
        raise ValueError(f"fit: {batch_of(row)} holds NaN or Inf, first at row {row} of {part}. "
                         "(jkeras.config.check_finite_inputs() is on.)")


class EpochLoops:
    """Mixin of the Trainer: one epoch of `fit`, as a function of `(epoch, state, callbacks,
    first batch)` returning `(state, logs)`."""

    def _array_epoch(self, train, batch_size, steps, shuffle):
        """Epochs over device-resident arrays: `steps_per_execution` steps per dispatch. A short
        last batch runs padded in the same programs where the model allows it
        (`_pads_short_batch`), else in a program of its own."""
        n = train.num_samples
        held = n if self._distribution is not None else data_mod.bucket_rows(n)  # rows on the device
        device_data = (self._distribution.place_data(train.arrays()) if self._distribution
                       else jax.device_put(data_mod.pad_rows(train.arrays(), held)))
        if self._distribution is not None:
            self._distribution.check_batch_size(batch_size)
        full, rest = divmod(n, batch_size)
        # padding that adds more than 1/8 of the epoch's rows costs more than a second compile
        padded = bool(rest) and (batch_size - rest) * 8 <= n and self._pads_short_batch()
        batches = full + padded  # the batches the loop below runs
        spe = self._steps_per_execution
        pace = Pace()  # kept across epochs: the step time measured in one sizes the next one's chunks
        real_rows = np.int32(n)  # the programs mask the rows past it

        def size(batches_done):
            return rest if padded and batches_done == batches else batch_size

        def run(epoch, carry, cbs, first_batch):
            logs = None
            root_key = self._root_key()  # read per epoch: a restored checkpoint may set the seed
            order = data_mod.pad_rows(data_mod.epoch_order(root_key, epoch, n, shuffle, batch_size),
                                      max(held, batches * batch_size))
            perm = self._place(jax.device_put(order))
            done, end = first_batch, min(batches, steps)
            loop = self._auto_train_fn(batch_size) if spe == "auto" else None
            while done < end and not self.stop_training:
                if loop is None:
                    k = 1 if spe == "auto" else min(spe, end - done)
                    self._batch_begin(cbs, done, size(done + 1))
                    carry, logs = self._train_fn(batch_size, k)(carry, device_data, perm, done * batch_size,
                                                                real_rows, root_key)
                elif cbs.needs_every_batch:
                    k = 1
                    self._batch_begin(cbs, done, size(done + 1))
                    carry, logs = loop(carry, device_data, perm, done * batch_size, 1, real_rows, root_key)
                else:
                    k = pace.steps(end - done) if cbs.shows_progress else end - done
                    carry, logs = loop(carry, device_data, perm, done * batch_size, k, real_rows, root_key)
                    if cbs.shows_progress:
                        pace.measured(k, carry.step)
                done += k
                self._batch_end(cbs, carry, logs, epoch, done, size(done) if k == 1 else batch_size, k)
            if rest and not padded and done < steps and not self.stop_training:
                self._batch_begin(cbs, done, rest)
                carry, logs = self._train_fn(rest, 1)(carry, device_data, perm, full * batch_size, real_rows,
                                                      root_key)
                self._batch_end(cbs, carry, logs, epoch, done + 1, rest)
            return carry, logs
        return run

    def _source_epoch(self, source, class_weight):
        """Epochs over host batches (generators, Sequences, HDF5), prefetched to the device."""

        first = self._sample_of(source.peek(), class_weight)
        expected = jax.tree.map(lambda a: (tuple(a.shape[1:]), np.dtype(a.dtype).kind), first)

        def standardize(numbered):
            index, batch = numbered
            try:
                data = data_mod.ArrayData.from_user(self, *batch, class_weight)
            except (ValueError, TypeError) as error:
                raise ValueError(f"Batch {index} of the data source is not a valid batch: {error}") from error
            check_finite(data, lambda row: f"batch {index} of the data source")
            arrays = data.arrays()
            got = jax.tree.map(lambda a: (tuple(a.shape[1:]), np.dtype(a.dtype).kind), (arrays[0], arrays[1]))
            if got != expected:  # a change of shape mid-epoch would silently recompile the step
                raise ValueError(f"Batch {index} of the data source has per-sample shapes/kinds {got}; "
                                 f"the first batch had {expected}.")
            return arrays

        def run(epoch, carry, cbs, first_batch):
            logs = None
            root_key = self._root_key()
            batches = itertools.islice(enumerate(source.batches(epoch)), first_batch, None)
            for step, batch in enumerate(sources.device_prefetch(map(standardize, batches)), first_batch):
                if self.stop_training:
                    break
                rows = jax.tree.leaves(batch[0])[0].shape[0]
                self._batch_begin(cbs, step, rows)
                carry, logs = self._train_batch_fn()(carry, batch, root_key)
                self._batch_end(cbs, carry, logs, epoch, step + 1, rows)
            return carry, logs
        return run

    def _batch_begin(self, cbs, batch, size):
        if cbs.uses_batch_hooks:
            cbs.on_train_batch_begin(batch, callbacks_mod.BatchLogs(batch, size))

    def _batch_end(self, cbs, carry, logs, epoch, batches_done, size, steps=1):
        """Batch callbacks, when some callback has them; `live_train_state()` lets a checkpoint
        save the carry. The logs are read lazily, but computed now: the next step takes the
        carry's buffers."""
        if not cbs.uses_batch_hooks:
            return
        self._live = carry
        values = data_mod.LazyLogs(self._step_logs("train_step", carry.metrics, logs))
        cbs.on_train_batch_end(batches_done - 1, callbacks_mod.BatchLogs(batches_done - 1, size, values, steps))
        self._live = None

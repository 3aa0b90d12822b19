"""Saving during training: `ModelCheckpoint` (files named by epoch, batch and logs) and
`BackupAndRestore` (an Orbax checkpoint that resumes a run exactly)."""
import os
import shutil
import string
import warnings

import numpy as np

from jkeras.callbacks.base import Callback, _number, _path, _values
from jkeras.saving.api import MODEL_SUFFIXES
from jkeras.callbacks.monitor import MonitorCallback




class ModelCheckpoint(MonitorCallback):
    """Save the model (or its weights) during training: a Keras `.h5` file, or, for a path
    without an HDF5 suffix, an Orbax checkpoint folder (`model.save(dir)`, exact resume).

    `filepath` may hold `str.format` fields filled from the epoch (1-based),
    the batch (with an integer `save_freq`) and the logs:
    `"weights.{epoch:02d}-{val_loss:.2f}.h5"`.

    Args:
        filepath: where to save: a `.h5`/`.hdf5` file, or a checkpoint folder.
        monitor: the logged quantity `save_best_only` compares.
        verbose: 1 prints a line at each save decision.
        save_best_only: save only when `monitor` improves on the best so far
            (always when it is not in the logs, as Keras does).
        save_weights_only: `model.save_weights(...)` instead of `model.save(...)`.
        mode: `"auto"`, `"min"` or `"max"` (see `MonitorCallback`).
        save_freq: `"epoch"`, or save every this many batches.
        initial_value_threshold: the best value to beat at the start.
        period: Keras 2's "save every `period` epochs" (with `save_freq="epoch"`).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None, options=None, period=None, **kwargs):
        super().__init__(monitor, mode, initial_value_threshold)
        kwargs.pop("load_weights_on_restart", None)
        if kwargs:
            raise TypeError(f"ModelCheckpoint got unexpected keyword arguments {sorted(kwargs)}.")
        self.filepath = _format_check(_path("ModelCheckpoint", "filepath", filepath))
        if initial_value_threshold is not None:
            _number("ModelCheckpoint", "initial_value_threshold", initial_value_threshold)
        self.verbose = verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        positive_int = (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                        and save_freq >= 1)
        if save_freq != "epoch" and not positive_int:
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' "
                             "or a positive integer number of batches.")
        if save_weights_only and not self.filepath.endswith(MODEL_SUFFIXES):
            raise ValueError("With save_weights_only=True, ModelCheckpoint writes Keras HDF5 weight "
                             f"files: the filepath must end in .h5 or .hdf5. Received: {self.filepath}")
        if period is not None and (not isinstance(period, int) or period < 1):
            raise ValueError(f"period must be a positive int; received {period!r}.")
        self.save_freq = save_freq
        self.period = period or 1
        self._epochs_since_last_save = 0
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = None
        self._current_epoch = 0
        self._warned_stale = False

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def _per_chunk(self):
        """Saving once per epoch, the batch hooks may run once per chunk of steps."""
        return self.save_freq == "epoch"

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._epochs_since_last_save += 1
            if self._epochs_since_last_save >= self.period:
                self._epochs_since_last_save = 0
                self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch):
        """Counts batches across epochs (and across `steps_per_execution` jumps), as Keras does."""
        if self.save_freq == "epoch":
            return False
        if self._last_batch_seen is None or batch <= self._last_batch_seen:
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, batch, logs, filepath):
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if np.ndim(current) > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. Received: "
                          f"{current}. Falling back to `save_best_only=False`.", stacklevel=2)
            return True
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                      f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if not self._should_save_model(epoch, batch, logs, filepath):
            return
        if os.path.isdir(filepath) and filepath.endswith(MODEL_SUFFIXES):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. Filepath "
                          f"used is an existing directory: {filepath}")
        # a checkpoint folder that exists (a resumed run saving the same epoch) gets a new step
        dirname = os.path.dirname(filepath)
        if dirname:
            os.makedirs(dirname, exist_ok=True)
        if batch is not None:
            self._sync_weights()
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")

    def _sync_weights(self):
        """Mid-epoch the live weights are in the trainer's train state; write them into the model."""
        live = getattr(self.model, "live_train_state", None)
        if callable(live):
            state = live()
            if state is not None:  # the weights, optimizer state and step; the metrics stay fit's
                self.model.set_train_state(state._replace(metrics=None))
        elif not self._warned_stale:
            self._warned_stale = True
            warnings.warn("This model cannot write its weights back in the middle of an epoch, so "
                          "a checkpoint saved every `save_freq` batches holds the weights from the "
                          "end of the previous epoch.", stacklevel=3)

    def _get_file_path(self, epoch, batch, logs):
        logs = _values(logs)  # a batch's own `batch` (0-based) is not the file's `{batch}`
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". '
                           f"Reason: {e}") from e


def _format_check(filepath):
    """`filepath`, once its `{field:spec}` parts are known to format (now, not after an epoch)."""
    try:
        for _, field, spec, _ in string.Formatter().parse(filepath):
            if field is not None and spec:
                format(1 if field in ("epoch", "batch") else 0.0, spec)
    except ValueError as error:
        raise ValueError(f"ModelCheckpoint cannot format filepath {filepath!r}: {error}. Use "
                         "str.format fields such as '{epoch:02d}' or '{val_loss:.2f}'.") from None
    return filepath


class BackupAndRestore(Callback):
    """Checkpoint training to `backup_dir` and, when a run starts again, resume it exactly.

    Saves everything training changes (weights, optimizer state, step, epoch, position in
    the epoch, the epoch's running metrics) as an Orbax checkpoint at the end of each epoch
    (`save_freq="epoch"`) or every `save_freq` batches. A later `fit` with the same callback
    restores the newest complete checkpoint and continues from it, bit for bit as if it had
    never stopped. `delete_checkpoint=True` removes the folder when training ends normally.
    """

    def __init__(self, backup_dir, save_freq="epoch", delete_checkpoint=True, max_to_keep=2):
        super().__init__()
        if save_freq != "epoch" and (not isinstance(save_freq, int) or save_freq < 1):
            raise ValueError(f"save_freq must be 'epoch' or a positive number of batches; "
                             f"received {save_freq!r}.")
        self.backup_dir = _path("BackupAndRestore", "backup_dir", backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint, self.max_to_keep = delete_checkpoint, max_to_keep
        self._since_save = 0
        self._epoch = 0

    def on_train_begin(self, logs=None):
        from jkeras.saving import checkpoint
        if checkpoint.latest_meta(self.backup_dir) is None:
            return
        meta = checkpoint.restore_checkpoint(self.backup_dir, self.model)
        self.model.resume_from(meta["epoch"], meta["batch"], meta.get("metrics"))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _per_chunk(self):
        """Saving once per epoch, the batch hooks may run once per chunk of steps."""
        return self.save_freq == "epoch"

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        if self.save_freq == "epoch":
            return
        self._since_save += 1
        if self._since_save >= self.save_freq:
            live = self.model.live_train_state()  # a copy: only when it is saved
            if live is not None:
                self._save(live, self._epoch, batch + 1)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(None, epoch + 1, 0)

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.isdir(self.backup_dir):
            shutil.rmtree(self.backup_dir)

    def _save(self, carry, epoch, batch):
        from jkeras.saving import checkpoint
        checkpoint.save_checkpoint(self.backup_dir, self.model, carry=carry, epoch=epoch, batch=batch,
                                   max_to_keep=self.max_to_keep)
        self._since_save = 0

"""Keras callbacks: hooks the training loop calls at batch and epoch boundaries.

Batch hooks receive lazy logs: reading one copies the running metrics off the
device (a host sync), so the callbacks here read batch logs only when they act
on them (a progress bar at most every `interval` seconds, a checkpoint when it
saves). Epoch logs are plain floats, `val_*` included, and are one dict shared
by every callback in turn, so a callback that adds `learning_rate` to them is
seen by the ones after it (History, the progress bar), as in Keras.
"""
import collections
import csv
import inspect
import math
import numbers
import os
import shutil
import string
import sys
import time
import warnings
from collections.abc import Mapping

import numpy as np


class Callback:
    """Base class: override the `on_*` hooks you need; `self.model` is set by `fit`."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)  # Keras 2's alias, called from here as Keras 2 does

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names, for train batches only: the base `on_train_batch_*` call them.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


def _path(who, name, value):
    """`value` as a path string; a TypeError (not a path) or ValueError (empty) naming `name`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{who} `{name}` must be a path (a str or os.PathLike); received "
                        f"{name}={value!r} of type {type(value).__name__}.")
    path = os.fspath(value)
    if not path:
        raise ValueError(f"{who} `{name}` must not be empty.")
    return path


def _number(who, name, value, minimum=None):
    """`value` if it is a real number (at least `minimum` when given); else a clear error."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who} `{name}` must be a number; received {name}={value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{who} `{name}` must be >= {minimum}; received {name}={value!r}.")
    return value


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        self.model, self.params = model, params or {}
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def _each(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._each("on_train_begin", logs)
    def on_train_end(self, logs=None): self._each("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, logs)
    def on_test_begin(self, logs=None): self._each("on_test_begin", logs)
    def on_test_end(self, logs=None): self._each("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None): self._each("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._each("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._each("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._each("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._each("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._each("on_predict_batch_end", batch, logs)

    @property
    def uses_batch_hooks(self):
        """Whether any callback overrides a train-batch hook; if none does, fit skips them."""
        return self._hook_use()[0]

    @property
    def needs_every_batch(self):
        """Whether a callback needs each train batch's hooks; if none does, `fit` with
        `steps_per_execution="auto"` calls them once per chunk of batches it runs."""
        return self._hook_use()[1]

    @property
    def shows_progress(self):
        """Whether a progress bar redraws during the epoch (`verbose=1`)."""
        return self._hook_use()[2]

    def overrides(self, hook):
        """Whether some callback has `hook` of its own (its class's or set on the instance)."""
        return any(getattr(type(cb), hook) is not getattr(Callback, hook) or hook in vars(cb)
                   for cb in self.callbacks)

    def _hook_use(self):
        """`(uses, needs every batch, shows progress)`: asked once per dispatch, so the answer is
        kept until the callbacks change."""
        ids = tuple(map(id, self.callbacks))
        if getattr(self, "_hooks_for", None) != ids:
            self._hooks = (any(_overridden_batch_hooks(cb) for cb in self.callbacks),
                           any(_needs_every_batch(cb) for cb in self.callbacks),
                           any(isinstance(cb, ProgbarLogger) and cb.verbose == 1 for cb in self.callbacks))
            self._hooks_for = ids
        return self._hooks

    def on_train_batch_begin(self, batch, logs=None):
        self._each("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._each("on_train_batch_end", batch, logs)


class BatchLogs(Mapping):
    """Keras 2's batch logs: `batch` and `size` (and `num_steps` when one call ran several
    batches), then the running metrics (a Mapping, or a function giving one), copied off the
    device only when a callback reads them."""

    def __init__(self, batch, size, values=None, num_steps=1):
        self._head = {"batch": batch, "size": size}
        if num_steps != 1:
            self._head["num_steps"] = num_steps
        self._values = values if values is not None else {}

    def _tail(self):
        if callable(self._values):  # computed at the first read only
            self._values = self._values()
        return self._values

    def __getitem__(self, key):
        return self._head[key] if key in self._head else self._tail()[key]

    def __iter__(self):
        yield from self._head
        yield from self._tail()

    def __len__(self):
        return len(self._head) + len(self._tail())

    def metrics(self):
        """The logged values without the bookkeeping keys."""
        return {k: v for k, v in self.items() if k not in self._head}


def _values(logs):
    """A batch's logged values, without Keras 2's `batch`/`size`/`num_steps`."""
    if isinstance(logs, BatchLogs):
        return logs.metrics()
    return {k: v for k, v in (logs or {}).items() if k not in ("batch", "size", "num_steps")}


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _overridden_batch_hooks(cb):
    """The classes (or `cb` itself, for LambdaCallback's) that give `cb` its train-batch hooks."""
    owners = set()
    for hook in _BATCH_HOOKS:
        if hook in vars(cb):
            owners.add(cb)
            continue
        owner = next(k for k in type(cb).__mro__ if hook in vars(k))
        if owner is not Callback:
            owners.add(owner)
    return owners


def _needs_every_batch(cb):
    """Whether `cb` must see each batch: its batch hooks are its own, or they are a jkeras
    callback's that acts per batch in this configuration (a checkpoint every N batches)."""
    per_chunk = {ProgbarLogger: lambda: True,  # the bar moves per chunk; it reads no values
                 ModelCheckpoint: lambda: cb.save_freq == "epoch",
                 BackupAndRestore: lambda: cb.save_freq == "epoch"}
    return any(owner not in per_chunk or not per_chunk[owner]() for owner in _overridden_batch_hooks(cb))


class History(Callback):
    """Records each epoch's logs: `history.history['loss']`, `['val_loss']`, ..."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class BaseLogger(Callback):
    """Keras 2's epoch averages of the batch logs, weighted by each batch's `size`.

    Batch logs that carry `size` (Keras 2's per-batch values) are averaged as
    Keras 2 did; `fit`'s batch logs (`BatchLogs`) are already running epoch averages (as
    tf.keras 2's), so the last batch's values are the epoch's.
    Names in `stateful_metrics` are kept as logged. Asking for batch logs makes
    `fit` copy them off the device after each batch.
    """

    _BOOKKEEPING = ("batch", "size", "num_steps")

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        if "size" not in logs or isinstance(logs, BatchLogs):  # running averages: the latest is the epoch's
            self.seen = 1
            self.totals = _values(logs)
            return
        batch_size = logs["size"]
        self.seen += batch_size * logs.get("num_steps", 1)
        for k, v in logs.items():
            if k in self._BOOKKEEPING:
                continue
            if k in self.stateful_metrics:
                self.totals[k] = v
            else:
                self.totals[k] = self.totals.get(k, 0) + v * batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.seen:
            return
        for k, total in self.totals.items():
            logs[k] = total if k in self.stateful_metrics else total / self.seen


# ---------------------------------------------------------------- progress bar

class _Everything:
    """A `stateful_metrics` that holds every name: show each value as given."""

    def __contains__(self, name):
        return True


def _dynamic_display(stream):
    """Whether `\\r` can redraw the line: a terminal or a notebook."""
    isatty = getattr(stream, "isatty", None)
    try:
        tty = bool(isatty and isatty())
    except ValueError:  # a closed stream
        tty = False
    return tty or "ipykernel" in sys.modules


class Progbar:
    """Keras 2's text progress bar: `12/32 [=====>........] - ETA: 1s - loss: 0.4000`.

    `update(current, values)` takes `(name, value)` pairs or a dict. A name in
    `stateful_metrics` is shown as given; any other is averaged over the steps
    seen, as in Keras. With `verbose=1` the bar is redrawn in place (`\\r`) at
    most every `interval` seconds on a terminal or in a notebook, and ends as
    one line, `32/32 [==============================] - 0s 2ms/step - loss: ...`;
    where the output is a file or a pipe only that last line is written. With
    `verbose=2` only the last line is written: `32/32 - 0s - loss: ...`.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", stream=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self.stateful_metrics = stateful_metrics if stateful_metrics is not None else set()
        if not isinstance(self.stateful_metrics, _Everything):
            self.stateful_metrics = set(self.stateful_metrics)
        self._stream = stream
        self._values, self._values_order = {}, []
        self._seen_so_far = 0
        self._start = time.time()
        self._last_update = 0.0
        self._first_step = None  # (time, step) when the first step had run
        self._prev_total_width = 0

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def due(self, finalize=False):
        """Whether `update(..., finalize)` would write now; check it before reading lazy values."""
        if finalize:
            return self.verbose in (1, 2)
        return (self.verbose == 1 and time.time() - self._last_update >= self.interval
                and _dynamic_display(self.stream))

    def note_step(self, current):
        """Note that `current` steps ran: the per-step time leaves out the first (compiling) one."""
        if self._first_step is None and current >= 1:
            self._first_step = (time.time(), current)

    def _time_per_step(self, current, now):
        if not current:
            return 0.0
        if self._first_step is not None and current > self._first_step[1]:
            return (now - self._first_step[0]) / (current - self._first_step[1])
        return (now - self._start) / current

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        pairs = values.items() if isinstance(values, Mapping) else (values or [])
        for k, v in pairs:
            if k not in self._values_order:
                self._values_order.append(k)
            if k in self.stateful_metrics:
                self._values[k] = [v, 1]
            elif isinstance(v, str):
                self._values[k] = [v, 1]
            else:
                base = max(current - self._seen_so_far, 1)
                old = self._values.get(k, [0.0, 0])
                self._values[k] = [old[0] + np.asarray(v, np.float64) * base, old[1] + base]
        self._seen_so_far = current
        now = time.time()
        per_step = self._time_per_step(current, now)
        self.note_step(current)
        if self.verbose == 1:
            if not finalize and not self.due():
                return
            self._write_bar(current, now, per_step, finalize)
        elif self.verbose == 2 and finalize:
            count = (f"{current:{_digits(self.target)}d}/{self.target}" if self.target
                     else f"{current}/Unknown")
            self.stream.write(f"{count} - {now - self._start:.0f}s{self._metrics_text()}\n")
            self.stream.flush()
        self._last_update = now

    def _write_bar(self, current, now, per_step, finalize):
        if self.target:
            bar = f"{current:{_digits(self.target)}d}/{self.target} ["
            filled = int(self.width * current / self.target)
            if filled > 0:
                bar += "=" * (filled - 1) + (">" if current < self.target else "=")
            bar += "." * (self.width - filled) + "]"
        else:
            bar = f"{current:7d}/Unknown"
        if self.target is None or finalize:
            info = f" - {now - self._start:.0f}s {_format_per_step(per_step, self.unit_name)}"
        else:
            info = f" - ETA: {_format_eta(per_step * (self.target - current))}"
        info += self._metrics_text()
        width = len(bar) + len(info)
        pad = " " * max(self._prev_total_width - width, 0)
        self._prev_total_width = width
        lead = "\r" if _dynamic_display(self.stream) else ""
        self.stream.write(lead + bar + info + pad + ("\n" if finalize else ""))
        self.stream.flush()

    def _metrics_text(self):
        text = ""
        for k in self._values_order:
            total, count = self._values[k]
            try:
                shown = _format_value(float(np.mean(total)) / max(1, count))
            except (TypeError, ValueError):  # a value that is not a number is shown as it is
                shown = str(total)
            text += f" - {k}: {shown}"
        return text


def _digits(target):
    return int(math.log10(target)) + 1 if target else 1


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _format_per_step(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _format_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar (verbose=1) or one line per epoch (verbose=2).

    `verbose` defaults to the `verbose` that `fit` was given. The bar counts
    steps (`count_mode='samples'` is accepted for Keras 2 scripts and also
    counts steps). Batch logs are read at most every 0.05 s, and only where the
    bar is redrawn in place, because reading them waits for the device.
    """

    def __init__(self, count_mode="steps", stateful_metrics=None, verbose=None):
        super().__init__()
        if count_mode not in ("steps", "samples"):
            raise ValueError(f"Unknown `count_mode`: {count_mode!r}. Expected values are "
                             "['samples', 'steps'].")
        self._verbose_arg = verbose
        self.verbose = 1 if verbose in (None, "auto") else verbose
        self.epochs, self.target, self.seen = 1, None, 0
        self.progbar = None
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1) if self._verbose_arg is None else self._verbose_arg
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset()

    def on_predict_begin(self, logs=None):
        self._reset()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset()
        self._bar()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        self._update(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update(batch, None)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize(logs)

    def on_predict_end(self, logs=None):
        self._finalize(logs)

    def _reset(self):
        self.seen = 0
        self.progbar = None

    def _bar(self):
        if self.progbar is None:
            self.progbar = Progbar(self.target, verbose=self.verbose,
                                   stateful_metrics=_Everything())
        return self.progbar

    def _update(self, batch, logs):
        self.seen = batch + 1
        bar = self._bar()
        bar.note_step(self.seen)
        if self.verbose == 1 and bar.due():
            bar.update(self.seen, _values(logs), finalize=False)

    def _finalize(self, logs):
        if not self.verbose:
            return
        bar = self._bar()
        if self.target is None:
            self.target = bar.target = self.seen
        bar.update(self.target, dict(logs or {}), finalize=True)


def configure(callbacks, model, verbose, epochs, steps, samples=None, batch_size=None,
              do_validation=False, metrics=None):
    """The CallbackList `fit` uses: the user's callbacks, then History, then a progress bar.

    As in Keras, a `History` or `ProgbarLogger` the user passes is used instead
    of a new one, and the progress bar comes last so it shows what the other
    callbacks added to the epoch logs (`learning_rate`). `params` are Keras 2's
    (`batch_size`, `epochs`, `steps`, `samples`, `verbose`, `do_validation`, `metrics`),
    but `steps` is the number of steps per epoch also for array data (as in tf.keras 2).
    """
    callbacks = _checked(callbacks)
    history = next((cb for cb in callbacks if isinstance(cb, History)), None)
    if history is None:
        history = History()
        callbacks.append(history)
    if verbose and not any(isinstance(cb, ProgbarLogger) for cb in callbacks):
        callbacks.append(ProgbarLogger())
    model.history = history
    return CallbackList(callbacks, model, {
        "batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": samples,
        "verbose": verbose, "do_validation": do_validation, "metrics": list(metrics or [])})


def callback_list(callbacks, model, params):
    """The user's callbacks for `evaluate` or `predict`, with Keras 2's `params` for them."""
    return CallbackList(_checked(callbacks), model, params)


def _checked(callbacks):
    """`callbacks` as a new list of Callback instances; a TypeError naming what came instead."""
    if isinstance(callbacks, CallbackList):
        callbacks = callbacks.callbacks
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of jkeras.callbacks.Callback instances; received "
                        f"{type(callbacks).__name__}.")
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be jkeras.callbacks.Callback instances; received "
                            f"{type(cb).__name__}.")
    return callbacks


# ------------------------------------------------------------- monitoring base

# Keras 3's metric directions (`Metric._direction`), by class name.
_UP = {"Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
       "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC", "Precision", "Recall",
       "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
       "SpecificityAtSensitivity", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU", "OneHotMeanIoU",
       "FBetaScore", "F1Score", "PearsonCorrelation", "ConcordanceCorrelation", "CosineSimilarity",
       "R2Score"}
_DOWN = {"BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
         "CategoricalHinge", "Hinge", "SquaredHinge", "KLDivergence", "LogCoshError", "Poisson",
         "MeanAbsoluteError", "MeanAbsolutePercentageError", "MeanSquaredError",
         "MeanSquaredLogarithmicError", "RootMeanSquaredError"}


def _metric_direction(metric):
    direction = getattr(metric, "_direction", None)
    if direction in ("up", "down"):
        return direction
    cls = type(metric).__name__
    return "up" if cls in _UP else "down" if cls in _DOWN else None


def _model_metrics(model):
    """The model's metric objects (`model.metrics`: each under its log name); none for a
    model without them."""
    return list(getattr(model, "metrics", None) or [])


class MonitorCallback(Callback):
    """Base of the callbacks that watch one logged quantity (`monitor`) for improvement.

    `mode='auto'` follows Keras 3: `loss` (and `val_loss`) is minimized, a
    compiled metric goes the way its class says (accuracies, AUC, precision,
    ... up; errors, crossentropies, ... down). Where Keras 3 would raise
    because it cannot tell, jkeras keeps Keras 2's guess (maximize names with
    `acc`, `auc` or `fmeasure`, else minimize) and warns.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        who = type(self).__name__
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"{who} `monitor` must be the name of a logged quantity (a str such as "
                            f"'val_loss'); received monitor={monitor!r}.")
        _number(who, "min_delta", min_delta)
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor, self.mode = monitor, mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            self.monitor_op = np.less
        elif self.mode == "max":
            self.monitor_op = np.greater
        else:
            self.monitor_op = self._auto_op()
        if self.monitor_op is np.less:
            self.min_delta *= -1

    def _auto_op(self):
        name = self.monitor.removeprefix("val_")
        op = np.less if name == "loss" else None
        for metric in _model_metrics(self.model):
            if name == getattr(metric, "name", None):
                direction = _metric_direction(metric)
                if direction is not None:
                    op = np.greater if direction == "up" else np.less
        if op is not None:
            return op
        if name.endswith("loss"):
            return np.less
        maximize = "acc" in name or name.endswith("auc") or name.startswith("fmeasure")
        warnings.warn(f"{type(self).__name__} callback received monitor={self.monitor}, but cannot "
                      "tell whether that metric should be maximized or minimized; assuming "
                      f"mode='{'max' if maximize else 'min'}' (Keras 2's rule). Pass mode='max' or "
                      "mode='min' to choose.", stacklevel=3)
        return np.greater if maximize else np.less

    def _is_improvement(self, monitor_value, reference_value):
        if reference_value is None:
            return True
        return bool(self.monitor_op(monitor_value - self.min_delta, reference_value))


class EarlyStopping(MonitorCallback):
    """Stop training when `monitor` has stopped improving (Keras 3's exact rules).

    Args:
        monitor: the logged quantity to watch. Defaults to `"val_loss"`.
        min_delta: an absolute change smaller than this is no improvement.
        patience: epochs without improvement after which training stops.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: `"auto"`, `"min"` or `"max"` (see `MonitorCallback`).
        baseline: training stops if the model does not improve on this value
            within `patience` epochs.
        restore_best_weights: at the end of training, whether it stopped early
            or not, set the weights from the epoch with the best value.
        start_from_epoch: epochs to wait before watching (a warm-up).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        _number("EarlyStopping", "patience", patience, minimum=0)
        _number("EarlyStopping", "start_from_epoch", start_from_epoch, minimum=0)
        if baseline is not None:
            _number("EarlyStopping", "baseline", baseline)
        self.patience, self.verbose = patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch = 0, 0
        self.best, self.best_weights, self.best_epoch = None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(f"Early stopping conditioned on metric `{self.monitor}` which is not "
                          f"available. Available metrics are: {','.join(logs)}", stacklevel=3)
        return value


# ------------------------------------------------------------ learning rates

def _current_lr(optimizer, who):
    """The optimizer's live rate as a float; a clear error when it follows a schedule."""
    if optimizer is None or not hasattr(optimizer, "learning_rate"):
        raise ValueError(f'{who}: the optimizer must have a "learning_rate" attribute.')
    lr = optimizer.learning_rate
    if callable(lr):
        raise TypeError(f"{who} sets the learning rate, but this optimizer was created with a "
                        f"learning-rate schedule ({type(lr).__name__}); give it a float "
                        "`learning_rate` instead.")
    return float(np.asarray(lr))


def _is_real_scalar(value):
    if isinstance(value, (bool, str, bytes)):
        return False
    if isinstance(value, numbers.Real):
        return True
    try:
        array = np.asarray(value)
    except Exception:
        return False
    return array.ndim == 0 and np.issubdtype(array.dtype, np.number) and array.dtype != bool


def _log_lr(optimizer, logs):
    lr = getattr(optimizer, "learning_rate", None)
    if lr is not None and not callable(lr):
        logs["learning_rate"] = float(np.asarray(lr))


class LearningRateScheduler(Callback):
    """Set the optimizer's rate to `schedule(epoch, lr)` (or `schedule(epoch)`) before each epoch.

    The rate is a traced value of the compiled step, so changing it does not
    recompile. The epoch logs get `learning_rate`, as in Keras 3.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError("LearningRateScheduler `schedule` must be a function (epoch, lr) -> lr "
                            f"or epoch -> lr; received schedule={schedule!r}.")
        self.schedule, self.verbose = schedule, verbose
        try:
            params = inspect.signature(schedule).parameters.values()
            positional = [p for p in params
                          if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            self._takes_lr = (len(positional) >= 2
                              or any(p.kind == p.VAR_POSITIONAL for p in params))
        except (TypeError, ValueError):
            self._takes_lr = None  # unknown: try both, as Keras does

    def _new_lr(self, epoch, lr):
        if self._takes_lr:
            return self.schedule(epoch, lr)
        if self._takes_lr is False:
            return self.schedule(epoch)
        try:
            return self.schedule(epoch, lr)
        except TypeError:  # Keras 2's one-argument schedules
            return self.schedule(epoch)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        lr = self._new_lr(epoch, _current_lr(optimizer, "LearningRateScheduler"))
        if not _is_real_scalar(lr):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        lr = float(np.asarray(lr))
        optimizer.learning_rate = lr
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            _log_lr(self.model.optimizer, logs)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the rate by `factor` after `patience` epochs without improvement (Keras 3's rules).

    Args:
        monitor: the logged quantity to watch. Defaults to `"val_loss"`.
        factor: `new_lr = max(lr * factor, min_lr)`; must be < 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a line at each reduction.
        mode: `"auto"`, `"min"` or `"max"` (see `MonitorCallback`).
        min_delta: threshold for a new best (Keras 2's `epsilon` is accepted).
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the rate.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use `min_delta` "
                          "instead.", stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau got unexpected keyword arguments {sorted(kwargs)}.")
        super().__init__(monitor, mode, min_delta=min_delta)
        if _number("ReduceLROnPlateau", "factor", factor, minimum=0) >= 1.0:
            raise ValueError("ReduceLROnPlateau does not support a factor >= 1.0. "
                             f"Received factor={factor}")
        for name, value in (("patience", patience), ("cooldown", cooldown), ("min_lr", min_lr)):
            _number("ReduceLROnPlateau", name, value, minimum=0)
        self.factor, self.min_lr, self.patience = factor, min_lr, patience
        self.verbose, self.cooldown = verbose, cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def _reset(self):
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def _reduce_lr(self, epoch):
        optimizer = self.model.optimizer
        old_lr = _current_lr(optimizer, "ReduceLROnPlateau")
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            optimizer.learning_rate = new_lr
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
            return True
        return False

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _current_lr(self.model.optimizer, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` "
                          f"which is not available. Available metrics are: {','.join(logs)}.",
                          stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience and self._reduce_lr(epoch):
                self.cooldown_counter = self.cooldown
                self.wait = 0


# ---------------------------------------------------------------- checkpoints

_MODEL_EXTENSIONS = (".h5", ".hdf5", ".keras")


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
        if save_weights_only and not self.filepath.endswith(_MODEL_EXTENSIONS):
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
        if os.path.isdir(filepath) and filepath.endswith(_MODEL_EXTENSIONS):
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
            if state is not None:
                self.model.set_train_state(state)
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


# ------------------------------------------------------------------- logging

class CSVLogger(Callback):
    """Stream each epoch's logs to a CSV file, as Keras 3 writes it.

    The columns are `epoch` and the first epoch's log names, sorted; when that
    epoch had no `val_*` entries, a `val_` column is added for each (written
    `NA` until validation runs). `append=True` continues an existing file
    without a second header.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger `separator` must be a one-character string; received "
                             f"separator={separator!r}.")
        self.sep = separator
        self.filename = _path("CSVLogger", "filename", filename)
        self.append = append
        self.writer, self.keys, self.csv_file = None, None, None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode)
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim_ndarray:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + (self.keys or []),
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    This reads every batch's loss, which waits for the device each dispatch;
    `steps_per_execution` makes that once per several steps.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


_TB_DEPRECATED = ("batch_size", "write_grads", "embeddings_layer_names", "embeddings_data")


class TensorBoard(Callback):
    """Write TensorBoard event files: epoch scalars, weight histograms, profiles.

    Needs the optional package `tensorboardX` (`pip install tensorboardX`).
    Layout as in Keras: `log_dir/train` holds `epoch_loss`, `epoch_<metric>`,
    `epoch_learning_rate`; `log_dir/validation` holds the `val_*` logs under
    the same tags. `update_freq="batch"` or an int also writes `batch_<name>`
    every that many batches (each such write waits for the device).

    Args:
        log_dir: the directory to write under.
        histogram_freq: every this many epochs, a histogram of each weight.
        write_graph: write the model's JSON config as the `keras` text summary.
        write_steps_per_second: add `steps_per_second` to the scalars.
        update_freq: `"epoch"`, `"batch"`, or an int number of batches.
        profile_batch: a batch number, or `(start, stop)`, to trace with the
            JAX profiler into `log_dir/train`; 0 turns it off.
        write_images, embeddings_freq, embeddings_metadata: accepted for
            Keras scripts; images and embeddings are not written.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("jkeras.callbacks.TensorBoard writes event files with the optional "
                              "package tensorboardX, which is not installed. Install it with: "
                              "pip install tensorboardX") from e
        for key in _TB_DEPRECATED:
            if kwargs.pop(key, None) is not None:
                warnings.warn(f"TensorBoard: `{key}` is deprecated and ignored.", stacklevel=2)
        if kwargs:
            raise TypeError(f"TensorBoard got unexpected keyword arguments {sorted(kwargs)}.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq >= 1):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive int; received "
                             f"{update_freq!r}.")
        if write_images or embeddings_freq:
            warnings.warn("TensorBoard: jkeras does not write weight images or embeddings; "
                          "`write_images` and `embeddings_freq` are ignored.", stacklevel=2)
        _number("TensorBoard", "histogram_freq", histogram_freq, minimum=0)
        self._writer_cls = SummaryWriter
        self.log_dir = _path("TensorBoard", "log_dir", log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images, self.write_steps_per_second = write_images, write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._last_record = self._epoch_start = (time.time(), 0)
        self._is_tracing = False
        self._graph_written = False

    def _writer(self, path):
        if path not in self._writers:
            self._writers[path] = self._writer_cls(path)
        return self._writers[path]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._last_record = (time.time(), 0)
        if self.write_graph and not self._graph_written:
            self._graph_written = True
            try:
                config = self.model.to_json()
            except Exception:  # a model without a config (subclassed) has no graph to show
                config = None
            if config is not None:
                self._writer(self._train_dir).add_text("keras", config, 0)

    def on_train_end(self, logs=None):
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    def on_train_batch_begin(self, batch, logs=None):
        super().on_train_batch_begin(batch, logs)
        self._global_train_batch += 1
        if self._start_batch and self._global_train_batch == self._start_batch:
            import jax
            jax.profiler.start_trace(self._train_dir)
            self._is_tracing = True

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            writer = self._writer(self._train_dir)
            for name, value in _values(logs).items():
                writer.add_scalar(f"batch_{name}", float(value), step)
            if self.write_steps_per_second:
                then, then_step = self._last_record
                now = time.time()
                rate = (step - then_step) / max(now - then, 1e-9)
                writer.add_scalar("batch_steps_per_second", rate, step)
                self._last_record = (now, step)
        if self._is_tracing and step >= self._stop_batch:
            self._stop_trace()

    def _stop_trace(self):
        import jax
        jax.profiler.stop_trace()
        self._is_tracing = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (time.time(), self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        _log_lr(getattr(self.model, "optimizer", None), train)
        if self.write_steps_per_second:
            start, start_step = self._epoch_start
            train["steps_per_second"] = ((self._global_train_batch - start_step)
                                         / max(time.time() - start, 1e-9))
        for path, values in ((self._train_dir, train), (self._val_dir, val)):
            if values:
                writer = self._writer(path)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer(self._train_dir)
            for layer in self.model.layers:
                for weight in layer.weights:
                    tag = f"{weight.path.replace(':', '_')}/histogram"
                    writer.add_histogram(tag, np.asarray(weight), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        if logs:
            writer = self._writer(self._val_dir)
            step = getattr(self.model, "steps_trained", 0)
            for name, value in logs.items():
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)
            writer.flush()


def _profile_range(profile_batch):
    """`(start, stop)` global batch numbers from Keras's `profile_batch`; `(0, 0)` is off."""
    parts = profile_batch.split(",") if isinstance(profile_batch, str) else profile_batch
    start = stop = -1
    if isinstance(parts, int) and not isinstance(parts, bool):
        start = stop = parts
    elif isinstance(parts, (list, tuple)) and len(parts) == 2:
        try:
            start, stop = (int(p) for p in parts)
        except (TypeError, ValueError):
            pass
    if start < 0 or stop < start:
        raise ValueError("profile_batch must be a non-negative integer or 2-tuple of positive "
                         f"integers. A pair of positive integers signifies a range of batches to "
                         f"profile. Found: {profile_batch}")
    return start, stop


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"Unknown callback hook {name!r}.")
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback `{name}` must be a function; received {fn!r}.")
            if fn is not None:
                setattr(self, name, fn)


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


class RemoteMonitor(Callback):
    """POST each epoch's logs to a server: `root + path`, as a form field `field` holding JSON, or
    as a JSON body with `send_as_json=True` (standard library HTTP; an unreachable server warns)."""

    timeout = 10.0  # seconds per request, so a silent server cannot stall training

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import json
        import urllib.error
        import urllib.parse
        import urllib.request
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            warnings.warn(f"RemoteMonitor: the server at {self.root} answered HTTP {error.code}.")
        except (OSError, ValueError):
            warnings.warn("Warning: could not reach RemoteMonitor root server at " + str(self.root))

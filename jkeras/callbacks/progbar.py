"""Keras's progress bar (`Progbar`) and the `ProgbarLogger` callback that drives it."""
import math
import sys
import time
from collections.abc import Mapping

import numpy as np

from jkeras.callbacks.base import Callback, _values


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
    counts steps). Batch logs are read at most every `interval` seconds, and only where the
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

    def _per_chunk(self):
        """The bar moves once per chunk of steps; it reads no values per batch."""
        return True

    def _shows_progress(self):
        return self.verbose == 1

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

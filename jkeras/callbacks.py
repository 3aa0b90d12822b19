"""Keras callbacks: hooks the training loop calls at batch and epoch boundaries."""
import sys
import time

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
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def _each(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._each("on_train_begin", logs)
    def on_train_end(self, logs=None): self._each("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._each("on_train_batch_begin", batch, logs)
        self._each("on_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._each("on_train_batch_end", batch, logs)
        self._each("on_batch_end", batch, logs)


class History(Callback):
    """Records each epoch's logs: `history.history['loss']`, `['val_loss']`, ..."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class Progbar:
    """Keras 2's text progress bar: `12/32 [=====>.....] - ETA: 1s - loss: 0.4`."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, stream=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.stream = stream or sys.stdout
        self._start = time.time()
        self._last_update = 0.0

    def update(self, current, values=None, finalize=None):
        finalize = (self.target is not None and current >= self.target) if finalize is None else finalize
        now = time.time()
        if self.verbose != 1 or (not finalize and now - self._last_update < self.interval):
            if not (self.verbose == 2 and finalize):
                return
        self._last_update = now
        elapsed = now - self._start
        text = ""
        if self.verbose == 1:
            text = "\r" + self._bar(current)
            if finalize:
                per = elapsed / max(current, 1)
                text += f" - {elapsed:.0f}s {_format_per_step(per)}"
            else:
                eta = elapsed / max(current, 1) * ((self.target or current) - current)
                text += f" - ETA: {eta:.0f}s"
        else:
            text = f"{elapsed:.0f}s {_format_per_step(elapsed / max(current, 1))}"
        for k, v in (values or {}).items():
            text += f" - {k}: {_format_value(v)}"
        self.stream.write(text + ("\n" if finalize else ""))
        self.stream.flush()

    def _bar(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * current / self.target)
        bar = "=" * max(done - 1, 0) + (">" if current < self.target else "=") if done else ""
        return f"{current:{digits}d}/{self.target} [{bar}{'.' * (self.width - len(bar))}]"


def _format_per_step(seconds):
    if seconds >= 1:
        return f"{seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/step"
    return f"{seconds * 1e6:.0f}us/step"


def _format_value(v):
    v = float(v)
    return f"{v:.4f}" if abs(v) > 1e-3 or v == 0 else f"{v:.4e}"


class ProgbarLogger(Callback):
    """Prints `Epoch i/n` and a progress bar (verbose=1) or one line per epoch (verbose=2)."""

    def __init__(self, verbose=1):
        super().__init__()
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}")
        self._bar = Progbar(self.params.get("steps"), verbose=self.verbose)

    def on_train_batch_end(self, batch, logs=None):
        if self.verbose == 1 and batch + 1 < (self.params.get("steps") or 0):
            self._bar.update(batch + 1, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose:
            self._bar.update(self.params.get("steps") or 0, logs, finalize=True)


def configure(callbacks, model, verbose, epochs, steps):
    """The CallbackList `fit` uses: the user's callbacks, a progress bar, then History."""
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be jkeras.callbacks.Callback instances; received "
                            f"{type(cb).__name__}.")
    if verbose:
        callbacks.insert(0, ProgbarLogger(verbose))
    history = History()
    callbacks.append(history)
    model.history = history
    return CallbackList(callbacks, model, {"epochs": epochs, "steps": steps, "verbose": verbose})


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"EarlyStopping mode must be 'auto', 'min' or 'max'; received {mode!r}.")
        self.monitor, self.patience, self.verbose = monitor, patience, verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = start_from_epoch
        maximize = mode == "max" or (mode == "auto" and ("acc" in monitor or monitor.endswith("auc")))
        self._better = np.greater if maximize else np.less
        self.min_delta = abs(min_delta) * (1 if maximize else -1)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = -np.inf if self._better is np.greater else np.inf

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._better(current - self.min_delta, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._better(current - self.min_delta, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"Unknown callback hook {name!r}.")
            setattr(self, name, fn)

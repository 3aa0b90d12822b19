"""Learning-rate callbacks: `LearningRateScheduler`, `ReduceLROnPlateau`, and the learning rate
they log."""
import inspect
import numbers
import warnings

import numpy as np

from jkeras.callbacks.base import Callback, _number
from jkeras.callbacks.monitor import MonitorCallback


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

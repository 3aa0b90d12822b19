"""Callbacks that watch one logged quantity: the `MonitorCallback` base (Keras 3's metric
directions for `mode='auto'`) and `EarlyStopping`."""
import warnings

import numpy as np

from jkeras.callbacks.base import Callback, _number


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

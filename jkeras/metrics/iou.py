"""Intersection-over-union metrics from a confusion matrix: `IoU`, `BinaryIoU`, `MeanIoU` and
the one-hot variants.
"""
import jax
import jax.numpy as jnp

from jkeras.metrics.base import Metric
from jkeras.losses_reduction import div_no_nan


class _IoUBase(Metric):
    """A running confusion matrix (rows: true class, columns: predicted class) over `num_classes`."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis

    def state_shapes(self):
        return {"total_confusion_matrix": (self.num_classes, self.num_classes)}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = jnp.asarray(y_true), jnp.asarray(y_pred)
        if not self.sparse_y_true:
            y_true = jnp.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = jnp.argmax(y_pred, axis=self.axis)
        # class ids arrive as floats too: truncated to ints, as tf.math.confusion_matrix does
        y_true = y_true.astype(self.dtype).astype("int32").reshape(-1)
        y_pred = y_pred.astype(self.dtype).astype("int32").reshape(-1)
        weights = (jnp.ones(y_true.shape, self.dtype) if sample_weight is None
                   else jnp.asarray(sample_weight, self.dtype).reshape(-1))
        n = self.num_classes
        valid = (y_true >= 0) & (y_true < n) & (y_pred >= 0) & (y_pred < n)
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        cells = jnp.where(valid, y_true * n + y_pred, 0)
        counts = jax.ops.segment_sum(jnp.where(valid, weights, 0.0), cells, num_segments=n * n)
        return {"total_confusion_matrix": state["total_confusion_matrix"] + counts.reshape(n, n)}


class IoU(_IoUBase):
    """Intersection over union, `tp / (tp + fp + fn)`, averaged over `target_class_ids`."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(f"Target class id {max(target_class_ids)} is out of range, which is "
                             f"[0, {num_classes}).")
        self.target_class_ids = list(target_class_ids)

    def _result(self, state):
        cm = state["total_confusion_matrix"]
        tp = jnp.diagonal(cm)
        denominator = jnp.sum(cm, axis=0) + jnp.sum(cm, axis=1) - tp
        ids = jnp.asarray(self.target_class_ids)
        tp, denominator = tp[ids], denominator[ids]
        valid = jnp.sum((denominator != 0).astype(cm.dtype))
        return div_no_nan(jnp.sum(div_no_nan(tp, denominator)), valid)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "target_class_ids": self.target_class_ids, "ignore_class": self.ignore_class,
                "sparse_y_true": self.sparse_y_true, "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


class BinaryIoU(IoU):
    """IoU of a binary task, with a prediction positive when `y_pred >= threshold`."""

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred = (jnp.asarray(y_pred, self.dtype) >= self.threshold).astype(self.dtype)
        return super().update(state, y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold, "name": self.name,
                "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["target_class_ids"]
        return config


class OneHotIoU(IoU):
    """IoU over `target_class_ids` for one-hot labels (and, by default, per-class scores)."""

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """Mean IoU for one-hot labels (and, by default, per-class scores)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False,
                 axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config

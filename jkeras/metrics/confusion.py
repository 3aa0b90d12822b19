"""Confusion-matrix metrics over thresholds: the true/false positive/negative counts, `Precision`,
`Recall`, `AUC` and the sensitivity/specificity family; `confusion_counts` does the counting.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.losses import squeeze_or_expand_to_same_rank
from jkeras.metrics.base import Metric
from jkeras.losses_reduction import div_no_nan


NEG_INF = -1e10


def _parse_thresholds(thresholds, default):
    """`thresholds` (one or a list, each in [0, 1]) as a list, or `[default]`."""
    if thresholds is None:
        return [default]
    thresholds = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    invalid = [t for t in thresholds if t is None or t < 0 or t > 1]
    if invalid:
        raise ValueError(f"Threshold values must be in [0, 1]. Received: {invalid}")
    return thresholds


def _evenly_distributed(thresholds):
    """Whether `thresholds` are `i / (n - 1)` for i in 0..n-1 (the fast bucketing path applies)."""
    n = len(thresholds)
    return n >= 3 and np.allclose(thresholds, np.arange(n, dtype=np.float32) / (n - 1), atol=config.epsilon())


def _filter_top_k(x, k):
    """Keep the top `k` entries of the last axis, setting the others to NEG_INF."""
    _, idx = jax.lax.top_k(x, k)
    mask = jnp.sum(jax.nn.one_hot(idx, x.shape[-1], dtype=x.dtype), axis=-2)
    return x * mask + NEG_INF * (1 - mask)


def confusion_counts(y_true, y_pred, thresholds, evenly=False, top_k=None, class_id=None,
                     sample_weight=None, multi_label=False, label_weights=None, dtype="float32"):
    """Weighted counts `{"tp", "fp", "tn", "fn"}` per threshold for one batch.

    Keras's `update_confusion_matrix_variables`: a prediction is positive when
    `y_pred > threshold`, a label when it is nonzero. With `evenly` (thresholds
    `i / (n - 1)`, possibly widened by epsilon at the ends) predictions are
    bucketed instead of compared with every threshold. Shapes: `(thresholds,)`,
    or `(thresholds, labels)` with `multi_label`.
    """
    y_true, y_pred = jnp.asarray(y_true).astype(dtype), jnp.asarray(y_pred).astype(dtype)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if sample_weight is not None:
        sample_weight = jnp.expand_dims(jnp.asarray(sample_weight, dtype), -1)
        _, sample_weight = squeeze_or_expand_to_same_rank(y_true, sample_weight, expand_rank_1=False)
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        if y_pred.ndim == 1:
            raise ValueError("When class_id is provided, y_pred must be a 2D array with shape "
                             f"(num_samples, num_classes), found shape: {y_pred.shape}")
        y_true, y_pred = y_true[..., class_id, None], y_pred[..., class_id, None]
    weights = None if sample_weight is None else jnp.broadcast_to(sample_weight, y_pred.shape)
    if label_weights is not None:
        label_weights = jnp.broadcast_to(jnp.asarray(label_weights, dtype)[None], y_pred.shape)
        weights = label_weights if weights is None else weights * label_weights
    if not multi_label:
        y_true, y_pred = y_true.reshape(-1), y_pred.reshape(-1)
        weights = None if weights is None else weights.reshape(-1)
    labels = y_true != 0
    if evenly:
        return _bucketed_counts(labels.astype(dtype), y_pred, weights, thresholds)
    preds = y_pred[None] > jnp.asarray(thresholds, dtype).reshape((-1,) + (1,) * y_pred.ndim)

    def count(hit):
        return jnp.sum(hit.astype(dtype) if weights is None else jnp.where(hit, weights, 0.0), axis=1)

    return {"tp": count(labels & preds), "fp": count(~labels & preds),
            "tn": count(~labels & ~preds), "fn": count(labels & ~preds)}


def _bucketed_counts(labels, y_pred, weights, thresholds):
    """Counts for evenly spaced thresholds: bucket each prediction, then reverse cumulative sums."""
    n = len(thresholds)
    weights = 1.0 if weights is None else weights
    true_w, false_w = labels * weights, (1.0 - labels) * weights
    bucket = jnp.ceil(jnp.clip(y_pred, 0.0, 1.0) * (n - 1)) - 1
    if thresholds[0] < 0.0 or thresholds[-1] > 1.0:
        bucket = jax.nn.relu(bucket)
    bucket = bucket.astype("int32")  # -1 (a prediction of 0 at threshold 0) falls out of every bucket

    def above(w):
        per_bucket = jax.ops.segment_sum(w, bucket, num_segments=n) if w.ndim == 1 else jax.vmap(
            lambda col, ids: jax.ops.segment_sum(col, ids, num_segments=n), in_axes=1, out_axes=1)(w, bucket)
        return jnp.flip(jnp.cumsum(jnp.flip(per_bucket, 0), axis=0), 0)

    tp, fp = above(true_w), above(false_w)
    return {"tp": tp, "fp": fp, "tn": jnp.sum(false_w, axis=0) - fp, "fn": jnp.sum(true_w, axis=0) - tp}


_CONFUSION_NAMES = {"tp": "true_positives", "fp": "false_positives", "tn": "true_negatives",
                    "fn": "false_negatives"}


class _ThresholdMetric(Metric):
    """A metric made of confusion-matrix counts at fixed thresholds."""

    def __init__(self, thresholds, default_threshold, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, default_threshold)
        self._evenly = _evenly_distributed(self.thresholds)

    def _one_or_all(self, values):
        return values[0] if len(self.thresholds) == 1 else values


class _ConfusionMatrixConditionCount(_ThresholdMetric):
    """One confusion-matrix count per threshold, as a state variable named `accumulator`."""

    _count = None  # "tp", "fp", "tn" or "fn"

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, 0.5, name=name, dtype=dtype)

    def state_shapes(self):
        return {"accumulator": (len(self.thresholds),)}

    def update(self, state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, self._evenly, sample_weight=sample_weight,
                                  dtype=self.dtype)
        return {"accumulator": state["accumulator"] + counts[self._count]}

    def _result(self, state):
        return self._one_or_all(state["accumulator"])

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted positive."""
    _count = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted positive."""
    _count = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of negative labels predicted negative."""
    _count = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of positive labels predicted negative."""
    _count = "fn"


class Precision(_ThresholdMetric):
    """`tp / (tp + fp)` at each threshold (or among the `top_k` predictions, or for `class_id`)."""

    _counts = ("tp", "fp")  # the counts the state keeps

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(thresholds, 0.5 if top_k is None else NEG_INF, name=name, dtype=dtype)
        self.top_k, self.class_id = top_k, class_id

    def state_shapes(self):
        return {_CONFUSION_NAMES[c]: (len(self.thresholds),) for c in self._counts}

    def update(self, state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, self._evenly, self.top_k, self.class_id,
                                  sample_weight, dtype=self.dtype)
        return {_CONFUSION_NAMES[c]: state[_CONFUSION_NAMES[c]] + counts[c] for c in self._counts}

    def _result(self, state):
        tp = state["true_positives"]
        return self._one_or_all(div_no_nan(tp, tp + state["false_positives"]))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Recall(Precision):
    """`tp / (tp + fn)` at each threshold (or among the `top_k` predictions, or for `class_id`)."""

    _counts = ("tp", "fn")

    def _result(self, state):
        tp = state["true_positives"]
        return self._one_or_all(div_no_nan(tp, tp + state["false_negatives"]))


_CURVES = {"roc": "ROC", "pr": "PR", "prgain": "PRGAIN"}
_SUMMATIONS = ("interpolation", "majoring", "minoring")


class AUC(Metric):
    """Area under the ROC or PR curve, from confusion counts at `num_thresholds` thresholds."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None,
                 dtype=None, thresholds=None, multi_label=False, num_labels=None, label_weights=None,
                 from_logits=False):
        if str(curve).lower() not in _CURVES:
            raise ValueError(f'Invalid AUC curve value: "{curve}". Expected values are ["PR", "ROC", "PRGAIN"]')
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f'Invalid AUC summation method value: "{summation_method}". '
                             f"Expected values are {list(_SUMMATIONS)}")
        if num_labels and not multi_label:
            raise ValueError("`num_labels` is needed only when `multi_label` is True.")
        super().__init__(name=name, dtype=dtype)
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            thresholds = sorted(thresholds)
            self.num_thresholds = len(thresholds) + 2
            self._evenly = _evenly_distributed(np.array([0.0] + thresholds + [1.0]))
        else:
            if num_thresholds <= 1:
                raise ValueError(f"Argument `num_thresholds` must be an integer > 1. "
                                 f"Received: num_thresholds={num_thresholds}")
            self.num_thresholds = num_thresholds
            thresholds = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._evenly = True
        eps = config.epsilon()
        self.thresholds = [0.0 - eps] + list(thresholds) + [1.0 + eps]
        self.curve = _CURVES[str(curve).lower()]
        self.summation_method = str(summation_method).lower()
        self.multi_label = multi_label
        self.num_labels = num_labels
        self._num_labels = num_labels
        self.label_weights = None if label_weights is None else [float(w) for w in label_weights]
        self.from_logits = from_logits

    def build(self, y_true_shape, y_pred_shape):
        if self.multi_label and self._num_labels is None:
            self._num_labels = y_pred_shape[-1]

    def state_shapes(self):
        if not self.multi_label:
            shape = (self.num_thresholds,)
        elif self._num_labels is None:
            raise ValueError("AUC(multi_label=True) needs `num_labels`, or the output shape through "
                             "`jkeras.metrics.get(..., y_pred_shape=...)`, to size its state.")
        else:
            shape = (self.num_thresholds, self._num_labels)
        return {name: shape for name in _CONFUSION_NAMES.values()}

    def update(self, state, y_true, y_pred, sample_weight=None):
        if self.from_logits:
            y_pred = jax.nn.sigmoid(y_pred)
        counts = confusion_counts(y_true, y_pred, self.thresholds, self._evenly, sample_weight=sample_weight,
                                  multi_label=self.multi_label,
                                  label_weights=None if self.multi_label else self.label_weights,
                                  dtype=self.dtype)
        return {name: state[name] + counts[c] for c, name in _CONFUSION_NAMES.items()}

    def _by_label(self, terms):
        """Sum over thresholds; with multi_label, average over labels (weighted by `label_weights`)."""
        if not self.multi_label:
            return jnp.sum(terms)
        by_label = jnp.sum(terms, axis=0)
        if self.label_weights is None:
            return jnp.mean(by_label)
        weights = jnp.asarray(self.label_weights, by_label.dtype)
        return div_no_nan(jnp.sum(by_label * weights), jnp.sum(weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich's interpolated area under the precision-recall curve."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = div_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = jnp.where((p[:-1] > 0) & (p[1:] > 0), div_no_nan(p[:-1], jnp.maximum(p[1:], 0)),
                                 jnp.ones_like(p[1:]))
        increments = div_no_nan(prec_slope * (dtp + intercept * jnp.log(safe_p_ratio)),
                                 jnp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increments)

    def _result(self, state):
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = div_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, div_no_nan(tp, tp + fp)
        else:
            scale = div_no_nan(tp + fn, tn + fp)
            recall_gain = jnp.where(tp == 0, 0.0, 1.0 - scale * div_no_nan(fn, tp))
            x, y = jnp.maximum(recall_gain, 0.0), jnp.where(tp == 0, 1.0, 1.0 - scale * div_no_nan(fp, tp))
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = jnp.minimum(y[:-1], y[1:])
        else:
            heights = jnp.maximum(y[:-1], y[1:])
        return self._by_label((x[:-1] - x[1:]) * heights)

    def get_config(self):
        config = {**super().get_config(), "num_thresholds": self.num_thresholds, "curve": self.curve,
                  "summation_method": self.summation_method, "multi_label": self.multi_label,
                  "num_labels": self.num_labels, "label_weights": self.label_weights,
                  "from_logits": self.from_logits}
        if self._init_from_thresholds:
            config["thresholds"] = [float(t) for t in self.thresholds[1:-1]]
        return config


class _SensitivitySpecificityBase(Metric):
    """The best value of one rate among the thresholds where another rate reaches `value`."""

    _constrained = _dependent = None  # rate names: "sensitivity", "specificity", "precision"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        if num_thresholds <= 0:
            raise ValueError(f"Argument `num_thresholds` must be an integer > 0. Received: "
                             f"num_thresholds={num_thresholds}")
        super().__init__(name=name, dtype=dtype)
        self.value, self.num_thresholds, self.class_id = value, num_thresholds, class_id
        if num_thresholds == 1:
            self.thresholds, self._evenly = [0.5], False
        else:
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self.thresholds, self._evenly = [0.0] + inner + [1.0], True

    def state_shapes(self):
        return {name: (self.num_thresholds,) for name in ("true_positives", "true_negatives",
                                                          "false_positives", "false_negatives")}

    def update(self, state, y_true, y_pred, sample_weight=None):
        counts = confusion_counts(y_true, y_pred, self.thresholds, self._evenly, class_id=self.class_id,
                                  sample_weight=sample_weight, dtype=self.dtype)
        return {name: state[name] + counts[c] for c, name in _CONFUSION_NAMES.items()}

    @staticmethod
    def _rate(state, which):
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if which == "specificity":
            return div_no_nan(tn, tn + fp)
        if which == "precision":
            return div_no_nan(tp, tp + fp)
        return div_no_nan(tp, tp + fn)  # sensitivity (recall)

    def _result(self, state):
        feasible = self._rate(state, self._constrained) >= self.value
        best = jnp.max(jnp.where(feasible, self._rate(state, self._dependent), -jnp.inf))
        return jnp.where(jnp.any(feasible), best, 0.0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id, "num_thresholds": self.num_thresholds,
                self._constrained_arg: self.value}


def _rate_in_unit_range(name, value):
    if value < 0 or value > 1:
        raise ValueError(f"Argument `{name}` must be in the range [0, 1]. Received: {name}={value}")
    return value


class SensitivityAtSpecificity(_SensitivitySpecificityBase):
    """The best sensitivity (recall) where specificity is at least `specificity`."""

    _constrained, _dependent, _constrained_arg = "specificity", "sensitivity", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        self.specificity = _rate_in_unit_range("specificity", specificity)
        super().__init__(specificity, num_thresholds, class_id, name=name, dtype=dtype)


class SpecificityAtSensitivity(_SensitivitySpecificityBase):
    """The best specificity where sensitivity (recall) is at least `sensitivity`."""

    _constrained, _dependent, _constrained_arg = "sensitivity", "specificity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        self.sensitivity = _rate_in_unit_range("sensitivity", sensitivity)
        super().__init__(sensitivity, num_thresholds, class_id, name=name, dtype=dtype)


class PrecisionAtRecall(_SensitivitySpecificityBase):
    """The best precision where recall is at least `recall`."""

    _constrained, _dependent, _constrained_arg = "sensitivity", "precision", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        self.recall = _rate_in_unit_range("recall", recall)
        super().__init__(recall, num_thresholds, class_id, name=name, dtype=dtype)


class RecallAtPrecision(_SensitivitySpecificityBase):
    """The best recall where precision is at least `precision`."""

    _constrained, _dependent, _constrained_arg = "precision", "sensitivity", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        self.precision = _rate_in_unit_range("precision", precision)
        super().__init__(precision, num_thresholds, class_id, name=name, dtype=dtype)

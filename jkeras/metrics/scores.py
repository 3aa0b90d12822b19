"""The F-beta, F1 and R2 scores, per output or averaged as Keras averages them.
"""
import jax.numpy as jnp

from jkeras.metrics.base import Metric
from jkeras.losses_reduction import div_no_nan


def _two_dims(metric, y_true_shape, y_pred_shape):
    """The number of outputs of `(batch, outputs)` data, which these metrics require."""
    kind = type(metric).__name__
    if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
        raise ValueError(f"{kind} expects 2D inputs with shape (batch_size, output_dim). Received input "
                         f"shapes: y_pred.shape={tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
    if y_pred_shape[-1] is None or y_true_shape[-1] is None:
        raise ValueError(f"{kind} expects 2D inputs with shape (batch_size, output_dim), with output_dim "
                         f"fully defined (not None). Received input shapes: y_pred.shape="
                         f"{tuple(y_pred_shape)} and y_true.shape={tuple(y_true_shape)}.")
    return y_pred_shape[-1]


def _per_output_shape(metric):
    if metric._num_outputs is None:
        raise ValueError(f"{type(metric).__name__} sizes its state from the data: call update_state "
                         "first, or pass the output shape through `jkeras.metrics.get(..., "
                         "y_pred_shape=...)`.")
    return (metric._num_outputs,)


class FBetaScore(Metric):
    """F-beta score per class, `(1 + b^2) * p * r / (b^2 * p + r)`, or averaged (`micro`, `macro`,
    `weighted`)."""

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in (None, "micro", "macro", "weighted"):
            raise ValueError("Invalid `average` argument value. Expected one of: {None, 'micro', 'macro', "
                             f"'weighted'}}. Received: average={average}")
        if not isinstance(beta, float):
            raise ValueError(f"Invalid `beta` argument value. It should be a Python float. Received: "
                             f"beta={beta} of type '{type(beta)}'")
        if beta <= 0.0:
            raise ValueError(f"Invalid `beta` argument value. It should be > 0. Received: beta={beta}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"Invalid `threshold` argument value. It should be a Python float. "
                                 f"Received: threshold={threshold} of type '{type(threshold)}'")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"Invalid `threshold` argument value. It should verify 0 < threshold <= 1. "
                                 f"Received: threshold={threshold}")
        super().__init__(name=name, dtype=dtype)
        self.average, self.beta, self.threshold = average, beta, threshold
        self.axis = None if average == "micro" else 0
        self._num_outputs = None

    def build(self, y_true_shape, y_pred_shape):
        self._num_outputs = _two_dims(self, y_true_shape, y_pred_shape)

    def state_shapes(self):
        shape = () if self.average == "micro" else _per_output_shape(self)
        return {name: shape for name in ("true_positives", "false_positives", "false_negatives",
                                         "intermediate_weights")}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = jnp.asarray(y_true, self.dtype), jnp.asarray(y_pred, self.dtype)
        if self.threshold is None:  # the top score of each sample is its positive class
            top = jnp.max(y_pred, axis=-1, keepdims=True)
            y_pred = (y_pred >= top) & (jnp.abs(y_pred) > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.astype(self.dtype)
        weights = None if sample_weight is None else jnp.asarray(sample_weight, self.dtype).reshape(-1, 1)

        def weighted_sum(values):
            return jnp.sum(values if weights is None else values * weights, axis=self.axis)

        terms = {"true_positives": y_pred * y_true, "false_positives": y_pred * (1 - y_true),
                 "false_negatives": (1 - y_pred) * y_true, "intermediate_weights": y_true}
        return {name: state[name] + weighted_sum(value) for name, value in terms.items()}

    def _result(self, state):
        tp = state["true_positives"]
        precision = div_no_nan(tp, tp + state["false_positives"])
        recall = div_no_nan(tp, tp + state["false_negatives"])
        beta2 = self.beta ** 2
        score = div_no_nan(precision * recall, beta2 * precision + recall) * (1 + beta2)
        if self.average == "weighted":
            weights = state["intermediate_weights"]
            return jnp.sum(score * div_no_nan(weights, jnp.sum(weights)))
        return score if self.average is None else jnp.mean(score)

    def get_config(self):
        return {**super().get_config(), "average": self.average, "beta": self.beta,
                "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall (FBetaScore with beta 1)."""

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config


class R2Score(Metric):
    """Coefficient of determination per output, aggregated (and adjusted for `num_regressors`)."""

    _AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise ValueError(f"Invalid value for argument `class_aggregation`. Expected one of "
                             f"{self._AGGREGATIONS}. Received: class_aggregation={class_aggregation}")
        if num_regressors < 0:
            raise ValueError(f"Invalid value for argument `num_regressors`. Expected a value >= 0. "
                             f"Received: num_regressors={num_regressors}")
        super().__init__(name=name, dtype=dtype)
        self.class_aggregation, self.num_regressors = class_aggregation, num_regressors
        self._num_outputs = None

    def build(self, y_true_shape, y_pred_shape):
        self._num_outputs = _two_dims(self, y_true_shape, y_pred_shape)

    def state_shapes(self):
        shape = _per_output_shape(self)
        return {"num_samples": (), "squared_sum": shape, "sum": shape, "residual": shape, "count": shape}

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = jnp.asarray(y_true, self.dtype), jnp.asarray(y_pred, self.dtype)
        weights = jnp.asarray(1 if sample_weight is None else sample_weight, self.dtype)
        if weights.ndim == 1:
            weights = weights[:, None]
        weights = jnp.broadcast_to(weights, y_true.shape)
        weighted = y_true * weights
        # tf.keras counts every value; a zero-weight (padding) row counts as absent
        return {"sum": state["sum"] + jnp.sum(weighted, axis=0),
                "squared_sum": state["squared_sum"] + jnp.sum(y_true * weighted, axis=0),
                "residual": state["residual"] + jnp.sum(jnp.square(y_true - y_pred) * weights, axis=0),
                "count": state["count"] + jnp.sum(weights, axis=0),
                "num_samples": state["num_samples"] + jnp.sum((weights != 0).astype(self.dtype))}

    def _result(self, state):
        mean = state["sum"] / state["count"]
        total = state["squared_sum"] - state["sum"] * mean
        raw = 1 - state["residual"] / total
        raw = jnp.where(jnp.isinf(raw), 0.0, raw)
        if self.class_aggregation == "uniform_average":
            score = jnp.mean(raw)
        elif self.class_aggregation == "variance_weighted_average":
            score = jnp.sum(total * raw) / jnp.sum(total)
        else:
            score = raw
        if self.num_regressors == 0:
            return score
        n, p = state["num_samples"], self.num_regressors
        # as tf.keras, the plain score where there are too few samples to adjust
        adjusted = 1.0 - (1.0 - score) * (n - 1.0) / jnp.where(p < n - 1, n - p - 1.0, 1.0)
        return jnp.where(p < n - 1, adjusted, score)

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}

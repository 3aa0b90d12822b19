"""Keras metrics as pure state machines that the trainer compiles.

Every metric is an object holding only its configuration; its running values
live in a state pytree (a dict of float arrays named like Keras's metric
variables):

    state = metric.init()
    state = metric.update(state, y_true, y_pred, sample_weight=None)   # jittable
    value = metric.result(state)

A sample weight of 0 means the sample does not count (the trainer masks
padded rows this way); `Mean`-based metrics compute `sum(value * w) / sum(w)`.
`update_state`, `result()` and `reset_state` give Keras's stateful facade on
top for eager use. Numerics follow Keras 3 (`keras/src/metrics`).

    >>> m = BinaryAccuracy()
    >>> s = jax.jit(m.update)(m.init(), jnp.array([1, 0]), jnp.array([0.9, 0.8]))
    >>> float(m.result(s))
    0.5
"""
import inspect
import re

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import losses
from jkeras.backend import config
from jkeras.backend.naming import to_snake_case, unique_name
from jkeras.backend.variables import bind_values, collect_updates, is_variable
# The loss functions are metric functions too (`keras.metrics.huber`, ...).
from jkeras.losses import (  # noqa: F401  (re-exported)
                           binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                           categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge,
                           huber, kl_divergence, log_cosh, mean_absolute_error,
                           mean_absolute_percentage_error, mean_squared_error,
                           mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                           squared_hinge, squeeze_or_expand_to_same_rank)
from jkeras.backend.registry import deserialize_keras_object, get_custom_objects, serialize_keras_object

NEG_INF = -1e10


def _div_no_nan(x, y):
    return jnp.where(y == 0, 0.0, x / jnp.where(y == 0, 1.0, y))


def _floatx(x):
    return x.astype(config.floatx())


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred`, else 0.0."""
    y_pred = jnp.asarray(y_pred)
    y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true).astype(y_pred.dtype), y_pred)
    return _floatx(y_true == y_pred)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `y_true` equals `y_pred > threshold`, else 0.0."""
    y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true), jnp.asarray(y_pred))
    return _floatx(y_true == (y_pred > threshold).astype(y_true.dtype))


def categorical_accuracy(y_true, y_pred):
    """1.0 where the one-hot target's class is the predicted argmax, else 0.0."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true), axis=-1).astype(y_pred.dtype)
    shape = y_true.shape
    if y_true.ndim == y_pred.ndim:
        y_true = jnp.squeeze(y_true, -1)
    matches = _floatx(y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype))
    return jnp.reshape(matches, shape)


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the integer target is the predicted argmax, else 0.0."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    shape = y_true.shape
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = jnp.squeeze(y_true, -1)
    matches = jnp.reshape(_floatx(y_true == jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)), shape)
    return jnp.squeeze(matches, -1) if matches.ndim > 1 and matches.shape[-1] == 1 else matches


def _in_top_k(targets, predictions, k):
    """Whether each target's score ranks in the top `k` (ties count in its favour), as Keras's JAX backend."""
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    return 1 + jnp.sum(predictions > at_label, axis=-1) <= k


def _top_k_matches(y_true, y_pred, matches_fn):
    """Flatten to (samples, classes), compute matches, and restore `y_true`'s shape."""
    shape = y_true.shape
    if y_pred.ndim > 2:
        y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    return jnp.reshape(_floatx(matches_fn(jnp.reshape(y_true, (-1,)), y_pred)), shape)


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the one-hot target's class is among the `k` highest predictions."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.argmax(jnp.asarray(y_true).astype(y_pred.dtype), axis=-1)
    return _top_k_matches(y_true, y_pred, lambda t, p: _in_top_k(t.astype("int32"), p, k))


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where the integer target is among the `k` highest predictions (or first `k` sorted ids)."""
    y_pred = jnp.asarray(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype if from_sorted_ids else "int32")
    if from_sorted_ids:
        return _top_k_matches(y_true, y_pred, lambda t, p: jnp.any(t[:, None] == p[:, :k], axis=1))
    return _top_k_matches(y_true, y_pred, lambda t, p: _in_top_k(t, p, k))


class Metric:
    """Base of the pure metrics: `init() -> state`, `update(state, ...) -> state`, `result(state)`.

    Subclasses give `state_shapes()` (variable name -> shape), `update` and `_result`.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.dtype = dtype or config.floatx()
        self._state = None

    def state_shapes(self):
        raise NotImplementedError

    def init(self):
        """Zeroed state: a dict of arrays named like Keras's metric variables."""
        # host zeros: a fresh state costs no device op (and no compile in a new process)
        return {name: np.zeros(shape, jnp.dtype(self.dtype)) for name, shape in self.state_shapes().items()}

    def build(self, y_true_shape, y_pred_shape=None):
        """Learn what the state's shape needs from the data shapes; most metrics need nothing."""

    def update(self, state, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def _result(self, state):
        raise NotImplementedError

    def result(self, state=None):
        """The metric value of `state` (default: this object's own eager state)."""
        if state is None:
            state = self._state if self._state is not None else self.init()
        return self._result(state)

    def update_state(self, *args, **kwargs):
        """Keras's eager `update_state`: update this object's own state (sized from the first data)."""
        if self._state is None:
            self.build(*(np.shape(a) for a in args[:2]))
        self._state = self.update(self._state if self._state is not None else self.init(), *args, **kwargs)

    def reset_state(self):
        self._state = None

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Keras2StatefulMetric(Metric):
    """A Keras 2.1-2.2 stateful metric: a `Layer` with `stateful = True` whose `__call__(y_true,
    y_pred)` updates its `K.variable`s (`K.update_add`, `add_update`) and returns the running value.

    Its variables are this metric's state, traced through the compiled step; `init()` runs the
    layer's `reset_states()` first, so the state restarts at each epoch and evaluation, as in
    Keras 2. The value logged is the last one returned, not a mean over batches (Keras 2's way).
    """

    def __init__(self, layer):
        super().__init__(name=layer.name)
        self.layer = layer
        self._variables = _variables_of(layer)
        if not self._variables:
            raise ValueError(f"Stateful metric '{layer.name}' holds no K.variable: Keras 2's stateful "
                             "metrics keep their running values in attributes made with K.variable.")
        self._call = jax.jit(self._traced_call)

    def init(self):
        self.layer.reset_states()
        return {"variables": [np.array(v.numpy()) for v in self._variables],
                "value": np.zeros((), np.float32)}

    def _traced_call(self, state, y_true, y_pred):
        if not jnp.issubdtype(jnp.result_type(y_true), jnp.floating):
            y_true = jnp.asarray(y_true, jnp.result_type(y_pred))  # Keras 2's float target placeholder
        pairs = list(zip(self._variables, state["variables"]))
        with bind_values(pairs), collect_updates() as found:
            value = self.layer(y_true, y_pred)
        new = {id(v): x for v, x in found}  # the last update of a variable wins
        return {"variables": [new.get(id(v), old) for v, old in pairs],
                "value": jnp.mean(jnp.asarray(value, jnp.float32))}

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None):
        """The state after one batch. Sample weights are ignored, as Keras 2 did; a batch with
        padded rows (`mask` 0) is fed row by row, the padded rows leaving the state as it was."""
        if mask is None:
            return self._call(state, y_true, y_pred)

        def by_rows(state):
            def row(s, item):
                yt, yp, keep = item
                new = self._call(s, yt[None], yp[None])
                return jax.tree.map(lambda n, o: jnp.where(keep > 0, n, o), new, s), None
            return jax.lax.scan(row, state, (y_true, y_pred, mask))[0]

        state = jax.tree.map(jnp.asarray, state)
        return jax.lax.cond(jnp.all(mask > 0), lambda s: self._call(s, y_true, y_pred), by_rows, state)

    def _result(self, state):
        return state["value"]

    def get_config(self):
        return self.layer.get_config()


def _variables_of(layer):
    """The `K.variable`s a layer holds as attributes (or in lists of them), in attribute order."""
    found = {}
    for value in vars(layer).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if is_variable(item):
                found.setdefault(id(item), item)
    return list(found.values())


def _samplewise(values, sample_weight, reduce_fn, dtype):
    """Values (and weights) reduced to one per sample, weights applied, as Keras's reduction metrics."""
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None and values.ndim == 0:
        # one value for the batch (a Keras 2 metric function's): it counts once per weighted sample
        sample_weight = jnp.asarray(sample_weight, dtype)
        values = jnp.broadcast_to(values, sample_weight.shape)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, jnp.asarray(sample_weight, dtype))
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def state_shapes(self):
        return {"total": ()}

    def update(self, state, values, sample_weight=None):
        values, _ = _samplewise(values, sample_weight, jnp.sum, self.dtype)
        return {"total": state["total"] + jnp.sum(values)}

    def _result(self, state):
        return state["total"]


class Mean(Metric):
    """Running (weighted) mean of values: `sum(value * w) / sum(w)`."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def state_shapes(self):
        return {"total": (), "count": ()}

    def update(self, state, values, sample_weight=None):
        values, sample_weight = _samplewise(values, sample_weight, jnp.mean, self.dtype)
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim else 1
        return {"total": state["total"] + jnp.sum(values), "count": state["count"] + count}

    def _result(self, state):
        return _div_no_nan(state["total"], state["count"])


class MeanMetricWrapper(Mean):
    """Running mean of a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or unique_name("mean_metric_wrapper"), dtype=dtype)
        if isinstance(fn, (str, dict)):
            fn = deserialize_keras_object(fn, _FN_OBJECTS, "metric function")
        self._fn = fn
        self._fn_kwargs = kwargs

    def __getattr__(self, name):
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def update(self, state, y_true, y_pred, sample_weight=None):
        if isinstance(self._fn, losses.Loss):
            values, mask = self._fn.per_sample(y_true, y_pred), self._fn.mask(y_true, y_pred)
        else:
            if not jnp.issubdtype(jnp.result_type(y_true), jnp.floating):
                # Keras 2 fed targets through a float placeholder: a metric function got float labels
                y_true = jnp.asarray(y_true, jnp.result_type(y_pred))
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            mask = losses.loss_mask(self._fn, y_true, jnp.asarray(y_pred), **self._fn_kwargs)
        if sample_weight is not None:  # Keras drops masked entries from the count only when weighted
            sample_weight = losses.apply_mask(sample_weight, mask, "sum", self.dtype)
        return super().update(state, values, sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = losses.serialize(self._fn)
        return {**config, **self._fn_kwargs}


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels."""

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` equals the binary label."""

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted argmax is the one-hot label's class."""

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the predicted argmax is the integer label."""

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label's class is among the top `k` predictions."""

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the top `k` predictions."""

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None, from_sorted_ids=False):
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)

    def get_config(self):
        config = super().get_config()
        if not self.from_sorted_ids:
            del config["from_sorted_ids"]
        return config


class MeanSquaredError(MeanMetricWrapper):
    """Mean squared error between labels and predictions."""

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean absolute error between labels and predictions."""

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean absolute percentage error between labels and predictions."""

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean squared logarithmic error between labels and predictions."""

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    """Mean of the logarithm of the hyperbolic cosine of the error."""

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)


def _positive_cosine_similarity(y_true, y_pred, axis=-1):
    return -cosine_similarity(y_true, y_pred, axis=axis)


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions (1 means same direction)."""

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(_positive_cosine_similarity, name=name, dtype=dtype, axis=axis)


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean squared error."""

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_true, y_pred = squeeze_or_expand_to_same_rank(jnp.asarray(y_true, self.dtype),
                                                        jnp.asarray(y_pred, self.dtype))
        return super().update(state, jnp.square(y_pred - y_true), sample_weight)

    def _result(self, state):
        return jnp.sqrt(super()._result(state))


class Hinge(MeanMetricWrapper):
    """Mean hinge loss."""

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss."""

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss."""

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence."""

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    """Mean Poisson loss."""

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy."""

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False, label_smoothing=0):
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy."""

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False, label_smoothing=0,
                 axis=-1):
        super().__init__(categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean sparse categorical crossentropy (labels equal to `ignore_class` do not count)."""

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         ignore_class=ignore_class, axis=axis)


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
        return self._one_or_all(_div_no_nan(tp, tp + state["false_positives"]))

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Recall(Precision):
    """`tp / (tp + fn)` at each threshold (or among the `top_k` predictions, or for `class_id`)."""

    _counts = ("tp", "fn")

    def _result(self, state):
        tp = state["true_positives"]
        return self._one_or_all(_div_no_nan(tp, tp + state["false_negatives"]))


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
        return _div_no_nan(jnp.sum(by_label * weights), jnp.sum(weights))

    def _interpolate_pr_auc(self, tp, fp, fn):
        """Davis & Goadrich's interpolated area under the precision-recall curve."""
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        prec_slope = _div_no_nan(dtp, jnp.maximum(dp, 0))
        intercept = tp[1:] - prec_slope * p[1:]
        safe_p_ratio = jnp.where((p[:-1] > 0) & (p[1:] > 0), _div_no_nan(p[:-1], jnp.maximum(p[1:], 0)),
                                 jnp.ones_like(p[1:]))
        increments = _div_no_nan(prec_slope * (dtp + intercept * jnp.log(safe_p_ratio)),
                                 jnp.maximum(tp[1:] + fn[1:], 0))
        return self._by_label(increments)

    def _result(self, state):
        tp, fp = state["true_positives"], state["false_positives"]
        tn, fn = state["true_negatives"], state["false_negatives"]
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = _div_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _div_no_nan(fp, fp + tn), recall
        elif self.curve == "PR":
            x, y = recall, _div_no_nan(tp, tp + fp)
        else:
            scale = _div_no_nan(tp + fn, tn + fp)
            recall_gain = jnp.where(tp == 0, 0.0, 1.0 - scale * _div_no_nan(fn, tp))
            x, y = jnp.maximum(recall_gain, 0.0), jnp.where(tp == 0, 1.0, 1.0 - scale * _div_no_nan(fp, tp))
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
        return _div_no_nan(jnp.sum(_div_no_nan(tp, denominator)), valid)

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
        precision = _div_no_nan(tp, tp + state["false_positives"])
        recall = _div_no_nan(tp, tp + state["false_negatives"])
        beta2 = self.beta ** 2
        score = _div_no_nan(precision * recall, beta2 * precision + recall) * (1 + beta2)
        if self.average == "weighted":
            weights = state["intermediate_weights"]
            return jnp.sum(score * _div_no_nan(weights, jnp.sum(weights)))
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
            return _div_no_nan(tn, tn + fp)
        if which == "precision":
            return _div_no_nan(tp, tp + fp)
        return _div_no_nan(tp, tp + fn)  # sensitivity (recall)

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


class MeanRelativeError(Mean):
    """Mean of `|y_true - y_pred| / normalizer` (0 where the normalizer is 0)."""

    def __init__(self, normalizer, name=None, dtype=None):
        super().__init__(name=name or unique_name("mean_relative_error"), dtype=dtype)
        self.normalizer = np.asarray(normalizer, self.dtype)

    def update(self, state, y_true, y_pred, sample_weight=None):
        y_pred, y_true = squeeze_or_expand_to_same_rank(jnp.asarray(y_pred, self.dtype),
                                                        jnp.asarray(y_true, self.dtype))
        if y_pred.shape != y_true.shape:
            raise ValueError(f"MeanRelativeError needs y_true and y_pred of one shape; received "
                             f"{y_true.shape} and {y_pred.shape}.")
        errors = _div_no_nan(jnp.abs(y_true - y_pred), jnp.broadcast_to(self.normalizer, y_pred.shape))
        return super().update(state, errors, sample_weight)

    def get_config(self):
        return {**super().get_config(), "normalizer": self.normalizer.tolist()}


class MeanTensor(Metric):
    """Element-wise (weighted) mean of same-shaped tensors; the shape comes from `shape` or the first
    values."""

    def __init__(self, name="mean_tensor", dtype=None, shape=None):
        super().__init__(name=name, dtype=dtype)
        self._shape = None if shape is None else tuple(shape)

    def build(self, values_shape, _=None):
        if self._shape is None:
            self._shape = tuple(values_shape)

    def state_shapes(self):
        if self._shape is None:
            raise ValueError("MeanTensor does not have any value yet. Please call the MeanTensor instance "
                             "or use `.update_state(value)` before retrieving the result.")
        return {"total": self._shape, "count": self._shape}

    def update(self, state, values, sample_weight=None):
        values = jnp.asarray(values, self.dtype)
        if values.shape != self._shape:
            raise ValueError(f"MeanTensor input values must always have the same shape. Expected shape "
                             f"(set during the first call): {self._shape}. Got: {values.shape}.")
        counts = jnp.ones_like(values)
        if sample_weight is not None:
            weights = jnp.asarray(sample_weight, self.dtype)
            if weights.ndim == values.ndim - 1:
                weights = weights[..., None]
            weights = jnp.broadcast_to(weights, values.shape)
            values, counts = values * weights, counts * weights
        return {"total": state["total"] + values, "count": state["count"] + counts}

    def _result(self, state):
        return _div_no_nan(state["total"], state["count"])

    def get_config(self):
        return {**super().get_config(), "shape": None if self._shape is None else list(self._shape)}



_CLASSES = (
    Metric, Sum, Mean, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError,
    MeanAbsoluteError, MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError,
    CosineSimilarity, RootMeanSquaredError, Hinge, SquaredHinge, CategoricalHinge, KLDivergence, Poisson,
    BinaryCrossentropy, CategoricalCrossentropy, SparseCategoricalCrossentropy, TruePositives,
    FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC, IoU, MeanIoU, BinaryIoU,
    OneHotIoU, OneHotMeanIoU, FBetaScore, F1Score, R2Score, SensitivityAtSpecificity,
    SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision, MeanRelativeError, MeanTensor,
)
_METRIC_FUNCTIONS = {fn.__name__: fn for fn in (accuracy, binary_accuracy, categorical_accuracy,
                                                 sparse_categorical_accuracy, top_k_categorical_accuracy,
                                                 sparse_top_k_categorical_accuracy)}
# What a MeanMetricWrapper's "fn" may name: metric and loss functions, and losses.
_FN_OBJECTS = {**losses.ALL_OBJECTS_DICT, **_METRIC_FUNCTIONS}
ALL_OBJECTS_DICT = {
    **{name: obj for name, obj in _FN_OBJECTS.items() if not inspect.isclass(obj)},
    **{cls.__name__: cls for cls in _CLASSES},
    **{to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy, "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError, "mape": MeanAbsolutePercentageError,
    "MAPE": MeanAbsolutePercentageError, "msle": MeanSquaredLogarithmicError,
    "MSLE": MeanSquaredLogarithmicError,
}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
cosine = cosine_proximity = cosine_similarity  # Keras 2's names: the loss (-1 is the same direction)
# Which metric "accuracy"/"acc" and "crossentropy"/"ce" mean, by `losses.label_kind`.
_BY_KIND = {
    "accuracy": {"binary": BinaryAccuracy, "sparse": SparseCategoricalAccuracy,
                 "categorical": CategoricalAccuracy},
    "crossentropy": {"binary": BinaryCrossentropy, "sparse": SparseCategoricalCrossentropy,
                     "categorical": CategoricalCrossentropy},
}
_BY_KIND.update(acc=_BY_KIND["accuracy"], ce=_BY_KIND["crossentropy"])


def clone_metric(metric):
    """A new `Metric` with the same config (a fresh state); a metric function as it is (Keras 2)."""
    if isinstance(metric, Metric):
        return type(metric).from_config(metric.get_config())
    return metric


def clone_metrics(metrics):
    """`clone_metric` of each metric of a list or dict (Keras 2)."""
    if metrics is None:
        return None
    if isinstance(metrics, dict):
        return {key: clone_metric(value) for key, value in metrics.items()}
    return [clone_metric(metric) for metric in metrics]


def serialize(metric):
    """A metric function's name, or a `Metric` instance's Keras 3 config dict."""
    if isinstance(metric, Metric):
        return serialize_keras_object(metric, "keras.metrics")
    return losses.serialize(metric)


def deserialize(config, custom_objects=None):
    """A metric (class instance or function) from a name or a Keras 3 / tf.keras config dict."""
    return deserialize_keras_object(config, ALL_OBJECTS_DICT, "metric", custom_objects)


def _object_name(obj):
    """Keras 2's name for a metric function or object, as its logs and History keys show it: its
    `name` or `__name__` as written (segmentation-models' `f1-score`, a function `myMetric`), else
    its class's name in snake case. Only a `<lambda>` loses its brackets, as in Keras 3 (tf.keras 2
    keeps them; Keras 3 also drops the `-` and snake-cases every name)."""
    name = getattr(obj, "name", None) or getattr(obj, "__name__", None)
    if not isinstance(name, str):
        return to_snake_case(type(obj).__name__)
    return re.sub(r"[^\w.\-]+", "", name)


def _is_keras2_stateful(obj):
    """A Keras 2.1-2.2 stateful metric: a callable (a `Layer`) with `stateful = True` and `reset_states`."""
    return (not isinstance(obj, (Metric, str, dict, type)) and getattr(obj, "stateful", False) is True
            and callable(obj) and callable(getattr(obj, "reset_states", None)))


def resolve_custom(spec):
    """A `compile(metrics=...)` spec with each entry that names a custom object (a name, or a
    config's `class_name`, in `get_custom_objects()`, as `custom_objects` scopes fill it) replaced
    by that object, named as the entry named it; so the metrics built at the first `fit` find it
    outside the scope (`load_model(..., custom_objects=...)`). Other entries stay as they are."""
    if isinstance(spec, dict) and "class_name" not in spec:
        return {key: resolve_custom(value) for key, value in spec.items()}
    if isinstance(spec, (list, tuple)):
        return type(spec)(resolve_custom(item) for item in spec)
    name = spec.get("class_name") if isinstance(spec, dict) else spec
    if not isinstance(name, str) or name not in get_custom_objects():
        return spec
    metric = deserialize(spec)
    metric = Keras2StatefulMetric(metric) if _is_keras2_stateful(metric) else metric
    if not isinstance(metric, Metric):
        return MeanMetricWrapper(metric, name=spec if isinstance(spec, str) else _object_name(metric))
    if isinstance(spec, str):
        metric.name = spec
    return metric


def get(identifier, y_true_shape=None, y_pred_shape=None, loss=None):
    """The `Metric` a `compile(metrics=[...])` entry means, named as Keras names it in the logs.

    `identifier`: a name, a Keras 3 or tf.keras config dict, a `Metric` class
    or instance, a `Loss` instance, or a function `(y_true, y_pred) ->
    per-sample values` (wrapped in `MeanMetricWrapper`), or a Keras 2 stateful metric layer
    (`Keras2StatefulMetric`). `"accuracy"`/`"acc"`
    and `"crossentropy"`/`"ce"` become the binary, sparse or categorical
    metric that the loss and the target/prediction shapes call for (see
    `jkeras.losses.label_kind`). A name given as a string is the metric's name.
    """
    if identifier is None:
        raise ValueError("Expected a metric, received None.")
    if isinstance(identifier, str) and identifier.lower() in _BY_KIND:
        metric = _BY_KIND[identifier.lower()][losses.label_kind(y_true_shape, y_pred_shape, loss)]()
    else:
        metric = identifier if _is_keras2_stateful(identifier) else deserialize(identifier)
    if _is_keras2_stateful(metric):  # also one named in a file, found in `custom_objects`
        metric = Keras2StatefulMetric(metric)
    if not isinstance(metric, Metric):
        metric = MeanMetricWrapper(metric, name=_object_name(metric))
    if isinstance(identifier, str):
        metric.name = identifier
    if y_pred_shape is not None:
        metric.build(y_true_shape, y_pred_shape)
    return metric

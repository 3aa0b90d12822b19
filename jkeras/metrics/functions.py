"""Keras's metric functions `(y_true, y_pred) -> per-sample values`: the accuracies, and the loss
functions under their metric names and Keras 2's aliases (`mse`, `kld`, `cosine_proximity`, ...).
"""
import jax.numpy as jnp

from jkeras import losses
from jkeras.backend import config
# The loss functions are metric functions too (`keras.metrics.huber`, ...).
from jkeras.losses import (  # noqa: F401  (re-exported)
                           binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy,
                           categorical_focal_crossentropy, categorical_hinge, cosine_similarity, hinge,
                           huber, kl_divergence, log_cosh, mean_absolute_error,
                           mean_absolute_percentage_error, mean_squared_error,
                           mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy,
                           squared_hinge, squeeze_or_expand_to_same_rank)


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


_METRIC_FUNCTIONS = {fn.__name__: fn for fn in (accuracy, binary_accuracy, categorical_accuracy,
                                                 sparse_categorical_accuracy, top_k_categorical_accuracy,
                                                 sparse_top_k_categorical_accuracy)}
# What a MeanMetricWrapper's "fn" may name: metric and loss functions, and losses.
_FN_OBJECTS = {**losses.ALL_OBJECTS_DICT, **_METRIC_FUNCTIONS}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
cosine = cosine_proximity = cosine_similarity  # Keras 2's names: the loss (-1 is the same direction)

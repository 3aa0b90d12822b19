"""Keras losses: pure jax.numpy functions, and the `Loss` classes around them.

A loss function maps `(y_true, y_pred)` to one value per sample: the batch
dimensions stay, the feature axis (the last one) is reduced. A `Loss` instance
adds Keras's reduction: `loss(y_true, y_pred, sample_weight=None)` is a scalar
under the default `"sum_over_batch_size"`, while `loss.per_sample(y_true,
y_pred)` is the unreduced array (and `loss.mask(y_true, y_pred)` the entries
that count) that the trainer weights and masks itself. Formulas, epsilon
clipping and shape handling follow Keras 3 (`keras/src/losses/losses.py`).

    >>> loss = CategoricalCrossentropy(label_smoothing=0.1)
    >>> loss.per_sample(jnp.eye(3), jnp.full((3, 3), 1 / 3)).shape
    (3,)
"""
import functools
import inspect
import warnings

import jax
import jax.numpy as jnp

from jkeras import activations
from jkeras.backend import config
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.naming import to_snake_case, unique_name
from jkeras.backend.registry import deserialize_keras_object, serialize_keras_object
from jkeras.losses_reduction import (REDUCTIONS, Reduction, apply_mask, reduce_weighted_values,  # noqa: F401
                                     squeeze_or_expand_to_same_rank, upcast_half)
from jkeras.losses_reduction import as_float as _as_float
from jkeras.losses_reduction import standardize_reduction as _standardize_reduction

def _prepare(y_true, y_pred):
    """`y_pred` as floats, `y_true` in its dtype, ranks aligned as Keras's loss wrapper does."""
    y_pred = _as_float(y_pred)
    y_true = jnp.asarray(y_true).astype(y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


def _check_same_shape(y_true, y_pred, fn):
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{fn}: `y_true` and `y_pred` must have the same shape. "
                         f"Received: y_true.shape={y_true.shape}, y_pred.shape={y_pred.shape}")


def _check_axis(axis):
    if isinstance(axis, bool):
        raise ValueError(f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}")


def _smooth_categorical(y_true, label_smoothing):
    if not label_smoothing:
        return y_true
    return y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]


def _warn_single_class(y_pred, fn):
    if y_pred.shape[-1] == 1:
        warnings.warn(f"In loss {fn}, expected y_pred.shape to be (batch_size, num_classes) with "
                      f"num_classes > 1. Received: y_pred.shape={y_pred.shape}. Consider using "
                      "'binary_crossentropy' if you only have 2 classes.", SyntaxWarning, stacklevel=3)


def _logits_if_known(y_pred, from_logits, kind, fn, axis=None):
    """tf.keras 2's shortcut in `fit`: the crossentropy of a softmax (sigmoid) output is taken
    from the activation's logits, which is exact where clipping probabilities to [eps, 1 - eps]
    would flatten the loss and zero its gradient. Keras 3 on JAX clips; results agree elsewhere."""
    logits = activations.logits_of(y_pred, kind, axis)
    if logits is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(f"`{fn}` received `from_logits=True`, but `y_pred` was produced by a {kind} "
                      "activation and thus does not represent logits. Was this intended?", stacklevel=3)
        return y_pred, from_logits
    return logits, True


def _clipped_log_probs(y_pred, axis):
    """Log of `y_pred` renormalised along `axis` and clipped to [eps, 1 - eps]."""
    eps = config.epsilon()
    return jnp.log(jnp.clip(y_pred / jnp.sum(y_pred, axis, keepdims=True), eps, 1.0 - eps))


def _elementwise_bce(y_true, y_pred, from_logits):
    if from_logits:
        return -1.0 * y_true * jax.nn.log_sigmoid(y_pred) - (1.0 - y_true) * jax.nn.log_sigmoid(-y_pred)
    eps = config.epsilon()
    y_pred = jnp.clip(y_pred, eps, 1.0 - eps)
    return -(y_true * jnp.log(y_pred) + (1.0 - y_true) * jnp.log(1.0 - y_pred))


def _l2_normalize(x, axis):
    """`x * min(rsqrt(sum(x**2)), 1 / eps)`, Keras's `ops.normalize`."""
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


def _hinge_labels(y_true):
    """Labels in {0, 1} become {-1, 1}; any other labels are kept."""
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def mean_squared_error(y_true, y_pred):
    """`mean(square(y_true - y_pred), axis=-1)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """`mean(abs(y_true - y_pred), axis=-1)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """`100 * mean(abs((y_true - y_pred) / max(abs(y_true), eps)), axis=-1)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), config.epsilon()))
    return 100.0 * jnp.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """`mean(square(log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1)), axis=-1)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = config.epsilon()
    diff = jnp.log(jnp.maximum(y_pred, eps) + 1.0) - jnp.log(jnp.maximum(y_true, eps) + 1.0)
    return jnp.mean(jnp.square(diff), axis=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity along `axis` (-1 means same direction)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return -jnp.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


def huber(y_true, y_pred, delta=1.0):
    """Quadratic for errors up to `delta`, linear beyond; mean over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    delta = jnp.asarray(delta, y_pred.dtype)
    quadratic = 0.5 * jnp.square(error)
    linear = delta * abs_error - 0.5 * jnp.square(delta)
    return jnp.mean(jnp.where(abs_error <= delta, quadratic, linear), axis=-1)


def huber_loss(y_true, y_pred, delta=1.0):
    """Keras 2.3's Huber function: the same values as `huber`, per element (no mean over the last
    axis; Keras 2's training loop then averages them)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    abs_error = jnp.abs(y_pred - y_true)
    quadratic = jnp.minimum(abs_error, jnp.asarray(delta, y_pred.dtype))
    return 0.5 * jnp.square(quadratic) + delta * (abs_error - quadratic)


def log_cosh(y_true, y_pred):
    """`mean(log(cosh(y_pred - y_true)), axis=-1)`, computed without overflow."""
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return jnp.mean(x + jax.nn.softplus(x * -2.0) - jnp.log(2.0).astype(x.dtype), axis=-1)


def kl_divergence(y_true, y_pred):
    """`sum(y_true * log(y_true / y_pred), axis=-1)`, both clipped to [eps, 1]."""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = config.epsilon()
    y_true, y_pred = jnp.clip(y_true, eps, 1), jnp.clip(y_pred, eps, 1)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """`mean(y_pred - y_true * log(y_pred + eps), axis=-1)`."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + config.epsilon()), axis=-1)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or soft) targets and class probabilities (or logits)."""
    _check_axis(axis)
    y_pred, from_logits = _logits_if_known(y_pred, from_logits, "softmax", "categorical_crossentropy",
                                           axis)
    y_true, y_pred = _prepare(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_crossentropy")
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    log_prob = jax.nn.log_softmax(y_pred, axis=axis) if from_logits else _clipped_log_probs(y_pred, axis)
    return -jnp.sum(y_true * log_prob, axis=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical crossentropy weighted by `alpha * (1 - p) ** gamma` per class."""
    _check_axis(axis)
    y_true, y_pred = _prepare(y_true, y_pred)
    _warn_single_class(y_pred, "categorical_focal_crossentropy")
    _check_same_shape(y_true, y_pred, "categorical_focal_crossentropy")
    y_true = _smooth_categorical(y_true, label_smoothing)
    if from_logits:
        y_pred = jax.nn.softmax(y_pred, axis=axis)
    eps = config.epsilon()
    output = jnp.clip(y_pred / jnp.sum(y_pred, axis=axis, keepdims=True), eps, 1.0 - eps)
    cce = -y_true * jnp.log(output)
    weight = jnp.power(1.0 - output, jnp.asarray(gamma, output.dtype)) * alpha
    return jnp.sum(weight * cce, axis=axis)


def _sparse_labels(y_true, y_pred, axis):
    """Integer-valued labels without the trailing dim of 1 that Keras allows."""
    y_true = jnp.asarray(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis)
    return y_true


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None, axis=-1):
    """Crossentropy between integer class labels and class probabilities (or logits).

    Labels equal to `ignore_class` give a loss of 0 (see `loss_mask` for the
    mask Keras attaches to them).
    """
    y_pred, from_logits = _logits_if_known(y_pred, from_logits, "softmax",
                                           "sparse_categorical_crossentropy", axis)
    y_pred = _as_float(y_pred)
    y_true = _sparse_labels(y_true, y_pred, axis)
    axis = axis % y_pred.ndim
    expected = y_pred.shape[:axis] + y_pred.shape[axis + 1:]
    if y_true.shape != expected:
        raise ValueError("sparse_categorical_crossentropy: `y_true` must have the shape of `y_pred` "
                         f"without its class axis. Received: y_true.shape={y_true.shape}, "
                         f"y_pred.shape={y_pred.shape}")
    if ignore_class is not None:
        valid = y_true != ignore_class
        y_true = jnp.where(valid, y_true, 0)
        # Keras fills 0 here; 1 gives the same loss and keeps gradients finite.
        y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 1.0)
    log_prob = jax.nn.log_softmax(y_pred, axis=axis) if from_logits else _clipped_log_probs(y_pred, axis)
    one_hot = jax.nn.one_hot(y_true.astype("int32"), y_pred.shape[axis], axis=axis, dtype=y_pred.dtype)
    loss = -jnp.sum(one_hot * log_prob, axis=axis)
    return loss if ignore_class is None else jnp.where(valid, loss, 0.0)


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy of independent binary targets, mean over `axis`."""
    y_pred, from_logits = _logits_if_known(y_pred, from_logits, "sigmoid", "binary_crossentropy")
    y_true, y_pred = _prepare(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(_elementwise_bce(y_true, y_pred, from_logits), axis=axis)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy weighted by `(1 - p_t) ** gamma` (and `alpha` if balancing)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        y_pred = jax.nn.sigmoid(y_pred)
    bce = _elementwise_bce(y_true, y_pred, from_logits=False)
    p_t = y_true * y_pred + (1 - y_true) * (1 - y_pred)
    focal_bce = jnp.power(1.0 - p_t, jnp.asarray(gamma, p_t.dtype)) * bce
    if apply_class_balancing:
        focal_bce = (y_true * alpha + (1 - y_true) * (1 - alpha)) * focal_bce
    return jnp.mean(focal_bce, axis=axis)


def hinge(y_true, y_pred):
    """`mean(max(1 - y_true * y_pred, 0), axis=-1)`, labels {0, 1} read as {-1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0), axis=-1)


def squared_hinge(y_true, y_pred):
    """`mean(square(max(1 - y_true * y_pred, 0)), axis=-1)`, labels {0, 1} read as {-1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - _hinge_labels(y_true) * y_pred, 0.0)), axis=-1)


def categorical_hinge(y_true, y_pred):
    """`max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)` over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, 0.0)


def _apply_loss(tensors, loss, **kwargs):
    """What a loss call recorded on symbolic tensors runs: the loss function `loss` on `tensors`."""
    return globals()[loss](*tensors, **kwargs)


def _symbolic(fn):
    """`fn`, which on symbolic tensors records itself as a layer, as Keras 2 graph code needs
    (a VAE's `add_loss(K.mean(mse(inputs, outputs) + kl))`); on arrays it is `fn` itself."""
    @functools.wraps(fn)
    def loss_function(y_true, y_pred, *args, **kwargs):
        if not (isinstance(y_true, KerasTensor) and isinstance(y_pred, KerasTensor)):
            return fn(y_true, y_pred, *args, **kwargs)
        from jkeras.layers.lambda_layer import Lambda
        arguments = inspect.signature(fn).bind(y_true, y_pred, *args, **kwargs).arguments
        arguments = {k: v for k, v in arguments.items() if k not in ("y_true", "y_pred")}
        return Lambda(_apply_loss, arguments={"loss": fn.__name__, **arguments},
                      name=unique_name(fn.__name__))([y_true, y_pred])
    return loss_function


for _fn in (mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
            cosine_similarity, huber, huber_loss, log_cosh, kl_divergence, poisson, categorical_crossentropy,
            categorical_focal_crossentropy, sparse_categorical_crossentropy, binary_crossentropy,
            binary_focal_crossentropy, hinge, squared_hinge, categorical_hinge):
    globals()[_fn.__name__] = _symbolic(_fn)


def loss_mask(fn, y_true, y_pred, **fn_kwargs):
    """The entries of `fn`'s output that count (Keras's mask), or None when all do."""
    ignore_class = fn_kwargs.get("ignore_class")
    if fn is not sparse_categorical_crossentropy or ignore_class is None:
        return None
    return _sparse_labels(y_true, y_pred, fn_kwargs.get("axis", -1)) != ignore_class


class Loss:
    """Base of Keras losses: `call` gives per-sample values, `__call__` reduces them.

    Subclass it and override `call(y_true, y_pred)`, as in Keras.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.reduction = _standardize_reduction(reduction)
        # floatx by default, but never below float32 (a float16 floatx would overflow)
        self.dtype = dtype or jnp.promote_types(config.floatx(), jnp.float32).name

    def call(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must implement `call(y_true, y_pred)`.")

    def mask(self, y_true, y_pred):
        """Boolean array of the per-sample entries that count, or None when all do."""
        return None

    def per_sample(self, y_true, y_pred):
        """Unreduced loss: one value per sample (and per timestep, for sequence outputs)."""
        return self.call(_as_float(y_true, self.dtype), _as_float(y_pred, self.dtype))

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _as_float(y_true, self.dtype), _as_float(y_pred, self.dtype)
        return reduce_weighted_values(self.call(y_true, y_pred), sample_weight, self.mask(y_true, y_pred),
                                      self.reduction, self.dtype)

    def get_config(self):
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class LossFunctionWrapper(Loss):
    """A `Loss` around a loss function and its keyword arguments."""

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if isinstance(fn, (str, dict)):
            fn = get(fn)
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def __getattr__(self, name):
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def mask(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return loss_mask(self.fn, y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = serialize(self.fn)
        return {**config, **self._fn_kwargs}


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squares of errors between labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors between labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error between labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error between labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between labels and predictions."""

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(cosine_similarity, reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(LossFunctionWrapper):
    """Huber loss: quadratic for small errors, linear for large ones."""

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        super().__init__(huber, reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the prediction error."""

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


class Hinge(LossFunctionWrapper):
    """Hinge loss between labels (-1/1 or 0/1) and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss between labels (-1/1 or 0/1) and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss between one-hot labels and predictions."""

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence between label and predicted distributions."""

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """Poisson loss between labels and predicted rates."""

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy for binary (0/1) labels, one probability or logit per label."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        super().__init__(binary_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Binary crossentropy down-weighting easy examples by `(1 - p_t) ** gamma`."""

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        super().__init__(binary_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                         apply_class_balancing=apply_class_balancing, alpha=alpha, gamma=gamma)


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for one-hot labels and class probabilities (or logits)."""

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        super().__init__(categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Categorical crossentropy down-weighting easy examples by `alpha * (1 - p) ** gamma`."""

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        super().__init__(categorical_focal_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis,
                         alpha=alpha, gamma=gamma)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy for integer labels and class probabilities (or logits)."""

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size", axis=-1,
                 name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, reduction=reduction, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


ALL_OBJECTS = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, CosineSimilarity, Huber, LogCosh, Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
    CategoricalFocalCrossentropy, SparseCategoricalCrossentropy,
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    cosine_similarity, huber, log_cosh, hinge, squared_hinge, categorical_hinge, kl_divergence, poisson,
    binary_crossentropy, binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy,
    sparse_categorical_crossentropy,
)
ALIASES = {
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence, "KLD": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "logcosh": log_cosh, "cosine_proximity": cosine_similarity, "cosine": cosine_similarity,
    "huber_loss": huber_loss,  # Keras 2.3's function (per element), by its name
}
ALL_OBJECTS_DICT = {**{obj.__name__: obj for obj in ALL_OBJECTS}, **ALIASES}
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
cosine = cosine_proximity = cosine_similarity  # Keras 2's names


def is_categorical_crossentropy(loss):
    """Whether `loss` is categorical crossentropy: the function, its name, a `CategoricalCrossentropy`
    or another wrapper of the function (Keras 2.3's test, which picks the `"acc"` metric's kind)."""
    return (isinstance(loss, CategoricalCrossentropy)
            or (isinstance(loss, LossFunctionWrapper) and loss.fn is categorical_crossentropy)
            or getattr(loss, "__name__", None) == "categorical_crossentropy"
            or (isinstance(loss, str) and loss == "categorical_crossentropy"))


def serialize(loss):
    """A loss function's name, or a `Loss` instance's Keras 3 config dict."""
    if isinstance(loss, Loss):
        return serialize_keras_object(loss, "keras.losses")
    return getattr(loss, "__name__", None) or str(loss)


def deserialize(config, custom_objects=None):
    """A loss function or `Loss` instance from a name or a Keras 3 / tf.keras config dict."""
    return deserialize_keras_object(config, ALL_OBJECTS_DICT, "loss", custom_objects)


def label_kind(y_true_shape=None, y_pred_shape=None, loss=None):
    """`"binary"`, `"sparse"` or `"categorical"`: how Keras reads targets for "accuracy"/"crossentropy".

    Binary if the loss is binary crossentropy or predictions have a last dim of
    1; sparse if the loss is sparse categorical crossentropy or targets have
    one dim fewer (or a last dim of 1) than predictions; else categorical.
    """
    fn = loss
    if isinstance(loss, (str, dict)):
        try:
            fn = get(loss)
        except ValueError:
            fn = None
    fn = getattr(fn, "fn", fn)
    y_pred_last = y_pred_shape[-1] if y_pred_shape else None
    if fn in (binary_crossentropy, binary_focal_crossentropy) or y_pred_last == 1:
        return "binary"
    if fn is sparse_categorical_crossentropy:
        return "sparse"
    if y_true_shape is not None and y_pred_shape:
        y_true_last = y_true_shape[-1] if y_true_shape else None
        if len(y_true_shape) < len(y_pred_shape) or (y_true_last == 1 and y_pred_last is not None):
            return "sparse"
    return "categorical"


_CROSSENTROPY = {"binary": binary_crossentropy, "sparse": sparse_categorical_crossentropy,
                 "categorical": categorical_crossentropy}


def get(identifier, y_true_shape=None, y_pred_shape=None):
    """A loss function or `Loss` instance from a name, function, class, instance or config dict.

    `"crossentropy"`/`"ce"` pick binary, sparse or categorical crossentropy
    from the target and prediction shapes, as Keras's `compile` does.
    """
    if identifier is None:
        return None
    if isinstance(identifier, str) and identifier.lower() in ("crossentropy", "ce"):
        return _CROSSENTROPY[label_kind(y_true_shape, y_pred_shape)]
    return deserialize(identifier)

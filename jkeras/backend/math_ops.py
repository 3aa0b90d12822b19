"""Keras 2's math `K` functions: reductions, elementwise math, comparisons, products, `switch`.

Each follows tf.keras 2's `keras.backend` (booleans averaged as floats, `sqrt` of negatives
clipped to 0, `clip` with `max_value < min_value` taking `min_value`, ...). Names shadow
Python builtins on purpose (`K.sum`, `K.max`); this module uses `builtins` where it needs them.
"""
import builtins

import jax
import jax.numpy as jnp

from jkeras.backend.config import floatx
from jkeras.backend.function import current_training, is_learning_phase
from jkeras.backend.symbolic import op, read


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _float_if_bool(x):
    x = jnp.asarray(x)
    return x.astype(floatx()) if x.dtype == jnp.bool_ else x


# ---- reductions ----
@op
def sum(x, axis=None, keepdims=False):  # noqa: A001
    return jnp.sum(x, axis=_axis(axis), keepdims=keepdims)


@op
def prod(x, axis=None, keepdims=False):
    return jnp.prod(x, axis=_axis(axis), keepdims=keepdims)


@op
def max(x, axis=None, keepdims=False):  # noqa: A001
    return jnp.max(x, axis=_axis(axis), keepdims=keepdims)


@op
def min(x, axis=None, keepdims=False):  # noqa: A001
    return jnp.min(x, axis=_axis(axis), keepdims=keepdims)


@op
def mean(x, axis=None, keepdims=False):
    """The mean; booleans count as floatx 0/1."""
    return jnp.mean(_float_if_bool(x), axis=_axis(axis), keepdims=keepdims)


@op
def var(x, axis=None, keepdims=False):
    """The population variance (divided by N, as tf.math.reduce_variance)."""
    return jnp.var(_float_if_bool(x), axis=_axis(axis), keepdims=keepdims)


@op
def std(x, axis=None, keepdims=False):
    return jnp.std(_float_if_bool(x), axis=_axis(axis), keepdims=keepdims)


@op
def any(x, axis=None, keepdims=False):  # noqa: A001
    return jnp.any(jnp.asarray(x).astype(bool), axis=_axis(axis), keepdims=keepdims)


@op
def all(x, axis=None, keepdims=False):  # noqa: A001
    return jnp.all(jnp.asarray(x).astype(bool), axis=_axis(axis), keepdims=keepdims)


@op
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))`, computed stably (Keras 2.3's `K.logsumexp`)."""
    return jax.nn.logsumexp(jnp.asarray(x), axis=_axis(axis), keepdims=keepdims)


@op
def argmax(x, axis=-1):
    return jnp.argmax(x, axis=axis)


@op
def argmin(x, axis=-1):
    return jnp.argmin(x, axis=axis)


@op
def cumsum(x, axis=0):
    return jnp.cumsum(x, axis=axis)


@op
def cumprod(x, axis=0):
    return jnp.cumprod(x, axis=axis)


# ---- elementwise ----
@op
def square(x):
    return jnp.square(x)


@op
def abs(x):  # noqa: A001
    return jnp.abs(x)


@op
def sqrt(x):
    """`sqrt(max(x, 0))`, as tf.keras 2 clips before the root."""
    x = jnp.asarray(x)
    return jnp.sqrt(jnp.clip(x, 0, jnp.inf))


@op
def exp(x):
    return jnp.exp(x)


@op
def log(x):
    return jnp.log(x)


@op
def round(x):  # noqa: A001
    """Half to even, as tf.round."""
    return jnp.round(x)


@op
def sign(x):
    return jnp.sign(x)


@op
def pow(x, a):  # noqa: A001
    return jnp.power(x, a)


@op
def sin(x):
    return jnp.sin(x)


@op
def cos(x):
    return jnp.cos(x)


@op
def clip(x, min_value, max_value):
    """`x` clipped to `[min_value, max_value]`; `None` is unbounded, and `max < min` means `min`."""
    if isinstance(min_value, (int, float)) and isinstance(max_value, (int, float)) and max_value < min_value:
        max_value = min_value
    min_value = -jnp.inf if min_value is None else min_value
    max_value = jnp.inf if max_value is None else max_value
    return jnp.clip(x, min_value, max_value)


@op
def maximum(x, y):
    return jnp.maximum(x, y)


@op
def minimum(x, y):
    return jnp.minimum(x, y)


@op
def l2_normalize(x, axis=None):
    """`x / sqrt(max(sum(x ** 2), 1e-12))`, as tf.linalg.l2_normalize."""
    x = jnp.asarray(x)
    squares = jnp.sum(jnp.square(x), axis=_axis(axis), keepdims=True)
    return x * jax.lax.rsqrt(jnp.maximum(squares, jnp.asarray(1e-12, x.dtype)))


# ---- comparisons ----
@op
def equal(x, y):
    return jnp.equal(x, y)


@op
def not_equal(x, y):
    return jnp.not_equal(x, y)


@op
def greater(x, y):
    return jnp.greater(x, y)


@op
def greater_equal(x, y):
    return jnp.greater_equal(x, y)


@op
def less(x, y):
    return jnp.less(x, y)


@op
def less_equal(x, y):
    return jnp.less_equal(x, y)


@op
def in_top_k(predictions, targets, k):
    """Whether each target's prediction is among the `k` largest of its row (ties count in)."""
    predictions = jnp.asarray(predictions)
    targets = jnp.asarray(targets).astype(jnp.int32)
    target_value = jnp.take_along_axis(predictions, targets[:, None], axis=1)
    above = jnp.sum(predictions > target_value, axis=1)
    return (above < k) & jnp.isfinite(target_value[:, 0])


# ---- products ----
@op
def dot(x, y):
    """Keras 2's `dot`: contracts x's last axis with y's second-to-last (its only one if 1-D)."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    return jnp.tensordot(x, y, axes=[[x.ndim - 1], [builtins.max(y.ndim - 2, 0)]])


def _batch_dot_axes(x_shape, y_shape, axes):
    x_ndim, y_ndim = len(x_shape), len(y_shape)
    if x_ndim < 2 or y_ndim < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                         f"{x_shape} and {y_shape}.")
    if x_shape[0] is not None and y_shape[0] is not None and x_shape[0] != y_shape[0]:
        raise ValueError(f"Cannot do batch_dot on inputs with different batch sizes. Received inputs "
                         f"with shapes {x_shape} and {y_shape}.")
    if isinstance(axes, int):
        axes = [axes, axes]
    if axes is None:
        axes = [x_ndim - 1, y_ndim - 1] if y_ndim == 2 else [x_ndim - 1, y_ndim - 2]
    if builtins.any(isinstance(a, (list, tuple)) for a in axes):
        raise ValueError(f"Multiple target dimensions are not supported. Expected: None, int, (int, int), "
                         f"Provided: {axes}")
    a0, a1 = axes[0] % x_ndim if axes[0] < 0 else axes[0], axes[1] % y_ndim if axes[1] < 0 else axes[1]
    if 0 in (a0, a1):
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                         "batch dimension to your inputs using K.expand_dims(x, 0)")
    if x_shape[a0] is not None and y_shape[a1] is not None and x_shape[a0] != y_shape[a1]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {x_shape} and {y_shape} with "
                         f"axes={[a0, a1]}. x.shape[{a0}] != y.shape[{a1}] ({x_shape[a0]} != {y_shape[a1]}).")
    return a0, a1


@op
def batch_dot(x, y, axes=None):
    """Per-sample dot over `axes` (tf.keras 2's rules): x's other axes, then y's, after the batch;
    two rank-2 inputs give shape `(batch, 1)`."""
    x, y = jnp.asarray(x), jnp.asarray(y)
    a0, a1 = _batch_dot_axes(tuple(x.shape), tuple(y.shape), axes)
    out = jax.lax.dot_general(x, y, (((a0,), (a1,)), ((0,), (0,))))
    if x.ndim == 2 and y.ndim == 2:
        out = out[:, None]
    return out


@op
def transpose(x):
    """All axes reversed, as tf.transpose."""
    return jnp.transpose(x)


# ---- control ----
def _resolve_phase(value):
    return current_training() if is_learning_phase(value) else value


def switch(condition, then_expression, else_expression):
    """`then` where `condition` holds, else `else`. A scalar condition picks one branch
    (callables are called only then); a lower-rank one broadcasts over trailing axes."""
    condition = _resolve_phase(condition)
    if isinstance(condition, (bool, int)):
        chosen = then_expression if condition else else_expression
        return chosen() if callable(chosen) else chosen
    return _switch(condition, then_expression, else_expression)


@op
def _switch(condition, then_expression, else_expression):
    condition = jnp.asarray(condition).astype(bool)
    if condition.ndim == 0:
        then_fn = then_expression if callable(then_expression) else (lambda: then_expression)
        else_fn = else_expression if callable(else_expression) else (lambda: else_expression)
        return jax.lax.cond(condition, then_fn, else_fn)
    then_expression = then_expression() if callable(then_expression) else jnp.asarray(then_expression)
    else_expression = else_expression() if callable(else_expression) else jnp.asarray(else_expression)
    expr_ndim = jnp.ndim(then_expression)
    if condition.ndim > expr_ndim:
        raise ValueError(f"Rank of `condition` should be less than or equal to rank of `then_expression` "
                         f"and `else_expression`. ndim(condition)={condition.ndim}, "
                         f"ndim(then_expression)={expr_ndim}")
    condition = condition.reshape(condition.shape + (1,) * (expr_ndim - condition.ndim))
    return jnp.where(condition, then_expression, else_expression)


def in_train_phase(x, alt, training=None):
    """`x` in training, `alt` otherwise; `training=None` reads the current learning phase (the
    layer call's training flag inside a step, `K.set_learning_phase` eagerly)."""
    training = current_training() if training is None else _resolve_phase(training)
    if isinstance(training, (bool, int)) or (hasattr(training, "ndim") and not isinstance(
            training, jax.core.Tracer) and training.ndim == 0):
        chosen = x if bool(training) else alt
        return chosen() if callable(chosen) else chosen
    return switch(training, x, alt)


def in_test_phase(x, alt, training=None):
    """`x` in inference, `alt` in training."""
    return in_train_phase(alt, x, training=training)


# ---- misc ----
@op
def cast(x, dtype):
    return jnp.asarray(x).astype(str(getattr(dtype, "name", dtype)))


@op
def stop_gradient(variables):
    """No gradient flows back through `variables` (one tensor or a list)."""
    if isinstance(variables, (list, tuple)):
        return [jax.lax.stop_gradient(read(v)) for v in variables]
    return jax.lax.stop_gradient(read(variables))

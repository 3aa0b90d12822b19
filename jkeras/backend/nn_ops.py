"""Keras 2's neural-network `K` functions: activations, crossentropies, convolutions, pooling,
bias and batch normalization, with tf.keras 2's epsilon clipping and TF's padding rules."""
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import epsilon, image_data_format
from jkeras.backend.symbolic import op


# ---- activations ----
@op
def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """`x` above `threshold` (else `alpha * (x - threshold)`), capped at `max_value`."""
    x = jnp.asarray(x)
    if alpha != 0.0:
        if max_value is None and threshold == 0:
            return jnp.where(x > 0, x, alpha * x)
        negative = jax.nn.relu(-x + threshold)
    y = x * (x > threshold).astype(x.dtype) if threshold != 0 else jax.nn.relu(x)
    if max_value is not None:
        y = jnp.clip(y, 0, max_value)
    if alpha != 0.0:
        y = y - alpha * negative
    return y


@op
def elu(x, alpha=1.0):
    x = jnp.asarray(x)
    y = jax.nn.elu(x)
    return y if alpha == 1 else jnp.where(x > 0, y, alpha * y)


@op
def softmax(x, axis=-1):
    x = jnp.asarray(x)
    if x.ndim <= 1:
        raise ValueError(f"Cannot apply softmax to a tensor that is 1D. Received input: shape {x.shape}")
    return jax.nn.softmax(x, axis=tuple(axis) if isinstance(axis, list) else axis)


@op
def softplus(x):
    return jax.nn.softplus(x)


@op
def softsign(x):
    return jax.nn.soft_sign(x)


@op
def sigmoid(x):
    return jax.nn.sigmoid(x)


@op
def hard_sigmoid(x):
    """`clip(0.2 * x + 0.5, 0, 1)`."""
    return jnp.clip(0.2 * jnp.asarray(x) + 0.5, 0.0, 1.0)


@op
def tanh(x):
    return jnp.tanh(x)


# ---- crossentropies ----
def _eps(x):
    return jnp.asarray(epsilon(), x.dtype)


@op
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """`-sum(target * log(output))` over `axis`, `output` rescaled to sum to 1 and clipped to
    `[epsilon, 1 - epsilon]`; from logits, a log-softmax."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    if target.shape != output.shape:
        raise ValueError(f"Shapes {target.shape} and {output.shape} are incompatible")
    if from_logits:
        return -jnp.sum(target * jax.nn.log_softmax(output, axis=axis), axis=axis)
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    output = jnp.clip(output, _eps(output), 1.0 - _eps(output))
    return -jnp.sum(target * jnp.log(output), axis=axis)


@op
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1, ignore_class=None):
    """`-log(output[target])` (renormalised, clipped to `[epsilon, 1 - epsilon]`); entries whose
    target is `ignore_class` give 0."""
    output = jnp.asarray(output)
    if not from_logits:
        output = jnp.log(jnp.clip(output, _eps(output), 1.0 - _eps(output)))
    output = jnp.moveaxis(output, axis % output.ndim, -1)
    target = jnp.asarray(target).astype(jnp.int32)
    if target.ndim == output.ndim:
        target = target.reshape(target.shape[:-1])
    target = target.reshape(output.shape[:-1])
    logp = jax.nn.log_softmax(output, axis=-1)
    picked = jnp.take_along_axis(logp, jnp.clip(target, 0, output.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    loss = -picked
    if ignore_class is not None:
        loss = jnp.where(target == ignore_class, jnp.zeros((), loss.dtype), loss)
    return loss


@op
def binary_crossentropy(target, output, from_logits=False):
    """Elementwise `-(t log(p + eps) + (1 - t) log(1 - p + eps))`, `p` clipped to `[eps, 1 - eps]`."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    if from_logits:
        return jnp.maximum(output, 0) - output * target + jnp.log1p(jnp.exp(-jnp.abs(output)))
    eps = _eps(output)
    output = jnp.clip(output, eps, 1.0 - eps)
    return -(target * jnp.log(output + eps) + (1 - target) * jnp.log(1 - output + eps))


@op
def binary_focal_crossentropy(target, output, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                              from_logits=False):
    """The binary crossentropy times `(1 - p_t) ** gamma` (and `alpha` balancing if asked)."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    probs = jax.nn.sigmoid(output) if from_logits else output
    p_t = target * probs + (1 - target) * (1 - probs)
    focal = jnp.power(1.0 - p_t, gamma) * binary_crossentropy(target, output, from_logits=from_logits)
    if apply_class_balancing:
        focal = (target * alpha + (1 - target) * (1 - alpha)) * focal
    return focal


@op
def categorical_focal_crossentropy(target, output, alpha=0.25, gamma=2.0, from_logits=False, axis=-1):
    """`sum(alpha * (1 - p) ** gamma * -t log p)` over `axis`, `p` clipped as in the crossentropy."""
    target, output = jnp.asarray(target), jnp.asarray(output)
    if target.shape != output.shape:
        raise ValueError(f"Shapes {target.shape} and {output.shape} are incompatible")
    if from_logits:
        output = jax.nn.softmax(output, axis=axis)
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    output = jnp.clip(output, _eps(output), 1.0 - _eps(output))
    return jnp.sum(alpha * jnp.power(1.0 - output, gamma) * (-target * jnp.log(output)), axis=axis)


# ---- convolutions and pooling ----
def _format(data_format):
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


def _padding(padding):
    if padding not in ("same", "valid"):
        raise ValueError(f"Invalid padding: {padding}")
    return padding.upper()


def _tuple(value, n):
    return (int(value),) * n if isinstance(value, int) else tuple(int(v) for v in value)


def _dims(n, data_format):
    spatial = "DHW"[3 - n:]
    lhs = "NC" + spatial if data_format == "channels_first" else "N" + spatial + "C"
    return lhs, spatial + "IO", lhs


def _conv(x, kernel, strides, padding, data_format, dilation_rate, n, groups=1):
    data_format = _format(data_format)
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    return jax.lax.conv_general_dilated(x, kernel.astype(x.dtype), _tuple(strides, n), _padding(padding),
                                        rhs_dilation=_tuple(dilation_rate, n),
                                        dimension_numbers=_dims(n, data_format),
                                        feature_group_count=groups)


@op
def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1D convolution; `padding='causal'` pads the start of the sequence only."""
    if padding == "causal":
        left = _tuple(dilation_rate, 1)[0] * (jnp.shape(kernel)[0] - 1)
        time_axis = 2 if _format(data_format) == "channels_first" else 1
        pads = [(0, 0)] * 3
        pads[time_axis] = (left, 0)
        x, padding = jnp.pad(x, pads), "valid"
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 1)


@op
def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 2)


@op
def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    return _conv(x, kernel, strides, padding, data_format, dilation_rate, 3)


@op
def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """Each input channel convolved with its own `multiplier` filters: kernel `(h, w, in, mult)`."""
    kernel = jnp.asarray(depthwise_kernel)
    h, w, channels, mult = kernel.shape
    return _conv(x, kernel.reshape(h, w, 1, channels * mult), strides, padding, data_format, dilation_rate, 2,
                 groups=channels)


@op
def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """A depthwise convolution, then a 1x1 pointwise one."""
    if len(_tuple(strides, 2)) != 2:
        raise ValueError("`strides` must be a tuple of 2 integers.")
    y = depthwise_conv2d(x, depthwise_kernel, strides, padding, data_format, dilation_rate)
    return _conv(y, pointwise_kernel, (1, 1), "valid", data_format, (1, 1), 2)


@op
def separable_conv1d(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                     dilation_rate=1):
    """`separable_conv2d` over one spatial axis: kernels `(k, in, mult)` and `(1, in * mult, out)`."""
    data_format = _format(data_format)
    x = jnp.expand_dims(jnp.asarray(x), 2 if data_format == "channels_first" else 1)
    y = separable_conv2d(x, jnp.asarray(depthwise_kernel)[None], jnp.asarray(pointwise_kernel)[None],
                         (1,) + _tuple(strides, 1), padding, data_format, (1,) + _tuple(dilation_rate, 1))
    return jnp.squeeze(y, 2 if data_format == "channels_first" else 1)


def _transpose_pads(in_size, out_size, k, stride, dilation, padding):
    """Low/high padding of the stride-dilated input that gives `out_size`: the gradient of
    TF's forward convolution from `out_size` to `in_size`."""
    k_eff = (k - 1) * dilation + 1
    if padding == "SAME":
        total = max((in_size - 1) * stride + k_eff - out_size, 0)
        before = total // 2
    else:
        before = 0
    low = k_eff - 1 - before
    high = out_size + k_eff - 1 - ((in_size - 1) * stride + 1) - low
    return low, high


def _conv_transpose(x, kernel, output_shape, strides, padding, data_format, dilation_rate, n):
    data_format = _format(data_format)
    x, kernel = jnp.asarray(x), jnp.asarray(kernel)
    strides, dilation = _tuple(strides, n), _tuple(dilation_rate, n)
    first = 2 if data_format == "channels_first" else 1
    spatial_out, spatial_in = tuple(output_shape)[first:first + n], x.shape[first:first + n]
    pads = [_transpose_pads(i, o, k, s, d, _padding(padding))
            for i, o, k, s, d in zip(spatial_in, spatial_out, kernel.shape[:n], strides, dilation)]
    rhs = jnp.swapaxes(jnp.flip(kernel, tuple(range(n))), -1, -2).astype(x.dtype)
    return jax.lax.conv_general_dilated(x, rhs, (1,) * n, pads, lhs_dilation=strides, rhs_dilation=dilation,
                                        dimension_numbers=_dims(n, data_format))


@op
def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    """The transpose of `conv2d` (its gradient), to `output_shape`; kernel `(h, w, out, in)`."""
    return _conv_transpose(x, kernel, output_shape, strides, padding, data_format, dilation_rate, 2)


@op
def conv3d_transpose(x, kernel, output_shape, strides=(1, 1, 1), padding="valid", data_format=None):
    """The transpose of `conv3d` (Keras 2.3's), to `output_shape`; kernel `(d, h, w, out, in)`."""
    return _conv_transpose(x, kernel, output_shape, strides, padding, data_format, (1, 1, 1), 3)


def _pool(x, pool_size, strides, padding, data_format, pool_mode, n):
    data_format = _format(data_format)
    pool_size, strides = _tuple(pool_size, n), _tuple(strides, n)
    if len(pool_size) != n:
        raise ValueError(f"`pool_size` must be a tuple of {n} integers.")
    if len(strides) != n:
        raise ValueError(f"`strides` must be a tuple of {n} integers.")
    x = jnp.asarray(x)
    window = (1, 1) + pool_size if data_format == "channels_first" else (1,) + pool_size + (1,)
    step = (1, 1) + strides if data_format == "channels_first" else (1,) + strides + (1,)
    padding = _padding(padding)
    if pool_mode == "max":
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, window, step, padding).astype(x.dtype)
    if pool_mode == "avg":  # the average of the entries inside the input, as TF's 'SAME' counts them
        total = jax.lax.reduce_window(x, 0.0, jax.lax.add, window, step, padding)
        count = jax.lax.reduce_window(jnp.ones(x.shape, x.dtype), 0.0, jax.lax.add, window, step, padding)
        return (total / count).astype(x.dtype)
    raise ValueError(f"Invalid pooling mode: {pool_mode}")


@op
def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 2)


@op
def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    return _pool(x, pool_size, strides, padding, data_format, pool_mode, 3)


def _local_conv(inputs, kernel, kernel_size, strides, output_shape, data_format):
    """Unshared-weights convolution: kernel `(positions, window * in, out)`."""
    data_format = _format(data_format)
    inputs, kernel = jnp.asarray(inputs), jnp.asarray(kernel)
    n = len(output_shape)
    patches = []
    for position in itertools.product(*[range(d) for d in output_shape]):
        window = tuple(slice(p * s, p * s + k) for p, s, k in zip(position, strides, kernel_size))
        index = (slice(None), slice(None)) + window if data_format == "channels_first" else \
            (slice(None),) + window + (slice(None),)
        patches.append(inputs[index].reshape(inputs.shape[0], -1))
    x = jnp.stack(patches, axis=0)  # (positions, batch, features)
    out = jnp.einsum("pbf,pfo->pbo", x, kernel.astype(inputs.dtype))
    out = out.reshape(tuple(output_shape) + (inputs.shape[0], kernel.shape[-1]))
    perm = (n, n + 1) + tuple(range(n)) if data_format == "channels_first" else (n,) + tuple(range(n)) + (n + 1,)
    return jnp.transpose(out, perm)


@op
def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    return _local_conv(inputs, kernel, _tuple(kernel_size, 1), _tuple(strides, 1), (jnp.shape(kernel)[0],),
                       data_format)


@op
def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    return _local_conv(inputs, kernel, _tuple(kernel_size, 2), _tuple(strides, 2), tuple(output_shape),
                       data_format)


# ---- bias and normalization ----
@op
def bias_add(x, bias, data_format=None):
    """`x + bias` on the channels axis (`bias` of rank 1, or of rank `ndim(x) - 1`)."""
    data_format = _format(data_format)
    x, bias = jnp.asarray(x), jnp.asarray(bias)
    if bias.ndim not in (1, x.ndim - 1):
        raise ValueError(f"Unexpected bias dimensions {bias.ndim}, expect to be 1 or {x.ndim - 1} dimensions")
    if data_format == "channels_first" and x.ndim > 2:
        if bias.ndim == 1:
            return x + bias.reshape((1, -1) + (1,) * (x.ndim - 2))
        return x + bias.reshape((1, bias.shape[-1]) + bias.shape[:-1])  # a reshape, not a transpose, as tf.keras
    return x + bias


@op
def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """`(x - mean) / sqrt(var + epsilon) * gamma + beta`; 1-D statistics apply on `axis`."""
    x = jnp.asarray(x)

    def shaped(v):
        v = jnp.asarray(v, x.dtype)
        if v.ndim == 1 and x.ndim > 1:
            shape = [1] * x.ndim
            shape[axis % x.ndim] = -1
            v = v.reshape(shape)
        return v
    y = (x - shaped(mean)) * jax.lax.rsqrt(shaped(var) + jnp.asarray(epsilon, x.dtype))
    if gamma is not None:
        y = y * shaped(gamma)
    return y if beta is None else y + shaped(beta)


@op
def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """`(normed, mean, var)`: `x` normalised by the batch moments over `reduction_axes`. For
    image batches (rank 4, channels last or first) the returned variance is the unbiased one,
    as TF's fused batch norm gives it."""
    x = jnp.asarray(x)
    axes = tuple(reduction_axes)
    mean = jnp.mean(x, axis=axes)
    var = jnp.var(x, axis=axes)
    keep = [1 if a in axes else d for a, d in enumerate(x.shape)]
    normed = (x - mean.reshape(keep)) * jax.lax.rsqrt(var.reshape(keep) + jnp.asarray(epsilon, x.dtype))
    if gamma is not None:
        normed = normed * jnp.asarray(gamma).reshape(keep)
    if beta is not None:
        normed = normed + jnp.asarray(beta).reshape(keep)
    if x.ndim == 4 and list(axes) in ([0, 1, 2], [0, 2, 3]):
        count = int(np.prod([x.shape[a] for a in axes]))
        var = var * (count / max(count - 1, 1))
    return normed, mean, var

"""Depthwise convolutions (one input channel per group) as sums of shifted products.

XLA:CPU's grouped convolution with one input channel per group, with YNNPACK or with its own
emitter, is many times slower than the same convolution as shifted slices times the kernel's
rows, which XLA fuses into one loop (measured in docs/performance.md). Gradients are jax's
own of that sum; values equal `lax.conv_general_dilated`'s to rounding. Half-precision
inputs are summed in float32.
"""
import itertools

import jax
import jax.numpy as jnp
from jax import lax

from jkeras.layers._utils import window_view


def applies(kernel_shape, groups, channels, data_format):
    """Whether a grouped convolution is a channels-last depthwise one this module computes
    (on the CPU, where XLA's grouped convolution is slow)."""
    return (groups > 1 and groups == channels and kernel_shape[-2] == 1 and data_format == "channels_last"
            and jax.default_backend() == "cpu")


def conv(x, kernel, strides, padding, dilation):
    """`lax.conv_general_dilated(..., feature_group_count=channels)` of a channels-last `x` with
    a `spatial + (1, channels * multiplier)` kernel: output channel `o` reads input channel
    `o // multiplier`."""
    rank = x.ndim - 2
    channels, outputs = x.shape[-1], kernel.shape[-1]
    window = tuple((k - 1) * d + 1 for k, d in zip(kernel.shape[:rank], dilation))
    if padding == "same":
        pads = lax.padtype_to_pads(x.shape[1:-1], window, strides, "SAME")
        x = jnp.pad(x, [(0, 0)] + list(pads) + [(0, 0)])
    if outputs != channels:       # depth multiplier: each input channel feeds `outputs // channels`
        x = jnp.repeat(x, outputs // channels, axis=-1)
    sum_dtype = jnp.promote_types(x.dtype, jnp.float32)
    out_shape = x.shape[:1] + tuple((n - w) // s + 1 for n, w, s in zip(x.shape[1:-1], window, strides)) \
        + x.shape[-1:]
    steps = (1,) + tuple(strides) + (1,)
    total = None
    for offset in itertools.product(*(range(k) for k in kernel.shape[:rank])):
        start = (0,) + tuple(o * d for o, d in zip(offset, dilation)) + (0,)
        term = window_view(x, start, steps, out_shape).astype(sum_dtype) * kernel[offset + (0,)].astype(sum_dtype)
        total = term if total is None else total + term
    return total.astype(jnp.result_type(x.dtype, kernel.dtype))

"""Depthwise convolutions (one input channel per group) as sums of shifted products.

XLA:CPU's grouped convolution with one input channel per group, with YNNPACK or with its own
emitter, is many times slower than the same convolution as shifted slices times the kernel's
rows, which XLA fuses into one loop (measured in docs/performance.md). Values equal
`lax.conv_general_dilated`'s to rounding; half-precision inputs are summed in float32.

The sum is a primitive, `taps`, with its kernel gradient, `taps_kernel_grad`, as a second one:
jax's own gradient of the sum reduces each tap's product over the batch and space on its own,
and XLA:CPU materializes every one of those products for YNNPACK's reduction. `taps_kernel_grad`
reduces all taps' products together in one pass, first over the last spatial axis (a variadic
reduction, which XLA neither merges with the second nor hands to YNNPACK), then over the rest,
so it reads the input and the cotangent once (docs/performance.md has the times). Both
primitives are bilinear, each the other's transpose, so forward mode, reverse mode and their
compositions all work; the input gradient is jax's transpose of the sum.
"""
import functools
import itertools

import jax
import jax.numpy as jnp
from jax import core as jax_core, lax
from jax.extend import core
from jax.interpreters import ad, batching, mlir

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
    taps = kernel.reshape(kernel.shape[:rank] + (outputs,))
    total = taps_p.bind(x.astype(sum_dtype), taps.astype(sum_dtype), strides=tuple(strides),
                        dilation=tuple(dilation))
    return total.astype(jnp.result_type(x.dtype, kernel.dtype))


def _views(x, taps_shape, out_shape, strides, dilation):
    """`x`'s strided view at each tap of a `taps_shape + (channels,)` kernel, with the tap."""
    steps = (1,) + strides + (1,)
    for offset in itertools.product(*(range(k) for k in taps_shape[:-1])):
        start = (0,) + tuple(o * d for o, d in zip(offset, dilation)) + (0,)
        yield offset, window_view(x, start, steps, out_shape)


def _out_shape(x_shape, taps_shape, strides, dilation):
    windows = [(k - 1) * d + 1 for k, d in zip(taps_shape[:-1], dilation)]
    return x_shape[:1] + tuple((n - w) // s + 1 for n, w, s in zip(x_shape[1:-1], windows, strides)) \
        + x_shape[-1:]


def _taps(x, taps, strides, dilation):
    """The convolution of padded `x` with per-channel `taps`: the sum of each tap's view times it."""
    total = None
    for offset, view in _views(x, taps.shape, _out_shape(x.shape, taps.shape, strides, dilation), strides,
                               dilation):
        term = view * taps[offset]
        total = term if total is None else total + term
    return total


def _add(a, b):
    return tuple(u + v for u, v in zip(a, b))


def _taps_kernel_grad(x, ct, taps_shape, strides, dilation):
    """Per tap, the sum of its view of `x` times the cotangent `ct`: all taps in one variadic
    reduction over the last spatial axis, then a sum over the batch and the other axes."""
    ct = _materialized(ct)
    products = tuple(view * ct for _, view in _views(x, taps_shape, ct.shape, strides, dilation))
    zero = jnp.zeros((), ct.dtype)
    rows = lax.reduce(products, (zero,) * len(products), _add, (ct.ndim - 2,))
    sums = [jnp.sum(r, axis=tuple(range(r.ndim - 1))) for r in rows]
    return jnp.stack(sums).reshape(taps_shape)


def _materialized(ct):
    """`ct` computed once into memory, where XLA would otherwise recompute the ops that make it
    in each consumer that reads it at shifted positions (nine times over in the input gradient):
    XLA does not duplicate a division into such consumers. The same values for finite `ct`; an
    infinite one becomes NaN (as its product with a zero input would be)."""
    return ct / (ct * 0 + 1)


def _input_transpose(ct, taps, x_aval, strides, dilation):
    """The gradient with respect to `x` of the sum of `x`'s tap views times `taps`, given `ct`."""
    (dx,) = jax.linear_transpose(lambda x: _taps(x, taps, strides, dilation),
                                 jax.ShapeDtypeStruct(x_aval.shape, x_aval.dtype))(_materialized(ct))
    return dx


taps_p = core.Primitive("depthwise_taps")
taps_kernel_grad_p = core.Primitive("depthwise_taps_kernel_grad")


def _taps_abstract(x, taps, *, strides, dilation):
    return jax_core.ShapedArray(_out_shape(x.shape, taps.shape, strides, dilation), x.dtype)


def _kernel_grad_abstract(x, ct, *, taps_shape, strides, dilation):
    return jax_core.ShapedArray(taps_shape, ct.dtype)


def _taps_transpose_x(ct, x, taps, *, strides, dilation):
    return _input_transpose(ct, taps, x.aval, strides, dilation)


def _taps_transpose_taps(ct, x, taps, *, strides, dilation):
    return taps_kernel_grad_p.bind(x, ct, taps_shape=taps.aval.shape, strides=strides, dilation=dilation)


def _kernel_grad_transpose_x(g, x, ct, *, taps_shape, strides, dilation):
    return _input_transpose(ct, g, x.aval, strides, dilation)


def _kernel_grad_transpose_ct(g, x, ct, *, taps_shape, strides, dilation):
    return taps_p.bind(x, g, strides=strides, dilation=dilation)


def _taps_batch(args, dims, *, strides, dilation):
    """vmap: a batched input alone joins the batch axis; a batched kernel takes jax's vmap of the sum."""
    (x, taps), (x_dim, taps_dim) = args, dims
    if taps_dim is None:
        x = jnp.moveaxis(x, x_dim, 0)
        out = taps_p.bind(x.reshape((-1,) + x.shape[2:]), taps, strides=strides, dilation=dilation)
        return out.reshape(x.shape[:2] + out.shape[1:]), 0
    return jax.vmap(functools.partial(_taps, strides=strides, dilation=dilation), (x_dim, taps_dim))(x, taps), 0


def _kernel_grad_batch(args, dims, *, taps_shape, strides, dilation):
    reference = jax.vmap(lambda x, ct: jax.linear_transpose(lambda t: _taps(x, t, strides, dilation),
                                                            jax.ShapeDtypeStruct(taps_shape, ct.dtype))(ct)[0],
                         dims)
    return reference(*args), 0


taps_p.def_abstract_eval(_taps_abstract)
taps_p.def_impl(_taps)
mlir.register_lowering(taps_p, mlir.lower_fun(_taps, multiple_results=False))
ad.defbilinear(taps_p, _taps_transpose_x, _taps_transpose_taps)
batching.primitive_batchers[taps_p] = _taps_batch

taps_kernel_grad_p.def_abstract_eval(_kernel_grad_abstract)
taps_kernel_grad_p.def_impl(_taps_kernel_grad)
mlir.register_lowering(taps_kernel_grad_p, mlir.lower_fun(_taps_kernel_grad, multiple_results=False))
ad.defbilinear(taps_kernel_grad_p, _kernel_grad_transpose_x, _kernel_grad_transpose_ct)
batching.primitive_batchers[taps_kernel_grad_p] = _kernel_grad_batch

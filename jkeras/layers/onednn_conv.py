"""Channels-last float32 convolutions of training passes run by oneDNN on XLA:CPU.

jaxlib's x86-64 Linux builds carry oneDNN, and XLA:CPU runs `__onednn$convolution` and
`__onednn$matmul` custom calls with it (the kernels tf.keras 2 uses on the CPU). In a train
step, forward passes and stride-1 input gradients run faster there than on XLA's own
convolution emitter (docs/performance.md has the measurements). The custom call computes
forward convolutions only, and oneDNN's forward kernels are far slower than XLA's for the shape
of a kernel gradient, so that stays with XLA. The exception is a 1x1 convolution (`pointwise`):
its kernel gradient is a matrix product contracted over all rows, which XLA's dot emitter
computes (YNNPACK takes only products contracted over the last axis) and oneDNN's matmul
computes faster. Inference stays with XLA: it fuses the convolution with what follows and sets
nothing up per call, where oneDNN sets its primitive up at every call. XLA cannot serialize a
program with a oneDNN call, so the persistent compilation cache does not keep such train steps;
`"onednn_convolutions": false` in `jkeras.json` trades this speed for the cache.

`onednn_conv` and `onednn_pointwise` are primitives, bilinear like the convolution: the
former's input transpose is again a oneDNN convolution (of the cotangent with the flipped
kernel) where the strides are 1 and the padding allows it, else lax's, and its kernel
transpose is lax's; the latter's kernel transpose is `onednn_rows_product`. So forward mode,
reverse mode, their compositions and vmap all work. A layer's bias is added in the forward
call itself (a oneDNN post-op, `_affine`), whose derivative is built from those primitives.
Values equal lax's to float32 rounding.
"""
import functools
import json
import platform
import sys
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import core as jax_core, lax
from jax.custom_derivatives import SymbolicZero
from jax.extend import core
from jax.interpreters import ad, batching
from jax._src.interpreters import mlir

from jkeras.backend import config

_TESTED_JAXLIB = "0.10."  # the custom call's backend config is XLA-internal: other versions stay on lax


def applies(rank, groups, data_format, dtype):
    """Whether a convolution of these settings runs on oneDNN here."""
    return (groups == 1 and data_format == "channels_last" and 1 <= rank <= 3 and jnp.dtype(dtype) == jnp.float32
            and config.onednn_convolutions() and _onednn_cpu())


@functools.lru_cache(maxsize=None)
def _onednn_cpu():
    """XLA:CPU with oneDNN: an x86-64 Linux jaxlib of the tested series, running on one CPU
    device (XLA's partitioner would run a custom call whole on every device of a sharded step)."""
    import jaxlib
    return (sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")
            and jaxlib.__version__.startswith(_TESTED_JAXLIB) and jax.default_backend() == "cpu"
            and jax.device_count() == 1)


def conv(x, kernel, strides, padding, dilation, bias=None):
    """`lax.conv_general_dilated` of a channels-last `x` with a `spatial + (in, out)` kernel, plus
    `bias` in the same oneDNN call where given; `padding` is 'valid', 'same' or explicit
    `(low, high)` pairs."""
    window = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:-2], dilation)]
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(x.shape[1:-1], window, strides, padding.upper())
    op = _Conv(tuple(strides), tuple(map(tuple, padding)), tuple(dilation), "IO")
    return op.linear(x, kernel) if bias is None else _affine(x, kernel, bias, op)


def _dimension_numbers(rank, features):
    spatial = "DHW"[3 - rank:]
    return lax.conv_dimension_numbers((1,) * (rank + 2), (1,) * (rank + 2),
                                      ("N" + spatial + "C", spatial + features, "N" + spatial + "C"))


def _lax_conv(x, kernel, *, strides, pads, dilation, features):
    """The reference: `features` is the order of the kernel's last two axes, "IO" or "OI"."""
    return lax.conv_general_dilated(x, kernel, strides, pads, rhs_dilation=dilation,
                                    dimension_numbers=_dimension_numbers(x.ndim - 2, features))


def _abstract(x, kernel, **params):
    shape = jax.eval_shape(functools.partial(_lax_conv, **params),
                           jax.ShapeDtypeStruct(x.shape, x.dtype), jax.ShapeDtypeStruct(kernel.shape, kernel.dtype))
    return jax_core.ShapedArray(shape.shape, x.dtype)


def _config(strides, pads, dilation, features, fusions=()):
    """XLA's `OneDnnConvolutionConfig` for channels-last data and a `spatial + (in, out)` kernel
    (`spatial + (out, in)` for features "OI"), with oneDNN post-ops `fusions` (such as "BIAS")."""
    rank = len(strides)
    data = {"batch_dim": 0, "feature_dim": rank + 1, "spatial_dims": list(range(1, rank + 1))}
    inner = (rank, rank + 1) if features == "IO" else (rank + 1, rank)
    return {"onednn_conv_config": {
        "dims": rank + 2, "feature_groups": 1, "input": {"data": data}, "output": {"data": data},
        "kernel": {"filter": {"input_feature_dim": inner[0], "output_feature_dim": inner[1],
                              "spatial_dims": list(range(rank))}},
        "window": {"strides": list(strides), "pad_left": [lo for lo, _ in pads], "pad_right": [hi for _, hi in pads],
                   "window_dilations": list(dilation)},
        "fusions": {"ops": list(fusions)}}}


@functools.lru_cache(maxsize=None)
def _quiet_cache_warning():
    """Silence jax's warning, at each compile of a program with a oneDNN call, that its persistent
    cache could not keep it; set at the first such lowering, so importing jkeras changes nothing."""
    warnings.filterwarnings("ignore", message=r"Error writing persistent compilation cache entry .*std::bad_alloc",
                            category=UserWarning)


def _onednn_call(target, settings):
    """The lowering of a primitive to XLA:CPU's oneDNN custom call `target`, configured by
    `settings(**params)` (its backend config)."""
    def lower(ctx, *operands, **params):
        _quiet_cache_warning()
        out_type = mlir.aval_to_ir_type(ctx.module_context, ctx.avals_out[0])
        return mlir.custom_call(target, result_types=[out_type], operands=list(operands),
                                backend_config=json.dumps(settings(**params)), api_version=1).results
    return lower


def _transpose_x(ct, x, kernel, *, strides, pads, dilation, features):
    """The input gradient: a stride-1 convolution of `ct` with the kernel flipped in space and its
    features read in the other order (no copy swaps them), where that padding is not negative;
    else lax's."""
    rank = len(strides)
    flipped_pads = tuple(((k - 1) * d - lo, (k - 1) * d - hi)
                         for k, d, (lo, hi) in zip(kernel.shape[:rank], dilation, pads))
    if all(s == 1 for s in strides) and all(lo >= 0 and hi >= 0 for lo, hi in flipped_pads):
        return onednn_conv_p.bind(ct, lax.rev(kernel, tuple(range(rank))), strides=strides, pads=flipped_pads,
                                  dilation=dilation, features=features[::-1])
    (dx,) = jax.linear_transpose(
        lambda x: _lax_conv(x, kernel, strides=strides, pads=pads, dilation=dilation, features=features),
        jax.ShapeDtypeStruct(x.aval.shape, x.aval.dtype))(ct)
    return dx


def _transpose_kernel(ct, x, kernel, **params):
    """The kernel gradient, by XLA's convolution emitter (lax's transpose)."""
    (dk,) = jax.linear_transpose(lambda k: _lax_conv(x, k, **params),
                                 jax.ShapeDtypeStruct(kernel.aval.shape, kernel.aval.dtype))(ct)
    return dk


def _batcher(primitive, reference):
    """vmap of a oneDNN primitive: a batched input alone joins its leading (batch or row) axis; a
    batched kernel or bias takes the vmap of `reference`, its lax form."""
    def batch(args, dims, **params):
        if dims[0] is not None and all(d is None for d in dims[1:]):
            x = jnp.moveaxis(args[0], dims[0], 0)
            out = primitive.bind(x.reshape((-1,) + x.shape[2:]), *args[1:], **params)
            return out.reshape(x.shape[:2] + out.shape[1:]), 0
        return jax.vmap(functools.partial(reference, **params), dims)(*args), 0
    return batch


onednn_conv_p = core.Primitive("onednn_conv")
onednn_conv_p.def_abstract_eval(_abstract)
onednn_conv_p.def_impl(jax.jit(onednn_conv_p.bind, static_argnames=("strides", "pads", "dilation", "features")))
mlir.register_lowering(onednn_conv_p, _onednn_call("__onednn$convolution", _config), platform="cpu")
ad.defbilinear(onednn_conv_p, _transpose_x, _transpose_kernel)
batching.primitive_batchers[onednn_conv_p] = _batcher(onednn_conv_p, _lax_conv)


def pointwise(x, kernel, bias=None):
    """`x @ kernel` over `x`'s last axis (a 1x1 convolution as a matrix product), with its kernel
    gradient, a product contracted over all rows, on oneDNN, which computes that transposed
    product faster than XLA's own dot emitter (docs/performance.md). With a `bias`, the forward
    product is oneDNN's too, which adds the bias in the same call."""
    return pointwise_p.bind(x, kernel) if bias is None else _affine(x, kernel, bias, _Pointwise())


def _pointwise(x, kernel):
    return jnp.einsum("...i,io->...o", x, kernel)


def _pointwise_transpose_x(ct, x, kernel):
    return jnp.einsum("...o,io->...i", ct, kernel)


def _pointwise_transpose_kernel(ct, x, kernel):
    rows = (-1, x.aval.shape[-1])
    return rows_product_p.bind(x.reshape(rows), ct.reshape(-1, ct.shape[-1]))


def _rows_product(a, b):
    """`a.T @ b` for `(rows, i)` and `(rows, o)` operands."""
    return jnp.einsum("pi,po->io", a, b)


def _rows_product_batch(args, dims):
    return jax.vmap(_rows_product, dims)(*args), 0


pointwise_p = core.Primitive("onednn_pointwise")
pointwise_p.def_abstract_eval(lambda x, kernel: jax_core.ShapedArray(x.shape[:-1] + kernel.shape[-1:], x.dtype))
pointwise_p.def_impl(_pointwise)
mlir.register_lowering(pointwise_p, mlir.lower_fun(_pointwise, multiple_results=False))
ad.defbilinear(pointwise_p, _pointwise_transpose_x, _pointwise_transpose_kernel)
batching.primitive_batchers[pointwise_p] = _batcher(pointwise_p, _pointwise)

rows_product_p = core.Primitive("onednn_rows_product")  # a.T @ b, the kernel gradient of `pointwise`
rows_product_p.def_abstract_eval(lambda a, b: jax_core.ShapedArray(a.shape[-1:] + b.shape[-1:], a.dtype))
rows_product_p.def_impl(jax.jit(rows_product_p.bind))
mlir.register_lowering(rows_product_p, _onednn_call(
    "__onednn$matmul", lambda: {"onednn_matmul_config": {"transpose_a": True, "transpose_b": False}}), platform="cpu")
ad.defbilinear(rows_product_p, lambda ct, a, b: jnp.einsum("po,io->pi", b, ct),
               lambda ct, a, b: jnp.einsum("pi,io->po", a, ct))
batching.primitive_batchers[rows_product_p] = _rows_product_batch


def _with_bias(reference):
    """`reference(x, kernel) + bias`: the lax form of a biased primitive."""
    return lambda x, kernel, bias, **params: reference(x, kernel, **params) + bias


class _Conv(NamedTuple):
    """A `onednn_conv`'s settings, with its linear and its biased forms for `_affine`."""
    strides: tuple
    pads: tuple
    dilation: tuple
    features: str

    def linear(self, x, kernel):
        return onednn_conv_p.bind(x, kernel, **self._asdict())

    def biased(self, x, kernel, bias):
        return biased_conv_p.bind(x, kernel, bias, **self._asdict())


class _Pointwise(NamedTuple):
    """`pointwise`'s linear and biased forms for `_affine`: the latter on rows, with a `(1, out)` bias."""

    def linear(self, x, kernel):
        return pointwise_p.bind(x, kernel)

    def biased(self, x, kernel, bias):
        rows = biased_rows_p.bind(x.reshape(-1, x.shape[-1]), kernel, bias.reshape(1, -1))
        return rows.reshape(x.shape[:-1] + rows.shape[-1:])


@functools.partial(jax.custom_jvp, nondiff_argnums=(3,))
def _affine(x, kernel, bias, op):
    """`op.linear(x, kernel) + bias` as one oneDNN call (a post-op adds the bias, where XLA would
    read and write the output again). Its derivative is built from the linear primitive's, so
    reverse mode, higher orders and vmap work as they do there."""
    return op.biased(x, kernel, bias)


def _affine_jvp(op, primals, tangents):
    x, kernel, bias = primals
    dx, dkernel, dbias = (None if isinstance(t, SymbolicZero) else t for t in tangents)
    y = _affine(x, kernel, bias, op)
    dy = jnp.zeros_like(y)
    if dx is not None:
        dy = dy + op.linear(dx, kernel)
    if dkernel is not None:
        dy = dy + op.linear(x, dkernel)
    if dbias is not None:
        dy = dy + dbias
    return y, dy


_affine.defjvp(_affine_jvp, symbolic_zeros=True)


biased_conv_p = core.Primitive("onednn_conv_bias")    # onednn_conv + bias, the forward of `_affine`
biased_conv_p.def_abstract_eval(lambda x, kernel, bias, **params: _abstract(x, kernel, **params))
biased_conv_p.def_impl(jax.jit(biased_conv_p.bind, static_argnames=("strides", "pads", "dilation", "features")))
mlir.register_lowering(biased_conv_p, _onednn_call(
    "__onednn$convolution", lambda **params: _config(**params, fusions=("BIAS",))), platform="cpu")
batching.primitive_batchers[biased_conv_p] = _batcher(biased_conv_p, _with_bias(_lax_conv))

biased_rows_p = core.Primitive("onednn_rows_bias")    # rows @ kernel + bias, `pointwise`'s biased forward
biased_rows_p.def_abstract_eval(lambda a, w, bias: jax_core.ShapedArray(a.shape[:1] + w.shape[1:], a.dtype))
biased_rows_p.def_impl(jax.jit(biased_rows_p.bind))
mlir.register_lowering(biased_rows_p, _onednn_call("__onednn$matmul", lambda: {"onednn_matmul_config": {
    "transpose_a": False, "transpose_b": False, "fusions": {"ops": ["BIAS"]}}}), platform="cpu")
batching.primitive_batchers[biased_rows_p] = _batcher(biased_rows_p, _with_bias(jnp.matmul))

CONVOLUTIONS = (onednn_conv_p.name, biased_conv_p.name)   # the primitives here that are convolutions

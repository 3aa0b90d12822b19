"""1x1 convolutions whose kernel gradient is a matrix product.

XLA:CPU's convolution emitter computes the kernel gradient of a 1x1 convolution up to 2.5x
slower than the same contraction written as a dot, which XLA hands to YNNPACK
(docs/performance.md; ResNet50 is two-thirds 1x1 convolutions). The forward pass and the
input gradient stay XLA's convolution, bit for bit; only the kernel gradient's summation
order changes (relative differences of about 1e-6).
"""
import functools

import jax
import jax.numpy as jnp
from jax import lax


def applies(kernel_size, groups, data_format):
    """Whether a convolution of these settings is a channels-last 1x1 one this module computes."""
    return all(k == 1 for k in kernel_size) and groups == 1 and data_format == "channels_last"


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def conv(x, kernel, strides):
    """`lax.conv_general_dilated` of a channels-last `x` with a `(1,)*rank + (in, out)` kernel."""
    return _conv(x, kernel, strides)


def _conv(x, kernel, strides):
    rank = x.ndim - 2
    spatial = tuple(range(1, rank + 1))
    numbers = lax.ConvDimensionNumbers(lhs_spec=(0, rank + 1) + spatial,
                                       rhs_spec=(rank + 1, rank) + tuple(range(rank)),
                                       out_spec=(0, rank + 1) + spatial)
    return lax.conv_general_dilated(x, kernel, strides, "VALID", dimension_numbers=numbers)


def _sampled(x, strides):
    """The input positions a strided 1x1 convolution reads."""
    return x[(slice(None),) + tuple(slice(None, None, s) for s in strides)]


def _conv_jvp(strides, primals, tangents):
    x, kernel = primals
    dx, dkernel = tangents
    out = _conv(x, kernel, strides)
    tangent = jnp.zeros_like(out) if _is_zero(dx) else _conv(dx, kernel, strides)
    if not _is_zero(dkernel):
        # the kernel's tangent enters as a dot, so its transpose (the kernel gradient) is one too
        tangent = tangent + jnp.einsum("...i,io->...o", _sampled(x, strides), dkernel.reshape(dkernel.shape[-2:]),
                                       preferred_element_type=out.dtype)
    return out, tangent


def _is_zero(tangent):
    return isinstance(tangent, jax.custom_derivatives.SymbolicZero)


conv.defjvp(_conv_jvp, symbolic_zeros=True)

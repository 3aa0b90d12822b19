"""1x1 convolutions as matrix products.

A 1x1 convolution is a matrix product over the channels of the (strided) input positions. As
a dot, its forward pass, input gradient and kernel gradient all go to YNNPACK, and XLA
materializes the input once for both the forward pass and the kernel gradient (a convolution
wants the 4-D array, the dot a 2-D copy), with no transposed kernel for the input gradient.
XLA:CPU's convolution emitter computes the kernel gradient more slowly, and ResNet50's train
step (two-thirds 1x1 convolutions) is faster with all three as dots than with only the kernel
gradient (measured in docs/performance.md). Results equal `lax.conv_general_dilated`'s to
rounding.
"""
import jax.numpy as jnp

from jkeras.layers import onednn_conv


def applies(kernel_size, groups, data_format):
    """Whether a convolution of these settings is a channels-last 1x1 one this module computes."""
    return all(k == 1 for k in kernel_size) and groups == 1 and data_format == "channels_last"


def conv(x, kernel, strides, onednn=False, bias=None):
    """`lax.conv_general_dilated` of a channels-last `x` with a `(1,)*rank + (in, out)` kernel,
    plus `bias` where given. `onednn` (a training pass where `onednn_conv` applies) takes the
    kernel gradient, and the forward product with a bias, from oneDNN."""
    sampled = x[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    kernel = kernel.reshape(kernel.shape[-2:])
    if onednn:
        return onednn_conv.pointwise(sampled, kernel, bias)
    y = jnp.einsum("...i,io->...o", sampled, kernel)
    return y if bias is None else y + bias

"""Depthwise convolutions as shifted products: values and gradients against lax's grouped
convolution, for every padding, stride, dilation, depth multiplier and rank the layers use."""
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.layers import depthwise_conv


def _lax_depthwise(x, kernel, strides, padding, dilation):
    rank = x.ndim - 2
    spec = "NWC" if rank == 1 else "NHWC" if rank == 2 else "NDHWC"
    return jax.lax.conv_general_dilated(x, kernel, strides, padding.upper(), rhs_dilation=dilation,
                                        dimension_numbers=(spec, spec[1:-1] + "IO", spec),
                                        feature_group_count=x.shape[-1])


@pytest.mark.parametrize("shape, kernel_size, strides, padding, dilation, multiplier", [
    ((2, 9, 3), (3,), (1,), "same", (1,), 1),
    ((2, 9, 3), (5,), (2,), "valid", (1,), 2),
    ((2, 8, 7, 4), (3, 3), (1, 1), "same", (1, 1), 1),
    ((2, 8, 7, 4), (3, 3), (2, 2), "same", (1, 1), 1),
    ((2, 9, 9, 4), (5, 5), (2, 2), "valid", (1, 1), 3),
    ((2, 9, 9, 4), (3, 2), (1, 1), "same", (2, 2), 1),
    ((2, 5, 6, 4, 3), (3, 3, 2), (1, 2, 1), "same", (1, 1, 1), 2),
])
def test_values_and_gradients(shape, kernel_size, strides, padding, dilation, multiplier):
    rng = np.random.default_rng(0)
    channels = shape[-1]
    x = jnp.asarray(rng.normal(size=shape), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=kernel_size + (1, channels * multiplier)), jnp.float32)
    args = (strides, padding, dilation)
    np.testing.assert_allclose(depthwise_conv.conv(x, kernel, *args), _lax_depthwise(x, kernel, *args),
                               rtol=1e-5, atol=1e-5)
    loss = lambda conv: lambda x, k: jnp.sum(jnp.tanh(conv(x, k, *args)))  # noqa: E731
    grads = jax.grad(loss(depthwise_conv.conv), (0, 1))(x, kernel)
    expected = jax.grad(loss(_lax_depthwise), (0, 1))(x, kernel)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    tangent = jax.jvp(lambda k: loss(depthwise_conv.conv)(x, k), (kernel,), (kernel,))[1]
    np.testing.assert_allclose(tangent, jax.jvp(lambda k: loss(_lax_depthwise)(x, k), (kernel,), (kernel,))[1],
                               rtol=1e-4)


def test_half_precision_sums_in_float32():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 6, 3)).astype(np.float16)
    kernel = rng.normal(size=(3, 3, 1, 3)).astype(np.float16)
    got = depthwise_conv.conv(jnp.asarray(x), jnp.asarray(kernel), (1, 1), "same", (1, 1))
    assert got.dtype == jnp.float16
    reference = _lax_depthwise(jnp.asarray(x, jnp.float32), jnp.asarray(kernel, jnp.float32), (1, 1), "same", (1, 1))
    # summed in float32 and rounded once: the float32 result rounded to float16 (summing in
    # float16 is off by up to 4e-3 here)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(reference).astype(np.float16))


def test_layers_take_it_only_where_it_applies():
    assert depthwise_conv.applies((3, 3, 1, 8), 8, 8, "channels_last")
    assert not depthwise_conv.applies((3, 3, 2, 8), 4, 8, "channels_last")      # two channels per group
    assert not depthwise_conv.applies((3, 3, 1, 8), 8, 8, "channels_first")
    assert not depthwise_conv.applies((3, 3, 8, 8), 1, 8, "channels_last")
    x = np.random.default_rng(2).normal(size=(2, 7, 7, 3)).astype("float32")
    for layer in (jkeras.layers.DepthwiseConv2D(3, depth_multiplier=2, strides=2, padding="same"),
                  jkeras.layers.Conv2D(6, 3, groups=3, padding="same")):
        model = jkeras.Sequential([jkeras.Input((7, 7, 3)), layer])
        kernel, bias = layer.get_weights()
        grouped = kernel.reshape(3, 3, 1, 6)      # depthwise (3, 3, 3, 2) as Keras groups it
        expected = _lax_depthwise(jnp.asarray(x), jnp.asarray(grouped), layer.strides, layer.padding,
                                  layer.dilation_rate) + bias
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strides, padding, dilation", [((1, 1), "same", (1, 1)), ((2, 2), "valid", (1, 1)),
                                                        ((1, 1), "same", (2, 2))])
def test_second_order_and_vmap(strides, padding, dilation):
    """The two primitives' rules compose: Hessian-vector products (forward over reverse, and
    reverse over reverse) and vmap over the input, the kernel or both, against lax."""
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(2, 8, 7, 4)), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(3, 3, 1, 8)), jnp.float32)
    args = (strides, padding, dilation)
    loss = lambda conv: lambda x, k: jnp.sum(jnp.tanh(conv(x, k, *args)))  # noqa: E731
    checks = {
        "hvp kernel": lambda conv: jax.jvp(jax.grad(loss(conv), 1), (x, kernel), (x, kernel))[1],
        "hvp input": lambda conv: jax.jvp(jax.grad(loss(conv), 0), (x, kernel), (x, kernel))[1],
        "reverse over reverse": lambda conv: jax.grad(
            lambda k: jnp.sum(jax.grad(loss(conv), 0)(x, k) ** 2))(kernel),
        "vmap input": lambda conv: jax.vmap(lambda xi: conv(xi[None], kernel, *args))(x),
        "grad of vmap kernel": lambda conv: jax.grad(lambda ks: jnp.sum(jnp.sin(
            jax.vmap(lambda k: conv(x, k, *args))(ks))))(jnp.stack([kernel, 2 * kernel])),
        "vmap of grad": lambda conv: jax.vmap(lambda xi: jax.grad(loss(conv), 1)(xi[None], kernel))(x),
    }
    for name, check in checks.items():
        got, want = check(depthwise_conv.conv), check(_lax_depthwise)
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5 * float(jnp.max(jnp.abs(want))),
                                   err_msg=name)


def test_kernel_gradient_is_one_reduction_of_all_taps():
    """The kernel gradient binds `taps_kernel_grad` (all taps reduced together), not one
    reduction per tap, which XLA:CPU would materialize a product for."""
    x = jnp.ones((2, 6, 6, 3))
    kernel = jnp.ones((3, 3, 1, 3))
    grad = jax.grad(lambda k: jnp.sum(depthwise_conv.conv(x, k, (1, 1), "same", (1, 1)) ** 2))
    primitives = [str(eqn.primitive) for eqn in jax.make_jaxpr(grad)(kernel).eqns]
    assert "depthwise_taps_kernel_grad" in primitives
    hlo = jax.jit(grad).lower(kernel).as_text()
    assert re.search(r"%\d+:9 = stablehlo.reduce", hlo)       # the nine taps' products, one reduction

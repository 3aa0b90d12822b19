"""1x1 convolutions as dots: values and both gradients against lax's own convolution and a
numpy contraction, forward mode and second order."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.layers import pointwise_conv


def _lax_conv(x, kernel, strides):
    rank = x.ndim - 2
    spec = "NWC" if rank == 1 else "NHWC" if rank == 2 else "NDHWC"
    return jax.lax.conv_general_dilated(x, kernel, strides, "VALID",
                                        dimension_numbers=(spec, spec[1:-1] + "IO", spec))


@pytest.mark.parametrize("shape, strides", [((3, 9, 5), (1,)), ((2, 7, 6, 5), (1, 1)), ((2, 7, 6, 5), (2, 2)),
                                            ((2, 4, 5, 3, 5), (1, 2, 1))])
def test_values_and_gradients(shape, strides):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=shape), jnp.float32)
    kernel = jnp.asarray(rng.normal(size=(1,) * (len(shape) - 2) + (5, 4)), jnp.float32)
    np.testing.assert_allclose(pointwise_conv.conv(x, kernel, strides), _lax_conv(x, kernel, strides),
                               rtol=2e-6, atol=1e-6)
    loss = lambda conv: lambda x, k: jnp.sum(jnp.tanh(conv(x, k, strides)))  # noqa: E731
    (dx, dk), (dx_ref, dk_ref) = jax.grad(loss(pointwise_conv.conv), (0, 1))(x, kernel), \
        jax.grad(loss(_lax_conv), (0, 1))(x, kernel)
    np.testing.assert_allclose(dx, dx_ref, rtol=2e-6, atol=1e-6)
    np.testing.assert_allclose(dk, dk_ref, rtol=2e-6, atol=1e-6)
    # the kernel gradient is the contraction of the sampled inputs with the output gradient
    out_grad = 1 - np.tanh(np.asarray(_lax_conv(x, kernel, strides))) ** 2
    sampled = np.asarray(x)[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    expected = sampled.reshape(-1, 5).astype(np.float64).T @ out_grad.reshape(-1, 4).astype(np.float64)
    np.testing.assert_allclose(np.asarray(dk).reshape(5, 4), expected, rtol=2e-5, atol=1e-5)
    # forward mode and second order work
    tangent = jax.jvp(lambda k: loss(pointwise_conv.conv)(x, k), (kernel,), (kernel,))[1]
    np.testing.assert_allclose(tangent, jax.jvp(lambda k: loss(_lax_conv)(x, k), (kernel,), (kernel,))[1], rtol=1e-5)
    hessian_vector = jax.grad(lambda k: jnp.vdot(jax.grad(loss(pointwise_conv.conv), 1)(x, k), kernel))(kernel)
    hessian_vector_ref = jax.grad(lambda k: jnp.vdot(jax.grad(loss(_lax_conv), 1)(x, k), kernel))(kernel)
    np.testing.assert_allclose(hessian_vector, hessian_vector_ref, rtol=1e-4, atol=1e-5)


def test_conv_layers_take_it_only_where_it_applies():
    assert pointwise_conv.applies((1, 1), 1, "channels_last")
    assert not pointwise_conv.applies((3, 1), 1, "channels_last")
    assert not pointwise_conv.applies((1, 1), 2, "channels_last")
    assert not pointwise_conv.applies((1, 1), 1, "channels_first")
    layer = jkeras.layers.Conv2D(4, 1, strides=2, padding="same", input_shape=(7, 7, 3))
    model = jkeras.Sequential([layer])
    x = np.random.default_rng(1).normal(size=(2, 7, 7, 3)).astype("float32")
    kernel, bias = layer.get_weights()
    expected = np.einsum("bhwi,io->bhwo", x[:, ::2, ::2], kernel[0, 0]) + bias
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)

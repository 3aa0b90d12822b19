"""Max pooling's training gradient (strided slices and pads, not select-and-scatter) is
bit-for-bit the gradient jax gives `lax.reduce_window`, ties and padding included."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jkeras import layers


def _reference(layer):
    """jax's own max-pool gradient: `reduce_window`, differentiated by select-and-scatter."""
    cl = layer.data_format == "channels_last"
    dims = (1,) + layer.pool_size + (1,) if cl else (1, 1) + layer.pool_size
    steps = (1,) + layer.strides + (1,) if cl else (1, 1) + layer.strides
    return lambda x: lax.reduce_window(x, -jnp.inf, lax.max, dims, steps, layer.padding.upper())


@pytest.mark.parametrize("make, shape", [
    (lambda: layers.MaxPooling2D(3, strides=2), (2, 9, 9, 3)),                      # ResNet's stem pool
    (lambda: layers.MaxPooling2D(3, strides=2, padding="same"), (2, 8, 7, 3)),
    (lambda: layers.MaxPooling2D(2, strides=1, padding="same"), (2, 6, 6, 2)),
    (lambda: layers.MaxPooling2D((3, 2), strides=(1, 2), data_format="channels_first"), (2, 3, 8, 8)),
    (lambda: layers.MaxPooling1D(3, strides=2, padding="same"), (2, 11, 4)),
    (lambda: layers.MaxPooling3D((2, 3, 2), strides=(1, 2, 1), padding="same"), (1, 5, 5, 5, 2)),
])
def test_overlapping_max_pool_gradient_is_select_and_scatters(make, shape):
    layer = make()
    params, state = layer.init(jax.random.key(0), shape)

    def with_grad(fn):
        return jax.jit(lambda x, g: (lambda y, back: (y, back(g)[0]))(*jax.vjp(fn, x)))

    ours = with_grad(lambda x: layer.apply(params, state, x, training=True)[0])
    ref = with_grad(_reference(layer))
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(jax.eval_shape(_reference(layer), x).shape).astype(np.float32)
    for x in (x, np.maximum(np.round(x), 0)):        # the second with many equal maxima, as after ReLU
        y, dx = ours(x, g)
        y_ref, dx_ref = ref(x, g)
        np.testing.assert_array_equal(y, y_ref)
        np.testing.assert_array_equal(dx, dx_ref)

"""Fixes found by running Keras 2.3.1's example scripts (scripts/run_keras2_examples.py) on jkeras:
graph-building code that Keras 2 runs on symbolic tensors, checked against numpy."""
import numpy as np

import jkeras
from jkeras import backend as K
from jkeras.losses import binary_crossentropy, mse


def test_shape_of_a_tensor_with_unknown_dims_is_known_at_run_time():
    # deep_dream.py: `scaling = K.prod(K.cast(K.shape(x), 'float32'))` on a layer output of shape
    # (None, None, None, C); Keras 2 gives tf.shape(x), the sizes of the array fed at run time.
    x = jkeras.layers.Input((None, 3))
    scaling = K.prod(K.cast(K.shape(x), "float32"))
    f = K.function([x], [scaling])
    assert f([np.ones((2, 5, 3), "float32")])[0] == 2 * 5 * 3
    assert f([np.ones((1, 7, 3), "float32")])[0] == 1 * 7 * 3
    assert K.shape(jkeras.layers.Input(batch_shape=(2, 3))) == (2, 3)


def test_loss_functions_on_symbolic_tensors_are_recorded():
    # variational_autoencoder.py: `K.mean(binary_crossentropy(inputs, outputs) + kl)` for add_loss.
    a = jkeras.layers.Input((4,))
    b = jkeras.layers.Dense(4, activation="sigmoid")(a)
    loss = K.mean(binary_crossentropy(a, b) + mse(a, b))
    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    value, p = K.function([a], [loss, b])([x])
    clipped = np.clip(p, 1e-7, 1 - 1e-7)
    bce = -np.mean(x * np.log(clipped) + (1 - x) * np.log(1 - clipped), axis=-1)
    np.testing.assert_allclose(value, np.mean(bce + np.mean((x - p) ** 2, axis=-1)), rtol=1e-5)
    assert mse(x, p).shape == (8,)

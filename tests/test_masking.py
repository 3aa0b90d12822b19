"""Masks through models and into losses, compared with Keras 3 (KERAS_BACKEND=jax)."""
import os

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")
import keras  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers  # noqa: E402

IDS = np.array([[3, 7, 2, 0, 0], [1, 2, 3, 4, 0]])
Y = np.zeros((2, 5, 1), "float32")
Y[0, 0], Y[0, 3:], Y[1, 4] = 1.0, 100.0, 100.0      # large targets on the padded steps only


def _pair():
    def build(L, Model):
        inp = L.Input((5,), dtype="int32")
        return Model(inp, L.TimeDistributed(L.Dense(1))(L.Embedding(10, 4, mask_zero=True)(inp)))
    ours, theirs = build(layers, jkeras.Model), build(keras.layers, keras.Model)
    theirs.set_weights(ours.get_weights())
    for model in (ours, theirs):
        model.compile("sgd", "mse")
    return ours, theirs


def test_losses_skip_masked_timesteps_as_keras_does():
    ours, theirs = _pair()
    assert ours.evaluate(IDS, Y, verbose=0) < 1.0          # the padded steps' targets do not count
    np.testing.assert_allclose(ours.evaluate(IDS, Y, verbose=0), theirs.evaluate(IDS, Y, verbose=0),
                               rtol=1e-6)
    weights = np.array([[1.0, 2, 3, 4, 5], [1, 1, 1, 1, 1]], "float32")
    np.testing.assert_allclose(ours.evaluate(IDS, Y, sample_weight=weights, verbose=0),
                               theirs.evaluate(IDS, Y, sample_weight=weights, verbose=0), rtol=1e-6)
    h_ours = ours.fit(IDS, Y, epochs=3, shuffle=False, verbose=0).history["loss"]
    h_theirs = theirs.fit(IDS, Y, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-7)


def test_dense_keeps_the_mask_and_dot_drops_it_as_keras():
    inp = layers.Input((None,), dtype="int32")
    emb = layers.Embedding(10, 4, mask_zero=True)(inp)
    assert layers.Dense(3).supports_masking and layers.Dense(3)(emb)._keras_mask is not None
    assert layers.Dot(axes=2).supports_masking and layers.Dot(axes=2)([emb, emb])._keras_mask is None


class _Scale(layers.Layer):
    """A Keras-style layer whose `call` takes no `mask`."""

    def build(self, input_shape):
        self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * self.scale


def test_a_layer_whose_call_takes_no_mask_gets_none_and_drops_the_mask():
    inp = layers.Input((5,), dtype="int32")
    scaled = _Scale()(layers.Embedding(10, 4, mask_zero=True)(inp))
    assert scaled._keras_mask is None                      # Keras 3: the mask is destroyed here
    out = jkeras.Model(inp, layers.LSTM(3)(scaled)).predict(IDS)
    assert out.shape == (2, 3) and np.isfinite(out).all()

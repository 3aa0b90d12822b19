import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras.layers import normalization as N
from jkeras.layers.core import Input

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def build_pair(name, kwargs, shape):
    """jkeras and Keras 3 layers `name` built on symbolic inputs, with Keras's random weights copied over."""
    init = dict(beta_initializer="random_normal", gamma_initializer="random_uniform")
    if name == "BatchNormalization":
        init.update(moving_mean_initializer="random_normal", moving_variance_initializer="random_uniform")
    theirs = getattr(keras.layers, name)(**init, **kwargs)
    ours = getattr(N, name)(**kwargs)
    symbolic = ours(Input(batch_shape=(None,) + shape[1:]))
    assert symbolic.shape == tuple(theirs(keras.Input(batch_shape=(None,) + shape[1:])).shape)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def check_config(ours, theirs):
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    if not theirs_config.get("rms_scaling", True):  # written only when set: tf.keras lacks the key
        del theirs_config["rms_scaling"]
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype", "axis", "beta_initializer", "gamma_initializer",
                                     "moving_mean_initializer", "moving_variance_initializer"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (8, 5)),
    (dict(axis=1, momentum=0.9, epsilon=1e-2), (6, 3, 4, 2)),
    (dict(center=False), (6, 4, 3)),
    (dict(scale=False, axis=-2), (6, 4, 3)),
])
def test_batch_normalization_matches_keras(kwargs, shape):
    ours, theirs = build_pair("BatchNormalization", kwargs, shape)
    x = (RNG.normal(size=shape) * 3 + 1).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    # training: batch statistics out, moving statistics updated once
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), np.asarray(theirs(x, training=True)),
                               rtol=1e-5, atol=1e-5)
    for w_ours, w_theirs in zip(ours.weights, theirs.weights):
        np.testing.assert_allclose(w_ours.numpy(), np.asarray(w_theirs), rtol=1e-5, atol=1e-6,
                                   err_msg=w_ours.name)
    check_config(ours, theirs)


def test_batch_normalization_pure_update_is_keras_formula():
    layer = N.BatchNormalization(momentum=0.8)
    layer(Input(shape=(3,)))
    params, state = layer._own_tree(True), layer._own_tree(False)
    x = jnp.asarray(RNG.normal(size=(10, 3)).astype("float32"))
    _, new_state = jax.jit(lambda p, s, x: layer.apply(p, s, x, training=True))(params, state, x)
    np.testing.assert_allclose(new_state["moving_mean"], 0.2 * np.mean(x, 0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(new_state["moving_variance"], 0.8 + 0.2 * np.var(x, 0), rtol=1e-5)
    _, kept = layer.apply(params, state, x, training=False)
    assert kept is state


def test_frozen_batch_normalization_uses_moving_statistics():
    ours, theirs = build_pair("BatchNormalization", {}, (5, 4))
    ours.trainable = theirs.trainable = False
    x = RNG.normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x, training=True)), np.asarray(theirs(x, training=True)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.weights[2].numpy(), np.asarray(theirs.weights[2]))


def test_batch_normalization_masked_moments_match_keras():
    ours, theirs = build_pair("BatchNormalization", {}, (3, 5, 4))
    x = RNG.normal(size=(3, 5, 4)).astype("float32")
    mask = RNG.random((3, 5)) > 0.3
    np.testing.assert_allclose(np.asarray(ours(x, training=True, mask=mask)),
                               np.asarray(theirs(x, training=True, mask=mask)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.weights[3].numpy(), np.asarray(theirs.weights[3]), rtol=1e-5)


def test_batch_normalization_errors_and_keras2_config():
    layer = N.BatchNormalization(axis=[3], fused=True)
    assert layer.axis == 3
    with pytest.raises(ValueError, match="axis"):
        N.BatchNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match="renorm"):
        N.BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="known dim"):
        N.BatchNormalization()(Input(shape=(3, None)))
    built = N.BatchNormalization()
    built(Input(shape=(4,)))
    with pytest.raises(ValueError, match="features"):
        built(np.zeros((2, 5), "float32"))


@pytest.mark.parametrize("kwargs, shape", [
    ({}, (4, 6)),
    (dict(axis=1, epsilon=1e-5), (4, 3, 5)),
    (dict(axis=[1, 2]), (4, 3, 5)),
    (dict(axis=[-1, 1], center=False), (2, 3, 4, 5)),
    (dict(scale=False), (4, 3, 5)),
])
def test_layer_normalization_matches_keras(kwargs, shape):
    ours, theirs = build_pair("LayerNormalization", kwargs, shape)
    x = (RNG.normal(size=shape) * 2 - 1).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    check_config(ours, theirs)


def test_layer_normalization_rms_scaling_matches_keras():
    with pytest.warns(UserWarning):
        ours, theirs = build_pair("LayerNormalization", dict(rms_scaling=True), (4, 6))
    x = RNG.normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_layer_normalization_errors():
    with pytest.raises(TypeError):
        N.LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="out of bounds"):
        N.LayerNormalization(axis=3)(Input(shape=(4,)))
    layer = N.LayerNormalization()
    layer(Input(shape=(4,)))
    with pytest.raises(ValueError, match="gamma"):
        layer(np.zeros((2, 5), "float32"))


def test_half_precision_inputs_are_normalized_in_float32():
    layer = N.LayerNormalization()
    x = jnp.asarray(RNG.normal(size=(3, 8)) * 100, jnp.float16)
    y = layer(x)
    assert y.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(y).mean(-1), 0.0, atol=1e-3)

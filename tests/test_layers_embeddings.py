import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras.layers.core import Dense, Input
from jkeras.layers.embeddings import Embedding, Masking
from jkeras.layers.normalization import BatchNormalization
from jkeras.layers.regularization import Dropout
from jkeras.layers.wrappers import TimeDistributed

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def check_config(ours, theirs):
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config) - {"quantization_config"}
    for key in set(ours_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("kwargs, shape", [
    (dict(input_dim=10, output_dim=4), (3, 5)),
    (dict(input_dim=7, output_dim=3, mask_zero=True), (2, 4, 3)),
])
def test_embedding_matches_keras(kwargs, shape):
    ids = RNG.integers(0, kwargs["input_dim"], size=shape).astype("int32")
    ours, theirs = Embedding(**kwargs), keras.layers.Embedding(**kwargs)
    symbolic = ours(Input(batch_shape=(None,) + shape[1:], dtype="int32"))
    assert symbolic.shape == tuple(theirs(keras.Input(batch_shape=(None,) + shape[1:], dtype="int32")).shape)
    assert [w.path for w in ours.weights] == ["embedding/embeddings"]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(ids)), np.asarray(theirs(ids)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(ids.astype("float32"))), np.asarray(theirs(ids)), rtol=1e-6)
    check_config(ours, theirs)
    if kwargs.get("mask_zero"):
        np.testing.assert_array_equal(np.asarray(ours.compute_mask(ids)), ids != 0)
        assert symbolic._keras_mask.shape == (None,) + shape[1:]
    else:
        assert ours.compute_mask(ids) is None


def test_embedding_keras2_arguments_and_errors():
    matrix = RNG.normal(size=(5, 2)).astype("float32")
    layer = Embedding(5, 2, input_length=3, weights=[matrix])
    layer(Input(shape=(3,), dtype="int32"))
    np.testing.assert_array_equal(layer.get_weights()[0], matrix)
    assert layer.get_config()["input_length"] == 3
    with pytest.raises(ValueError, match="shape"):
        Embedding(5, 3, weights=[matrix])(Input(shape=(3,)))
    for bad in (dict(input_dim=0, output_dim=2), dict(input_dim=3, output_dim=2.5)):
        with pytest.raises(ValueError):
            Embedding(**bad)


def test_embedding_uniform_initializer_range():
    layer = Embedding(100, 8)
    layer(Input(shape=(2,)))
    w = layer.get_weights()[0]
    assert -0.05 <= w.min() and w.max() <= 0.05 and w.std() > 0.02


def test_masking_matches_keras():
    x = RNG.normal(size=(2, 5, 3)).astype("float32")
    x[0, 1] = 0.0
    x[1, 3:] = 0.0
    x[1, 0, 0] = 0.0
    ours, theirs = Masking(), keras.layers.Masking()
    symbolic = ours(Input(shape=(5, 3)))
    assert symbolic.shape == (None, 5, 3) and symbolic._keras_mask.shape == (None, 5)
    np.testing.assert_array_equal(np.asarray(ours(x)), np.asarray(theirs(x)))
    np.testing.assert_array_equal(np.asarray(ours.compute_mask(x)), np.asarray(theirs.compute_mask(x)))
    check_config(ours, theirs)
    masked = Masking(mask_value=1.0)(np.array([[[1.0, 1.0], [1.0, 2.0]]], "float32"))
    np.testing.assert_array_equal(np.asarray(masked), [[[0.0, 0.0], [1.0, 2.0]]])


def test_time_distributed_dense_matches_keras():
    x = RNG.normal(size=(2, 4, 5)).astype("float32")
    ours, theirs = TimeDistributed(Dense(3)), keras.layers.TimeDistributed(keras.layers.Dense(3))
    assert ours(Input(shape=(4, 5))).shape == tuple(theirs(keras.Input(shape=(4, 5))).shape)
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights] == ["kernel", "bias"]
    assert ours.layer.built
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    config = ours.get_config()
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 3
    assert set(config) == set(theirs.get_config())
    restored = TimeDistributed.from_config(config)
    assert isinstance(restored.layer, Dense) and restored.layer.units == 3
    keras_style = {"class_name": "TimeDistributed",
                   "config": {"name": "td", "trainable": True, "layer": {"class_name": "Dense",
                                                                         "config": {"units": 2}}}}
    assert TimeDistributed.from_config(keras_style["config"]).layer.units == 2


def test_time_distributed_params_nest_and_state_updates():
    layer = TimeDistributed(BatchNormalization(momentum=0.5))
    layer(Input(shape=(3, 2)))
    inner = layer.layer.name
    params, state = layer._own_tree(True), layer._own_tree(False)
    assert set(params) == {inner} and set(state[inner]) == {"moving_mean", "moving_variance"}
    assert [w.name for w in layer.weights] == ["gamma", "beta", "moving_mean", "moving_variance"]
    x = jnp.asarray(RNG.normal(size=(4, 3, 2)).astype("float32"))
    y, new_state = jax.jit(lambda p, s, x: layer.apply(p, s, x, training=True))(params, state, x)
    assert y.shape == (4, 3, 2)
    np.testing.assert_allclose(new_state[inner]["moving_mean"], 0.5 * x.reshape(12, 2).mean(0), rtol=1e-5)


def test_time_distributed_passes_key_and_checks_rank():
    layer = TimeDistributed(Dropout(0.5))
    y, _ = layer.apply({}, {}, jnp.ones((2, 3, 100)), training=True, key=jax.random.key(0))
    assert 0.3 < float((y == 0).mean()) < 0.7
    with pytest.raises(ValueError, match="at least 3"):
        TimeDistributed(Dense(2))(Input(shape=(4,)))
    with pytest.raises(ValueError, match="Layer"):
        TimeDistributed("dense")


def test_time_distributed_shares_a_built_layer():
    dense = Dense(2)
    dense(Input(shape=(5,)))
    before = dense.get_weights()
    wrapped = TimeDistributed(dense)
    wrapped(Input(shape=(3, 5)))
    for a, b in zip(before, wrapped.get_weights()):
        np.testing.assert_array_equal(a, b)

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from jkeras.layers import merge as M
from jkeras.layers.core import Input

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def check_against_keras(name, kwargs, shapes):
    """Shape inference, numerics and config of merge layer `name` against Keras 3."""
    xs = [RNG.normal(size=s).astype("float32") for s in shapes]
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(M, name)(**kwargs)
    symbolic = ours([Input(batch_shape=(None,) + s[1:]) for s in shapes])
    assert symbolic.shape == tuple(theirs([keras.Input(batch_shape=(None,) + s[1:]) for s in shapes]).shape)
    np.testing.assert_allclose(np.asarray(ours(xs)), np.asarray(theirs(xs)), rtol=1e-5, atol=1e-5)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"])
@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(2, 3, 4), (2, 1, 4)], [(2, 3, 4), (2, 4)]])
def test_elementwise_merges_match_keras(name, shapes):
    check_against_keras(name, {}, shapes)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_elementwise_merges_of_three(name):
    check_against_keras(name, {}, [(2, 5), (2, 5), (2, 5)])


@pytest.mark.parametrize("kwargs, shapes", [
    ({}, [(2, 3, 4), (2, 3, 5)]),
    (dict(axis=1), [(2, 3, 4), (2, 1, 4), (2, 2, 4)]),
    (dict(axis=-2), [(2, 3, 4), (2, 2, 4)]),
])
def test_concatenate_matches_keras(kwargs, shapes):
    check_against_keras("Concatenate", kwargs, shapes)


@pytest.mark.parametrize("kwargs, shapes", [
    (dict(axes=1), [(3, 4), (3, 4)]),
    (dict(axes=-1, normalize=True), [(3, 4), (3, 4)]),
    (dict(axes=(1, 2)), [(2, 3, 5), (2, 4, 3)]),
    (dict(axes=[2, 1]), [(2, 3, 5), (2, 5, 6)]),
    (dict(axes=1), [(2, 4), (2, 4, 3)]),
    (dict(axes=2, normalize=True), [(2, 3, 4), (2, 5, 4)]),
])
def test_dot_matches_keras(kwargs, shapes):
    check_against_keras("Dot", kwargs, shapes)


def test_functional_forms():
    a, b = Input(shape=(3,)), Input(shape=(3,))
    for fn, cls in [(M.add, M.Add), (M.subtract, M.Subtract), (M.multiply, M.Multiply),
                    (M.average, M.Average), (M.maximum, M.Maximum), (M.minimum, M.Minimum),
                    (M.concatenate, M.Concatenate), (M.dot, M.Dot)]:
        out = fn([a, b], name=f"f_{cls.__name__.lower()}")
        layer = out._keras_history[0]
        assert isinstance(layer, cls) and layer.name == f"f_{cls.__name__.lower()}"
    assert M.concatenate([a, b], axis=1).shape == (None, 6)
    assert M.dot([a, b], axes=1, normalize=True).shape == (None, 1)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(M.add([x, x])), 2.0)


@pytest.mark.parametrize("layer, shapes, match", [
    (M.Add(), [(3,), (4,)], "incompatible shapes"),
    (M.Maximum(), [(2, 3), (3, 3)], "incompatible shapes"),
    (M.Subtract(), [(3,), (3,), (3,)], "exactly 2"),
    (M.Concatenate(), [(3, 4), (2, 5)], "matching shapes"),
    (M.Concatenate(), [(3, 4), (4,)], "matching shapes"),
    (M.Dot(axes=1), [(3,), (4,)], "Incompatible input shapes"),
    (M.Dot(axes=1), [(3,), (3,), (3,)], "2 inputs"),
])
def test_wrong_symbolic_inputs_raise(layer, shapes, match):
    with pytest.raises(ValueError, match=match):
        layer([Input(shape=s) for s in shapes])


def test_wrong_eager_inputs_raise():
    with pytest.raises(ValueError, match="incompatible shapes"):
        M.Add()([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(ValueError, match="different batch sizes"):
        M.Add()([np.ones((2, 3)), np.ones((3, 3))])
    with pytest.raises(ValueError, match="list of inputs"):
        M.Add()(np.ones((2, 3)))
    with pytest.raises(ValueError, match="batch_dot"):
        M.Dot(axes=0)([np.ones((2, 3)), np.ones((2, 3))])


def test_dot_validates_axes():
    with pytest.raises(TypeError):
        M.Dot(axes="1")
    with pytest.raises(ValueError):
        M.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError):
        M.Dot(axes=(1, 1.0))


def test_masks_are_ored_and_concatenated_like_keras():
    x = np.ones((2, 3, 4), "float32")
    m1 = np.array([[1, 0, 0], [1, 1, 0]], bool)
    m2 = np.array([[0, 0, 1], [1, 0, 0]], bool)
    np.testing.assert_array_equal(np.asarray(M.Add().compute_mask([x, x], [m1, m2])),
                                  np.asarray(keras.layers.Add().compute_mask([x, x], [m1, m2])))
    assert M.Add().compute_mask([x, x], [m1, None]) is None
    for axis in (1, -1):
        ours = M.Concatenate(axis=axis).compute_mask([x, x], [m1, None])
        theirs = keras.layers.Concatenate(axis=axis).compute_mask([x, x], [m1, None])
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    assert M.Dot(axes=2).compute_mask([x, x], [m1, m2]) is None

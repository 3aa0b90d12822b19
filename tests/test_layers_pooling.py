import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras.layers import pooling as P
from jkeras.layers.core import Input

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def check_against_keras(name, kwargs, shape, **call_kwargs):
    """Shape inference, numerics and config of jkeras `name` against Keras 3."""
    x = RNG.normal(size=shape).astype("float32")
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(P, name)(**kwargs)
    symbolic = ours(Input(batch_shape=(None,) + shape[1:]))
    assert symbolic.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    assert ours.weights == []
    np.testing.assert_allclose(np.asarray(ours(x, **call_kwargs)), np.asarray(theirs(x, **call_kwargs)),
                               rtol=1e-5, atol=1e-5)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("name, kwargs, shape", [
    ("MaxPooling1D", {}, (2, 7, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 8, 3)),
    ("MaxPooling1D", dict(pool_size=2, data_format="channels_first"), (2, 3, 7)),
    ("AveragePooling1D", dict(pool_size=3, strides=1), (2, 7, 3)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same", data_format="channels_first"),
     (2, 3, 8)),
    ("MaxPooling2D", {}, (2, 7, 6, 3)),
    ("MaxPooling2D", dict(pool_size=(3, 2), strides=(1, 2), padding="same"), (2, 7, 6, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, data_format="channels_first"), (2, 3, 7, 6)),
    ("AveragePooling2D", dict(pool_size=2), (2, 7, 6, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 6, 3)),
    ("AveragePooling2D", dict(pool_size=(3, 2), padding="same", data_format="channels_first"),
     (2, 3, 7, 5)),
    ("MaxPooling3D", dict(padding="same"), (1, 5, 4, 3, 2)),
    ("AveragePooling3D", dict(pool_size=2, strides=1), (1, 4, 4, 3, 2)),
    ("AveragePooling3D", dict(pool_size=(3, 2, 2), padding="same", data_format="channels_first"),
     (1, 2, 5, 4, 3)),
    ("GlobalMaxPooling1D", {}, (2, 7, 3)),
    ("GlobalAveragePooling1D", dict(keepdims=True, data_format="channels_first"), (2, 3, 7)),
    ("GlobalMaxPooling2D", dict(keepdims=True), (2, 5, 4, 3)),
    ("GlobalAveragePooling2D", dict(data_format="channels_first"), (2, 3, 5, 4)),
    ("GlobalMaxPooling3D", dict(data_format="channels_first"), (1, 2, 4, 3, 2)),
    ("GlobalAveragePooling3D", dict(keepdims=True), (1, 4, 3, 2, 2)),
])
def test_matches_keras(name, kwargs, shape):
    check_against_keras(name, kwargs, shape)


@pytest.mark.parametrize("data_format, shape", [("channels_last", (2, 5, 3)),
                                                ("channels_first", (2, 3, 5))])
def test_global_average_pooling_1d_mask_matches_keras(data_format, shape):
    mask = np.array([[1, 1, 0, 1, 0], [1, 0, 0, 0, 0]], bool)
    check_against_keras("GlobalAveragePooling1D", dict(data_format=data_format), shape, mask=mask)


def test_same_average_pooling_excludes_padding():
    x = np.ones((1, 3, 3, 1), "float32")
    y = P.AveragePooling2D(pool_size=2, strides=1, padding="same")(x)
    np.testing.assert_allclose(np.asarray(y), 1.0)


def test_aliases_and_defaults():
    assert P.MaxPool1D is P.MaxPooling1D and P.MaxPool2D is P.MaxPooling2D and P.MaxPool3D is P.MaxPooling3D
    assert P.AvgPool2D is P.AveragePooling2D and P.GlobalAvgPool2D is P.GlobalAveragePooling2D
    assert P.GlobalMaxPool3D is P.GlobalMaxPooling3D
    layer = P.MaxPooling2D(pool_size=3)
    assert layer.strides == (3, 3) and layer.padding == "valid"
    assert P.MaxPooling2D(padding="SAME").padding == "same"
    assert layer.name.startswith("max_pooling2d")


def test_eager_and_jit():
    layer = P.AveragePooling2D(pool_size=2, padding="same")
    x = RNG.normal(size=(2, 5, 5, 3)).astype("float32")
    y = layer(x)
    assert y.shape == (2, 3, 3, 3)
    jitted, _ = jax.jit(layer.apply)({}, {}, x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(y), rtol=1e-6)
    assert P.MaxPooling1D()(np.arange(8).reshape(1, 4, 2)).tolist() == [[[2, 3], [6, 7]]]


def test_unknown_dims_stay_unknown():
    assert P.MaxPooling2D()(Input(shape=(None, 8, 3))).shape == (None, None, 4, 3)
    assert P.GlobalAveragePooling2D()(Input(shape=(None, None, 3))).shape == (None, 3)


@pytest.mark.parametrize("layer, input_shape", [
    (P.MaxPooling2D(), (5, 5)),
    (P.AveragePooling1D(), (5, 5, 5)),
    (P.MaxPooling3D(), (4, 4, 4)),
    (P.GlobalAveragePooling2D(), (5, 3)),
    (P.GlobalMaxPooling1D(), (5, 5, 3)),
])
def test_wrong_rank_raises(layer, input_shape):
    with pytest.raises(ValueError, match="rank"):
        layer(Input(shape=input_shape))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="padding"):
        P.MaxPooling2D(padding="causal")
    with pytest.raises(ValueError, match="pool_size"):
        P.AveragePooling2D(pool_size=(2, 2, 2))
    with pytest.raises(ValueError, match="zero or negative"):
        P.MaxPooling2D(pool_size=4)(Input(shape=(3, 8, 1)))


@pytest.mark.parametrize("shape,dims", [((2, 9, 7, 3), (1, 2, 2, 1)), ((2, 3, 8, 6), (1, 1, 2, 3)),
                                        ((4, 10, 5), (1, 3, 1)), ((1, 4, 4, 4, 2), (1, 2, 2, 2, 1))])
def test_tiled_max_pool_equals_reduce_window_bitwise_with_ties(shape, dims):
    """The fast non-overlapping max pool: same values and same gradients (first max of a tie)."""
    import jax
    import jax.numpy as jnp
    from jax import lax
    from jkeras.layers.pooling import _tiled_max
    rng = np.random.default_rng(0)
    x = jnp.asarray(np.maximum(rng.normal(size=shape), 0).astype("float32"))  # ReLU-like: many ties
    reference = lambda v: lax.reduce_window(v, -jnp.inf, lax.max, dims, dims, "VALID")  # noqa: E731
    ours = lambda v: _tiled_max(v, dims, v.shape)  # noqa: E731
    np.testing.assert_array_equal(ours(x), reference(x))
    g = jnp.asarray(rng.normal(size=reference(x).shape).astype("float32"))
    y, pull = jax.vjp(ours, x)  # the forward of training: the custom rule's max
    np.testing.assert_array_equal(y, reference(x))
    np.testing.assert_array_equal(pull(g)[0], jax.vjp(reference, x)[1](g)[0])


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_max_and_first_is_max_beside_argmax(dtype):
    """One reduction gives what `max` and `jnp.argmax` give: ties to the first, NaN wins, -inf and
    the lowest integer kept."""
    from jkeras.layers.pooling import _max_and_first
    rng = np.random.default_rng(1)
    w = rng.integers(-2, 3, size=(5, 7, 6)).astype(dtype)
    if dtype == "float32":
        w[0, 0, 3] = w[1, 2, 0] = np.nan
        w[2, 1] = -np.inf
    else:
        w[2, 1] = np.iinfo(np.int32).min
    value, first = _max_and_first(jnp.asarray(w))
    np.testing.assert_array_equal(value, jnp.asarray(w).max(-1))
    np.testing.assert_array_equal(first, jnp.argmax(jnp.asarray(w), -1))

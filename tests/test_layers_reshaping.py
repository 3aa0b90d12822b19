import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
import pytest

from jkeras.layers import reshaping as R
from jkeras.layers.core import Input

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def check_against_keras(name, kwargs, shape):
    """Shape inference, numerics and config of jkeras `name` against Keras 3."""
    x = RNG.normal(size=shape).astype("float32")
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(R, name)(**kwargs)
    symbolic = ours(Input(batch_shape=(None,) + shape[1:]))
    assert symbolic.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        assert ours_config[key] == theirs_config[key], key
    assert type(ours).from_config(ours_config).get_config() == ours_config


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Flatten", {}, (2, 3, 4, 5)),
    ("Flatten", dict(data_format="channels_first"), (2, 3, 4, 5)),
    ("Flatten", {}, (2, 6)),
    ("Reshape", dict(target_shape=(3, 8)), (2, 4, 6)),
    ("Reshape", dict(target_shape=(2, -1, 3)), (2, 4, 6)),
    ("Reshape", dict(target_shape=(-1,)), (2, 4, 6)),
    ("Permute", dict(dims=(2, 1)), (2, 3, 4)),
    ("Permute", dict(dims=(3, 1, 2)), (2, 3, 4, 5)),
    ("RepeatVector", dict(n=3), (2, 4)),
    ("ZeroPadding1D", {}, (2, 4, 3)),
    ("ZeroPadding1D", dict(padding=(2, 1), data_format="channels_first"), (2, 3, 4)),
    ("ZeroPadding2D", {}, (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=(1, 2)), (2, 3, 4, 2)),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 3)), data_format="channels_first"), (2, 2, 3, 4)),
    ("ZeroPadding3D", dict(padding=1), (1, 2, 3, 2, 2)),
    ("ZeroPadding3D", dict(padding=((0, 1), (2, 0), (1, 1)), data_format="channels_first"),
     (1, 2, 2, 3, 2)),
    ("Cropping1D", {}, (2, 5, 3)),
    ("Cropping1D", dict(cropping=(2, 0)), (2, 5, 3)),
    ("Cropping2D", dict(cropping=1), (2, 5, 6, 2)),
    ("Cropping2D", dict(cropping=((1, 0), (2, 1))), (2, 5, 6, 2)),
    ("Cropping2D", dict(cropping=(1, 2), data_format="channels_first"), (2, 2, 5, 6)),
    ("Cropping3D", {}, (1, 4, 5, 3, 2)),
    ("Cropping3D", dict(cropping=((0, 1), (1, 0), 0), data_format="channels_first"), (1, 2, 4, 3, 3)),
    ("UpSampling1D", dict(size=3), (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=(2, 3), data_format="channels_first"), (2, 2, 3, 4)),
    ("UpSampling2D", dict(size=(2, 3), interpolation="bilinear"), (2, 3, 4, 2)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear", data_format="channels_first"), (2, 2, 3, 4)),
    ("UpSampling3D", dict(size=(1, 2, 3)), (1, 2, 3, 2, 2)),
    ("UpSampling3D", dict(data_format="channels_first"), (1, 2, 2, 3, 2)),
])
def test_matches_keras(name, kwargs, shape):
    check_against_keras(name, kwargs, shape)


def test_flatten_channels_first_order_and_rank_one():
    x = np.arange(12, dtype="float32").reshape(1, 3, 2, 2)
    y = R.Flatten(data_format="channels_first")(x)
    np.testing.assert_array_equal(np.asarray(y), np.transpose(x, (0, 2, 3, 1)).reshape(1, 12))
    assert R.Flatten()(np.zeros((4,), "float32")).shape == (4, 1)
    assert R.Flatten()(Input(shape=(None, 3))).shape == (None, None)


def test_reshape_size_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="target_shape"):
        R.Reshape((5, 5))(Input(shape=(4, 6)))
    with pytest.raises(ValueError, match="target_shape"):
        R.Reshape((5, -1))(Input(shape=(4, 6)))
    with pytest.raises(ValueError, match="target_shape"):
        R.Reshape((5, 5))(np.zeros((2, 4, 6), "float32"))
    with pytest.raises(ValueError, match="-1"):
        R.Reshape((-1, -1))
    assert R.Reshape((-1, 2))(Input(shape=(None, 4))).shape == (None, None, 2)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="dims"):
        R.Permute((0, 1))
    with pytest.raises(ValueError, match="n"):
        R.RepeatVector(0)
    with pytest.raises(ValueError, match="padding"):
        R.ZeroPadding2D(((1, 1), (1, 1), (1, 1)))
    with pytest.raises(ValueError, match="cropping"):
        R.Cropping2D(-1)
    with pytest.raises(ValueError, match="interpolation"):
        R.UpSampling2D(interpolation="cubicle")
    with pytest.raises(ValueError, match="cropping"):
        R.Cropping1D((3, 2))(Input(shape=(5, 2)))


@pytest.mark.parametrize("layer, input_shape", [
    (R.Permute((2, 1)), (3, 4, 5)),
    (R.RepeatVector(2), (3, 4)),
    (R.ZeroPadding2D(), (3, 4)),
    (R.Cropping1D(), (3, 4, 5)),
    (R.UpSampling1D(), (3,)),
    (R.UpSampling2D(), (3, 4, 5, 6)),
])
def test_wrong_rank_raises(layer, input_shape):
    with pytest.raises(ValueError, match="rank"):
        layer(Input(shape=input_shape))


def test_eager_and_jit():
    layer = R.UpSampling2D(interpolation="bilinear")
    x = RNG.normal(size=(1, 3, 3, 2)).astype("float32")
    y = layer(x)
    jitted, _ = jax.jit(layer.apply)({}, {}, x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(y), rtol=1e-6)
    assert R.RepeatVector(2)(np.array([[1, 2]])).tolist() == [[[1, 2], [1, 2]]]
    assert R.ZeroPadding1D(1).name.startswith("zero_padding1d")

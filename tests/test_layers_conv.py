import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
import pytest

from jkeras.backend import config
from jkeras.layers import convolutional as C
from jkeras.layers.core import Input

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)


def check_against_keras(name, kwargs, shape):
    """Shape inference, weight names, numerics and config of jkeras `name` against Keras 3."""
    x = RNG.normal(size=shape).astype("float32")
    theirs = getattr(keras.layers, name)(**kwargs)
    ours = getattr(C, name)(**kwargs)
    symbolic = ours(Input(batch_shape=(None,) + shape[1:]))
    assert symbolic.shape == tuple(theirs.compute_output_shape((None,) + shape[1:]))
    theirs.build(shape)
    theirs.set_weights([RNG.normal(size=w.shape).astype("float32") for w in theirs.weights])
    assert [w.name for w in ours.weights] == [w.name for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) == set(theirs_config)
    for key in set(theirs_config) - {"name", "dtype"}:
        if isinstance(theirs_config[key], dict):  # serialized initializers: same class is enough
            assert ours_config[key]["class_name"] == theirs_config[key]["class_name"], key
        else:
            assert ours_config[key] == theirs_config[key], key
    rebuilt = type(ours).from_config(ours_config)
    assert rebuilt.get_config() == ours_config


@pytest.mark.parametrize("name, kwargs, shape", [
    ("Conv1D", dict(filters=3, kernel_size=3), (2, 9, 4)),
    ("Conv1D", dict(filters=4, kernel_size=3, strides=2, padding="same", groups=2), (2, 9, 4)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (2, 9, 4)),
    ("Conv1D", dict(filters=3, kernel_size=2, padding="causal", data_format="channels_first"), (2, 4, 7)),
    ("Conv2D", dict(filters=3, kernel_size=3, activation="relu"), (2, 7, 6, 2)),
    ("Conv2D", dict(filters=4, kernel_size=(2, 3), strides=2, padding="same"), (2, 7, 6, 2)),
    ("Conv2D", dict(filters=4, kernel_size=3, strides=(2, 1), padding="same",
                    data_format="channels_first"), (2, 2, 7, 6)),
    ("Conv2D", dict(filters=4, kernel_size=3, dilation_rate=2, groups=2, use_bias=False,
                    data_format="channels_first"), (2, 4, 7, 8)),
    ("Conv3D", dict(filters=2, kernel_size=2), (1, 4, 5, 3, 2)),
    ("Conv3D", dict(filters=2, kernel_size=(3, 2, 2), strides=2, padding="same",
                    data_format="channels_first"), (1, 2, 5, 4, 3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 5, 3)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=4, strides=3, padding="valid"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same"), (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, padding="same", output_padding=1),
     (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=3, kernel_size=(2, 3), strides=(3, 2), output_padding=(2, 0)),
     (2, 4, 5, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same",
                             data_format="channels_first"), (2, 3, 4, 5)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2, data_format="channels_first"),
     (1, 2, 3, 2, 3)),
    ("DepthwiseConv1D", dict(kernel_size=3, depth_multiplier=2), (2, 7, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3, depth_multiplier=2, padding="same"), (2, 6, 5, 3)),
    ("DepthwiseConv2D", dict(kernel_size=2, strides=2, data_format="channels_first"), (2, 3, 6, 5)),
    ("DepthwiseConv2D", dict(kernel_size=3, dilation_rate=2, activation="tanh"), (2, 7, 7, 2)),
    ("SeparableConv1D", dict(filters=4, kernel_size=3, padding="same"), (2, 7, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, depth_multiplier=2), (2, 6, 5, 3)),
    ("SeparableConv2D", dict(filters=4, kernel_size=3, strides=2, padding="same",
                             data_format="channels_first"), (2, 3, 6, 5)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, dilation_rate=2, use_bias=False), (2, 6, 6, 2)),
])
def test_matches_keras(name, kwargs, shape):
    check_against_keras(name, kwargs, shape)


def test_aliases_and_names():
    assert C.Convolution1D is C.Conv1D and C.Convolution2D is C.Conv2D and C.Convolution3D is C.Conv3D
    assert C.Deconvolution2D is C.Conv2DTranspose
    assert C.SeparableConvolution2D is C.SeparableConv2D
    assert C.Conv2DTranspose(2, 3).name.startswith("conv2d_transpose")
    assert C.DepthwiseConv2D(3).name.startswith("depthwise_conv2d")


def test_eager_call_on_numpy_and_jit():
    layer = C.Conv2D(3, 3, padding="same")
    x = RNG.normal(size=(2, 5, 5, 2)).astype("float32")
    y = layer(x)
    assert y.shape == (2, 5, 5, 3)
    params, state = layer._own_tree(True), layer._own_tree(False)
    jitted, _ = jax.jit(layer.apply)(params, state, x)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(y), rtol=1e-5, atol=1e-5)


def test_unknown_spatial_dims_stay_unknown():
    out = C.Conv2D(3, 3, strides=2)(Input(shape=(None, 9, 2)))
    assert out.shape == (None, None, 4, 3)


@pytest.mark.parametrize("layer, input_shape", [
    (C.Conv2D(2, 3), (5, 2)),
    (C.Conv1D(2, 3), (5, 5, 2)),
    (C.Conv2DTranspose(2, 3), (5, 5, 5, 2)),
    (C.DepthwiseConv2D(3), (5,)),
    (C.SeparableConv2D(2, 3), (5, 5, 5, 2)),
])
def test_wrong_rank_raises(layer, input_shape):
    with pytest.raises(ValueError, match="rank"):
        layer(Input(shape=input_shape))


def test_bad_arguments_and_inputs_raise():
    with pytest.raises(ValueError, match="groups"):
        C.Conv2D(3, 3, groups=2)
    with pytest.raises(ValueError, match="padding"):
        C.Conv2D(3, 3, padding="causal")
    with pytest.raises(ValueError, match="dilation_rate"):
        C.Conv2D(3, 3, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="output_padding"):
        C.Conv2DTranspose(3, 3, strides=2, output_padding=2)
    with pytest.raises(ValueError, match="kernel_size"):
        C.Conv2D(3, (3, 3, 3))
    with pytest.raises(ValueError, match="divisible"):
        C.Conv2D(4, 3, groups=2)(Input(shape=(5, 5, 3)))
    with pytest.raises(ValueError, match="zero or negative"):
        C.Conv2D(4, 5)(Input(shape=(3, 8, 1)))
    with pytest.raises(ValueError, match="channel"):
        C.Conv2D(4, 3)(Input(shape=(5, 5, None)))
    layer = C.Conv2D(2, 3)
    layer(np.zeros((1, 5, 5, 3), "float32"))
    with pytest.raises(ValueError, match="channels"):
        layer(np.zeros((1, 5, 5, 4), "float32"))


def test_loads_tf_keras2_configs_with_groups():
    config_ = C.DepthwiseConv2D(3).get_config()
    assert C.DepthwiseConv2D.from_config({**config_, "groups": 1}).get_config() == config_
    with pytest.raises(ValueError, match="groups"):
        C.SeparableConv2D(2, 3, groups=2)


def test_data_format_defaults_to_config():
    previous = config.image_data_format()
    config.set_image_data_format("channels_first")
    try:
        layer = C.Conv2D(2, 3)
    finally:
        config.set_image_data_format(previous)
    assert layer.data_format == "channels_first"
    assert layer(Input(shape=(3, 6, 6))).shape == (None, 2, 4, 4)


def test_regularizers_and_constraints_by_weight_name():
    layer = C.SeparableConv2D(2, 3, depthwise_regularizer="l2", pointwise_constraint="non_neg",
                              bias_regularizer="l1")
    assert set(layer._regularizers) == {"depthwise_kernel", "bias"}
    assert set(layer._constraints) == {"pointwise_kernel"}
    conv = C.Conv2D(2, 3, kernel_regularizer="l2", kernel_constraint="max_norm")
    assert set(conv._regularizers) == {"kernel"} and set(conv._constraints) == {"kernel"}
    conv(np.zeros((1, 4, 4, 1), "float32"))
    assert len(conv.losses) == 1


def test_separable_conv_takes_and_ignores_convs_kernel_arguments_as_keras2():
    """Keras 2's SeparableConv2D passed `kernel_initializer` & co. on to Conv and used none of them
    (keras_applications' NASNet passes `kernel_initializer='he_normal'`)."""
    plain = C.SeparableConv2D(4, 3, name="sep")
    given = C.SeparableConv2D(4, 3, name="sep", kernel_initializer="he_normal",
                              kernel_regularizer="l2", kernel_constraint="max_norm")
    assert given.get_config() == plain.get_config()
    assert "kernel_initializer" not in given.get_config()

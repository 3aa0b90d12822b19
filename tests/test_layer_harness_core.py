"""Core, activation, regularization, normalization, merge and embedding layers through the layer
harness: forward, one training step, config, `.h5`, masks and policies against Keras 3."""
import keras
import numpy as np
import pytest

import jkeras
from layer_harness import run_layer_test

pytestmark = pytest.mark.usefixtures("cheap_keras_init")

ZEROED = np.random.default_rng(1).normal(size=(2, 4, 3)).astype("float32")
ZEROED[0, 2:] = 0.0
ZEROED[1, 0] = 0.0


def thresholded_relu(x, weights, theta=0.3):
    """tf.keras 2's ThresholdedReLU: `x` where `x > theta`, else 0."""
    return np.where(x > theta, x, 0.0)


def flax_dense(x, weights):
    """flax.linen.Dense: `x @ kernel + bias` (the 2-D weight is the kernel)."""
    kernel = next(w for w in weights if w.ndim == 2)
    bias = next(w for w in weights if w.ndim == 1)
    return x @ kernel + bias


def flax_layer(lib, **kwargs):
    import flax.linen as nn
    return lib.layers.FlaxLayer(nn.Dense(3), **kwargs)


def twice(x):
    """A named function for Lambda, so that its config loads by name."""
    return x * 2.0


CASES = [
    ("Dense", dict(units=3), (2, 4), {}),
    ("Dense", dict(units=3, activation="relu", use_bias=False), (2, 3, 4), {}),
    ("Activation", dict(activation="tanh"), (2, 4), {}),
    ("Activation", dict(activation="softmax"), (2, 3, 4), {}),
    ("ReLU", {}, (2, 4), {}),
    ("ReLU", dict(max_value=0.5, negative_slope=0.1, threshold=0.2), (2, 4), {}),
    ("LeakyReLU", {}, (2, 4), {}),
    ("PReLU", {}, (2, 3, 4), {}),
    ("PReLU", dict(shared_axes=[1]), (2, 3, 4), {}),
    ("ELU", dict(alpha=0.5), (2, 4), {}),
    ("Softmax", {}, (2, 4), {}),
    ("Softmax", dict(axis=1), (2, 3, 4), {}),
    ("ActivityRegularization", dict(l1=0.01, l2=0.02), (2, 4), {}),
    ("BatchNormalization", {}, (4, 3), {}),
    ("BatchNormalization", dict(axis=1, momentum=0.9, epsilon=0.01), (4, 3, 2), {}),
    ("BatchNormalization", dict(center=False, scale=False), (4, 2, 3), {}),
    # a built Keras 3 writes `axis` [-1], tf.keras 2 [1]; jkeras keeps the constructor's -1
    ("LayerNormalization", {}, (2, 4), dict(config_ignore=("axis",))),
    ("LayerNormalization", dict(axis=[1, 2], center=False), (2, 3, 4), {}),
    ("LayerNormalization", dict(scale=False, epsilon=0.1), (2, 3, 4), dict(config_ignore=("axis",))),
    ("Add", {}, [(2, 3), (2, 3)], {}),
    ("Add", {}, [(2, 3), (2, 3), (2, 3)], {}),
    ("Subtract", {}, [(2, 3), (2, 3)], {}),
    ("Multiply", {}, [(2, 3, 2), (2, 3, 2)], {}),
    ("Average", {}, [(2, 3), (2, 3)], {}),
    ("Maximum", {}, [(2, 3), (2, 3)], {}),
    ("Minimum", {}, [(2, 3), (2, 3)], {}),
    ("Concatenate", {}, [(2, 3), (2, 2)], {}),
    ("Concatenate", dict(axis=1), [(2, 3, 2), (2, 1, 2)], {}),
    ("Dot", dict(axes=1), [(2, 3), (2, 3)], {}),
    ("Dot", dict(axes=(1, 2)), [(2, 3, 4), (2, 2, 3)], {}),
    ("Dot", dict(axes=-1, normalize=True), [(2, 3, 4), (2, 2, 4)], {}),
    ("Embedding", dict(input_dim=5, output_dim=3), (2, 4), dict(input_dtype="int32")),
    ("Embedding", dict(input_dim=5, output_dim=3, mask_zero=True), (2, 4),
     dict(input_dtype="int32", input_data=np.array([[1, 2, 0, 0], [3, 0, 4, 0]], "int32"))),
    ("Masking", {}, (2, 4, 3), dict(input_data=ZEROED)),
    ("Flatten", {}, (2, 3, 4), {}),
    ("Flatten", dict(data_format="channels_first"), (2, 3, 2, 2), {}),
    ("Reshape", dict(target_shape=(4, 3)), (2, 3, 4), {}),
    ("Reshape", dict(target_shape=(-1, 2)), (2, 3, 4), {}),
    ("Permute", dict(dims=(2, 1)), (2, 3, 4), {}),
    ("RepeatVector", dict(n=3), (2, 4), {}),
    ("Rescaling", dict(scale=0.5, offset=0.1), (2, 4), {}),
    ("Normalization", dict(mean=[0.5, 1.0, -1.0], variance=[2.0, 0.5, 1.0]), (2, 3), {}),
    ("Normalization", dict(axis=None, mean=0.5, variance=2.0, invert=True), (2, 3), {}),
    ("Lambda", dict(function=twice), (2, 4),
     dict(custom_objects={"twice": twice}, config_ignore=("function", "output_shape", "arguments",
                                                          "mask", "function_type"))),
]

# Keras 3 lacks ThresholdedReLU, and its FlaxLayer needs TensorFlow: numpy references instead
REFERENCE = [
    ("ThresholdedReLU", dict(theta=0.3), (2, 3, 4), thresholded_relu),
    (flax_layer, {}, (2, 4), flax_dense),
]

STOCHASTIC = [
    ("Dropout", dict(rate=0.5), (2, 4)),
    ("Dropout", dict(rate=0.5, noise_shape=(None, 1, 4)), (2, 3, 4)),
    ("SpatialDropout1D", dict(rate=0.5), (2, 3, 4)),
    ("SpatialDropout2D", dict(rate=0.5), (2, 3, 3, 4)),
    ("SpatialDropout2D", dict(rate=0.5, data_format="channels_first"), (2, 4, 3, 3)),
    ("GaussianNoise", dict(stddev=0.5), (2, 4)),
    ("GaussianDropout", dict(rate=0.3), (2, 4)),
    ("AlphaDropout", dict(rate=0.3), (2, 4)),
    ("AlphaDropout", dict(rate=0.3, noise_shape=(None, 1, 4)), (2, 3, 4)),
    ("SpatialDropout3D", dict(rate=0.5), (1, 2, 2, 2, 3)),
    ("SpatialDropout3D", dict(rate=0.5, data_format="channels_first"), (1, 3, 2, 2, 2)),
]


def _id(case):
    return (case[0] if isinstance(case[0], str) else case[0].__name__) + "-" + "-".join(f"{k}={v}" for k, v in case[1].items() if k != "function")


@pytest.mark.parametrize("name, kwargs, shape, options", CASES, ids=[_id(c) for c in CASES])
def test_layer_matches_keras(name, kwargs, shape, options):
    run_layer_test(name, kwargs, shape, **options)


@pytest.mark.parametrize("name, kwargs, shape", STOCHASTIC, ids=[_id(c) for c in STOCHASTIC])
def test_stochastic_layer(name, kwargs, shape):
    run_layer_test(name, kwargs, shape, stochastic=True)


@pytest.mark.parametrize("layer, kwargs, shape, reference", REFERENCE, ids=[_id(c) for c in REFERENCE])
def test_layer_matches_reference(layer, kwargs, shape, reference):
    run_layer_test(layer, kwargs, shape, keras_layer=False, reference=reference)


def test_thresholded_relu_arguments_and_keras2_config():
    from jkeras.layers import ThresholdedReLU
    with pytest.raises(ValueError, match="should be >=0"):
        ThresholdedReLU(theta=-1.0)
    with pytest.raises(ValueError, match="cannot be None"):
        ThresholdedReLU(theta=None)
    config = ThresholdedReLU(theta=2).get_config()
    assert config["theta"] == 2.0 and ThresholdedReLU.from_config(config).theta == 2.0


def test_layers_serialize_and_deserialize_match_keras():
    from jkeras.layers._utils import deserialize, serialize
    theirs = keras.layers.serialize(keras.layers.Dense(3, activation="relu", name="d"))
    ours = serialize(jkeras.layers.Dense(3, activation="relu", name="d"))
    assert (set(ours), ours["class_name"], ours["module"]) == (set(theirs), "Dense", theirs["module"])
    layer = deserialize(theirs)
    assert isinstance(layer, jkeras.layers.Dense) and (layer.name, layer.units) == ("d", 3)
    tf_keras_2 = {"class_name": "Bidirectional", "config": {"layer": {
        "class_name": "LSTM", "config": {"units": 2, "name": "lstm"}}, "merge_mode": "sum"}}
    layer = deserialize(tf_keras_2)
    assert isinstance(layer, jkeras.layers.Wrapper) and layer.merge_mode == "sum"
    assert deserialize(layer) is layer
    with pytest.raises(ValueError, match="Nope"):
        deserialize({"class_name": "Nope", "config": {}})

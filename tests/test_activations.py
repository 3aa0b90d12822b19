import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from jkeras import activations

keras = pytest.importorskip("keras")

X = np.random.default_rng(0).normal(scale=3.0, size=(4, 5, 6)).astype("float32")

SIMPLE = ["relu", "relu6", "sigmoid", "softmax", "log_softmax", "softplus",
          "softsign", "tanh", "elu", "selu", "gelu", "silu", "swish", "exponential", "linear",
          "leaky_relu", "mish"]


@pytest.mark.parametrize("name", SIMPLE)
def test_matches_keras_defaults(name):
    ours = activations.get(name)(X)
    theirs = keras.activations.get(name)(X)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-6, atol=1e-6)
    assert ours.dtype == np.float32


@pytest.mark.parametrize("kwargs", [
    dict(alpha=0.1), dict(max_value=6.0), dict(max_value=2.5), dict(threshold=1.0),
    dict(alpha=0.3, max_value=4.0), dict(alpha=0.2, threshold=-0.5),
    dict(alpha=0.2, max_value=3.0, threshold=0.5),
])
def test_relu_arguments_match_keras(kwargs):
    theirs_kwargs = dict(kwargs)
    if "alpha" in theirs_kwargs:
        theirs_kwargs["negative_slope"] = theirs_kwargs.pop("alpha")
    np.testing.assert_allclose(np.asarray(activations.relu(X, **kwargs)),
                               np.asarray(keras.activations.relu(X, **theirs_kwargs)), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fn, kwargs", [
    ("elu", dict(alpha=0.5)), ("gelu", dict(approximate=True)), ("softmax", dict(axis=1)),
    ("log_softmax", dict(axis=0)), ("leaky_relu", dict(negative_slope=0.05)),
])
def test_arguments_match_keras(fn, kwargs):
    np.testing.assert_allclose(np.asarray(getattr(activations, fn)(X, **kwargs)),
                               np.asarray(getattr(keras.activations, fn)(X, **kwargs)), rtol=1e-6, atol=1e-6)


def test_hard_sigmoid_is_keras2s():
    """tf.keras 2.21's `activations.hard_sigmoid` on these values (Keras 3's, `relu6(x + 3) / 6`, differs)."""
    x = np.array([-4.0, -3.0, -2.5, -1.0, 0.0, 1.5, 2.5, 3.0, 4.0], "float32")
    tf_keras = [0.0, 0.0, 0.0, 0.30000001192092896, 0.5, 0.800000011920929, 1.0, 1.0, 1.0]
    np.testing.assert_allclose(activations.hard_sigmoid(x), tf_keras, rtol=1e-7)
    assert activations.get("hard_sigmoid") is activations.hard_sigmoid


def test_get_forms():
    assert activations.get(None) is activations.linear
    assert activations.get("relu") is activations.relu
    assert activations.get(activations.tanh) is activations.tanh
    custom = lambda x: x * 2  # noqa: E731
    assert activations.get(custom) is custom
    keras3 = {"module": "keras.activations", "class_name": "function", "config": "relu",
              "registered_name": "function"}
    assert activations.get(keras3) is activations.relu
    assert activations.get(keras.saving.serialize_keras_object(keras.activations.gelu)) is activations.gelu


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match=r"Unknown activation function 'relux'.*relu, relu6"):
        activations.get("relux")
    with pytest.raises(ValueError, match="'nope'"):
        activations.get({"module": "builtins", "class_name": "function", "config": "nope",
                         "registered_name": "function"})
    with pytest.raises(ValueError, match="Could not interpret"):
        activations.get(3)


def test_serialize_round_trip_and_keras_reads_it():
    for name in SIMPLE:
        fn = activations.get(name)
        assert activations.serialize(fn) == name
        assert activations.get(activations.serialize(fn)) is fn
        assert callable(keras.activations.get(activations.serialize(fn)))


def test_serialize_custom_function_uses_keras3_dict():
    def my_act(x):
        return x

    assert activations.serialize(my_act) == {"module": "builtins", "class_name": "function",
                                             "config": "my_act", "registered_name": "function"}
    assert activations.deserialize(activations.serialize(my_act), custom_objects={"my_act": my_act}) is my_act

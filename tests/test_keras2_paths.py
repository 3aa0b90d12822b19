"""Keras 2.0-2.3 names that tf.keras 2 dropped: `keras.legacy.layers` (MaxoutDense, Highway,
AtrousConvolution1D/2D, Recurrent, ConvRecurrent2D), `keras.objectives`, `engine.topology.Container`,
`engine.saving`'s h5 group functions, `generic_utils.func_dump/func_load`, `image.apply_transform`,
`imagenet_utils._obtain_input_shape`, `mobilenet.relu6/DepthwiseConv2D`, `losses.huber_loss`,
`K.set_image_dim_ordering`, `optimizers.TFOptimizer`, `Sequential.model`: each under its jkeras path
and (in a fresh process) under `keras.` after `install_as_keras()`, with numbers from numpy
formulas of Keras 2's code."""
import importlib
import json
import os
import subprocess
import sys
import textwrap
import warnings

import h5py
import numpy as np
import optax
import pytest

import jkeras
from jkeras import backend as K
from jkeras import layers, models
from jkeras.layers import legacy as legacy_layers

# (module under jkeras / keras, name, where the object lives) from Keras 2.0.8-2.3.1's sources.
PATHS = [
    ("engine.topology", "Container", "jkeras.models.functional:Functional"),
    ("engine.saving", "preprocess_weights_for_loading", None),
    ("engine.saving", "load_weights_from_hdf5_group", None),
    ("engine.saving", "load_weights_from_hdf5_group_by_name", None),
    ("engine.saving", "save_weights_to_hdf5_group", None),
    *[("engine.topology", n, f"jkeras.engine.saving:{n}") for n in (   # Keras 2.0-2.1 kept them here
        "preprocess_weights_for_loading", "load_weights_from_hdf5_group", "load_weights_from_hdf5_group_by_name",
        "save_weights_to_hdf5_group")],
    *[("legacy.layers", n, f"jkeras.layers.legacy:{n}") for n in (
        "MaxoutDense", "Highway", "AtrousConvolution1D", "AtrousConvolution2D", "Recurrent", "ConvRecurrent2D",
        "Merge", "merge")],
    ("utils.generic_utils", "func_dump", None),
    ("utils.generic_utils", "func_load", None),
    ("preprocessing.image", "apply_transform", None),
    ("applications.imagenet_utils", "_obtain_input_shape", "jkeras.applications.imagenet_utils:obtain_input_shape"),
    ("applications.mobilenet", "relu6", None),
    ("applications.mobilenet", "DepthwiseConv2D", "jkeras.layers:DepthwiseConv2D"),
    ("objectives", "categorical_crossentropy", "jkeras.losses:categorical_crossentropy"),
    ("objectives", "mse", "jkeras.losses:mean_squared_error"),
    ("losses", "huber_loss", None),
    ("backend", "set_image_dim_ordering", None),
    ("backend", "image_dim_ordering", None),
    ("optimizers", "TFOptimizer", None),
    ("optimizers", "clip_norm", None),
    *[("optimizers", n.lower(), f"jkeras.optimizers:{n}") for n in (
        "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam")],
    ("engine.saving", "save_attributes_to_hdf5_group", None),
    ("engine.saving", "load_attributes_from_hdf5_group", None),
    ("engine.base_layer", "disable_tracking", None),
    ("losses", "is_categorical_crossentropy", None),
    ("utils.generic_utils", "getargspec", "inspect:getfullargspec"),
    ("utils.generic_utils", "check_for_unexpected_keys", None),
    ("preprocessing.image", "list_pictures", None),
    ("applications.imagenet_utils", "CLASS_INDEX_PATH", None),
    ("applications.mobilenet", "BASE_WEIGHT_PATH", None),
    ("applications.mobilenetv2", "MobileNetV2", "jkeras.applications.mobilenet_v2:MobileNetV2"),
    ("legacy.layers", "AtrousConv1D", "jkeras.layers.legacy:AtrousConvolution1D"),
    ("legacy.layers", "AtrousConv2D", "jkeras.layers.legacy:AtrousConvolution2D"),
]
# Keras 2.0-2.1 also had these under keras.layers and its family modules.
LAYERS_PACKAGE_PATHS = [
    ("layers", "MaxoutDense"), ("layers", "Highway"), ("layers", "Recurrent"),
    ("layers", "AtrousConvolution1D"), ("layers", "AtrousConvolution2D"), ("layers", "Merge"),
    ("layers.recurrent", "Recurrent"), ("layers.convolutional", "AtrousConvolution2D"),
    ("layers.convolutional", "AtrousConv2D"),
    ("layers.convolutional_recurrent", "ConvRecurrent2D"),
]


def _home(where):
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("module, name, home", PATHS)
def test_jkeras_path(module, name, home):
    found = getattr(importlib.import_module(f"jkeras.{module}"), name)
    if home is not None:
        assert found is _home(home)


@pytest.mark.parametrize("module, name", LAYERS_PACKAGE_PATHS)
def test_jkeras_layers_path(module, name):
    assert getattr(importlib.import_module(f"jkeras.{module}"), name) is getattr(legacy_layers, name)


def test_keras_paths_after_install_as_keras():
    """All of PATHS in one fresh process: `from keras.<module> import <name>` is jkeras's object."""
    pairs = [(m, n) for m, n, _ in PATHS]
    code = textwrap.dedent(f"""
        import importlib, jkeras
        jkeras.install_as_keras()
        import keras
        bad = []
        for module, name in {pairs!r}:
            old = importlib.import_module("keras." + module)
            if getattr(old, name) is not getattr(importlib.import_module("jkeras." + module), name):
                bad.append(module + "." + name)
        assert keras.objectives.mse is keras.losses.mse
        print("bad:", bad)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("bad: []"), result.stdout


# ---------------------------------------------------------------- legacy layers

def _quiet():
    return warnings.catch_warnings()


def test_maxout_dense_forward_and_sgd_step_match_numpy():
    rng = np.random.default_rng(0)
    x, target = rng.normal(size=(6, 3)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    with pytest.warns(UserWarning, match="MaxoutDense"):
        layer = legacy_layers.MaxoutDense(2, nb_feature=3, input_dim=3)
    model = models.Sequential([layer])
    assert [w.name for w in layer.weights] == ["W", "b"]
    W, b = layer.get_weights()
    assert W.shape == (3, 3, 2) and b.shape == (3, 2)
    b = rng.normal(size=b.shape).astype("float32")
    layer.set_weights([W, b])
    z = np.einsum("bi,kio->bko", x, W) + b                 # Keras 2: K.max(K.dot(x, W) + b, axis=1)
    y = z.max(axis=1)
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=1e-5, atol=1e-6)
    lr = 0.1
    model.compile(jkeras.optimizers.SGD(lr), "mse")
    loss = model.train_on_batch(x, target)
    np.testing.assert_allclose(loss, np.mean((y - target) ** 2), rtol=1e-5)
    dy = 2 * (y - target) / y.size
    chosen = (z.argmax(axis=1)[:, None, :] == np.arange(3)[None, :, None])   # (batch, k, out)
    dW = np.einsum("bi,bko->kio", x, dy[:, None, :] * chosen)
    db = (dy[:, None, :] * chosen).sum(axis=0)
    new_W, new_b = layer.get_weights()
    np.testing.assert_allclose(new_W, W - lr * dW, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(new_b, b - lr * db, rtol=1e-4, atol=1e-6)


def test_highway_matches_keras2_formula_and_trains():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 4)).astype("float32")
    with pytest.warns(UserWarning):
        layer = legacy_layers.Highway(activation="tanh", input_shape=(4,), transform_bias=-2)
    model = models.Sequential([layer])
    assert [w.name for w in layer.weights] == ["W", "W_carry", "b", "b_carry"]
    W, W_carry, b, b_carry = layer.get_weights()
    np.testing.assert_array_equal(b_carry, np.ones(4))
    b, b_carry = rng.normal(size=4).astype("float32"), rng.normal(size=4).astype("float32")
    layer.set_weights([W, W_carry, b, b_carry])
    gate = 1 / (1 + np.exp(-(x @ W_carry + b_carry)))
    y = np.tanh(x @ W + b) * gate + (1 - gate) * x
    np.testing.assert_allclose(model.predict(x, verbose=0), y, rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    loss = model.train_on_batch(x, np.zeros_like(x))
    np.testing.assert_allclose(loss, np.mean(y ** 2), rtol=1e-5)
    assert not np.allclose(layer.get_weights()[0], W)
    config = layer.get_config()
    assert config["activation"] == "tanh" and config["bias"] is True and "init" in config
    with _quiet():
        warnings.simplefilter("ignore")
        assert legacy_layers.Highway.from_config(config).get_config() == config


def test_atrous_convolutions_are_dilated_convolutions():
    with pytest.warns(UserWarning, match="dilation_rate"):
        conv2 = legacy_layers.AtrousConvolution2D(4, 3, 3, atrous_rate=(2, 2), border_mode="same")
    assert type(conv2) is layers.Conv2D
    assert (conv2.kernel_size, conv2.dilation_rate, conv2.padding) == ((3, 3), (2, 2), "same")
    with pytest.warns(UserWarning):
        conv1 = legacy_layers.AtrousConvolution1D(2, 3, atrous_rate=2)
    assert type(conv1) is layers.Conv1D and conv1.dilation_rate == (2,)


def test_merge_modes_match_numpy():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    cos = (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    expected = {"sum": a + b, "mul": a * b, "ave": (a + b) / 2, "max": np.maximum(a, b),
                "concat": np.concatenate([a, b], -1), "dot": (a * b).sum(-1, keepdims=True), "cos": cos[:, None]}
    ia, ib = jkeras.Input((3,)), jkeras.Input((3,))
    with _quiet():
        warnings.simplefilter("ignore")
        outputs = [legacy_layers.merge([ia, ib], mode=mode) for mode in expected]
        outputs.append(legacy_layers.Merge(mode=lambda xs, scale: (xs[0] - xs[1]) * scale, arguments={"scale": 2.0})(
            [ia, ib]))
    got = models.Model([ia, ib], outputs).predict([a, b], verbose=0)
    for (mode, want), value in zip(expected.items(), got):
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-6, err_msg=mode)
    np.testing.assert_allclose(got[-1], (a - b) * 2, rtol=1e-6)


def test_merge_masks_config_and_refusals():
    with _quiet():
        warnings.simplefilter("ignore")
        summed, joined = legacy_layers.Merge(mode="sum"), legacy_layers.Merge(mode="concat")
        m1, m2 = np.array([[True, True, False]]), np.array([[True, False, False]])
        x = np.zeros((1, 3, 2), "float32")
        np.testing.assert_array_equal(summed.compute_mask([x, x], [m1, m2]), m1 & m2)
        np.testing.assert_array_equal(joined.compute_mask([x, x], [m1, None]), m1)   # Keras 2: all() over the last axis
        config = legacy_layers.Merge(mode="concat", concat_axis=1).get_config()
        assert config["mode"] == "concat" and config["mode_type"] == "raw" and config["concat_axis"] == 1
        assert legacy_layers.Merge.from_config(config).concat_axis == 1
        with pytest.raises(ValueError, match="functional API"):
            legacy_layers.Merge([layers.Dense(2), layers.Dense(2)])
        with pytest.raises(ValueError, match="Invalid merge mode"):
            legacy_layers.Merge(mode="min")
        with pytest.raises(ValueError, match="Lambda"):
            legacy_layers.Merge.from_config({**config, "mode": "f", "mode_type": "lambda"})


class _Keras20SimpleRNN(legacy_layers.Recurrent):
    """A Keras 2.0-style recurrent layer: weights in build (Keras 2.0's add_weight order), one step."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units),
                                                initializer="orthogonal")
        self.built = True

    def step(self, inputs, states):
        h = K.tanh(K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel))
        return h, [h]


def _numpy_rnn(seq, kernel, recurrent, h, steps):
    outputs = {}
    for t in steps:
        h = np.tanh(seq[:, t] @ kernel + h @ recurrent)
        outputs[t] = h
    return h, outputs


def test_recurrent_subclass_runs_its_step_over_time():
    rng = np.random.default_rng(2)
    seq = rng.normal(size=(3, 5, 2)).astype("float32")
    inp = jkeras.Input((5, 2))
    out = _Keras20SimpleRNN(4, return_sequences=True)(inp)
    assert out.shape == (None, 5, 4)
    model = models.Model(inp, out)
    kernel, recurrent = model.layers[1].get_weights()
    _, outputs = _numpy_rnn(seq, kernel, recurrent, np.zeros((3, 4)), range(5))
    np.testing.assert_allclose(model.predict(seq, verbose=0), np.stack([outputs[t] for t in range(5)], 1),
                               rtol=1e-5, atol=1e-6)
    model.compile("sgd", "mse")
    assert np.isfinite(model.train_on_batch(seq, np.zeros((3, 5, 4))))
    assert not np.allclose(model.layers[1].get_weights()[0], kernel)


def test_recurrent_subclass_initial_state_backwards_return_state_and_mask():
    rng = np.random.default_rng(3)
    seq = rng.normal(size=(2, 4, 3)).astype("float32")
    seq[1, 2:] = 0.0                                       # the second sequence is 2 steps long
    inp, h0 = jkeras.Input((4, 3)), jkeras.Input((5,))
    rnn = _Keras20SimpleRNN(5, return_state=True, go_backwards=True)
    output, state = rnn(layers.Masking(0.0)(inp), initial_state=h0)
    model = models.Model([inp, h0], [output, state])
    start = rng.normal(size=(2, 5)).astype("float32")
    kernel, recurrent = rnn.get_weights()
    first, _ = _numpy_rnn(seq[:1], kernel, recurrent, start[:1], reversed(range(4)))
    second, _ = _numpy_rnn(seq[1:], kernel, recurrent, start[1:], reversed(range(2)))
    got_output, got_state = model.predict([seq, start], verbose=0)
    expected = np.concatenate([first, second])
    np.testing.assert_allclose(got_output, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_state, expected, rtol=1e-5, atol=1e-6)


def test_recurrent_refuses_stateful_and_a_missing_step():
    with pytest.raises(ValueError, match="cannot be stateful"):
        _Keras20SimpleRNN(2, stateful=True)

    class NoStep(legacy_layers.Recurrent):
        units = 2

    with pytest.raises(NotImplementedError, match="must define step"):
        NoStep()(np.zeros((1, 3, 2), "float32"))


def test_conv_recurrent2d_output_shapes_follow_the_convolution():
    class ConvTanh(legacy_layers.ConvRecurrent2D):
        def build(self, input_shape):
            if isinstance(input_shape, list):
                input_shape = input_shape[0]
            self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (input_shape[-1], self.filters),
                                          initializer="glorot_uniform")
            self.built = True

        def step(self, inputs, states):
            return (h := K.tanh(K.conv2d(inputs, self.kernel, padding=self.padding) + states[0])), [h]

    x = np.random.default_rng(4).normal(size=(2, 3, 6, 6, 2)).astype("float32")
    for padding, rows in (("valid", 4), ("same", 6)):
        layer = ConvTanh(3, 3, padding=padding, return_sequences=True)
        assert layer(jkeras.Input((3, 6, 6, 2))).shape == (None, 3, rows, rows, 3)
    got = layer(x)                                          # "same": compare with numpy via K.conv2d itself
    kernel = layer.get_weights()[0]
    h = np.zeros((2, 6, 6, 3), "float32")
    for t in range(3):
        h = np.tanh(np.asarray(K.conv2d(x[:, t], kernel, padding="same")) + h)
    np.testing.assert_allclose(np.asarray(got)[:, -1], h, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- engine, utils, applications

def _two_layer_model(seed):
    K.set_random_seed(seed)
    return models.Sequential([layers.Dense(3, input_shape=(2,), name="a"), layers.Dense(1, name="b")])


def test_engine_saving_group_functions(tmp_path):
    from jkeras.engine import saving
    source, target = _two_layer_model(1), _two_layer_model(2)
    with h5py.File(tmp_path / "w.h5", "w") as f:
        saving.save_weights_to_hdf5_group(f, source.layers)
        assert [n.decode() for n in f.attrs["layer_names"]] == ["a", "b"]
    with h5py.File(tmp_path / "w.h5", "r") as f:
        saving.load_weights_from_hdf5_group(f, target.layers)
    for w, v in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(w, v)
    other = _two_layer_model(3)
    with h5py.File(tmp_path / "w.h5", "r") as f:
        saving.load_weights_from_hdf5_group_by_name(f, other.layers[1:])
    np.testing.assert_array_equal(other.layers[1].get_weights()[0], source.layers[1].get_weights()[0])
    assert not np.array_equal(other.layers[0].get_weights()[0], source.layers[0].get_weights()[0])


def test_attributes_in_hdf5_groups_split_past_the_header_limit(tmp_path):
    from jkeras.engine.saving import load_attributes_from_hdf5_group, save_attributes_to_hdf5_group
    names = [f"layer_with_a_long_name_{i:05d}" for i in range(3000)]       # ~90 KB > HDF5's 64 KB
    with h5py.File(tmp_path / "a.h5", "w") as f:
        save_attributes_to_hdf5_group(f, "layer_names", names)
        assert "layer_names0" in f.attrs and "layer_names1" in f.attrs and "layer_names" not in f.attrs
        save_attributes_to_hdf5_group(f, "short", ["a", "b"])
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert load_attributes_from_hdf5_group(f, "layer_names") == names
        assert load_attributes_from_hdf5_group(f, "short") == ["a", "b"]


def test_preprocess_weights_for_loading_flips_theano_kernels():
    from jkeras.engine.saving import preprocess_weights_for_loading
    conv = layers.Conv2D(2, (3, 3))
    conv.build((None, 5, 5, 1))
    kernel, bias = [np.random.default_rng(5).normal(size=w.shape).astype("float32") for w in conv.weights]
    out = preprocess_weights_for_loading(conv, [kernel, bias], original_keras_version="2.2.4",
                                         original_backend="theano")
    np.testing.assert_array_equal(out[0], kernel[::-1, ::-1])   # Keras 2's convert_kernel
    np.testing.assert_array_equal(out[1], bias)
    same = preprocess_weights_for_loading(conv, [kernel, bias])
    np.testing.assert_array_equal(same[0], kernel)


def test_func_dump_and_load_round_trip():
    from jkeras.utils.generic_utils import func_dump, func_load
    offset = 3

    def scaled(x, factor=2):
        return x * factor + offset

    code, defaults, closure = func_dump(scaled)
    assert isinstance(code, str) and defaults == (2,) and closure == (3,)
    restored = func_load((code, defaults, closure))
    assert restored(5) == 13 and restored(5, 10) == 53
    uses_global = func_load(*func_dump(lambda x: x + shift), globs={"shift": 100})
    assert uses_global(1) == 101


def test_apply_transform_matches_a_numpy_shift():
    from jkeras.preprocessing.image import apply_transform
    image = np.arange(2 * 4 * 5, dtype="float32").reshape(2, 4, 5)    # channels first
    shift = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 1]], "float32")    # output row i reads input row i + 1
    expected = np.concatenate([image[:, 1:], image[:, -1:]], axis=1)  # 'nearest' repeats the edge
    np.testing.assert_allclose(apply_transform(image, shift, channel_axis=0), expected)
    last = np.moveaxis(image, 0, -1)
    np.testing.assert_allclose(apply_transform(last, shift, channel_axis=2), np.moveaxis(expected, 0, -1))


def test_obtain_input_shape_is_keras2s():
    from jkeras.applications.imagenet_utils import _obtain_input_shape
    assert _obtain_input_shape(None, 224, 32, "channels_last", require_flatten=True) == (224, 224, 3)
    assert _obtain_input_shape(None, 224, 32, "channels_first", True) == (3, 224, 224)
    assert _obtain_input_shape((100, 120, 3), 224, 32, "channels_last", False, weights="imagenet") == (100, 120, 3)
    with pytest.raises(ValueError):
        _obtain_input_shape((16, 16, 3), 224, 32, "channels_last", False)


def test_mobilenet_keras20_file_loads_with_its_custom_objects(tmp_path):
    from jkeras.applications import mobilenet
    x = np.random.default_rng(6).normal(size=(2, 6, 6, 3)).astype("float32") * 8
    np.testing.assert_array_equal(np.asarray(mobilenet.relu6(x)), np.clip(x, 0, 6))
    inp = jkeras.Input((6, 6, 3))
    h = mobilenet.DepthwiseConv2D((3, 3), padding="same", use_bias=False, name="conv_dw_1")(inp)
    out = layers.Activation(mobilenet.relu6, name="conv_dw_1_relu")(h)
    model = models.Model(inp, out)
    model.save(tmp_path / "mobilenet.h5")
    with h5py.File(tmp_path / "mobilenet.h5", "r+") as f:   # as Keras 2.0-2.1 wrote it: the function's name
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][-1]["config"]["activation"] = "relu6"
        f.attrs["model_config"] = json.dumps(config).encode()
    assert config["config"]["layers"][1]["class_name"] == "DepthwiseConv2D"
    assert models.load_model(tmp_path / "mobilenet.h5").layers[-1].get_config()["activation"] == "relu6"
    loaded = models.load_model(tmp_path / "mobilenet.h5", custom_objects={
        "relu6": mobilenet.relu6, "DepthwiseConv2D": mobilenet.DepthwiseConv2D})
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


# ---------------------------------------------------------------- losses, backend, optimizers, models

def test_objectives_and_huber_loss():
    from jkeras import objectives
    assert objectives.mse is jkeras.losses.mse and objectives.binary_crossentropy is jkeras.losses.binary_crossentropy
    y_true = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]], "float32")
    y_pred = np.array([[0.5, 3.0, 2.0], [-1.0, 1.2, 4.0]], "float32")
    err = np.abs(y_pred - y_true)
    expected = np.where(err <= 1.0, 0.5 * err ** 2, err - 0.5)           # Keras 2.3's huber_loss, delta 1
    np.testing.assert_allclose(jkeras.losses.huber_loss(y_true, y_pred), expected, rtol=1e-6)
    err2 = np.where(err <= 2.0, 0.5 * err ** 2, 2.0 * err - 2.0)
    np.testing.assert_allclose(jkeras.losses.huber_loss(y_true, y_pred, delta=2.0), err2, rtol=1e-6)
    model = models.Sequential([layers.Dense(3, input_shape=(3,), kernel_initializer="identity", use_bias=False)])
    model.compile("sgd", "huber_loss")
    np.testing.assert_allclose(model.test_on_batch(y_pred, y_true), expected.mean(), rtol=1e-6)


def test_image_dim_ordering():
    assert K.image_dim_ordering() == "tf"
    try:
        K.set_image_dim_ordering("th")
        assert K.image_data_format() == "channels_first" and K.image_dim_ordering() == "th"
    finally:
        K.set_image_dim_ordering("tf")
    assert K.image_data_format() == "channels_last"
    with pytest.raises(ValueError, match="'th' or 'tf'"):
        K.set_image_dim_ordering("channels_last")


def test_tf_optimizer_wraps_an_optax_transformation():
    model = models.Sequential([layers.Dense(1, input_shape=(2,), kernel_initializer="zeros", use_bias=False)])
    model.compile(jkeras.optimizers.TFOptimizer(optax.sgd(0.1)), "mse")
    x, y = np.array([[1.0, 2.0]], "float32"), np.array([[1.0]], "float32")
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.get_weights()[0].ravel(), 0.1 * 2 * (1.0 - 0.0) * x.ravel(), rtol=1e-6)

    class TensorFlowOptimizer:
        def apply_gradients(self, grads_and_vars):
            pass

    with pytest.raises(TypeError, match="optax.GradientTransformation"):
        jkeras.optimizers.TFOptimizer(TensorFlowOptimizer())


def test_sequential_model_is_itself():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.warns(UserWarning, match="Sequential.model` is deprecated"):
        assert model.model is model


def test_sequential_takes_its_input_shape_from_a_first_model():
    """Keras 2's Sequential.add looked up a first model's first layer for the input shape."""
    inner = models.Sequential([layers.Dense(2, input_shape=(3,))])
    outer = models.Sequential([inner, layers.Dense(1)])
    assert outer.built and outer.output_shape == (None, 1)
    x = np.random.default_rng(7).normal(size=(4, 3)).astype("float32")
    kernel, bias = inner.get_weights()
    kernel2, bias2 = outer.layers[1].get_weights()
    np.testing.assert_allclose(outer.predict(x, verbose=0), (x @ kernel + bias) @ kernel2 + bias2, rtol=1e-5, atol=1e-6)
    assert not models.Sequential([layers.TimeDistributed(layers.Dense(2, input_shape=(3,)))]).built


def test_small_keras2_helpers():
    from jkeras.engine.base_layer import disable_tracking
    from jkeras.losses import CategoricalCrossentropy, is_categorical_crossentropy
    from jkeras.optimizers import clip_norm
    from jkeras.utils.generic_utils import check_for_unexpected_keys

    def method(self):
        return 1

    assert disable_tracking(method) is method
    assert all(is_categorical_crossentropy(x) for x in (
        "categorical_crossentropy", jkeras.losses.categorical_crossentropy, CategoricalCrossentropy()))
    assert not any(is_categorical_crossentropy(x) for x in ("mse", jkeras.losses.mse, jkeras.losses.MeanSquaredError()))
    check_for_unexpected_keys("loss", {"a": 1}, ["a", "b"])
    with pytest.raises(ValueError, match=r"Unknown entries in loss dictionary: \['c'\]"):
        check_for_unexpected_keys("loss", {"a": 1, "c": 2}, ["a", "b"])
    g = np.array([3.0, 4.0], "float32")
    np.testing.assert_allclose(clip_norm(g, 1.0, np.linalg.norm(g)), g / 5.0, rtol=1e-6)   # Keras 2: g * c / n
    np.testing.assert_array_equal(clip_norm(g, 10.0, np.linalg.norm(g)), g)
    assert clip_norm(g, 0, 5.0) is g
    assert jkeras.optimizers.adam(lr=0.25).get_config()["learning_rate"] == 0.25


def test_list_pictures(tmp_path):
    from jkeras.preprocessing.image import list_pictures
    (tmp_path / "sub").mkdir()
    for name in ("a.jpg", "b.png", "notes.txt", "sub/c.jpeg", "sub/d.bmp"):
        (tmp_path / name).write_bytes(b"")
    found = sorted(os.path.relpath(p, tmp_path) for p in list_pictures(tmp_path))
    assert found == ["a.jpg", "b.png", "sub/c.jpeg", "sub/d.bmp"]
    assert [p.endswith("b.png") for p in list_pictures(tmp_path, ext="png")] == [True]


def test_keras20_config_with_legacy_layers_loads():
    """A Sequential config in Keras 2.0.8's form (a list of layers; Keras 1 keys as its get_config wrote them)."""
    glorot = {"class_name": "VarianceScaling", "config": {"scale": 1.0, "mode": "fan_avg",
                                                           "distribution": "uniform", "seed": None}}
    common = {"W_regularizer": None, "b_regularizer": None, "activity_regularizer": None, "W_constraint": None,
              "b_constraint": None, "bias": True, "init": glorot, "trainable": True}
    config = {"class_name": "Sequential", "keras_version": "2.0.8", "backend": "tensorflow", "config": [
        {"class_name": "MaxoutDense", "config": {**common, "name": "maxoutdense_1", "output_dim": 4,
                                                 "nb_feature": 2, "input_dim": 3,
                                                 "batch_input_shape": [None, 3], "dtype": "float32"}},
        {"class_name": "Highway", "config": {**common, "name": "highway_1", "activation": "relu",
                                             "input_dim": None}}]}
    with _quiet():
        warnings.simplefilter("ignore")
        model = models.model_from_json(json.dumps(config), custom_objects={
            "MaxoutDense": legacy_layers.MaxoutDense, "Highway": legacy_layers.Highway})
    maxout, highway = model.layers
    assert (maxout.output_dim, maxout.nb_feature, highway.get_config()["activation"]) == (4, 2, "relu")
    assert [tuple(w.shape) for w in model.weights] == [(2, 3, 4), (2, 4), (4, 4), (4, 4), (4,), (4,)]
    assert model.predict(np.ones((2, 3), "float32"), verbose=0).shape == (2, 4)

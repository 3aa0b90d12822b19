"""jkeras.utils: every name of tf.keras 2's `keras.utils` is there and runs; Keras 2's module paths
hold the same objects; the numpy helpers agree with tf.keras 2 (tests/fixtures/tf_keras_preprocessing/
utils.json), with Keras 3 or with their definitions."""
import json
import logging
import os
import time
import wave

import numpy as np
import pytest

import jkeras
from jkeras import utils

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_preprocessing")
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "tf_keras_names.json")


@pytest.fixture(scope="module")
def expected():
    with open(os.path.join(FIXTURES, "utils.json")) as f:
        return json.load(f)


def test_every_tf_keras_utils_name_and_keras2_module_path_is_there():
    names = ["CustomObjectScope", "FeatureSpace", "GeneratorEnqueuer", "OrderedEnqueuer", "Progbar",
             "Sequence", "SequenceEnqueuer", "TimedThread", "array_to_img", "audio_dataset_from_directory",
             "custom_object_scope", "deserialize_keras_object", "disable_interactive_logging",
             "enable_interactive_logging", "get_custom_objects", "get_file", "get_registered_name",
             "get_registered_object", "get_source_inputs", "image_dataset_from_directory", "img_to_array",
             "is_interactive_logging_enabled", "load_img", "model_to_dot", "normalize",
             "pack_x_y_sample_weight", "pad_sequences", "plot_model", "register_keras_serializable",
             "save_img", "serialize_keras_object", "set_random_seed", "split_dataset",
             "text_dataset_from_directory", "timeseries_dataset_from_array", "to_categorical",
             "to_ordinal", "unpack_x_y_sample_weight", "warmstart_embedding_matrix"]
    if os.path.exists(REFERENCE):
        with open(REFERENCE) as f:
            assert sorted(json.load(f)["names"]["utils"]) == names
    assert [n for n in names if not hasattr(utils, n)] == []
    from jkeras.saving import serialization
    from jkeras.utils import (conv_utils, data_utils, generic_utils, io_utils, layer_utils, np_utils,
                              vis_utils)
    assert data_utils.get_file is utils.get_file and data_utils.Sequence is utils.Sequence
    assert data_utils.OrderedEnqueuer is utils.OrderedEnqueuer
    assert generic_utils.Progbar is jkeras.callbacks.Progbar is utils.Progbar
    assert generic_utils.CustomObjectScope is serialization.CustomObjectScope is utils.CustomObjectScope
    assert generic_utils.custom_object_scope is utils.custom_object_scope
    assert generic_utils.get_custom_objects is utils.get_custom_objects
    assert np_utils.to_categorical is utils.to_categorical and np_utils.normalize is utils.normalize
    assert vis_utils.plot_model is utils.plot_model and vis_utils.model_to_dot is utils.model_to_dot
    assert layer_utils.get_source_inputs is utils.get_source_inputs
    assert layer_utils.print_summary is utils.print_summary
    assert io_utils.HDF5Matrix is utils.HDF5Matrix and callable(io_utils.ask_to_proceed_with_overwrite)
    assert callable(conv_utils.normalize_data_format)
    from jkeras.utils import multi_gpu_utils
    assert multi_gpu_utils.multi_gpu_model is utils.multi_gpu_model


def test_conv_utils_follow_the_convolution_arithmetic():
    from jkeras.utils import conv_utils
    assert [conv_utils.conv_output_length(10, 3, p, 2) for p in ("valid", "same", "full", "causal")] == [4, 5, 6, 5]
    assert conv_utils.conv_output_length(10, 3, "valid", 1, dilation=2) == 6
    assert conv_utils.conv_output_length(None, 3, "valid", 1) is None
    assert conv_utils.conv_input_length(4, 3, "valid", 2) == 9
    assert conv_utils.deconv_output_length(4, 3, "valid", stride=2) == 9
    assert conv_utils.deconv_output_length(4, 3, "same", stride=2) == 8
    assert conv_utils.deconv_output_length(4, 3, "same", output_padding=1, stride=2) == 8
    assert conv_utils.deconv_length(4, 2, 3, "valid") == 9
    assert conv_utils.normalize_tuple(3, 2, "kernel_size") == (3, 3)
    assert conv_utils.normalize_data_format(None) == jkeras.backend.image_data_format()
    assert conv_utils.normalize_padding("SAME") == "same"
    with pytest.raises(ValueError, match="data_format"):
        conv_utils.normalize_data_format("NHWC")
    with pytest.raises(ValueError, match="kernel_size"):
        conv_utils.normalize_tuple((1, 2, 3), 2, "kernel_size")
    kernel = np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5)
    np.testing.assert_array_equal(conv_utils.convert_kernel(kernel), kernel[::-1, ::-1])


def test_conv_output_length_matches_a_real_convolution():
    import jax
    import jax.numpy as jnp
    for padding, size, k, s, d in (("VALID", 11, 3, 2, 1), ("SAME", 11, 4, 3, 1), ("VALID", 9, 3, 1, 3)):
        out = jax.eval_shape(lambda x: jax.lax.conv_general_dilated(
            x, jnp.zeros((1, 1, k)), (s,), padding, rhs_dilation=(d,)), jnp.zeros((1, 1, size)))
        from jkeras.utils import conv_utils
        assert conv_utils.conv_output_length(size, k, padding.lower(), s, d) == out.shape[-1]


def test_layer_utils_on_a_model():
    from jkeras.utils import layer_utils
    inp_a, inp_b = jkeras.Input((4, 4, 1)), jkeras.Input((3,))
    conv = jkeras.layers.Conv2D(2, 3, name="conv")(inp_a)
    merged = jkeras.layers.Concatenate()([jkeras.layers.Flatten()(conv), inp_b])
    out = jkeras.layers.Dense(1, name="dense")(merged)
    model = jkeras.Model([inp_a, inp_b], out)
    sources = utils.get_source_inputs(out)
    assert len(sources) == 2 and sources[0] is inp_a and sources[1] is inp_b
    assert utils.count_params(model.weights) == sum(int(np.prod(w.shape)) for w in model.get_weights())
    kernel = model.get_layer("conv").get_weights()[0]
    utils.convert_all_kernels_in_model(model)
    np.testing.assert_array_equal(model.get_layer("conv").get_weights()[0], kernel[::-1, ::-1])
    lines = []
    layer_utils.print_summary(model, print_fn=lines.append)
    assert any("conv (Conv2D)" in line for line in lines)
    dense = jkeras.layers.Dense(2)
    dense.build((None, 2 * 3 * 4))
    w, b = dense.get_weights()
    layer_utils.convert_dense_weights_data_format(dense, (4, 2, 3), "channels_first")
    want = w.copy()
    for i in range(2):  # Keras 2's own loop, one output unit at a time
        want[:, i] = np.transpose(w[:, i].reshape(2, 3, 4), (2, 0, 1)).reshape(-1)
    np.testing.assert_array_equal(dense.get_weights()[0], want)


def test_numpy_helpers_match_tf_keras(expected):
    np.testing.assert_array_equal(utils.to_ordinal([0, 2, 1, 3], num_classes=4), expected["to_ordinal"])
    left, right = utils.split_dataset(np.arange(10), left_size=0.7, shuffle=True, seed=3)
    assert left.tolist() == expected["split_left"] and right.tolist() == expected["split_right"]
    ds = utils.timeseries_dataset_from_array(np.arange(30), np.arange(30) * 10, sequence_length=5,
                                             sequence_stride=3, sampling_rate=2, batch_size=3,
                                             start_index=2, end_index=27)
    assert [[b[0].tolist(), b[1].tolist()] for b in ds] == expected["timeseries_dataset"]
    single = utils.timeseries_dataset_from_array(np.arange(30), None, sequence_length=5, sequence_stride=3,
                                                 sampling_rate=2, batch_size=None, start_index=2, end_index=27)
    assert single[1].tolist() == expected["timeseries_dataset"][0][0][1] and len(single) == 6


def test_split_dataset_keeps_structures_and_checks_sizes():
    x, y = np.arange(12).reshape(6, 2), np.arange(6)
    (xa, ya), (xb, yb) = utils.split_dataset((x, y), right_size=2)
    assert xa.tolist() == x[:4].tolist() and yb.tolist() == [4, 5]
    left, right = utils.split_dataset({"a": x, "b": y}, left_size=3)
    assert sorted(left) == ["a", "b"] and right["b"].tolist() == [3, 4, 5]
    with pytest.raises(ValueError, match="At least one"):
        utils.split_dataset(x)
    with pytest.raises(ValueError, match="left_size"):
        utils.split_dataset(x, left_size=6)
    with pytest.raises(ValueError, match="same number"):
        utils.split_dataset((x, y[:3]), left_size=1)


def test_pack_unpack_and_warmstart():
    x, y, w = np.ones(2), np.zeros(2), np.ones(2)
    assert utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight(x, y, w)) == (x, y, w)
    assert utils.unpack_x_y_sample_weight(utils.pack_x_y_sample_weight(x)) == (x, None, None)
    assert utils.pack_x_y_sample_weight((x, y)) == ((x, y),)
    with pytest.raises(ValueError, match="format"):
        utils.unpack_x_y_sample_weight((x, y, w, w))
    base = np.arange(6.0).reshape(3, 2)
    new = utils.warmstart_embedding_matrix(["a", "b", "c"], ["c", "z", "a"], base, "zeros")
    np.testing.assert_array_equal(new, [[4.0, 5.0], [0.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="one row per"):
        utils.warmstart_embedding_matrix(["a"], ["a"], base)


def test_serialize_and_deserialize_both_keras_forms():
    import keras
    from jkeras.utils import generic_utils
    dense = jkeras.layers.Dense(3, activation="relu", name="d")
    new_form = utils.serialize_keras_object(dense)
    keras_form = keras.utils.serialize_keras_object(keras.layers.Dense(3, activation="relu", name="d"))
    for key in ("module", "class_name", "registered_name"):
        assert new_form[key] == keras_form[key], key
    back = utils.deserialize_keras_object(new_form)
    assert isinstance(back, jkeras.layers.Dense) and back.get_config() == dense.get_config()
    keras_l2 = keras.utils.serialize_keras_object(keras.regularizers.L2(0.01))
    assert utils.serialize_keras_object(jkeras.regularizers.L2(0.01)) == keras_l2
    keras_init = keras.utils.serialize_keras_object(keras.initializers.GlorotUniform(seed=1))
    from_keras = utils.deserialize_keras_object(keras_init)  # a dict Keras 3 wrote
    assert isinstance(from_keras, jkeras.initializers.GlorotUniform) and from_keras.seed == 1
    assert generic_utils.serialize_keras_object(dense) == {"class_name": "Dense", "config": dense.get_config()}
    assert generic_utils.serialize_keras_object(jkeras.activations.relu) == "relu"
    old = generic_utils.deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}},
                                                 module_objects=vars(jkeras.layers))
    assert old.units == 2
    with pytest.raises(ValueError, match="Unknown"):
        generic_utils.deserialize_keras_object("NoSuchThing", module_objects={})


def test_generic_utils_helpers_keras2_layers_import():
    from jkeras.utils import generic_utils as g

    def fn(a, b=1, *, c=2, **rest):
        return a

    assert g.has_arg(fn, "c") and not g.has_arg(fn, "d") and g.has_arg(fn, "d", accept_all=True)
    assert g.to_list(3) == [3] and g.to_list((1, 2)) == [(1, 2)] and g.to_list((1, 2), True) == [1, 2]
    assert g.unpack_singleton([5]) == 5 and g.unpack_singleton([5, 6]) == [5, 6]
    assert g.is_all_none([None, None]) and not g.is_all_none((None, 1))
    x = np.arange(10)
    assert g.slice_arrays(x, 2, 4).tolist() == [2, 3]
    assert [a.tolist() for a in g.slice_arrays([x, x * 2], np.array([1, 3]))] == [[1, 3], [2, 6]]
    assert g.slice_arrays(None) == [None]
    assert g.transpose_shape((16, 128, 128, 32), "channels_first", spatial_axes=(1, 2)) == (16, 32, 128, 128)
    assert g.transpose_shape([128, 128, 32], "channels_first", spatial_axes=(0, 1)) == [32, 128, 128]
    assert g.object_list_uid([x]) == str(id(x))


def test_interactive_logging_switch(caplog, capsys):
    from jkeras.utils.logging_utils import print_msg
    assert utils.is_interactive_logging_enabled()
    utils.disable_interactive_logging()
    try:
        assert not utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="jkeras"):
            print_msg("to the log")
        assert "to the log" in caplog.text and "to the log" not in capsys.readouterr().out
    finally:
        utils.enable_interactive_logging()
    print_msg("to stdout")
    assert capsys.readouterr().out == "to stdout\n"


def test_timed_thread_and_overwrite_prompt(monkeypatch):
    class Counter(utils.TimedThread):
        def __init__(self):
            super().__init__(interval=0.01)
            self.calls = 0

        def on_interval(self):
            self.calls += 1

    with Counter() as counter:
        deadline = time.time() + 5
        while counter.calls < 3 and time.time() < deadline:
            time.sleep(0.01)
    assert counter.calls >= 3
    counter.thread.join(1)
    assert not counter.is_alive()
    answers = iter(["maybe", "n"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    from jkeras.utils import io_utils
    assert io_utils.ask_to_proceed_with_overwrite("m.h5") is False


def test_feature_space_and_model_to_dot_say_what_to_use():
    with pytest.raises(NotImplementedError, match="preprocessing layers"):
        utils.FeatureSpace(features={})
    model = jkeras.Sequential([jkeras.layers.Dense(1, input_shape=(2,))])
    try:
        import pydot  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="model_to_dot_text"):
            utils.model_to_dot(model)
    else:
        assert utils.model_to_dot(model).get_nodes()


def _png_classes(root, sizes):
    from PIL import Image
    rng = np.random.RandomState(0)
    for name, count in sizes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(rng.randint(0, 256, (6 + i, 5, 3)).astype("uint8")).save(root / name / f"{i}.png")


def test_image_dataset_from_directory_trains_a_model(tmp_path):
    pytest.importorskip("PIL")
    _png_classes(tmp_path, {"a": 3, "b": 2})
    train, val = utils.image_dataset_from_directory(str(tmp_path), image_size=(4, 4), batch_size=2,
                                                    validation_split=0.4, subset="both", seed=1,
                                                    label_mode="categorical")
    assert train.class_names == ["a", "b"] and len(train.file_paths) == 3 and len(val.file_paths) == 2
    assert not set(train.file_paths) & set(val.file_paths)
    x, y = train[0]
    assert x.shape == (2, 4, 4, 3) and x.dtype == np.float32 and y.shape == (2, 2)
    model = jkeras.Sequential([jkeras.layers.Flatten(input_shape=(4, 4, 3)), jkeras.layers.Dense(2)])
    model.compile("sgd", "mse")
    assert np.isfinite(model.fit(train, epochs=1, verbose=0).history["loss"][0])
    unlabelled = utils.image_dataset_from_directory(str(tmp_path), labels=None, image_size=(3, 3),
                                                    shuffle=False, color_mode="grayscale")
    assert unlabelled[0].shape == (5, 3, 3, 1)
    with pytest.raises(ValueError, match="seed"):
        utils.image_dataset_from_directory(str(tmp_path), validation_split=0.2, subset="training")
    with pytest.raises(ValueError, match="interpolation"):
        utils.image_dataset_from_directory(str(tmp_path), interpolation="lanczos5")


def test_image_dataset_from_directory_matches_tf_keras(tmp_path, expected):
    pytest.importorskip("PIL")
    from test_preprocessing_image import png_folder
    png_folder(tmp_path)
    ds = utils.image_dataset_from_directory(str(tmp_path), image_size=(8, 10), batch_size=4, shuffle=False,
                                            label_mode="categorical")
    x, y = ds[0]
    with np.load(os.path.join(FIXTURES, "image_dataset.npz")) as want:
        np.testing.assert_allclose(x, want["x"], rtol=1e-5, atol=1e-3)  # tf.image.resize, bilinear
        np.testing.assert_array_equal(y, want["y"])
    both = utils.image_dataset_from_directory(str(tmp_path), image_size=(8, 10), seed=3,
                                              validation_split=0.5, subset="both")
    assert [[os.path.relpath(p, tmp_path) for p in d.file_paths] for d in both] == expected["image_dataset_files"]
    assert both[0].class_names == expected["image_dataset_class_names"]


def test_text_and_audio_datasets_from_directory(tmp_path):
    for label, texts in (("neg", ["bad", "awful film"]), ("pos", ["great"])):
        (tmp_path / "t" / label).mkdir(parents=True)
        for i, t in enumerate(texts):
            (tmp_path / "t" / label / f"{i}.txt").write_text(t)
    ds = utils.text_dataset_from_directory(str(tmp_path / "t"), shuffle=False, max_length=5)
    x, y = ds[0]
    assert x.tolist() == ["bad", "awful", "great"] and y.tolist() == [0, 0, 1]
    clips = {"yes": [np.array([0, 16384, -32768], "<i2")], "no": [np.array([100] * 5, "<i2")]}
    for label, arrays in clips.items():
        (tmp_path / "a" / label).mkdir(parents=True)
        for i, samples in enumerate(arrays):
            with wave.open(str(tmp_path / "a" / label / f"{i}.wav"), "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(8000)
                f.writeframes(samples.tobytes())
    audio, labels = utils.audio_dataset_from_directory(str(tmp_path / "a"), shuffle=False)[0]
    assert audio.shape == (2, 5, 1) and labels.tolist() == [0, 1]  # "no" sorts first
    np.testing.assert_array_equal(audio[1, :, 0], [0.0, 0.5, -1.0, 0.0, 0.0])
    fixed, _ = utils.audio_dataset_from_directory(str(tmp_path / "a"), shuffle=False,
                                                  output_sequence_length=2)[0]
    assert fixed.shape == (2, 2, 1)
    with pytest.raises(ValueError, match="resample"):
        utils.audio_dataset_from_directory(str(tmp_path / "a"), sampling_rate=16000)

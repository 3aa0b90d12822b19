"""Applications (VGG, ResNet, ResNetV2, ResNeXt, Xception, InceptionV3, InceptionResNetV2).

Each model Keras 3 has is built there with `weights=None`, its BatchNorm
statistics and biases randomised, its weights saved in the legacy `.h5` layout
and loaded into jkeras's model by file; then predictions, layer names and
parameter counts must match. Inputs are small (32x32, 71x71, 75x75) to keep
the file fast. ResNeXt, which Keras 3 lacks, is checked against the figures of
`keras_applications` 1.0.8 and against a real grouped convolution.
"""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import applications
from jkeras.applications import imagenet_utils

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")
from app_helpers import compare_with_keras  # noqa: E402

# Keras's own variables trip numpy 2's `__array__(copy=...)` deprecation thousands of times.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


# ---------------------------------------------------------------- models vs Keras 3

def test_vgg16_with_top(tmp_path, cheap_keras_init):
    compare_with_keras(tmp_path, "VGG16", (32, 32, 3), classes=10)


def test_vgg19_no_top_avg_pool(tmp_path, cheap_keras_init):
    compare_with_keras(tmp_path, "VGG19", (32, 32, 3), include_top=False, pooling="avg")


def test_resnet50_with_top(tmp_path, cheap_keras_init):
    compare_with_keras(tmp_path, "ResNet50", (32, 32, 3), classes=10)


def test_resnet50v2_no_top_max_pool(tmp_path, cheap_keras_init):
    compare_with_keras(tmp_path, "ResNet50V2", (32, 32, 3), include_top=False, pooling="max")


def test_xception_with_top(tmp_path, cheap_keras_init):
    compare_with_keras(tmp_path, "Xception", (71, 71, 3), classes=10)


def test_inception_v3_with_top(tmp_path, cheap_keras_init):
    model, _ = compare_with_keras(tmp_path, "InceptionV3", (75, 75, 3), classes=10)
    names = [layer.name for layer in model.layers]
    assert names[1:5] == ["conv2d", "batch_normalization", "activation", "conv2d_1"]
    assert names[-5:] == ["concatenate_1", "activation_93", "mixed10", "avg_pool", "predictions"]


@pytest.mark.slow
def test_inception_resnet_v2_with_top(tmp_path, cheap_keras_init):
    model, _ = compare_with_keras(tmp_path, "InceptionResNetV2", (75, 75, 3), batch=1,
                                  classes=10)
    assert [layer.name for layer in model.layers][-5:] == [
        "conv_7b", "conv_7b_bn", "conv_7b_ac", "avg_pool", "predictions"]


# Figures measured from Keras 3.15.1 (shared/reference/APPLICATIONS.md): total params with the
# 1000-class top, number of layers, last three layer names. The blocks are the ones ResNet50 and
# ResNet50V2 share, which are compared numerically with Keras above; these only stack more.
_DEEP_RESNETS = {
    "ResNet101": (44_707_176, 347, ["conv5_block3_out", "avg_pool", "predictions"]),
    "ResNet152": (60_419_944, 517, ["conv5_block3_out", "avg_pool", "predictions"]),
    "ResNet101V2": (44_675_560, 379, ["post_relu", "avg_pool", "predictions"]),
    "ResNet152V2": (60_380_648, 566, ["post_relu", "avg_pool", "predictions"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_DEEP_RESNETS))
def test_deep_resnets_structure(name):
    params, n_layers, last = _DEEP_RESNETS[name]
    model = getattr(applications, name)(weights=None, input_shape=(32, 32, 3))
    names = [layer.name for layer in model.layers]
    assert model.count_params() == params
    assert len(names) == n_layers
    assert names[1:3] == ["conv1_pad", "conv1_conv"] and names[-3:] == last
    assert model.name == name.lower()


# ---------------------------------------------------------------- ResNeXt (keras_applications 1.0.8)

@pytest.mark.slow
def test_resnext50_structure():
    model = applications.ResNeXt50(weights=None)
    names = [layer.name for layer in model.layers]
    assert model.count_params() == 25_097_128
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 25_028_904
    assert len(names) == 241
    assert names[1:5] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu"]
    assert names[-5:] == ["conv5_block3_3_bn", "conv5_block3_add", "conv5_block3_out",
                          "avg_pool", "probs"]
    conv = model.get_layer("conv2_block1_2_conv")
    assert type(conv).__name__ == "DepthwiseConv2D"
    assert [tuple(w.shape) for w in conv.weights] == [(3, 3, 128, 4)]
    assert model.output_shape == (None, 1000)


def test_resnext_block_is_a_grouped_convolution():
    """DepthwiseConv2D(depth_multiplier=c) + the `_2_reduce` sum == Conv2D with 32 groups."""
    from jkeras.applications.resnext import _sum_group_inputs
    groups, c = 32, 2
    filters = groups * c
    conv = jkeras.layers.DepthwiseConv2D(3, depth_multiplier=c, use_bias=False)
    x = np.random.default_rng(1).normal(size=(2, 6, 6, filters)).astype(np.float32)
    y = np.asarray(conv(x))  # (2, 4, 4, filters * c)
    ours = np.asarray(_sum_group_inputs(y.reshape(2, 4, 4, groups, c, c))).reshape(2, 4, 4, filters)

    kernel = np.asarray(conv.get_weights()[0])  # (3, 3, filters, c): input g*c+j -> output g*c+m
    grouped = kernel.reshape(3, 3, groups, c, c).transpose(0, 1, 3, 2, 4).reshape(3, 3, c, filters)
    expected = jax.lax.conv_general_dilated(
        jnp.asarray(x), jnp.asarray(grouped), (1, 1), "VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=groups)
    np.testing.assert_allclose(ours, np.asarray(expected), atol=1e-5)


def test_resnext_needs_static_input_shape():
    with pytest.raises(ValueError, match="static `input_shape`"):
        applications.ResNeXt50(weights=None, include_top=False)


# ---------------------------------------------------------------- weights="imagenet" from disk

def test_imagenet_weights_missing_names_file_and_folders(homes, cheap_keras_init):
    jhome, uhome = homes
    with pytest.raises(FileNotFoundError) as info:
        applications.VGG16(weights="imagenet")
    message = str(info.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels.h5" in message
    assert str(jhome / "models") in message
    assert str(uhome / ".keras" / "models") in message
    with pytest.raises(FileNotFoundError, match="resnet50v2_weights_tf_dim_ordering_tf_kernels_notop"):
        applications.ResNet50V2(weights="imagenet", include_top=False)


@pytest.mark.parametrize("where", ["jkeras", "keras"])
def test_imagenet_weights_load_from_models_folder(homes, where):
    jhome, uhome = homes
    source = applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    folder = jhome / "models" if where == "jkeras" else uhome / ".keras" / "models"
    folder.mkdir(parents=True)
    source.save_weights(str(folder / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"))
    jkeras.backend.clear_session()
    model = applications.VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_from_path_and_bad_weights(tmp_path):
    source = applications.VGG19(weights=None, include_top=False, input_shape=(32, 32, 3))
    path = str(tmp_path / "w.h5")
    source.save_weights(path)
    model = applications.VGG19(weights=path, include_top=False, input_shape=(32, 32, 3))
    np.testing.assert_array_equal(source.get_weights()[-1], model.get_weights()[-1])
    with pytest.raises(ValueError, match="The `weights` argument should be either"):
        applications.VGG16(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.ResNet50(weights="imagenet", classes=10)
    with pytest.raises(ValueError, match="Only `None` and `softmax`"):
        imagenet_utils.validate_activation("relu", "imagenet")
    imagenet_utils.validate_activation("relu", None)
    imagenet_utils.validate_activation(None, "imagenet")


def test_fine_tune_top_of_frozen_base():
    """The FAQ's flow: freeze the base, compile, train the new top; only the top changes."""
    base = applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    x = jkeras.layers.GlobalAveragePooling2D()(base.output)
    out = jkeras.layers.Dense(3, activation="softmax")(x)
    model = jkeras.Model(base.input, out)
    for layer in base.layers:
        layer.trainable = False
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before_base, before_top = base.get_weights(), model.layers[-1].get_weights()
    rng = np.random.default_rng(3)
    data = rng.uniform(0, 1, (8, 32, 32, 3)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    model.fit(data, labels, batch_size=4, epochs=1, verbose=0)
    for a, b in zip(before_base, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(before_top[0], model.layers[-1].get_weights()[0])


# ---------------------------------------------------------------- shared utilities

def test_input_tensor_and_source_inputs():
    inp = jkeras.Input((32, 32, 3))
    scaled = jkeras.layers.Rescaling(1.0 / 255)(inp) if hasattr(jkeras.layers, "Rescaling") \
        else jkeras.layers.Lambda(lambda t: t / 255.0)(inp)
    model = applications.VGG16(weights=None, include_top=False, input_tensor=scaled,
                               pooling="max")
    assert model.inputs[0] is inp
    assert model.output_shape == (None, 512)


def test_input_tensor_not_made_by_a_layer_starts_a_new_input():
    """Keras 2's applications: a tensor that is not a layer's output (a `K` op's result, as
    neural_doodle's `VGG19(input_tensor=K.concatenate([K.variable(style), placeholder]))`, or an
    array) gets `Input(tensor=...)`; the model starts there and feeds it."""
    from jkeras import backend as K
    style = np.random.default_rng(0).random((1, 32, 32, 3)).astype("float32")
    target = K.placeholder((1, 32, 32, 3))
    images = K.concatenate([K.variable(style), target], axis=0)
    model = applications.VGG16(weights=None, include_top=False, input_tensor=images)
    assert type(model.layers[0]).__name__ == "InputLayer"
    assert [layer.name for layer in model.layers[1:3]] == ["block1_conv1", "block1_conv2"]
    assert model.output_shape == (2, 1, 1, 512)
    fed = applications.VGG16(weights=None, include_top=False, input_tensor=style)
    assert type(fed.layers[0]).__name__ == "InputLayer" and fed.output_shape == (1, 1, 1, 512)


@pytest.mark.parametrize("args", [
    (None, 224, 32, "channels_last", True, None),
    (None, 224, 32, "channels_last", False, None),
    (None, 224, 32, "channels_first", False, "imagenet"),
    ((150, 150, 3), 224, 32, "channels_last", False, "imagenet"),
    ((3, 150, 150), 224, 32, "channels_first", False, None),
    ((224, 224, 3), 224, 32, "channels_last", True, "imagenet"),
    ((150, 150, 3), 224, 32, "channels_last", True, "imagenet"),
    ((20, 20, 3), 224, 32, "channels_last", False, None),
    ((64, 64, 1), 224, 32, "channels_last", False, "imagenet"),
    ((64, 64), 224, 32, "channels_last", False, None),
    ((None, None, 3), 224, 32, "channels_last", True, None),
])
def test_obtain_input_shape_matches_keras(args):
    from keras.src.applications import imagenet_utils as keras_utils

    def outcome(fn):
        try:
            return tuple(fn(*args))
        except ValueError as error:
            return ("ValueError", str(error))

    assert outcome(imagenet_utils.obtain_input_shape) == outcome(keras_utils.obtain_input_shape)


@pytest.mark.parametrize("mode", ["caffe", "tf", "torch"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("rank", [3, 4])
def test_preprocess_input_matches_keras(mode, data_format, rank):
    from keras.src.applications import imagenet_utils as keras_utils
    shape = (2, 5, 4, 3)[4 - rank:] if data_format == "channels_last" else (2, 3, 5, 4)[4 - rank:]
    x = np.random.default_rng(2).uniform(0, 255, shape).astype(np.float32)
    expected = keras_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(imagenet_utils.preprocess_input(x.copy(), data_format, mode),
                               expected, rtol=1e-6, atol=1e-5)
    got = imagenet_utils.preprocess_input(jnp.asarray(x), data_format, mode)
    assert isinstance(got, jax.Array)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6, atol=1e-4)


def test_preprocess_input_family_modes_and_errors():
    x = np.full((1, 2, 2, 3), 255.0, np.float32)
    assert np.allclose(applications.vgg16.preprocess_input(x.copy())[0, 0, 0],
                       [255 - 103.939, 255 - 116.779, 255 - 123.68])
    assert np.allclose(applications.resnet.preprocess_input(x.copy()),
                       applications.vgg19.preprocess_input(x.copy()))
    for module in (applications.resnet_v2, applications.xception, applications.inception_v3,
                   applications.inception_resnet_v2):
        assert np.allclose(module.preprocess_input(x.copy()), 1.0)
    torch = applications.resnext.preprocess_input(x.copy())
    assert np.allclose(torch[0, 0, 0], (1 - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225])
    ints = np.full((1, 2, 2, 3), 255, np.uint8)
    assert applications.xception.preprocess_input(ints).dtype == np.float32
    with pytest.raises(ValueError, match="Expected mode"):
        imagenet_utils.preprocess_input(x, mode="bgr")
    with pytest.raises(ValueError, match="Expected data_format"):
        imagenet_utils.preprocess_input(x, data_format="nhwc")


def test_decode_predictions(homes, monkeypatch):
    jhome, uhome = homes
    monkeypatch.setattr(imagenet_utils, "_CLASS_INDEX", None)
    preds = np.zeros((2, 1000), np.float32)
    preds[0, [7, 3, 999]] = [0.5, 0.3, 0.2]
    preds[1, 42] = 1.0
    with pytest.raises(FileNotFoundError) as info:
        applications.resnet50.decode_predictions(preds)
    assert "imagenet_class_index.json" in str(info.value)
    assert str(jhome / "models") in str(info.value)
    assert str(uhome / ".keras" / "models") in str(info.value)

    (jhome / "models").mkdir()
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    (jhome / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    top = applications.vgg16.decode_predictions(preds, top=3)
    assert [r[:2] for r in top[0]] == [("n00000007", "class_7"), ("n00000003", "class_3"),
                                       ("n00000999", "class_999")]
    assert np.isclose(top[0][0][2], 0.5)
    assert top[1][0][:2] == ("n00000042", "class_42") and len(top[1]) == 3
    with pytest.raises(ValueError, match="shape"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


def test_package_exports():
    for name in ("VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2",
                 "ResNet101V2", "ResNet152V2", "ResNeXt50", "ResNeXt101", "Xception",
                 "InceptionV3", "InceptionResNetV2"):
        assert callable(getattr(applications, name))
    assert applications.resnet50.ResNet50 is applications.ResNet50
    assert applications.resnet.ResNet50 is applications.ResNet50
    assert "MobileNet" in dir(applications) and "DenseNet121" in applications.__all__
    with pytest.raises(AttributeError):
        applications.NoSuchNet

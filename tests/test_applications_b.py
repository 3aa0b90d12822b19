"""Applications (MobileNet, MobileNetV2, DenseNet121/169/201, NASNetMobile/Large) against Keras 3.

Each model is built in Keras 3 with `weights=None` at a small input, its BatchNorm
statistics, gammas, betas and biases randomised, its weights saved in the legacy
`.h5` layout and loaded into jkeras's model by file (`weights=path`); then
predictions, layer names (auto-named ones included, both built in a fresh
session) and parameter counts must match. The deepest models (DenseNet169/201,
NASNetLarge) are compared for structure and weight shapes only, and marked slow.
"""
import numpy as np
import pytest

import jkeras
from jkeras import applications

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")
from app_helpers import (  # noqa: E402
    compare_structure,
    compare_with_keras,
    jkeras_model,
    keras_model,
)


# ---------------------------------------------------------------- models vs Keras 3

def test_mobilenet_alpha_and_depth_multiplier(tmp_path, cheap_keras_init):
    model, _ = compare_with_keras(tmp_path, "MobileNet", (32, 32, 3), alpha=0.25,
                                  depth_multiplier=2, dropout=0.2, classes=10)
    assert model.name == "mobilenet_0.25_32"
    assert [w.shape for w in model.get_layer("conv_dw_2").weights] == [(3, 3, 16, 2)]
    assert [layer.name for layer in model.layers[-5:]] == [
        "global_average_pooling2d", "dropout", "conv_preds", "reshape_2", "predictions"]


def test_mobilenet_v2_odd_non_square_input(tmp_path, cheap_keras_init):
    # Odd sizes exercise `correct_pad` in the strided blocks.
    model, _ = compare_with_keras(tmp_path, "MobileNetV2", (35, 33, 3), alpha=0.35, classes=10,
                                  classifier_activation=None)
    assert model.name == "mobilenetv2_0.35_35"
    # 18x17 after the stem: Keras pads the even axis (0, 1) and the odd one (1, 1).
    assert tuple(map(tuple, model.get_layer("block_1_pad").padding)) == ((0, 1), (1, 1))
    assert tuple(map(tuple, model.get_layer("block_3_pad").padding)) == ((1, 1), (1, 1))
    assert type(model.get_layer("block_2_add")).__name__ == "Add"


def _as_tf_keras_file(source, target, rename):
    """Rewrite a Keras 3 weights file in tf.keras 2's layout (`name/kernel:0`), renaming layers."""
    with h5py.File(source, "r") as src, h5py.File(target, "w") as dst:
        dst.attrs["backend"], dst.attrs["keras_version"] = "tensorflow", "2.21.0"
        names = [n.decode() if isinstance(n, bytes) else n for n in src.attrs["layer_names"]]
        dst.attrs["layer_names"] = [rename.get(n, n).encode() for n in names]
        for name in names:
            new = rename.get(name, name)
            group = dst.create_group(new)  # a '/' in `new` nests groups, as tf.keras's files do
            weight_names = [w.decode() if isinstance(w, bytes) else w
                            for w in src[name].attrs["weight_names"]]
            new_names = [f"{new}/{w.rsplit('/', 1)[-1]}:0" for w in weight_names]
            group.attrs["weight_names"] = [w.encode() for w in new_names]
            for old_w, new_w in zip(weight_names, new_names):
                group[new_w] = np.asarray(src[name][old_w])


def test_densenet121(tmp_path, cheap_keras_init):
    model, expected = compare_with_keras(tmp_path, "DenseNet121", (32, 32, 3), classes=10,
                                         classifier_activation=None)
    names = [layer.name for layer in model.layers]
    assert names[1:5] == ["zero_padding2d", "conv1_conv", "conv1_bn", "conv1_relu"]
    assert names[-5:] == ["conv5_block16_concat", "bn", "relu", "avg_pool", "predictions"]
    assert len(names) == 429

    # Keras's ImageNet DenseNet files come from tf.keras, whose stem is `conv1/conv`, ...:
    # loading by topological order does not depend on those names.
    tf_path = str(tmp_path / "densenet121_tf_keras.h5")
    _as_tf_keras_file(str(tmp_path / "DenseNet121.h5"), tf_path,
                      {f"conv1_{s}": f"conv1/{s}" for s in ("conv", "bn", "relu")})
    with h5py.File(tf_path, "r") as f:
        assert "conv1/conv/kernel:0" in f["conv1/conv"]
    for w in model.weights:
        w.assign(np.zeros(w.shape, np.float32))
    model.load_weights(tf_path)
    x = np.random.default_rng(1).uniform(-1.0, 1.0, (2, 32, 32, 3)).astype(np.float32)
    got = np.asarray(model.predict(x, verbose=0))
    np.testing.assert_array_less(np.max(np.abs(got - expected)),
                                 1e-4 * max(1.0, float(np.max(np.abs(expected)))))


def test_nasnet_mobile(tmp_path, cheap_keras_init):
    # Its softmax would be saturated at this size, so the logits are compared (relatively).
    model, _ = compare_with_keras(tmp_path, "NASNetMobile", (32, 32, 3), batch=1, classes=10,
                                  classifier_activation=None)
    names = [layer.name for layer in model.layers]
    assert len(names) == 771
    assert names[1:5] == ["stem_conv1", "stem_bn1", "activation", "reduction_conv_1_stem_1"]
    assert names[-5:] == ["normal_add_5_12", "normal_concat_12", "activation_187",
                          "global_average_pooling2d", "predictions"]


# Figures measured from Keras 3.15.1 at the default input with the 1000-class top
# (shared/reference/APPLICATIONS.md): total params and number of layers. Parameter
# counts do not depend on the input size, so a 32x32 input gives the same totals.
_DEEP = {
    "DenseNet169": (14_307_880, 597, ["conv5_block32_concat", "bn", "relu"]),
    "DenseNet201": (20_242_984, 709, ["conv5_block32_concat", "bn", "relu"]),
    "NASNetLarge": (88_949_818, 1041, ["normal_add_5_18", "normal_concat_18", "activation_259"]),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(_DEEP))
def test_deep_models_structure_and_weight_shapes(tmp_path, cheap_keras_init, name):
    params, n_layers, last = _DEEP[name]
    path = str(tmp_path / f"{name}.h5")
    theirs = keras_model(name, path, input_shape=(32, 32, 3))
    ours = jkeras_model(name, weights=path, input_shape=(32, 32, 3))  # loading checks every shape
    compare_structure(ours, theirs)
    assert ours.count_params() == params
    assert len(ours.layers) == n_layers
    assert [layer.name for layer in ours.layers[-5:-2]] == last
    np.testing.assert_array_equal(np.asarray(ours.layers[-1].get_weights()[0]),
                                  np.asarray(theirs.layers[-1].get_weights()[0]))


# ---------------------------------------------------------------- arguments and variants

def test_no_top_pooling_and_input_tensor(cheap_keras_init):
    inp = jkeras.Input((32, 32, 3))
    model = jkeras_model("MobileNetV2", weights=None, alpha=0.35, include_top=False,
                         input_tensor=inp, pooling="avg")
    assert model.inputs[0] is inp
    assert model.output_shape == (None, 1280)
    assert model.name == "mobilenetv2_0.35_None"  # as Keras: rows of the (None, None, 3) shape

    model = jkeras_model("MobileNet", weights=None, alpha=0.25, depth_multiplier=2,
                         include_top=False, pooling="max")
    assert model.input_shape == (None, None, None, 3)
    assert model.output_shape == (None, 256)
    assert type(model.layers[-1]).__name__ == "GlobalMaxPooling2D"


def test_imagenet_weights_from_models_folder(homes, tmp_path, cheap_keras_init):
    """`weights="imagenet"` reads Keras's own file name, which names alpha and the input size."""
    jhome, _ = homes
    (jhome / "models").mkdir()
    file_name = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    theirs = keras_model("MobileNetV2", str(jhome / "models" / file_name), alpha=0.35,
                         include_top=False, input_shape=(96, 96, 3))
    jkeras.backend.clear_session()
    ours = applications.MobileNetV2(alpha=0.35, include_top=False, weights="imagenet",
                                    input_shape=(96, 96, 3))
    assert ours.name == "mobilenetv2_0.35_96"
    assert len(ours.weights) == len(theirs.weights)
    for a, b in zip(ours.weights, theirs.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b.numpy()))


@pytest.mark.parametrize("build, file_name", [
    (lambda: applications.MobileNet(), "mobilenet_1_0_224_tf.h5"),
    (lambda: applications.MobileNet(alpha=0.5, include_top=False, input_shape=(160, 160, 3)),
     "mobilenet_5_0_160_tf_no_top.h5"),
    (lambda: applications.MobileNetV2(alpha=1.4),
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.4_224.h5"),
    (lambda: applications.DenseNet121(), "densenet121_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.DenseNet169(include_top=False),
     "densenet169_weights_tf_dim_ordering_tf_kernels_notop.h5"),
    (lambda: applications.DenseNet201(), "densenet201_weights_tf_dim_ordering_tf_kernels.h5"),
    (lambda: applications.NASNetMobile(), "nasnet_mobile.h5"),
    (lambda: applications.NASNetMobile(include_top=False), "nasnet_mobile_no_top.h5"),
    (lambda: applications.NASNetLarge(), "nasnet_large.h5"),
    (lambda: applications.NASNetLarge(include_top=False, input_shape=(331, 331, 3)),
     "nasnet_large_no_top.h5"),
])
def test_missing_imagenet_file_is_named(homes, build, file_name):
    jhome, uhome = homes
    with pytest.raises(FileNotFoundError) as info:
        build()
    assert file_name in str(info.value)
    assert str(jhome / "models") in str(info.value)


def test_mobilenet_non_imagenet_size_falls_back_to_224(homes):
    with pytest.warns(UserWarning, match="Weights for input shape"):
        with pytest.raises(FileNotFoundError, match="mobilenet_2_5_224_tf_no_top.h5"):
            applications.MobileNet(alpha=0.25, include_top=False, input_shape=(100, 100, 3))


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="depth multiplier must be 1"):
        applications.MobileNet(depth_multiplier=2)
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNet(alpha=0.3)
    with pytest.raises(ValueError, match="alpha must be one of"):
        applications.MobileNetV2(alpha=0.2)
    with pytest.raises(ValueError, match="`classes` should be 1000"):
        applications.DenseNet121(classes=10)
    with pytest.raises(ValueError, match="The `weights` argument should be either"):
        applications.NASNetMobile(weights=str(tmp_path / "missing.h5"))
    with pytest.raises(ValueError, match="at least 32x32"):
        applications.MobileNetV2(weights=None, input_shape=(31, 31, 3))
    with pytest.raises(ValueError, match="penultimate_filters"):
        applications.nasnet.NASNet(weights=None, input_shape=(32, 32, 3), penultimate_filters=100)
    previous = jkeras.backend.image_data_format()
    jkeras.backend.set_image_data_format("channels_first")
    try:
        for build in (applications.DenseNet121, applications.NASNetMobile):
            with pytest.raises(ValueError, match="channels_first"):
                build(weights=None)
    finally:
        jkeras.backend.set_image_data_format(previous)


def test_mobilenet_channels_first(cheap_keras_init):
    previous = jkeras.backend.image_data_format()
    jkeras.backend.set_image_data_format("channels_first")
    try:
        model = jkeras_model("MobileNet", weights=None, alpha=0.25, depth_multiplier=2,
                             include_top=False, input_shape=(3, 32, 32), pooling="avg")
    finally:
        jkeras.backend.set_image_data_format(previous)
    assert model.output_shape == (None, 256)
    assert model.get_layer("conv1_bn").axis in (1, [1], (1,))


# ---------------------------------------------------------------- preprocessing and decoding

@pytest.mark.parametrize("module", ["mobilenet", "mobilenet_v2", "densenet", "nasnet"])
def test_preprocess_input_matches_keras(module):
    import importlib
    theirs = importlib.import_module(f"keras.applications.{module}")
    ours = getattr(applications, module)
    x = np.random.default_rng(2).uniform(0, 255, (2, 4, 5, 3)).astype(np.float32)
    np.testing.assert_allclose(ours.preprocess_input(x.copy()), theirs.preprocess_input(x.copy()),
                               rtol=1e-6, atol=1e-5)
    with pytest.raises(ValueError, match="shape"):
        ours.decode_predictions(np.zeros((2, 10)))


def test_package_exports():
    for name in ("MobileNet", "MobileNetV2", "DenseNet121", "DenseNet169", "DenseNet201",
                 "NASNetMobile", "NASNetLarge"):
        assert callable(getattr(applications, name))
    assert applications.densenet.DenseNet121 is applications.DenseNet121
    assert applications.nasnet.NASNetLarge is applications.NASNetLarge

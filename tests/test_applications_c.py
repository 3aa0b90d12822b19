"""Applications tf.keras added after Keras 2.3, against Keras 3: EfficientNet, EfficientNetV2,
ConvNeXt, MobileNetV3.

A small member of each family is built in Keras 3 with `weights=None` at 32x32,
every weight randomised (BatchNorm statistics, Normalization statistics,
LayerScale included, so none is a no-op), saved in the legacy `.h5` layout and
loaded into jkeras's model by topology (`weights=path`) and by name; the
weight-carrying layers (names, shapes, order) and the predictions must match.
RegNet and ResNetRS, which Keras 3 lacks, are in `test_applications_c_tf.py`;
parameter and layer counts of all 53 builders in `test_applications_c_counts.py`.
"""
import jax
import numpy as np
import pytest

import jkeras
from jkeras import applications

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")

pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


def _randomise(model, rng):
    """Random values for every non-kernel weight, so statistics and scales all count."""
    for layer in model.layers:
        sublayers = getattr(layer, "layers", None) or [layer]
        for sub in sublayers:
            values = []
            for w in sub.weights:
                v = np.asarray(w.numpy())
                name = w.path.rsplit("/", 1)[-1]
                if name in ("moving_variance", "variance"):
                    v = rng.uniform(0.5, 1.5, v.shape)
                elif name in ("gamma", "variable"):  # Keras 3 names LayerScale's gamma `variable`
                    v = rng.uniform(0.8, 1.2, v.shape)
                elif name in ("moving_mean", "beta", "bias", "mean"):
                    v = rng.normal(0.0, 0.05, v.shape)
                values.append(v.astype(w.numpy().dtype))
            if values:
                sub.set_weights(values)


def _keras_file(name, path, **kwargs):
    """Keras 3's `name(weights=None, **kwargs)`, randomised and saved to `path` (legacy h5)."""
    from keras.src.legacy.saving import legacy_h5_format
    keras.backend.clear_session()
    model = getattr(keras.applications, name)(weights=None, **kwargs)
    _randomise(model, np.random.default_rng(0))
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return model


def _weighted(model):
    """`(layer name, [weight shapes])` of every layer with weights, in order."""
    return [(layer.name, [tuple(w.shape) for w in layer.weights])
            for layer in model.layers if layer.weights]


def compare(tmp_path, name, input_shape=(32, 32, 3), **kwargs):
    """Keras 3 and jkeras `name` from one weights file: same weighted layers and predictions,
    loading by topology and by name."""
    path = str(tmp_path / f"{name}.h5")
    theirs = _keras_file(name, path, input_shape=input_shape, **kwargs)
    # Pixels in [0, 255]: every model here scales its own inputs.
    x = np.random.default_rng(1).uniform(0, 255, (2,) + input_shape).astype(np.float32)
    expected = np.asarray(theirs.predict(x, verbose=0))

    jkeras.backend.clear_session()
    ours = getattr(applications, name)(weights=path, input_shape=input_shape, **kwargs)
    assert ours.name == theirs.name
    assert _weighted(ours) == _weighted(theirs)
    assert ours.count_params() == theirs.count_params()
    got = np.asarray(ours.predict(x, verbose=0))
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_array_less(np.max(np.abs(got - expected)), 1e-4 * scale)
    if kwargs.get("classifier_activation", "softmax") == "softmax" and \
            kwargs.get("include_top", True):
        assert float(np.max(expected)) < 0.999  # not saturated, so the comparison means something

    # By name, into the same model (its compiled predict is reused) after wiping its weights.
    ours.set_weights([np.zeros_like(w) for w in ours.get_weights()])
    ours.load_weights(path, by_name=True)
    np.testing.assert_array_less(np.max(np.abs(ours.predict(x, verbose=0) - expected)),
                                 1e-4 * scale)
    return ours


@pytest.mark.slow
def test_efficientnet_b0(tmp_path, cheap_keras_init):
    model = compare(tmp_path, "EfficientNetB0", classes=10)
    names = [layer.name for layer in model.layers]
    assert names[1:5] == ["rescaling", "normalization", "stem_conv_pad", "stem_conv"]
    assert [w.path for w in model.get_layer("normalization").weights] == [
        "normalization/mean", "normalization/variance", "normalization/count"]
    assert model.get_layer("block2b_drop").noise_shape == (None, 1, 1, 1)


def test_efficientnet_v2_b0_no_top(tmp_path, cheap_keras_init):
    model = compare(tmp_path, "EfficientNetV2B0", include_top=False, pooling="avg")
    assert model.name == "efficientnetv2-b0"
    assert model.get_layer("normalization").weights == []  # fixed ImageNet statistics


@pytest.mark.slow
def test_convnext_tiny(tmp_path, cheap_keras_init):
    model = compare(tmp_path, "ConvNeXtTiny", classes=10, classifier_activation=None)
    stem = model.get_layer("convnext_tiny_stem")
    assert type(stem).__name__ == "Sequential"
    assert [w.path for w in model.get_layer("convnext_tiny_stage_0_block_0_layer_scale").weights] \
        == ["convnext_tiny_stage_0_block_0_layer_scale/gamma"]
    assert [layer.name for layer in model.layers][-4:] == [
        "tf.__operators__.add_17", "convnext_tiny_head_gap", "convnext_tiny_head_layernorm",
        "convnext_tiny_head_dense"]


def test_mobilenet_v3_small(tmp_path, cheap_keras_init):
    model = compare(tmp_path, "MobileNetV3Small", classes=10, alpha=0.75)
    names = [layer.name for layer in model.layers]
    # tf.keras's hard-sigmoid op layers: `x + 3`, ReLU(6), `* (1 / 6)`.
    assert names[1:6] == ["rescaling", "conv", "conv_bn", "tf.__operators__.add", "re_lu"]
    assert names[6:8] == ["tf.math.multiply", "multiply"]
    assert names[-4:] == ["dropout", "logits", "flatten", "predictions"]


# ---------------------------------------------------------------- layers these models need

def test_rescaling_and_normalization_match_keras():
    x = np.random.default_rng(0).normal(3.0, 2.0, (4, 5, 6, 3)).astype(np.float32)
    cases = [(jkeras.layers.Rescaling(1 / 127.5, offset=-1.0),
              keras.layers.Rescaling(1 / 127.5, offset=-1.0)),
             (jkeras.layers.Rescaling([0.5, 2.0, 3.0]), keras.layers.Rescaling([0.5, 2.0, 3.0])),
             (jkeras.layers.Normalization(mean=[1, 2, 3], variance=[4, 5, 6]),
              keras.layers.Normalization(mean=[1, 2, 3], variance=[4, 5, 6])),
             (jkeras.layers.Normalization(mean=2.0, variance=3.0, invert=True, axis=None),
              keras.layers.Normalization(mean=2.0, variance=3.0, invert=True, axis=None))]
    for ours, theirs in cases:
        np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-6, atol=1e-6)
        config = ours.get_config()
        for key in ("scale", "offset", "axis", "mean", "variance", "invert"):
            if key in config:
                assert config[key] == theirs.get_config()[key]
        again = type(ours).from_config(config)
        np.testing.assert_array_equal(np.asarray(again(x)), np.asarray(ours(x)))


@pytest.mark.parametrize("axis", [-1, (1, -1), None])
def test_normalization_adapt_matches_keras(axis):
    x = np.random.default_rng(1).normal(3.0, 2.0, (6, 5, 4, 3)).astype(np.float32)
    ours, theirs = jkeras.layers.Normalization(axis=axis), keras.layers.Normalization(axis=axis)
    ours.adapt(x)
    theirs.adapt(x)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_normalization_adapt_batches_and_errors():
    x = np.random.default_rng(2).normal(-1.0, 3.0, (9, 4)).astype(np.float32)
    layer = jkeras.layers.Normalization()
    layer.adapt([x[:2], x[2:5], x[5:]])  # Keras's batch-by-batch combination
    mean, variance, count = layer.get_weights()
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(variance, x.var(0), rtol=1e-5, atol=1e-6)
    assert count.shape == () and mean.shape == (4,)
    with pytest.raises(ValueError, match="sizes"):
        layer.adapt(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="empty"):
        jkeras.layers.Normalization().adapt([])
    with pytest.raises(ValueError, match="both `mean` and `variance`"):
        jkeras.layers.Normalization(mean=1.0)
    with pytest.raises(ValueError, match="cannot be used"):
        jkeras.layers.Normalization(mean=1.0, variance=2.0).adapt(x)
    with pytest.raises(ValueError, match="Rescaling `scale`"):
        jkeras.layers.Rescaling("half")


def test_normalization_in_a_trained_model_and_h5(tmp_path):
    """Adapted statistics survive fit (they are not trained) and an `.h5` trip into Keras 3."""
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 2.0, (16, 3)).astype(np.float32)
    y = rng.normal(size=(16, 1)).astype(np.float32)
    norm = jkeras.layers.Normalization(name="norm")
    norm.adapt(x)
    inp = jkeras.Input((3,))
    model = jkeras.Model(inp, jkeras.layers.Dense(1, name="out")(
        jkeras.layers.Rescaling(0.5, offset=1.0, name="scale")(norm(inp))))
    before = norm.get_weights()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for a, b in zip(before, norm.get_weights()):
        np.testing.assert_array_equal(a, b)
    path = str(tmp_path / "norm.h5")
    model.save(path)
    theirs = keras.models.load_model(path, compile=False)
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)),
                               np.asarray(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-5)
    again = jkeras.models.load_model(path, compile=False)
    np.testing.assert_array_equal(again.get_layer("norm").get_weights()[0], before[0])


def test_convnext_private_layers():
    from jkeras.applications.convnext import LayerScale, StochasticDepth
    x = np.random.default_rng(4).normal(size=(64, 2, 2, 3)).astype(np.float32)
    scale = LayerScale(0.5, 3)
    np.testing.assert_allclose(np.asarray(scale(x)), x * 0.5)
    assert scale.get_config()["projection_dim"] == 3
    depth = StochasticDepth(0.25)
    np.testing.assert_array_equal(np.asarray(depth(x)), x)  # inference: identity
    out, _ = depth.apply({}, {}, x, training=True, key=jax.random.key(0))
    out = np.asarray(out)
    kept = np.all(out != 0, axis=(1, 2, 3))
    np.testing.assert_allclose(out[kept], x[kept] / 0.75, rtol=1e-6)
    assert np.all(out[~kept] == 0) and 0 < kept.sum() < 64  # whole samples dropped
    assert jkeras.utils.get_custom_objects()["LayerScale"] is LayerScale


# ---------------------------------------------------------------- weights="imagenet"

def test_imagenet_weights_from_the_models_folder(homes):
    """Keras's file name in the cache is used as it is, before any download is tried."""
    jhome, _ = homes
    source = applications.MobileNetV3Small(weights=None, include_top=False,
                                           input_shape=(32, 32, 3), minimalistic=True)
    (jhome / "models").mkdir()
    source.save_weights(str(jhome / "models" / "weights_mobilenet_v3_small_minimalistic_"
                                               "224_1.0_float_no_top_v2.h5"))
    jkeras.backend.clear_session()
    with pytest.raises(ValueError, match="alpha can be one of"):
        applications.MobileNetV3Small(weights="imagenet", alpha=0.75, minimalistic=True)
    with pytest.warns(UserWarning, match="224"):
        model = applications.MobileNetV3Small(weights="imagenet", include_top=False,
                                              input_shape=(32, 32, 3), minimalistic=True)
    for a, b in zip(source.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_imagenet_weights_fetched_by_get_file(homes, monkeypatch):
    """Not in the cache: `utils.get_file` is asked for Keras's URL and hash."""
    from jkeras.utils import data_utils
    calls = []

    def fake_get_file(fname, origin, cache_subdir, file_hash):
        calls.append((fname, origin, cache_subdir, file_hash))
        raise OSError("no network in tests")

    monkeypatch.setattr(data_utils, "get_file", fake_get_file)
    with pytest.raises(OSError, match="no network"):
        applications.EfficientNetV2B0(weights="imagenet", include_top=False,
                                      input_shape=(32, 32, 3))
    assert calls == [("efficientnetv2-b0_notop.h5",
                      "https://storage.googleapis.com/tensorflow/keras-applications/"
                      "efficientnet_v2/efficientnetv2-b0_notop.h5", "models",
                      "893217f2bb855e2983157299931e43ff")]


def test_family_modules_preprocess_and_decode():
    x = np.full((1, 2, 2, 3), 200.0, np.float32)
    for module in (applications.efficientnet, applications.efficientnet_v2,
                   applications.convnext, applications.mobilenet_v3, applications.regnet,
                   applications.resnet_rs):
        assert module.preprocess_input(x) is x  # the models scale their own inputs
        assert module.decode_predictions is applications.imagenet_utils.decode_predictions
    assert applications.EfficientNetB3.__name__ == "EfficientNetB3"
    assert applications.efficientnet.EfficientNetB3 is applications.EfficientNetB3
    assert "RegNetY320" in applications.__all__ and "ResNetRS420" in dir(applications)

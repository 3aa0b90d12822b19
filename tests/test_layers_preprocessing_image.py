"""Image preprocessing layers against Keras 3 (JAX backend): deterministic outputs, the same transform
for the same sampled factor, the same factor distributions, training-only randomness, config and `.h5`."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import layers

keras = pytest.importorskip("keras")
from layer_harness import run_layer_test  # noqa: E402

RNG = np.random.default_rng(0)
IMAGES = (RNG.random((2, 6, 8, 3)) * 255).astype("float32")


def close(ours, theirs, tol=1e-4):
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=tol, atol=tol)


def same_config(ours, theirs, **keras3_defaults):
    """Keras 3's config, less the Keras 3 keys at their defaults (tf.keras 2 does not know them)."""
    keras3_defaults.setdefault("data_format", "channels_last")
    expected = {k: v for k, v in theirs.get_config().items()
                if k != "dtype" and not (k in keras3_defaults and v == keras3_defaults[k])}
    assert {k: v for k, v in ours.get_config().items() if k != "dtype"} == expected
    assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()


@pytest.mark.parametrize("kwargs", [
    dict(height=4, width=5), dict(height=9, width=4, interpolation="nearest"),
    dict(height=4, width=4, interpolation="bicubic", crop_to_aspect_ratio=True),
    dict(height=5, width=4, interpolation="lanczos3", pad_to_aspect_ratio=True, fill_value=7.0),
    dict(height=3, width=12, interpolation="lanczos5", pad_to_aspect_ratio=True),
    dict(height=3, width=4, antialias=True), dict(height=4, width=3, data_format="channels_first"),
])
def test_resizing_matches_keras(kwargs):
    x = np.transpose(IMAGES, (0, 3, 1, 2)) if kwargs.get("data_format") == "channels_first" else IMAGES
    ours, theirs = layers.Resizing(**kwargs, name="r"), keras.layers.Resizing(**kwargs, name="r")
    close(ours(x), theirs(x))
    close(ours(x[0]), theirs(x[0]))  # one image
    same_config(ours, theirs, pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False)


def test_resizing_trains_saves_and_loads_as_keras(cheap_keras_init):
    run_layer_test("Resizing", dict(height=3, width=2, crop_to_aspect_ratio=True), (2, 4, 5, 2),
                   policies=("mixed_float16",), config_ignore=("data_format", "pad_to_aspect_ratio", "fill_mode",
                                                               "fill_value", "antialias"))


def test_resizing_rejects_bad_arguments():
    with pytest.raises(ValueError, match="interpolation"):
        layers.Resizing(2, 2, interpolation="area")
    with pytest.raises(ValueError, match="Only one of"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="height"):
        layers.Resizing(0, 2)
    with pytest.raises(ValueError, match="rank 4"):
        layers.Resizing(2, 2)(np.zeros((2, 3), "float32"))


@pytest.mark.parametrize("size, data_format", [((3, 5), "channels_last"), ((8, 4), "channels_last"),
                                                ((4, 3), "channels_first")])
def test_center_crop_matches_keras(size, data_format):
    x = np.transpose(IMAGES, (0, 3, 1, 2)) if data_format == "channels_first" else IMAGES
    ours = layers.CenterCrop(*size, data_format=data_format, name="c")
    theirs = keras.layers.CenterCrop(*size, data_format=data_format, name="c")
    close(ours(x), theirs(x))
    same_config(ours, theirs)


@pytest.mark.slow
def test_center_crop_in_the_harness(cheap_keras_init):
    run_layer_test("CenterCrop", dict(height=2, width=3), (2, 4, 5, 2), policies=(), config_ignore=("data_format",))


def _keras_sample(theirs, x, seed=3):
    """Keras 3's transformation for `x` and its output."""
    transformation = theirs.get_random_transformation(x, training=True, seed=seed)
    return transformation, theirs.transform_images(jnp.asarray(x), transformation, training=True)


@pytest.mark.parametrize("cls, kwargs, factor", [
    ("RandomRotation", dict(factor=0.2), lambda t: t["angle"]),
    ("RandomRotation", dict(factor=(-0.4, 0.1), fill_mode="constant", fill_value=9.0,
                            interpolation="nearest"), lambda t: t["angle"]),
    ("RandomRotation", dict(factor=0.3, fill_mode="wrap", data_format="channels_first"), lambda t: t["angle"]),
    ("RandomZoom", dict(height_factor=0.3), lambda t: jnp.concatenate([t["width_zoom"], t["height_zoom"]], 1)),
    ("RandomZoom", dict(height_factor=(-0.5, -0.2), width_factor=0.4, fill_mode="nearest"),
     lambda t: jnp.concatenate([t["width_zoom"], t["height_zoom"]], 1)),
    ("RandomTranslation", dict(height_factor=0.3, width_factor=(-0.2, 0.4)), lambda t: t["translations"]),
    ("RandomTranslation", dict(height_factor=0.2, width_factor=0.2, fill_mode="constant",
                               data_format="channels_first"), lambda t: t["translations"]),
    ("RandomBrightness", dict(factor=0.3), lambda t: t["rgb_delta"]),
    ("RandomBrightness", dict(factor=(-0.1, 0.5), value_range=(0, 1)), lambda t: t["rgb_delta"]),
    ("RandomContrast", dict(factor=(0.2, 0.5), value_range=(10, 200)), lambda t: t["contrast_factor"]),
    ("RandomCrop", dict(height=4, width=5), lambda t: jnp.asarray(t)),
])
def test_random_layer_transform_equals_keras_for_the_same_factor(cls, kwargs, factor):
    x = IMAGES / (255.0 if kwargs.get("value_range") == (0, 1) else 1.0)
    if kwargs.get("data_format") == "channels_first":
        x = np.transpose(x, (0, 3, 1, 2))
    ours, theirs = getattr(layers, cls)(**kwargs), getattr(keras.layers, cls)(**kwargs)
    transformation, expected = _keras_sample(theirs, x)
    close(ours._transform(jnp.asarray(x), factor(transformation)), expected)


@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_transform_equals_keras(mode):
    theirs = keras.layers.RandomFlip(mode)
    flips = jnp.asarray([[True], [False]]).reshape(2, 1, 1, 1)
    expected = theirs.transform_images(jnp.asarray(IMAGES), {"flips": flips}, training=True)
    ours = jnp.stack([flips.ravel() & (mode != "vertical"), flips.ravel() & (mode != "horizontal")], 1)
    close(layers.RandomFlip(mode)._transform(jnp.asarray(IMAGES), ours), expected)


def _quantiles(values):
    return np.quantile(np.asarray(values, "float64").ravel(), np.linspace(0.05, 0.95, 10))


@pytest.mark.parametrize("cls, kwargs, factor", [
    ("RandomRotation", dict(factor=(-0.3, 0.1)), lambda t: t["angle"]),
    ("RandomZoom", dict(height_factor=0.4, width_factor=(-0.1, 0.3)),
     lambda t: jnp.concatenate([t["width_zoom"], t["height_zoom"]], 1)),
    ("RandomTranslation", dict(height_factor=0.3, width_factor=(0.1, 0.2)), lambda t: t["translations"]),
    ("RandomBrightness", dict(factor=0.4), lambda t: t["rgb_delta"]),
])
def test_random_factors_have_keras_distribution(cls, kwargs, factor):
    images = jnp.zeros((4000, 6, 8, 1))
    ours = getattr(layers, cls)(**kwargs)._sample(jax.random.key(5), images)
    theirs = factor(getattr(keras.layers, cls)(**kwargs).get_random_transformation(images, seed=7))
    ours, theirs = np.asarray(ours).reshape(4000, -1), np.asarray(theirs).reshape(4000, -1)
    for column in range(ours.shape[1]):
        spread = theirs[:, column].max() - theirs[:, column].min()
        np.testing.assert_allclose(_quantiles(ours[:, column]), _quantiles(theirs[:, column]),
                                   atol=0.04 * spread)


def test_flip_contrast_and_crop_factor_distributions():
    images = jnp.zeros((4000, 6, 8, 1))
    flips = np.asarray(layers.RandomFlip()._sample(jax.random.key(1), images))
    assert abs(flips.mean() - 0.5) < 0.03 and abs(np.mean(flips[:, 0] == flips[:, 1]) - 0.5) < 0.03
    assert not np.asarray(layers.RandomFlip("horizontal")._sample(jax.random.key(1), images))[:, 1].any()
    # tf.keras 2 and both Keras docs: a float factor f draws from [1 - f, 1 + f]
    contrast = np.asarray(layers.RandomContrast(0.3)._sample(jax.random.key(2), images)).ravel()
    assert 0.7 <= contrast.min() < 0.72 and 1.28 < contrast.max() <= 1.3
    starts = np.stack([np.asarray(layers.RandomCrop(4, 5)._sample(k, images))
                       for k in jax.random.split(jax.random.key(3), 300)])
    assert set(starts[:, 0]) == {0, 1, 2} and set(starts[:, 1]) == {0, 1, 2, 3}


def augmentations(lib):
    L = lib.layers
    return [L.RandomFlip(), L.RandomRotation(0.2), L.RandomZoom(0.2, 0.3), L.RandomTranslation(0.2, 0.1),
            L.RandomContrast((0.2, 0.3)), L.RandomBrightness(0.1, seed=4)]


def _augmenting_model(lib):
    x = lib.layers.Input((6, 8, 3))
    outs = [lib.layers.Flatten()(layer(x)) for layer in augmentations(lib)]
    return lib.Model(x, lib.layers.Dense(2)(lib.layers.Concatenate()(outs)))


def test_augmentation_is_random_per_step_and_identity_in_inference(cheap_keras_init, tmp_path):
    ours, theirs = _augmenting_model(jkeras), _augmenting_model(keras)
    ours.set_weights(theirs.get_weights())
    x = IMAGES / 255.0
    y = RNG.normal(size=(2, 2)).astype("float32")
    close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))  # inference: the identity
    ours.compile(jkeras.optimizers.SGD(0.0), "mse")
    losses = [ours.train_on_batch(x, y) for _ in range(3)]
    assert len(set(np.round(losses, 6))) == 3, losses  # a new draw every step, from the step's key
    ours.save(tmp_path / "ours.h5")
    for lib in (jkeras, keras):  # (Keras 3 cannot write these layers to .h5: it deep-copies a module)
        loaded = lib.models.load_model(tmp_path / "ours.h5", compile=False)
        close(loaded.predict(x, verbose=0), ours.predict(x, verbose=0))
    for mine, keras_layer in zip(augmentations(jkeras), augmentations(keras)):
        config = mine.get_config()
        keras_keys = set(keras_layer.get_config())  # less the Keras 3 keys at their defaults
        assert set(config) <= keras_keys and keras_keys - set(config) <= {"data_format", "value_range"}
        assert type(mine).from_config(config).get_config() == config


def test_random_crop_crops_in_training_and_smart_resizes_in_inference():
    from keras.src.utils.image_utils import smart_resize
    layer = layers.RandomCrop(4, 4, seed=2)
    crops = [np.asarray(layer(IMAGES)) for _ in range(5)]
    windows = {(i, j) for i in range(3) for j in range(5)}
    for crop in crops:
        assert any(np.array_equal(crop, IMAGES[:, i:i + 4, j:j + 4]) for i, j in windows)
    close(layer(IMAGES, training=False), smart_resize(IMAGES, (4, 4)))  # tf.keras 2's inference
    close(layers.RandomCrop(7, 9)(IMAGES), smart_resize(IMAGES, (7, 9)))  # larger than the image
    assert set(layer.get_config()) | {"data_format"} == set(keras.layers.RandomCrop(4, 4).get_config())


def test_random_layers_run_in_training_when_called_directly():
    x = IMAGES / 255.0
    flip = layers.RandomFlip("horizontal", seed=1)
    outs = [np.asarray(flip(x)) for _ in range(6)]
    assert any(not np.array_equal(o, x) for o in outs)
    np.testing.assert_array_equal(np.asarray(flip(x, training=False)), x)
    assert np.asarray(layers.RandomBrightness(0.5)(x[0], training=True)).shape == x[0].shape


@pytest.mark.parametrize("cls, axis", [("RandomHeight", 1), ("RandomWidth", 2)])
def test_random_height_and_width_resize_one_axis_eagerly(cls, axis):
    layer = getattr(layers, cls)((0.5, 1.0), seed=3)
    sizes = {np.asarray(layer(IMAGES)).shape[axis] for _ in range(8)}
    assert min(sizes) >= int(1.5 * IMAGES.shape[axis]) - 1 and max(sizes) <= 2 * IMAGES.shape[axis]
    assert len(sizes) > 1
    np.testing.assert_array_equal(np.asarray(layer(IMAGES, training=False)), IMAGES)
    model = jkeras.Sequential([jkeras.Input((6, 8, 3)), getattr(layers, cls)(0.2),
                               layers.GlobalAveragePooling2D()])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="static shapes"):
        model.train_on_batch(IMAGES, np.zeros((2, 3), "float32"))
    assert layer.get_config()["factor"] == (0.5, 1.0)


def test_random_layers_reject_bad_factors():
    for make in (lambda: layers.RandomRotation(1.5), lambda: layers.RandomZoom(-1.0),
                 lambda: layers.RandomTranslation(0.1, (0.1, 0.2, 0.3)), lambda: layers.RandomBrightness("x"),
                 lambda: layers.RandomContrast(-0.1), lambda: layers.RandomHeight((0.5, 0.1)),
                 lambda: layers.RandomFlip("diagonal"), lambda: layers.RandomRotation(0.1, fill_mode="edge")):
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError, match="needs a PRNG"):
        layers.RandomFlip().apply({}, {}, jnp.asarray(IMAGES), training=True, key=None)


def test_loads_tf_keras_2_files_of_the_new_layers():
    """tf.keras 2 wrote these (scripts/fixtures/tf_keras_new_layers.py): the image layers, GroupNormalization,
    UnitNormalization, Identity, EinsumDense; IntegerLookup, Discretization and CategoryEncoding."""
    folder = os.path.join(os.path.dirname(__file__), "fixtures")
    expected = np.load(os.path.join(folder, "tf_keras_new_layers.npz"))
    model = jkeras.models.load_model(os.path.join(folder, "tf_keras_new_layers.h5"))
    close(model.predict(expected["images"], verbose=0), expected["predictions"], 1e-5)
    numeric = jkeras.models.load_model(os.path.join(folder, "tf_keras_new_numeric_layers.h5"))
    close(numeric.predict([expected["ids"].astype("int32"), expected["values"]], verbose=0), expected["numeric"], 1e-5)


def test_random_rotation_in_the_harness(cheap_keras_init):
    run_layer_test("RandomRotation", dict(factor=0.2), (2, 5, 4, 2), stochastic=True, policies=(),
                   call_kwargs=dict(training=False),  # a direct call trains, in Keras too
                   config_ignore=("data_format",))

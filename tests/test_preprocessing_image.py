"""jkeras.preprocessing.image against tf.keras 2's outputs on the same seeds (committed in
tests/fixtures/tf_keras_preprocessing/image.npz by scripts/fixtures/make_tf_keras_preprocessing_fixtures.py)
and against scipy.ndimage, the definition of Keras's affine transform."""
import os

import numpy as np
import pytest

from jkeras.preprocessing import image
from jkeras.preprocessing.affine import affine_matrix, sample_batch

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_preprocessing")
GENERATORS = {  # mirrors GENERATORS in the fixture script
    "geometry_nearest": dict(rotation_range=40, width_shift_range=0.2, height_shift_range=0.15,
                             shear_range=15, zoom_range=0.3, horizontal_flip=True, vertical_flip=True),
    "constant_fill": dict(rotation_range=60, zoom_range=(0.7, 1.2), fill_mode="constant", cval=17.0),
    "reflect_fill": dict(rotation_range=25, width_shift_range=0.3, fill_mode="reflect"),
    "wrap_fill": dict(height_shift_range=0.4, shear_range=20, fill_mode="wrap"),
    "int_and_list_shifts": dict(width_shift_range=2, height_shift_range=[1, 3]),
    "order0": dict(rotation_range=30, zoom_range=0.2, interpolation_order=0),
    "order3_scipy": dict(rotation_range=30, interpolation_order=3),
    "channel_brightness": dict(channel_shift_range=40.0, brightness_range=(0.4, 1.6)),
    "samplewise": dict(rescale=1 / 255.0, samplewise_center=True, samplewise_std_normalization=True,
                       rotation_range=10),
    "channels_first": dict(rotation_range=35, width_shift_range=0.1, horizontal_flip=True,
                           data_format="channels_first"),
}


@pytest.fixture(scope="module")
def expected():
    with np.load(os.path.join(FIXTURES, "image.npz")) as f:
        return dict(f)


def image_inputs(data_format="channels_last"):
    x = np.random.RandomState(0).uniform(0, 255, (6, 7, 9, 3)).astype("float32")
    return x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)


def png_folder(root):
    from PIL import Image
    rng = np.random.RandomState(5)
    for k, name in enumerate(("cat", "dog")):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for i in range(3):
            pixels = rng.randint(0, 256, (10 + i, 12 + k, 3)).astype("uint8")
            Image.fromarray(pixels).save(os.path.join(root, name, f"img{i}.png"))


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_flow_matches_tf_keras_on_the_same_seed(name, expected):
    if name == "channel_brightness":
        pytest.importorskip("PIL")
    kwargs = GENERATORS[name]
    gen = image.ImageDataGenerator(**kwargs)
    it = gen.flow(image_inputs(kwargs.get("data_format", "channels_last")), np.arange(6),
                  batch_size=4, shuffle=True, seed=7)
    for b in (0, 1):
        bx, by = it[b]
        np.testing.assert_array_equal(by, expected[f"{name}/batch{b}_y"])
        # brightness goes through 8-bit Pillow images: a value at a rounding edge may move by 1
        atol = 1.01 if name == "channel_brightness" else 2e-4
        np.testing.assert_allclose(bx, expected[f"{name}/batch{b}_x"], rtol=1e-5, atol=atol)
        assert bx.dtype == np.float32


def test_featurewise_fit_and_zca_match_tf_keras(expected):
    gen = image.ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True)
    gen.fit(image_inputs())
    np.testing.assert_allclose(gen.mean, expected["featurewise/mean"], rtol=1e-6)
    np.testing.assert_allclose(gen.std, expected["featurewise/std"], rtol=1e-5)
    np.testing.assert_allclose(gen.standardize(image_inputs()[0].copy()),
                               expected["featurewise/standardized"], rtol=1e-5, atol=1e-5)
    with pytest.warns(UserWarning, match="overrides"):
        zca = image.ImageDataGenerator(zca_whitening=True)
    zca.fit(np.random.RandomState(3).uniform(0, 1, (8, 4, 4, 1)).astype("float32"))
    np.testing.assert_allclose(zca.zca_whitening_matrix, expected["zca/matrix"], rtol=1e-3, atol=1e-3)
    aug = image.ImageDataGenerator(featurewise_center=True, rotation_range=20)
    aug.fit(image_inputs(), augment=True, rounds=2, seed=11)
    np.testing.assert_allclose(aug.mean, expected["fit_augment/mean"], rtol=1e-5)


def test_random_parameters_and_single_image_functions_match_tf_keras(expected):
    params = image.ImageDataGenerator(
        rotation_range=20, width_shift_range=0.1, shear_range=5, zoom_range=0.1, channel_shift_range=3,
        horizontal_flip=True, brightness_range=(0.9, 1.1)).get_random_transform((7, 9, 3), seed=3)
    np.testing.assert_allclose([float(params[k]) for k in sorted(params)],
                               expected["random_transform/params"], rtol=1e-12)
    single = image_inputs()[0]
    got = image.apply_affine_transform(single, theta=33, tx=1.5, ty=-2.0, shear=8, zx=0.9, zy=1.1,
                                       row_axis=0, col_axis=1, channel_axis=2, fill_mode="nearest")
    np.testing.assert_allclose(got, expected["apply_affine/rotate_shift"], rtol=1e-6, atol=1e-4)
    np.random.seed(4)
    got = image.random_rotation(single, 45, row_axis=0, col_axis=1, channel_axis=2)
    np.testing.assert_allclose(got, expected["random_rotation"], rtol=1e-6, atol=1e-4)


def test_smart_resize_matches_tf_image_resize(expected):
    single = image_inputs()[0]
    np.testing.assert_allclose(image.smart_resize(single, (5, 4)), expected["smart_resize/down"],
                               rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(image.smart_resize(image_inputs()[:2], (11, 8)),
                               expected["smart_resize/up_batch"], rtol=1e-5, atol=1e-3)
    with pytest.raises(ValueError, match="image array"):
        image.smart_resize(np.zeros((4, 4)), (2, 2))


def test_flow_from_directory_matches_tf_keras(expected, tmp_path):
    pytest.importorskip("PIL")
    png_folder(tmp_path)
    gen = image.ImageDataGenerator(rotation_range=20, horizontal_flip=True, rescale=1 / 255.0)
    it = gen.flow_from_directory(str(tmp_path), target_size=(8, 10), batch_size=4, seed=2)
    assert it.class_indices == {"cat": 0, "dog": 1} and it.samples == 6
    bx, by = it[0]
    np.testing.assert_array_equal(by, expected["directory/batch0_y"])
    np.testing.assert_allclose(bx, expected["directory/batch0_x"], rtol=1e-5, atol=1e-5)
    sparse = gen.flow_from_directory(str(tmp_path), target_size=(8, 10), class_mode="sparse",
                                     batch_size=6, shuffle=False, subset=None)
    assert sparse[0][1].tolist() == [0, 0, 0, 1, 1, 1]
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(str(tmp_path), class_mode="bogus")


def test_flow_from_dataframe_reads_labels_weights_and_subsets(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("PIL")
    png_folder(tmp_path)
    files = sorted(f"{c}/img{i}.png" for c in ("cat", "dog") for i in range(3))
    df = pd.DataFrame({"filename": files + ["missing.png"], "class": ["a", "b"] * 3 + ["a"],
                       "w": np.arange(7, dtype=float), "value": np.arange(7) * 0.5})
    gen = image.ImageDataGenerator(validation_split=0.5)
    with pytest.warns(UserWarning, match="1 invalid image filename"):
        it = gen.flow_from_dataframe(df, str(tmp_path), weight_col="w", target_size=(4, 5),
                                     batch_size=6, shuffle=False)
    x, y, w = it[0]
    assert x.shape == (6, 4, 5, 3) and it.class_indices == {"a": 0, "b": 1}
    np.testing.assert_array_equal(y, np.tile(np.eye(2), (3, 1)))
    np.testing.assert_array_equal(w, np.arange(6.0))
    with pytest.warns(UserWarning):
        raw = gen.flow_from_dataframe(df, str(tmp_path), y_col="value", class_mode="raw",
                                      target_size=(4, 5), shuffle=False, subset="validation")
    np.testing.assert_array_equal(raw[0][1], [0.0, 0.5, 1.0])
    with pytest.raises(TypeError, match="must be strings"):
        image.ImageDataGenerator().flow_from_dataframe(df.assign(filename=range(7)), str(tmp_path))


@pytest.mark.parametrize("mode", ["nearest", "constant", "reflect", "wrap"])
@pytest.mark.parametrize("order", [0, 1])
def test_batched_sampler_equals_scipy_affine_transform(mode, order):
    from scipy import ndimage
    rng = np.random.RandomState(1)
    for _ in range(20):
        h, w = rng.randint(2, 10, 2)
        img = rng.uniform(0, 255, (h, w, 2)).astype(np.float32)
        m = affine_matrix(rng.uniform(-180, 180), *rng.uniform(-6, 6, 2), rng.uniform(-40, 40),
                          *rng.uniform(0.4, 2.0, 2), h, w, True)
        ref = np.stack([ndimage.affine_transform(img[..., c], m[:2, :2], m[:2, 2], order=order,
                                                 mode=mode, cval=-3.0) for c in range(2)], -1)
        np.testing.assert_allclose(sample_batch(img[None], m[None], order, mode, -3.0)[0], ref,
                                   atol=1e-4)


def test_channel_shift_flip_and_transform_definitions():
    x = image_inputs()[0]
    np.testing.assert_allclose(image.apply_channel_shift(x, 30.0, 2), np.clip(x + 30.0, x.min(), x.max()))
    gen = image.ImageDataGenerator()
    flipped = gen.apply_transform(x, {"flip_horizontal": True, "flip_vertical": True})
    np.testing.assert_array_equal(flipped, x[::-1, ::-1])
    np.testing.assert_array_equal(gen.apply_transform(x, {}), x)
    # Keras swaps the matrix's axes after building it, so `tx` ends up moving columns
    shifted = gen.apply_transform(x, {"tx": 2, "ty": 0})
    np.testing.assert_allclose(shifted[:, :7], x[:, 2:], atol=1e-4)
    np.testing.assert_allclose(shifted[:, 7:], np.repeat(x[:, -1:], 2, axis=1), atol=1e-4)


def test_iterator_protocol_and_epoch_order():
    gen = image.ImageDataGenerator()
    x = image_inputs()
    it = gen.flow(x, np.arange(6), batch_size=4, shuffle=False)
    assert len(it) == 2
    assert next(it)[1].tolist() == [0, 1, 2, 3] and next(it)[1].tolist() == [4, 5]
    assert next(it)[1].tolist() == [0, 1, 2, 3]
    np.testing.assert_array_equal(it[1][0], x[4:])
    only_x = gen.flow(x, batch_size=6, shuffle=False)[0]
    np.testing.assert_array_equal(only_x, x)
    extra, label, weight = gen.flow((x, np.arange(6) * 2), np.arange(6), sample_weight=np.ones(6),
                                    batch_size=6, shuffle=False)[0]
    assert isinstance(extra, list) and extra[1].tolist() == [0, 2, 4, 6, 8, 10]
    with pytest.raises(ValueError, match="rank 4"):
        gen.flow(x[0])
    with pytest.raises(ValueError, match="same length"):
        gen.flow(x, np.arange(5))


def test_subsets_sample_weights_and_saved_batches(tmp_path):
    pytest.importorskip("PIL")
    x, y = image_inputs(), np.array([0, 1, 0, 1, 0, 1])
    gen = image.ImageDataGenerator(validation_split=1 / 3, rotation_range=5)
    val = gen.flow(x, y, subset="validation", batch_size=8, shuffle=False)
    train = gen.flow(x, y, sample_weight=np.arange(6.0), subset="training", batch_size=8,
                     shuffle=False, save_to_dir=str(tmp_path), save_prefix="aug", save_format="png")
    assert val.n == 2 and train.n == 4
    _, labels, weights = train[0]
    assert labels.tolist() == [0, 1, 0, 1] and weights.tolist() == [2.0, 3.0, 4.0, 5.0]
    saved = sorted(os.listdir(tmp_path))
    assert len(saved) == 4 and all(name.startswith("aug_") and name.endswith(".png") for name in saved)
    with pytest.raises(ValueError, match="different number of classes"):
        gen.flow(x, np.array([0, 0, 1, 1, 1, 1]), subset="training")


def test_without_pillow_the_error_says_what_to_install(monkeypatch, tmp_path):
    import sys
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        image.load_img(str(tmp_path / "a.png"))
    with pytest.raises(ImportError, match="pip install pillow"):
        image.array_to_img(np.zeros((2, 2, 3)))
    with pytest.raises(ImportError, match="pip install pillow"):
        image.apply_brightness_shift(np.zeros((2, 2, 3)), 1.2)
    out = image.ImageDataGenerator(rotation_range=30).flow(image_inputs(), batch_size=2)[0]
    assert out.shape == (2, 7, 9, 3)  # augmentation itself needs no Pillow


def test_bad_arguments_fail_clearly():
    with pytest.raises(ValueError, match="zoom_range"):
        image.ImageDataGenerator(zoom_range=(1, 2, 3))
    with pytest.raises(ValueError, match="data_format"):
        image.ImageDataGenerator(data_format="nhwc")
    with pytest.raises(ValueError, match="validation_split"):
        image.ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="brightness_range"):
        image.ImageDataGenerator(brightness_range=0.5)
    with pytest.raises(ValueError, match="distinct"):
        image.apply_affine_transform(np.zeros((3, 3, 1)), theta=5, row_axis=0, col_axis=0)


def test_image_files_round_trip(tmp_path):
    pytest.importorskip("PIL")
    x = np.random.RandomState(2).randint(0, 256, (5, 6, 3)).astype("float32")
    path = str(tmp_path / "a.png")
    image.save_img(path, x, scale=False)
    loaded = image.img_to_array(image.load_img(path))
    np.testing.assert_array_equal(loaded, x)
    grey = image.img_to_array(image.load_img(path, color_mode="grayscale", target_size=(3, 4)))
    assert grey.shape == (3, 4, 1)
    assert image.img_to_array(image.load_img(path), data_format="channels_first").shape == (3, 5, 6)
    scaled = image.img_to_array(image.array_to_img(x / 10.0))
    np.testing.assert_array_equal(scaled, ((x / 10.0 - x.min() / 10) / (x.max() / 10 - x.min() / 10)
                                           * 255).astype("uint8"))
    with pytest.raises(ValueError, match="color_mode"):
        image.load_img(path, color_mode="cmyk")
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(np.zeros((2, 2)))


def test_tf_keras_preprocessing_names_are_there():
    import json

    import jkeras.preprocessing as preprocessing
    expected_names = {
        "preprocessing": ["image", "image_dataset_from_directory", "sequence", "text",
                          "text_dataset_from_directory", "timeseries_dataset_from_array"],
        "preprocessing.image": ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
                                "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift",
                                "array_to_img", "img_to_array", "load_img", "random_brightness",
                                "random_channel_shift", "random_rotation", "random_shear", "random_shift",
                                "random_zoom", "save_img", "smart_resize"],
        "preprocessing.sequence": ["TimeseriesGenerator", "make_sampling_table", "pad_sequences", "skipgrams"],
        "preprocessing.text": ["Tokenizer", "hashing_trick", "one_hot", "text_to_word_sequence",
                               "tokenizer_from_json"]}
    reference = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "tf_keras_names.json")
    if os.path.exists(reference):
        with open(reference) as f:
            names = json.load(f)["names"]
        assert {k: sorted(names[k]) for k in expected_names} == expected_names
    modules = {"preprocessing": preprocessing, "preprocessing.image": preprocessing.image,
               "preprocessing.sequence": preprocessing.sequence, "preprocessing.text": preprocessing.text}
    for key, wanted in expected_names.items():
        assert [n for n in wanted if not hasattr(modules[key], n)] == [], key

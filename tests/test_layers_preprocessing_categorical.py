"""Categorical preprocessing layers: lookups, hashing and text against tf.keras 2's committed outputs
(those layers need TensorFlow, in tf.keras 2 and Keras 3 alike: scripts/fixtures/preprocessing_categorical.py
made them); CategoryEncoding and Discretization against Keras 3 (JAX backend)."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers

keras = pytest.importorskip("keras")

with open(os.path.join(os.path.dirname(__file__), "fixtures", "preprocessing_categorical.json"),
          encoding="utf-8") as _f:
    CASES = json.load(_f)


def _call(layer, case):
    inputs = case["inputs"]
    if case["class"] == "HashedCrossing":
        return layer([np.asarray(x) for x in inputs])
    return layer(np.asarray(inputs))


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['class']}-{sorted(c['kwargs'])}-{c['adapt'] is not None}")
def test_matches_tf_keras(case):
    layer = getattr(layers, case["class"])(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(case["adapt"])
    out = np.asarray(_call(layer, case))
    expected = np.asarray(case["output"], dtype=out.dtype if out.dtype != object else object)
    if out.dtype.kind == "f":
        np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-6)
    else:
        assert out.tolist() == expected.tolist()
    if "vocabulary" in case:
        assert layer.get_vocabulary() == case["vocabulary"]
    config = layer.get_config()
    theirs = {k: v for k, v in case["config"].items() if k != "batch_input_shape"}  # set by an eager call
    assert set(config) == set(theirs) | ({"vocabulary_dtype"} if case["class"] == "IntegerLookup" else set())
    for key in set(theirs) - {"name", "vocabulary", "idf_weights", "oov_token"}:
        assert config[key] == theirs[key], key
    if case["adapt"] is None and theirs.get("vocabulary") is not None:
        assert config["vocabulary"] == theirs["vocabulary"]
    # the config carries the vocabulary, so the rebuilt layer gives the same outputs
    again = type(layer).from_config(config)
    np.testing.assert_allclose(np.asarray(_call(again, case), dtype=float) if out.dtype != object else 0,
                               out.astype(float) if out.dtype != object else 0, rtol=1e-6)
    if out.dtype == object:
        assert np.asarray(_call(again, case)).tolist() == out.tolist()


@pytest.mark.parametrize("case", [c for c in CASES if c["class"] == "IntegerLookup"],
                         ids=lambda c: f"{sorted(c['kwargs'])}-{c['adapt'] is not None}")
def test_integer_lookup_jax_path_matches_tf_keras(case):
    layer = layers.IntegerLookup(**case["kwargs"])
    if case["adapt"] is not None:
        layer.adapt(case["adapt"])
    run = jax.jit(lambda x: layer.apply({}, {}, x)[0])  # as a compiled model runs it
    np.testing.assert_allclose(np.asarray(run(np.asarray(case["inputs"], "int32"))), case["output"])


def test_string_layers_refuse_symbolic_inputs():
    for layer in (layers.StringLookup(vocabulary=["a"]), layers.TextVectorization(), layers.Hashing(3)):
        with pytest.raises(ValueError, match="data pipeline"):
            layer(jkeras.Input((1,), dtype="int32"))


def test_integer_lookup_runs_inside_a_compiled_model(tmp_path):
    lookup = layers.IntegerLookup(vocabulary=[12, 36, 1138, 42], mask_token=0, num_oov_indices=2)
    x = jkeras.Input((3,), dtype="int32")
    hot = layers.CategoryEncoding(lookup.vocabulary_size(), output_mode="count")(lookup(x))
    model = jkeras.Model(x, layers.Dense(2)(hot))
    data = np.asarray([[12, 0, 7], [42, 1000, 1001]], "int32")
    case = next(c for c in CASES if c["class"] == "IntegerLookup" and c["kwargs"].get("mask_token") == 0)
    assert case["inputs"] == data.tolist()
    expected = case["output"]  # tf.keras 2's indices
    counts = np.zeros((2, 7), "float32")
    for row, indices in enumerate(expected):
        for i in indices:
            counts[row, i] += 1
    kernel, bias = (w.numpy() for w in model.layers[-1].weights)
    np.testing.assert_allclose(model.predict(data, verbose=0), counts @ kernel + bias, rtol=1e-5)
    model.compile(jkeras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(data, np.zeros((2, 2), "float32"))
    model.save(tmp_path / "lookup.h5")
    loaded = jkeras.models.load_model(tmp_path / "lookup.h5")
    np.testing.assert_allclose(loaded.predict(data, verbose=0), model.predict(data, verbose=0), rtol=1e-6)
    assert loaded.layers[1].get_vocabulary() == lookup.get_vocabulary()


def test_adapted_vocabulary_survives_h5(tmp_path):
    lookup = layers.IntegerLookup(max_tokens=4)
    lookup.adapt(np.asarray([[3, 3, 5, 7], [7, 7, 1, 5]]))
    x = jkeras.Input((2,), dtype="int32")
    model = jkeras.Model(x, lookup(x))
    model.save(tmp_path / "adapted.h5")
    loaded = jkeras.models.load_model(tmp_path / "adapted.h5")
    data = np.asarray([[7, 3], [5, 9]], "int32")
    np.testing.assert_array_equal(loaded.predict(data, verbose=0), [[1, 3], [2, 0]])


def test_lookup_errors():
    with pytest.raises(ValueError, match="repeated"):
        layers.StringLookup(vocabulary=["a", "a"])
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=["a"], num_oov_indices=0)(np.asarray(["b"]))
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.IntegerLookup(vocabulary=[1], num_oov_indices=0)(np.asarray([2]))
    with pytest.raises(RuntimeError, match="vocabulary before calling"):
        layers.StringLookup(output_mode="multi_hot")(np.asarray(["b"]))
    with pytest.raises(ValueError, match="invert"):
        layers.IntegerLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="maximum vocab size"):
        layers.StringLookup(vocabulary=["a", "b", "c"], max_tokens=3)
    with pytest.raises(ValueError, match="expects strings"):
        layers.StringLookup(vocabulary=["a"])(np.asarray([1, 2]))
    with pytest.raises(ValueError, match="at least two"):
        layers.HashedCrossing(3)([np.asarray([1])])
    with pytest.raises(ValueError, match="static vocabulary"):
        layers.StringLookup(vocabulary=["a"]).adapt(["b"])
    with pytest.raises(ValueError, match="strings or integers"):
        layers.Hashing(3)(np.asarray([0.5]))
    with pytest.raises(ValueError, match="salt"):
        layers.Hashing(3, salt="x")


def test_text_vectorization_reads_vocabulary_files_and_adapts_iterables(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("cat\ndog\n", encoding="utf-8")
    layer = layers.TextVectorization(vocabulary=str(path))
    np.testing.assert_array_equal(layer(np.asarray(["Dog, cat!", "bird"])), [[3, 2], [1, 0]])
    adapted = layers.TextVectorization()
    adapted.adapt(iter([np.asarray(["b b a"]), np.asarray(["c b"])]))
    assert adapted.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]


@pytest.mark.parametrize("kwargs, data", [
    (dict(num_tokens=4, output_mode="one_hot"), [[0, 1], [2, 3]]),
    (dict(num_tokens=4, output_mode="one_hot"), [0, 3, 1]),
    (dict(num_tokens=5, output_mode="multi_hot"), [[0, 1, 1], [4, 2, 2]]),
    (dict(num_tokens=5, output_mode="count"), [[0, 1, 1], [4, 2, 2]]),
    (dict(num_tokens=3), [2, 1, 1]),
])
def test_category_encoding_matches_keras(kwargs, data):
    data = np.asarray(data, "int32")
    ours, theirs = layers.CategoryEncoding(**kwargs, name="c"), keras.layers.CategoryEncoding(**kwargs, name="c")
    np.testing.assert_allclose(np.asarray(ours(data)), np.asarray(theirs(data)))
    assert ours.get_config().pop("sparse") is False  # tf.keras 2's key, which Keras 3 dropped
    assert {k: v for k, v in ours.get_config().items() if k not in ("dtype", "sparse")} == \
        {k: v for k, v in theirs.get_config().items() if k != "dtype"}


def test_category_encoding_count_weights_match_keras():
    data, weights = np.asarray([[0, 1, 1], [3, 3, 2]]), np.asarray([[0.5, 1, 2], [1, 3, 0.25]], "float32")
    np.testing.assert_allclose(
        np.asarray(layers.CategoryEncoding(4, "count")(data, count_weights=weights)),
        np.asarray(keras.layers.CategoryEncoding(4, "count")(data, count_weights=weights)))


@pytest.mark.parametrize("kwargs", [dict(bin_boundaries=[0.0, 1.0, 2.5]),
                                    dict(bin_boundaries=[-1.0, 1.0], output_mode="one_hot"),
                                    dict(bin_boundaries=[0.0, 1.0], output_mode="count")])
def test_discretization_matches_keras(kwargs):
    data = np.asarray([[-2.0, 0.0, 0.5, 1.0], [2.5, 3.0, -1.0, 0.99]], "float32")
    if kwargs.get("output_mode") == "one_hot":
        data = data[0]
    ours, theirs = layers.Discretization(**kwargs, name="d"), keras.layers.Discretization(**kwargs, name="d")
    np.testing.assert_allclose(np.asarray(ours(data)), np.asarray(theirs(data)))
    assert {k: v for k, v in ours.get_config().items() if k != "dtype"} == \
        {k: v for k, v in theirs.get_config().items() if k != "dtype"}


@pytest.mark.parametrize("num_bins, epsilon, batches", [(4, 0.01, 1), (5, 0.1, 3), (3, 0.01, 2)])
def test_discretization_adapt_matches_keras(num_bins, epsilon, batches):
    data = np.random.default_rng(0).gamma(2.0, size=(batches, 300)).astype("float32")
    theirs = keras.layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    theirs.reset_state()  # Keras's adapt needs tf.data; its summary steps are plain numpy
    for batch in data:
        theirs.update_state(batch)
    theirs.finalize_state()
    ours = layers.Discretization(num_bins=num_bins, epsilon=epsilon)
    ours.adapt(iter(list(data)) if batches > 1 else data[0])
    np.testing.assert_allclose(ours.bin_boundaries, theirs.bin_boundaries, rtol=1e-6)
    again = layers.Discretization.from_config(ours.get_config())
    np.testing.assert_array_equal(np.asarray(again(data[0])), np.asarray(ours(data[0])))


def test_numeric_layers_in_the_compiled_step_and_h5_with_keras(tmp_path):
    x = jkeras.Input((3,))
    bins = layers.Discretization(bin_boundaries=[-0.5, 0.0, 0.5])(x)
    hot = layers.CategoryEncoding(4, output_mode="count")(bins)
    model = jkeras.Model(x, layers.Dense(1)(hot))
    data = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    model.compile(jkeras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(data, np.ones((4, 1), "float32"))
    model.save(tmp_path / "numeric.h5")
    loaded = keras.models.load_model(tmp_path / "numeric.h5", compile=False)
    np.testing.assert_allclose(np.asarray(loaded.predict(data, verbose=0)), model.predict(data, verbose=0),
                               rtol=1e-6)


def test_category_encoding_in_the_harness(cheap_keras_init):
    from layer_harness import run_layer_test
    run_layer_test("CategoryEncoding", dict(num_tokens=6, output_mode="count"), (3, 4), input_dtype="int32",
                   input_range=(0, 6), policies=(), config_ignore=("sparse",))


@pytest.mark.slow
def test_discretization_in_the_harness(cheap_keras_init):
    from layer_harness import run_layer_test
    run_layer_test("Discretization", dict(bin_boundaries=[-0.5, 0.0, 0.7], output_mode="one_hot"), (3, 2),
                   policies=(), config_ignore=("trainable",))

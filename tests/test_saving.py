"""Keras-format files: whole-model .h5, weights .h5, JSON/YAML, custom objects, both directions."""
import json
import os

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import layers
from jkeras.saving import CustomObjectScope, FileFormatError

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "tf_keras")


def _xy(n=48, d=8, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)).astype("float32"), np.eye(k, dtype="float32")[rng.integers(0, k, n)]


def _mlp():
    return jkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(8,), name="hidden"),
                              layers.Dropout(0.3),
                              layers.Dense(3, activation="softmax", name="out")], name="mlp")


def _functional():
    a, b = layers.Input((8,), name="in_a"), layers.Input((4,), name="in_b")
    shared = layers.Dense(6, activation="relu", name="shared")
    h = layers.Concatenate()([shared(a), layers.Dense(6, name="dense_b")(b)])
    out = layers.Dense(3, activation="softmax", name="out")(layers.BatchNormalization(name="bn")(h))
    return jkeras.Model([a, b], out, name="two_in")


def test_whole_model_round_trip_and_exact_resume(tmp_path):
    x, y = _xy()
    model = _mlp()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    path = tmp_path / "m.h5"
    model.save(path)
    loaded = jkeras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.optimizer.get_config()["name"] == model.optimizer.get_config()["name"]
    # The next epoch of the loaded model equals the next epoch of the original: same optimizer
    # state, step (dropout keys) and seed (shuffle order).
    h1 = model.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    h2 = loaded.fit(x, y, batch_size=8, epochs=3, initial_epoch=2, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_file_layout_is_keras_legacy(tmp_path):
    model = _functional()
    model.compile("rmsprop", "categorical_crossentropy")
    path = tmp_path / "f.h5"
    model.save(path)
    with h5py.File(path) as f:
        assert set(f.attrs) == {"backend", "keras_version", "model_config", "training_config"}
        names = [n.decode() for n in f["model_weights"].attrs["layer_names"]]
        assert names == [layer.name for layer in model.layers]
        bn = [n.decode() for n in f["model_weights/bn"].attrs["weight_names"]]
        assert bn == ["bn/gamma:0", "bn/beta:0", "bn/moving_mean:0", "bn/moving_variance:0"]
        assert f["model_weights/in_a"].attrs["weight_names"].shape == (0,)
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] == "Functional"
        assert config["config"]["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]


def test_functional_json_yaml_round_trip_shares_layers():
    model = _functional()
    for text, load in ((model.to_json(), jkeras.models.model_from_json),
                       (model.to_yaml(), jkeras.models.model_from_yaml)):
        clone = load(text)
        assert [l.name for l in clone.layers] == [l.name for l in model.layers]
        assert len(clone.get_layer("shared")._inbound_nodes) == 1
        clone.set_weights(model.get_weights())
        x = [np.ones((2, 8), "float32"), np.ones((2, 4), "float32")]
        np.testing.assert_allclose(clone.predict(x), model.predict(x), rtol=1e-6)


def test_weights_by_order_by_name_and_mismatch(tmp_path):
    model = _mlp()
    path = tmp_path / "w.h5"
    model.save_weights(path)
    other = _mlp()
    other.load_weights(path)
    for a, b in zip(model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(a, b)
    renamed = jkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(8,), name="hidden"),
                                 layers.Dense(3, name="new_head")])
    before = renamed.get_layer("new_head").get_weights()
    renamed.load_weights(path, by_name=True)
    np.testing.assert_array_equal(renamed.get_layer("hidden").get_weights()[0], model.get_weights()[0])
    np.testing.assert_array_equal(renamed.get_layer("new_head").get_weights()[0], before[0])
    wrong = jkeras.Sequential([layers.Dense(5, input_shape=(8,), name="hidden"),
                               layers.Dense(16, name="middle"), layers.Dense(3, name="out")])
    kept = wrong.get_weights()
    with pytest.raises(FileFormatError, match="has weights for 2 layers"):
        wrong.load_weights(path)
    with pytest.raises(FileFormatError, match="expects weights of shapes"):
        wrong.load_weights(path, by_name=True)
    for a, b in zip(kept, wrong.get_weights()):  # nothing was half-loaded
        np.testing.assert_array_equal(a, b)
    wrong.load_weights(path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(wrong.get_layer("out").get_weights()[0], model.get_weights()[2])


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        jkeras.models.load_model(tmp_path / "missing.h5")
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(FileFormatError, match="not an HDF5 file"):
        jkeras.models.load_model(junk)
    model = _mlp()
    model.save(tmp_path / "good.h5")
    data = (tmp_path / "good.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError):
        jkeras.models.load_model(tmp_path / "cut.h5")
    with pytest.raises(ValueError, match="Unknown layer class 'Nope'"):
        jkeras.models.model_from_json(json.dumps({"class_name": "Nope", "config": {}}))


class Scale(layers.Layer):
    """A Keras-style custom layer: one trainable scalar times the input."""

    def __init__(self, init=2.0, **kwargs):
        super().__init__(**kwargs)
        self.init = init

    def build(self, input_shape):
        self.alpha = self.add_weight(name="alpha", shape=(), initializer=jkeras.initializers.Constant(self.init))

    def call(self, inputs):
        return inputs * self.alpha

    def get_config(self):
        return {**super().get_config(), "init": self.init}


def test_custom_objects_and_scope(tmp_path):
    inp = layers.Input((3,))
    model = jkeras.Model(inp, layers.Dense(2)(Scale(3.0, name="scale")(inp)))
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1, verbose=0)
    assert model.get_layer("scale").get_weights()[0] != 3.0  # the custom weight trains
    model.save(tmp_path / "c.h5")
    with pytest.raises(ValueError, match="Unknown layer class 'Scale'"):
        jkeras.models.load_model(tmp_path / "c.h5")
    loaded = jkeras.models.load_model(tmp_path / "c.h5", custom_objects={"Scale": Scale})
    np.testing.assert_array_equal(loaded.predict(np.ones((2, 3))), model.predict(np.ones((2, 3))))
    with CustomObjectScope({"Scale": Scale}):
        again = jkeras.models.load_model(tmp_path / "c.h5")
    np.testing.assert_array_equal(again.predict(np.ones((2, 3))), model.predict(np.ones((2, 3))))


@pytest.mark.parametrize("name", ["mlp", "cnn", "two_in"])
def test_tf_keras_fixture_files_load_and_predict_the_same(name):
    folder = os.path.join(FIXTURES, name)
    io = np.load(os.path.join(folder, "io.npz"))
    inputs = [io["x0"], io["x1"]] if "x0" in io else io["x"]
    model = jkeras.models.load_model(os.path.join(folder, "model.h5"))
    np.testing.assert_allclose(model.predict(inputs), io["y"], rtol=1e-5, atol=1e-6)
    with open(os.path.join(folder, "arch.json")) as f:
        clone = jkeras.models.model_from_json(f.read())
    clone.load_weights(os.path.join(folder, "weights.h5"))
    np.testing.assert_allclose(clone.predict(inputs), io["y"], rtol=1e-5, atol=1e-6)
    meta = json.load(open(os.path.join(folder, "meta.json")))
    assert model.count_params() == meta["count_params"]


def test_keras3_loads_what_jkeras_writes(tmp_path):
    keras = pytest.importorskip("keras")
    x, y = _xy()
    for model in (_mlp(), _functional()):
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        inputs = x if len(model.inputs) == 1 else [x, x[:, :4]]
        model.fit(inputs, y, epochs=1, verbose=0)
        path = str(tmp_path / f"{model.name}.h5")
        model.save(path)
        theirs = keras.models.load_model(path)
        np.testing.assert_allclose(np.asarray(theirs.predict(inputs, verbose=0)), model.predict(inputs),
                                   rtol=1e-5, atol=1e-6)


def test_jkeras_loads_what_keras3_writes(tmp_path):
    keras = pytest.importorskip("keras")
    inp = keras.Input((8,), name="x")
    h = keras.layers.Dense(6, activation="relu", name="h")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    out = keras.layers.Dense(3, activation="softmax", name="o")(keras.layers.Dropout(0.2)(h))
    theirs = keras.Model(inp, out)
    theirs.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    x, y = _xy()
    theirs.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "k3.h5")
    theirs.save(path)
    ours = jkeras.models.load_model(path)
    np.testing.assert_allclose(ours.predict(x), np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5,
                               atol=1e-6)
    ours.fit(x, y, epochs=1, verbose=0)  # compiled from the file's training config

"""Keras-format files: whole-model .h5, weights .h5, JSON/YAML, custom objects, both directions."""
import base64
import json
import marshal
import os
import types

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.saving import CustomObjectScope, FileFormatError, serialization

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras")


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


@pytest.mark.parametrize("name", ["mlp", "cnn", "two_in", "lstm"])
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
    for model in (_functional(),):  # every layer class: tests/test_saving_interop.py
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


# ---- weights: skip_mismatch, the FAQ's by_name example ----
def test_skip_mismatch_warns_naming_each_skipped_layer(tmp_path):
    model = _mlp()
    model.save_weights(tmp_path / "w.h5")
    other = jkeras.Sequential([layers.Dense(5, input_shape=(8,), name="hidden"),
                               layers.Dense(16, name="middle"), layers.Dense(3, name="out")])
    kept = other.get_layer("hidden").get_weights()
    with pytest.warns(UserWarning, match="Skipping loading weights for layer 'hidden'") as record:
        other.load_weights(tmp_path / "w.h5", by_name=True, skip_mismatch=True)
    assert len([w for w in record if "Skipping" in str(w.message)]) == 1
    assert "expects weights of shapes [(8, 5), (5,)]" in str(record[0].message)
    np.testing.assert_array_equal(other.get_layer("hidden").get_weights()[0], kept[0])
    np.testing.assert_array_equal(other.get_layer("out").get_weights()[0], model.get_weights()[2])
    # Keras 3 also allows it by position: layers that fit load, the others are named and skipped.
    positional = jkeras.Sequential([layers.Dense(16, input_shape=(8,)), layers.Dense(4)])
    with pytest.warns(UserWarning, match="layer 'dense_1'"):
        positional.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    np.testing.assert_array_equal(positional.layers[0].get_weights()[0], model.get_weights()[0])


def test_faq_by_name_example(tmp_path):
    """The FAQ: only `dense_1` loads; `new_dense` keeps its own initial weights."""
    from jkeras.layers import Dense
    from jkeras.models import Sequential
    fname = str(tmp_path / "weights.h5")
    model = Sequential()
    model.add(Dense(2, input_dim=3, name='dense_1'))
    model.add(Dense(3, name='dense_2'))
    model.save_weights(fname)
    saved = model.get_layer("dense_1").get_weights()

    # new model
    model = Sequential()
    model.add(Dense(2, input_dim=3, name='dense_1'))  # will be loaded
    model.add(Dense(10, name='new_dense'))  # will not be loaded
    untouched = model.get_layer("new_dense").get_weights()

    # load weights from first model; will only affect the first layer, dense_1.
    model.load_weights(fname, by_name=True)

    for a, b in zip(model.get_layer("dense_1").get_weights(), saved):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(model.get_layer("new_dense").get_weights(), untouched):
        np.testing.assert_array_equal(a, b)


# ---- get_config / from_config / registered objects ----
def test_model_from_config_functions_rebuild_models():
    functional, seq = _functional(), _mlp()
    clone = serialization.model_from_class_config(jkeras.Model, serialization.functional_config(functional))
    assert type(clone).__name__ == "Functional" and clone is not functional
    assert [l.name for l in clone.layers] == [l.name for l in functional.layers]
    seq_clone = serialization.model_from_class_config(jkeras.Sequential,
                                                      serialization.model_config(seq)["config"])
    assert isinstance(seq_clone, jkeras.Sequential)
    assert [l.name for l in seq_clone.layers] == ["hidden", "dropout", "out"]
    # the outer {"class_name", "config"} form and Keras 2's bare list of layers work too
    assert [l.name for l in serialization.model_from_class_config(
        jkeras.Sequential, serialization.model_config(seq)).layers] == ["hidden", "dropout", "out"]
    bare = serialization.model_config(seq)["config"]["layers"]
    assert len(serialization.model_from_class_config(jkeras.Sequential, bare).layers) == 3


def test_model_from_config_classmethods():
    functional, seq = _functional(), _mlp()
    if "input_layers" not in functional.get_config():
        pytest.skip("Model.from_config / Functional.get_config are not wired to jkeras.saving yet "
                    "(see the saving report for the three-line methods)")
    clone = jkeras.Model.from_config(functional.get_config())
    assert [l.name for l in clone.layers] == [l.name for l in functional.layers]
    assert functional.get_config()["input_layers"] == [["in_a", 0, 0], ["in_b", 0, 0]]
    assert isinstance(jkeras.Sequential.from_config(seq.get_config()), jkeras.Sequential)
    assert [l.name for l in jkeras.Sequential.from_config(seq.get_config()).layers] == ["hidden", "dropout", "out"]
    x = [np.ones((2, 8), "float32"), np.ones((2, 4), "float32")]
    clone.set_weights(functional.get_weights())
    np.testing.assert_array_equal(clone.predict(x), functional.predict(x))


def test_register_keras_serializable():
    @jkeras.saving.register_keras_serializable(package="MyLayers")
    class Twice(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    store = jkeras.utils.get_custom_objects()
    try:
        assert store["MyLayers>Twice"] is Twice and store["Twice"] is Twice
        assert jkeras.saving.get_registered_name(Twice) == "MyLayers>Twice"
        assert jkeras.saving.get_registered_object("MyLayers>Twice") is Twice
        inp = layers.Input((3,))
        model = jkeras.Model(inp, Twice(name="twice")(inp))
        clone = jkeras.models.model_from_json(model.to_json())  # no custom_objects needed
        assert type(clone.get_layer("twice")) is Twice
        # Keras 3 writes the registered name next to the class name
        keras3_style = json.loads(model.to_json())
        keras3_style["config"]["layers"][1].update(class_name="Renamed", registered_name="MyLayers>Twice")
        assert type(serialization.model_from_config(keras3_style).get_layer("twice")) is Twice
        with pytest.raises(ValueError, match="get_config"):
            jkeras.saving.register_keras_serializable()(type("NoConfig", (), {}))
    finally:
        store.pop("MyLayers>Twice", None)
        store.pop("Twice", None)


# ---- safe_mode: serialized code never runs on load ----
def _payload_code(marker):
    """Bytecode of a lambda that creates `marker` when called: what an attacker would ship."""
    module = compile(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]", "<payload>", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


def _lambda_model_config(function_field, extra=None):
    return {"class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "name": "x"}},
        {"class_name": "Lambda", "config": {"name": "pwn", "function": function_field,
                                            "arguments": {}, **(extra or {})}}]}}


def test_safe_mode_refuses_lambda_bytecode_in_json_and_h5(tmp_path):
    marker = tmp_path / "pwned"
    code = _payload_code(marker)
    encoded = base64.b64encode(marshal.dumps(code)).decode("ascii")
    live = tmp_path / "live"
    types.FunctionType(_payload_code(live), {})(0)  # the payload is real: calling it writes a file
    assert live.exists()
    keras3_form = _lambda_model_config({"class_name": "__lambda__",
                                        "config": {"code": encoded, "defaults": None, "closure": None}})
    tf_keras_form = _lambda_model_config([encoded, None, None], {"function_type": "lambda"})
    for config in (keras3_form, tf_keras_form):
        text = json.dumps(config)
        with pytest.raises(ValueError, match="safe_mode=False"):
            jkeras.models.model_from_json(text)
        path = tmp_path / "evil.h5"
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = text.encode()
            f.create_group("model_weights").attrs["layer_names"] = np.asarray([b"x", b"pwn"])
        with pytest.raises(ValueError, match="arbitrary code execution"):
            jkeras.models.load_model(path)
        assert not marker.exists()
    # only the user's explicit safe_mode=False lets stored code run, as in Keras
    jkeras.models.model_from_json(json.dumps(keras3_form), safe_mode=False).predict(np.ones((1, 2)))
    assert marker.exists()


def test_lambda_from_python_lambda_loads_only_with_safe_mode_false(tmp_path):
    inp = layers.Input((2,))
    model = jkeras.Model(inp, layers.Lambda(lambda x: x + 1.0, name="plus_one")(inp))
    model.save(tmp_path / "lam.h5")
    with pytest.raises(ValueError, match="safe_mode=False"):
        jkeras.models.load_model(tmp_path / "lam.h5")
    loaded = jkeras.models.load_model(tmp_path / "lam.h5", safe_mode=False)
    x = np.ones((3, 2), "float32")
    np.testing.assert_array_equal(loaded.predict(x), x + 1.0)


def test_yaml_python_tags_are_refused(tmp_path):
    marker = tmp_path / "pwned"
    attacks = [f"!!python/object/apply:os.system ['touch {marker}']",
               "class_name: Sequential\nconfig:\n  name: !!python/object/apply:os.system "
               f"['touch {marker}']\n  layers: []\n",
               f"!!python/object/new:subprocess.Popen [['touch', '{marker}']]"]
    for text in attacks:
        with pytest.raises(ValueError, match="only safe YAML"):
            jkeras.models.model_from_yaml(text)
    assert not marker.exists()


# ---- atomic saves ----
@pytest.mark.parametrize("how", ["save", "save_weights"])
def test_failed_save_leaves_the_previous_file_whole(tmp_path, monkeypatch, how):
    x = np.ones((2, 8), "float32")
    model = _mlp()
    path = tmp_path / "m.h5"
    getattr(model, how)(path)
    before = path.read_bytes()
    other = _mlp()
    calls = []
    create = h5py.Group.create_dataset

    def failing(self, *args, **kwargs):
        calls.append(args[0] if args else kwargs.get("name"))
        if len(calls) > 2:  # the first layer's datasets are written, then the disk "fills up"
            raise OSError("No space left on device (simulated)")
        return create(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(OSError, match="simulated"):
        getattr(other, how)(path)
    monkeypatch.undo()
    assert len(calls) == 3
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.h5"]  # no temporary file left behind
    if how == "save":
        np.testing.assert_array_equal(jkeras.models.load_model(path).predict(x), model.predict(x))
    else:
        fresh = _mlp()
        fresh.load_weights(path)
        np.testing.assert_array_equal(fresh.predict(x), model.predict(x))


def test_weights_only_and_foreign_files_give_clear_errors(tmp_path):
    model = _mlp()
    model.save_weights(tmp_path / "w.h5")
    with pytest.raises(FileFormatError, match="weights only"):
        jkeras.models.load_model(tmp_path / "w.h5")
    with h5py.File(tmp_path / "data.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(FileFormatError, match="not a Keras model file"):
        jkeras.models.load_model(tmp_path / "data.h5")
    with pytest.raises(FileFormatError, match="not a Keras weights file"):
        model.load_weights(tmp_path / "data.h5")
    import zipfile
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(FileFormatError, match="Keras 3's `.keras` format"):
        jkeras.models.load_model(tmp_path / "m.keras")


# ---- the FAQ's saving section, verbatim with keras -> jkeras ----
class AttentionLayer(layers.Layer):
    """Stands in for the FAQ's custom layer: softmax attention weights over the features."""

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

    def call(self, inputs):
        return inputs * jkeras.activations.softmax(inputs * self.w)


def test_faq_saving_section(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    inp = layers.Input((3,))
    model = jkeras.Model(inp, layers.Dense(2)(AttentionLayer()(inp)))
    model.compile("adam", "mse")
    expected = model.predict(x)

    from jkeras.models import load_model

    model.save('my_model.h5')  # creates a HDF5 file 'my_model.h5'
    with pytest.raises(ValueError, match="Unknown layer class 'AttentionLayer'"):
        load_model('my_model.h5')  # (not the FAQ: without custom_objects it cannot load)
    del model  # deletes the existing model

    # returns a compiled model
    # identical to the previous one
    model = load_model('my_model.h5', custom_objects={'AttentionLayer': AttentionLayer})
    assert model.optimizer is not None
    np.testing.assert_array_equal(model.predict(x), expected)

    # save as JSON
    json_string = model.to_json()

    # save as YAML
    yaml_string = model.to_yaml()

    # model reconstruction from JSON:
    from jkeras.models import model_from_json
    model = model_from_json(json_string, custom_objects={'AttentionLayer': AttentionLayer})

    # model reconstruction from YAML:
    from jkeras.models import model_from_yaml
    with CustomObjectScope({'AttentionLayer': AttentionLayer}):
        model = model_from_yaml(yaml_string)

    model.save_weights('my_model_weights.h5')
    model.load_weights('my_model_weights.h5')
    model.load_weights('my_model_weights.h5', by_name=True)

    reloaded = load_model('my_model.h5', custom_objects={'AttentionLayer': AttentionLayer})
    model.set_weights(reloaded.get_weights())
    np.testing.assert_array_equal(model.predict(x), expected)


def test_faq_custom_object_scope_from_utils(tmp_path, monkeypatch):
    if not hasattr(jkeras.utils, "CustomObjectScope"):
        pytest.skip("jkeras.utils does not export CustomObjectScope yet (see the saving report)")
    monkeypatch.chdir(tmp_path)
    inp = layers.Input((3,))
    jkeras.Model(inp, AttentionLayer()(inp)).save('my_model.h5')

    from jkeras.models import load_model
    from jkeras.utils import CustomObjectScope

    with CustomObjectScope({'AttentionLayer': AttentionLayer}):
        model = load_model('my_model.h5')
    assert isinstance(model.layers[1], AttentionLayer)


def test_check_tf_keras_script_skips_without_tf_keras(capsys):
    import importlib.util
    if importlib.util.find_spec("tf_keras") is not None:
        pytest.skip("tf_keras is installed: run scripts/check_tf_keras.py itself")
    path = os.path.join(os.path.dirname(__file__), "..", "scripts", "check_tf_keras.py")
    spec = importlib.util.spec_from_file_location("check_tf_keras", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.main([]) == 0
    assert "SKIPPED: tf_keras is not importable" in capsys.readouterr().out


def test_tf_keras_only_config_keys_are_accepted():
    """Keys tf.keras 2 writes that Keras 3 rejects (H5_FORMAT.md §7): RNN `time_major` and
    `implementation`, SeparableConv's inherited kernel_* keys; also inside wrappers."""
    inp = layers.Input((6, 6, 2))
    seq = layers.Input((5, 3))
    model = jkeras.Model([inp, seq], [layers.SeparableConv2D(2, 3, name="sep")(inp),
                                      layers.TimeDistributed(layers.SeparableConv1D(2, 2), name="td")(
                                          layers.Reshape((5, 3, 1))(seq)),
                                      layers.LSTM(2, name="lstm")(seq), layers.GRU(2, name="gru")(seq)])
    config = json.loads(model.to_json())
    conv_extra = {"groups": 1, "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
                  "kernel_regularizer": None, "kernel_constraint": None}
    for entry in config["config"]["layers"]:
        if entry["name"] == "sep":
            entry["config"].update(conv_extra)
        if entry["name"] == "td":
            entry["config"]["layer"]["config"].update(conv_extra)
        if entry["name"] in ("lstm", "gru"):
            entry["config"].update(time_major=False, implementation=2)
    clone = jkeras.models.model_from_json(json.dumps(config))
    assert [l.name for l in clone.layers] == [l.name for l in model.layers]

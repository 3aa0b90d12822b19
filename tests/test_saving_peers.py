"""jkeras's `.h5` in the form tf.keras 2 writes, for the layers whose config or call tf.keras 2
and Keras 3 read differently: Lambda, MultiHeadAttention, Attention, LeakyReLU, ZeroPadding1D,
ConvLSTM1D.

Keras 3 (installed) loads what jkeras writes and predicts the same. tf.keras 2 is not a test
dependency: its form comes from a file it wrote (`fixtures/tf_keras_peers`, made by
`scripts/make_tf_keras_peer_fixtures.py`); jkeras loads that file, and writes these layers with
no config key tf.keras 2 lacks and the same call nodes. `scripts/check_layers_peers.py` loads
a jkeras file of every layer in both peers (docs/saving.md has its results).
"""
import importlib.util
import json
import os

import h5py
import numpy as np
import pytest

import jkeras

keras = pytest.importorskip("keras")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "tf_keras_peers")
_spec = importlib.util.spec_from_file_location(
    "make_tf_keras_peer_fixtures", os.path.join(ROOT, "scripts", "make_tf_keras_peer_fixtures.py"))
fixture_script = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture_script)
twice = fixture_script.twice
PEER_LAYERS = ("twice", "plus_one", "mha", "att", "leaky", "pad", "convlstm")
# keys tf.keras 2.21 takes but does not write (scripts/check_layers_peers.py loads them there)
TAKEN_NOT_WRITTEN = {"att": {"seed"}, "convlstm": {"zero_output_for_mask"}}


def _fixture_data():
    data = np.load(os.path.join(FIXTURE, "layers.npz"))
    return [data[f"x{i}"] for i in range(3)], [data[f"y{i}"] for i in range(5)]


def _layer_entries(path):
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
    return {entry["name"]: entry for entry in config["config"]["layers"]}


def _jkeras_model(build=fixture_script.build):
    model = build(jkeras)
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _close(got, expected, atol=1e-5):
    got = got if isinstance(got, list) else [got]
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-5, atol=atol)


def test_jkeras_loads_tf_keras_file_and_predicts_as_it_did():
    """The Python lambdas are bytecode in tf.keras 2's file (also its named `twice`)."""
    xs, ys = _fixture_data()
    model = jkeras.models.load_model(os.path.join(FIXTURE, "layers.h5"), safe_mode=False)
    _close(model.predict(xs, verbose=0), ys)


def test_jkeras_writes_these_layers_as_tf_keras_2_does(tmp_path):
    """Every config key jkeras writes is one tf.keras 2 writes (it refuses others), tf.keras 2's
    required Lambda keys and MultiHeadAttention's input shapes are there, and the attention
    call is written as tf.keras 2 writes it: the value as a keyword argument."""
    _jkeras_model().save(tmp_path / "ours.h5")
    ours, theirs = _layer_entries(tmp_path / "ours.h5"), _layer_entries(os.path.join(FIXTURE, "layers.h5"))
    for name in PEER_LAYERS:
        extra = set(ours[name]["config"]) - set(theirs[name]["config"]) - TAKEN_NOT_WRITTEN.get(name, set())
        assert not extra, f"{name}: jkeras writes keys tf.keras 2 does not: {sorted(extra)}"
    for key in ("function_type", "module", "output_shape_type", "output_shape_module"):
        assert key in ours["twice"]["config"] and key in ours["plus_one"]["config"], key
    assert ours["twice"]["config"]["function"]["config"] == "twice"  # by name (see lambda_layer)
    assert ours["twice"]["config"]["function_type"] == "function"
    assert ours["plus_one"]["config"]["function_type"] == theirs["plus_one"]["config"]["function_type"]
    assert ours["plus_one"]["config"]["output_shape"] == theirs["plus_one"]["config"]["output_shape"]
    for key in ("query_shape", "value_shape", "key_shape"):
        assert ours["mha"]["config"][key] == theirs["mha"]["config"][key], key
    assert ours["mha"]["inbound_nodes"] == theirs["mha"]["inbound_nodes"]
    assert ours["leaky"]["config"]["alpha"] == pytest.approx(theirs["leaky"]["config"]["alpha"])


def _keras3_loadable(K):
    """The fixture's layers but MultiHeadAttention (see the next test), for Keras 3."""
    L = K.layers
    q, v, c = L.Input((3, 4), name="q"), L.Input((5, 4), name="v"), L.Input((4, 5, 2), name="c")
    a = L.Lambda(twice, name="twice")(q)
    b = L.Lambda(lambda t: t + 1.0, name="plus_one")(a)
    outputs = [b, L.Attention(name="att")([q, v]), L.Attention(score_mode="concat", name="concat")([q, v]),
               L.LeakyReLU(0.2, name="leaky")(q), L.ZeroPadding1D(1, name="pad")(q),
               L.ConvLSTM1D(2, 2, name="convlstm")(c)]
    return K.Model([q, v, c], outputs, name="peers")


def test_keras3_loads_jkeras_file_and_predicts_the_same(tmp_path):
    xs, _ = _fixture_data()
    ours = _jkeras_model(_keras3_loadable)
    ours.save(tmp_path / "ours.h5")
    keras.backend.clear_session()
    theirs = keras.models.load_model(str(tmp_path / "ours.h5"), custom_objects={"twice": twice},
                                     compile=False, safe_mode=False)
    assert theirs.get_layer("leaky").negative_slope == pytest.approx(0.2)
    _close(theirs.predict(xs, verbose=0), ours.predict(xs, verbose=0))


def test_keras3_loads_multi_head_attention_weights_but_not_its_call(tmp_path):
    """No written form of a MultiHeadAttention call loads in both peers: tf.keras 2 needs
    `query_shape`... in the config, which Keras 3 refuses, and Keras 3's `.h5` reader passes a
    legacy node's keyword tensors on as their `[name, node, index]` references. jkeras writes
    tf.keras 2's form; in Keras 3 the model is built in code and the weights load."""
    def attention(K):
        q, v = K.layers.Input((3, 4), name="q"), K.layers.Input((5, 4), name="v")
        return K.Model([q, v], K.layers.MultiHeadAttention(2, 3, name="mha")(q, v))

    xs = _fixture_data()[0][:2]
    ours = _jkeras_model(attention)
    ours.save(tmp_path / "ours.h5")
    keras.backend.clear_session()
    with pytest.raises(Exception):
        keras.models.load_model(str(tmp_path / "ours.h5"), compile=False)
    theirs = attention(keras)
    theirs.load_weights(str(tmp_path / "ours.h5"))
    _close(theirs.predict(xs, verbose=0), [ours.predict(xs, verbose=0)])


def test_jkeras_still_loads_its_older_lambda_and_attention_form(tmp_path):
    """Files of earlier jkeras versions: Keras 3's Lambda config (`{"class_name": "function"}`,
    `"__lambda__"`), the attention call as two inbound tensors without input shapes, `score_mode`
    and `negative_slope` written out."""
    xs, _ = _fixture_data()
    ours = _jkeras_model()
    ours.save(tmp_path / "m.h5")
    entries = {layer.name: layer for layer in ours.layers}
    with h5py.File(tmp_path / "m.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        for entry in config["config"]["layers"]:
            if entry["name"] in ("twice", "plus_one", "att", "leaky"):
                entry["config"] = entries[entry["name"]].get_config()
            if entry["name"] == "mha":
                node = entry["inbound_nodes"][0][0]
                entry["inbound_nodes"] = [[node[:3] + [{}], node[3]["value"] + [{}]]]
                for key in ("query_shape", "value_shape", "key_shape"):
                    del entry["config"][key]
        assert config["config"]["layers"][1]["config"]["function"]["class_name"] == "function"
        f.attrs["model_config"] = json.dumps(config).encode("utf8")
    loaded = jkeras.models.load_model(tmp_path / "m.h5", custom_objects={"twice": twice}, safe_mode=False)
    _close(loaded.predict(xs, verbose=0), ours.predict(xs, verbose=0))

"""A model nested in a model, saved by jkeras to `.h5`, loads in Keras 3 (JAX backend) with the
same predictions: the ConvNeXt shape (Sequential blocks inside a Functional model)."""
import json

import h5py
import numpy as np
import pytest

import jkeras

keras = pytest.importorskip("keras")


def convnext_like(K):
    """A stem Sequential given no input shape, a Sequential with its own Input, one called
    twice, as jkeras's and Keras's ConvNeXt nest their stem and downsampling blocks."""
    L = K.layers
    stem = K.Sequential([L.Conv2D(4, 2, strides=2, name="stem_conv"),
                         L.LayerNormalization(epsilon=1e-6, name="stem_ln")], name="stem")
    down = K.Sequential([L.Input((4, 4, 4)), L.Conv2D(4, 1, name="down_conv")], name="down")
    x = L.Input((8, 8, 3), name="x")
    h = down(down(stem(x)))
    return K.Model(x, L.Dense(2, name="head")(L.GlobalAveragePooling2D(name="gap")(h)), name="net")


def test_jkeras_saved_nested_sequentials_load_in_keras3(tmp_path):
    ours = convnext_like(jkeras)
    rng = np.random.default_rng(0)
    ours.set_weights([rng.normal(size=w.shape).astype("float32") for w in ours.get_weights()])
    ours.save(tmp_path / "m.h5")
    config = json.loads(h5py.File(tmp_path / "m.h5").attrs["model_config"])["config"]
    calls = {e["name"]: e["inbound_nodes"] for e in config["layers"]}
    assert calls["down"] == [[["stem", 0, 0, {}]], [["down", 0, 0, {}]]]  # counted from 0
    assert calls["gap"] == [[["down", 1, 0, {}]]]
    x = rng.normal(size=(2, 8, 8, 3)).astype("float32")
    expected = ours.predict(x, verbose=0)
    theirs = keras.models.load_model(str(tmp_path / "m.h5"), compile=False)
    assert [layer.name for layer in theirs.layers] == [layer.name for layer in ours.layers]
    np.testing.assert_allclose(np.asarray(theirs.predict(x, verbose=0)), expected, rtol=1e-5, atol=1e-5)
    back = jkeras.models.load_model(tmp_path / "m.h5")
    assert len(back.get_layer("down")._inbound_nodes) == 2  # one shared nested model
    np.testing.assert_allclose(back.predict(x, verbose=0), expected, rtol=1e-6, atol=1e-6)
    back.save(tmp_path / "again.h5")  # and once more through jkeras's own reader
    np.testing.assert_allclose(jkeras.models.load_model(tmp_path / "again.h5").predict(x, verbose=0),
                               expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case, first_call", [("input_shape", 1), ("nested_input_shape", 1), ("input", 0),
                                              ("no_shape", 0)])
def test_nested_sequential_round_trips_in_tf_keras_numbering(tmp_path, case, first_call):
    """A Sequential whose first layer declares the input shape is built when loaded, so its first
    call is node 1, as tf_keras 2.21 writes it (`_should_skip_first_node`; its files and these
    load there, Keras 3 refuses both); the others are counted from 0."""
    L = jkeras.layers
    stack = {"input_shape": lambda: [L.Dense(3, input_shape=(4,))],
             "nested_input_shape": lambda: [jkeras.Sequential([L.Dense(3, input_shape=(4,))]), L.Dense(2)],
             "input": lambda: [L.Input((4,)), L.Dense(3)],
             "no_shape": lambda: [L.Dense(3)]}[case]()
    inner = jkeras.Sequential(stack, name="inner")
    x = L.Input((4,))
    model = jkeras.Model(x, L.Dense(1, name="head")(inner(x)))
    model.save(tmp_path / "m.h5")
    config = json.loads(h5py.File(tmp_path / "m.h5").attrs["model_config"])["config"]
    assert {e["name"]: e["inbound_nodes"] for e in config["layers"]}["head"] == [[["inner", first_call, 0, {}]]]
    data = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    back = jkeras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(back.predict(data, verbose=0), model.predict(data, verbose=0))

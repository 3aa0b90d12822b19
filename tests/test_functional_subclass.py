"""Functional subclasses: `class Net(Model)` whose `__init__(self, inputs, blocks)` builds a graph
and calls `super().__init__(inputs=..., outputs=...)`, as Keras 2 code does. Its `.h5` loads as
`Net` with `custom_objects={"Net": Net}` and as a plain functional model with `{"Net": Model}`
(what tf.keras 2 and Keras 3 load too; tf.keras 2.21 itself writes such a model's config as
`{name, trainable}` only and cannot load it back either way)."""
import json

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.errors import ConfigError
from jkeras.models import Functional

X = np.arange(12, dtype="float32").reshape(4, 3) / 10.0
Y = np.linspace(-1.0, 1.0, 8, dtype="float32").reshape(4, 2)


class Net(jkeras.Model):
    """A Keras 2 style functional subclass with a constructor of its own."""

    def __init__(self, inputs, blocks, width=4, **kwargs):
        x = inputs
        for i in range(blocks):
            x = layers.Dense(width, activation="relu", name=f"block{i}")(x)
        super().__init__(inputs=inputs, outputs=layers.Dense(2, name="head")(x), **kwargs)
        self.blocks = blocks

    def heads(self):
        return [layer.name for layer in self.layers if layer.name.startswith("head")]


def _trained_net(name="net"):
    net = Net(jkeras.Input((3,), name="x"), 2, name=name)
    net.compile("adam", "mse")
    net.fit(X, Y, epochs=2, batch_size=2, verbose=0)
    return net


def test_subclass_is_a_functional_model_of_its_own_class():
    net = Net(jkeras.Input((3,)), 2)
    again = Net(jkeras.Input((3,)), 1)  # a second instance, once the class already is functional
    for model, blocks in ((net, 2), (again, 1)):
        assert isinstance(model, Net) and isinstance(model, Functional)
        assert model.blocks == blocks and model.heads() == ["head"]
        assert len(model.layers) == blocks + 2
        assert model.predict(X, verbose=0).shape == (4, 2)


def test_h5_loads_as_the_subclass_and_keeps_training(tmp_path):
    net = _trained_net()
    net.save(tmp_path / "net.h5")
    with h5py.File(tmp_path / "net.h5") as f:
        config = json.loads(f.attrs["model_config"])
    assert config["class_name"] == "Net"
    assert {"layers", "input_layers", "output_layers"} <= set(config["config"])
    loaded = jkeras.models.load_model(tmp_path / "net.h5", custom_objects={"Net": Net})
    assert type(loaded) is Net and loaded.heads() == ["head"]
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), net.predict(X, verbose=0))
    net.fit(X, Y, epochs=1, batch_size=2, verbose=0, shuffle=False)
    loaded.fit(X, Y, epochs=1, batch_size=2, verbose=0, shuffle=False)  # optimizer state came along
    np.testing.assert_allclose(loaded.predict(X, verbose=0), net.predict(X, verbose=0), rtol=1e-6, atol=1e-6)


def test_h5_loads_as_plain_model_when_custom_objects_map_the_name_to_model(tmp_path):
    net = _trained_net()
    net.save(tmp_path / "net.h5")
    plain = jkeras.models.load_model(tmp_path / "net.h5", custom_objects={"Net": jkeras.Model})
    assert type(plain) is Functional
    assert [layer.name for layer in plain.layers] == [layer.name for layer in net.layers]
    np.testing.assert_array_equal(plain.predict(X, verbose=0), net.predict(X, verbose=0))
    with pytest.raises(ConfigError, match="Unknown layer class 'Net'.*custom_objects"):
        jkeras.models.load_model(tmp_path / "net.h5")


def test_keras3_loads_the_file_as_a_functional_model(tmp_path):
    keras = pytest.importorskip("keras")
    net = _trained_net()
    net.save(tmp_path / "net.h5")
    theirs = keras.models.load_model(str(tmp_path / "net.h5"), custom_objects={"Net": keras.Model},
                                     compile=False)
    np.testing.assert_allclose(np.asarray(theirs.predict(X, verbose=0)), net.predict(X, verbose=0),
                               rtol=1e-6, atol=1e-6)


def test_nested_subclass_and_from_config(tmp_path):
    inner = Net(jkeras.Input((3,)), 1, name="inner")
    inp = jkeras.Input((3,))
    outer = jkeras.Model(inp, layers.Dense(1, name="out")(inner(inp)))
    outer.save(tmp_path / "outer.h5")
    for target, kind in ((Net, Net), (jkeras.Model, Functional)):
        loaded = jkeras.models.load_model(tmp_path / "outer.h5", custom_objects={"Net": target})
        assert type(loaded.get_layer("inner")) is kind
        np.testing.assert_array_equal(loaded.predict(X, verbose=0), outer.predict(X, verbose=0))
    rebuilt = Net.from_config(inner.get_config())
    assert type(rebuilt) is Net
    assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in inner.layers]
    assert rebuilt.predict(X, verbose=0).shape == (4, 2)


def test_subclass_keeping_the_functional_signature_is_constructed_through_it():
    calls = []

    class Tagged(jkeras.Model):
        def __init__(self, inputs, outputs, tag="t", **kwargs):
            calls.append(tag)
            super().__init__(inputs, outputs, **kwargs)
            self.tag = tag

    inp = jkeras.Input((3,))
    model = Tagged(inp, layers.Dense(2)(inp), tag="first")
    clone = Tagged.from_config(model.get_config())
    assert type(clone) is Tagged and clone.tag == "t" and calls == ["first", "t"]

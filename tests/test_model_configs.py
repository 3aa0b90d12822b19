"""The models own their configs (models/functional_config.py, models/sequential.py); saving finds
the model classes in a registry the models fill and never imports them."""
import ast
import os

import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.models import Functional, functional_config
from jkeras.saving import serialization

SAVING = os.path.join(os.path.dirname(__file__), os.pardir, "jkeras", "saving")


def _imported_modules(path):
    """Every module an import statement in the file at `path` names, lazy ones included."""
    with open(path) as f:
        tree = ast.parse(f.read())
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:  # `from jkeras import layers`: jkeras.layers
            names += [f"{node.module}.{alias.name}" for alias in node.names]
            names += [node.module] if node.module != "jkeras" else []
    return names


@pytest.mark.parametrize("module", ["serialization", "config_safety", "json_yaml", "object_registration"])
def test_config_modules_of_saving_never_import_the_models(module):
    imported = _imported_modules(os.path.join(SAVING, module + ".py"))
    assert [m for m in imported if m == "jkeras.models" or m.startswith("jkeras.models.")] == []
    assert "jkeras" not in imported  # the package root imports the models


class _Subclassed(jkeras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(2)

    def call(self, x):
        return self.dense(x)


def test_registry_and_graph_model_flag():
    assert serialization.model_class("Sequential") is jkeras.Sequential
    assert serialization.model_class("Functional") is serialization.model_class("Model") is Functional
    known = serialization.layer_classes()
    assert known["Sequential"] is jkeras.Sequential and known["Model"] is Functional
    x = jkeras.Input((3,))
    assert jkeras.Model(x, layers.Dense(2)(x)).is_graph_model
    assert jkeras.Sequential([layers.Dense(2)]).is_graph_model
    subclassed = _Subclassed()
    assert not getattr(subclassed, "is_graph_model", False)
    with pytest.raises(NotImplementedError, match="subclassed model"):
        subclassed.to_json()


def test_functional_config_round_trip_matches_numpy():
    inner = jkeras.Sequential([layers.Dense(4, activation="relu", name="hidden")], name="inner")
    x = jkeras.Input((3,), name="x")
    model = jkeras.Model(x, layers.Dense(2, name="head")(inner(x)))
    config = model.get_config()
    assert config == functional_config.functional_config(model)
    assert config["layers"][1]["class_name"] == "Sequential"
    assert [e["class_name"] for e in config["layers"][1]["config"]["layers"]] == ["Dense"]
    clone = jkeras.Model.from_config(config)
    assert type(clone) is Functional
    clone.set_weights(model.get_weights())
    data = np.linspace(-1.0, 1.0, 12, dtype="float32").reshape(4, 3)
    w1, b1, w2, b2 = model.get_weights()
    expected = np.maximum(data @ w1 + b1, 0.0) @ w2 + b2
    np.testing.assert_allclose(clone.predict(data, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_model_from_config_of_a_layer_list_is_sequential():
    seq = jkeras.Sequential([layers.Dense(3, input_shape=(2,), name="a"), layers.Dense(1, name="b")])
    entries = seq.get_config()["layers"]
    rebuilt = jkeras.Model.from_config(entries)
    assert type(rebuilt) is jkeras.Sequential
    assert [layer.name for layer in rebuilt.layers] == ["a", "b"]

import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np
import pytest

from jkeras import constraints, regularizers
from jkeras.backend import registry

keras = pytest.importorskip("keras")

W = np.random.default_rng(0).normal(size=(3, 3, 4, 5)).astype("float32")


# ---- regularizers ----

@pytest.mark.parametrize("name, kwargs", [
    ("L1", {}), ("L1", {"l1": 0.3}), ("L2", {}), ("L2", {"l2": 0.2}),
    ("L1L2", {}), ("L1L2", {"l1": 0.1}), ("L1L2", {"l1": 0.01, "l2": 0.05}),
])
def test_regularizers_match_keras(name, kwargs):
    ours = getattr(regularizers, name)(**kwargs)
    theirs = getattr(keras.regularizers, name)(**kwargs)
    np.testing.assert_allclose(float(ours(W)), float(theirs(W)), rtol=1e-6)
    assert ours(W).shape == () and ours(W).dtype == np.float32
    assert ours.get_config() == pytest.approx(theirs.get_config())


def test_regularizer_formulas_and_defaults():
    assert float(regularizers.L2()(np.ones(4, "float32"))) == pytest.approx(0.04)
    assert float(regularizers.l1(0.5)(np.array([-1.0, 2.0], "float32"))) == pytest.approx(1.5)
    assert regularizers.L1L2().get_config() == {"l1": 0.0, "l2": 0.0}
    assert float(regularizers.L1L2()(W)) == 0.0
    assert regularizers.l1_l2().get_config() == {"l1": 0.01, "l2": 0.01}  # Keras 2's shortcut defaults
    assert regularizers.l1_l2(l1=0.2).get_config() == {"l1": 0.2, "l2": 0.01}


def test_regularizer_get_forms():
    assert regularizers.get(None) is None
    assert type(regularizers.get("l1")) is regularizers.L1
    assert regularizers.get("l2").get_config() == {"l2": 0.01}
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    assert regularizers.get("l1_l2").get_config() == {"l1": 0.01, "l2": 0.01}
    tf2 = {"class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.001}}
    assert regularizers.get(tf2).get_config() == {"l1": 0.0, "l2": 0.001}
    keras3 = keras.regularizers.serialize(keras.regularizers.L2(0.25))
    assert regularizers.get(keras3).get_config() == {"l2": 0.25}
    instance = regularizers.L1(0.2)
    assert regularizers.get(instance) is instance

    def custom(x):
        return 0.0

    assert regularizers.get(custom) is custom


@pytest.mark.parametrize("reg", [regularizers.L1(0.2), regularizers.L2(0.3), regularizers.L1L2(0.1, 0.2)])
def test_regularizer_serialize_round_trips_through_keras(reg):
    serialized = regularizers.serialize(reg)
    assert serialized == {"module": "keras.regularizers", "class_name": type(reg).__name__,
                          "config": reg.get_config(), "registered_name": None}
    assert regularizers.get(serialized).get_config() == reg.get_config()
    theirs = keras.regularizers.deserialize(serialized)
    np.testing.assert_allclose(float(theirs(W)), float(reg(W)), rtol=1e-6)
    assert type(reg).from_config(reg.get_config()).get_config() == reg.get_config()
    assert regularizers.serialize(None) is None


def test_regularizer_errors():
    with pytest.raises(ValueError, match=r"Unknown regularizer 'l3'.*L1L2"):
        regularizers.get("l3")
    with pytest.raises(ValueError, match="Could not interpret regularizer"):
        regularizers.get(0.1)
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L2(-1.0)
    with pytest.raises(ValueError, match="non-negative"):
        regularizers.L1(float("nan"))


# ---- constraints ----

@pytest.mark.parametrize("name, kwargs", [
    ("MaxNorm", {}), ("MaxNorm", {"max_value": 3.0, "axis": [0, 1, 2]}),
    ("MaxNorm", {"max_value": 0.5, "axis": -1}),
    ("NonNeg", {}),
    ("UnitNorm", {}), ("UnitNorm", {"axis": [0, 1, 2]}),
    ("MinMaxNorm", {}), ("MinMaxNorm", {"min_value": 2.5, "max_value": 3.5, "rate": 0.5, "axis": 3}),
])
def test_constraints_match_keras(name, kwargs):
    ours = getattr(constraints, name)(**kwargs)
    theirs = getattr(keras.constraints, name)(**kwargs)
    np.testing.assert_allclose(np.asarray(ours(W)), np.asarray(theirs(W)), rtol=1e-6, atol=1e-7)
    assert ours.get_config() == theirs.get_config()
    serialized = constraints.serialize(ours)
    assert serialized == keras.constraints.serialize(theirs)
    assert constraints.get(serialized).get_config() == ours.get_config()
    assert type(constraints.get(keras.constraints.serialize(theirs))) is type(ours)
    assert type(keras.constraints.deserialize(serialized)) is type(theirs)


def test_constraint_formulas():
    w = np.array([[3.0, 0.1], [4.0, 0.1]], "float32")
    np.testing.assert_allclose(constraints.MaxNorm(2.0)(w), [[1.2, 0.1], [1.6, 0.1]], rtol=1e-5)
    np.testing.assert_allclose(constraints.UnitNorm()(w)[:, 0], [0.6, 0.8], rtol=1e-5)
    np.testing.assert_array_equal(constraints.NonNeg()(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 2.0])


@pytest.mark.parametrize("alias, cls", [
    ("max_norm", "MaxNorm"), ("MaxNorm", "MaxNorm"), ("maxnorm", "MaxNorm"),
    ("non_neg", "NonNeg"), ("NonNeg", "NonNeg"), ("nonneg", "NonNeg"),
    ("unit_norm", "UnitNorm"), ("UnitNorm", "UnitNorm"), ("unitnorm", "UnitNorm"),
    ("min_max_norm", "MinMaxNorm"), ("MinMaxNorm", "MinMaxNorm"),
])
def test_constraint_names(alias, cls):
    assert type(constraints.get(alias)) is getattr(constraints, cls)


def test_constraint_get_forms_and_errors():
    assert constraints.get(None) is None
    tf2 = {"class_name": "MaxNorm", "config": {"max_value": 3, "axis": [0, 1, 2]}}
    assert constraints.get(tf2).get_config() == {"max_value": 3, "axis": [0, 1, 2]}
    instance = constraints.UnitNorm(axis=1)
    assert constraints.get(instance) is instance
    assert isinstance(constraints.get(constraints.NonNeg), constraints.NonNeg)
    with pytest.raises(ValueError, match=r"Unknown constraint 'max'.*max_norm"):
        constraints.get("max")
    with pytest.raises(ValueError, match="Could not interpret constraint"):
        constraints.get(2)


# ---- the shared registry ----

class _Custom:
    def __init__(self, factor=1.0):
        self.factor = factor

    def __call__(self, x):
        return x * self.factor

    def get_config(self):
        return {"factor": self.factor}


def test_registry_custom_objects():
    serialized = registry.serialize_keras_object(_Custom(2.0), "keras.constraints")
    assert serialized == {"module": None, "class_name": "_Custom", "config": {"factor": 2.0},
                          "registered_name": "_Custom"}
    with pytest.raises(ValueError, match="Unknown constraint '_Custom'"):
        constraints.get(serialized)
    assert constraints.deserialize(serialized, custom_objects={"_Custom": _Custom}).factor == 2.0
    registry.get_custom_objects()["_Custom"] = _Custom
    try:
        assert constraints.get(serialized).factor == 2.0
        assert constraints.get("_Custom").factor == 1.0
    finally:
        del registry.get_custom_objects()["_Custom"]


def test_registry_errors():
    with pytest.raises(ValueError, match="class_name"):
        registry.deserialize_keras_object({"config": {}}, {}, "thing")
    with pytest.raises(ValueError, match="get_config"):
        registry.serialize_keras_object(object(), "keras.things")

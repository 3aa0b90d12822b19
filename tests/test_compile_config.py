"""models/compile_config.py: a model's compile config is the `training_config` its `.h5` holds,
and a model compiled from it has the same config."""
import json

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import layers as L
from jkeras.models import compile_config


def _two_outputs():
    x = L.Input((3,))
    h = L.Dense(4)(x)
    return jkeras.Model(x, [L.Dense(2, name="a")(h), L.Dense(1, name="b")(h)])


@pytest.mark.parametrize("build, compile_kw", [
    (lambda: jkeras.Sequential([L.Dense(2, input_shape=(3,))]),
     dict(optimizer=jkeras.optimizers.Nadam(1e-3), loss="mse", metrics=["mae", jkeras.metrics.AUC()])),
    (_two_outputs, dict(optimizer="sgd", loss={"a": "mse", "b": "binary_crossentropy"},
                        loss_weights={"a": 1.0, "b": 0.5}, metrics={"a": ["mae"]}, seed=3)),
])
def test_compile_config_is_the_files_and_round_trips(tmp_path, build, compile_kw):
    model = build()
    model.compile(**compile_kw)
    xs = np.ones((4, 3), "float32")
    ys = [np.ones((4, 2), "float32"), np.ones((4, 1), "float32")] if len(model.outputs) > 1 else np.ones((4, 2))
    model.fit(xs, ys, epochs=1, verbose=0)
    config = compile_config.get_compile_config(model)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "r") as f:
        assert json.loads(f.attrs["training_config"]) == json.loads(json.dumps(config))
    again = build()
    compile_config.compile_from_config(again, json.loads(json.dumps(config)))
    assert again.steps_trained == model.steps_trained and again.seed == model.seed
    rebuilt = compile_config.get_compile_config(again)
    assert {k: v for k, v in rebuilt.items() if k != "jkeras"} == {k: v for k, v in config.items() if k != "jkeras"}

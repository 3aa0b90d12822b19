"""The config file and its switches: where `jkeras.json` lives, what it holds, what it turns on.

Each case runs in a fresh interpreter, because the config file is read once, at import.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import jkeras
from jkeras import layers


def _run(code, jhome=None, home=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COMPILATION", "JKERAS_HOME"))}
    if jhome is not None:
        env["JKERAS_HOME"] = str(jhome)
    if home is not None:
        env["HOME"] = str(home)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip()


def test_home_fallbacks_and_defaults_written(tmp_path):
    home = tmp_path / "user"
    home.mkdir()
    code = "from jkeras.backend import config; print(config.jkeras_home())"
    assert _run(code, home=home) == str(home / ".jkeras")
    stored = json.loads((home / ".jkeras" / "jkeras.json").read_text())
    assert stored["floatx"] == "float32" and stored["image_data_format"] == "channels_last"
    assert stored["compilation_cache"] is True and stored["check_finite_inputs"] is False
    not_a_folder = tmp_path / "file"          # unwritable even for root: `~/.jkeras` cannot exist
    not_a_folder.write_text("")
    assert _run(code, home=not_a_folder) == "/tmp/.jkeras"


def test_config_file_values_are_read_and_bad_ones_ignored(tmp_path):
    (tmp_path / "jkeras.json").write_text(json.dumps(
        {"floatx": "float64", "epsilon": 1e-5, "image_data_format": "channels_first",
         "check_finite_inputs": True, "compilation_cache": "yes"}))
    out = _run("import jkeras; c = jkeras.config; print(c.floatx(), c.epsilon(), "
               "c.image_data_format(), c.check_finite_inputs(), c.compilation_cache())", jhome=tmp_path)
    assert out.split() == ["float64", "1e-05", "channels_first", "True", "True"]


_TRAIN = """
import numpy as np, jkeras
from jkeras import layers
m = jkeras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
m.compile("adam", "mse")
m.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), epochs=1, verbose=0)
import jax; print(jax.config.jax_compilation_cache_dir)
"""


def test_compilation_cache_lives_in_the_home_and_can_be_switched_off(tmp_path):
    on, off = tmp_path / "on", tmp_path / "off"
    off.mkdir()
    (off / "jkeras.json").write_text(json.dumps({"compilation_cache": False}))
    assert _run(_TRAIN, jhome=on) == str(on / "xla_cache")
    cached = os.listdir(on / "xla_cache")
    assert any(name.startswith("jit_run-") for name in cached)   # the train step
    assert _run(_TRAIN, jhome=off) == "None"
    assert not (off / "xla_cache").exists()


def _model():
    model = jkeras.Sequential([layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    return model


@pytest.fixture
def finite_check():
    jkeras.config.set_check_finite_inputs(True)
    yield
    jkeras.config.set_check_finite_inputs(False)


def test_check_finite_inputs_names_the_first_bad_batch(finite_check):
    x, y = np.ones((20, 3), "float32"), np.ones((20, 2), "float32")
    x[13, 1], y[6, 0] = np.nan, np.inf
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=r"batch 1 \(batch_size=4, in the order given\) holds NaN or "
                                         r"Inf, first at row 6 of y\[0\]"):
        model.fit(x, y, batch_size=4, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)

    def batches():
        yield x[:4], y[:4]
        yield x[12:16], np.ones((4, 2), "float32")
    with pytest.raises(ValueError, match=r"batch 1 of the data source holds NaN or Inf, first at row 1 of x"):
        model.fit(batches(), steps_per_epoch=2, verbose=0)


def test_check_finite_inputs_is_off_by_default():
    x = np.ones((8, 3), "float32")
    x[0, 0] = np.nan
    history = _model().fit(x, np.ones((8, 2), "float32"), verbose=0)
    assert np.isnan(history.history["loss"][0])


def test_config_switch_takes_only_booleans():
    with pytest.raises(TypeError, match="True or False"):
        jkeras.config.set_check_finite_inputs("yes")

"""saving/api.py: the one place a path's format is chosen, with the same errors as `Model.save`."""
import json

import h5py
import numpy as np
import pytest

import jkeras
from jkeras.saving import api


@pytest.mark.parametrize("path, save_format, what, expected", [
    ("m.h5", None, "save", "h5"),
    ("m.hdf5", "h5", "save", "h5"),
    ("m.weights.h5", None, "save", "weights_h5"),
    ("m.weights.h5", None, "save_weights", "weights_h5"),
    ("ckpt", None, "save", "orbax"),
    ("ckpt", "tf", "save", "orbax"),
    ("ckpt", "orbax", "save", "orbax"),
])
def test_format_of_writing(path, save_format, what, expected):
    assert api.format_of(path, save_format, what=what) == expected


@pytest.mark.parametrize("path, save_format, what, message", [
    ("m.keras", None, "save", "cannot write Keras 3's `.keras` zip format"),
    ("ckpt", "h5", "save", r"save\(\) writes Keras's HDF5 format: give a path ending in .h5"),
    ("m.h5", "tf", "save", r"save\(\) writes Keras's HDF5 format"),
    ("ckpt", None, "save_weights", r"save_weights\(\) writes Keras's HDF5 format"),
])
def test_format_of_refuses(path, save_format, what, message):
    with pytest.raises(ValueError, match=message):
        api.format_of(path, save_format, what=what)


def test_format_of_reading_tells_a_folder_from_a_file(tmp_path):
    assert api.format_of(tmp_path, reading=True) == "orbax"
    assert api.format_of(tmp_path / "m.weights.h5", reading=True) == "weights_h5"
    assert api.format_of(tmp_path / "m.h5", reading=True) == "h5"
    with pytest.raises(TypeError, match=r"load_model\(\) needs a file path"):
        api.format_of(3, reading=True, what="load_model")


def test_dispatch_round_trips(tmp_path):
    model = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
    x = np.arange(6, dtype="float32").reshape(2, 3)
    for name in ("m.h5", "ckpt"):
        api.save_model(model, tmp_path / name)
        np.testing.assert_array_equal(api.load_model(tmp_path / name).predict(x, verbose=0),
                                      model.predict(x, verbose=0))
    for name in ("w.h5", "w.weights.h5"):
        other = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
        api.save_weights(model, tmp_path / name)
        api.load_weights(other, tmp_path / name)
        np.testing.assert_array_equal(other.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(TypeError, match="unexpected keyword"):
        api.save_model(model, tmp_path / "m.h5", colour="red")


def test_a_training_config_that_does_not_compile_names_the_file(tmp_path):
    model = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "a") as f:
        f.attrs["training_config"] = json.dumps({"loss": 3})
    with pytest.raises(jkeras.errors.ConfigError, match=r"m\.h5: attribute 'training_config' cannot be compiled"):
        api.load_model(path)


def test_only_process_0_writes(tmp_path, monkeypatch):
    model = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
    monkeypatch.setattr(api.jax, "process_index", lambda: 1)
    api.save_model(model, tmp_path / "m.h5")
    api.save_weights(model, tmp_path / "w.h5")
    api.save_model(model, tmp_path / "ckpt")
    assert list(tmp_path.iterdir()) == []

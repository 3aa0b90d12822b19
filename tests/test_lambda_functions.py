"""`Lambda` of a named function: saved by module and name, found again in that module when it is
imported (safe mode too, for a package that uses jkeras), else an error naming what it looked
for and what to pass."""
import json
import os
import sys
import types

import h5py
import numpy as np
import pytest

import jkeras
from jkeras.errors import ConfigError, UnsafeLoadError

X = np.arange(6, dtype="float32").reshape(2, 3)


def expand_dims(x, axis=1):
    """A module-level function of a module that uses jkeras, as Keras 2 libraries write them."""
    return jkeras.backend.expand_dims(x, axis)


def _save(tmp_path, function, **kwargs):
    inp = jkeras.Input((3,))
    model = jkeras.Model(inp, jkeras.layers.Lambda(function, **kwargs)(inp))
    model.save(tmp_path / "m.h5")
    return model


def _edit_function(path, **changes):
    with h5py.File(path, "r+") as f:
        config = json.loads(f.attrs["model_config"])
        config["config"]["layers"][1]["config"]["function"].update(changes)
        f.attrs["model_config"] = json.dumps(config)


def test_named_function_is_saved_by_module_and_name_and_found_there_in_safe_mode(tmp_path):
    model = _save(tmp_path, expand_dims, arguments={"axis": 2})
    with h5py.File(tmp_path / "m.h5") as f:
        saved = json.loads(f.attrs["model_config"])["config"]["layers"][1]["config"]["function"]
    assert saved["module"] == __name__ and saved["config"] == "expand_dims"
    loaded = jkeras.models.load_model(tmp_path / "m.h5")  # safe mode, no custom_objects
    assert loaded.layers[1].function is expand_dims
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), X[:, :, None])
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_custom_objects_come_before_the_module(tmp_path):
    _save(tmp_path, expand_dims)

    def twice(x, axis=1):
        return jkeras.backend.expand_dims(x * 2.0, axis)

    loaded = jkeras.models.load_model(tmp_path / "m.h5", custom_objects={"expand_dims": twice})
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), 2.0 * X[:, None, :])


def test_module_not_imported_error_names_function_module_and_remedies(tmp_path):
    _save(tmp_path, expand_dims)
    _edit_function(tmp_path / "m.h5", module="no_such_module_for_jkeras")
    with pytest.raises(ConfigError) as error:
        jkeras.models.load_model(tmp_path / "m.h5")
    message = str(error.value)
    for part in ("'expand_dims'", "'no_such_module_for_jkeras'", "not imported",
                 "import no_such_module_for_jkeras", "custom_objects={'expand_dims'"):
        assert part in message
    _edit_function(tmp_path / "m.h5", module=__name__, config="no_such_function")
    with pytest.raises(ConfigError, match="'no_such_function' in module .* has no such name"):
        jkeras.models.load_model(tmp_path / "m.h5")


def test_safe_mode_searches_only_packages_that_use_jkeras(tmp_path, monkeypatch):
    plain = types.ModuleType("plain_helpers_for_jkeras")
    exec("def triple(x):\n    return x * 3.0\n", vars(plain))  # a module that never imports jkeras
    monkeypatch.setitem(sys.modules, plain.__name__, plain)
    _save(tmp_path, plain.triple)
    with pytest.raises(ConfigError, match="'triple' in module 'plain_helpers_for_jkeras': safe mode"):
        jkeras.models.load_model(tmp_path / "m.h5")
    trusted = jkeras.models.load_model(tmp_path / "m.h5", safe_mode=False)
    np.testing.assert_array_equal(trusted.predict(X, verbose=0), 3.0 * X)
    # a file cannot reach the standard library's functions (os.spawnv would run a program)
    _edit_function(tmp_path / "m.h5", module="os", config="spawnv")
    with pytest.raises(ConfigError, match="'spawnv' in module 'os': safe mode"):
        jkeras.models.load_model(tmp_path / "m.h5")


def test_tf_keras2_bytecode_gets_its_module_globals(monkeypatch):
    """tf.keras 2.21 wrote `Lambda(scale)`, `def scale(x): return x * SCALE` of module
    `jkeras_lambda_fixture_fns` (SCALE = 3.0), as bytecode with the module's name."""
    path = os.path.join(os.path.dirname(__file__), "fixtures", "keras2_libraries", "tf_lambda_module.h5")
    with pytest.raises(UnsafeLoadError, match="from module 'jkeras_lambda_fixture_fns'"):
        jkeras.models.load_model(path)
    home = types.ModuleType("jkeras_lambda_fixture_fns")
    home.SCALE = 3.0
    monkeypatch.setitem(sys.modules, home.__name__, home)
    model = jkeras.models.load_model(path, safe_mode=False)
    np.testing.assert_array_equal(model.predict(X, verbose=0), 3.0 * X)

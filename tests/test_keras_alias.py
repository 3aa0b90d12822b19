"""`install_as_keras()`: Keras 2 imports give jkeras's own module objects (checked in fresh processes)."""
import os
import subprocess
import sys
import textwrap

import pytest


def _run(code, *args, env_extra=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, *args] if args else [sys.executable, "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_keras_imports_are_jkeras_objects():
    result = _run("""
        import jkeras
        jkeras.install_as_keras()
        import keras
        from keras.layers import Dense
        from keras import backend as K
        import keras.models
        from keras.models import Sequential
        assert keras is jkeras and K is jkeras.backend and keras.models is jkeras.models
        assert Dense is jkeras.layers.Dense and Sequential is jkeras.Sequential
        model = Sequential([Dense(2, input_shape=(3,))])
        assert isinstance(model.layers[0], jkeras.layers.Dense)
        try:
            import keras.no_such_module
        except ImportError as error:
            assert "keras.no_such_module" in str(error)
        else:
            raise AssertionError("a module jkeras lacks must not import")
        print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_refused_after_a_real_keras_was_imported():
    pytest.importorskip("keras")
    result = _run("""
        import keras, jkeras
        try:
            jkeras.install_as_keras()
        except RuntimeError as error:
            print(error)
    """, env_extra={"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr
    assert "must run before a real Keras is imported" in result.stdout


def test_runs_an_unedited_script(tmp_path):
    script = tmp_path / "keras2_script.py"
    script.write_text(textwrap.dedent("""
        import sys
        import numpy as np
        import keras
        from keras.models import Sequential
        from keras.layers import Dense
        model = Sequential([Dense(1, input_shape=(4,))])
        model.compile("sgd", "mse")
        model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=1, verbose=0)
        print(type(model).__module__.split(".")[0], sys.argv[1:])
    """))
    result = _run(None, "-m", "jkeras.keras_alias", str(script), "--flag")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jkeras ['--flag']"

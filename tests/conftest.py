"""Test set-up: Keras 3 on its JAX backend, a persistent XLA cache, fresh names per test."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JKERAS_HOME", os.path.join(os.path.dirname(__file__), "..", ".jkeras_test_home"))

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_compilation_cache_dir",
                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".jax_cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True)
def _fresh_session():
    """Each test starts with Keras's auto-names counted from zero and a fixed seed."""
    from jkeras import backend as K
    K.clear_session()
    K.set_random_seed(1234)
    yield

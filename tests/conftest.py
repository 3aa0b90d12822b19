"""Test set-up: Keras 3 on its JAX backend, fast-compiling XLA flags and a persistent XLA cache,
fresh names per test."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JKERAS_HOME", os.path.join(os.path.dirname(__file__), "..", ".jkeras_test_home"))

import jax  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jkeras  # noqa: E402  (sets its own CPU XLA flags, before jax starts its backends)
from jkeras.backend import xla_flags  # noqa: E402

# Tests compile hundreds of tiny programs and run each a few times: XLA:CPU's unoptimised
# codegen compiles them ~2.5x faster (a train step 500 -> 200 ms) and changes results only in
# the last bits. Only where jkeras set its own CPU defaults (the user set no XLA_FLAGS, jaxlib
# 0.10, which knows these flags); JKERAS_TEST_FAST_COMPILE=0 tests with XLA's default codegen.
FAST_COMPILE_FLAGS = "--xla_cpu_use_fusion_emitters=false --xla_backend_optimization_level=0"
if (os.environ.get("JKERAS_TEST_FAST_COMPILE", "1") != "0" and xla_flags.applied
        and xla_flags.applied[0] is not None and os.environ.get("XLA_FLAGS") == xla_flags.applied[0]):
    os.environ["XLA_FLAGS"] = f"{xla_flags.applied[0]} {FAST_COMPILE_FLAGS}"

jax.config.update("jax_compilation_cache_dir", os.environ.get(  # a fresh folder measures a cold CI run
    "JAX_COMPILATION_CACHE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".jax_cache")))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True)
def _fresh_session():
    """Each test starts with Keras's auto-names counted from zero and a fixed seed."""
    from jkeras import backend as K
    K.clear_session()
    K.set_random_seed(1234)
    yield


@pytest.fixture
def cheap_keras_init(monkeypatch):
    """Keras draws initial weights with numpy instead of compiling `jax.random` once per shape.

    Only the values change (they are randomised or saved and loaded here); shapes
    and names are Keras's own. This takes most of the time out of building Keras's
    reference models.
    """
    import jax.numpy as jnp
    from keras.src import backend as keras_backend
    rng = np.random.default_rng(123)

    def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
        return jnp.asarray(rng.uniform(minval, maxval, shape), dtype or "float32")

    def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return jnp.asarray(rng.normal(mean, stddev, shape), dtype or "float32")

    def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
        return jnp.asarray(np.clip(rng.normal(0.0, 1.0, shape), -2, 2) * stddev + mean,
                           dtype or "float32")

    for fn in (uniform, normal, truncated_normal):
        monkeypatch.setattr(keras_backend.random, fn.__name__, fn)


@pytest.fixture
def homes(tmp_path, monkeypatch):
    """A temporary jkeras home and user home, so no real weight file is found."""
    jhome, uhome = tmp_path / "jkeras_home", tmp_path / "user_home"
    jhome.mkdir()
    uhome.mkdir()
    monkeypatch.setenv("JKERAS_HOME", str(jhome))
    monkeypatch.setenv("HOME", str(uhome))
    return jhome, uhome

"""JAX's persistent compilation cache, kept in the jkeras home: a second process reuses
the XLA programs the first one compiled instead of compiling them again."""
import importlib.util
import os

import jax

from jkeras.backend import config


MAX_BYTES = 2 << 30


def cache_dir():
    return os.path.join(config.jkeras_home(), "xla_cache")


def enable_default_cache():
    """Use `<jkeras home>/xla_cache` for every program, unless the config switches it off
    (`"compilation_cache": false`) or the user already chose a cache folder for JAX."""
    if not config.compilation_cache() or jax.config.jax_compilation_cache_dir:
        return
    path = cache_dir()
    if not config._writable(path):
        return
    jax.config.update("jax_compilation_cache_dir", path)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if jax.config.jax_compilation_cache_max_size < 0 and importlib.util.find_spec("filelock"):
        # unbounded by default; JAX evicts the least recently used entries (with filelock)
        jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)

"""Explicit PRNG keys: one root seed, per-layer keys from a stable hash of the name.

`zlib.crc32` and not `hash()`: Python's string hash differs between processes
and would break bitwise reproducibility.
"""
import secrets
import zlib

import jax

from jkeras.backend.naming import reset_names

_root = {"seed": None}


def set_random_seed(seed):
    """Fix the root seed, so the same model-building code gives the same weights.

    Init keys come from layer names, so the auto-name counters restart too:
    running the same code again after this call gives the same names and bits.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int; received {seed!r}.")
    _root["seed"] = seed
    reset_names()


def root_seed():
    """The root seed; drawn once from the OS when the user set none."""
    if _root["seed"] is None:
        _root["seed"] = secrets.randbits(31)
    return _root["seed"]


def name_hash(name):
    return zlib.crc32(name.encode("utf-8"))


def layer_key(name, seed=None):
    """The key a layer named `name` initialises its weights from."""
    key = jax.random.key(root_seed() if seed is None else seed)
    return jax.random.fold_in(key, name_hash(name))


def split_by_name(key, name):
    """A child key for the sub-computation called `name` (a layer, a weight)."""
    return None if key is None else jax.random.fold_in(key, name_hash(name))

"""Explicit PRNG keys: one root seed, per-layer keys from a stable hash of the name.

`zlib.crc32` and not `hash()`: Python's string hash differs between processes
and would break bitwise reproducibility.
"""
import functools
import secrets
import zlib

import jax
import numpy as np

from jkeras.backend.naming import reset_names

_root = {"seed": None}
_stream = {"draws": 0}


def set_random_seed(seed):
    """Fix the root seed, so the same model-building code gives the same weights.

    Init keys come from layer names, so the auto-name counters restart too:
    running the same code again after this call gives the same names and bits.
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ValueError(f"seed must be an int; received {seed!r}.")
    _root["seed"] = seed
    _stream["draws"] = 0
    reset_names()


def root_seed():
    """The root seed; drawn once from the OS when the user set none."""
    if _root["seed"] is None:
        _root["seed"] = secrets.randbits(31)
    return _root["seed"]


def stream_key():
    """The next key of the seeded stream that eager `K.random_*` calls draw from."""
    _stream["draws"] += 1
    return _seeded_fold_in(root_seed(), np.uint32(_stream["draws"]))


def name_hash(name):
    return zlib.crc32(name.encode("utf-8"))


def layer_key(name, seed=None):
    """The key a layer named `name` initialises its weights from."""
    return _seeded_fold_in(root_seed() if seed is None else seed, np.uint32(name_hash(name)))


@functools.partial(jax.jit, static_argnums=0)
def _seeded_fold_in(seed, data):
    """`fold_in(key(seed), data)` as one program: eagerly it is four small compiles."""
    return jax.random.fold_in(jax.random.key(seed), data)


@functools.partial(jax.jit, static_argnums=1)
def split_keys(key, num=2):
    """`jax.random.split(key, num)` as a tuple of keys, one program (eagerly the split and
    the unpacking of its result are two small compiles)."""
    return tuple(jax.random.split(key, num))


def split_by_name(key, name):
    """A child key for the sub-computation called `name` (a layer, a weight)."""
    return None if key is None else jax.random.fold_in(key, name_hash(name))

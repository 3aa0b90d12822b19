"""Explicit PRNG keys: one root seed, per-layer keys from a stable hash of the name.

`zlib.crc32` and not `hash()`: Python's string hash differs between processes
and would break bitwise reproducibility.
"""
import functools
import secrets
import zlib

import jax
import numpy as np

from jkeras.backend import threefry_host
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


def _seeded_fold_in(seed, data):
    """`fold_in(key(seed), data)`: on the host where `threefry_host` reproduces it, else one
    program (eagerly it is four small compiles)."""
    if threefry_host.supported() and 0 <= seed < 1 << 31:
        return threefry_host.seeded_fold_in(seed, data)
    return _compiled_fold_in(seed, data)


@functools.partial(jax.jit, static_argnums=0)
def _compiled_fold_in(seed, data):
    return jax.random.fold_in(jax.random.key(seed), data)


def split_keys(key, num=2):
    """`jax.random.split(key, num)` as a tuple of keys: on the host for a concrete threefry
    key, else one program (eagerly the split and the unpacking are two small compiles)."""
    if threefry_host.is_host_key(key):
        return threefry_host.split(key, num)
    return _compiled_split(key, num)


@functools.partial(jax.jit, static_argnums=1)
def _compiled_split(key, num):
    return tuple(jax.random.split(key, num))


def split_by_name(key, name):
    """A child key for the sub-computation called `name` (a layer, a weight); derived on
    the host where `threefry_host` can."""
    if key is None:
        return None
    if threefry_host.is_host_key(key):
        return threefry_host.fold_in(key, np.uint32(name_hash(name)))
    return jax.random.fold_in(key, name_hash(name))

"""Threefry key derivation on the host: `fold_in` and `split` of a few keys in numpy.

Each eager key operation in JAX is a compiled program, and an XLA:CPU compile costs far
more than the twenty rounds of Threefry-2x32 that one key needs; building a model derives a
key per layer. The values equal `jax.random.fold_in` / `jax.random.split` of the default
(partitionable threefry) implementation bit for bit (tests/test_initializers_blocks.py).
"""
import jax
import numpy as np

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = np.uint32(0x1BD11BDA)


def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k1, k2, x0, x1):
    """Threefry-2x32 (20 rounds) of the counter pairs `(x0, x1)` under key `(k1, k2)`."""
    with np.errstate(over="ignore"):  # uint32 arithmetic wraps, as in the hash
        ks = (np.uint32(k1), np.uint32(k2), np.uint32(k1) ^ np.uint32(k2) ^ _PARITY)
        x0 = np.asarray(x0, np.uint32) + ks[0]
        x1 = np.asarray(x1, np.uint32) + ks[1]
        for block in range(5):
            for r in _ROTATIONS[block % 2]:
                x0 = x0 + x1
                x1 = _rotl(x1, r) ^ x0
            x0 = x0 + ks[(block + 1) % 3]
            x1 = x1 + ks[(block + 2) % 3] + np.uint32(block + 1)
    return x0, x1


def supported():
    """Whether JAX's default keys are the partitionable threefry ones reproduced here."""
    return jax.config.jax_default_prng_impl == "threefry2x32" and jax.config.jax_threefry_partitionable


def _wrap(pairs):
    return jax.random.wrap_key_data(np.ascontiguousarray(pairs, np.uint32))


def seeded_fold_in(seed, data):
    """`fold_in(key(seed), data)` for an integer `seed` in [0, 2**31) and a uint32 `data`."""
    out = threefry2x32(np.uint32(seed >> 32), np.uint32(seed & 0xFFFFFFFF),
                       np.zeros(1, np.uint32), np.array([data], np.uint32))
    return _wrap(np.concatenate(out))


def is_host_key(key):
    """Whether `key` is a concrete typed threefry key that `fold_in` and `split` can derive from."""
    return (supported() and not isinstance(key, jax.core.Tracer)
            and jax.numpy.issubdtype(key.dtype, jax.dtypes.prng_key) and key.shape == ()
            and str(jax.random.key_impl(key)) == "threefry2x32")


def key_words(key):
    """The two uint32 words of a concrete key, typed or raw, read on the host even while a
    trace runs."""
    typed = jax.numpy.issubdtype(key.dtype, jax.dtypes.prng_key)
    with jax.ensure_compile_time_eval():
        return np.asarray(jax.random.key_data(key) if typed else key, np.uint32)


def fold_in(key, data):
    """`jax.random.fold_in(key, data)` of a typed threefry key and a uint32 `data`."""
    k1, k2 = key_words(key)
    out = threefry2x32(k1, k2, np.zeros(1, np.uint32), np.array([data], np.uint32))
    return _wrap(np.concatenate(out))


def split(key, num):
    """`jax.random.split(key, num)` of a typed threefry key, as a tuple of keys."""
    k1, k2 = key_words(key)
    bits1, bits2 = threefry2x32(k1, k2, np.zeros(num, np.uint32), np.arange(num, dtype=np.uint32))
    pairs = np.stack([bits1, bits2], axis=1)
    return tuple(_wrap(pair) for pair in pairs)

"""Unit draws of any size from one compiled program per distribution.

`jax.random.uniform(key, (n,))` compiles once per `n`, and an XLA:CPU compile costs far more
than drawing a weight, so building a model would compile once per weight size. With JAX's
partitionable threefry, draw `i` of a key depends only on the counter `i`; a draw of `n`
values is therefore blocks of `BLOCK` counters at offsets 0, BLOCK, 2 BLOCK, ... The block
is drawn through a PRNG implementation whose key carries the offset, so `jax.random`'s own
uniform/normal/truncated-normal conversions run on the same bits: uniform values equal the
direct draw's bit for bit, normal ones to an ulp (XLA compiles erf_inv per program, and
may contract another multiply-add), as the bucketed draws before them did
(tests/test_initializers_blocks.py).
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend import random as jex_random

BLOCK = 1 << 16


def _offset_bits(key, bit_width, shape):
    """Threefry bits of the counters `offset + iota`, as partitionable threefry draws them;
    `key` is `(k1, k2, offset)`."""
    lo = key[2] + jax.lax.iota(np.uint32, int(np.prod(shape))).reshape(shape)
    bits1, bits2 = jex_random.threefry2x32_p.bind(key[0], key[1], jnp.zeros_like(lo), lo)
    if bit_width == 64:
        return (bits1.astype(np.uint64) << np.uint64(32)) | bits2.astype(np.uint64)
    if bit_width == 32:
        return bits1 ^ bits2
    return (bits1 ^ bits2).astype({8: np.uint8, 16: np.uint16}[bit_width])


def _unsupported(*args):
    raise NotImplementedError("block keys only draw bits")


_OFFSET_THREEFRY = jex_random.define_prng_impl(
    key_shape=(3,), seed=_unsupported, split=_unsupported, random_bits=_offset_bits,
    fold_in=_unsupported, name="jkeras_offset_threefry")


@functools.partial(jax.jit, static_argnums=(1,))
def _block(data, kind):
    key = jax.random.wrap_key_data(data, impl=_OFFSET_THREEFRY)
    if kind == "uniform":
        return jax.random.uniform(key, (BLOCK,))
    if kind == "normal":
        return jax.random.normal(key, (BLOCK,))
    return jax.random.truncated_normal(key, -2.0, 2.0, (BLOCK,))


def supports(key):
    """Whether `key` is a threefry key (typed or raw) that block draws reproduce exactly."""
    if not jax.config.jax_threefry_partitionable:
        return False
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return str(jax.random.key_impl(key)) == "threefry2x32"
    return key.shape == (2,) and key.dtype == np.uint32 and jax.config.jax_default_prng_impl == "threefry2x32"


def draw(key, kind, size):
    """`size` unit draws (`kind`: uniform in [0, 1), normal, or normal truncated to [-2, 2])
    of a threefry `key` (see `supports`), as a numpy vector equal to
    `jax.random.<kind>(key, (size,))`."""
    if size >= 1 << 32:
        raise ValueError(f"block draws count fewer than 2**32 values; asked for {size}")
    typed = jnp.issubdtype(key.dtype, jax.dtypes.prng_key)
    with jax.ensure_compile_time_eval():  # a concrete key under a trace still draws here
        pair = np.asarray(jax.random.key_data(key) if typed else key, np.uint32)
        blocks = [np.asarray(_block(np.append(pair, np.uint32(start)), kind))
                  for start in range(0, max(size, 1), BLOCK)]
    return np.concatenate(blocks)[:size] if len(blocks) > 1 else blocks[0][:size]

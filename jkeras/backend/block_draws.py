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

from jkeras.backend import threefry_host

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
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.config.jax_threefry_partitionable and str(jax.random.key_impl(key)) == "threefry2x32"
    return key.shape == (2,) and key.dtype == np.uint32 and threefry_host.supported()


_HOST_MAX = 1 << 19  # one host draw this size costs about what a dispatch of the program does, x25
_HOST_BUDGET = {"left": 1 << 21}  # host values per process before the compile pays (about its cost)


def _host_uniform(pair, size):
    """Uniform draws computed in numpy (threefry and jax's float conversion), as `_block` gives."""
    bits1, bits2 = threefry_host.threefry2x32(pair[0], pair[1], np.zeros(size, np.uint32),
                                              np.arange(size, dtype=np.uint32))
    mantissa = ((bits1 ^ bits2) >> np.uint32(9)) | np.uint32(0x3F800000)
    return np.maximum(np.float32(0), mantissa.view(np.float32) - np.float32(1))


def _on_host(kind, size):
    """Whether a uniform draw of `size` is cheaper on the host than compiling `_block`: small
    ones always, larger ones until the budget (about one compile's time) is spent."""
    if kind != "uniform" or size > _HOST_MAX:
        return False
    if size <= BLOCK // 4:
        return True
    if size <= _HOST_BUDGET["left"]:
        _HOST_BUDGET["left"] -= size
        return True
    return False


def draw(key, kind, size):
    """`size` unit draws (`kind`: uniform in [0, 1), normal, or normal truncated to [-2, 2])
    of a threefry `key` (see `supports`), as a numpy vector equal to
    `jax.random.<kind>(key, (size,))`."""
    if size >= 1 << 32:
        raise ValueError(f"block draws count fewer than 2**32 values; asked for {size}")
    pair = threefry_host.key_words(key)
    if _on_host(kind, size):
        return _host_uniform(pair, size)
    blocks = [_block(np.append(pair, np.uint32(start)), kind) for start in range(0, max(size, 1), BLOCK)]
    if isinstance(blocks[0], jax.core.Tracer):  # under a trace the draw joins it
        return jnp.concatenate(blocks)[:size]
    blocks = [np.asarray(block) for block in blocks]
    return np.concatenate(blocks)[:size] if len(blocks) > 1 else blocks[0][:size]

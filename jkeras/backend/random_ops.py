"""`K.random_*` and `K.dropout`: keyed from the step's key inside a layer call, else a seeded stream.

Inside a layer's `call` during a traced step, the n-th draw takes `fold_in(step key, n)`
(and `seed`, if given, folds in too): the same seed gives the same run. Outside a call
with a `seed` the draw is `key(seed)`'s (the same numbers every time); without one it
takes the next key of the stream that `K.set_random_seed` restarts.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import context
from jkeras.backend.config import floatx
from jkeras.backend.random import stream_key
from jkeras.backend.symbolic import op


def draw_key(seed=None):
    """The key for one random op, as the module docstring says."""
    ctx = context.current()
    if ctx is not None and ctx.key is not None:
        key = jax.random.fold_in(ctx.key, ctx.next_draw())
        return key if seed is None else jax.random.fold_in(key, int(seed))
    if seed is not None:
        return jax.random.key(int(seed))
    return stream_key()


def _static_shape(shape):
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        return tuple(int(d) for d in dims)
    except (TypeError, jax.errors.ConcretizationTypeError):
        raise ValueError(f"A random op needs a static shape (ints, e.g. from `K.int_shape` or "
                         f"`K.shape(x)[i]`); received {shape!r}.") from None


def _dtype(dtype):
    return floatx() if dtype is None else str(getattr(dtype, "name", dtype))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = _dtype(dtype)
    return mean + stddev * jax.random.normal(draw_key(seed), _static_shape(shape), dtype)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return jax.random.uniform(draw_key(seed), _static_shape(shape), _dtype(dtype), minval, maxval)


def random_bernoulli(shape, p=0.0, dtype=None, seed=None):
    """1 with probability `p`, else 0."""
    dtype = _dtype(dtype)
    u = jax.random.uniform(draw_key(seed), _static_shape(shape), dtype)
    return jnp.where(u < p, jnp.ones((), dtype), jnp.zeros((), dtype))


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """Keras 2's name for `random_bernoulli`."""
    return random_bernoulli(shape, p, dtype, seed)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """A normal draw with values past two standard deviations drawn again (TF's rule)."""
    dtype = _dtype(dtype)
    return mean + stddev * jax.random.truncated_normal(draw_key(seed), -2.0, 2.0, _static_shape(shape), dtype)


@op
def dropout(x, level, noise_shape=None, seed=None):
    """Entries zeroed with probability `level`, the rest scaled by `1 / (1 - level)`."""
    if not 0 <= level < 1:
        raise ValueError(f"Dropout `level` must be in [0, 1); received level={level!r}.")
    x = jnp.asarray(x)
    shape = x.shape if noise_shape is None else tuple(x.shape[i] if d is None else int(d)
                                                      for i, d in enumerate(noise_shape))
    keep = jax.random.bernoulli(draw_key(seed), 1.0 - level, shape)
    return jnp.where(keep, x / (1.0 - level), jnp.zeros((), x.dtype))

"""Host values onto the device without compiling anything."""
import jax
import jax.numpy as jnp
import numpy as np


def to_device(value, dtype):
    """`value` as a device array of `dtype`. Host values are converted on the host and
    transferred: `jnp.asarray` of a numpy array compiles a small program per shape, which a
    model with hundreds of weight shapes pays for at build and at `set_weights`."""
    dtype = jnp.dtype(dtype)
    if isinstance(value, jax.core.Tracer):
        return jnp.asarray(value, dtype)
    if isinstance(value, jax.Array):
        return value if value.dtype == dtype else value.astype(dtype)
    return jax.device_put(np.asarray(value).astype(dtype, copy=False))

"""The backend: config, names, keys, learning phase and `K.function`.

Imported as `from jkeras import backend as K`.
"""
import jax.numpy as jnp
import numpy as np

from jkeras.backend.compile_cache import enable_default_cache
from jkeras.backend.config import (backend, epsilon, floatx, image_data_format, jkeras_home,
                                   set_epsilon, set_floatx, set_image_data_format,
                                   standardize_data_format)
from jkeras.backend.function import function, learning_phase, set_learning_phase
from jkeras.backend.naming import reset_names, unique_name
from jkeras.backend.random import set_random_seed

enable_default_cache()


def clear_session():
    """Forget auto-name counters so new layers are named `dense`, `dense_1`, ... again."""
    reset_names()


def int_shape(x):
    shape = getattr(x, "shape", None)
    return None if shape is None else tuple(shape)


def ndim(x):
    return len(x.shape)


def dtype(x):
    return str(x.dtype)


def get_value(x):
    """The value of a weight or array as numpy."""
    return np.asarray(x)


def cast_to_floatx(x):
    return np.asarray(x, dtype=floatx())


def is_keras_tensor(x):
    from jkeras.backend.keras_tensor import KerasTensor
    return isinstance(x, KerasTensor)


def constant(value, dtype=None):
    return jnp.asarray(value, dtype=dtype or floatx())


__all__ = ["backend", "cast_to_floatx", "clear_session", "constant", "dtype", "epsilon", "floatx",
           "function", "get_value", "image_data_format", "int_shape", "is_keras_tensor", "jkeras_home",
           "learning_phase", "ndim", "reset_names", "set_epsilon", "set_floatx", "set_image_data_format",
           "set_learning_phase", "set_random_seed", "standardize_data_format", "unique_name"]

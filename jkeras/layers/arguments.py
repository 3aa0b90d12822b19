"""Checks of the arguments layers take: Keras 2's input-shape keywords, shapes, batch sizes,
and the argument orders of `add_weight` across Keras 1-3."""
import inspect

import numpy as np


def _keras2_initializer(fn):
    """Whether `fn` is a Keras 2 initializer function `f(shape, dtype=None)`, not jkeras's `(key, shape, dtype)`."""
    if not inspect.isfunction(fn):
        return False
    params = list(inspect.signature(fn).parameters)
    return bool(params) and params[0] == "shape"


def _is_weight_name(value):
    """A string that names neither a dtype nor an initializer: a weight name."""
    from jkeras import initializers
    if not isinstance(value, str):
        return False
    try:
        initializers.get(value)
        return False
    except ValueError:
        pass
    try:
        np.dtype(value)
        return False
    except TypeError:
        return value != "bfloat16"


def _keras20_weight_order(args):
    """Keras 2.0's `add_weight(shape, initializer, name, ...)`: a third positional that names no dtype."""
    return len(args) >= 3 and _is_weight_name(args[2])


def _batch_input_shape(kwargs):
    """Keras 2's `input_shape`/`batch_input_shape`/`input_dim`/`batch_size` arguments."""
    for name in ("batch_input_shape", "batch_shape"):
        if kwargs.get(name) is not None:
            return shape_argument(kwargs[name], name)
    batch = batch_size_argument(kwargs.get("batch_size"))
    for name in ("input_shape", "input_dim"):
        if kwargs.get(name) is not None:
            return (batch,) + shape_argument(kwargs[name], name)
    return None


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def shape_argument(shape, name):
    """`shape` (an int or a sequence of ints >= 0 and None) as a tuple; a ValueError naming `name`."""
    dims = (shape,) if _is_int(shape) else shape
    if isinstance(dims, (list, tuple)) and all(d is None or (_is_int(d) and d >= 0) for d in dims):
        return tuple(None if d is None else int(d) for d in dims)
    raise ValueError(f"`{name}` must be a tuple of non-negative ints (None for an unknown dim); "
                     f"received {name}={shape!r}.")


def batch_size_argument(batch_size):
    """`batch_size` as a positive int or None; a ValueError otherwise."""
    if batch_size is None or (_is_int(batch_size) and batch_size > 0):
        return batch_size if batch_size is None else int(batch_size)
    raise ValueError(f"`batch_size` must be a positive int or None; received batch_size={batch_size!r}.")

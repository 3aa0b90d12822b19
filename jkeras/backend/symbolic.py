"""The `op` decorator every `K` function wears: variables are read, symbolic tensors recorded.

A `K` function called on `KerasTensor`s (functional-model code, `K.placeholder`) becomes a
layer call in the graph, as tf.keras 2 records a TF op; the layers floor registers the
handler that does it (`keras_tensor.register_symbolic_handler`), so the backend imports no layer.
"""
import functools

import jax

from jkeras.backend.keras_tensor import RECORDED_NAMES, KerasTensor, handler


def _is_leaf(x):
    return isinstance(x, KerasTensor) or _is_variable(x)


def _is_variable(x):
    return hasattr(x, "__jax_array__") and hasattr(x, "assign")


def read(x):
    """`x` with every variable (a `K.variable`, a layer weight) replaced by its value."""
    return jax.tree.map(lambda v: v.value if _is_variable(v) else v, x, is_leaf=_is_leaf)


def op(fn):
    """Make `fn` a `K` function: variables read, a call on symbolic tensors recorded as a layer."""
    name = fn.__name__.lstrip("_")  # a private helper records the public function it serves
    RECORDED_NAMES.add(name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        leaves = jax.tree.leaves((args, kwargs), is_leaf=_is_leaf)
        if any(isinstance(t, KerasTensor) for t in leaves):
            return handler("op", f"K.{name} on a symbolic tensor")(name, wrapper, args, kwargs)
        if any(_is_variable(t) for t in leaves):
            args, kwargs = read((args, kwargs))
        return fn(*args, **kwargs)
    return wrapper

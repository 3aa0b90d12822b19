"""The state of a Keras-named optimizer, shared by its built-in rule and Keras 2 `get_updates`,
and how to find and replace it inside a (possibly nested) optax state."""
from typing import NamedTuple

import jax


class OptimizerState(NamedTuple):
    """A Keras optimizer's state.

    Attributes:
        iterations: updates applied so far, an int32 scalar (Keras's `iterations`).
        learning_rate: the rate the next update uses; with a schedule,
            `schedule(iterations)`.
        slots: slot name -> tree shaped like the params (Nadam's `u_product`
            is one scalar).
    """
    iterations: jax.Array
    learning_rate: jax.Array
    slots: dict


def find_node(state, test):
    """The first node of a (possibly nested) optax state for which `test` holds, else None."""
    if test(state):
        return state
    if isinstance(state, tuple):
        for child in state:
            found = find_node(child, test)
            if found is not None:
                return found
    return None


def replace_nodes(state, test, fn):
    """`state` with each node for which `test` holds replaced by `fn(node)`."""
    if test(state):
        return fn(state)
    if isinstance(state, tuple):
        children = [replace_nodes(child, test, fn) for child in state]
        return type(state)(*children) if hasattr(state, "_fields") else tuple(children)
    return state

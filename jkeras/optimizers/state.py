"""The state of a Keras-named optimizer, shared by its built-in rule and Keras 2 `get_updates`,
how to find and replace it inside a (possibly nested) optax state, and the pure functions that
read and write it: the update count, the learning rate, the slots (also flattened into one vector
per slot for a multi-step loop)."""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax


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


class CountedState(NamedTuple):
    """A raw optax transformation's state, with the update count beside it."""
    inner: Any
    iterations: jax.Array


def _counts(node):
    return isinstance(node, (OptimizerState, CountedState))


def _holds_lr(node):
    if isinstance(node, OptimizerState):
        return True
    injected = isinstance(node, (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState))
    return injected and "learning_rate" in node.hyperparams


def _lr_node(opt_state):
    node = find_node(opt_state, _holds_lr)
    if node is None:
        raise ValueError("This optimizer state holds no learning rate. Wrap a raw optax "
                         "transformation in `optax.inject_hyperparams` to make it settable.")
    return node


def iterations(opt_state):
    """The number of updates applied (Keras's `optimizer.iterations`), an int32 scalar."""
    node = find_node(opt_state, _counts)
    if node is None:
        raise ValueError("This optimizer state does not count its updates; build it with a "
                         "jkeras optimizer's make_transform().")
    return node.iterations


def get_learning_rate(opt_state):
    """The learning rate the next update uses, a float scalar."""
    node = _lr_node(opt_state)
    return node.learning_rate if isinstance(node, OptimizerState) else node.hyperparams["learning_rate"]


def set_learning_rate(opt_state, value):
    """`opt_state` with a new learning rate, same dtype, so a jitted step does not retrace.

    With a schedule the schedule wins: the next update uses `schedule(iterations)`.
    """
    def put(node):
        if isinstance(node, OptimizerState):
            return node._replace(learning_rate=jnp.asarray(value, node.learning_rate.dtype))
        old = node.hyperparams["learning_rate"]
        return node._replace(hyperparams={**node.hyperparams,
                                          "learning_rate": jnp.asarray(value, jnp.asarray(old).dtype)})
    _lr_node(opt_state)  # raises if there is none
    return replace_nodes(opt_state, _holds_lr, put)


def slots(opt_state):
    """Slot name -> tree shaped like the params; `{}` for a raw optax transformation."""
    node = find_node(opt_state, lambda n: isinstance(n, OptimizerState))
    return {} if node is None else {k: v for k, v in node.slots.items() if not k.startswith("_")}


def with_slots(opt_state, new_slots, iterations=None):
    """`opt_state` with the given slots (and the update count) replaced, e.g. from a file.

    Each tree must have the structure and shapes of the slot it replaces; it is cast
    to that slot's dtype. Slots not named keep their values.
    """
    def put_slots(node):
        unknown = sorted(set(new_slots) - set(node.slots))
        if unknown:
            raise ValueError(f"Unknown optimizer slot(s) {unknown}; this optimizer has {sorted(node.slots)}.")
        return node._replace(slots={**node.slots, **{name: _conform(name, tree, node.slots[name])
                                                     for name, tree in new_slots.items()}})

    def put_count(node):
        return node._replace(iterations=jnp.asarray(iterations, node.iterations.dtype))

    if new_slots:
        if find_node(opt_state, lambda n: isinstance(n, OptimizerState)) is None:
            raise ValueError("This optimizer state has no slots (a raw optax transformation).")
        opt_state = replace_nodes(opt_state, lambda n: isinstance(n, OptimizerState), put_slots)
    if iterations is not None:
        opt_state = replace_nodes(opt_state, _counts, put_count)
    return opt_state


def _is_opt_state(node):
    return isinstance(node, OptimizerState)


def flatten_slots(opt_state, names):
    """`opt_state` with each slot in `names` as one vector of all weights, in tree order.

    A multi-step loop holds the slots this way: an elementwise rule then updates a slot of
    every weight in one XLA loop instead of one per weight (a third of a small model's
    step on CPU). `unflatten_slots` gives back the per-weight trees everything else reads.
    """
    def put(node):
        return node._replace(slots={k: jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(v)])
                                    if k in names else v for k, v in node.slots.items()})
    return replace_nodes(opt_state, _is_opt_state, put)


def unflatten_slots(opt_state, names, params):
    """The inverse of `flatten_slots`: each flat slot in `names` as a tree shaped like `params`."""
    def put(node):
        return node._replace(slots={k: _split_like(v, params) if k in names else v
                                    for k, v in node.slots.items()})
    return replace_nodes(opt_state, _is_opt_state, put)


def _split_like(vector, tree):
    """`vector` cut into consecutive pieces shaped like the leaves of `tree`."""
    leaves, treedef = jax.tree.flatten(tree)
    ends = np.cumsum([x.size for x in leaves])
    return treedef.unflatten([vector[end - x.size:end].reshape(x.shape) for x, end in zip(leaves, ends)])


def _conform(name, tree, like):
    if jax.tree.structure(tree) != jax.tree.structure(like):
        raise ValueError(f"Optimizer slot {name!r}: expected a tree {jax.tree.structure(like)}, "
                         f"received {jax.tree.structure(tree)}.")
    expected = [jnp.shape(x) for x in jax.tree.leaves(like)]
    received = [jnp.shape(x) for x in jax.tree.leaves(tree)]
    if expected != received:
        raise ValueError(f"Optimizer slot {name!r}: expected shapes {expected}, received {received}.")
    return jax.tree.map(lambda x, old: jnp.asarray(x, old.dtype), tree, like)

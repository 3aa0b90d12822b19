"""Keras 2's session-era `K` functions: name scopes, uids, debugging prints, sparse checks, and
the ones with no meaning under JAX, which say what to use instead."""
import collections
import contextlib

import jax
import jax.numpy as jnp

from jkeras.backend.naming import reset_names
from jkeras.backend.symbolic import op, read
from jkeras.backend.variables import after_updates

_uids = collections.defaultdict(int)
_manual_init = {"value": False}


def clear_session():
    """Forget auto-name counters (and uids) so new layers are named `dense`, `dense_1`, ... again."""
    reset_names()
    _uids.clear()


def get_uid(prefix=""):
    """1 the first time for `prefix`, then 2, 3, ... until `reset_uids` or `clear_session`."""
    _uids[prefix] += 1
    return _uids[prefix]


def reset_uids():
    _uids.clear()


@contextlib.contextmanager
def name_scope(name):
    """Accepted for Keras 2 code; JAX programs have no graph names to scope."""
    yield name


@contextlib.contextmanager
def control_dependencies(control_inputs):
    """Keras 2's `K.control_dependencies`: under JAX values run in data order and `K.update`s are
    part of the step's result; inside the block a variable updated in the step (a Keras 2
    optimizer's `get_updates`) reads its new value, as TF ran the ops made there after the updates."""
    with after_updates():
        yield


def manual_variable_initialization(value):
    """Accepted for Keras 2 code: jkeras variables hold values from creation, so there is no
    initializer run to skip."""
    _manual_init["value"] = bool(value)


@op
def print_tensor(x, message="", summarize=3):
    """Print `message` and `x` when the step runs (`jax.debug.print`); returns `x`."""
    x = read(x)
    jax.debug.print(message + "{x}", x=x)
    return x


@op
def identity(x, name=None):
    return jnp.asarray(x)


def is_sparse(tensor):
    from jax.experimental import sparse
    return isinstance(tensor, sparse.JAXSparse)


def to_dense(tensor):
    return tensor.todense() if is_sparse(tensor) else tensor


def _no_session(name):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"K.{name}: jkeras has no TensorFlow session; JAX runs each call directly. Drop "
                           "the session code (`K.function` and `model.predict` need none).")
    refuse.__name__ = name
    refuse.__doc__ = "Not in JAX: there is no session."
    return refuse


get_session = _no_session("get_session")
set_session = _no_session("set_session")

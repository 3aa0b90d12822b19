"""`K.learning_phase()` and `K.function`, as the Keras 2 FAQ uses them.

The learning phase is the training flag: inside a layer call it is that call's flag (a
Python bool, fixed when the step traces); outside one it is `K.set_learning_phase`'s,
and `K.learning_phase()` gives the placeholder to feed to a `K.function`.
"""
import contextlib

from jkeras.backend import context
from jkeras.backend.keras_tensor import KerasTensor


class _LearningPhase(KerasTensor):
    """The placeholder for the training flag: feed 0 (test) or 1 (train)."""

    def __init__(self):
        super().__init__((), "int32", name="keras_learning_phase")

    def __repr__(self):
        return "<learning_phase placeholder>"


_LEARNING_PHASE = _LearningPhase()
_phase = {"value": 0}
_factory = {}


def learning_phase():
    """The current layer call's training flag as 0/1; outside a call, the placeholder to pass
    as one of `K.function`'s inputs."""
    ctx = context.current()
    return _LEARNING_PHASE if ctx is None else int(ctx.training)


def is_learning_phase(x):
    return x is _LEARNING_PHASE


def set_learning_phase(value):
    """Default training flag for eager layer calls (0 = test, 1 = train)."""
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1; received {value!r}.")
    _phase["value"] = value


@contextlib.contextmanager
def learning_phase_scope(value):
    """Run the block with the learning phase set to `value` (0 or 1), then restore it."""
    previous = _phase["value"]
    set_learning_phase(value)
    try:
        yield value
    finally:
        _phase["value"] = previous


def default_training():
    return bool(_phase["value"])


def current_training():
    """The training flag `K.in_train_phase` reads: the layer call's, else the set phase."""
    ctx = context.current()
    return default_training() if ctx is None else ctx.training


def register_function_factory(factory):
    """Called by `jkeras.models`: `factory(inputs, outputs, updates, learning_phase)` builds `K.function`s."""
    _factory["function"] = factory


def function(inputs, outputs, updates=None, name=None, **kwargs):
    """A callable from symbolic `inputs` (learning phase allowed) to numpy `outputs`."""
    if "function" not in _factory:
        raise RuntimeError("K.function runs a graph of layers: `import jkeras` (which loads "
                           "jkeras.models) before calling it.")
    if kwargs:
        raise ValueError(f"Invalid argument(s) for K.function: {sorted(kwargs)}; jkeras compiles the "
                         "function with XLA and takes no session arguments.")
    return _factory["function"](inputs, outputs, updates, _LEARNING_PHASE)

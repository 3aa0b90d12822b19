"""`K.learning_phase()` and `K.function`, as the Keras 2 FAQ uses them."""
from jkeras.backend.keras_tensor import KerasTensor


class _LearningPhase(KerasTensor):
    """The placeholder for the training flag: feed 0 (test) or 1 (train)."""

    def __init__(self):
        super().__init__((), "int32", name="keras_learning_phase")

    def __repr__(self):
        return "<learning_phase placeholder>"


_LEARNING_PHASE = _LearningPhase()
_phase = {"value": 0}


def learning_phase():
    """The learning-phase placeholder, to pass as one of `K.function`'s inputs."""
    return _LEARNING_PHASE


def set_learning_phase(value):
    """Default training flag for eager layer calls (0 = test, 1 = train)."""
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1; received {value!r}.")
    _phase["value"] = value


def default_training():
    return bool(_phase["value"])


def function(inputs, outputs, updates=None, name=None):
    """A callable from symbolic `inputs` (learning phase allowed) to numpy `outputs`.

    The graph machinery lives in `jkeras.models`, one floor up; the import is
    deferred so that the backend stays importable alone.
    """
    from jkeras.models.backend_function import GraphFunction
    return GraphFunction(inputs, outputs, learning_phase=_LEARNING_PHASE)

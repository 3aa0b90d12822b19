"""An optimizer's learning rate: the argument checked (a float, a schedule, or Keras 2's `lr` with
`decay`), `LearningRate` (the float `optimizer.learning_rate` that also reads and sets the live
rate) and `Keras2Decay` (Keras 2's `decay` as the InverseTimeDecay it means), and how `decay` is
written in configs.
"""
import numbers

import jax.numpy as jnp
import numpy as np

from jkeras.optimizers import schedules
from jkeras.optimizers.state import OptimizerState, find_node, replace_nodes


def _learning_rate(learning_rate, decay):
    """A float or a schedule, checked; Keras 2's `decay` cannot go with a schedule."""
    if callable(learning_rate):
        if decay:
            raise ValueError(f"`decay={decay}` cannot be combined with a learning-rate schedule.")
        return learning_rate
    if not (isinstance(learning_rate, numbers.Real) or getattr(learning_rate, "shape", None) == ()):
        raise ValueError("Argument `learning_rate` should be a float or a schedule "
                         f"(step -> learning rate). Received: learning_rate={learning_rate!r}")
    rate = float(np.asarray(learning_rate))
    return Keras2Decay(rate, float(decay)) if decay else rate


# Keras 2's `decay` written as the schedule it means (Keras 3 and tf.keras both read it);
# the name marks it so that jkeras reads it back as `decay`.
_DECAY_NAME = "decay"


def _decay_schedule(lr, decay):
    return schedules.serialize(schedules.InverseTimeDecay(lr, 1, decay, name=_DECAY_NAME))


def _as_decay(config):
    """`(learning_rate, decay)` of a schedule config `_decay_schedule` wrote, else None."""
    inner = config.get("config") or {}
    if (config.get("class_name") == "InverseTimeDecay" and inner.get("name") == _DECAY_NAME
            and inner.get("decay_steps") == 1 and not inner.get("staircase")):
        return inner["initial_learning_rate"], inner["decay_rate"]
    return None


class LearningRate(float):
    """`optimizer.learning_rate` (and Keras 2's `optimizer.lr`): a float that is also a handle.

    `K.get_value(opt.lr)` / `.numpy()` / `float()` read the optimizer's live rate and
    `K.set_value(opt.lr, x)` / `.assign(x)` set it; the rate is a traced value of the
    compiled step, so nothing recompiles. Arithmetic uses the value read at access.
    """
    shape = ()
    dtype = "float32"

    def __new__(cls, value, optimizer):
        self = super().__new__(cls, value)
        self._optimizer = optimizer
        return self

    def numpy(self):
        return np.asarray(float(self), np.float32)

    def __float__(self):
        rate = self._optimizer.learning_rate
        return float.__float__(rate) if isinstance(rate, LearningRate) else float(rate)

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.numpy(), dtype=dtype)

    def assign(self, value):
        self._optimizer.learning_rate = value

    def __repr__(self):
        return f"<learning_rate={float(self)!r}>"

    def __reduce__(self):
        return float, (float(self),)


# The slot that holds Keras 2's undecayed rate (`lr`) in the state, so it can be set live.
_BASE_RATE = "_initial_learning_rate"


class Keras2Decay(schedules.InverseTimeDecay):
    """Keras 2's `decay`: the rate of update `n` is `lr / (1 + decay * n)` (tf.keras 2's
    arithmetic). It is the InverseTimeDecay it means, and also Keras 2's `optimizer.lr`:
    `K.get_value`/`.numpy()`/`float()` read the undecayed rate and `K.set_value`/`.assign`
    set it, live (it is a traced value of the step's state)."""
    shape = ()
    dtype = "float32"

    def __init__(self, initial_learning_rate, decay):
        super().__init__(initial_learning_rate, 1, decay, name=_DECAY_NAME)
        self._optimizer = None

    def _state(self):
        live = getattr(self._optimizer, "_live", None)
        return live[0]() if live else None

    def numpy(self):
        state = self._state()
        if state is None:
            return np.asarray(self.initial_learning_rate, np.float32)
        node = find_node(state, lambda n: isinstance(n, OptimizerState))
        return np.asarray(node.slots[_BASE_RATE], np.float32)

    def __float__(self):
        return float(self.numpy())

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.numpy(), dtype=dtype)

    def assign(self, value):
        value = float(np.asarray(value))
        state = self._state()
        if state is not None:
            def put(node):
                base = node.slots[_BASE_RATE]
                return node._replace(slots={**node.slots, _BASE_RATE: jnp.asarray(value, base.dtype)})
            self._optimizer._live[1](replace_nodes(state, lambda n: isinstance(n, OptimizerState), put))
        self.initial_learning_rate = value

    def __repr__(self):
        return f"<learning_rate={float(self)!r} decay={self.decay_rate!r}>"

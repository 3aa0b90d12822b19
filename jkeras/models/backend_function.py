"""`K.function`: a callable over part of a graph, with an optional learning-phase input.

Registered with the backend at import (the backend may not import models), as is the symbolic
`K.gradients` that such functions fetch."""
import jax
import numpy as np

from jkeras.backend.function import register_function_factory
from jkeras.backend.random import root_seed
from jkeras.models import symbolic_gradients  # noqa: F401  (registers K.gradients of symbolic tensors)
from jkeras.models.functional import Functional


class GraphFunction:
    """Maps input values (and a 0/1 learning phase) to the listed outputs, as numpy.

    `updates`: `(variable, symbolic new value)` pairs, assigned after each call, as Keras 2
    ran its update ops with the outputs."""

    def __init__(self, inputs, outputs, updates, learning_phase):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._phase_index = next((i for i, t in enumerate(inputs) if t is learning_phase), None)
        graph_inputs = [t for t in inputs if t is not learning_phase]
        self._single = not isinstance(outputs, (list, tuple))
        outputs = [outputs] if self._single else list(outputs)
        self._updates = [_update_pair(u) for u in (updates or [])]
        self._n_outputs = len(outputs)
        self._model = Functional(graph_inputs, outputs + [new for _, new in self._updates])
        self._jitted = {}
        self._calls = 0

    def __call__(self, values):
        values = list(values) if isinstance(values, (list, tuple)) else [values]
        training = False
        if self._phase_index is not None:
            phase = values.pop(self._phase_index)
            if phase not in (0, 1, True, False):
                raise ValueError(f"The learning phase must be fed 0 (test) or 1 (train); received {phase!r}.")
            training = bool(phase)
        if training not in self._jitted:
            model = self._model
            self._jitted[training] = jax.jit(
                lambda p, s, x, key: model._run(p, s, x, training=training, key=key)[0])
        self._calls += 1  # a fresh dropout mask per training-phase call, as Keras draws
        key = jax.random.fold_in(jax.random.key(root_seed()), self._calls) if training else None
        outs = self._jitted[training](self._model._own_tree(True), self._model._own_tree(False),
                                      [np.asarray(v) for v in values], key)
        for (variable, _), value in zip(self._updates, outs[self._n_outputs:]):
            variable.assign(value)
        return [np.asarray(o) for o in outs[:self._n_outputs]]


def _update_pair(update):
    if not (isinstance(update, (list, tuple)) and len(update) == 2 and hasattr(update[0], "assign")):
        raise ValueError("K.function `updates` must be (variable, new value) pairs with a symbolic new "
                         f"value; received {update!r}.")
    return tuple(update)


register_function_factory(GraphFunction)

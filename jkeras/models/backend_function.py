"""`K.function`: a callable over part of a graph, with an optional learning-phase input."""
import jax
import numpy as np

from jkeras.backend.random import root_seed
from jkeras.models.functional import Functional


class GraphFunction:
    """Maps input values (and a 0/1 learning phase) to the listed outputs, as numpy."""

    def __init__(self, inputs, outputs, learning_phase):
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        self._phase_index = next((i for i, t in enumerate(inputs) if t is learning_phase), None)
        graph_inputs = [t for t in inputs if t is not learning_phase]
        self._single = not isinstance(outputs, (list, tuple))
        self._model = Functional(graph_inputs, list(outputs) if not self._single else [outputs])
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
        return [np.asarray(o) for o in outs]

"""`K.gradients(loss, tensors)` on a symbolic graph, as Keras 2 scripts call it.

`grads = K.gradients(loss, input_img)` then `K.function([input_img], [loss, grads])`
(conv_filter_visualization, deep_dream, neural_style_transfer): each gradient is a tensor
of the graph, made by a `Gradients` node whose inputs are the tensors differentiated by and
`loss`. When the graph runs, the node reruns the part between them under `jax.grad`, the
rest of the graph's values held fixed. Registered with the backend at import (the backend
may not import models).
"""
import jax
import jax.numpy as jnp

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.keras_tensor import register_symbolic_handler
from jkeras.layers.base import collect_losses, collect_metrics
from jkeras.models.graph import GraphOp, nodes_between, output_masks, run_graph


class Gradients(GraphOp):
    """The gradients of `sum(loss)` with respect to each of `wrt` (tensors of `loss`'s graph,
    its inputs or inner ones), as `tf.gradients` gives them."""

    def __init__(self, loss, wrt, nodes, **kwargs):
        super().__init__(**kwargs)
        self._loss, self._wrt, self._nodes = loss, list(wrt), nodes  # `nodes`: `nodes_between(wrt, loss)`
        self.built = True

    def _symbolic_output_spec(self, inputs, kwargs):
        return [(t.shape, t.dtype) for t in self._wrt]

    def run_on_graph(self, node, values, masks, params, state, training, key):
        def total(wrt_values):
            with collect_losses(), collect_metrics(), output_masks():  # the rerun's extras are the first run's
                computed = run_graph(self._nodes, self._wrt, wrt_values, params, state, training, key,
                                     known=(values, masks))[0]
            return jnp.sum(computed[id(self._loss)])
        return jax.grad(total)([values[id(t)] for t in self._wrt])

    def get_config(self):
        raise ValueError(f"Layer '{self.name}' is a symbolic K.gradients, which cannot be saved; build "
                         "the model to save without it, and take gradients with K.gradients when needed.")


def symbolic_gradients(loss, wrt):
    """`K.gradients` of a symbolic `loss`: one tensor per entry of `wrt`, None where `loss` does
    not depend on it (as `tf.gradients`)."""
    bad = [t for t in wrt if not isinstance(t, KerasTensor)]
    if bad:
        raise ValueError(f"K.gradients of a symbolic loss differentiates with respect to symbolic tensors "
                         f"(inputs or layer outputs of its graph); received {bad}.")
    between = nodes_between(wrt, loss)
    reached = {id(p) for node in between for p in node.parent_tensors} | {id(loss)}
    connected = list({id(t): t for t in wrt if id(t) in reached}.values())
    if not connected:
        return [None] * len(wrt)
    grads = Gradients(loss, connected, between)(connected + [loss])
    by_id = {id(t): g for t, g in zip(connected, grads)}
    return [by_id.get(id(t)) for t in wrt]


register_symbolic_handler("gradients", symbolic_gradients)

"""`K.gradients`: symbolic gradients of a graph's tensor, or those a train step offers.

JAX differentiates functions, not values. A symbolic `loss` names its function, the graph
that makes it, so `K.gradients(loss, [tensor])` records a node that differentiates it (the
models floor registers the handler, "gradients"). A concrete `loss` has gradients only where
the step that computed it also computed them and offered them here (`offer_gradients`), as
jkeras's train step does for an optimizer's `get_updates`.
"""
import contextlib
import threading

from jkeras.backend import keras_tensor
from jkeras.backend.keras_tensor import KerasTensor


class _Offered(threading.local):
    def __init__(self):
        self.stack = []


_offered = _Offered()


@contextlib.contextmanager
def offer_gradients(loss, grads_by_id):
    """While the block runs, `K.gradients(loss, [w, ...])` gives `grads_by_id[id(w)]`."""
    _offered.stack.append((loss, grads_by_id))
    try:
        yield
    finally:
        _offered.stack.pop()


def gradients(loss, variables):
    """The gradients of `loss` with respect to each of `variables`, as a list.

    For a symbolic `loss` (a tensor of a functional graph), each gradient is a symbolic tensor of
    that graph, to fetch with `K.function` as Keras 2 does; else `loss` must be a train step's."""
    variables = list(variables) if isinstance(variables, (list, tuple)) else [variables]
    if isinstance(loss, KerasTensor):
        return keras_tensor.handler("gradients", "K.gradients of a symbolic tensor")(loss, variables)
    for offered_loss, grads in reversed(_offered.stack):
        if offered_loss is loss:
            missing = [getattr(v, "name", repr(v)) for v in variables if id(v) not in grads]
            if missing:
                raise ValueError(f"K.gradients: the step computed no gradient for {missing}; it has "
                                 "gradients for the model's trainable weights only.")
            return [grads[id(v)] for v in variables]
    raise RuntimeError("K.gradients(loss, variables) takes a symbolic loss (a tensor of a functional graph, "
                       "differentiated with respect to tensors of that graph) or the loss of a jkeras train "
                       "step (inside an optimizer's `get_updates`); this loss is a value, and JAX "
                       "differentiates functions, not values (also inside a Lambda's function). To "
                       "differentiate your own computation, write it as a function and use jax.grad, e.g. "
                       "`jax.grad(lambda w: loss_fn(w, x))(w)`.")

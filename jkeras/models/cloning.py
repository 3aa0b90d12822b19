"""`clone_model`: the same architecture with new layers, hence freshly initialized weights (Keras 2's
`keras.models.clone_model`)."""
import jax

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.core import Input, InputLayer
from jkeras.models.functional import Functional
from jkeras.models.graph import flatten_tensors
from jkeras.models.sequential import Sequential


def _clone_layer(layer):
    return layer.__class__.from_config(layer.get_config())


def clone_model(model, input_tensors=None, clone_function=None):
    """A new model with `model`'s architecture: every layer rebuilt by `clone_function` (default:
    `layer.__class__.from_config(layer.get_config())`), so the weights are new, not shared.

    `input_tensors`: symbolic tensors (from `jkeras.Input`) to build the clone on, instead of new
    inputs like the original's. A subclassed model has no graph to copy and raises, as in Keras 2.
    """
    clone_function = clone_function or _clone_layer
    if not isinstance(model, Functional):
        raise ValueError("Expected `model` argument to be a functional `Model` instance, but got a "
                         f"subclass model instead: {model!r}.")
    if input_tensors is not None:
        input_tensors = list(input_tensors) if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        bad = [t for t in input_tensors if not isinstance(t, KerasTensor)]
        if bad:
            raise TypeError("clone_model's `input_tensors` must be symbolic tensors from `jkeras.Input` "
                            "(or layer calls on them); jkeras has no TensorFlow tensors to wrap. "
                            f"Received {[type(t).__name__ for t in bad]}.")
    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_function)
    return _clone_functional(model, input_tensors, clone_function)


def _clone_sequential(model, input_tensors, clone_function):
    layers = [clone_function(layer) for layer in model.layers]
    if input_tensors is not None:
        if len(input_tensors) != 1:
            raise ValueError(f"To clone a Sequential model, pass one input tensor; received "
                             f"{len(input_tensors)}.")
        head = input_tensors[0]
        if not isinstance(head._keras_history[0], InputLayer):
            raise ValueError("To clone a Sequential model on `input_tensors`, give a tensor from "
                             "`jkeras.Input`; a layer's output cannot start a Sequential model (clone it "
                             "with input_tensors=None and call the clone on that tensor instead).")
    elif model._input_layer is not None:
        head = InputLayer(batch_shape=model._input_layer._batch_input_shape,
                          dtype=model._input_layer.dtype, name=model._input_layer.name)
    else:  # not built yet: the clone learns its input shape as the original would
        return Sequential(layers, name=model.name)
    return Sequential([head] + layers, name=model.name)


def _clone_functional(model, input_tensors, clone_function):
    if input_tensors is None:
        input_tensors = [Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history[0].name)
                         for t in model.inputs]
    elif len(input_tensors) != len(model.inputs):
        raise ValueError(f"Model '{model.name}' has {len(model.inputs)} input(s); clone_model received "
                         f"{len(input_tensors)} input tensor(s).")
    tensors = {id(old): new for old, new in zip(model.inputs, input_tensors)}
    layers = {}  # old layer id -> its clone; a shared layer is cloned once and stays shared

    def mapped(structure):
        return jax.tree.map(lambda t: tensors[id(t)] if isinstance(t, KerasTensor) else t, structure,
                            is_leaf=lambda t: isinstance(t, KerasTensor))

    for node in model._nodes:
        if id(node.layer) not in layers:
            layers[id(node.layer)] = clone_function(node.layer)
        outputs = layers[id(node.layer)](mapped(node.inputs), **mapped(node.kwargs))
        tensors.update((id(old), new) for old, new in zip(flatten_tensors(node.outputs),
                                                           flatten_tensors(outputs)))
    return Functional(mapped(model.input), mapped(model.output), name=model.name)

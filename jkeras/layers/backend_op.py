"""`BackendOp`: a `K` function or an operator called on symbolic tensors, recorded as a layer of
the graph, and the "op" handler that records it (registered with the backend, which imports no layer)."""
import operator

import jax
import numpy as np

from jkeras.backend.keras_tensor import register_symbolic_handler
from jkeras.backend.naming import unique_name
from jkeras.backend.symbolic import read
from jkeras.layers.base import Layer
from jkeras.layers.input_spec import _is_kt


class BackendOp(Layer):
    """A `K` function or an operator applied to symbolic tensors, recorded as a layer of the
    graph (tf.keras 2 records a TF op so). `function` is a `K` name or `operator.<name>`;
    `arguments` holds the call's `[args, kwargs]`, the i-th input tensor as `{"__tensor__": i}`."""

    _mixes_rows = True  # see Layer._mixes_rows

    def __init__(self, function, arguments, **kwargs):
        super().__init__(**kwargs)
        self.function = function
        self.arguments = _decode_arguments(arguments)
        self._fn = _backend_function(function)

    def apply(self, params, state, inputs, *, training=False, key=None):
        tensors = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        args, kwargs = jax.tree.map(lambda a: tensors[a["__tensor__"]] if _is_tensor_slot(a) else a,
                                    self.arguments, is_leaf=_is_tensor_slot)
        return self._fn(*args, **kwargs), state

    def get_config(self):
        return {**super().get_config(), "function": self.function,
                "arguments": _encode_arguments(self.arguments, self.name)}


def _backend_function(name):
    """The function a (saved) `BackendOp` names: only a name that calls on symbolic tensors are recorded
    under, so a file can make the model run no other function (not `K.set_floatx`, not `K.clear_session`)."""
    from jkeras import backend
    from jkeras.backend.keras_tensor import RECORDED_NAMES
    fn = None
    if isinstance(name, str) and name in RECORDED_NAMES:
        module, attribute = (operator, name[len("operator."):]) if name.startswith("operator.") else (backend, name)
        fn = getattr(module, attribute, None)
    if not callable(fn):
        raise ValueError(f"BackendOp: {name!r} is not a K function or operator that symbolic tensors record; "
                         "expected a K op's name (e.g. 'mean') or 'operator.<name>' (e.g. 'operator.add').")
    return fn


def _is_tensor_slot(x):
    return isinstance(x, dict) and set(x) == {"__tensor__"}


def _encode_arguments(value, layer_name):
    """The arguments as JSON: tuples, slices, Ellipsis and arrays marked."""
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_arguments(v, layer_name) for v in value]}
    if isinstance(value, list):
        return [_encode_arguments(v, layer_name) for v in value]
    if isinstance(value, dict):
        return {k: _encode_arguments(v, layer_name) for k, v in value.items()}
    if isinstance(value, slice):
        return {"__slice__": [value.start, value.stop, value.step]}
    if value is Ellipsis:
        return {"__ellipsis__": True}
    if isinstance(value, (np.ndarray, jax.Array, np.generic)):
        return {"__array__": np.asarray(value).tolist(), "dtype": str(np.asarray(value).dtype)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"Layer '{layer_name}' (a K call on symbolic tensors) has an argument that cannot be "
                     f"saved: {value!r}. Wrap the call in a `Lambda` layer with a named function instead.")


def _decode_arguments(value):
    if isinstance(value, list):
        return [_decode_arguments(v) for v in value]
    if isinstance(value, dict):
        if "__tuple__" in value:
            return tuple(_decode_arguments(v) for v in value["__tuple__"])
        if "__slice__" in value:
            return slice(*value["__slice__"])
        if "__ellipsis__" in value:
            return Ellipsis
        if "__array__" in value:
            return np.asarray(value["__array__"], value["dtype"])
        return {k: _decode_arguments(v) for k, v in value.items()}
    return value


def _record_op(name, fn, args, kwargs):
    """A `K` call (or an operator) with symbolic tensors among its arguments, as a `BackendOp` node."""
    tensors = []

    def slot(x):
        if _is_kt(x):
            tensors.append(x)
            return {"__tensor__": len(tensors) - 1}
        return read(x)
    arguments = jax.tree.map(slot, [list(args), dict(kwargs)], is_leaf=_is_kt)
    layer = BackendOp(name, arguments, name=unique_name(f"k_{name.replace('operator.', '').strip('_')}"))
    return layer(tensors[0] if len(tensors) == 1 else tensors)


register_symbolic_handler("op", _record_op)

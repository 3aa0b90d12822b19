"""Symbolic tensors: a shape, a dtype and the layer call that made them."""
import operator

import numpy as np


# The names calls on symbolic tensors are recorded under (`K` names and `operator.<name>`): the
# only functions a `BackendOp` loaded from a file may run.
RECORDED_NAMES = set()

# What the layers and models floors register for calls on symbolic tensors (the backend imports
# neither): 'op' records a K call as a layer, 'placeholder' makes an Input, 'gradients' K.gradients.
_handlers = {}


def register_symbolic_handler(kind, handler):
    """`kind` 'op': `handler(name, fn, args, kwargs)` records a call; 'placeholder':
    `handler(shape, dtype, name)` makes an input tensor."""
    _handlers[kind] = handler


def handler(kind, what):
    """The handler registered for `kind`, or a RuntimeError naming `what` needed it."""
    if kind not in _handlers:
        raise RuntimeError(f"{what} needs jkeras's layers and models: `import jkeras` first.")
    return _handlers[kind]


def _recorded(op_name, swap=False):
    """An operator method that records `op_name` on symbolic tensors as a graph layer."""
    fn = getattr(operator, op_name)
    RECORDED_NAMES.add(f"operator.{op_name}")

    def method(self, *other):
        args = (other[0], self) if swap else (self,) + other
        return handler("op", f"The operator {op_name} on a symbolic tensor")(f"operator.{op_name}", fn, args, {})
    method.__name__ = f"__r{op_name}__" if swap else f"__{op_name}__"
    return method


class KerasTensor:
    """The symbolic output of calling a layer on `Input` tensors.

    `shape` uses `None` for unknown dims; `_keras_history` is
    `(layer, node_index, tensor_index)`, the link the functional API follows.
    """

    def __init__(self, shape, dtype="float32", name=None, history=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = np.dtype(dtype).name
        self.name = name
        self._keras_history = history
        self._keras_mask = None

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def node(self):
        layer, node_index, _ = self._keras_history
        return layer._inbound_nodes[node_index]

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"

    def __iter__(self):
        raise TypeError(f"{self!r} is symbolic and cannot be iterated over; index it (`x[:, 0]`) or use "
                        "a `Lambda` layer that unpacks the values.")

    # arithmetic records a layer, as tf.keras 2's symbolic tensors do (`==` stays identity)
    __add__, __sub__, __mul__, __truediv__ = (_recorded(n) for n in ("add", "sub", "mul", "truediv"))
    __floordiv__, __mod__, __pow__, __matmul__ = (_recorded(n) for n in ("floordiv", "mod", "pow", "matmul"))
    __radd__, __rsub__, __rmul__, __rtruediv__ = (_recorded(n, True) for n in ("add", "sub", "mul", "truediv"))
    __rfloordiv__, __rmod__, __rpow__, __rmatmul__ = (_recorded(n, True)
                                                      for n in ("floordiv", "mod", "pow", "matmul"))
    __lt__, __le__, __gt__, __ge__ = (_recorded(n) for n in ("lt", "le", "gt", "ge"))
    __and__, __or__, __xor__ = (_recorded(n) for n in ("and_", "or_", "xor"))
    __neg__, __abs__, __invert__, __getitem__ = (_recorded(n) for n in ("neg", "abs", "invert", "getitem"))

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has no value until the model runs on data. "
            "Build a Model from it, or use jkeras.backend.function.")

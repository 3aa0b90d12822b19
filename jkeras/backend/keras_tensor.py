"""Symbolic tensors: a shape, a dtype and the layer call that made them."""
import numpy as np


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

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"{self!r} is symbolic: it has no value until the model runs on data. "
            "Build a Model from it, or use jkeras.backend.function.")

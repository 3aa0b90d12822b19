"""A layer's named weight (`Variable`) and the edit counter that marks cached weight trees stale."""
from jkeras.backend import variables as backend_variables
from jkeras.backend.arrays import to_device
from jkeras.layers.paths import path_str


class Variable(backend_variables.Variable):
    """A named weight of a layer. It holds the current value between compiled calls; as a
    `K.variable` it takes `K` functions and arithmetic."""

    edits = 0  # bumped by every new value and by changes of layer structure (`note_edit`)

    def __init__(self, layer, name, value, trainable):  # the value is on the device already
        self._layer = layer
        self.name = name
        self._value = value
        self._trainable = trainable
        self.constraint = None

    @property
    def _value(self):
        return self._current

    @_value.setter
    def _value(self, value):
        self._current = value
        note_edit()

    @property
    def path(self):
        return path_str((self._layer.name, self.name))

    @property
    def trainable(self):
        return self._trainable and self._layer.trainable

    def assign(self, value):
        value = to_device(value.value if isinstance(value, backend_variables.Variable) else value,
                          self._value.dtype)
        if value.shape != self._value.shape:
            raise ValueError(f"Cannot assign a value of shape {value.shape} to weight "
                             f"'{self.path}' of shape {self._value.shape}.")
        self._value = value
        return self

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}>"


def note_edit():
    """Mark every cached tree of weight values stale (a value or the layer structure changed)."""
    Variable.edits += 1

"""`Sequential`: a plain stack of layers, each with one input and one output."""
import warnings

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.errors import ConfigError
from jkeras.layers.base import Layer, note_edit
from jkeras.layers.core import InputLayer
from jkeras.models.functional import Functional
from jkeras.models.trainer import Trainer
from jkeras.saving.config_safety import config_where, converting, short
from jkeras.saving.serialization import config_entry, deserialize_layer, register_model_classes


def _first_declaring(layer):
    """The layer whose input shape a model starting with `layer` takes: `layer` if it declares
    one, else (a model) its first layer's, looked up as Keras 2's `Sequential.add` did; or None."""
    while layer._batch_input_shape is None and isinstance(layer, Functional) and layer._layers:
        layer = layer._layers[0]
    return layer if layer._batch_input_shape is not None else None


class Sequential(Functional):
    """A linear stack of layers; built as a functional graph once its input shape is known."""

    config_class_name = "Sequential"  # a config names subclasses Sequential too
    _config_node_offset = 0  # nested, it is written without its InputLayer (`_nested_config`)

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        Layer.__init__(self, trainable=trainable, name=name, **kwargs)
        Trainer.__init__(self)
        self._stack = []
        self._input_layer = None
        self._chain = []
        self.built = False
        if layers is not None and not isinstance(layers, (list, tuple)):
            raise TypeError(f"Sequential `layers` must be a list of layers; received "
                            f"{type(layers).__name__}.")
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append `layer` (or an `Input` tensor, which sets the input shape); a layer that does
        not fit the model's output raises and leaves the model as it was."""
        before = (self._input_layer, list(self._stack))
        if isinstance(layer, KerasTensor):
            layer = layer._keras_history[0]
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add expects a Layer; received {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if self._input_layer is not None or self._stack:
                raise ValueError("An InputLayer can only be the first layer of a Sequential model.")
            self._input_layer = layer
        else:
            if any(existing.name == layer.name for existing in self._stack):
                raise ValueError(f"All layers in a Sequential model must have unique names; "
                                 f"'{layer.name}' is already in '{self.name}'.")
            first = _first_declaring(layer)
            if not self._stack and self._input_layer is None and first is not None:
                self._input_layer = InputLayer(batch_shape=first._batch_input_shape, dtype=first.dtype)
            self._stack.append(layer)
        try:
            self._rebuild()
        except Exception:
            self._input_layer, self._stack = before
            self._rebuild()
            raise

    def pop(self):
        """Remove the last layer (the FAQ's way to drop a classifier head)."""
        if not self._stack:
            raise TypeError("There are no layers in the model to pop.")
        layer = self._stack.pop()
        if self._chain:
            self._chain.pop()
        self._rebuild()
        return layer

    def _rebuild(self):
        """Extend the graph to the layers added since the last build: one call per layer."""
        object.__setattr__(self, "_layers", list(self._stack))
        note_edit()
        if self._input_layer is None or not self._stack:
            self._chain = []
            self.built = False
            return
        if not self._chain:
            self._chain = [self._input_layer.output_tensor]
        for layer in self._stack[len(self._chain) - 1:]:
            self._chain.append(layer(self._chain[-1]))
        self._init_graph(self._chain[0], self._chain[-1])
        object.__setattr__(self, "_layers", list(self._stack))
        note_edit()   # the layer list changed after _init_graph's edit: cached path indexes are stale

    def _ensure_built(self, input_shape):
        if self.built:
            return
        if not self._stack:
            raise ValueError(f"Sequential model '{self.name}' has no layers to build.")
        if isinstance(input_shape, list) and len(input_shape) == 1:
            input_shape = input_shape[0]
        self._input_layer = InputLayer(batch_shape=(None,) + tuple(input_shape[1:]))
        self._rebuild()

    def flatten_inputs(self, inputs):
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]
        if not self.built:  # the first data fixes the input shape
            return [inputs]
        return super().flatten_inputs(inputs)

    def _output_names_or_default(self):
        return self.output_names if self.built else [self._stack[-1].name if self._stack else "output_1"]

    def get_config(self):
        """`{"name", "layers"}`: the InputLayer (once the input shape is known) and the stack,
        as Keras 2 lists them."""
        return sequential_config(self)

    @property
    def loads_built(self):
        """Whether the model built from its config is built (its first layer declares the input
        shape), so that its first call in an enclosing model's config is node 1."""
        return bool(self._stack) and _first_declaring(self._stack[0]) is not None

    def _nested_config(self):
        """Its entry in a Functional model's config: without its InputLayer, as its input
        comes from the call (models/functional_config.py)."""
        return {"class_name": "Sequential", "config": sequential_config(self, with_input=False)}

    @classmethod
    def reads_graph_config(cls, config):
        """Loading always builds a Sequential from its layers (`from_graph_config`)."""
        return True

    @classmethod
    def from_graph_config(cls, config, custom_objects=None, safe_mode=True, path="config"):
        """A model of this class with the layers of `config` (`{"name", "layers"}`, or Keras
        2.2's bare list of layer configs); `path` names `config` in error messages."""
        return sequential_from_config(config, custom_objects, safe_mode, cls, path)

    # ---- Keras 2's Sequential-only prediction helpers (removed in later versions) ----
    def predict_proba(self, x, batch_size=32, verbose=0):
        """`predict`, warning when the outputs are not probabilities (Keras 2)."""
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if preds.min() < 0.0 or preds.max() > 1.0:
            warnings.warn("Network returning invalid probability values. The last layer might not "
                          "normalize predictions into probabilities (like softmax or sigmoid would).")
        return preds

    def predict_classes(self, x, batch_size=32, verbose=0):
        """Class ids: the argmax of several outputs, or `output > 0.5` (int32) of one (Keras 2)."""
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    @property
    def model(self):
        """The model itself: Keras 2.0-2.1's Sequential wrapped a `Model` here, and Keras 2.2-2.3
        kept the name (deprecated) returning the Sequential, as this does."""
        warnings.warn("`Sequential.model` is deprecated. `Sequential` is a subclass of `Model`, you can "
                      "just use your `Sequential` instance directly.", stacklevel=2)
        return self


def sequential_config(model, with_input=True):
    """`{"name", "layers"}` of a Sequential model: its InputLayer (with `with_input`, once the
    input shape is known) and the stack."""
    first = [model._input_layer] if with_input and model._input_layer is not None else []
    return {"name": model.name, "layers": [config_entry(layer) for layer in first + list(model._stack)]}


def sequential_from_config(config, custom_objects=None, safe_mode=True, cls=None, path="config"):
    """A Sequential model (of class `cls`) from `{"name", "layers", "build_input_shape"}` or a
    list of layer configs; every error is a `ConfigError` naming `path`."""
    if isinstance(config, dict):
        entries = config.get("layers")
        if not isinstance(entries, list):
            raise ConfigError(f"{path}.layers must be a list of layer configs; received "
                              f"{short(entries)}.")
        name = config.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{path}.name must be a string; received {short(name)}.")
        prefix = f"{path}.layers"
    elif isinstance(config, list):
        entries, name, prefix = config, None, path
    else:
        raise ConfigError(f"{path}: a Sequential config must be a dict with 'layers' (or a list of "
                          f"layer configs); received {type(config).__name__}.")
    model = (cls or Sequential)(name=name)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) and hasattr(entry, "get_config"):  # `get_config()` objects
            entry = config_entry(entry)
        layer = deserialize_layer(entry, custom_objects, safe_mode, f"{prefix}[{i}]")
        with converting(config_where(f"{prefix}[{i}]", entry)):
            model.add(layer)
    build_shape = config.get("build_input_shape") if isinstance(config, dict) else None
    if not model.built and build_shape:
        with converting(f"{path}.build_input_shape"):
            model._ensure_built(tuple(build_shape))
    return model


register_model_classes({"Sequential": Sequential})

"""`Model`: a layer made of layers, with Keras's training API.

`Model(inputs, outputs)` returns a functional model; subclassing `Model` and
defining `call` gives a subclassed one, whose sublayers are tracked from its
attributes and run through the Keras-style path of `Layer.apply`.
"""
import copy

from jkeras.errors import ConfigError
from jkeras.layers.base import Layer
from jkeras.models.trainer import Trainer
from jkeras.saving import api, config_safety, json_yaml, serialization

# `Functional` and the function that rebuilds a functional model from its config:
# models/functional.py subclasses Model, so it registers them here once it is imported.
_functional = {}


def register_functional(cls, from_config):
    """Make `Model(inputs, outputs)` build `cls` (Functional) and `Model.from_config` rebuild a
    graph with `from_config(config, custom_objects, safe_mode, cls, path)`."""
    _functional.update(cls=cls, from_config=from_config)


class Model(Trainer, Layer):
    """A trainable group of layers. See `Functional` and `Sequential`."""

    def __new__(cls, *args, **kwargs):
        graph_args = ("inputs", "outputs", "input", "output")  # Keras 1's `Model(input=, output=)` too
        if cls is Model and (args or any(k in kwargs for k in graph_args)):
            return object.__new__(_functional["cls"])
        return object.__new__(cls)

    def __init__(self, *args, trainable=True, name=None, dtype=None, **kwargs):
        if _graph_args(args, kwargs):  # a subclass whose __init__ builds a graph (Keras 2's way)
            functional_subclass(type(self))
            extra = {} if dtype is None else {"dtype": dtype}
            _functional["cls"].__init__(self, *args, trainable=trainable, name=name, **extra, **kwargs)
            return
        Layer.__init__(self, trainable=trainable, name=name, dtype=dtype, **kwargs)
        Trainer.__init__(self)

    @property
    def layers(self):
        return list(self._layers)

    @property
    def metrics(self):
        """The metric objects behind `metrics_names`, in its order, as tf.keras 2 lists them:
        `Mean` of the loss, per-output loss `Mean`s (several outputs), the compiled metrics,
        then a `Mean` per `add_metric` name. Empty until the first `fit`/`evaluate`/
        `train_on_batch` builds the metrics from the data (tf.keras 2's rule; Keras 2.3 listed
        the compiled ones from `compile` on, without the losses).

        Their running values live in the compiled step's state, not in these objects:
        `result()` of one reads only what its own `update_state` calls gathered.
        """
        from jkeras import metrics as metrics_mod  # metrics sit below models; deferred as the rest
        compiled = getattr(self, "_compiled_metrics", None)
        if compiled is None:
            return []
        layer_names = list(self._layer_metrics)
        cached = self.__dict__.get("_metric_objects")  # the same objects until the next compile
        if cached is None or cached[0] is not compiled or cached[1] != layer_names:
            losses = [metrics_mod.Mean(name=name) for name in ["loss"] + compiled.output_loss_names]
            entries = [_named(metric, name) for name, metric, _, _ in compiled.entries]
            layer_means = [metrics_mod.Mean(name=name) for name in layer_names]
            cached = self.__dict__["_metric_objects"] = (compiled, layer_names, losses + entries + layer_means)
        return list(cached[2])

    def get_layer(self, name=None, index=None):
        """The layer called `name`, or at position `index` in `model.layers`."""
        if index is not None and name is not None:
            raise ValueError("Pass either `name` or `index` to get_layer, not both.")
        if index is None and name is None:
            raise ValueError("Provide either a layer name or layer index at `get_layer`.")
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError(f"get_layer `index` must be an int; received {index!r}.")
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Asked for layer index {index}, but the model has only "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name!r}. Existing layers are: "
                         f"{[layer.name for layer in self.layers]}.")

    def summary(self, line_length=None, positions=None, print_fn=None, **kwargs):
        from jkeras.models.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def reset_states(self):
        """Zero every stateful layer's carried state (stateful RNNs)."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """A model from `get_config()`'s dict (Keras 2's `Model.from_config`).

        `config` is what the model's `get_config()` gives (Keras 2's inner config:
        `{"name", "layers", "input_layers", "output_layers"}` for functional models,
        `{"name", "layers"}` or a plain list of layers for Sequential); the outer
        `{"class_name", "config"}` form is accepted too. A subclassed model is built
        as `cls(**config)`, as Keras does.
        """
        if isinstance(config, dict) and "class_name" in config and isinstance(config.get("config"), (dict, list)):
            config = config["config"]
        with serialization.custom_object_scope(custom_objects or {}), \
                config_safety.converting(f"{cls.__name__}.from_config"):
            sequential = serialization.model_class("Sequential")
            if issubclass(cls, sequential) or isinstance(config, list):
                return (cls if issubclass(cls, sequential) else sequential).from_graph_config(
                    config, custom_objects)
            if isinstance(config, dict) and "layers" in config and "input_layers" in config:
                return cls.from_graph_config(config, custom_objects)
            if not isinstance(config, dict):
                raise ConfigError(f"{cls.__name__}.from_config needs a dict config; received "
                                  f"{config_safety.short(config)}.")
            try:
                return cls(**config)
            except TypeError as error:
                raise ConfigError(f"{cls.__name__}.from_config could not build the model from its "
                                  f"config ({error}). A subclassed model needs a get_config() that "
                                  "returns its constructor arguments.") from error

    @classmethod
    def reads_graph_config(cls, config):
        """Whether loading builds this class from the functional graph in `config` (with
        `from_graph_config`): a functional config, and no `from_config` of the class's own."""
        own = getattr(cls.from_config, "__func__", None) is not Model.from_config.__func__
        return isinstance(config, dict) and "layers" in config and "input_layers" in config and not own

    @classmethod
    def from_graph_config(cls, config, custom_objects=None, safe_mode=True, path="config"):
        """A functional model of this class, its layer calls replayed from `config`; `path`
        names `config` in error messages."""
        return _functional["from_config"](config, custom_objects, safe_mode, cls, path)

    # ---- files: jkeras.saving.api chooses the format from the path ----
    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None, max_to_keep=None):
        """The whole model: to a Keras `.h5` file, or to an Orbax checkpoint folder (exact resume).

        A path ending in `.h5`/`.hdf5` writes Keras's format, for exchange with Keras; any
        other path is a checkpoint folder holding everything training changes.
        """
        api.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                       save_format=save_format, max_to_keep=max_to_keep)

    def save_weights(self, filepath, overwrite=True, save_format=None):
        """Weights only, to an HDF5 file: Keras's legacy layout, or Keras 3's for `.weights.h5`."""
        api.save_weights(self, filepath, overwrite=overwrite, save_format=save_format)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False):
        """Weights from a Keras `.h5` (weights-only or whole-model), by order or by layer name."""
        api.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def to_json(self, **kwargs):
        """The model's config as JSON (`{"class_name", "config", "keras_version", "backend"}`)."""
        return json_yaml.to_json(self, **kwargs)

    def to_yaml(self, **kwargs):
        """The model's config as YAML (`{"class_name", "config"}`)."""
        return json_yaml.to_yaml(self, **kwargs)


def _named(metric, name):
    """`metric` under its log name: itself, or a renamed copy where the log name adds the output's
    name or `weighted_` (the same object may serve several outputs, so it is not renamed)."""
    if metric.name == name:
        return metric
    named = copy.copy(metric)
    named.name = name
    return named


def _graph_args(args, kwargs):
    """Whether `Model.__init__` got a graph: `inputs`/`outputs` (or Keras 1's `input`/`output`)."""
    return (len(args) == 2 or (len(args) == 1 and ("outputs" in kwargs or "output" in kwargs))
            or {"inputs", "outputs"} <= set(kwargs) or {"input", "output"} <= set(kwargs))


def functional_subclass(cls):
    """Put `Functional` in place of `Model` among `cls`'s bases, as tf.keras 2 does for a
    `Model` subclass whose `__init__` calls `super().__init__(inputs=..., outputs=...)`:
    its instances are functional models (`isinstance(net, Functional)`), of their own class."""
    functional = _functional["cls"]
    if cls is Model:
        return functional
    if not issubclass(cls, Model) or issubclass(cls, functional):
        return cls
    cls.__bases__ = tuple(functional_subclass(base) for base in cls.__bases__)
    return cls


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None):
    """Keras 2's `keras.models.save_model(model, filepath)`: the same as `model.save(filepath)`."""
    if not isinstance(model, Model):
        raise TypeError(f"save_model() saves a jkeras Model; received {type(model).__name__}.")
    api.save_model(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   save_format=save_format)

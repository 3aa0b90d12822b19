"""Model and layer configs: Keras's `{"class_name", "config"}` JSON, both ways.

jkeras writes the Keras 2 (tf.keras) layout — `batch_input_shape`, legacy
`inbound_nodes` lists — because both tf.keras 2 and Keras 3 read it; it reads
that layout and Keras 3's (`batch_shape`, `DTypePolicy` dicts,
`__keras_tensor__` node args, flat `output_layers`, mask ops).

Layer configs are written in tf.keras 2's form too (`keras2_config`): a Lambda's
function with tf.keras 2's `function_type`, MultiHeadAttention with its input shapes and
its call's value and key as keyword arguments, Keras 3's new keys left out where they hold
their default. Only MultiHeadAttention has no form Keras 3's reader loads as well.

Model configs are the models' own (`get_config`/`from_config` in jkeras.models): this module
finds the model classes by name in a registry the models fill when they are imported
(`register_model_classes`), so it never imports them.
"""
import contextvars
import inspect
import math

from jkeras.backend import registry
from jkeras.errors import ConfigError
from jkeras.layers._utils import without_foreign_keys
from jkeras.saving.config_safety import (MAX_CONFIG_DEPTH, MAX_CONFIG_NODES,  # noqa: F401 (re-exported)
                                         check_config_tree, config_where, converting, refuse_code, short)
from jkeras.saving.object_registration import (CustomObjectScope,  # noqa: F401 (re-exported)
                                               custom_object_scope, get_registered_name,
                                               get_registered_object, register_keras_serializable)

# Weight elements the layers built from a config may create, checked as each is built, before
# anything is allocated (`_count_weights` reads them here: change them on this module).
MAX_LAYER_WEIGHTS = 2 ** 31     # weight elements one layer may create (8 GiB of float32)
MAX_MODEL_WEIGHTS = 2 ** 32     # ... and all layers one `model_from_config` builds (16 GiB)

# Weight elements the layers built so far by the current `model_from_config` create.
_built_weights = contextvars.ContextVar("jkeras_built_weights", default=None)

# The model classes by the names a config gives them ("Functional", "Model", "Sequential"):
# jkeras.models registers them when it is imported.
_MODEL_CLASSES = {}


def register_model_classes(mapping):
    """Make `mapping` (class name -> model class) known to `deserialize_layer` and
    `layer_classes`; jkeras.models calls it for Functional, Model and Sequential, so saving
    finds them without importing the models."""
    _MODEL_CLASSES.update(mapping)


def model_class(name):
    """The model class registered under `name` (`"Functional"`, `"Sequential"`)."""
    return _MODEL_CLASSES[name]


def layer_classes():
    """`{class name: class}` of every public layer and model class, with Keras's aliases."""
    from jkeras import layers
    known = {n: c for n, c in vars(layers).items() if isinstance(c, type) and issubclass(c, layers.Layer)}
    known.update(_MODEL_CLASSES)
    return known


def serialize_layer(layer):
    """A registered class is named by its registered name (`"package>Name"`), as Keras 3 and
    tf.keras write it, so they find it in their own registry. The config is in the form
    tf.keras 2 writes (`keras2_config`)."""
    name = get_registered_name(type(layer))
    return {"class_name": name, "config": keras2_config(name, layer.get_config(), layer)}


# Config keys tf.keras 2 refuses ("Keyword argument not understood"), left out of a file
# where they hold the default that Keras 3 and jkeras give them when the key is missing.
# Attention's `score_mode` is tf.keras 2's too, but Keras 3's `.h5` reader turns the string
# "dot" into its function `layers.dot`; "dot" is the default, so it is left out as well.
_KERAS3_ONLY_DEFAULTS = {
    "ZeroPadding1D": {"data_format": "channels_last"},
    "ConvLSTM1D": {"seed": None}, "ConvLSTM2D": {"seed": None}, "ConvLSTM3D": {"seed": None},
    "MultiHeadAttention": {"use_gate": False, "sliding_window": None, "seed": None},
    "Attention": {"score_mode": "dot"},
}
# Keras 3's names of config keys that tf.keras 2 names differently (Keras 3 reads both).
_KERAS2_KEY_NAMES = {"LeakyReLU": {"negative_slope": "alpha"}}


def keras2_config(class_name, config, layer=None):
    """`config` of a layer of class `class_name` as tf.keras 2 writes it, which tf.keras 2
    and Keras 3's `.h5` reader both load (see docs/saving.md, "Loading jkeras's files in
    tf.keras 2 and Keras 3"), also in the layer configs nested in it (wrappers, RNN cells).
    `layer`, when given, is the built layer: MultiHeadAttention writes its input shapes,
    from which tf.keras 2 builds it."""
    config = {k: _nested_keras2(v) for k, v in config.items()}
    defaults = _KERAS3_ONLY_DEFAULTS.get(class_name, {})
    config = {k: v for k, v in config.items() if not (k in defaults and v == defaults[k])}
    renames = _KERAS2_KEY_NAMES.get(class_name, {})
    config = {renames.get(k, k): v for k, v in config.items()}
    if class_name == "Lambda":
        from jkeras.layers.lambda_layer import keras2_config as lambda_keras2
        config = lambda_keras2(config)
    if class_name == "MultiHeadAttention" and hasattr(layer, "build_shapes_config"):
        config.update(layer.build_shapes_config())
    return config


def _nested_keras2(value):
    """A config value with every layer config in it (`{"class_name", "config"}`) in tf.keras
    2's form."""
    if isinstance(value, list):
        return [_nested_keras2(v) for v in value]
    if isinstance(value, dict) and isinstance(value.get("config"), dict) \
            and isinstance(value.get("class_name"), str) and value["class_name"] in layer_classes():
        return {**value, "config": keras2_config(value["class_name"], value["config"])}
    return value


def model_config(model):
    """The `{"class_name", "config"}` of a model, as `model_config` and `to_json` hold it: a
    functional subclass (`class Net(Model)`) under its own (registered) name, as tf.keras 2
    writes it, with the whole graph and whatever its own get_config adds."""
    if not getattr(model, "is_graph_model", False):
        raise NotImplementedError(
            f"Model '{model.name}' is a subclassed model: its architecture is Python code, so it "
            "cannot be written as a config. Save its weights with save_weights() instead.")
    name = getattr(model, "config_class_name", None) or get_registered_name(type(model))
    return {"class_name": name, "config": model.get_config()}


def config_entry(layer):
    """The `{"class_name", "config"}` entry of a layer (a nested model's too) in a model's config."""
    if getattr(layer, "is_graph_model", False):
        return model_config(layer)
    return serialize_layer(layer)


def functional_config(model):
    """Keras 2's config of a functional model: its `get_config()` (layers with their inbound
    nodes, input/output references)."""
    return model.get_config()


def deserialize_layer(entry, custom_objects=None, safe_mode=True, path="config"):
    """A layer (or model) from `{"class_name", "config"}`; unknown classes fail clearly.

    `path` names where `entry` sits in the file's config (`model_config.config.layers[2]`);
    every error raised here is a `ConfigError` that names it.
    """
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ConfigError(f"{path}: a layer config must be a dict with 'class_name' and 'config'; "
                          f"received {short(entry)}.")
    name = entry["class_name"]
    if not isinstance(name, str):
        raise ConfigError(f"{path}.class_name must be a string; received {short(name)}.")
    where = config_where(path, entry)
    classes = {**layer_classes(), **registry.get_custom_objects(), **(custom_objects or {})}
    registered = entry.get("registered_name")
    cls = classes.get(name) or (classes.get(registered) if isinstance(registered, str) else None)
    if cls is None:
        raise ConfigError(f"Unknown layer class '{name}' ({where}). Pass custom layers with "
                          f"custom_objects={{'{name}': {name}}} or CustomObjectScope.")
    config = entry.get("config", {})
    with converting(where):
        if _rebuilds_graph(cls, config):
            return cls.from_graph_config(config, custom_objects, safe_mode, f"{path}.config")
        if not isinstance(config, dict):
            raise ConfigError(f"The config of layer class '{name}' ({where}) must be a dict; "
                              f"received {type(config).__name__}.")
        if safe_mode:
            refuse_code(cls, config, where)
        config = _clean_config(config, classes, name)
        options = inspect.signature(cls.from_config).parameters
        extra = {k: v for k, v in (("custom_objects", custom_objects), ("safe_mode", safe_mode))
                 if k in options}
        try:
            layer = cls.from_config(config, **extra)
        except TypeError as error:
            raise ConfigError(f"Could not build layer class '{name}' from its config ({where}): "
                              f"{error}") from error
        _guard_size(layer, config, where)
        return layer


def _rebuilds_graph(cls, config):
    """Whether `cls` is built from the graph in `config` (its `from_graph_config`): a
    Sequential class (Keras 2.2 wrote a bare list of layers), or a Model class (a functional
    subclass too, `Net(Model)` or `{"Net": Model}` in custom_objects) without a `from_config`
    of its own, given a functional config (the class's `reads_graph_config`)."""
    reads = getattr(cls, "reads_graph_config", None) if isinstance(cls, type) else None
    return reads is not None and reads(config)


def _guard_size(layer, config, where):
    """When a layer built from a config is first built, its weight sizes are worked out
    abstractly first (`jax.eval_shape` of `init` on a twin built from the same config); more
    than `MAX_LAYER_WEIGHTS` elements (or `MAX_MODEL_WEIGHTS` for all layers together) ->
    ConfigError, before anything is allocated."""
    from jkeras.layers import Layer
    if not isinstance(layer, Layer) or getattr(layer, "is_graph_model", False):
        return

    def guarded(input_shape):
        layer.__dict__.pop("_ensure_built", None)
        if not layer.built:
            import jax
            try:
                twin = type(layer).from_config(layer.get_config())
                shapes = jax.eval_shape(lambda k: type(twin).init(twin, k, input_shape),
                                        jax.random.PRNGKey(0))
                sizes = [math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes)]
            except MemoryError as error:  # a custom initializer filling host memory
                raise ConfigError(f"{where}: for input shape {input_shape} this layer's weights "
                                  "do not fit in memory: a declared size in the config is too "
                                  "large.") from error
            except Exception:  # noqa: BLE001 - the real build below reports it
                sizes = [0]
            _count_weights(sum(sizes), input_shape, where)
        return type(layer)._ensure_built(layer, input_shape)

    layer.__dict__["_ensure_built"] = guarded


def _count_weights(total, input_shape, where):
    """Refuse a layer whose weights pass MAX_LAYER_WEIGHTS, or that takes the model being
    built from a config past MAX_MODEL_WEIGHTS (many layers each under the first limit)."""
    if total > MAX_LAYER_WEIGHTS:
        raise ConfigError(f"{where}: for input shape {input_shape} this layer would create "
                          f"{total} weight elements, more than the limit "
                          f"jkeras.saving.serialization.MAX_LAYER_WEIGHTS = "
                          f"{MAX_LAYER_WEIGHTS}: a declared size in the config is too large.")
    built = _built_weights.get()
    if built is None:
        return
    built[0] += total
    if built[0] > MAX_MODEL_WEIGHTS:
        raise ConfigError(f"{where}: with this layer the model would create {built[0]} weight "
                          "elements, more than the limit jkeras.saving.serialization."
                          f"MAX_MODEL_WEIGHTS = {MAX_MODEL_WEIGHTS}: declared sizes in the config "
                          "are too large.")


def _clean_config(config, classes, class_name=None):
    """`config` without the keys jkeras ignores, also in the layer configs nested in it.

    Wrappers and RNNs hold whole layer configs (`layer`, `cell`, `cells`); Keras 3
    writes `quantization_config` and friends into those too.
    """
    def clean(value):
        if isinstance(value, list):
            return [clean(v) for v in value]
        if (isinstance(value, dict) and isinstance(value.get("config"), dict)
                and _is_layer_class(classes.get(value.get("class_name")))):
            return {**value, "config": _clean_config(value["config"], classes, value["class_name"])}
        return value
    return {k: clean(v) for k, v in without_foreign_keys(config, class_name).items()}


def _is_layer_class(obj):
    from jkeras.layers import Layer
    return isinstance(obj, type) and issubclass(obj, Layer)


def model_from_config(config, custom_objects=None, safe_mode=True, path="config"):
    """A model (or layer) from `{"class_name", "config"}`, as `model_from_json` reads it.

    `custom_objects` are visible to everything built on the way (a custom
    activation inside a Dense config, a custom layer inside a wrapper), as in Keras.
    Every failure is a `jkeras.errors.ConfigError` naming the config path at fault.
    """
    token = _built_weights.set([0]) if _built_weights.get() is None else None
    try:
        with custom_object_scope(custom_objects or {}), converting(path):
            return deserialize_layer(config, custom_objects, safe_mode, path)
    finally:
        if token is not None:
            _built_weights.reset(token)


def model_from_class_config(cls, config, custom_objects=None):
    """What `cls.from_config(config, custom_objects)` returns (`cls` a model class): the model
    classes read their configs themselves (jkeras.models)."""
    return cls.from_config(config, custom_objects)

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
import contextlib
import contextvars
import inspect
import json
import math

import yaml

from jkeras.errors import ConfigError, JkerasError, UnsafeLoadError
from jkeras.version import __version__
from jkeras.layers._utils import without_foreign_keys
from jkeras.backend import registry

# Limits on what a config may declare, checked before anything is built.
MAX_CONFIG_DEPTH = 200          # nesting of dicts/lists
MAX_CONFIG_NODES = 2_000_000    # dicts, lists and values, aliases (YAML) counted each time
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
            _refuse_code(cls, config, where)
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


def short(value, limit=200):
    """`repr(value)`, cut to `limit` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def config_where(path, entry):
    """`path (layer 'name', class 'Dense')` for messages."""
    config = entry.get("config") if isinstance(entry, dict) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    if name is None and isinstance(config, dict):
        name = config.get("name")
    cls = entry.get("class_name") if isinstance(entry, dict) else None
    parts = [f"layer {name!r}" if isinstance(name, str) else None,
             f"class {cls!r}" if isinstance(cls, str) else None]
    parts = [p for p in parts if p]
    return f"{path} ({', '.join(parts)})" if parts else path


class PassesConversion(Exception):
    """An exception `converting` lets through as it is: one its caller handles."""


@contextlib.contextmanager
def converting(where):
    """Turn any failure while building from a config into a `ConfigError` naming `where`."""
    try:
        yield
    except (JkerasError, PassesConversion):
        raise
    except RecursionError as error:
        raise ConfigError(f"{where}: the config is nested too deeply to build.") from error
    except (KeyError, IndexError) as error:
        raise ConfigError(f"{where}: the config lacks an entry the layer needs: "
                          f"{type(error).__name__} {error}.") from error
    except MemoryError as error:
        raise ConfigError(f"{where}: building this layer ran out of memory (a declared size is "
                          "too large).") from error
    except Exception as error:  # noqa: BLE001 - any failure of a layer built from file data
        raise ConfigError(f"{where}: {error}") from error


def _refuse_code(cls, config, where):
    """Under safe_mode, a Lambda (or any layer) holding Python bytecode is refused before it is built."""
    from jkeras.layers import Lambda
    if not (isinstance(cls, type) and issubclass(cls, Lambda)):
        return
    for field in ("function", "output_shape", "mask"):
        value = config.get(field)
        lambda_dict = isinstance(value, dict) and value.get("class_name") == "__lambda__"
        if lambda_dict or config.get(f"{field}_type") == "lambda":
            module = config.get({"function": "module"}.get(field, f"{field}_module"))
            tf_keras = (f" (tf.keras 2 writes every Python function as bytecode, named ones too; "
                        f"this one comes from module {module!r})" if isinstance(module, str) else "")
            raise UnsafeLoadError(
                f"{where}: requested the deserialization of a `Lambda` layer whose `{field}` is a "
                f"Python lambda{tf_keras}. This carries a potential risk of arbitrary code "
                "execution and thus it is disallowed by default (`safe_mode=True`). Pass "
                "`safe_mode=False` if you trust the file (the bytecode then runs, in the same "
                "Python version only), or define the function with `def` and pass it by name "
                "through `custom_objects`.")


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


def check_config_tree(config, root="config"):
    """Refuse a config that is nested too deeply, too large (YAML aliases expanded), or that
    contains itself (a YAML anchor inside its own value), before anything walks it."""
    count = 0
    stack = [(config, root, 0, ())]
    while stack:
        value, path, depth, parents = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise ConfigError(f"{root}: the config has more than {MAX_CONFIG_NODES} values "
                              "(expanded), too large to be a model config.")
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{path}: the config is nested more than {MAX_CONFIG_DEPTH} levels deep.")
        if isinstance(value, (dict, list, tuple)):
            if id(value) in parents:
                raise ConfigError(f"{path}: the config contains itself (a reference cycle).")
            inner = parents + (id(value),)
            if isinstance(value, dict):
                for k, v in value.items():
                    if not isinstance(k, str):
                        raise ConfigError(f"{path}: config keys must be strings; found {short(k)}.")
                    stack.append((v, f"{path}.{k}", depth + 1, inner))
            else:
                for i, v in enumerate(value):
                    stack.append((v, f"{path}[{i}]", depth + 1, inner))
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            raise ConfigError(f"{path}: a config holds only strings, numbers, booleans, null, "
                              f"lists and dicts; found {type(value).__name__}.")


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


_REGISTERED_NAMES = {}


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable by name without `custom_objects`.

    Registers it in `jkeras.utils.get_custom_objects()` under `"package>name"`
    (Keras 3's registered name) and under the plain name (how Keras 2 configs
    and jkeras's own configs spell `class_name`).
    """
    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        store = registry.get_custom_objects()
        store[registered_name] = arg
        store[class_name] = arg
        _REGISTERED_NAMES[arg] = registered_name
        return arg
    return decorator


def get_registered_name(obj):
    """`"package>name"` for a registered object, else its Python name (as in Keras)."""
    return _REGISTERED_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or passed in `custom_objects`/`module_objects`) under `name`, else None."""
    for source in (custom_objects, registry.get_custom_objects(), module_objects):
        if source and name in source:
            return source[name]
    return None


def to_json(model, **kwargs):
    return json.dumps({**model_config(model), "keras_version": __version__, "backend": "jax"}, **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model from `to_json()`'s text; a bad text or config raises `ConfigError`."""
    config = parse_json(json_string, "model_from_json")
    check_config_tree(config, "model_from_json")
    return model_from_config(config, custom_objects, safe_mode, "model_from_json")


def parse_json(text, what):
    """`json.loads` whose failures (bad JSON, too deep, huge numbers) are `ConfigError`s."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{what}: the text is not UTF-8 ({error}).") from error
    if not isinstance(text, str):
        raise ConfigError(f"{what}: expected a JSON string; received {type(text).__name__}.")
    try:
        return json.loads(text)
    except RecursionError as error:
        raise ConfigError(f"{what}: the JSON is nested too deeply.") from error
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{what}: not valid JSON ({error}).") from error


def to_yaml(model, **kwargs):
    return yaml.safe_dump(model_config(model), **kwargs)


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=True):
    """Only YAML's safe subset is read: a file cannot construct Python objects.

    A Python tag (`!!python/object/apply:os.system`) raises `UnsafeLoadError`; bad YAML or
    config `ConfigError`.
    """
    if not isinstance(yaml_string, (str, bytes)) and not hasattr(yaml_string, "read"):
        raise ConfigError(f"model_from_yaml: expected a YAML string; received "
                          f"{type(yaml_string).__name__}.")
    try:
        config = yaml.safe_load(yaml_string)
    except yaml.constructor.ConstructorError as error:
        raise UnsafeLoadError("model_from_yaml reads only safe YAML: the text asks to construct a "
                              f"Python object ({error.problem}), which could run code, so it is "
                              "refused.") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"model_from_yaml: not valid (safe) YAML ({error}).") from error
    except RecursionError as error:
        raise ConfigError("model_from_yaml: the YAML is nested too deeply.") from error
    except (ValueError, TypeError, OverflowError) as error:  # e.g. a huge int, a bad timestamp
        raise ConfigError(f"model_from_yaml: a value cannot be read ({error}).") from error
    check_config_tree(config, "model_from_yaml")
    return model_from_config(config, custom_objects, safe_mode, "model_from_yaml")


@contextlib.contextmanager
def custom_object_scope(*scopes):
    """Make `{name: object}` dicts visible to every load inside the block."""
    store = registry.get_custom_objects()
    saved = dict(store)
    for scope in scopes:
        store.update(scope)
    try:
        yield store
    finally:
        store.clear()
        store.update(saved)


class CustomObjectScope:
    """`with CustomObjectScope({'MyLayer': MyLayer}): load_model(...)`, as in Keras."""

    def __init__(self, *scopes):
        self._scopes = scopes
        self._context = None

    def __enter__(self):
        self._context = custom_object_scope(*self._scopes)
        return self._context.__enter__()

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

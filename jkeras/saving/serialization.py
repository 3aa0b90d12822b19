"""Model and layer configs: Keras's `{"class_name", "config"}` JSON, both ways.

jkeras writes the Keras 2 (tf.keras) layout — `batch_input_shape`, legacy
`inbound_nodes` lists — because both tf.keras 2 and Keras 3 read it; it reads
that layout and Keras 3's (`batch_shape`, `DTypePolicy` dicts,
`__keras_tensor__` node args, flat `output_layers`, mask ops).

Layer configs are written in tf.keras 2's form too (`keras2_config`): a Lambda's
function with tf.keras 2's `function_type`, MultiHeadAttention with its input shapes and
its call's value and key as keyword arguments, Keras 3's new keys left out where they hold
their default. Only MultiHeadAttention has no form Keras 3's reader loads as well.

Nested models: in the legacy node lists, tf.keras 2 counts the calls of a nested
model that has an InputLayer from 1 (node 0 links the model's own input to its
output), Keras 3 from 0. A nested Sequential is therefore written without its
InputLayer (its input comes from the call; tf.keras 2 writes it so when it was
never given an input shape) and counted from 0, which all three read. A nested
Functional model always has its Inputs, so it is written with tf.keras 2's
numbering: it loads in tf.keras and jkeras; Keras 3 cannot load it (its own
legacy reader's limitation, the same for tf.keras 2's files) but loads its weights.
"""
import contextlib
import contextvars
import inspect
import json
import math

import yaml

from jkeras.backend.keras_tensor import KerasTensor
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



def layer_classes():
    """`{class name: class}` of every public layer and model class, with Keras's aliases."""
    from jkeras import layers, models
    known = {n: c for n, c in vars(layers).items() if isinstance(c, type) and issubclass(c, layers.Layer)}
    known.update(Sequential=models.Sequential, Functional=models.Functional, Model=models.Functional)
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
    """The `{"class_name", "config"}` of a model, as `model_config` and `to_json` hold it."""
    from jkeras.models import Sequential
    if isinstance(model, Sequential):
        return {"class_name": "Sequential", "config": {
            "name": model.name,
            "layers": [_layer_entry(layer) for layer in _sequential_layers(model)]}}
    if not hasattr(model, "_nodes"):
        raise NotImplementedError(
            f"Model '{model.name}' is a subclassed model: its architecture is Python code, so it "
            "cannot be written as a config. Save its weights with save_weights() instead.")
    from jkeras.models import Functional
    if type(model) is Functional:
        return {"class_name": "Functional", "config": functional_config(model)}
    # a functional subclass (`class Net(Model)`) is written under its own name, as tf.keras 2
    # does, with the whole graph (and whatever its own get_config adds)
    return {"class_name": get_registered_name(type(model)), "config": model.get_config()}


def _sequential_layers(model):
    """The InputLayer (once the input shape is known) and the stack, as Keras 2 lists them."""
    first = [model._input_layer] if getattr(model, "_input_layer", None) is not None else []
    return first + list(model._stack)


def _layer_entry(layer):
    if hasattr(layer, "_nodes") or hasattr(layer, "_stack"):
        return model_config(layer)
    return serialize_layer(layer)


def _nested_entry(layer):
    """A layer of a Functional model's config; a nested Sequential without its InputLayer
    (see the module docstring)."""
    if not hasattr(layer, "_stack"):
        return _layer_entry(layer)
    return {"class_name": "Sequential", "config": {
        "name": layer.name, "layers": [_layer_entry(inner) for inner in layer._stack]}}


def _counts_from_one(layer):
    """Whether tf.keras 2 numbers this layer's calls from 1: a model with its InputLayer."""
    from jkeras.models import Sequential
    if isinstance(layer, Sequential):
        return False  # written without its InputLayer (`_nested_entry`)
    return hasattr(layer, "_nodes")


def functional_config(model):
    """Keras 2's Functional config: layers with their inbound nodes, input/output refs."""
    own = {id(n) for n in model._nodes} | {id(t._keras_history[0]._inbound_nodes[0])
                                          for t in model.inputs}

    def node_index(layer, node):
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        return nodes.index(node) + int(_counts_from_one(layer))

    def ref(tensor):
        layer, index, tensor_index = tensor._keras_history
        return [layer.name, node_index(layer, layer._inbound_nodes[index]), tensor_index]

    def tensor_refs(value):
        """A call's keyword argument as tf.keras 2 writes it: each tensor as its reference
        (`mha(q, value=v)`, `attention_mask=m`, an RNN's `initial_state=[h, c]`)."""
        if isinstance(value, KerasTensor):
            return ref(value)
        if isinstance(value, (list, tuple)):
            return [tensor_refs(v) for v in value]
        if isinstance(value, dict):
            return {k: tensor_refs(v) for k, v in value.items()}
        return value

    layers = []
    for layer in model.layers:
        entry = _nested_entry(layer)
        entry["name"] = layer.name
        inbound = []
        names = getattr(layer, "call_input_names", None)
        for node in layer._inbound_nodes:
            if id(node) not in own or not node.parent_tensors:
                continue
            kwargs = {k: tensor_refs(v) for k, v in node.kwargs.items()}
            if names and isinstance(node.inputs, (list, tuple)) and len(node.inputs) > 1:
                # `mha(query, value, key)`, as tf.keras 2 writes a call: the first argument
                # is the inbound tensor, the others are keyword arguments
                kwargs.update({k: ref(t) for k, t in zip(names[1:], node.inputs[1:])})
                inbound.append([ref(node.inputs[0]) + [kwargs]])
                continue
            inbound.append([ref(t) + [kwargs] for t in _flat(node.inputs)])
        entry["inbound_nodes"] = inbound
        layers.append(entry)
    # One input (output) is written as a bare `[name, node, index]`: tf.keras unwraps a
    # one-element list anyway, but Keras 3 would make the model return a list of one, which
    # breaks the next layer when the model is nested.
    inputs, outputs = [ref(t) for t in model.inputs], [ref(t) for t in model.outputs]
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": inputs[0] if len(inputs) == 1 else inputs,
            "output_layers": outputs[0] if len(outputs) == 1 else outputs}


def _flat(structure):
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _flat(v)]
    return [t for v in structure for t in _flat(v)]


def deserialize_layer(entry, custom_objects=None, safe_mode=True, path="config"):
    """A layer (or model) from `{"class_name", "config"}`; unknown classes fail clearly.

    `path` names where `entry` sits in the file's config (`model_config.config.layers[2]`);
    every error raised here is a `ConfigError` that names it.
    """
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ConfigError(f"{path}: a layer config must be a dict with 'class_name' and 'config'; "
                          f"received {_short(entry)}.")
    name = entry["class_name"]
    if not isinstance(name, str):
        raise ConfigError(f"{path}.class_name must be a string; received {_short(name)}.")
    where = _where(path, entry)
    classes = {**layer_classes(), **registry.get_custom_objects(), **(custom_objects or {})}
    registered = entry.get("registered_name")
    cls = classes.get(name) or (classes.get(registered) if isinstance(registered, str) else None)
    if cls is None:
        raise ConfigError(f"Unknown layer class '{name}' ({where}). Pass custom layers with "
                          f"custom_objects={{'{name}': {name}}} or CustomObjectScope.")
    config = entry.get("config", {})
    from jkeras.models import Functional, Sequential
    with _converting(where):
        if isinstance(cls, type) and issubclass(cls, Sequential):  # Keras 2.2 wrote a bare list
            return _sequential_from_config(config, custom_objects, safe_mode, cls, f"{path}.config")
        if not isinstance(config, dict):
            raise ConfigError(f"The config of layer class '{name}' ({where}) must be a dict; "
                              f"received {type(config).__name__}.")
        if _rebuilds_graph(cls, config):
            return functional_from_config(config, custom_objects, safe_mode, cls, f"{path}.config")
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
    """Whether `cls` is built from the graph in `config`: a Model class (a functional subclass
    too, `Net(Model)` or `{"Net": Model}` in custom_objects) without a `from_config` of its own."""
    from jkeras.models import Model, Sequential
    if not (isinstance(cls, type) and issubclass(cls, Model)) or issubclass(cls, Sequential):
        return False
    own = getattr(cls.from_config, "__func__", None) is not Model.from_config.__func__
    return "layers" in config and "input_layers" in config and not own


def _short(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _where(path, entry):
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


@contextlib.contextmanager
def _converting(where):
    """Turn any failure while building from a config into a `ConfigError` naming `where`."""
    try:
        yield
    except (JkerasError, _NotYet):
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
    if not isinstance(layer, Layer) or hasattr(layer, "_nodes") or hasattr(layer, "_stack"):
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
                        raise ConfigError(f"{path}: config keys must be strings; found {_short(k)}.")
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


def _sequential_from_config(config, custom_objects, safe_mode, cls=None, path="config"):
    from jkeras.models import Sequential
    if isinstance(config, dict):
        entries = config.get("layers")
        if not isinstance(entries, list):
            raise ConfigError(f"{path}.layers must be a list of layer configs; received "
                              f"{_short(entries)}.")
        name = config.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{path}.name must be a string; received {_short(name)}.")
        prefix = f"{path}.layers"
    elif isinstance(config, list):
        entries, name, prefix = config, None, path
    else:
        raise ConfigError(f"{path}: a Sequential config must be a dict with 'layers' (or a list of "
                          f"layer configs); received {type(config).__name__}.")
    model = (cls or Sequential)(name=name)
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) and hasattr(entry, "get_config"):  # `get_config()` objects
            entry = _layer_entry(entry)
        layer = deserialize_layer(entry, custom_objects, safe_mode, f"{prefix}[{i}]")
        with _converting(_where(f"{prefix}[{i}]", entry)):
            model.add(layer)
    build_shape = config.get("build_input_shape") if isinstance(config, dict) else None
    if not model.built and build_shape:
        with _converting(f"{path}.build_input_shape"):
            model._ensure_built(tuple(build_shape))
    return model


class _NotYet(Exception):
    """A node refers to a layer call that has not been replayed yet."""


def _check_ref(ref, where):
    """`[name, node_index, tensor_index, ...]` with the right types, else ConfigError."""
    if (not isinstance(ref, (list, tuple)) or len(ref) < 3 or not isinstance(ref[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ref[1:3])):
        raise ConfigError(f"{where}: a tensor reference must be [layer name, node index, tensor "
                          f"index]; received {_short(ref)}.")
    if ref[1] < 0 or ref[2] < 0:
        raise ConfigError(f"{where}: a tensor reference has a negative index: {_short(ref)}.")
    return ref


def _check_functional(config, path):
    """The shape of a Functional config, checked before anything is built."""
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}.layers must be a list of layer configs; received {_short(entries)}.")
    names = set()
    for i, entry in enumerate(entries):
        where = f"{path}.layers[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a dict; received {_short(entry)}.")
        name = entry.get("name")
        if name is None and isinstance(entry.get("config"), dict):
            name = entry["config"].get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{where}.name must be a string; received {_short(name)}.")
        if name in names:
            raise ConfigError(f"{where}: two layers are named {name!r}.")
        names.add(name)
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise ConfigError(f"{where}.inbound_nodes must be a list; received {_short(nodes)}.")
        for j, node in enumerate(nodes):
            node_where = f"{where}.inbound_nodes[{j}]"
            if isinstance(node, dict):
                if not isinstance(node.get("args", []), list) or not isinstance(node.get("kwargs") or {}, dict):
                    raise ConfigError(f"{node_where}: a Keras 3 node needs list 'args' and dict "
                                      "'kwargs'.")
                continue
            if not isinstance(node, list):
                raise ConfigError(f"{node_where} must be a list of tensor references or a dict; "
                                  f"received {_short(node)}.")
            for k, item in enumerate(node):
                _check_ref(item, f"{node_where}[{k}]")
                if len(item) > 3 and not isinstance(item[3], dict):
                    raise ConfigError(f"{node_where}[{k}][3] (call arguments) must be a dict; "
                                      f"received {_short(item[3])}.")
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}.{key} must be a non-empty list of tensor references; "
                              f"received {_short(value)}.")
        for k, ref in enumerate(_refs(value)):
            _check_ref(ref, f"{path}.{key}[{k}]")


def functional_from_config(config, custom_objects=None, safe_mode=True, cls=None, path="config"):
    """Rebuild a Functional model by replaying its layer calls, as Keras does.

    Keras 3 also records the ops its layers run on symbolic masks (`NotEqual`,
    `Any` from `keras.src.ops`) as graph nodes and passes their results as
    `mask=`; jkeras propagates masks itself, so those nodes and arguments are
    dropped. An op that feeds anything but a mask has no jkeras counterpart and
    fails as an unknown layer class.
    """
    from jkeras.models import Functional
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a Functional config must be a dict; received {_short(config)}.")
    _check_functional(config, path)
    model_name = config.get("name")
    if model_name is not None and not isinstance(model_name, str):
        raise ConfigError(f"{path}.name must be a string; received {_short(model_name)}.")
    created, pending = {}, []
    with _converting(f"{path}.layers"):
        ops = _mask_ops(config, custom_objects)
    for i, entry in enumerate(config["layers"]):
        name = entry.get("name") or entry["config"]["name"]
        if name in ops:
            continue
        layer = deserialize_layer(entry, custom_objects, safe_mode, f"{path}.layers[{i}]")
        created[name] = layer
        for j, node_data in enumerate(entry.get("inbound_nodes", [])):
            pending.append((layer, node_data, f"{path}.layers[{i}].inbound_nodes[{j}]"))
    # Node indices of nested models. Keras 2 (tf.keras) counts a model built from an input
    # as owning node 0 (its `_should_skip_first_node`), in node references and in
    # input/output references alike. Keras 3 writes raw call indices in node arguments and
    # adds 1 for Functional (not Sequential) models only in input/output references.
    keras3 = any(isinstance(n, dict) for e in config["layers"] for n in e.get("inbound_nodes", []))
    node_offset, io_offset = {}, {}
    for name, layer in created.items():
        is_model = hasattr(layer, "_stack") or hasattr(layer, "_nodes")
        if keras3:
            node_offset[name] = 0
            io_offset[name] = int(is_model and not hasattr(layer, "_stack"))
        else:
            node_offset[name] = io_offset[name] = int(is_model and bool(layer.built))

    def tensor(name, node_index, tensor_index, io=False):
        if not isinstance(name, str) or name not in created:
            raise ConfigError(f"The model config refers to unknown layer {_short(name)}.")
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                   for i in (node_index, tensor_index)):
            raise ConfigError(f"The model config refers to layer '{name}' with indices "
                              f"{_short(node_index)}, {_short(tensor_index)}: not non-negative integers.")
        layer = created[name]
        index = node_index - (io_offset if io else node_offset)[name]
        if index < 0:
            raise ConfigError(f"The model config refers to call {node_index} of layer '{name}', "
                              "which does not exist.")
        if index >= len(layer._inbound_nodes):
            if io:
                raise ConfigError(f"The model config refers to call {node_index} of layer "
                                  f"'{name}', which never happens.")
            raise _NotYet(name)
        outputs = _flat(layer._inbound_nodes[index].outputs)
        if tensor_index >= len(outputs):
            raise ConfigError(f"Layer '{name}' has {len(outputs)} outputs; the config asks for "
                              f"output {tensor_index}.")
        return outputs[tensor_index]

    while pending:
        progress, waiting, blocked = False, [], set()
        for layer, node_data, where in pending:
            if id(layer) in blocked:  # a layer's calls replay in their recorded order
                waiting.append((layer, node_data, where))
                continue
            try:
                with _converting(f"{where} (call of layer '{layer.name}')"):
                    args, kwargs = _node_call(node_data, tensor, ops, created)
            except _NotYet:
                waiting.append((layer, node_data, where))
                blocked.add(id(layer))
                continue
            with _converting(f"{where} (call of layer '{layer.name}')"):
                layer(args, **kwargs)
            progress = True
        if not progress:
            raise ConfigError(f"Invalid functional model config ({path}): its graph has a cycle or "
                              "refers to layer calls that never happen "
                              f"({sorted({l.name for l, _, _ in waiting})}).")
        pending = waiting
    with _converting(f"{path}.input_layers"):
        inputs = [tensor(*ref[:3], io=True) for ref in _refs(config["input_layers"])]
    with _converting(f"{path}.output_layers"):
        outputs = [tensor(*ref[:3], io=True) for ref in _refs(config["output_layers"])]
    with _converting(f"{path} (connecting inputs to outputs)"):
        return _functional_of_class(cls or Functional, inputs if len(inputs) > 1 else inputs[0],
                                    outputs if len(outputs) > 1 else outputs[0], model_name)


def _functional_of_class(cls, inputs, outputs, name):
    """`cls(inputs, outputs, name=name)` when `cls`'s constructor takes a graph (Model,
    Functional, a subclass keeping their signature or `*args, **kwargs`); for a functional
    subclass with a constructor of its own (`Net(inputs, blocks)`) the instance is made
    without calling it, from the saved graph: attributes its `__init__` sets are not there."""
    from jkeras.models import Functional
    from jkeras.models.model import functional_subclass
    params = inspect.signature(cls.__init__).parameters
    kinds = {p.kind for p in params.values()}
    if ({"inputs", "outputs"} <= set(params) or inspect.Parameter.VAR_POSITIONAL in kinds
            or cls is Functional):
        return cls(inputs, outputs, name=name)
    model = object.__new__(functional_subclass(cls))
    Functional.__init__(model, inputs, outputs, name=name)
    return model


def _mask_ops(config, custom_objects):
    """Names of Keras 3 op nodes (unknown classes) whose results only ever serve as `mask=`."""
    known = {**layer_classes(), **registry.get_custom_objects(), **(custom_objects or {})}
    ops = {e.get("name") for e in config["layers"]
           if e.get("class_name") not in known and e.get("registered_name") not in known}
    if not ops:
        return ops
    as_input = {}  # op name -> names of the entries that read it other than as a mask

    def visit(x, reader, masked):
        if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
            if not masked:
                as_input.setdefault(x["config"]["keras_history"][0], set()).add(reader)
        elif isinstance(x, dict):
            for k, v in x.items():
                visit(v, reader, masked)
        elif isinstance(x, list):
            for v in x:
                visit(v, reader, masked)

    for entry in config["layers"]:
        for node in entry.get("inbound_nodes", []):
            if not isinstance(node, dict):
                return set()  # Keras 2 configs have no op nodes
            visit(node.get("args", []), entry.get("name"), False)
            for k, v in (node.get("kwargs") or {}).items():
                visit(v, entry.get("name"), k == "mask")
    for ref in _refs(config["output_layers"]):
        as_input.setdefault(ref[0], set()).add(None)
    changed = True
    while changed:
        keep = {op for op in ops if as_input.get(op, set()) <= ops}
        changed, ops = keep != ops, keep
    return ops


def _refs(value):
    """`[[name, node, index], ...]` from Keras 2's list of lists or Keras 3's flat triple."""
    if len(value) == 3 and isinstance(value[0], str):
        return [value]
    return value


def _node_call(node_data, tensor, ops=(), names=()):
    """`(inputs, kwargs)` of one recorded call, in Keras 2's or Keras 3's node format.

    `names` are the model's layer names: in Keras 2's format a `[name, node, index]` list
    among the kwargs whose name is one of them is a tensor reference.
    In Keras 3's format the recorded `training` is dropped: Keras 3 overrides it
    with the mode of each run (jkeras would pin it), and `mask=` from Keras 3's
    mask ops is left to jkeras's own mask propagation.
    """
    if isinstance(node_data, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        def from_op(x):
            return (isinstance(x, dict) and x.get("class_name") == "__keras_tensor__"
                    and x["config"]["keras_history"][0] in ops)

        def revive(x):
            if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
                return tensor(*x["config"]["keras_history"])
            if isinstance(x, list):
                return [revive(v) for v in x]
            if isinstance(x, dict):
                return {k: revive(v) for k, v in x.items()}
            return x
        args = revive(node_data.get("args", []))
        kwargs = {k: v for k, v in (node_data.get("kwargs") or {}).items()
                  if k != "training" and not (k == "mask" and from_op(v))}
        kwargs = revive(kwargs)
        return (args[0] if len(args) == 1 else args), kwargs
    def revive_refs(x):  # tf.keras 2 writes a tensor in the call's kwargs as its reference
        if (isinstance(x, list) and len(x) == 3 and x[0] in names
                and all(isinstance(i, int) and not isinstance(i, bool) for i in x[1:])):
            return tensor(*x)
        if isinstance(x, list):
            return [revive_refs(v) for v in x]
        if isinstance(x, dict):
            return {k: revive_refs(v) for k, v in x.items()}
        return x
    inputs = [tensor(*item[:3]) for item in node_data]
    kwargs = revive_refs(dict(node_data[0][3])) if node_data and len(node_data[0]) > 3 else {}
    return (inputs[0] if len(inputs) == 1 else inputs), kwargs


def model_from_config(config, custom_objects=None, safe_mode=True, path="config"):
    """A model (or layer) from `{"class_name", "config"}`, as `model_from_json` reads it.

    `custom_objects` are visible to everything built on the way (a custom
    activation inside a Dense config, a custom layer inside a wrapper), as in Keras.
    Every failure is a `jkeras.errors.ConfigError` naming the config path at fault.
    """
    token = _built_weights.set([0]) if _built_weights.get() is None else None
    try:
        with custom_object_scope(custom_objects or {}), _converting(path):
            return deserialize_layer(config, custom_objects, safe_mode, path)
    finally:
        if token is not None:
            _built_weights.reset(token)


def model_from_class_config(cls, config, custom_objects=None, safe_mode=True):
    """What `Model.from_config`, `Functional.from_config` and `Sequential.from_config` return.

    `config` is what the model's `get_config()` gives (Keras 2's inner config:
    `{"name", "layers", "input_layers", "output_layers"}` for functional models,
    `{"name", "layers"}` or a plain list of layers for Sequential); the outer
    `{"class_name", "config"}` form is accepted too. A subclassed model is built
    as `cls(**config)`, as Keras does.
    """
    from jkeras.models import Sequential
    if isinstance(config, dict) and "class_name" in config and isinstance(config.get("config"), (dict, list)):
        config = config["config"]
    with custom_object_scope(custom_objects or {}), _converting(f"{cls.__name__}.from_config"):
        if issubclass(cls, Sequential) or isinstance(config, list):
            return _sequential_from_config(config, custom_objects, safe_mode,
                                           cls if issubclass(cls, Sequential) else None)
        if isinstance(config, dict) and "layers" in config and "input_layers" in config:
            return functional_from_config(config, custom_objects, safe_mode, cls)
        if not isinstance(config, dict):
            raise ConfigError(f"{cls.__name__}.from_config needs a dict config; received "
                              f"{_short(config)}.")
        try:
            return cls(**config)
        except TypeError as error:
            raise ConfigError(f"{cls.__name__}.from_config could not build the model from its "
                             f"config ({error}). A subclassed model needs a get_config() that "
                             "returns its constructor arguments.") from error


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

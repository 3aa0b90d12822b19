"""Model and layer configs: Keras's `{"class_name", "config"}` JSON, both ways.

jkeras writes the Keras 2 (tf.keras) layout — `batch_input_shape`, legacy
`inbound_nodes` lists — because both tf.keras 2 and Keras 3 read it; it reads
that layout and Keras 3's (`batch_shape`, `DTypePolicy` dicts,
`__keras_tensor__` node args, flat `output_layers`).
"""
import contextlib
import inspect
import json

import yaml

from jkeras.backend.keras_tensor import KerasTensor
from jkeras.utils import registry

# Keys Keras 3 (or tf.keras) writes that carry nothing jkeras uses.
_IGNORED_KEYS = ("quantization_config", "lora_rank", "lora_alpha", "lora_enabled", "build_config",
                 "compile_config", "module", "registered_name", "optional", "time_major", "implementation")


def layer_classes():
    """`{class name: class}` of every public layer and model class, with Keras's aliases."""
    from jkeras import layers, models
    known = {n: c for n, c in vars(layers).items() if isinstance(c, type) and issubclass(c, layers.Layer)}
    known.update(Sequential=models.Sequential, Functional=models.Functional, Model=models.Functional)
    return known


def serialize_layer(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def model_config(model):
    """The `{"class_name", "config"}` of a model, as `model_config` and `to_json` hold it."""
    from jkeras.models import Sequential
    if isinstance(model, Sequential):
        return {"class_name": "Sequential", "config": {
            "name": model.name,
            "layers": [_layer_entry(layer) for layer in model.get_config()["layers"]]}}
    if not hasattr(model, "_nodes"):
        raise NotImplementedError(
            f"Model '{model.name}' is a subclassed model: its architecture is Python code, so it "
            "cannot be written as a config. Save its weights with save_weights() instead.")
    return {"class_name": "Functional", "config": functional_config(model)}


def _layer_entry(layer):
    if hasattr(layer, "_nodes") or hasattr(layer, "_stack"):
        return model_config(layer)
    return serialize_layer(layer)


def functional_config(model):
    """Keras 2's Functional config: layers with their inbound nodes, input/output refs."""
    own = {id(n) for n in model._nodes} | {id(t._keras_history[0]._inbound_nodes[0])
                                          for t in model.inputs}

    def node_index(layer, node):
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        offset = 1 if hasattr(layer, "_nodes") else 0  # Keras models own a node of their own
        return nodes.index(node) + offset

    def ref(tensor):
        layer, index, tensor_index = tensor._keras_history
        return [layer.name, node_index(layer, layer._inbound_nodes[index]), tensor_index]

    layers = []
    for layer in model.layers:
        entry = _layer_entry(layer)
        entry["name"] = layer.name
        inbound = []
        for node in layer._inbound_nodes:
            if id(node) not in own or not node.parent_tensors:
                continue
            kwargs = {k: v for k, v in node.kwargs.items() if not isinstance(v, KerasTensor)}
            inbound.append([ref(t) + [kwargs] for t in _flat(node.inputs)])
        entry["inbound_nodes"] = inbound
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable, "layers": layers,
            "input_layers": [ref(t) for t in model.inputs],
            "output_layers": [ref(t) for t in model.outputs]}


def _flat(structure):
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _flat(v)]
    return [t for v in structure for t in _flat(v)]


def deserialize_layer(entry, custom_objects=None, safe_mode=True):
    """A layer (or model) from `{"class_name", "config"}`; unknown classes fail clearly."""
    if not isinstance(entry, dict) or "class_name" not in entry:
        raise ValueError(f"A layer config must be a dict with 'class_name' and 'config'; received "
                         f"{str(entry)[:200]!r}.")
    name = entry["class_name"]
    classes = {**layer_classes(), **registry.get_custom_objects(), **(custom_objects or {})}
    cls = classes.get(name) or classes.get(entry.get("registered_name") or "")
    if cls is None:
        raise ValueError(f"Unknown layer class '{name}'. Pass custom layers with "
                         f"custom_objects={{'{name}': {name}}} or CustomObjectScope.")
    config = entry.get("config", {})
    if not isinstance(config, dict):
        raise ValueError(f"The config of layer class '{name}' must be a dict; received "
                         f"{type(config).__name__}.")
    if name in ("Sequential",):
        return _sequential_from_config(config, custom_objects, safe_mode)
    if name in ("Functional", "Model") and "layers" in config:
        return functional_from_config(config, custom_objects, safe_mode)
    config = {k: v for k, v in config.items() if k not in _IGNORED_KEYS}
    options = inspect.signature(cls.from_config).parameters
    extra = {k: v for k, v in (("custom_objects", custom_objects), ("safe_mode", safe_mode))
             if k in options}
    try:
        return cls.from_config(config, **extra)
    except TypeError as error:
        raise ValueError(f"Could not build layer class '{name}' from its config: {error}") from error


def _sequential_from_config(config, custom_objects, safe_mode):
    from jkeras.models import Sequential
    entries = config["layers"] if isinstance(config, dict) else config
    model = Sequential(name=config.get("name") if isinstance(config, dict) else None)
    for entry in entries:
        layer = deserialize_layer(entry, custom_objects, safe_mode)
        model.add(layer)
    build_shape = config.get("build_input_shape") if isinstance(config, dict) else None
    if not model.built and build_shape:
        model._ensure_built(tuple(build_shape))
    return model


def functional_from_config(config, custom_objects=None, safe_mode=True):
    """Rebuild a Functional model by replaying its layer calls, as Keras does."""
    from jkeras.models import Functional
    created, pending = {}, []
    for entry in config["layers"]:
        layer = deserialize_layer(entry, custom_objects, safe_mode)
        created[entry["name"]] = layer
        for node_data in entry.get("inbound_nodes", []):
            pending.append((layer, node_data))
    offset = {name: 1 if hasattr(layer, "_nodes") else 0 for name, layer in created.items()}

    def tensor(name, node_index, tensor_index):
        if name not in created:
            raise ValueError(f"The model config refers to unknown layer '{name}'.")
        layer = created[name]
        index = node_index - offset[name]
        if index >= len(layer._inbound_nodes):
            raise IndexError(name)
        outputs = _flat(layer._inbound_nodes[index].outputs)
        if tensor_index >= len(outputs):
            raise ValueError(f"Layer '{name}' has {len(outputs)} outputs; the config asks for "
                             f"output {tensor_index}.")
        return outputs[tensor_index]

    while pending:
        progress, waiting = False, []
        for layer, node_data in pending:
            try:
                args, kwargs = _node_call(node_data, tensor)
            except IndexError:
                waiting.append((layer, node_data))
                continue
            layer(args, **kwargs)
            progress = True
        if not progress:
            raise ValueError("Invalid functional model config: its graph has a cycle or refers to "
                             f"layer calls that never happen ({[l.name for l, _ in waiting]}).")
        pending = waiting
    inputs = [tensor(*ref[:3]) for ref in _refs(config["input_layers"])]
    outputs = [tensor(*ref[:3]) for ref in _refs(config["output_layers"])]
    return Functional(inputs if len(inputs) > 1 else inputs[0],
                      outputs if len(outputs) > 1 else outputs[0], name=config.get("name"))


def _refs(value):
    """`[[name, node, index], ...]` from Keras 2's list of lists or Keras 3's flat triple."""
    if len(value) == 3 and isinstance(value[0], str):
        return [value]
    return value


def _node_call(node_data, tensor):
    """`(inputs, kwargs)` of one recorded call, in Keras 2's or Keras 3's node format."""
    if isinstance(node_data, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
        def revive(x):
            if isinstance(x, dict) and x.get("class_name") == "__keras_tensor__":
                return tensor(*x["config"]["keras_history"])
            if isinstance(x, list):
                return [revive(v) for v in x]
            if isinstance(x, dict):
                return {k: revive(v) for k, v in x.items()}
            return x
        args = revive(node_data.get("args", []))
        kwargs = revive(node_data.get("kwargs", {}))
        return (args[0] if len(args) == 1 else args), kwargs
    inputs = [tensor(*item[:3]) for item in node_data]
    kwargs = dict(node_data[0][3]) if node_data and len(node_data[0]) > 3 else {}
    return (inputs[0] if len(inputs) == 1 else inputs), kwargs


def model_from_config(config, custom_objects=None, safe_mode=True):
    return deserialize_layer(config, custom_objects, safe_mode)


def to_json(model, **kwargs):
    from jkeras import __version__
    return json.dumps({**model_config(model), "keras_version": __version__, "backend": "jax"}, **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model_from_json: not valid JSON ({error}).") from error
    return model_from_config(config, custom_objects, safe_mode)


def to_yaml(model, **kwargs):
    return yaml.safe_dump(model_config(model), **kwargs)


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=True):
    """Only YAML's safe subset is read: a file cannot construct Python objects."""
    try:
        config = yaml.safe_load(yaml_string)
    except yaml.YAMLError as error:
        raise ValueError(f"model_from_yaml: not valid (safe) YAML ({error}).") from error
    return model_from_config(config, custom_objects, safe_mode)


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

"""A functional model's config, both ways: Keras 2's layers with their inbound nodes and the
input/output references (`Functional.get_config`), and the model rebuilt from it by replaying
the layer calls (`Model.from_config`, `load_model`), reading Keras 3's node format too.

Nested models: in the legacy node lists, tf.keras 2 counts the calls of a nested model that has
an InputLayer from 1 (node 0 links the model's own input to its output), Keras 3 from 0. A nested
Sequential is therefore written without its InputLayer (its input comes from the call; tf.keras 2
writes it so when it was never given an input shape) and counted from 0, which all three read. A
nested Functional model always has its Inputs, so it is written with tf.keras 2's numbering: it
loads in tf.keras and jkeras; Keras 3 cannot load it (its own legacy reader's limitation, the same
for tf.keras 2's files) but loads its weights. A model class says which numbering its calls take
in its `_config_node_offset` (1 for Functional, 0 for Sequential); a Sequential whose first
layer declares the input shape is built by loading it, so its calls are written from 1 too.
"""
import inspect

from jkeras.backend import registry
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.errors import ConfigError
from jkeras.models.model import functional_subclass
from jkeras.saving.config_safety import PassesConversion, converting, short
from jkeras.saving.serialization import config_entry, deserialize_layer, layer_classes, model_class


def _first_call_number(layer):
    """The number tf.keras 2 gives a nested model's first call: 1 when loading builds the model
    (its own input then makes node 0), as a Functional always and a Sequential whose first layer
    declares the input shape do; else 0."""
    return max(getattr(layer, "_config_node_offset", 0), int(getattr(layer, "loads_built", False)))


def functional_config(model):
    """Keras 2's Functional config: layers with their inbound nodes, input/output refs."""
    own = {id(n) for n in model._nodes} | {id(t._keras_history[0]._inbound_nodes[0])
                                          for t in model.inputs}

    def node_index(layer, node):
        nodes = [n for n in layer._inbound_nodes if id(n) in own]
        return nodes.index(node) + _first_call_number(layer)

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


def _nested_entry(layer):
    """A layer of a Functional model's config; a nested Sequential without its InputLayer
    (see the module docstring)."""
    nested = getattr(layer, "_nested_config", None)
    return nested() if nested is not None else config_entry(layer)


def _flat(structure):
    if isinstance(structure, KerasTensor):
        return [structure]
    if isinstance(structure, dict):
        return [t for v in structure.values() for t in _flat(v)]
    return [t for v in structure for t in _flat(v)]


class _NotYet(PassesConversion):
    """A node refers to a layer call that has not been replayed yet."""


def _check_ref(ref, where):
    """`[name, node_index, tensor_index, ...]` with the right types, else ConfigError."""
    if (not isinstance(ref, (list, tuple)) or len(ref) < 3 or not isinstance(ref[0], str)
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ref[1:3])):
        raise ConfigError(f"{where}: a tensor reference must be [layer name, node index, tensor "
                          f"index]; received {short(ref)}.")
    if ref[1] < 0 or ref[2] < 0:
        raise ConfigError(f"{where}: a tensor reference has a negative index: {short(ref)}.")
    return ref


def _check_functional(config, path):
    """The shape of a Functional config, checked before anything is built."""
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ConfigError(f"{path}.layers must be a list of layer configs; received {short(entries)}.")
    names = set()
    for i, entry in enumerate(entries):
        where = f"{path}.layers[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a dict; received {short(entry)}.")
        name = entry.get("name")
        if name is None and isinstance(entry.get("config"), dict):
            name = entry["config"].get("name")
        if not isinstance(name, str):
            raise ConfigError(f"{where}.name must be a string; received {short(name)}.")
        if name in names:
            raise ConfigError(f"{where}: two layers are named {name!r}.")
        names.add(name)
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            raise ConfigError(f"{where}.inbound_nodes must be a list; received {short(nodes)}.")
        for j, node in enumerate(nodes):
            node_where = f"{where}.inbound_nodes[{j}]"
            if isinstance(node, dict):
                if not isinstance(node.get("args", []), list) or not isinstance(node.get("kwargs") or {}, dict):
                    raise ConfigError(f"{node_where}: a Keras 3 node needs list 'args' and dict "
                                      "'kwargs'.")
                continue
            if not isinstance(node, list):
                raise ConfigError(f"{node_where} must be a list of tensor references or a dict; "
                                  f"received {short(node)}.")
            for k, item in enumerate(node):
                _check_ref(item, f"{node_where}[{k}]")
                if len(item) > 3 and not isinstance(item[3], dict):
                    raise ConfigError(f"{node_where}[{k}][3] (call arguments) must be a dict; "
                                      f"received {short(item[3])}.")
    for key in ("input_layers", "output_layers"):
        value = config.get(key)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{path}.{key} must be a non-empty list of tensor references; "
                              f"received {short(value)}.")
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
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a Functional config must be a dict; received {short(config)}.")
    _check_functional(config, path)
    model_name = config.get("name")
    if model_name is not None and not isinstance(model_name, str):
        raise ConfigError(f"{path}.name must be a string; received {short(model_name)}.")
    created, pending = {}, []
    with converting(f"{path}.layers"):
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
        if keras3:
            node_offset[name] = 0
            io_offset[name] = getattr(layer, "_config_node_offset", 0)
        else:
            node_offset[name] = io_offset[name] = int(getattr(layer, "is_graph_model", False)
                                                      and bool(layer.built))

    def tensor(name, node_index, tensor_index, io=False):
        if not isinstance(name, str) or name not in created:
            raise ConfigError(f"The model config refers to unknown layer {short(name)}.")
        if not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                   for i in (node_index, tensor_index)):
            raise ConfigError(f"The model config refers to layer '{name}' with indices "
                              f"{short(node_index)}, {short(tensor_index)}: not non-negative integers.")
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
                with converting(f"{where} (call of layer '{layer.name}')"):
                    args, kwargs = _node_call(node_data, tensor, ops, created)
            except _NotYet:
                waiting.append((layer, node_data, where))
                blocked.add(id(layer))
                continue
            with converting(f"{where} (call of layer '{layer.name}')"):
                layer(args, **kwargs)
            progress = True
        if not progress:
            raise ConfigError(f"Invalid functional model config ({path}): its graph has a cycle or "
                              "refers to layer calls that never happen "
                              f"({sorted({l.name for l, _, _ in waiting})}).")
        pending = waiting
    with converting(f"{path}.input_layers"):
        inputs = [tensor(*ref[:3], io=True) for ref in _refs(config["input_layers"])]
    with converting(f"{path}.output_layers"):
        outputs = [tensor(*ref[:3], io=True) for ref in _refs(config["output_layers"])]
    with converting(f"{path} (connecting inputs to outputs)"):
        return _functional_of_class(cls or model_class("Functional"),
                                    inputs if len(inputs) > 1 else inputs[0],
                                    outputs if len(outputs) > 1 else outputs[0], model_name)


def _functional_of_class(cls, inputs, outputs, name):
    """`cls(inputs, outputs, name=name)` when `cls`'s constructor takes a graph (Model,
    Functional, a subclass keeping their signature or `*args, **kwargs`); for a functional
    subclass with a constructor of its own (`Net(inputs, blocks)`) the instance is made
    without calling it, from the saved graph: attributes its `__init__` sets are not there."""
    functional = model_class("Functional")
    params = inspect.signature(cls.__init__).parameters
    kinds = {p.kind for p in params.values()}
    if ({"inputs", "outputs"} <= set(params) or inspect.Parameter.VAR_POSITIONAL in kinds
            or cls is functional):
        return cls(inputs, outputs, name=name)
    model = object.__new__(functional_subclass(cls))
    functional.__init__(model, inputs, outputs, name=name)
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

"""Keras 3's `model.weights.h5` layout (H5IOStore): `layers/<class-based key>/vars/<i>` (or, for a
subclassed model, `<attribute>/vars/<i>`), both directions.

Its group names come from Keras 3's attribute-order walk over the object graph (`dir(obj)`
order, class-name keys), which is reproduced here as it is: it is the file format. jkeras
writes this layout for a file name ending in `.weights.h5`, the name under which Keras 3 and
tf.keras 2.13+ expect it, and reads it from any name, told apart by its structure.
"""
import re

import h5py
import numpy as np

from jkeras.errors import FileFormatError
from jkeras.saving.h5_io import (assign_all, atomic_file, decode_text, file_part, member, path_of, read_attr,
                                 queue_or_skip, read_dataset, shape_of)


def is_keras3_weights_file(f):
    """Keras 3's H5IOStore layout: `layers/<class-based key>/vars/<i>` (or, for a subclassed
    model, `<attribute>/vars/<i>`) and a root `vars` group; no `layer_names`."""
    with file_part("the file's root group"):
        if any(k.startswith("layer_names") for k in f.attrs) or "model_weights" in f:
            return False
    return (isinstance(member(f, "layers", (h5py.Group, h5py.Dataset)), h5py.Group)
            or isinstance(member(f, "vars", (h5py.Group, h5py.Dataset)), h5py.Group))


def _keras_snake(name):
    """Keras 3's `naming.to_snake_case`, which names the file's groups after layer classes."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_graph_model(layer):
    """Whether Keras 3 walks `layer` as a Functional/Sequential model (its `layers` first)."""
    return getattr(layer, "is_graph_model", False)


def _container_keys(items):
    """Keras 3's group names for a list: class name in snake case, `_1`, `_2`, ... on repeats."""
    used, keys = {}, []
    for item in items:
        base = _keras_snake(type(item).__name__)
        if base in used:
            used[base] += 1
            keys.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            keys.append(base)
    return keys


def _children(obj):
    """`[(relative path, sublayer)]` in the order Keras 3's walk visits them.

    Functional and Sequential models list `layers` first; then come the attributes
    holding layers (or lists of layers) by name, as Keras walks `dir(obj)`. So a
    `Bidirectional` gives `backward_layer` before `forward_layer`, an LSTM its `cell`.
    """
    from jkeras.layers import Layer
    out = []
    if _is_graph_model(obj):
        layers = list(obj.layers)
        out += [(f"layers/{key}", layer) for layer, key in zip(layers, _container_keys(layers))]
    for attr in sorted(vars(obj)):
        if attr.startswith("_") or attr == "layers":
            continue
        value = vars(obj)[attr]
        if isinstance(value, Layer):
            out.append((attr, value))
        elif isinstance(value, (list, tuple, dict)):
            items = [v for v in (value.values() if isinstance(value, dict) else value)
                     if isinstance(v, Layer)]
            out += [(f"{attr}/{key}", v) for v, key in zip(items, _container_keys(items))]
    return out


def _walk_objects(obj, path, seen):
    """`(object, group path)` for `obj` and everything it holds, in Keras 3's walk order;
    an object reached twice (a shared layer) is visited at its first path only."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    yield obj, path
    for rel, child in _children(obj):
        yield from _walk_objects(child, f"{path}/{rel}" if path else rel, seen)


def _own_variables(obj):
    """Keras 3's `save_own_variables` order: own trainable variables, then own non-trainable."""
    own = list(obj._variables.values())
    return [v for v in own if v._trainable] + [v for v in own if not v._trainable]


def _variable_paths(obj, path, seen):
    """`[(variable, dataset path)]` for `obj` and what it holds: `<path>/vars/<i>`."""
    return [(v, f"{p}/vars/{i}" if p else f"vars/{i}")
            for o, p in _walk_objects(obj, path, seen) for i, v in enumerate(_own_variables(o))]


def write_keras3_weights(f, model):
    """Keras 3's `model.weights.h5` layout, which Keras 3 and tf.keras 2.13+ load by that name."""
    for obj, path in _walk_objects(model, "", set()):
        group = f.create_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = obj.name
        for i, v in enumerate(_own_variables(obj)):
            group.create_dataset(str(i), data=v.numpy())


def save_weights(model, filepath, overwrite=True):
    """Weights only, in Keras 3's `model.weights.h5` layout."""
    with atomic_file(filepath, overwrite) as f:
        write_keras3_weights(f, model)


def _store_name(group):
    vars_ = member(group, "vars", h5py.Group) if isinstance(group, h5py.Group) else None
    name = read_attr(vars_, "name") if vars_ is not None else None
    if isinstance(name, np.ndarray) and name.shape == ():
        name = name[()]
    if isinstance(name, (bytes, np.bytes_)):
        return decode_text(name, f"attribute 'name' of '{path_of(vars_)}'")
    return name if isinstance(name, str) else None


def _get(f, path, kind):
    """`f[path]` if every step is a hard link and the end is a `kind`, else None."""
    node = f
    for step in [p for p in path.split("/") if p]:
        if not isinstance(node, h5py.Group):
            return None
        node = member(node, step, (h5py.Group, h5py.Dataset))
        if node is None:
            return None
    return node if isinstance(node, kind) else None


def _units(f, model, by_name):
    """`(layer, group path)` for each layer loaded as one piece; nested graph models unfold.

    In a Functional/Sequential model, groups are named after layer classes and numbered
    by occurrence in `model.layers` (`dense`, `dense_1`, ...), exactly as Keras 3 names
    them, so layers match by position within their class. `by_name=True` matches the
    layer names Keras 3 keeps in each group's `vars/@name` instead.
    """
    def walk(obj, prefix):
        children = _children(obj)
        if by_name and _is_graph_model(obj):
            container = _get(f, prefix + "layers", h5py.Group)
            named = {}
            if container is not None:
                for k in container:
                    sub = member(container, k, (h5py.Group, h5py.Dataset))
                    if isinstance(sub, h5py.Group):
                        named[_store_name(sub)] = f"{prefix}layers/{k}"
            children = [(named[layer.name][len(prefix):], layer) for _, layer in children
                        if layer.name in named]
        for rel, child in children:
            if _is_graph_model(child) and _get(f, prefix + rel + "/layers", h5py.Group) is not None:
                yield from walk(child, prefix + rel + "/")
            else:
                yield child, prefix + rel

    return list(walk(model, ""))


def _var_key(key, where):
    if not key.isdigit():
        raise FileFormatError(f"{where} holds '{key}'; a `vars` group holds datasets named 0, 1, 2, ...")
    return int(key)


def _flat_datasets(group):
    """A group's datasets in a plain walk (own `vars` by index, then sub-groups by name)."""
    out = []
    vars_ = member(group, "vars", h5py.Group)
    if vars_ is not None:
        where = f"group '{path_of(vars_)}'"
        for k in sorted(vars_, key=lambda k: _var_key(k, where)):
            ds = member(vars_, k, (h5py.Dataset, h5py.Group))
            if not isinstance(ds, h5py.Dataset):
                raise FileFormatError(f"{where}: '{k}' is a group; expected a dataset.")
            out.append(ds)
    for key in sorted(k for k in group if k != "vars"):
        sub = member(group, key, (h5py.Group, h5py.Dataset))
        if isinstance(sub, h5py.Group):
            out += _flat_datasets(sub)
    return out


def _unit_values(f, layer, path, seen):
    """`(values in layer.weights order, None)` or `(None, what does not fit)`.

    Shapes are compared before any dataset is read."""
    expected = {id(w) for w in layer.weights}
    pairs = [(v, p) for v, p in _variable_paths(layer, path, seen) if id(v) in expected]
    order = [v for v, _ in pairs]
    shapes = [w.shape for w in order]
    found = [_get(f, p, h5py.Dataset) for _, p in pairs]
    if len(order) == len(expected) and all(ds is not None for ds in found):
        datasets = found
    elif _get(f, path, h5py.Group) is not None:
        # jkeras holds this layer's weights in another object layout than Keras 3:
        # fall back to the order of the file's own walk.
        order, shapes = list(layer.weights), [w.shape for w in layer.weights]
        datasets = _flat_datasets(_get(f, path, h5py.Group))
    else:
        return None, f"The file has no weights for layer '{layer.name}' (looked for '{path}')."
    got = [shape_of(ds) for ds in datasets]
    if got != shapes:
        return None, (f"Layer '{layer.name}' expects weights of shapes {shapes}; the file has "
                      f"{got} under '{path}'.")
    by_id = {id(w): read_dataset(ds, w) for w, ds in zip(order, datasets)}
    return [by_id[id(w)] for w in layer.weights], None


def load_keras3_weights(f, model, by_name=False, skip_mismatch=False):
    """Weights from Keras 3's `model.weights.h5` (H5IOStore) layout, mapped along the
    same object graph Keras 3 walks to write it; checks everything, then assigns."""
    seen, assignments, used = set(), [], set()
    for layer, path in _units(f, model, by_name):
        if not layer.weights:
            continue
        values, problem = _unit_values(f, layer, path, seen)
        used.add(path.split("/")[1] if path.startswith("layers/") else path.split("/")[0])
        queue_or_skip(assignments, layer, values, problem, skip_mismatch)
    if not by_name and not skip_mismatch:
        layers_group = _get(f, "layers", h5py.Group)
        root = layers_group if _is_graph_model(model) and layers_group is not None else f
        skip = {"vars", "optimizer", "layers"} if root is f else {"vars"}
        extra = []
        for k in root:
            if k in used or k in skip:
                continue
            sub = member(root, k, (h5py.Group, h5py.Dataset))
            if isinstance(sub, h5py.Group) and _flat_datasets(sub):
                extra.append(k)
        if extra:
            raise FileFormatError(
                f"The file has weights for layers the model lacks: {sorted(extra)} (the model's "
                f"layers with weights: {[layer.name for layer in model.layers if layer.weights]}).")
    assign_all(assignments)

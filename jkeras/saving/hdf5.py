"""Keras's `.h5` files: whole models and weights, both directions.

Legacy layout (see shared/reference/H5_FORMAT.md): root attributes `keras_version`,
`backend`, `model_config`, `training_config`; group `model_weights` with
`layer_names` and one group per layer holding `weight_names` and the datasets;
group `optimizer_weights`. Weights load by position in layer order (or by layer
name), never by weight name, which is what makes files from tf.keras 2 and Keras 3
interchangeable. This is what jkeras writes.

Keras 3's `model.weights.h5` layout (`layers/<class-based key>/vars/<i>`) is read
too, told apart by its structure, and written for a file name ending in
`.weights.h5`, the name under which Keras 3 and tf.keras 2.13+ expect it.

Every file is written to a temporary name beside the target and renamed, so a
crash mid-save leaves the previous file whole.
"""
import json
import os
import re
import tempfile
import warnings

import h5py
import jax
import numpy as np

from jkeras import __version__, losses, optimizers
from jkeras.models.compile_utils import split_params, trainable_mask
from jkeras.saving import serialization

_ATTR_LIMIT = 64512  # HDF5 object-header limit for one attribute, as Keras chunks at


class FileFormatError(ValueError):
    """A file is not a Keras `.h5` file jkeras can read, or does not fit the model."""


# ---- writing ----
def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write architecture, weights, training config and optimizer state to one `.h5`."""
    config = json.dumps(serialization.model_config(model))
    training = None
    if include_optimizer and getattr(model, "compiled", False):
        training = json.dumps(_training_config(model))
    with _atomic(filepath, overwrite) as f:
        f.attrs["keras_version"] = f"jkeras-{__version__}"
        f.attrs["backend"] = "jax"
        f.attrs["model_config"] = config.encode("utf8")
        if training is not None:
            f.attrs["training_config"] = training.encode("utf8")
        _write_weights(f.create_group("model_weights"), model)
        if training is not None and model._opt_state is not None:
            _write_optimizer(f.create_group("optimizer_weights"), model)


def save_weights(model, filepath, overwrite=True):
    """Weights only: Keras's legacy layout at the file's root, or for a name ending in
    `.weights.h5` the layout Keras 3 (and tf.keras 2.13+) expect under that name."""
    with _atomic(filepath, overwrite) as f:
        if os.fspath(filepath).endswith(".weights.h5"):
            _write_keras3_weights(f, model)
        else:
            _write_weights(f, model)


class _atomic:
    """An `h5py.File` opened on a temporary name, renamed over `path` on success."""

    def __init__(self, path, overwrite):
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not overwrite:
            raise FileExistsError(f"{self.path} exists and overwrite=False.")

    def __enter__(self):
        folder = os.path.dirname(os.path.abspath(self.path))
        fd, self.tmp = tempfile.mkstemp(prefix=".jkeras-", suffix=".h5.tmp", dir=folder)
        os.close(fd)
        self.file = h5py.File(self.tmp, "w")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)
        return False


def _write_weights(group, model):
    group.attrs["backend"] = b"jax"
    group.attrs["keras_version"] = f"jkeras-{__version__}".encode()
    layers = model.layers
    _write_names(group, "layer_names", [layer.name for layer in layers])
    for layer in layers:
        g = group.create_group(layer.name)
        names = weight_names(layer)
        _write_names(g, "weight_names", names)
        for name, w in zip(names, layer.weights):
            g.create_dataset(name, data=w.numpy())
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.asarray([])


def _write_names(group, attr, names):
    """A string-array attribute, chunked as `attr0, attr1, ...` when it is too big (as Keras does)."""
    data = np.asarray([n.encode("utf8") for n in names]) if names else np.asarray([])
    if data.nbytes <= _ATTR_LIMIT:
        group.attrs[attr] = data
        return
    chunks = int(np.ceil(data.nbytes / _ATTR_LIMIT))
    for i, chunk in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{attr}{i}"] = chunk


def weight_names(layer):
    """tf.keras-style names (`dense/kernel:0`, `lstm/lstm_cell/kernel:0`) in `layer.weights` order."""
    paths = {}

    def walk(obj, prefix):
        for v in obj._variables.values():
            paths[id(v)] = prefix + v.name
        for sub in obj._layers:
            walk(sub, prefix if hasattr(obj, "_nodes") and obj is not layer else prefix + sub.name + "/")

    is_model = hasattr(layer, "_nodes") or hasattr(layer, "_stack")
    if is_model:
        for sub in layer._layers:
            walk(sub, sub.name + "/")
    else:
        walk(layer, layer.name + "/")
    return [paths.get(id(w), w.name) + ":0" for w in layer.weights]


def _training_config(model):
    cfg = model._compile_config

    def ser_loss(loss):
        if isinstance(loss, str):
            # Keras 3 cannot load its own files that name a loss by alias ("mse":
            # "Could not deserialize 'keras.metrics.mse'"); full names load in both Kerases.
            try:
                canonical = losses.serialize(losses.get(loss))
            except ValueError:
                return loss
            return canonical if isinstance(canonical, str) else loss
        if loss is None:
            return loss
        if isinstance(loss, dict):
            return {k: ser_loss(v) for k, v in loss.items()}
        if isinstance(loss, (list, tuple)):
            return [ser_loss(v) for v in loss]
        return losses.serialize(loss)

    def ser_metrics(metrics):
        if metrics is None or isinstance(metrics, str):
            return metrics
        if isinstance(metrics, dict):
            return {k: ser_metrics(v) for k, v in metrics.items()}
        if isinstance(metrics, (list, tuple)):
            return [ser_metrics(v) for v in metrics]
        return getattr(metrics, "name", None) or getattr(metrics, "__name__", str(metrics))

    opt = model.optimizer
    return {"loss": ser_loss(cfg["loss"]), "metrics": ser_metrics(cfg["metrics"]),
            "weighted_metrics": ser_metrics(cfg["weighted_metrics"]),
            "loss_weights": cfg["loss_weights"],
            "optimizer_config": {"class_name": type(opt).__name__, "config": opt.get_config()},
            "jkeras": {"seed": model._seed, "step": int(model._step),
                       "steps_per_execution": model._steps_per_execution}}


_TF_SLOT_NAMES = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "u"}


def _write_optimizer(group, model):
    """tf.keras 2.11+ layout: `iteration:0`, then `<Opt>/<slot>/<weight name>` per trainable weight."""
    opt_name = type(model.optimizer).__name__
    names = ["iteration:0"]
    values = [np.asarray(optimizers.iterations(model._opt_state), np.int64)]
    slot_trees = optimizers.slots(model._opt_state)
    slot_names = [s for s in getattr(model.optimizer, "slot_names", lambda: ())() if s in slot_trees]
    paths = trainable_paths(model)
    for var, path, tf_name in paths:
        for slot in slot_names:
            short = _TF_SLOT_NAMES.get(slot, slot) if opt_name in ("Adam", "AdamW", "SGD", "Nadam",
                                                                   "Adamax") else slot
            names.append(f"{opt_name}/{short}/{tf_name}")
            values.append(np.asarray(_get_path(slot_trees[slot], path)))
    _write_names(group, "weight_names", names)
    for name, value in zip(names, values):
        group.create_dataset(name, data=value)


def trainable_paths(model):
    """`(variable, path in the trainable params tree, weight name)` in `trainable_weights` order."""
    tree_paths = {}

    def walk(obj, prefix):
        for v in obj._variables.values():
            tree_paths[id(v)] = prefix + (v.name,)
        for sub in obj._layers:
            walk(sub, prefix + (sub.name,))

    walk(model, ())
    names = {}
    for layer in model.layers:
        for w, n in zip(layer.weights, weight_names(layer)):
            names[id(w)] = n
    trainable, _ = split_params(model._own_tree(True), model._trainable_mask)
    out = []
    for w in model.trainable_weights:
        path = tree_paths[id(w)]
        if _has_path(trainable, path):
            out.append((w, path, names.get(id(w), w.name)))
    return out


def _has_path(tree, path):
    for p in path:
        if not isinstance(tree, dict) or p not in tree:
            return False
        tree = tree[p]
    return True


def _get_path(tree, path):
    for p in path:
        tree = tree[p]
    return tree


def _set_path(tree, path, value):
    if len(path) == 1:
        return {**tree, path[0]: value}
    return {**tree, path[0]: _set_path(tree[path[0]], path[1:], value)}


# ---- reading ----
def _open(filepath):
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        with open(path, "rb") as raw:
            if raw.read(4) == b"PK\x03\x04":
                raise FileFormatError(
                    f"{path} is a zip archive (Keras 3's `.keras` format), not HDF5. jkeras reads "
                    "Keras `.h5` files: in Keras 3, save with model.save('m.h5') or "
                    "model.save_weights('m.weights.h5').") from error
        raise FileFormatError(f"{path} is not an HDF5 file (or it is truncated): {error}") from error


def _read_names(group, attr):
    if attr in group.attrs:
        raw = group.attrs[attr]
    else:
        chunks = [group.attrs[f"{attr}{i}"] for i in range(len(group.attrs))
                  if f"{attr}{i}" in group.attrs]
        if not chunks:
            raise FileFormatError(f"'{group.name}' has no '{attr}' attribute: not a Keras weights group.")
        raw = np.concatenate(chunks)
    return [n.decode("utf8") if isinstance(n, bytes) else str(n) for n in np.asarray(raw).reshape(-1)]


def _attr_text(f, name):
    value = f.attrs.get(name)
    if value is None:
        return None
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a Keras `.h5`: architecture, weights, and (if `compile`) its training setup.

    `custom_objects` are visible to the whole load (layers, activations, losses, metrics).
    """
    with serialization.custom_object_scope(custom_objects or {}):
        return _load_model(filepath, custom_objects, compile, safe_mode)


def _load_model(filepath, custom_objects, compile, safe_mode):
    with _open(filepath) as f:
        config = _attr_text(f, "model_config")
        if config is None:
            if "layer_names" in f.attrs or is_keras3_weights_file(f):
                raise FileFormatError(f"{filepath} has no model_config: it holds weights only. Build "
                                      "the model in code and call model.load_weights() instead.")
            raise FileFormatError(f"{filepath} is an HDF5 file but not a Keras model file: it has no "
                                  "`model_config` attribute.")
        try:
            config = json.loads(config)
        except ValueError as error:
            raise FileFormatError(f"{filepath}: model_config is not valid JSON ({error}).") from error
        model = serialization.model_from_config(config, custom_objects, safe_mode)
        group = f["model_weights"] if "model_weights" in f else f
        load_weights_from_group(group, model)
        training = _attr_text(f, "training_config")
        if compile and training is not None:
            _compile_from(model, json.loads(training), custom_objects)
            if "optimizer_weights" in f:
                _load_optimizer(f["optimizer_weights"], model)
    return model


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a legacy weights file, a whole-model file (its `model_weights` group), or
    Keras 3's `model.weights.h5` layout (told apart by their structure, not the file name).

    `skip_mismatch=True` skips (with a warning naming each) the layers whose weights do not fit.
    """
    with _open(filepath) as f:
        if is_keras3_weights_file(f):
            load_keras3_weights(f, model, by_name, skip_mismatch)
            return
        group = f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
        if _read_names_or_none(group, "layer_names") is None:
            raise FileFormatError(f"{os.fspath(filepath)} is HDF5 but not a Keras weights file: it has "
                                  "neither `layer_names` (legacy layout) nor `layers/` (Keras 3's "
                                  "`.weights.h5` layout).")
        load_weights_from_group(group, model, by_name, skip_mismatch)


def _file_layers(group):
    """`{layer name: [arrays]}` in file order, for layers that have weights."""
    out = {}
    for name in _read_names(group, "layer_names"):
        if name not in group:
            raise FileFormatError(f"'{group.name}' lists layer '{name}' but has no group for it.")
        g = group[name]
        weight_names_ = _read_names(g, "weight_names") if ("weight_names" in g.attrs) else []
        arrays = []
        for wn in weight_names_:
            if wn not in g:
                raise FileFormatError(f"Layer '{name}' lists weight '{wn}' that the file lacks.")
            arrays.append(np.asarray(g[wn]))
        out[name] = arrays
    return out


def _read_names_or_none(group, attr):
    try:
        return _read_names(group, attr)
    except FileFormatError:
        return None


def load_weights_from_group(group, model, by_name=False, skip_mismatch=False):
    """Match file layers to model layers (in order, or by name), check all, then assign."""
    file_layers = _file_layers(group)
    model_layers = [layer for layer in model.layers if layer.weights]
    assignments = []
    if by_name:
        pairs = [(layer, file_layers[layer.name]) for layer in model_layers if layer.name in file_layers]
    else:
        file_with_weights = [(n, v) for n, v in file_layers.items() if v]
        if len(file_with_weights) != len(model_layers):
            raise FileFormatError(
                f"The file has weights for {len(file_with_weights)} layers "
                f"({[n for n, _ in file_with_weights]}); the model has {len(model_layers)} layers "
                f"with weights ({[layer.name for layer in model_layers]}).")
        pairs = [(layer, values) for layer, (_, values) in zip(model_layers, file_with_weights)]
    for layer, values in pairs:
        problem = _mismatch(layer, values)
        if problem and skip_mismatch:
            _warn_skip(layer, problem)
        elif problem:
            raise FileFormatError(problem)
        else:
            assignments.append((layer, values))
    for layer, values in assignments:
        layer.set_weights(values)


def _warn_skip(layer, problem):
    warnings.warn(f"Skipping loading weights for layer '{layer.name}' (skip_mismatch=True): {problem}",
                  stacklevel=5)


def _mismatch(layer, values):
    expected = [w.shape for w in layer.weights]
    got = [tuple(v.shape) for v in values]
    if expected != got:
        return (f"Layer '{layer.name}' expects weights of shapes {expected}; the file has "
                f"{got}.")
    return None


# ---- Keras 3's `.weights.h5` layout ----
def is_keras3_weights_file(f):
    """Keras 3's H5IOStore layout: `layers/<class-based key>/vars/<i>` (or, for a subclassed
    model, `<attribute>/vars/<i>`) and a root `vars` group; no `layer_names`."""
    return ("layer_names" not in f.attrs and "model_weights" not in f
            and (isinstance(f.get("layers"), h5py.Group) or isinstance(f.get("vars"), h5py.Group)))


def _keras_snake(name):
    """Keras 3's `naming.to_snake_case`, which names the file's groups after layer classes."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _is_graph_model(layer):
    return hasattr(layer, "_stack") or hasattr(layer, "_nodes")


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


def _write_keras3_weights(f, model):
    """Keras 3's `model.weights.h5` layout, which Keras 3 and tf.keras 2.13+ load by that name."""
    for obj, path in _walk_objects(model, "", set()):
        group = f.create_group(f"{path}/vars" if path else "vars")
        group.attrs["name"] = obj.name
        for i, v in enumerate(_own_variables(obj)):
            group.create_dataset(str(i), data=v.numpy())


def _store_name(group):
    vars_ = group.get("vars") if isinstance(group, h5py.Group) else None
    name = vars_.attrs.get("name") if isinstance(vars_, h5py.Group) else None
    return name.decode("utf8") if isinstance(name, bytes) else name


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
            container = f.get(prefix + "layers")
            named = {}
            if isinstance(container, h5py.Group):
                named = {_store_name(container[k]): f"{prefix}layers/{k}" for k in container}
            children = [(named[layer.name][len(prefix):], layer) for _, layer in children
                        if layer.name in named]
        for rel, child in children:
            if _is_graph_model(child) and isinstance(f.get(prefix + rel + "/layers"), h5py.Group):
                yield from walk(child, prefix + rel + "/")
            else:
                yield child, prefix + rel

    return list(walk(model, ""))


def _flat_arrays(group):
    """A group's arrays in a plain walk (own `vars` by index, then sub-groups by name)."""
    out = []
    vars_ = group.get("vars")
    if isinstance(vars_, h5py.Group):
        out += [np.asarray(vars_[k]) for k in sorted(vars_, key=int)]
    for key in sorted(k for k in group if k != "vars"):
        if isinstance(group[key], h5py.Group):
            out += _flat_arrays(group[key])
    return out


def _unit_values(f, layer, path, seen):
    """`(values in layer.weights order, None)` or `(None, what does not fit)`."""
    expected = {id(w) for w in layer.weights}
    pairs = [(v, p) for v, p in _variable_paths(layer, path, seen) if id(v) in expected]
    order = [v for v, _ in pairs]
    shapes = [w.shape for w in order]
    if len(order) == len(expected) and all(isinstance(f.get(p), h5py.Dataset) for _, p in pairs):
        arrays = [np.asarray(f[p]) for _, p in pairs]
    elif isinstance(f.get(path), h5py.Group):
        # jkeras holds this layer's weights in another object layout than Keras 3:
        # fall back to the order of the file's own walk.
        order, shapes = list(layer.weights), [w.shape for w in layer.weights]
        arrays = _flat_arrays(f[path])
    else:
        return None, f"The file has no weights for layer '{layer.name}' (looked for '{path}')."
    got = [tuple(a.shape) for a in arrays]
    if got != shapes:
        return None, (f"Layer '{layer.name}' expects weights of shapes {shapes}; the file has "
                      f"{got} under '{path}'.")
    by_id = {id(w): a for w, a in zip(order, arrays)}
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
        if problem and skip_mismatch:
            _warn_skip(layer, problem)
        elif problem:
            raise FileFormatError(problem)
        else:
            assignments.append((layer, values))
    if not by_name and not skip_mismatch:
        root = f["layers"] if _is_graph_model(model) and isinstance(f.get("layers"), h5py.Group) else f
        skip = {"vars", "optimizer", "layers"} if root is f else {"vars"}
        extra = [k for k in root if k not in used and k not in skip and isinstance(root[k], h5py.Group)
                 and _flat_arrays(root[k])]
        if extra:
            raise FileFormatError(
                f"The file has weights for layers the model lacks: {sorted(extra)} (the model's "
                f"layers with weights: {[layer.name for layer in model.layers if layer.weights]}).")
    for layer, values in assignments:
        layer.set_weights(values)


def _compile_from(model, training, custom_objects):
    opt_cfg = training.get("optimizer_config")
    optimizer = optimizers.get(opt_cfg) if opt_cfg else "rmsprop"
    extra = training.get("jkeras", {})
    model.compile(optimizer=optimizer, loss=_plain(training.get("loss")),
                  metrics=_plain_metrics(training.get("metrics")),
                  weighted_metrics=_plain_metrics(training.get("weighted_metrics")),
                  loss_weights=training.get("loss_weights"), seed=extra.get("seed"),
                  steps_per_execution=extra.get("steps_per_execution", 1))
    model._step = int(extra.get("step", 0))


def _plain(loss):
    """A loss config as `compile` takes it (tf.keras wraps functions in a `fn` key)."""
    if isinstance(loss, dict) and "class_name" in loss:
        config = dict(loss.get("config") or {})
        config.pop("fn", None)
        config.pop("reduction", None) if config.get("reduction") == "auto" else None
        return {**loss, "config": config}
    if isinstance(loss, dict):
        return {k: _plain(v) for k, v in loss.items()}
    if isinstance(loss, list):
        return [_plain(v) for v in loss]
    return loss


def _plain_metrics(metrics):
    """tf.keras writes `[[{MeanMetricWrapper: {name, fn}}]]`; compile takes names."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict) and "class_name" in metrics:
        config = metrics.get("config") or {}
        if metrics["class_name"] == "MeanMetricWrapper":
            return config.get("name") or config.get("fn")
        return metrics
    if isinstance(metrics, dict):
        return {k: _plain_metrics(v) for k, v in metrics.items()}
    flat = []
    for m in metrics:
        item = _plain_metrics(m)
        flat.extend(item if isinstance(item, list) else [item])
    return flat


def _load_optimizer(group, model):
    """Slots by position: `[iteration, (learning_rate,)] + per trainable weight, per slot`."""
    names = _read_names(group, "weight_names")
    values = [np.asarray(group[n]) for n in names]
    if not names:
        return
    iteration = int(values[0])
    rest = list(zip(names[1:], values[1:]))
    if rest and rest[0][0].endswith("learning_rate"):  # Keras 3 stores the rate too
        rest = rest[1:]
    model._trainable_mask = model._trainable_mask or trainable_mask(model)
    trainable, _ = split_params(model._own_tree(True), model._trainable_mask)
    model._opt_state = jax.jit(model._tx.init)(trainable)
    slot_names = list(model.optimizer.slot_names()) if hasattr(model.optimizer, "slot_names") else []
    paths = trainable_paths(model)
    if len(rest) != len(paths) * len(slot_names):
        raise FileFormatError(f"optimizer_weights holds {len(rest)} slot arrays; the model's "
                              f"{type(model.optimizer).__name__} needs {len(paths) * len(slot_names)} "
                              f"({len(paths)} weights x slots {slot_names}).")
    trees = dict(optimizers.slots(model._opt_state))
    for i, (var, path, _) in enumerate(paths):
        for j, slot in enumerate(slot_names):
            name, value = rest[i * len(slot_names) + j]
            if tuple(value.shape) != var.shape:
                raise FileFormatError(f"Optimizer slot '{name}' has shape {value.shape}; weight "
                                      f"'{var.path}' has shape {var.shape}.")
            trees[slot] = _set_path(trees[slot], path, jax.numpy.asarray(value))
    model._opt_state = optimizers.with_slots(model._opt_state, trees, iteration)

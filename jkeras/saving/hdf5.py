"""Keras's `.h5` files: whole models and weights, both directions.

Legacy layout (see shared/reference/H5_FORMAT.md): root attributes `keras_version`,
`backend`, `model_config`, `training_config`; group `model_weights` with
`layer_names` and one group per layer holding `weight_names` and the datasets;
group `optimizer_weights`. Weights load by position in layer order (or by layer
name), never by weight name, which is what makes files from tf.keras 2 and Keras 3
interchangeable. This is what jkeras writes.

Files from every Keras 2 version load too: weights that only fit after Keras 2's
conversions (cuDNN RNN layouts, Keras 1 and Theano kernels) are converted as Keras 2
does (`legacy_weights`), and the optimizer state is read in the layout of the Keras
that wrote it (`legacy_optimizer`); a state that does not map warns and starts fresh.

Keras 3's `model.weights.h5` layout (`layers/<class-based key>/vars/<i>`) is read
too, told apart by its structure, and written for a file name ending in
`.weights.h5`, the name under which Keras 3 and tf.keras 2.13+ expect it.

Every file is written to a temporary name beside the target and renamed, so a
crash mid-save leaves the previous file whole.

Reading trusts nothing in the file. First `h5_probe` walks it in a child process,
since libhdf5 itself can crash or loop on damaged bytes. Then every attribute, group
and dataset is checked (kind, link type, declared shape and dtype) before it is read,
a declared size is compared with the model before anything is allocated, and any
low-level failure (h5py's `OSError`/`KeyError`, a decoding or casting error) becomes
a `jkeras.errors.FileFormatError` naming the file and the part at fault. Weights are
assigned only after all of them are checked, and put back if an assignment fails,
so a failed load leaves the model as it was.
"""
import contextlib
import json
import math
import os
import re
import tempfile
import warnings

import h5py
import jax
import numpy as np

from jkeras import losses, optimizers
from jkeras.version import __version__
from jkeras.errors import ConfigError, FileFormatError, JkerasError
from jkeras.metrics import resolve_custom
from jkeras.models.compile_utils import split_params, trainable_mask
from jkeras.saving import h5_probe, legacy_optimizer, legacy_weights, serialization

_ATTR_LIMIT = 64512  # HDF5 object-header limit for one attribute, as Keras chunks at
_MAX_ATTR_BYTES = 256 * 2 ** 20  # an attribute declaring more than this is refused unread

__all__ = ["FileFormatError", "load_model", "load_weights", "save_model", "save_weights"]


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
        os.makedirs(folder, exist_ok=True)  # as Keras: saving into a new folder creates it
        fd, self.tmp = tempfile.mkstemp(prefix=".jkeras-", suffix=".h5.tmp", dir=folder)
        os.close(fd)
        self.file = h5py.File(self.tmp, "w")
        return self.file

    def __exit__(self, exc_type, exc, tb):
        self.file.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
            h5_probe.trust(self.path)  # written here from the model's own values
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
            "optimizer_config": _optimizer_config(opt),
            "jkeras": {"seed": model._seed, "step": int(model._step),
                       "steps_per_execution": model._steps_per_execution,
                       "optimizer_name": getattr(opt, "name", None),
                       "optimizer_scalars": _optimizer_scalars(model)}}


def _optimizer_scalars(model):
    """The optimizer's one-number state (Nadam's `u_product`), which tf.keras's layout has no
    place for; a float32 written as JSON reads back to the same bits."""
    if model._opt_state is None:
        return {}
    per_weight = set(getattr(model.optimizer, "slot_names", lambda: ())())
    return {k: float(np.asarray(v)) for k, v in optimizers.slots(model._opt_state).items()
            if k not in per_weight and np.ndim(v) == 0}


# Keys only Keras 3's optimizers know, at their defaults. tf.keras reads an `.h5` optimizer
# config as a legacy optimizer, which rejects them, so they are left out when unset.
_NEW_OPTIMIZER_DEFAULTS = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
                           "ema_overwrite_frequency": None, "loss_scale_factor": None,
                           "gradient_accumulation_steps": None}


def _portable(config):
    """An optimizer config both tf.keras 2 and Keras 3 build (unset Keras-3-only keys dropped)."""
    return {k: v for k, v in config.items()
            if not (k in _NEW_OPTIMIZER_DEFAULTS and v == _NEW_OPTIMIZER_DEFAULTS[k])}


# tf.keras 2.11+'s optimizers, which it names `Custom>Adam` in files, with `is_legacy_optimizer: false`.
_TF_KERAS_NEW = ("Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam",
                 "RMSprop", "SGD")


def _optimizer_config(opt):
    """The optimizer as tf.keras 2.11+ writes it (`Custom>Adam`, `is_legacy_optimizer: false`),
    so tf.keras builds the same optimizer with its settings; Keras 3 builds the class with its
    defaults, as it does for tf.keras's own files. `optimizers.legacy` ones are written in
    Keras 2's form, which tf.keras (as a legacy optimizer) and Keras 3 both build in full."""
    name = type(opt).__name__
    if getattr(opt, "is_legacy", False):
        return {"class_name": name, "config": opt.get_config()}
    if name in _TF_KERAS_NEW:
        # Keras 3 builds `Custom>X` as `optimizers.get(config["name"])`: the name must be the class's
        # (the optimizer's own name travels in the "jkeras" section).
        return {"class_name": f"Custom>{name}",
                "config": {**_portable(opt.get_config()), "name": name, "is_legacy_optimizer": False}}
    return {"class_name": name, "config": _portable(opt.get_config())}


_TF_SLOT_NAMES = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "u"}


def _write_optimizer(group, model):
    """tf.keras 2.11+ layout: `iteration:0`, then `<Opt>/<slot>/<weight name>` per trainable
    weight; an `optimizers.legacy` one in tf.keras `OptimizerV2`'s (see `legacy_optimizer`)."""
    opt = model.optimizer
    opt_name = type(opt).__name__
    slot_trees = optimizers.slots(model._opt_state)
    slot_names = [s for s in getattr(opt, "slot_names", lambda: ())() if s in slot_trees]
    paths = trainable_paths(model)
    iteration = np.asarray(optimizers.iterations(model._opt_state), np.int64)
    if getattr(opt, "is_legacy", False):
        names, values = [f"{opt.name}/iter:0"], [iteration]
        for scalar, short in opt.legacy_scalars.items():
            names.append(f"{opt.name}/{short}:0")
            values.append(np.asarray(slot_trees[scalar]))
        for slot in slot_names:
            for var, path, tf_name in paths:
                names.append(f"{opt.name}/{tf_name.rsplit(':', 1)[0]}/{opt.legacy_slots[slot]}:0")
                values.append(np.asarray(_get_path(slot_trees[slot], path)))
    else:
        names, values = ["iteration:0"], [iteration]
        for slot, i in _slot_layouts(opt, paths, slot_names)[0]:
            var, path, tf_name = paths[i]
            short = _TF_SLOT_NAMES.get(slot, slot) if opt_name in ("Adam", "AdamW", "SGD", "Nadam",
                                                                   "Adamax", "Adafactor") else slot
            names.append(f"{opt_name}/{short}/{tf_name}")
            values.append(np.asarray(_get_path(slot_trees[slot], path)))
    _write_names(group, "weight_names", names)
    for name, value in zip(names, values):
        group.create_dataset(name, data=value)


def _slot_layouts(opt, paths, slot_names):
    """The optimizer's `slot_layouts` (see `Optimizer.slot_layouts`), or every slot per weight."""
    if hasattr(opt, "slot_layouts"):
        return opt.slot_layouts([var.shape for var, _, _ in paths])
    return [[(slot, i) for i in range(len(paths)) for slot in slot_names]]


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
@contextlib.contextmanager
def _part(description):
    """Label failures inside the block with the file part being read (the innermost label wins)."""
    try:
        yield
    except BaseException as error:
        if not isinstance(error, JkerasError) and getattr(error, "_jkeras_part", None) is None:
            try:
                error._jkeras_part = description
            except AttributeError:
                pass
        raise


@contextlib.contextmanager
def _boundary(filepath, action):
    """Every failure reading `filepath` leaves as a jkeras error naming the file and the part."""
    try:
        yield
    except JkerasError:
        raise
    except FileNotFoundError as error:
        if getattr(error, "_jkeras_part", None) is None:
            raise
        raise FileFormatError(f"{os.fspath(filepath)}: {error._jkeras_part}: {error}") from error
    except (KeyboardInterrupt, SystemExit):
        raise
    except RecursionError as error:
        part = getattr(error, "_jkeras_part", None) or "the file's structure"
        raise FileFormatError(f"{os.fspath(filepath)}: {part} is nested too deeply to "
                              f"{action}.") from error
    except MemoryError as error:
        part = getattr(error, "_jkeras_part", None) or "a declared size"
        raise FileFormatError(f"{os.fspath(filepath)}: {part}: reading it would need more memory "
                              f"than there is; the file is damaged or not a Keras file.") from error
    except Exception as error:  # noqa: BLE001 - h5py, numpy, json: anything a damaged file does
        part = getattr(error, "_jkeras_part", None) or "the file"
        raise FileFormatError(f"{os.fspath(filepath)}: cannot {action}: {part} is damaged or not "
                              f"what a Keras file holds ({type(error).__name__}: {error}).") from error


def _open(filepath):
    path = os.fspath(filepath)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No such file: {path}")
    if os.path.isdir(path):
        raise FileFormatError(f"{path} is a folder, not an HDF5 file.")
    if not os.path.isfile(path):
        raise FileFormatError(f"{path} is not a regular file (a device, pipe or socket?); an HDF5 "
                              "file is expected.")
    problem = h5_probe.probe(path)
    if problem is not None:
        raise FileFormatError(f"{path}: {problem}; the file is damaged (it was read in a separate "
                              "process first, so this one is unharmed).")
    try:
        return h5py.File(path, "r")
    except Exception as error:  # noqa: BLE001 - h5py raises OSError, some damage gives others
        try:
            with open(path, "rb") as raw:
                is_zip = raw.read(4) == b"PK\x03\x04"
        except OSError:
            is_zip = False
        if is_zip:
            raise FileFormatError(
                f"{path} is a zip archive (Keras 3's `.keras` format), not HDF5. jkeras reads "
                "Keras `.h5` files: in Keras 3, save with model.save('m.h5') or "
                "model.save_weights('m.weights.h5').") from error
        raise FileFormatError(f"{path} is not an HDF5 file (or it is truncated): {error}") from error


def _member(group, name, kind, where=None):
    """`group[name]` if it is a hard link to a `kind` (h5py.Group or h5py.Dataset), else None.

    External and soft links are refused: a file must not make jkeras read another file.
    """
    where = where or f"'{_path_of(group)}'"
    with _part(f"member '{name}' of {where}"):
        if name not in group:
            return None
        link = group.get(name, getlink=True)
        if not isinstance(link, h5py.HardLink):
            raise FileFormatError(f"{where} holds '{name}' as a {type(link).__name__}; a Keras "
                                  "file holds its groups and datasets directly (links to other "
                                  "places or files are refused).")
        obj = group[name]
    if not isinstance(obj, kind):
        wanted = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise FileFormatError(f"{where}: '{name}' is a {type(obj).__name__}; expected a {wanted}.")
    return obj


def _path_of(group):
    try:
        return group.name or "/"
    except Exception:  # noqa: BLE001 - a damaged object header
        return "?"


def _attr(group, name, where=None):
    """An attribute's value, or None; its declared size is checked before it is read."""
    where = where or f"attribute '{name}' of '{_path_of(group)}'"
    with _part(where):
        if name not in group.attrs:
            return None
        aid = group.attrs.get_id(name)
        dtype = aid.dtype
        count = math.prod(aid.shape or ())
        size = count * max(dtype.itemsize, 1)
        if size > _MAX_ATTR_BYTES or count > _MAX_ATTR_BYTES:
            raise FileFormatError(f"{where} declares {count} values ({size} bytes): more than any "
                                  "Keras file holds; the file is damaged.")
        return group.attrs[name]


def _decode(value, where):
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf8")
        except UnicodeDecodeError as error:
            raise FileFormatError(f"{where} is not UTF-8 text ({error}).") from error
    if isinstance(value, str):
        try:  # h5py hands undecodable bytes back as surrogate escapes
            value.encode("utf8")
        except UnicodeEncodeError as error:
            raise FileFormatError(f"{where} is not UTF-8 text ({error}).") from error
        return value
    raise FileFormatError(f"{where} must hold text; it holds {type(value).__name__} "
                          f"{str(value)[:80]!r}.")


def _read_names(group, attr):
    where = f"attribute '{attr}' of '{_path_of(group)}'"
    raw = _attr(group, attr)
    if raw is None:
        with _part(f"attributes of '{_path_of(group)}'"):
            keys = list(group.attrs.keys())
        numbered = {}
        for key in keys:
            if key.startswith(attr) and key[len(attr):].isdigit():
                numbered[int(key[len(attr):])] = key
        if not numbered:
            raise FileFormatError(f"'{_path_of(group)}' has no '{attr}' attribute: not a Keras "
                                  "weights group.")
        if sorted(numbered) != list(range(len(numbered))):
            raise FileFormatError(f"'{_path_of(group)}' holds '{attr}' in chunks "
                                  f"{sorted(numbered)}; chunks must be numbered 0, 1, 2, ... "
                                  "without gaps.")
        chunks = [np.asarray(_attr(group, numbered[i])).reshape(-1) for i in range(len(numbered))]
        raw = np.concatenate(chunks) if chunks else np.asarray([])
        where = f"attributes '{attr}0'..'{attr}{len(numbered) - 1}' of '{_path_of(group)}'"
    if isinstance(raw, (bytes, str, np.bytes_, np.str_)):
        raw = [raw]
    values = np.asarray(raw, dtype=object).reshape(-1) if not isinstance(raw, list) else raw
    if isinstance(raw, np.ndarray) and raw.size and raw.dtype.kind not in "SUO":
        raise FileFormatError(f"{where} must hold names (strings); it holds {raw.dtype} values.")
    names = [_decode(n, f"{where}[{i}]") for i, n in enumerate(values)]
    for i, n in enumerate(names):
        if not n or "\x00" in n:
            raise FileFormatError(f"{where}[{i}] is not a valid name: {n!r}.")
    return names


def _attr_text(f, name):
    value = _attr(f, name)
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    return _decode(value, f"attribute '{name}'")


def _parse_json_attr(f, name):
    text = _attr_text(f, name)
    if text is None:
        return None
    try:
        return json.loads(text)
    except RecursionError as error:
        raise FileFormatError(f"attribute '{name}' is JSON nested too deeply.") from error
    except ValueError as error:
        raise FileFormatError(f"attribute '{name}' is not valid JSON ({error}).") from error


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a Keras `.h5`: architecture, weights, and (if `compile`) its training setup.

    `custom_objects` are visible to the whole load (layers, activations, losses, metrics).
    A damaged or foreign file raises `FileFormatError`, a bad config `ConfigError`, a
    config that would run code `UnsafeLoadError` (all `jkeras.errors`, all `ValueError`s).
    """
    with serialization.custom_object_scope(custom_objects or {}), _boundary(filepath, "load the model"):
        return _load_model(filepath, custom_objects, compile, safe_mode)


def _load_model(filepath, custom_objects, compile, safe_mode):
    path = os.fspath(filepath)
    with _open(filepath) as f:
        try:
            config = _parse_json_attr(f, "model_config")
        except FileFormatError as error:
            raise FileFormatError(f"{path}: {error}") from error
        if config is None:
            if "layer_names" in f.attrs or is_keras3_weights_file(f):
                raise FileFormatError(f"{filepath} has no model_config: it holds weights only. Build "
                                      "the model in code and call model.load_weights() instead.")
            raise FileFormatError(f"{filepath} is an HDF5 file but not a Keras model file: it has no "
                                  "`model_config` attribute.")
        serialization.check_config_tree(config, "model_config")
        try:
            model = serialization.model_from_config(config, custom_objects, safe_mode, "model_config")
        except ConfigError as error:
            raise type(error)(f"{path}: {error}") from error
        group = _member(f, "model_weights", h5py.Group) or f
        _with_file(path, load_weights_from_group, group, model)
        training = _with_file(path, _parse_json_attr, f, "training_config")
        if compile and training is not None:
            if not isinstance(training, dict):
                raise FileFormatError(f"{path}: attribute 'training_config' must be a JSON object; "
                                      f"it is {type(training).__name__}.")
            with _part("attribute 'training_config'"):
                _compile_checked(model, training, custom_objects, path)
            opt_group = _member(f, "optimizer_weights", h5py.Group)
            if opt_group is not None:
                _with_file(path, _load_optimizer, opt_group, model,
                           (training.get("jkeras") or {}).get("optimizer_scalars") or {})
    return model


def _with_file(path, fn, *args):
    """Call `fn`; a FileFormatError it raises gets the file's path in front."""
    try:
        return fn(*args)
    except FileFormatError as error:
        if str(error).startswith(path):
            raise
        raise FileFormatError(f"{path}: {error}") from error


def _compile_checked(model, training, custom_objects, path):
    try:
        _compile_from(model, training, custom_objects)
    except JkerasError:
        raise
    except Exception as error:  # noqa: BLE001 - a training config from a file
        raise ConfigError(f"{path}: attribute 'training_config' cannot be compiled "
                          f"({type(error).__name__}: {error}).") from error


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a legacy weights file, a whole-model file (its `model_weights` group), or
    Keras 3's `model.weights.h5` layout (told apart by their structure, not the file name).

    `skip_mismatch=True` skips (with a warning naming each) the layers whose weights do not fit.
    Any failure raises `FileFormatError` and leaves the model's weights as they were.
    """
    path = os.fspath(filepath)
    with _boundary(filepath, "load weights"), _open(filepath) as f:
        if is_keras3_weights_file(f):
            _with_file(path, load_keras3_weights, f, model, by_name, skip_mismatch)
            return
        group = f
        if "layer_names" not in f.attrs and not any(k.startswith("layer_names") for k in f.attrs):
            group = _member(f, "model_weights", h5py.Group) or f
        with _part(f"attributes of '{_path_of(group)}'"):
            has_names = any(k == "layer_names" or (k.startswith("layer_names") and k[11:].isdigit())
                            for k in group.attrs)
        if not has_names:
            raise FileFormatError(f"{path} is HDF5 but not a Keras weights file: it has "
                                  "neither `layer_names` (legacy layout) nor `layers/` (Keras 3's "
                                  "`.weights.h5` layout).")
        _with_file(path, load_weights_from_group, group, model, by_name, skip_mismatch)


def _file_layers(group):
    """`{layer name: [(weight name, h5py.Dataset)]}` in file order; nothing is read yet."""
    out = {}
    for name in _read_names(group, "layer_names"):
        g = _member(group, name, h5py.Group, f"'{_path_of(group)}'")
        if g is None:
            raise FileFormatError(f"'{_path_of(group)}' lists layer '{name}' but has no group for it.")
        weight_names_ = _read_names(g, "weight_names") if _has_names(g, "weight_names") else []
        datasets = _LayerDatasets()
        datasets.group = _path_of(g)
        for wn in weight_names_:
            ds = _member(g, wn, h5py.Dataset, f"layer group '{_path_of(g)}'")
            if ds is None:
                raise FileFormatError(f"Layer '{name}' lists weight '{wn}' that the file lacks "
                                      f"(group '{_path_of(g)}').")
            datasets.append((wn, ds))
        if name in out:
            raise FileFormatError(f"'{_path_of(group)}' lists layer '{name}' twice in 'layer_names'.")
        out[name] = datasets
    return out


class _LayerDatasets(list):
    """`[(weight name, h5py.Dataset)]` of one layer; `.group` is its group's path."""
    group = None


def _has_names(group, attr):
    with _part(f"attributes of '{_path_of(group)}'"):
        return attr in group.attrs or f"{attr}0" in group.attrs


def _read_names_or_none(group, attr):
    try:
        return _read_names(group, attr)
    except FileFormatError:
        return None


def _shape_of(ds):
    with _part(f"dataset '{_path_of(ds)}'"):
        return tuple(ds.shape) if ds.shape is not None else None


def _read_dataset(ds, variable):
    """`ds` as an array of `variable`'s dtype, read only after its shape and dtype are checked."""
    where = f"dataset '{_path_of(ds)}'"
    with _part(where):
        shape, dtype = _shape_of(ds), ds.dtype
    if shape != tuple(variable.shape):
        raise FileFormatError(f"{where} has shape {shape}; weight '{variable.path}' has shape "
                              f"{tuple(variable.shape)}.")
    if dtype.kind not in "biuf":
        raise FileFormatError(f"{where} holds {dtype} values; a weight needs numbers (weight "
                              f"'{variable.path}', {variable.dtype}).")
    with _part(where):
        value = np.asarray(ds[()])
    if value.shape != tuple(variable.shape) or value.dtype.kind not in "biuf":
        raise FileFormatError(f"{where} did not read as a {tuple(variable.shape)} array of numbers.")
    with _part(where):
        return np.asarray(value, dtype=variable.value.dtype)


def load_weights_from_group(group, model, by_name=False, skip_mismatch=False):
    """Match file layers to model layers (in order, or by name), check all, then assign."""
    file_layers = _file_layers(group)
    model_layers = [layer for layer in model.layers if layer.weights]
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
    origin = _file_origin(group)
    assignments = []
    for layer, datasets in pairs:
        values, problem = _layer_values(layer, datasets, origin)
        if problem and skip_mismatch:
            _warn_skip(layer, problem)
        elif problem:
            raise FileFormatError(problem)
        else:
            assignments.append((layer, values))
    _assign_all(assignments)


def _file_origin(group):
    """`(keras_version, backend)` a weights group declares; Keras 2 reads no version as Keras 1."""
    version, backend = (_attr_text(group, key) for key in ("keras_version", "backend"))
    return version, backend


def _layer_values(layer, datasets, origin):
    """`(values in layer.weights order, None)` or `(None, what does not fit)`.

    Shapes are compared before anything is read. Weights that only fit after Keras 2's
    conversions (cuDNN layouts, Keras 1 and Theano kernels) are read, converted, then
    compared; a file declaring far more than the layer holds is refused unread."""
    shapes = [_shape_of(ds) for _, ds in datasets]
    group = getattr(datasets, "group", None)
    version, backend = origin
    plain = not legacy_weights.is_keras1(version) and backend != "theano"
    problem = _mismatch(layer, shapes, group)
    if plain and problem is None:
        return [_read_dataset(ds, w) for (_, ds), w in zip(datasets, layer.weights)], None
    expected = sum(math.prod(w.shape) for w in layer.weights)
    declared = sum(math.prod(s) if s is not None else 0 for s in shapes)
    if declared > 2 * expected + 64 or len(datasets) > 4 * max(len(layer.weights), 1):
        return None, problem
    raw = [_read_raw(ds) for _, ds in datasets]
    try:
        values = legacy_weights.preprocess(layer, raw, version, backend)
    except (FileFormatError, ValueError, IndexError) as error:
        return None, f"{problem or ''} {error}".strip()
    problem = _mismatch(layer, [v.shape for v in values], group)
    if problem:
        return None, problem
    return [np.asarray(v, dtype=w.value.dtype) for v, w in zip(values, layer.weights)], None


def _read_raw(ds):
    """A dataset of numbers as a numpy array, its dtype checked before it is read."""
    where = f"dataset '{_path_of(ds)}'"
    with _part(where):
        dtype = ds.dtype
    if dtype.kind not in "biuf":
        raise FileFormatError(f"{where} holds {dtype} values; a weight needs numbers.")
    with _part(where):
        return np.asarray(ds[()])


def _assign_all(assignments):
    """`layer.set_weights(values)` for each; if one fails, every layer gets its old values back."""
    saved = [(layer, [w.value for w in layer.weights]) for layer, _ in assignments]
    try:
        for layer, values in assignments:
            layer.set_weights(values)
    except BaseException:
        for layer, old in saved:
            for w, value in zip(layer.weights, old):
                w._value = value
        raise


def _warn_skip(layer, problem):
    warnings.warn(f"Skipping loading weights for layer '{layer.name}' (skip_mismatch=True): {problem}",
                  stacklevel=5)


def _mismatch(layer, shapes, group=None):
    """A message when `shapes` (from the file) do not fit `layer.weights`, else None."""
    expected = [w.shape for w in layer.weights]
    got = [tuple(s) if s is not None else None for s in shapes]
    if expected != got:
        where = f" in group '{group}'" if group else ""
        return (f"Layer '{layer.name}' expects weights of shapes {expected}; the file has "
                f"{got}{where}.")
    return None


# ---- Keras 3's `.weights.h5` layout ----
def is_keras3_weights_file(f):
    """Keras 3's H5IOStore layout: `layers/<class-based key>/vars/<i>` (or, for a subclassed
    model, `<attribute>/vars/<i>`) and a root `vars` group; no `layer_names`."""
    with _part("the file's root group"):
        if any(k.startswith("layer_names") for k in f.attrs) or "model_weights" in f:
            return False
    return (isinstance(_member(f, "layers", (h5py.Group, h5py.Dataset)), h5py.Group)
            or isinstance(_member(f, "vars", (h5py.Group, h5py.Dataset)), h5py.Group))


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
    vars_ = _member(group, "vars", h5py.Group) if isinstance(group, h5py.Group) else None
    name = _attr(vars_, "name") if vars_ is not None else None
    if isinstance(name, np.ndarray) and name.shape == ():
        name = name[()]
    if isinstance(name, (bytes, np.bytes_)):
        return _decode(name, f"attribute 'name' of '{_path_of(vars_)}'")
    return name if isinstance(name, str) else None


def _get(f, path, kind):
    """`f[path]` if every step is a hard link and the end is a `kind`, else None."""
    node = f
    for step in [p for p in path.split("/") if p]:
        if not isinstance(node, h5py.Group):
            return None
        node = _member(node, step, (h5py.Group, h5py.Dataset))
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
                    sub = _member(container, k, (h5py.Group, h5py.Dataset))
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
    vars_ = _member(group, "vars", h5py.Group)
    if vars_ is not None:
        where = f"group '{_path_of(vars_)}'"
        for k in sorted(vars_, key=lambda k: _var_key(k, where)):
            ds = _member(vars_, k, (h5py.Dataset, h5py.Group))
            if not isinstance(ds, h5py.Dataset):
                raise FileFormatError(f"{where}: '{k}' is a group; expected a dataset.")
            out.append(ds)
    for key in sorted(k for k in group if k != "vars"):
        sub = _member(group, key, (h5py.Group, h5py.Dataset))
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
    got = [_shape_of(ds) for ds in datasets]
    if got != shapes:
        return None, (f"Layer '{layer.name}' expects weights of shapes {shapes}; the file has "
                      f"{got} under '{path}'.")
    by_id = {id(w): _read_dataset(ds, w) for w, ds in zip(order, datasets)}
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
        layers_group = _get(f, "layers", h5py.Group)
        root = layers_group if _is_graph_model(model) and layers_group is not None else f
        skip = {"vars", "optimizer", "layers"} if root is f else {"vars"}
        extra = []
        for k in root:
            if k in used or k in skip:
                continue
            sub = _member(root, k, (h5py.Group, h5py.Dataset))
            if isinstance(sub, h5py.Group) and _flat_datasets(sub):
                extra.append(k)
        if extra:
            raise FileFormatError(
                f"The file has weights for layers the model lacks: {sorted(extra)} (the model's "
                f"layers with weights: {[layer.name for layer in model.layers if layer.weights]}).")
    _assign_all(assignments)


def _compile_from(model, training, custom_objects):
    with serialization.custom_object_scope(custom_objects or {}):  # a checkpoint's load has none open
        opt_cfg = training.get("optimizer_config")
        optimizer = optimizers.get(opt_cfg) if opt_cfg else "rmsprop"
        extra = training.get("jkeras", {})
        if isinstance(extra.get("optimizer_name"), str) and hasattr(optimizer, "name"):
            optimizer.name = extra["optimizer_name"]
        model.compile(optimizer=optimizer, loss=_plain(training.get("loss")),
                      metrics=resolve_custom(_plain_metrics(training.get("metrics"))),
                      weighted_metrics=resolve_custom(_plain_metrics(training.get("weighted_metrics"))),
                      loss_weights=training.get("loss_weights"), seed=extra.get("seed"),
                      steps_per_execution=extra.get("steps_per_execution", "auto"))
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


def _load_optimizer(group, model, saved_scalars=None):
    """The optimizer state, from any Keras's layout (see `legacy_optimizer`).

    Every dataset's shape is checked against its destination before it is read; one-number
    state the layout has no place for comes from `saved_scalars` (jkeras's own files) or is
    recomputed from the iteration count (`scalars_at`). A state that
    does not map onto the model's optimizer (another optimizer, other settings, a layout
    jkeras does not know) loads with a warning and a freshly initialized optimizer, as in
    Keras; so does a file with no slot arrays at all (Keras 3 saves a model compiled but
    never trained so)."""
    names = _read_names(group, "weight_names")
    if not names:
        return
    datasets = []
    for n in names:
        ds = _member(group, n, h5py.Dataset, "group 'optimizer_weights'")
        if ds is None:
            raise FileFormatError(f"'optimizer_weights' lists weight '{n}' that the file lacks.")
        datasets.append(ds)
    model._trainable_mask = model._trainable_mask or trainable_mask(model)
    trainable, _ = split_params(model._own_tree(True), model._trainable_mask)
    opt_state = jax.jit(model._tx.init)(trainable)
    trees = dict(optimizers.slots(opt_state))
    slot_names = [s for s in getattr(model.optimizer, "slot_names", lambda: ())() if s in trees]
    scalars = [k for k in trees if k not in slot_names]
    paths = trainable_paths(model)
    opt_name = type(model.optimizer).__name__
    fresh = (f"{group.file.filename}: the optimizer state in '{_path_of(group)}' is not restored "
             f"(%s); the model's {opt_name} starts freshly initialized.")
    if len(names) <= 2 and paths and slot_names and legacy_optimizer.layout(names) == "current":
        iteration = _iteration(datasets[0])
        warnings.warn(f"{group.file.filename}: '{_path_of(group)}' holds no slot arrays for the "
                      f"model's {opt_name} (the model was saved compiled but never trained): the "
                      "optimizer state is not restored; it starts freshly initialized at "
                      f"iteration {iteration}.", stacklevel=6)
        model._opt_state = optimizers.with_slots(opt_state, {}, iteration)
        return
    version = _attr_text(group.file, "keras_version")
    try:
        plan = legacy_optimizer.plan(names, opt_name, slot_names, scalars,
                                     _file_weight_names(group.file, model, paths), version,
                                     _slot_layouts(model.optimizer, paths, slot_names))
        iteration, values = 0, []
        for (name, ds), dest in zip(zip(names, datasets), plan):
            if dest[0] == "iterations":
                iteration = _iteration(ds)
            elif dest[0] == "scalar":
                like = trees[dest[1]]
                _expect_shape(name, ds, like.shape)
                values.append((dest[1], None, _read_as(ds, like.dtype)))
            elif dest[0] != "skip":
                slot, (_, path, _) = dest[0], paths[dest[1]]
                like = _get_path(trees[slot], path)  # a weight's shape, or Adafactor's factors'
                _expect_shape(name, ds, like.shape)
                values.append((slot, path, _read_as(ds, like.dtype)))
    except legacy_optimizer.Unmapped as error:
        warnings.warn(fresh % error, stacklevel=6)
        model._opt_state = opt_state
        return
    for slot, path, value in values:
        value = jax.numpy.asarray(value)
        trees[slot] = value if path is None else _set_path(trees[slot], path, value)
    restored = {slot for slot, path, _ in values if path is None}
    for name, value in (saved_scalars if isinstance(saved_scalars, dict) else {}).items():
        if name in scalars and name not in restored and isinstance(value, (int, float)):
            trees[name] = jax.numpy.asarray(value, np.asarray(trees[name]).dtype)
            restored.add(name)
    scalars_at = getattr(model.optimizer, "scalars_at", None)
    if scalars_at is not None and set(scalars) - restored:
        for name, value in scalars_at(iteration, np.asarray(trees[scalars[0]])).items():
            if name not in restored:
                trees[name] = jax.numpy.asarray(value)
    model._opt_state = optimizers.with_slots(opt_state, trees, iteration)


def _expect_shape(name, ds, shape):
    if _shape_of(ds) != tuple(shape):
        raise legacy_optimizer.Unmapped(f"array '{name}' has shape {_shape_of(ds)}; its slot has "
                                        f"shape {tuple(shape)}")


def _read_as(ds, dtype):
    return np.asarray(_read_raw(ds), dtype=dtype)


def _file_weight_names(f, model, paths):
    """The names the file's `model_weights` gives the trainable weights (`paths` order); the
    model's own names where the file has none (its layers are paired in order, as on load)."""
    group = _member(f, "model_weights", h5py.Group) or f
    names = {}
    try:
        file_layers = [v for v in _file_layers(group).values() if v]
    except FileFormatError:
        file_layers = []
    model_layers = [layer for layer in model.layers if layer.weights]
    if len(file_layers) == len(model_layers):
        for layer, datasets in zip(model_layers, file_layers):
            for w, (name, _) in zip(layer.weights, datasets):
                names[id(w)] = name
    return [names.get(id(var), tf_name) for var, _, tf_name in paths]


def _iteration(ds):
    """The iteration count a dataset holds: one non-negative number."""
    if _shape_of(ds) not in ((), (1,)) or ds.dtype.kind not in "biuf":
        raise FileFormatError(f"dataset '{_path_of(ds)}' (the iteration count) must be one "
                              f"number; it has shape {_shape_of(ds)} and dtype {ds.dtype}.")
    with _part(f"dataset '{_path_of(ds)}'"):
        iteration = int(np.asarray(ds[()]).reshape(-1)[0])
    if iteration < 0:
        raise FileFormatError(f"dataset '{_path_of(ds)}' holds a negative iteration count "
                              f"({iteration}).")
    return iteration

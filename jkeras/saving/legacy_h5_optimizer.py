"""The optimizer state in an `.h5`'s `optimizer_weights` group, both directions.

jkeras writes tf.keras 2.11+'s layout (`iteration:0`, then `<Opt>/<slot>/<weight name>` per
trainable weight; an `optimizers.legacy` one in tf.keras `OptimizerV2`'s). It reads the layout
of whichever Keras wrote the file (`legacy_optimizer`); a state that does not map warns and
starts fresh.
"""
import warnings

import h5py
import jax
import numpy as np

from jkeras import optimizers
from jkeras.errors import FileFormatError
from jkeras.layers.paths import get_path, has_path, index_of, set_path
from jkeras.saving import legacy_optimizer
from jkeras.saving.h5_io import attr_text, file_part, member, path_of, read_names, read_raw, shape_of, write_names
from jkeras.saving.legacy_h5_weights import layer_datasets, weight_names


_TF_SLOT_NAMES = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat", "norm": "u"}


def write_optimizer(group, model, train_state):
    """tf.keras 2.11+ layout: `iteration:0`, then `<Opt>/<slot>/<weight name>` per trainable
    weight; an `optimizers.legacy` one in tf.keras `OptimizerV2`'s (see `legacy_optimizer`).
    The slots are `train_state.opt_state`'s (the model's `get_train_state()`)."""
    opt = model.optimizer
    opt_name = type(opt).__name__
    slot_trees = optimizers.slots(train_state.opt_state)
    slot_names = [s for s in getattr(opt, "slot_names", lambda: ())() if s in slot_trees]
    paths = trainable_paths(model, train_state.trainable)
    iteration = np.asarray(optimizers.iterations(train_state.opt_state), np.int64)
    if getattr(opt, "is_legacy", False):
        names, values = [f"{opt.name}/iter:0"], [iteration]
        for scalar, short in opt.legacy_scalars.items():
            names.append(f"{opt.name}/{short}:0")
            values.append(np.asarray(slot_trees[scalar]))
        for slot in slot_names:
            for var, path, tf_name in paths:
                names.append(f"{opt.name}/{tf_name.rsplit(':', 1)[0]}/{opt.legacy_slots[slot]}:0")
                values.append(np.asarray(get_path(slot_trees[slot], path)))
    else:
        names, values = ["iteration:0"], [iteration]
        for slot, i in _slot_layouts(opt, paths, slot_names)[0]:
            var, path, tf_name = paths[i]
            short = _TF_SLOT_NAMES.get(slot, slot) if opt_name in ("Adam", "AdamW", "SGD", "Nadam",
                                                                   "Adamax", "Adafactor") else slot
            names.append(f"{opt_name}/{short}/{tf_name}")
            values.append(np.asarray(get_path(slot_trees[slot], path)))
    write_names(group, "weight_names", names)
    for name, value in zip(names, values):
        group.create_dataset(name, data=value)


def _slot_layouts(opt, paths, slot_names):
    """The optimizer's `slot_layouts` (see `Optimizer.slot_layouts`), or every slot per weight."""
    if hasattr(opt, "slot_layouts"):
        return opt.slot_layouts([var.shape for var, _, _ in paths])
    return [[(slot, i) for i in range(len(paths)) for slot in slot_names]]


def trainable_paths(model, trainable):
    """`(variable, path in the params tree, weight name)` in `trainable_weights` order, for the
    weights the `trainable` tree (the train state's) holds: those the optimizer has slots for."""
    index = index_of(model)
    names = _by_path(index, ((w, n) for layer in model.layers
                             for w, n in zip(layer.weights, weight_names(layer))))
    out = []
    for w in model.trainable_weights:
        path = index.path(w)
        if has_path(trainable, path):
            out.append((w, path, names.get(path, w.name)))
    return out


def _by_path(index, pairs):
    """`{weight's path: value}` for `(weight, value)` pairs (the last value wins); a weight
    outside the params tree is left out: it has no slot."""
    out = {}
    for w, value in pairs:
        try:
            out[index.path(w)] = value
        except KeyError:
            continue
    return out


def load_optimizer(group, model, saved_scalars=None):
    """The optimizer state, from any Keras's layout (see `legacy_optimizer`).

    Every dataset's shape is checked against its destination before it is read; one-number
    state the layout has no place for comes from `saved_scalars` (jkeras's own files) or is
    recomputed from the iteration count (`scalars_at`). A state that
    does not map onto the model's optimizer (another optimizer, other settings, a layout
    jkeras does not know) loads with a warning and a freshly initialized optimizer, as in
    Keras; so does a file with no slot arrays at all (Keras 3 saves a model compiled but
    never trained so)."""
    names = read_names(group, "weight_names")
    if not names:
        return
    datasets = []
    for n in names:
        ds = member(group, n, h5py.Dataset, "group 'optimizer_weights'")
        if ds is None:
            raise FileFormatError(f"'optimizer_weights' lists weight '{n}' that the file lacks.")
        datasets.append(ds)
    train_state = model.get_train_state()
    opt_state = jax.jit(model.init_opt_state)(train_state.trainable)
    trees = dict(optimizers.slots(opt_state))
    slot_names = [s for s in getattr(model.optimizer, "slot_names", lambda: ())() if s in trees]
    scalars = [k for k in trees if k not in slot_names]
    paths = trainable_paths(model, train_state.trainable)
    opt_name = type(model.optimizer).__name__
    fresh = (f"{group.file.filename}: the optimizer state in '{path_of(group)}' is not restored "
             f"(%s); the model's {opt_name} starts freshly initialized.")
    if len(names) <= 2 and paths and slot_names and legacy_optimizer.layout(names) == "current":
        iteration = _iteration(datasets[0])
        warnings.warn(f"{group.file.filename}: '{path_of(group)}' holds no slot arrays for the "
                      f"model's {opt_name} (the model was saved compiled but never trained): the "
                      "optimizer state is not restored; it starts freshly initialized at "
                      f"iteration {iteration}.", stacklevel=6)
        model.set_train_state(train_state._replace(opt_state=optimizers.with_slots(opt_state, {}, iteration)))
        return
    version = attr_text(group.file, "keras_version")
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
                like = get_path(trees[slot], path)  # a weight's shape, or Adafactor's factors'
                _expect_shape(name, ds, like.shape)
                values.append((slot, path, _read_as(ds, like.dtype)))
    except legacy_optimizer.Unmapped as error:
        warnings.warn(fresh % error, stacklevel=6)
        model.set_train_state(train_state._replace(opt_state=opt_state))
        return
    for slot, path, value in values:
        value = jax.numpy.asarray(value)
        trees[slot] = value if path is None else set_path(trees[slot], path, value)
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
    model.set_train_state(train_state._replace(opt_state=optimizers.with_slots(opt_state, trees, iteration)))


def _expect_shape(name, ds, shape):
    if shape_of(ds) != tuple(shape):
        raise legacy_optimizer.Unmapped(f"array '{name}' has shape {shape_of(ds)}; its slot has "
                                        f"shape {tuple(shape)}")


def _read_as(ds, dtype):
    return np.asarray(read_raw(ds), dtype=dtype)


def _file_weight_names(f, model, paths):
    """The names the file's `model_weights` gives the trainable weights (`paths` order); the
    model's own names where the file has none (its layers are paired in order, as on load)."""
    group = member(f, "model_weights", h5py.Group) or f
    names = {}
    try:
        file_groups = [v for v in layer_datasets(group).values() if v]
    except FileFormatError:
        file_groups = []
    model_layers = [layer for layer in model.layers if layer.weights]
    if len(file_groups) == len(model_layers):
        names = _by_path(index_of(model), ((w, name) for layer, datasets in zip(model_layers, file_groups)
                                           for w, (name, _) in zip(layer.weights, datasets)))
    return [names.get(path, tf_name) for _, path, tf_name in paths]


def _iteration(ds):
    """The iteration count a dataset holds: one non-negative number."""
    if shape_of(ds) not in ((), (1,)) or ds.dtype.kind not in "biuf":
        raise FileFormatError(f"dataset '{path_of(ds)}' (the iteration count) must be one "
                              f"number; it has shape {shape_of(ds)} and dtype {ds.dtype}.")
    with file_part(f"dataset '{path_of(ds)}'"):
        iteration = int(np.asarray(ds[()]).reshape(-1)[0])
    if iteration < 0:
        raise FileFormatError(f"dataset '{path_of(ds)}' holds a negative iteration count "
                              f"({iteration}).")
    return iteration

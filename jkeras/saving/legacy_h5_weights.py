"""Keras's legacy weights layout: `layer_names`, then one group per layer holding its
`weight_names` and datasets (see shared/reference/H5_FORMAT.md); the `model_weights` group of
a whole-model file, or the root of a `save_weights` file.

Weights load by position in layer order (or by layer name), never by weight name, which is
what makes files from tf.keras 2 and Keras 3 interchangeable. Weights that only fit after
Keras 2's conversions (cuDNN RNN layouts, Keras 1 and Theano kernels) are converted as Keras 2
does (`legacy_weights`). A declared size is compared with the model before anything is read.
"""
import math

import h5py
import numpy as np

from jkeras.errors import FileFormatError
from jkeras.layers import paths
from jkeras.saving import legacy_weights
from jkeras.saving.h5_io import (assign_all, attr_text, has_names, member, path_of, read_dataset, read_names,
                                 queue_or_skip, read_raw, shape_of, write_names)
from jkeras.version import __version__


def write_weights(group, model):
    """`model.layers`' weights under `group` in Keras 2's layout: `layer_names`, then per layer
    its `weight_names` and one dataset per weight."""
    group.attrs["backend"] = b"jax"
    group.attrs["keras_version"] = f"jkeras-{__version__}".encode()
    layers = model.layers
    write_names(group, "layer_names", [layer.name for layer in layers])
    for layer in layers:
        g = group.create_group(layer.name)
        names = weight_names(layer)
        write_names(g, "weight_names", names)
        for name, w in zip(names, layer.weights):
            g.create_dataset(name, data=w.numpy())
    top = group.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.asarray([])


def weight_names(layer):
    """tf.keras-style names (`dense/kernel:0`, `lstm/lstm_cell/kernel:0`) in `layer.weights` order.

    A weight is named by its path in the layer's params tree, less the names tf.keras leaves
    out: that of `layer` itself when it is a nested graph model, and those of the layers directly
    inside any graph model below it. A weight outside the tree keeps its own name."""
    index = paths.index_of(layer)
    head = () if getattr(layer, "is_graph_model", False) else (layer.name,)
    graph_prefixes = frozenset(head + prefix for prefix in index.graph_prefixes())

    def name(w):
        try:
            return paths.h5_name(head + index.path(w), graph_prefixes)
        except KeyError:
            return w.name + ":0"
    return [name(w) for w in layer.weights]


def load_weights_from_group(group, model, by_name=False, skip_mismatch=False):
    """Match file layers to model layers (in order, or by name), check all, then assign."""
    file_groups = layer_datasets(group)
    model_layers = [layer for layer in model.layers if layer.weights]
    if by_name:
        pairs = [(layer, file_groups[layer.name]) for layer in model_layers if layer.name in file_groups]
    else:
        file_with_weights = [(n, v) for n, v in file_groups.items() if v]
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
        queue_or_skip(assignments, layer, values, problem, skip_mismatch)
    assign_all(assignments)


def layer_datasets(group):
    """`{layer name: [(weight name, h5py.Dataset)]}` in file order; nothing is read yet."""
    out = {}
    for name in read_names(group, "layer_names"):
        g = member(group, name, h5py.Group, f"'{path_of(group)}'")
        if g is None:
            raise FileFormatError(f"'{path_of(group)}' lists layer '{name}' but has no group for it.")
        weight_names_ = read_names(g, "weight_names") if has_names(g, "weight_names") else []
        datasets = _LayerDatasets()
        datasets.group = path_of(g)
        for wn in weight_names_:
            ds = member(g, wn, h5py.Dataset, f"layer group '{path_of(g)}'")
            if ds is None:
                raise FileFormatError(f"Layer '{name}' lists weight '{wn}' that the file lacks "
                                      f"(group '{path_of(g)}').")
            datasets.append((wn, ds))
        if name in out:
            raise FileFormatError(f"'{path_of(group)}' lists layer '{name}' twice in 'layer_names'.")
        out[name] = datasets
    return out


class _LayerDatasets(list):
    """`[(weight name, h5py.Dataset)]` of one layer; `.group` is its group's path."""
    group = None


def _file_origin(group):
    """`(keras_version, backend)` a weights group declares; Keras 2 reads no version as Keras 1."""
    version, backend = (attr_text(group, key) for key in ("keras_version", "backend"))
    return version, backend


def _layer_values(layer, datasets, origin):
    """`(values in layer.weights order, None)` or `(None, what does not fit)`.

    Shapes are compared before anything is read. Weights that only fit after Keras 2's
    conversions (cuDNN layouts, Keras 1 and Theano kernels) are read, converted, then
    compared; a file declaring far more than the layer holds is refused unread."""
    shapes = [shape_of(ds) for _, ds in datasets]
    group = getattr(datasets, "group", None)
    version, backend = origin
    plain = not legacy_weights.is_keras1(version) and backend != "theano"
    problem = _mismatch(layer, shapes, group)
    if plain and problem is None:
        return [read_dataset(ds, w) for (_, ds), w in zip(datasets, layer.weights)], None
    expected = sum(math.prod(w.shape) for w in layer.weights)
    declared = sum(math.prod(s) if s is not None else 0 for s in shapes)
    if declared > 2 * expected + 64 or len(datasets) > 4 * max(len(layer.weights), 1):
        return None, problem
    raw = [read_raw(ds) for _, ds in datasets]
    try:
        values = legacy_weights.preprocess(layer, raw, version, backend)
    except (FileFormatError, ValueError, IndexError) as error:
        return None, f"{problem or ''} {error}".strip()
    problem = _mismatch(layer, [v.shape for v in values], group)
    if problem:
        return None, problem
    return [np.asarray(v, dtype=w.value.dtype) for v, w in zip(values, layer.weights)], None


def _mismatch(layer, shapes, group=None):
    """A message when `shapes` (from the file) do not fit `layer.weights`, else None."""
    expected = [w.shape for w in layer.weights]
    got = [tuple(s) if s is not None else None for s in shapes]
    if expected != got:
        where = f" in group '{group}'" if group else ""
        return (f"Layer '{layer.name}' expects weights of shapes {expected}; the file has "
                f"{got}{where}.")
    return None

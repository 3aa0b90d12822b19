"""Keras 2.2-2.3's `keras.engine.saving`: saving and loading whole models and architectures, and
the weight-group functions that libraries call with an open `h5py` group and a list of layers."""
import types

import numpy as np

from jkeras.models import load_model, model_from_config, model_from_json, model_from_yaml, save_model
from jkeras.saving import h5_io, legacy_h5_weights, legacy_weights


def _as_model(layers):
    """The group readers and writers take a model; they only read its `layers`."""
    return types.SimpleNamespace(layers=list(layers))


def save_weights_to_hdf5_group(group, layers):
    """Write each layer's weights under `group` in Keras 2's layout (`layer_names`, one group per
    layer with its `weight_names`), as `model.save_weights` does for a whole model."""
    legacy_h5_weights.write_weights(group, _as_model(layers))


def load_weights_from_hdf5_group(f, layers, reshape=False):
    """Load `f` (an h5py group in Keras 2's layout) into `layers`, matched in order among the
    layers that have weights; all are checked before any is assigned."""
    _refuse_reshape(reshape)
    legacy_h5_weights.load_weights_from_group(f, _as_model(layers))


def load_weights_from_hdf5_group_by_name(f, layers, skip_mismatch=False, reshape=False):
    """Load `f` into the `layers` whose names it holds; with `skip_mismatch`, a layer whose
    weights do not fit is skipped with a warning instead of refused."""
    _refuse_reshape(reshape)
    legacy_h5_weights.load_weights_from_group(f, _as_model(layers), by_name=True, skip_mismatch=skip_mismatch)


def _refuse_reshape(reshape):
    if reshape:
        raise NotImplementedError("reshape=True (Keras 2.2's silent reshaping of weights whose shapes "
                                  "differ) is not supported: reshape the arrays yourself and call "
                                  "layer.set_weights.")


def save_attributes_to_hdf5_group(group, name, data):
    """Store the strings `data` as the attribute `name` of `group`, split into `name0`, `name1`, ...
    when it outgrows HDF5's 64 KB attribute limit (Keras 2.2-2.3's helper, as `layer_names` is stored)."""
    h5_io.write_names(group, name, [str(d) for d in data])


def load_attributes_from_hdf5_group(group, name):
    """The strings `save_attributes_to_hdf5_group` stored as `name` (chunks joined)."""
    return h5_io.read_names(group, name)


def preprocess_weights_for_loading(layer, weights, original_keras_version=None, original_backend=None,
                                   reshape=False):
    """`weights` (numpy arrays as a file of `original_keras_version`, `original_backend` holds them)
    in the layout `layer` expects: Keras 1 gate and kernel layouts, Theano's flipped kernels and
    cuDNN RNN weights converted as Keras 2 did. `reshape=True` also reshapes an array to its
    weight's shape when the sizes agree (Keras 2.2)."""
    version = "2" if original_keras_version is None else original_keras_version  # None: current
    values = legacy_weights.preprocess(layer, [np.asarray(w) for w in weights], version, original_backend)
    if reshape:
        values = [v.reshape(w.shape) if v.shape != tuple(w.shape) and v.size == np.prod(w.shape) else v
                  for v, w in zip(values, layer.weights)]
    return values


__all__ = ["load_attributes_from_hdf5_group", "load_model", "load_weights_from_hdf5_group",
           "load_weights_from_hdf5_group_by_name", "save_attributes_to_hdf5_group",
           "model_from_config", "model_from_json", "model_from_yaml", "preprocess_weights_for_loading",
           "save_model", "save_weights_to_hdf5_group"]

"""Keras's `.h5` model file, both directions: root attributes `keras_version`, `backend`,
`model_config`, `training_config`; group `model_weights` (`legacy_h5_weights`); group
`optimizer_weights` (`legacy_h5_optimizer`). Also the legacy `save_weights` file, and the
weights reader for any `.h5` (legacy or Keras 3 layout, told apart by structure).

A damaged or foreign file raises `FileFormatError`, a bad config `ConfigError`, a config
that would run code `UnsafeLoadError` (all `jkeras.errors`, all `ValueError`s).
"""
import json
import os
import warnings

import h5py

from jkeras.errors import ConfigError, FileFormatError
from jkeras.layers.paths import index_of
from jkeras.saving import serialization
from jkeras.saving.h5_io import (atomic_file, file_part, member, open_h5, parse_json_attr, path_of, read_boundary,
                                 with_file)
from jkeras.saving.keras3_weights import is_keras3_weights_file, load_keras3_weights
from jkeras.saving.legacy_h5_optimizer import load_optimizer, write_optimizer
from jkeras.saving.legacy_h5_weights import load_weights_from_group, write_weights
from jkeras.saving.training_config import compile_checked
from jkeras.version import __version__


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Write architecture, weights, training config and optimizer state to one `.h5`."""
    _warn_if_shared_with_nested(model)
    config = json.dumps(serialization.model_config(model))
    training = None
    if include_optimizer and getattr(model, "compiled", False):
        training = json.dumps(model.get_compile_config())
    with atomic_file(filepath, overwrite) as f:
        f.attrs["keras_version"] = f"jkeras-{__version__}"
        f.attrs["backend"] = "jax"
        f.attrs["model_config"] = config.encode("utf8")
        if training is not None:
            f.attrs["training_config"] = training.encode("utf8")
        write_weights(f.create_group("model_weights"), model)
        train_state = model.get_train_state() if training is not None else None
        if train_state is not None and train_state.opt_state is not None:
            write_optimizer(f.create_group("optimizer_weights"), model, train_state)


def _warn_if_shared_with_nested(model):
    """A layer used both by a nested model and by its parent is written at both places: the
    model loaded back holds two separate layers, as tf.keras 2 loads its own such files."""
    shared = sorted({path[-2] for group in index_of(model).tied_paths() for path in group[1:]})
    if shared:
        warnings.warn(f"Layer(s) {shared} of model '{model.name}' are shared by a nested model and "
                      "its parent: the file holds their weights at each place, and a model loaded from "
                      "it has separate layers there (as tf.keras 2 does). Save the weights and load them "
                      "into the model rebuilt in code to keep them shared.",
                      stacklevel=5)


def save_weights(model, filepath, overwrite=True):
    """Weights only, in Keras's legacy layout at the file's root."""
    with atomic_file(filepath, overwrite) as f:
        write_weights(f, model)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a Keras `.h5`: architecture, weights, and (if `compile`) its training setup.

    `custom_objects` are visible to the whole load (layers, activations, losses, metrics).
    A damaged or foreign file raises `FileFormatError`, a bad config `ConfigError`, a
    config that would run code `UnsafeLoadError` (all `jkeras.errors`, all `ValueError`s).
    """
    with serialization.custom_object_scope(custom_objects or {}), read_boundary(filepath, "load the model"):
        return _load_model(filepath, custom_objects, compile, safe_mode)


def _load_model(filepath, custom_objects, compile, safe_mode):
    path = os.fspath(filepath)
    with open_h5(filepath) as f:
        try:
            config = parse_json_attr(f, "model_config")
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
        group = member(f, "model_weights", h5py.Group) or f
        with_file(path, load_weights_from_group, group, model)
        training = with_file(path, parse_json_attr, f, "training_config")
        if compile and training is not None:
            if not isinstance(training, dict):
                raise FileFormatError(f"{path}: attribute 'training_config' must be a JSON object; "
                                      f"it is {type(training).__name__}.")
            with file_part("attribute 'training_config'"):
                compile_checked(model, training, custom_objects, f"{path}: attribute 'training_config'")
            opt_group = member(f, "optimizer_weights", h5py.Group)
            if opt_group is not None:
                with_file(path, load_optimizer, opt_group, model,
                          (training.get("jkeras") or {}).get("optimizer_scalars") or {})
    return model


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a legacy weights file, a whole-model file (its `model_weights` group), or
    Keras 3's `model.weights.h5` layout (told apart by their structure, not the file name).

    `skip_mismatch=True` skips (with a warning naming each) the layers whose weights do not fit.
    Any failure raises `FileFormatError` and leaves the model's weights as they were.
    """
    path = os.fspath(filepath)
    with read_boundary(filepath, "load weights"), open_h5(filepath) as f:
        if is_keras3_weights_file(f):
            with_file(path, load_keras3_weights, f, model, by_name, skip_mismatch)
            return
        group = f
        if "layer_names" not in f.attrs and not any(k.startswith("layer_names") for k in f.attrs):
            group = member(f, "model_weights", h5py.Group) or f
        with file_part(f"attributes of '{path_of(group)}'"):
            named = any(k == "layer_names" or (k.startswith("layer_names") and k[11:].isdigit())
                        for k in group.attrs)
        if not named:
            raise FileFormatError(f"{path} is HDF5 but not a Keras weights file: it has "
                                  "neither `layer_names` (legacy layout) nor `layers/` (Keras 3's "
                                  "`.weights.h5` layout).")
        with_file(path, load_weights_from_group, group, model, by_name, skip_mismatch)

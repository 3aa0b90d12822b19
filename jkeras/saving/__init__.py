"""Saving and loading: Keras `.h5` files, JSON/YAML architectures, custom objects."""
from jkeras.errors import ConfigError, JkerasError, UnsafeLoadError
from jkeras.saving import api, checkpoint, hdf5, orbax
from jkeras.saving.api import load_model, load_weights, save_model, save_weights
from jkeras.saving.orbax import CheckpointError, restore_checkpoint, save_checkpoint
from jkeras.saving.hdf5 import FileFormatError
from jkeras.saving.json_yaml import model_from_json, model_from_yaml
from jkeras.saving.serialization import (CustomObjectScope, custom_object_scope, get_registered_name,
                                         get_registered_object, model_from_config, register_keras_serializable)
from jkeras.backend.registry import get_custom_objects
from jkeras.utils.serialization_lib import deserialize_keras_object, serialize_keras_object


__all__ = ["CheckpointError", "ConfigError", "CustomObjectScope", "FileFormatError", "JkerasError",
           "UnsafeLoadError", "custom_object_scope", "deserialize_keras_object", "get_custom_objects", "get_registered_name",
           "get_registered_object", "load_model", "load_weights", "model_from_config", "model_from_json",
           "model_from_yaml", "register_keras_serializable", "restore_checkpoint", "save_checkpoint",
           "save_model", "save_weights", "serialize_keras_object"]

"""Saving and loading: Keras `.h5` files, JSON/YAML architectures, custom objects."""
from jkeras.saving.hdf5 import FileFormatError, load_model, load_weights, save_model, save_weights
from jkeras.saving.serialization import (CustomObjectScope, custom_object_scope, model_from_config,
                                         model_from_json, model_from_yaml)

__all__ = ["CustomObjectScope", "FileFormatError", "custom_object_scope", "load_model",
           "load_weights", "model_from_config", "model_from_json", "model_from_yaml", "save_model",
           "save_weights"]

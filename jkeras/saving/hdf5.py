"""Keras's `.h5` files, by the names this module has always had; each format lives in its own
module now:

- `h5_io`: the HDF5 plumbing every reader and writer shares (atomic writes, checked reads);
- `legacy_h5`: the model file (`model_config`, `training_config`, `model_weights`,
  `optimizer_weights`) and the legacy weights file;
- `legacy_h5_weights`: the legacy weights layout (`layer_names`, `weight_names`);
- `legacy_h5_optimizer`: the optimizer state in `optimizer_weights`, from any Keras's layout;
- `keras3_weights`: Keras 3's `model.weights.h5` layout;
- `training_config`: the compile settings a model file records.

`jkeras.saving.api` chooses among them from a path.
"""
from jkeras.errors import FileFormatError
from jkeras.saving.api import save_weights
from jkeras.saving.keras3_weights import is_keras3_weights_file, load_keras3_weights
from jkeras.saving.legacy_h5 import load_model, load_weights, save_model
from jkeras.saving.legacy_h5_optimizer import trainable_paths
from jkeras.saving.legacy_h5_weights import load_weights_from_group, weight_names

__all__ = ["FileFormatError", "is_keras3_weights_file", "load_keras3_weights", "load_model", "load_weights",
           "load_weights_from_group", "save_model", "save_weights", "trainable_paths", "weight_names"]

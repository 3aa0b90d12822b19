"""Orbax checkpoints by this module's old name (callbacks and user code import it); the format
lives in `jkeras.saving.orbax`."""
from jkeras.saving.api import MODEL_SUFFIXES
from jkeras.saving.orbax import (CheckpointError, latest_meta, load_model, restore_checkpoint, save_checkpoint,
                                 training_tree)


def is_checkpoint_path(path):
    """Paths without an HDF5 (or `.keras`) suffix are Orbax checkpoint folders (see
    `jkeras.saving.api.format_of`, which also weighs `save_format`)."""
    return not str(path).endswith(MODEL_SUFFIXES)


__all__ = ["CheckpointError", "is_checkpoint_path", "latest_meta", "load_model", "restore_checkpoint",
           "save_checkpoint", "training_tree"]

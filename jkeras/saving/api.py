"""The saving dispatcher: `save_model`, `load_model`, `save_weights`, `load_weights`.

`format_of` is the one place that chooses a file format from a path (as Keras 3's
`saving_api.py` does), and each format lives in its own module:

- `"h5"`: Keras's legacy HDF5 file (a whole model, or weights at the file's root);
- `"weights_h5"`: a name ending in `.weights.h5`, where `save_weights` writes the layout
  Keras 3 and tf.keras 2.13+ expect under that name (a whole model written there keeps
  the legacy layout);
- `"orbax"`: a checkpoint folder holding everything training changes (exact resume).

On read, a folder is a checkpoint and a file is HDF5; inside an HDF5 file the legacy or
Keras 3 layout is told apart by its structure, since a `.h5` name may hold either.
With several processes only process 0 writes, so they do not overwrite each other.
"""
import os

import jax

from jkeras.saving import keras3_weights, legacy_h5, orbax

HDF5_SUFFIXES = (".h5", ".hdf5")
MODEL_SUFFIXES = HDF5_SUFFIXES + (".keras",)  # a path ending so names a file, never a folder


def format_of(filepath, save_format=None, *, reading=False, what="save"):
    """The format `filepath` is read or written in: `"h5"`, `"weights_h5"` or `"orbax"`.

    Writing, a path without an HDF5 (or `.keras`) suffix is an Orbax checkpoint folder
    (`save_format` None, "tf" or "orbax"); `save_weights` (`what="save_weights"`) writes
    HDF5 only. A `.keras` path is refused: Keras 3's zip format is not written. Reading,
    a folder is a checkpoint and anything else an HDF5 file. `what` names the caller in
    the errors (a TypeError for a path that is not a str or os.PathLike, a ValueError for
    a path or `save_format` that names no format the caller writes).
    """
    check_path(filepath, what)
    path = str(filepath)
    if reading:
        if os.path.isdir(os.fspath(filepath)):
            return "orbax"
    elif what != "save_weights" and save_format in (None, "tf", "orbax") and not path.endswith(MODEL_SUFFIXES):
        return "orbax"
    else:
        _check_h5(path, save_format, what)
    return "weights_h5" if path.endswith(".weights.h5") else "h5"


def save_model(model, filepath, overwrite=True, include_optimizer=True, save_format=None, **kw):
    """The whole model: to a Keras `.h5` file, or to an Orbax checkpoint folder (`max_to_keep`
    in `kw` bounds how many checkpoints the folder keeps)."""
    max_to_keep = kw.pop("max_to_keep", None)
    if kw:
        raise TypeError(f"save_model() got unexpected keyword arguments: {sorted(kw)}.")
    check_path(filepath, "save")
    if not writes_files():
        return
    if format_of(filepath, save_format, what="save") == "orbax":
        orbax.save_checkpoint(filepath, model, max_to_keep=max_to_keep)
        return
    legacy_h5.save_model(model, filepath, overwrite=overwrite, include_optimizer=include_optimizer)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """A model from a Keras `.h5` file or from an Orbax checkpoint folder (`model.save(dir)`)."""
    if format_of(filepath, reading=True, what="load_model") == "orbax":
        return orbax.load_model(filepath, custom_objects, compile, safe_mode)
    return legacy_h5.load_model(filepath, custom_objects, compile, safe_mode)


def save_weights(model, filepath, overwrite=True, save_format=None):
    """Weights only, to an HDF5 file: Keras's legacy layout, or Keras 3's for `.weights.h5`."""
    check_path(filepath, "save_weights")
    if not writes_files():
        return
    layout = keras3_weights if format_of(filepath, save_format, what="save_weights") == "weights_h5" else legacy_h5
    layout.save_weights(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Weights from a Keras `.h5` (weights-only in either layout, or whole-model), by order or
    by layer name."""
    check_path(filepath, "load_weights")
    legacy_h5.load_weights(model, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


def writes_files():
    """Whether this process writes files: with several processes only process 0 does."""
    return jax.process_index() == 0


def check_path(filepath, what):
    """Refuse a `filepath` that is not a str or os.PathLike (a TypeError naming `what`)."""
    if not isinstance(filepath, (str, os.PathLike)):
        raise TypeError(f"{what}() needs a file path (a str or os.PathLike) as `filepath`; received "
                        f"{type(filepath).__name__}.")


def _check_h5(path, save_format, what):
    if path.endswith(".keras"):  # an HDF5 file under that name would not open in Keras 3
        raise ValueError(f"{what}() writes Keras's HDF5 format, which Keras 3 reads too; it cannot "
                         f"write Keras 3's `.keras` zip format. Give a path ending in .h5; received "
                         f"{path!r}.")
    if save_format not in (None, "h5") or not path.endswith(HDF5_SUFFIXES):
        raise ValueError(f"{what}() writes Keras's HDF5 format: give a path ending in .h5 or "
                         f".hdf5; received {path!r} (save_format={save_format!r}).")


__all__ = ["HDF5_SUFFIXES", "MODEL_SUFFIXES", "check_path", "format_of", "load_model", "load_weights",
           "save_model", "save_weights", "writes_files"]

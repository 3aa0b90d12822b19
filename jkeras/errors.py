"""The errors jkeras raises for bad files and bad configs: one hierarchy.

    Exception
     └── JkerasError                      anything jkeras itself refuses
          ├── FileFormatError (ValueError) a part of a file is wrong: an `.h5` attribute,
          │                                group or dataset, or a whole file that is not
          │                                a Keras file
          ├── ConfigError (ValueError)     a model/layer config is wrong: unknown class,
          │    │                           wrong types, a cycle in `inbound_nodes`, a
          │    │                           declared size too large to build
          │    └── UnsafeLoadError         loading it would run code from the file
          │                                (a `Lambda`'s bytecode, YAML Python tags);
          │                                refused under `safe_mode=True`
          └── CheckpointError (ValueError) an Orbax checkpoint folder is missing, damaged,
                                           or does not fit the model

Every class but `JkerasError` is also a `ValueError`, so `except ValueError`
(what Keras code catches) keeps working. Each message names the part at fault:
the file and the attribute/group/dataset, the layer name, or the config path
(`config.layers[2].config.units`).

Loaders convert low-level failures (h5py's `OSError`/`KeyError`, json's and
yaml's parse errors, numpy's casting errors, Orbax's exceptions) at their
boundary into these classes with `raise ... from error`, so the original
exception stays available as `__cause__`. A missing file is the one exception:
it stays a `FileNotFoundError`, as in Keras.

The old names stay importable where they were first defined:
`jkeras.saving.hdf5.FileFormatError`, `jkeras.saving.checkpoint.CheckpointError`
and `jkeras.saving.FileFormatError`/`CheckpointError` are these classes.
"""

__all__ = ["JkerasError", "FileFormatError", "ConfigError", "CheckpointError", "UnsafeLoadError"]


class JkerasError(Exception):
    """Base of every error jkeras raises for a bad file or config."""


class FileFormatError(JkerasError, ValueError):
    """A file (or a part of it: attribute, group, dataset) is not what a Keras file holds,
    or does not fit the model it is loaded into."""


class ConfigError(JkerasError, ValueError):
    """A model or layer config is wrong: an unknown class, a value of the wrong type, a
    cycle in the layer graph, a number too large to build."""


class UnsafeLoadError(ConfigError):
    """Loading would run code stored in the file (a Lambda's bytecode, a YAML Python tag);
    refused under `safe_mode=True` (and, for bytecode, always)."""


class CheckpointError(JkerasError, ValueError):
    """An Orbax checkpoint folder is missing, unreadable, damaged, or does not fit the model."""

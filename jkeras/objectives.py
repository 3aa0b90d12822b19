"""Keras 2's `keras.objectives`: the Keras 1 name of `keras.losses`, kept by Keras 2 as a plain
re-export (`from .losses import *`), so every loss is the same object under both paths."""
import types as _types

from jkeras import losses as _losses

globals().update({name: value for name, value in vars(_losses).items()
                  if not name.startswith("_") and not isinstance(value, _types.ModuleType)})

"""Keras 2's `keras.engine.training`: `Model`."""
from jkeras.models.model import Model

__all__ = ["Model"]

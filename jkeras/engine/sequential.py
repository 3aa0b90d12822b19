"""Keras 2's `keras.engine.sequential`: `Sequential`."""
from jkeras.models.sequential import Sequential

__all__ = ["Sequential"]

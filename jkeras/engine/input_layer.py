"""Keras 2's `keras.engine.input_layer`: `Input` and `InputLayer`."""
from jkeras.layers.core import Input, InputLayer

__all__ = ["Input", "InputLayer"]

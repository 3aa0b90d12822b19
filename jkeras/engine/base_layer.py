"""Keras 2's `keras.engine.base_layer`: `Layer`, `InputSpec` and `Node`."""
from jkeras.layers.base import InputSpec, Layer, Node

__all__ = ["InputSpec", "Layer", "Node"]

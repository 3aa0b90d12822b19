"""Keras 2's `keras.engine.base_layer`: `Layer`, `InputSpec` and `Node`."""
from jkeras.layers.base import InputSpec, Layer, Node


def disable_tracking(func):
    """Keras 2.3's decorator that stopped a method's attribute assignments from being tracked as
    sublayers or weights; jkeras tracks none by assignment alone, so `func` is returned as it is."""
    return func


__all__ = ["InputSpec", "Layer", "Node", "disable_tracking"]

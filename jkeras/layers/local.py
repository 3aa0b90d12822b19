"""Keras 2's `keras.layers.local`: the locally connected layers, the same classes as
`jkeras.layers`'s."""
from jkeras.legacy.paths import keras2_names

__all__ = ["LocallyConnected1D", "LocallyConnected2D"]
__getattr__ = keras2_names(__name__, __all__)

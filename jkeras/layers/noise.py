"""Keras 2's `keras.layers.noise`: the noise layers, the same classes as `jkeras.layers`'s."""
from jkeras.legacy.paths import keras2_names

__all__ = ["GaussianNoise", "GaussianDropout", "AlphaDropout"]
__getattr__ = keras2_names(__name__, __all__)

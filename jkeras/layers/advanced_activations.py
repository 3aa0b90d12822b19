"""Keras 2's `keras.layers.advanced_activations`: the activation layers, the same classes as
`jkeras.layers`'s."""
from jkeras.legacy.paths import keras2_names

__all__ = ["LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU"]
__getattr__ = keras2_names(__name__, __all__)

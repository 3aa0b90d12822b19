"""Keras 2.0-2.2's `keras.legacy.layers`: the deprecated layers, living in `jkeras.layers.legacy`
(floor 3) and lent to this path on first use, so importing it loads no layer."""
from jkeras.legacy.paths import keras2_names

__all__ = ["AtrousConv1D", "AtrousConv2D", "AtrousConvolution1D", "AtrousConvolution2D", "ConvRecurrent2D", "Highway", "MaxoutDense", "Merge",
           "Recurrent", "merge"]

__getattr__ = keras2_names(__name__, __all__, package="jkeras.layers.legacy")

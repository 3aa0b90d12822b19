"""Keras layers, one module per family."""
from jkeras.layers.base import Layer, Variable
from jkeras.layers.core import Dense, Input, InputLayer

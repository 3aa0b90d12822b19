"""Keras 2's `keras.engine`: the graph-building classes under their Keras 2.0-2.3 module paths, the
same objects as `jkeras.layers`'s and `jkeras.models`'s (a thin shim; nothing is defined here)."""
from jkeras.engine.base_layer import InputSpec, Layer
from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.network import get_source_inputs
from jkeras.engine.training import Model

__all__ = ["Input", "InputLayer", "InputSpec", "Layer", "Model", "get_source_inputs"]

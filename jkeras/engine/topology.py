"""Keras 2.0-2.1's `keras.engine.topology`: the graph classes before they moved to base_layer,
input_layer and network."""
from jkeras.engine.base_layer import InputSpec, Layer, Node
from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.network import Network, get_source_inputs

Container = Network  # Keras 2.0-2.1's name for Network

__all__ = ["Container", "Input", "InputLayer", "InputSpec", "Layer", "Network", "Node", "get_source_inputs"]

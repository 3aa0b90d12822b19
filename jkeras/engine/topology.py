"""Keras 2.0-2.1's `keras.engine.topology`: the graph classes before they moved to base_layer,
input_layer and network, and the h5 weight-group functions before they moved to engine.saving."""
from jkeras.engine.base_layer import InputSpec, Layer, Node
from jkeras.engine.input_layer import Input, InputLayer
from jkeras.engine.network import Network, get_source_inputs
from jkeras.engine.saving import (load_weights_from_hdf5_group, load_weights_from_hdf5_group_by_name,
                                  preprocess_weights_for_loading, save_weights_to_hdf5_group)

Container = Network  # Keras 2.0-2.1's name for Network

__all__ = ["Container", "Input", "InputLayer", "InputSpec", "Layer", "Network", "Node", "get_source_inputs",
           "load_weights_from_hdf5_group", "load_weights_from_hdf5_group_by_name", "preprocess_weights_for_loading",
           "save_weights_to_hdf5_group"]

"""Keras 2's `keras.utils.layer_utils`: parameter counts, the summary table, a graph's source
inputs and kernel conversion between the Theano and TensorFlow conventions.

`print_summary` lives with the models (a floor above) and is found here on first use.
"""
import numpy as np

from jkeras.utils.conv_utils import convert_kernel

_CONV_CLASSES = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose")


def count_params(weights):
    """The number of scalars in `weights` (variables or arrays), each distinct object once."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(int(np.prod([0 if d is None else d for d in w.shape]))
                   for w in unique if hasattr(w, "shape")))


def get_source_inputs(tensor, layer=None, node_index=None):
    """The input tensors (of `Input` layers) that `tensor` is computed from, in first-seen order."""
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if layer is None or node_index:
        layer, node_index, _ = tensor._keras_history
    if not layer._inbound_nodes:
        return [tensor]
    node = layer._inbound_nodes[node_index]
    parents = node.parent_tensors
    if not parents:
        return [tensor]
    sources = []
    for parent in parents:
        for x in get_source_inputs(parent):
            if all(x is not seen for seen in sources):
                sources.append(x)
    return sources


def convert_all_kernels_in_model(model):
    """Flip the kernels of every Conv1D/2D/3D/Conv2DTranspose layer of `model`, in place."""
    for layer in model.layers:
        if type(layer).__name__ in _CONV_CLASSES:
            layer.kernel.assign(convert_kernel(np.asarray(layer.kernel)))


def convert_dense_weights_data_format(dense, previous_feature_map_shape,
                                      target_data_format="channels_first"):
    """Reorder the rows of a Dense kernel after a Flatten when the image data format changed.

    `previous_feature_map_shape` is the (h, w, c) or (c, h, w) shape before the Flatten, in the
    format the weights were trained in (the other one than `target_data_format`).
    """
    kernel, *rest = dense.get_weights()
    if target_data_format == "channels_first":
        c, h, w = previous_feature_map_shape
        original = (h, w, c)
        rows = kernel.reshape(original + (-1,)).transpose(2, 0, 1, 3)
    elif target_data_format == "channels_last":
        h, w, c = previous_feature_map_shape
        original = (c, h, w)
        rows = kernel.reshape(original + (-1,)).transpose(1, 2, 0, 3)
    else:
        raise ValueError(f"target_data_format must be 'channels_first' or 'channels_last'; "
                         f"received {target_data_format!r}.")
    dense.set_weights([rows.reshape(kernel.shape)] + rest)


def __getattr__(name):
    if name == "print_summary":
        from jkeras.models.summary import print_summary  # the models sit above utils
        return print_summary
    raise AttributeError(f"module 'jkeras.utils.layer_utils' has no attribute {name!r}")

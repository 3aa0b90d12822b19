"""Keras 2's weight conversions on load: what its `preprocess_weights_for_loading` does.

A layer's weights as a file holds them are brought into the layout of the layer they
load into: between `CuDNNLSTM`/`CuDNNGRU` and `LSTM`/`GRU(reset_after=True)` both ways
(also inside `Bidirectional`, `TimeDistributed` and nested models); Keras 1's per-gate
LSTM/GRU weights and convolution kernel layouts when the file says it is a Keras 1 file
(no `keras_version`, or `1.x`); and Theano's flipped convolution kernels when the file
says `backend` is `theano`. Everything else passes through unchanged.
"""
import numpy as np

from jkeras.errors import FileFormatError
from jkeras.layers.cudnn_recurrent import cudnn_to_keras, keras_to_cudnn

_CONV = ("Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "ConvLSTM2D")


def is_keras1(version):
    """Keras 2 treats a weights group without `keras_version` as Keras 1's."""
    return version is None or version == "1" or version.startswith("1.")


def preprocess(layer, values, version, backend):
    """`values` (numpy arrays, the file's order) in the layout `layer.weights` expects."""
    values = list(values)
    kind = type(layer).__name__
    if kind == "Bidirectional":
        half = len(values) // 2
        values = (preprocess(layer.forward_layer, values[:half], version, backend)
                  + preprocess(layer.backward_layer, values[half:], version, backend))
    elif kind == "TimeDistributed":
        values = preprocess(layer.layer, values, version, backend)
    elif getattr(layer, "is_graph_model", False):
        values = _nested_model(layer, values, version, backend)
    if is_keras1(version):
        values = _from_keras1(layer, kind, values)
    if kind in _CONV and values:
        values = _conv_layout(layer, kind, values, backend)
    return _cudnn(layer, kind, values)


def _nested_model(model, values, version, backend):
    """Keras 2's order for a nested model: every sublayer's trainable weights, then the rest."""
    out = []
    for trainable in (True, False):
        for sub in model.layers:
            count = len(sub.trainable_weights) if trainable else len(sub.weights) - len(sub.trainable_weights)
            if count:
                out += preprocess(sub, values[:count], version, backend)
                values = values[count:]
    return out + values


def _join(values, order):
    """Keras 1's per-gate arrays joined along the last axis in Keras 2's gate order."""
    return [np.concatenate([values[i + k] for i in order], axis=-1) for k in range(3)]


def _from_keras1(layer, kind, values):
    if kind == "Conv1D" and values[0].ndim == 4:
        kernel = values[0]
        if kernel.shape[:2] != (layer.kernel_size[0], 1) or kernel.shape[3] != layer.filters:
            kernel = np.transpose(kernel, (2, 3, 1, 0))  # (filters, input_dim, length, 1)
        values[0] = kernel[:, 0, :, :]
    elif kind == "Conv2D" and layer.data_format == "channels_first":
        values[0] = np.transpose(values[0], (2, 3, 1, 0))
    elif kind == "Conv2DTranspose":
        axes = (0, 1, 3, 2) if layer.data_format == "channels_last" else (2, 3, 0, 1)
        values[0] = np.transpose(values[0], axes)
    elif kind == "Conv3D" and layer.data_format == "channels_first":
        values[0] = np.transpose(values[0], (2, 3, 4, 1, 0))
    elif kind == "GRU" and len(values) == 9:
        values = _join(values, (0, 3, 6))  # z, r, h
    elif kind in ("LSTM", "ConvLSTM2D") and len(values) == 12:
        values = _join(values, (0, 6, 3, 9))  # Keras 1: i, c, f, o; Keras 2: i, f, c, o
        if kind == "ConvLSTM2D" and layer.data_format == "channels_first":
            values[0] = np.transpose(values[0], (2, 3, 1, 0))
            values[1] = np.transpose(values[1], (2, 3, 1, 0))
    return values


def _flip(kernel):
    """Theano's convolution is the flipped correlation: reverse every spatial axis."""
    return np.copy(kernel[(slice(None, None, -1),) * (kernel.ndim - 2)])


def _conv_layout(layer, kind, values, backend):
    expected = tuple(layer.weights[0].shape)
    if backend == "theano":
        values[0] = _flip(values[0])
        if kind == "ConvLSTM2D":
            values[1] = _flip(values[1])
    elif values[0].shape != expected and values[0].ndim == 4:
        values[0] = np.transpose(values[0], (3, 2, 0, 1))
        if kind == "ConvLSTM2D":
            values[1] = np.transpose(values[1], (3, 2, 0, 1))
    return values


def _cudnn(layer, kind, values):
    """Between the cuDNN layout and LSTM's / reset-after GRU's, told apart by the bias shape."""
    if kind not in ("LSTM", "CuDNNLSTM", "GRU", "CuDNNGRU") or len(values) != 3:
        return values
    units = values[1].shape[0]
    bias = tuple(values[2].shape)
    if kind in ("LSTM", "CuDNNLSTM"):
        layouts = {(8 * units,): "CuDNNLSTM", (4 * units,): "LSTM"}
        source, target = layouts.get(bias), kind
        if source is None:
            raise FileFormatError(f"Layer '{layer.name}' ({kind}): the file's bias has shape {bias}; "
                                  f"an LSTM of {units} units has ({4 * units},), a CuDNNLSTM "
                                  f"({8 * units},).")
    else:
        layouts = {(6 * units,): "CuDNNGRU", (2, 3 * units): "GRU(reset_after=True)",
                   (3 * units,): "GRU(reset_after=False)"}
        source = layouts.get(bias)
        if source is None:
            raise FileFormatError(f"Layer '{layer.name}' ({kind}): the file's bias has shape {bias}; "
                                  f"a GRU of {units} units has (2, {3 * units}) or ({3 * units},), "
                                  f"a CuDNNGRU ({6 * units},).")
        target = kind if kind == "CuDNNGRU" else f"GRU(reset_after={bool(layer.reset_after)})"
        if source != target and "GRU(reset_after=False)" in (source, target):
            raise FileFormatError(f"Layer '{layer.name}': weights of a {source} do not load into a "
                                  f"{target} (Keras 2 converts only between CuDNNGRU and "
                                  "GRU(reset_after=True)).")
    if source == target:
        return values
    cell = "lstm" if "LSTM" in kind else "gru"
    convert = cudnn_to_keras if source.startswith("CuDNN") else keras_to_cudnn
    return [np.asarray(v) for v in convert(cell, *values)]

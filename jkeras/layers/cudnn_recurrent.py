"""Keras 2.1-2.3's `CuDNNLSTM` and `CuDNNGRU`: an LSTM and a reset-after GRU with cuDNN's fixed
activations (tanh, sigmoid) and cuDNN's own weight layout, saved and loaded under their names.

The weights are kept as Keras 2 wrote them: each gate's input kernel holds the
`(units, input_dim)` matrix cuDNN reads, stored row-major in an `(input_dim, units)`
array; each gate's recurrent kernel is transposed; the bias is the input biases
followed by the recurrent ones (`8 * units` for the LSTM, `6 * units` for the GRU).
The step converts them to `LSTM`/`GRU`'s layout and runs those layers' cells, so
the numbers equal an `LSTM`/`GRU` loaded with Keras 2's converted weights.

The conversions (`cudnn_to_keras`, `keras_to_cudnn`) work on numpy and jax arrays
alike; `jkeras.saving` uses them to load one layout's weights into the other.
"""
import jax.numpy as jnp

from jkeras import initializers
from jkeras.backend.random import split_keys
from jkeras.layers.recurrent import GRU, LSTM
from jkeras.layers.recurrent_cells import GRUCell, LSTMCell

_LSTM_GATES, _GRU_GATES = 4, 3


def _kernel_from_cudnn(kernel, gates):
    """Per gate: the row-major `(units, input_dim)` matrix read back as `(input_dim, units)`."""
    input_dim, width = kernel.shape
    units = width // gates
    per_gate = kernel.reshape(input_dim, gates, units).transpose(1, 0, 2)
    return per_gate.reshape(gates, units, input_dim).transpose(2, 0, 1).reshape(input_dim, width)


def _kernel_to_cudnn(kernel, gates):
    """The inverse of `_kernel_from_cudnn`."""
    input_dim, width = kernel.shape
    units = width // gates
    per_gate = kernel.reshape(input_dim, gates, units).transpose(1, 2, 0)
    return per_gate.reshape(gates, input_dim, units).transpose(1, 0, 2).reshape(input_dim, width)


def _recurrent_swap(kernel, gates):
    """Each gate's square recurrent kernel transposed (its own inverse)."""
    units = kernel.shape[0]
    return kernel.reshape(units, gates, units).transpose(2, 1, 0).reshape(units, gates * units)


def cudnn_to_keras(kind, kernel, recurrent_kernel, bias):
    """`[kernel, recurrent_kernel, bias]` of `LSTM` (kind "lstm") or `GRU(reset_after=True)`
    (kind "gru") from a `CuDNNLSTM`/`CuDNNGRU`'s weights: LSTM biases summed, GRU's split in rows."""
    gates = _LSTM_GATES if kind == "lstm" else _GRU_GATES
    half = bias.shape[0] // 2
    new_bias = bias[:half] + bias[half:] if kind == "lstm" else bias.reshape(2, half)
    return [_kernel_from_cudnn(kernel, gates), _recurrent_swap(recurrent_kernel, gates), new_bias]


def keras_to_cudnn(kind, kernel, recurrent_kernel, bias):
    """The inverse of `cudnn_to_keras`: an LSTM's bias is split evenly in two (as Keras 2 does;
    only the sum counts), a reset-after GRU's two rows are laid end to end."""
    gates = _LSTM_GATES if kind == "lstm" else _GRU_GATES
    new_bias = (0.5 * bias)[None].repeat(2, axis=0).reshape(-1) if kind == "lstm" else bias.reshape(-1)
    return [_kernel_to_cudnn(kernel, gates), _recurrent_swap(recurrent_kernel, gates), new_bias]


class _CuDNNLSTMCell(LSTMCell):
    """An LSTM cell whose bias is cuDNN's `8 * units` (input biases, then recurrent ones)."""

    def _bias_shape(self):
        return (8 * self.units,)

    def _init_bias(self, key):
        if not self.unit_forget_bias:
            return self.bias_initializer(key, self._bias_shape(), self.dtype)
        # Keras 2: initializer for 5 * units, ones for the recurrent forget gate, then 2 * units.
        k_a, k_b = split_keys(key)
        units = self.units
        return jnp.concatenate([jnp.asarray(self.bias_initializer(k_a, (5 * units,), self.dtype)),
                                jnp.ones((units,), self.dtype),
                                jnp.asarray(self.bias_initializer(k_b, (2 * units,), self.dtype))])


class _CuDNNGRUCell(GRUCell):
    """A reset-after GRU cell whose bias is cuDNN's flat `6 * units`."""

    def _bias_shape(self):
        return (6 * self.units,)


class _CuDNNMixin:
    """Runs the LSTM/GRU machinery on weights converted from the cuDNN layout at each call."""
    _kind = None
    _own_keys = ()

    def apply(self, params, state, inputs, **kwargs):
        name = self.cell.name
        w = params[name]
        kernel, recurrent, bias = cudnn_to_keras(self._kind, w["kernel"], w["recurrent_kernel"],
                                                 w["bias"])
        converted = {**params, name: {**w, "kernel": kernel, "recurrent_kernel": recurrent,
                                      "bias": bias}}
        return super().apply(converted, state, inputs, **kwargs)

    def get_config(self):
        """Keras 2's keys: the layer's, the initializers', regularizers' and constraints'."""
        full = super().get_config()
        keys = ("name", "trainable", "batch_input_shape", "dtype", "return_sequences",
                "return_state", "go_backwards", "stateful", "units") + self._own_keys + (
            "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
            "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint")
        return {k: full[k] for k in keys if k in full}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("cell", "unroll", "zero_output_for_mask", "time_major", "implementation"):
            config.pop(key, None)
        return cls(**config)


def _reject_fixed(layer, kwargs):
    fixed = sorted(set(kwargs) & {"activation", "recurrent_activation", "use_bias", "reset_after",
                                  "dropout", "recurrent_dropout", "unroll"})
    if fixed:
        raise ValueError(f"{layer} runs cuDNN's fixed computation, so it takes no {fixed}: use "
                         "LSTM/GRU for other activations, dropout or unrolling.")


class CuDNNLSTM(_CuDNNMixin, LSTM):
    """Keras 2's `CuDNNLSTM`: an LSTM with tanh/sigmoid and cuDNN's weight layout (bias `8 * units`).

    Args: `units`, `kernel_initializer`, `recurrent_initializer`, `bias_initializer`,
    `unit_forget_bias`, the regularizers and constraints, `activity_regularizer`,
    `return_sequences`, `return_state`, `go_backwards`, `stateful`, as in Keras 2.
    """
    _cell_class = _CuDNNLSTMCell
    _kind = "lstm"
    _own_keys = ("kernel_initializer", "recurrent_initializer", "bias_initializer",
                 "unit_forget_bias")

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, **kwargs):
        _reject_fixed("CuDNNLSTM", kwargs)
        super().__init__(units, activation="tanh", recurrent_activation="sigmoid",
                         kernel_initializer=initializers.get(kernel_initializer),
                         recurrent_initializer=initializers.get(recurrent_initializer),
                         bias_initializer=initializers.get(bias_initializer),
                         unit_forget_bias=unit_forget_bias, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful,
                         **kwargs)


class CuDNNGRU(_CuDNNMixin, GRU):
    """Keras 2's `CuDNNGRU`: a reset-after GRU with tanh/sigmoid and cuDNN's layout (bias `6 * units`).

    Args: `units`, `kernel_initializer`, `recurrent_initializer`, `bias_initializer`, the
    regularizers and constraints, `activity_regularizer`, `return_sequences`, `return_state`,
    `go_backwards`, `stateful`, as in Keras 2.
    """
    _cell_class = _CuDNNGRUCell
    _kind = "gru"
    _own_keys = ("kernel_initializer", "recurrent_initializer", "bias_initializer")

    def __init__(self, units, kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, **kwargs):
        _reject_fixed("CuDNNGRU", kwargs)
        super().__init__(units, activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                         kernel_initializer=initializers.get(kernel_initializer),
                         recurrent_initializer=initializers.get(recurrent_initializer),
                         bias_initializer=initializers.get(bias_initializer),
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, **kwargs)


__all__ = ["CuDNNLSTM", "CuDNNGRU"]

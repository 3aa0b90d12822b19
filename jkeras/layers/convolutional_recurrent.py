"""Convolutional LSTMs: `ConvLSTM1D`, `ConvLSTM2D`, `ConvLSTM3D` (Shi et al., 2015).

An LSTM whose input and recurrent transformations are convolutions. The layer is an
`RNN` over a convolutional cell, so time-major looping, masks, `go_backwards`,
`stateful` carries and `initial_state` are the ones of `recurrent.RNN`. As in Keras,
the cell is named `conv_lstm_cell`: a `ConvLSTM2D` named `conv_lstm2d` owns
`conv_lstm2d/conv_lstm_cell/{kernel, recurrent_kernel, bias}`, with kernels
`kernel_size + (in_channels, 4 * filters)` and `kernel_size + (filters, 4 * filters)`
(gates i, f, c, o), whatever the data format.

Input shape: `(batch, time, *spatial, channels)` (channels_last) or
`(batch, time, channels, *spatial)`. Output: `(batch, *out_spatial, filters)` for the
last step, `(batch, time, ...)` with `return_sequences`, plus `[h, c]` with `return_state`.
"""
import jax
import jax.numpy as jnp
from jax import lax
from jax.ad_checkpoint import checkpoint_name

from jkeras.backend import config
from jkeras.backend.random import split_by_name, split_keys
from jkeras.layers._utils import normalize_padding, normalize_tuple
from jkeras.layers.convolutional import _dimension_numbers
from jkeras.layers.recurrent import _CellRNN
from jkeras.layers.recurrent_cells import _PREACTIVATION, LSTMCell, _dropout_masks
from jkeras.legacy import interfaces


def _output_length(size, kernel, padding, stride, dilation):
    """One spatial dim of a convolution's output (lax's 'VALID'/'SAME')."""
    if padding == "same":
        return -(-size // stride)
    return (size - (kernel - 1) * dilation - 1) // stride + 1


class _ConvLSTMCell(LSTMCell):
    """One step of a ConvLSTM: `h, [h, c] = cell(x_t, [h_prev, c_prev])`, gates i, f, c, o.

    An `LSTMCell` whose two matmuls are convolutions: it keeps the LSTM's arguments, bias
    (with `unit_forget_bias`) and gate math, and `RNN` runs it as it runs an LSTM.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, **kwargs):
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int; received filters={filters!r}.")
        super().__init__(filters, **kwargs)
        self.rank = rank
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = config.standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("Specifying `strides > 1` is not compatible with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")
        self.spatial_dims = None  # the step inputs' spatial dims, fixed when built (as Keras)

    def _check_input_compatible(self, inputs):
        self._split_step_shape(inputs.shape)

    def _split_step_shape(self, shape):
        """`(spatial dims, channels)` of a step input `(batch, ...)`, both fully known."""
        shape = tuple(shape)
        if len(shape) != self.rank + 2:
            raise ValueError(f"ConvLSTM cell '{self.name}' expects step inputs of rank {self.rank + 2} "
                             f"(batch, {self.rank} spatial dims, channels); received {shape}.")
        spatial = shape[1:-1] if self.data_format == "channels_last" else shape[2:]
        channels = shape[-1] if self.data_format == "channels_last" else shape[1]
        if None in spatial or channels is None:
            raise ValueError("ConvLSTM layers only support static input shapes for the spatial and "
                             f"channel dimensions. Received invalid input shape: input_shape={shape}")
        return tuple(spatial), channels

    def _out_spatial(self):
        out = tuple(_output_length(n, k, self.padding, s, d) for n, k, s, d in zip(
            self.spatial_dims, self.kernel_size, self.strides, self.dilation_rate))
        if min(out) <= 0:
            raise ValueError(f"ConvLSTM cell '{self.name}': the output of kernel_size={self.kernel_size} "
                             f"with padding='{self.padding}' over inputs of spatial shape "
                             f"{self.spatial_dims} would be empty.")
        return out

    def _state_shape(self, batch):
        out = self._out_spatial()
        if self.data_format == "channels_last":
            return (batch,) + out + (self.filters,)
        return (batch, self.filters) + out

    def init(self, key, input_shape):
        self.spatial_dims, channels = self._split_step_shape(input_shape)
        self._out_spatial()
        k_kernel, k_recurrent, k_bias = split_keys(key, 3)
        f = self.filters
        params = {"kernel": self.kernel_initializer(k_kernel, self.kernel_size + (channels, 4 * f),
                                                    self.dtype),
                  "recurrent_kernel": self.recurrent_initializer(k_recurrent,
                                                                 self.kernel_size + (f, 4 * f),
                                                                 self.dtype)}
        if self.use_bias:
            params["bias"] = jnp.asarray(self._init_bias(k_bias), self.dtype)
        return params, {}

    def get_initial_state(self, batch_size=None):
        if self.spatial_dims is None:
            raise ValueError(f"ConvLSTM cell '{self.name}' is not built yet, so its state shape is "
                             "unknown; call the layer on data first.")
        shape = self._state_shape(batch_size)
        return [jnp.zeros(shape, self.compute_dtype), jnp.zeros(shape, self.compute_dtype)]

    def _conv(self, x, kernel, strides, padding, dilation):
        kernel = kernel.astype(x.dtype)  # an eager call under a mixed policy sees float32 weights
        return lax.conv_general_dilated(x, kernel, strides, padding.upper(), rhs_dilation=dilation,
                                        dimension_numbers=_dimension_numbers(self.rank, self.data_format))

    def _gate_convs(self, x, kernel, masks, strides, padding, dilation):
        """The four gates' convolutions of `x`, concatenated on the channel axis; with dropout
        masks, gate g sees `x * masks[g]`."""
        axis = -1 if self.data_format == "channels_last" else 1
        if masks is None:
            return self._conv(x, kernel, strides, padding, dilation)
        kernels = jnp.split(kernel, 4, axis=-1)
        return jnp.concatenate([self._conv(x * m, k, strides, padding, dilation)
                                for m, k in zip(masks, kernels)], axis=axis)

    def _input_proj(self, params, x, dp):
        """The input convolution of every gate, plus the bias."""
        z = self._gate_convs(x, params["kernel"], dp, self.strides, self.padding, self.dilation_rate)
        if not self.use_bias:
            return z
        bias = params["bias"].astype(z.dtype)
        return z + (bias if self.data_format == "channels_last" else bias.reshape((-1,) + (1,) * self.rank))

    def _recurrent_step(self, params, xp, states, rdp):
        h_prev, c_prev = states[0], states[1]
        ones = (1,) * self.rank
        z = xp + self._gate_convs(h_prev, params["recurrent_kernel"], rdp, ones, "same", ones)
        axis = -1 if self.data_format == "channels_last" else 1
        z_i, z_f, z_c, z_o = jnp.split(checkpoint_name(z, _PREACTIVATION), 4, axis=axis)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def _dropout_masks(self, params, key, batch, dtype):
        """Per-gate dropout masks of the step inputs and of `h`, fixed for a whole sequence."""
        if self.seed is not None:
            key = jax.random.fold_in(key, int(self.seed))
        channels = params["kernel"].shape[-2]
        in_shape = ((batch,) + self.spatial_dims + (channels,) if self.data_format == "channels_last"
                    else (batch, channels) + self.spatial_dims)
        dp = _dropout_masks(split_by_name(key, "dropout"), self.dropout, 4, in_shape, dtype)
        rdp = _dropout_masks(split_by_name(key, "recurrent_dropout"), self.recurrent_dropout, 4,
                             self._state_shape(batch), dtype)
        if dp is None and rdp is None:
            return None
        return dp, rdp

    def get_config(self):
        """Keras's ConvLSTM cell config, in its order: the LSTM's entries without `units`, plus
        `filters` and the window arguments."""
        own = {**super().get_config(), "kernel_size": self.kernel_size, "strides": self.strides,
               "padding": self.padding, "data_format": self.data_format,
               "dilation_rate": self.dilation_rate}
        return {**{k: own[k] for k in ("name", "trainable", "dtype")}, "filters": self.filters,
                **{k: own[k] for k in _CONV_LSTM_ARGS}}


_CONV_LSTM_ARGS = ("kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
                   "recurrent_activation", "use_bias", "kernel_initializer", "recurrent_initializer",
                   "bias_initializer", "unit_forget_bias", "kernel_regularizer",
                   "recurrent_regularizer", "bias_regularizer", "kernel_constraint",
                   "recurrent_constraint", "bias_constraint", "dropout", "recurrent_dropout", "seed")


class _ConvLSTM(_CellRNN):
    """A ConvLSTM of rank `rank`: an `RNN` over its `conv_lstm_cell`, configured as Keras's."""

    rank = None
    _cell_name = "conv_lstm_cell"
    _cell_args = _CONV_LSTM_ARGS

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(filters, kernel_size=kernel_size, **kwargs)

    def _cell_class(self, filters, **kwargs):
        return _ConvLSTMCell(self.rank, filters, **kwargs)

    def __getattr__(self, name):
        if name == "filters" and "cell" in self.__dict__:
            return self.__dict__["cell"].filters
        return super().__getattr__(name)

    def _check_input_compatible(self, inputs):
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if len(x.shape) != self.rank + 3:
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) expects a "
                             f"{self.rank + 3}D input (batch, time, {self.rank} spatial dims, "
                             f"channels); received shape {tuple(x.shape)}.")


class ConvLSTM1D(_ConvLSTM):
    """1D convolutional LSTM over `(batch, time, steps, channels)` sequences.

    Args: `filters`, `kernel_size`, `strides`, `padding` ("valid" or "same"),
    `data_format`, `dilation_rate`, `activation`, `recurrent_activation`, `use_bias`,
    the kernel/recurrent/bias initializers, regularizers and constraints,
    `unit_forget_bias`, `dropout`, `recurrent_dropout`, `seed`, and the `RNN`
    arguments `return_sequences`, `return_state`, `go_backwards`, `stateful`, `unroll`.
    """

    rank = 1


@interfaces.legacy_convlstm2d_support
class ConvLSTM2D(_ConvLSTM):
    """2D convolutional LSTM over `(batch, time, rows, cols, channels)` sequences.

    Args as `ConvLSTM1D`'s, with 2-tuples for the window arguments.
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """3D convolutional LSTM over `(batch, time, d1, d2, d3, channels)` sequences.

    Args as `ConvLSTM1D`'s, with 3-tuples for the window arguments.
    """

    rank = 3


# Keras 2.0-2.2's module also held the abstract base `ConvRecurrent2D` (now in jkeras.layers.legacy).
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, ("ConvRecurrent2D",))

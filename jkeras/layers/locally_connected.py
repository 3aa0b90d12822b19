"""Locally-connected layers (Keras 2): `LocallyConnected1D`, `LocallyConnected2D`.

A convolution whose weights are not shared: every output position has its own filter
bank. Keras 3 dropped these layers; jkeras follows tf.keras 2, weight layouts included,
so `.h5` files exchange. `implementation` chooses the kernel's layout, as in tf.keras 2:

- 1: `(output_positions, prod(kernel_size) * in_channels, filters)`, one patch per
  output position ("valid" padding only);
- 2: a dense `(*in_spatial, in_channels, *out_spatial, filters)` kernel (channels_first:
  `(in_channels, *in_spatial, filters, *out_spatial)`) masked to the receptive fields;
- 3: a flat vector of the connected weights, in the order of tf.keras 2's sorted
  `(output index, input index)` pairs.

The bias is `(*out_spatial, filters)`; with channels_first tf.keras 2 reshapes it (not
transposes it) to `(filters, *out_spatial)`, and so does jkeras.
"""
import itertools

import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend import config
from jkeras.backend.random import split_keys
from jkeras.layers._utils import (channel_axis, check_rank, normalize_padding, normalize_tuple, present,
                                  spatial_shape, weight_options_config)
from jkeras.layers.base import Layer
from jkeras.legacy import interfaces


def _output_length(size, kernel, padding, stride):
    """tf.keras 2's `conv_output_length` for 'valid' and 'same'."""
    length = size if padding == "same" else size - kernel + 1
    return (length + stride - 1) // stride


def _connected(size, kernel, stride, padding, position):
    """Input positions on one axis that output `position` sees (tf.keras 2's
    `conv_connected_inputs`: 'same' centres the window at `position * stride`)."""
    left = kernel // 2
    centre = position * stride + (left if padding == "valid" else 0)
    return range(max(0, centre - left), min(size, centre + kernel - left))


def _flat_index(spatial, channel, spatial_shape_, channels, data_format):
    """Index of `(spatial, channel)` in a sample flattened in `data_format` order."""
    if data_format == "channels_first":
        return np.ravel_multi_index((channel,) + spatial, (channels,) + spatial_shape_)
    return np.ravel_multi_index(spatial + (channel,), spatial_shape_ + (channels,))


class _LocallyConnected(Layer):
    """What both ranks share: arguments, weight layouts, the three implementations."""

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        name = type(self).__name__
        if not isinstance(filters, int) or isinstance(filters, bool) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int; received filters={filters!r}.")
        if implementation not in (1, 2, 3):
            raise ValueError(f"Unrecognized implementation mode: {implementation!r}; expected 1, 2 or 3.")
        self.filters = filters
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        if self.padding != "valid" and implementation == 1:
            raise ValueError(f"Invalid border mode for {name} (only \"valid\" is supported if "
                             f"implementation is 1): {padding}")
        self.data_format = config.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.implementation = implementation
        self._regularizers = present(kernel=self.kernel_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint, bias=self.bias_constraint)

    # ---- shapes ----
    def _check_input_compatible(self, inputs):
        self._geometry(inputs.shape)

    def _geometry(self, shape):
        """`(in_spatial, in_channels, out_spatial)` of a batched input `shape`, all known."""
        check_rank(self, shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")
        spatial = tuple(spatial_shape(shape, self.data_format))
        channels = shape[channel_axis(self.data_format)]
        if None in spatial or channels is None:
            raise ValueError(f"The spatial and channel dimensions of the inputs to a "
                             f"{type(self).__name__} layer should be fully-defined, but layer "
                             f"'{self.name}' received the inputs shape {tuple(shape)}.")
        out = tuple(_output_length(n, k, self.padding, s)
                    for n, k, s in zip(spatial, self.kernel_size, self.strides))
        if min(out) <= 0:
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling in "
                             f"{self.name}. Consider increasing the input size. Received input shape "
                             f"{tuple(shape)} which would produce output shape with a zero or "
                             "negative value in a dimension.")
        return spatial, channels, out

    def _kernel_shape(self, spatial, channels, out):
        if self.implementation == 1:
            return (int(np.prod(out)), int(np.prod(self.kernel_size)) * channels, self.filters)
        if self.implementation == 2:
            if self.data_format == "channels_first":
                return (channels,) + spatial + (self.filters,) + out
            return spatial + (channels,) + out + (self.filters,)
        return (len(self._sparse_indices(spatial, channels, out)[0]),)

    # ---- connectivity (numpy constants, computed once per input shape) ----
    def _patch_indices(self, spatial, channels, out):
        """Implementation 1: `(positions, features)` indices into a flattened sample, each row
        one output position's patch in tf.keras 2's order (channels_first: channel-major)."""
        rows = []
        for position in itertools.product(*[range(n) for n in out]):
            starts = [p * s for p, s in zip(position, self.strides)]
            cells = list(itertools.product(*[range(a, a + k) for a, k in zip(starts, self.kernel_size)]))
            if self.data_format == "channels_first":
                pairs = [(cell, c) for c in range(channels) for cell in cells]
            else:
                pairs = [(cell, c) for cell in cells for c in range(channels)]
            rows.append([_flat_index(cell, c, spatial, channels, self.data_format) for cell, c in pairs])
        return np.asarray(rows, np.int32)

    def _dense_mask(self, spatial, channels, out):
        """Implementation 2: the 0/1 connectivity mask, broadcastable to the kernel."""
        mask = np.zeros(spatial + out, np.float32)
        for position in itertools.product(*[range(n) for n in out]):
            ranges = [_connected(n, k, s, self.padding, p) for n, k, s, p in
                      zip(spatial, self.kernel_size, self.strides, position)]
            for cell in itertools.product(*ranges):
                mask[cell + position] = 1.0
        if self.data_format == "channels_first":
            return mask.reshape((1,) + spatial + (1,) + out)
        return mask.reshape(spatial + (1,) + out + (1,))

    def _sparse_indices(self, spatial, channels, out):
        """Implementation 3: tf.keras 2's sorted `(output index, input index)` pairs, as arrays."""
        pairs = []
        for position in itertools.product(*[range(n) for n in out]):
            ranges = [_connected(n, k, s, self.padding, p) for n, k, s, p in
                      zip(spatial, self.kernel_size, self.strides, position)]
            for cell in itertools.product(*ranges):
                for c_in in range(channels):
                    in_idx = _flat_index(cell, c_in, spatial, channels, self.data_format)
                    for c_out in range(self.filters):
                        pairs.append((_flat_index(position, c_out, out, self.filters, self.data_format),
                                      in_idx))
        pairs.sort()
        pairs = np.asarray(pairs, np.int32).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1]

    # ---- the pure protocol ----
    def init(self, key, input_shape):
        spatial, channels, out = self._geometry(input_shape)
        k_kernel, k_bias = split_keys(key)
        params = {"kernel": self.kernel_initializer(k_kernel, self._kernel_shape(spatial, channels, out),
                                                    self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, out + (self.filters,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        spatial, channels, out = self._geometry(inputs.shape)
        kernel = params["kernel"]
        expected = self._kernel_shape(spatial, channels, out)
        if tuple(kernel.shape) != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}' was built for another input shape: "
                             f"its kernel is {tuple(kernel.shape)}, inputs of shape "
                             f"{tuple(inputs.shape)} need {expected}.")
        batch = inputs.shape[0]
        x = inputs.reshape((batch, -1))
        if self.implementation == 1:
            patches = x[:, self._patch_indices(spatial, channels, out)]
            y = jnp.einsum("bpf,pfo->bpo", patches, kernel).reshape((batch,) + out + (self.filters,))
            if self.data_format == "channels_first":
                y = jnp.moveaxis(y, -1, 1)
        else:
            if self.implementation == 2:
                mask = self._dense_mask(spatial, channels, out).astype(kernel.dtype)
                dense = (kernel * mask).reshape(x.shape[1], -1)
            else:
                rows, cols = self._sparse_indices(spatial, channels, out)
                dense = jnp.zeros((int(np.prod(out)) * self.filters, x.shape[1]), kernel.dtype)
                dense = dense.at[rows, cols].set(kernel).T
            shape = (out + (self.filters,) if self.data_format == "channels_last"
                     else (self.filters,) + out)
            y = jnp.matmul(x, dense).reshape((batch,) + shape)
        if self.use_bias:
            bias = params["bias"]
            if self.data_format == "channels_first":
                bias = bias.reshape((self.filters,) + tuple(bias.shape[:-1]))  # tf.keras 2's reshape
            y = y + bias
        return self.activation(y), state

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_options_config(self, "kernel", "bias"), "implementation": self.implementation}


@interfaces.legacy_conv1d_support
class LocallyConnected1D(_LocallyConnected):
    """Unshared-weight 1D convolution over `(batch, steps, channels)` (or channels_first).

    Args: `filters`, `kernel_size`, `strides`, `padding` ("valid"; "same" with
    implementation 2 or 3), `data_format`, `activation`, `use_bias`, the kernel and
    bias initializers, regularizers and constraints, `activity_regularizer`,
    `implementation` (1, 2 or 3: the kernel layout, see the module docstring).

    Output shape: `(batch, new_steps, filters)`.
    """

    rank = 1


@interfaces.legacy_conv2d_support
class LocallyConnected2D(_LocallyConnected):
    """Unshared-weight 2D convolution over `(batch, rows, cols, channels)` (or channels_first).

    Args as `LocallyConnected1D`'s, with 2-tuples for `kernel_size` and `strides`.

    Output shape: `(batch, new_rows, new_cols, filters)`.
    """

    rank = 2

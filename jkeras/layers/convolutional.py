"""Convolution layers: Conv1D/2D/3D, their transposes, depthwise and separable convolutions.

Kernels use Keras's channels_last layouts whatever the data format, so `.h5`
weights exchange unchanged: `Conv` is `kernel_size + (in // groups, filters)`,
`ConvTranspose` is `kernel_size + (filters, in)`, depthwise is
`kernel_size + (in, depth_multiplier)`, pointwise is `(1,)*rank + (in*dm, filters)`.
"""
import jax.numpy as jnp
from jax import lax

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend import config
from jkeras.layers._utils import (channel_axis, check_rank, normalize_padding, normalize_tuple, present,
                                  spatial_shape, weight_options_config)
from jkeras.layers.base import Layer
from jkeras.layers import depthwise_conv, onednn_conv, pointwise_conv
from jkeras.backend.random import split_keys
from jkeras.legacy import interfaces


def _dimension_numbers(rank, data_format):
    """lax dimension numbers for `data_format` inputs and a `spatial + (in, out)` kernel."""
    spatial = tuple(range(2, rank + 2)) if data_format == "channels_first" else tuple(range(1, rank + 1))
    lhs = (0, 1) + spatial if data_format == "channels_first" else (0, rank + 1) + spatial
    rhs = (rank + 1, rank) + tuple(range(rank))
    return lax.ConvDimensionNumbers(lhs_spec=lhs, rhs_spec=rhs, out_spec=lhs)


def _transpose_padding(kernel, stride, dilation, padding, output_padding):
    """`(left, right)` padding that gives lax.conv_transpose Keras's output size on one axis."""
    kernel = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(kernel, stride) - kernel if output_padding is None else output_padding
        return kernel - 1, kernel - 1 + extra
    if output_padding is None:
        total = stride + kernel - 2
    else:
        total = kernel + kernel % 2 - 2 + output_padding
    left = min(total // 2 + total % 2, kernel - 1)
    return left, total - left


class _BaseConv(Layer):
    """What every convolution shares: window arguments, layout, bias, activation."""

    rank = None

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, bias_initializer="zeros", bias_regularizer=None,
                 activity_regularizer=None, bias_constraint=None, allow_causal=False, **kwargs):
        # tf.keras 2 configs of transposed/depthwise/separable convs carry `groups: 1`.
        if kwargs.pop("groups", 1) != 1:
            raise ValueError(f"{type(self).__name__} does not support `groups` other than 1.")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        self.padding = normalize_padding(padding, allow_causal=allow_causal)
        self.data_format = config.standardize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = initializers.get(bias_initializer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.bias_constraint = constraints.get(bias_constraint)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"`strides > 1` is not supported together with `dilation_rate > 1`; "
                             f"received strides={self.strides}, dilation_rate={self.dilation_rate}.")

    def _check_input_compatible(self, inputs):
        self._channels(inputs.shape)

    def _channels(self, shape):
        """The channel count of a batched `shape`, which must have the right rank (checked before `init`)."""
        check_rank(self, shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")
        channels = shape[channel_axis(self.data_format)]
        if channels is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs a known channel dim; "
                             f"received shape {tuple(shape)} ({self.data_format}).")
        return channels

    def _check_channels(self, shape, expected):
        if self._channels(shape) != expected:
            raise ValueError(f"{type(self).__name__} '{self.name}' was built for {expected} input "
                             f"channels; received shape {tuple(shape)} ({self.data_format}).")

    def _check_window(self, shape, padding):
        """Keras's error for a 'valid' window larger than the (padded) input."""
        if padding != "valid":
            return
        for size, k, d in zip(spatial_shape(shape, self.data_format), self.kernel_size, self.dilation_rate):
            if size < (k - 1) * d + 1:
                raise ValueError(f"{type(self).__name__} '{self.name}': computed output size would be "
                                 f"zero or negative for input shape {tuple(shape)}, kernel_size="
                                 f"{self.kernel_size}, dilation_rate={self.dilation_rate}, padding='valid'.")

    def _conv(self, x, kernel, strides, padding, groups, training=False, bias=None):
        """The convolution, plus `bias` where given: a training pass on oneDNN adds it in the
        convolution's own call, saving XLA a pass over the output."""
        onednn = training and onednn_conv.applies(self.rank, groups, self.data_format, x.dtype)
        if pointwise_conv.applies(kernel.shape[:-2], groups, self.data_format):  # 'same' == 'valid' here
            return pointwise_conv.conv(x, kernel, tuple(strides), onednn, bias)
        depthwise = depthwise_conv.applies(kernel.shape, groups, x.shape[-1], self.data_format)
        if onednn and not depthwise:
            return onednn_conv.conv(x, kernel, tuple(strides), padding, tuple(self.dilation_rate), bias)
        if depthwise:
            y = depthwise_conv.conv(x, kernel, tuple(strides), padding, tuple(self.dilation_rate))
        else:
            y = lax.conv_general_dilated(x, kernel, strides, padding.upper(), rhs_dilation=self.dilation_rate,
                                         dimension_numbers=_dimension_numbers(self.rank, self.data_format),
                                         feature_group_count=groups)
        return self._add_bias(y, bias)

    def _conv_finish(self, x, kernel, strides, padding, groups, params, training):
        """`_finish(_conv(...))`, with the bias handed to `_conv` to fuse."""
        return self.activation(self._conv(x, kernel, strides, padding, groups, training, self._bias(params)))

    def _bias(self, params):
        return params["bias"] if self.use_bias else None

    def _add_bias(self, y, bias):
        if bias is not None and self.data_format == "channels_first":
            bias = bias.reshape((-1,) + (1,) * self.rank)
        return y if bias is None else y + bias

    def _finish(self, y, params):
        """Add the bias along the channel axis, then the activation."""
        return self.activation(self._add_bias(y, self._bias(params)))

    def _window_config(self):
        return {"kernel_size": self.kernel_size, "strides": self.strides, "padding": self.padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate}


class _Conv(_BaseConv):
    """N-D convolution (cross-correlation): `activation(conv(inputs, kernel) + bias)`."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint,
                         allow_causal=self.rank == 1, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int; received filters={filters!r}.")
        if not isinstance(groups, int) or groups <= 0:
            raise ValueError(f"`groups` must be a positive int; received groups={groups!r}.")
        if filters % groups:
            raise ValueError(f"`filters` must be divisible by `groups`; received filters={filters}, "
                             f"groups={groups}.")
        self.filters, self.groups = filters, groups
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._regularizers = present(kernel=self.kernel_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint, bias=self.bias_constraint)

    def init(self, key, input_shape):
        channels = self._channels(input_shape)
        if channels % self.groups:
            raise ValueError(f"{type(self).__name__} '{self.name}': input channels ({channels}) must be "
                             f"divisible by groups ({self.groups}); input shape {tuple(input_shape)}.")
        k_kernel, k_bias = split_keys(key)
        shape = self.kernel_size + (channels // self.groups, self.filters)
        params = {"kernel": self.kernel_initializer(k_kernel, shape, self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (self.filters,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        kernel = params["kernel"]
        x = jnp.asarray(inputs, kernel.dtype)
        self._check_channels(x.shape, kernel.shape[-2] * self.groups)
        padding = self.padding
        if padding == "causal":
            left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
            pads = [(0, 0)] * 3
            pads[1 if self.data_format == "channels_last" else 2] = (left, 0)
            x, padding = jnp.pad(x, pads), "valid"
        self._check_window(x.shape, padding)
        return self._conv_finish(x, kernel, self.strides, padding, self.groups, params, training), state

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, **self._window_config(),
                "groups": self.groups, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **weight_options_config(self, "kernel", "bias")}


@interfaces.legacy_conv1d_support
class Conv1D(_Conv):
    """1D convolution over `(batch, steps, channels)`; padding may also be 'causal'."""

    rank = 1


@interfaces.legacy_conv2d_support
class Conv2D(_Conv):
    """2D convolution over images `(batch, rows, cols, channels)` (or channels_first)."""

    rank = 2


@interfaces.legacy_conv3d_support
class Conv3D(_Conv):
    """3D convolution over volumes `(batch, d1, d2, d3, channels)` (or channels_first)."""

    rank = 3


class _ConvTranspose(_BaseConv):
    """N-D transposed convolution with Keras 3's output size (incl. `output_padding`)."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int; received filters={filters!r}.")
        self.filters = filters
        self.output_padding = None
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, self.rank, "output_padding",
                                                  allow_zero=True)
            if any(p >= s for p, s in zip(self.output_padding, self.strides)):
                raise ValueError(f"`output_padding` must be smaller than `strides` on every axis; "
                                 f"received output_padding={self.output_padding}, strides={self.strides}.")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self._regularizers = present(kernel=self.kernel_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint, bias=self.bias_constraint)

    def init(self, key, input_shape):
        k_kernel, k_bias = split_keys(key)
        shape = self.kernel_size + (self.filters, self._channels(input_shape))
        params = {"kernel": self.kernel_initializer(k_kernel, shape, self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (self.filters,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        kernel = params["kernel"]
        x = jnp.asarray(inputs, kernel.dtype)
        self._check_channels(x.shape, kernel.shape[-1])
        output_padding = self.output_padding or (None,) * self.rank
        pads = [_transpose_padding(k, s, d, self.padding, p) for k, s, d, p in
                zip(self.kernel_size, self.strides, self.dilation_rate, output_padding)]
        y = lax.conv_transpose(x, kernel, self.strides, pads, rhs_dilation=self.dilation_rate,
                               dimension_numbers=_dimension_numbers(self.rank, self.data_format),
                               transpose_kernel=True)
        return self._finish(y, params), state

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "output_padding": self.output_padding,
                "data_format": self.data_format, "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_options_config(self, "kernel", "bias")}


class Conv1DTranspose(_ConvTranspose):
    """1D transposed convolution (learned upsampling of sequences)."""

    rank = 1


@interfaces.legacy_deconv2d_support
class Conv2DTranspose(_ConvTranspose):
    """2D transposed convolution ("deconvolution"): learned upsampling of images."""

    rank = 2


class Conv3DTranspose(_ConvTranspose):
    """3D transposed convolution (learned upsampling of volumes)."""

    rank = 3


class _DepthwiseConv(_BaseConv):
    """Depthwise convolution: each input channel convolved with its own `depth_multiplier` filters."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"`depth_multiplier` must be a positive int; received {depth_multiplier!r}.")
        self.depth_multiplier = depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        # Keras 3 names the depthwise weight `kernel` (tf.keras 2 said `depthwise_kernel`).
        self._regularizers = present(kernel=self.depthwise_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.depthwise_constraint, bias=self.bias_constraint)

    @property
    def depthwise_kernel(self):
        """tf.keras 2's name for the depthwise weight."""
        return self._variables["kernel"]

    def init(self, key, input_shape):
        channels = self._channels(input_shape)
        k_kernel, k_bias = split_keys(key)
        params = {"kernel": self.depthwise_initializer(
            k_kernel, self.kernel_size + (channels, self.depth_multiplier), self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (channels * self.depth_multiplier,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs, params["kernel"].dtype)
        y = _depthwise(self, x, params["kernel"])
        return self._finish(y, params), state

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, **self._window_config(),
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_options_config(self, "depthwise", "bias")}


def _depthwise(layer, x, kernel):
    """`x` convolved per channel with `kernel` (`spatial + (in, multiplier)`), as one grouped conv."""
    channels = kernel.shape[-2]
    layer._check_channels(x.shape, channels)
    layer._check_window(x.shape, layer.padding)
    grouped = kernel.reshape(kernel.shape[:-2] + (1, channels * kernel.shape[-1]))
    return layer._conv(x, grouped, layer.strides, layer.padding, channels)


class DepthwiseConv1D(_DepthwiseConv):
    """1D depthwise convolution."""

    rank = 1


class DepthwiseConv2D(_DepthwiseConv):
    """2D depthwise convolution (MobileNet's spatial step)."""

    rank = 2


class _SeparableConv(_BaseConv):
    """Depthwise convolution followed by a 1x1 pointwise convolution to `filters` channels."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, depthwise_constraint=None,
                 pointwise_constraint=None, bias_constraint=None, **kwargs):
        for unused in ("kernel_initializer", "kernel_regularizer", "kernel_constraint"):
            kwargs.pop(unused, None)  # Keras 2 took Conv's kernel_* here and used none (NASNet passes them)
        super().__init__(kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias,
                         bias_initializer, bias_regularizer, activity_regularizer, bias_constraint, **kwargs)
        if not isinstance(filters, int) or filters <= 0:
            raise ValueError(f"`filters` must be a positive int; received filters={filters!r}.")
        if not isinstance(depth_multiplier, int) or depth_multiplier <= 0:
            raise ValueError(f"`depth_multiplier` must be a positive int; received {depth_multiplier!r}.")
        self.filters, self.depth_multiplier = filters, depth_multiplier
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self._regularizers = present(depthwise_kernel=self.depthwise_regularizer,
                                     pointwise_kernel=self.pointwise_regularizer, bias=self.bias_regularizer)
        self._constraints = present(depthwise_kernel=self.depthwise_constraint,
                                    pointwise_kernel=self.pointwise_constraint, bias=self.bias_constraint)

    def init(self, key, input_shape):
        channels = self._channels(input_shape)
        k_depth, k_point, k_bias = split_keys(key, 3)
        params = {
            "depthwise_kernel": self.depthwise_initializer(
                k_depth, self.kernel_size + (channels, self.depth_multiplier), self.dtype),
            "pointwise_kernel": self.pointwise_initializer(
                k_point, (1,) * self.rank + (channels * self.depth_multiplier, self.filters), self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (self.filters,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs, params["depthwise_kernel"].dtype)
        y = _depthwise(self, x, params["depthwise_kernel"])
        return self._conv_finish(y, params["pointwise_kernel"], (1,) * self.rank, "valid", 1, params, training), state

    def get_config(self):
        return {**super().get_config(), "depth_multiplier": self.depth_multiplier, "filters": self.filters,
                **self._window_config(), "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                **weight_options_config(self, "depthwise", "pointwise", "bias")}


class SeparableConv1D(_SeparableConv):
    """1D depthwise-separable convolution."""

    rank = 1


@interfaces.legacy_separable_conv2d_support
class SeparableConv2D(_SeparableConv):
    """2D depthwise-separable convolution (Xception's building block)."""

    rank = 2


# Keras's other names for the same layers.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)
Deconvolution2D = Deconv2D = Conv2DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D


# Keras 2's `keras.layers.convolutional` also held these; jkeras keeps them in other families.
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, {
    **{name: name for name in (
        "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D",
        "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "AveragePooling1D",
        "AveragePooling2D", "AveragePooling3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D")},
    "Deconvolution3D": "Conv3DTranspose", "Deconv3D": "Conv3DTranspose",
    "AtrousConvolution1D": "AtrousConvolution1D", "AtrousConvolution2D": "AtrousConvolution2D",
    "AtrousConv1D": "AtrousConvolution1D", "AtrousConv2D": "AtrousConvolution2D"})

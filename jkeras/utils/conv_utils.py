"""Keras 2's `keras.utils.conv_utils`: argument normalisation and output-length arithmetic of
convolutions, for custom layers written against it."""
import numpy as np

from jkeras.backend.config import image_data_format

_PADDINGS = ("same", "valid", "full", "causal")


def normalize_tuple(value, n, name, allow_zero=False):
    """`value` (an int or `n` ints) as a tuple of `n` ints; a ValueError names `name` otherwise."""
    from jkeras.layers._utils import normalize_tuple as layers_normalize_tuple  # layers import utils
    return layers_normalize_tuple(value, n, name, allow_zero)


def normalize_data_format(value):
    """'channels_first' or 'channels_last' (None: the configured `image_data_format()`)."""
    data_format = (image_data_format() if value is None else str(value)).lower()
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {value!r}')
    return data_format


def normalize_padding(value):
    """A lower-case padding ('valid', 'same', 'causal'); a list or tuple passes as it is."""
    if isinstance(value, (list, tuple)):
        return value
    padding = str(value).lower()
    if padding not in ("valid", "same", "causal"):
        raise ValueError('The `padding` argument must be a list/tuple or one of "valid", "same" '
                         f'(or "causal", only for Conv1D). Received: {value!r}')
    return padding


def _check_padding(padding, allowed):
    if padding not in allowed:
        raise ValueError(f"padding must be one of {allowed}; received {padding!r}.")


def convert_kernel(kernel):
    """A convolution kernel flipped along its spatial axes (Theano <-> TensorFlow convention)."""
    kernel = np.asarray(kernel)
    if kernel.ndim < 3:
        raise ValueError(f"convert_kernel needs a convolution kernel (spatial dims, input and output "
                         f"channels); received shape {kernel.shape}.")
    flip = (slice(None, None, -1),) * (kernel.ndim - 2) + (slice(None), slice(None))
    return np.copy(kernel[flip])


def conv_output_length(input_length, filter_size, padding, stride, dilation=1):
    """The output length of a convolution over `input_length` steps (None stays None)."""
    if input_length is None:
        return None
    _check_padding(padding, _PADDINGS)
    dilated = filter_size + (filter_size - 1) * (dilation - 1)
    length = {"same": input_length, "causal": input_length, "valid": input_length - dilated + 1,
              "full": input_length + dilated - 1}[padding]
    return (length + stride - 1) // stride


def conv_input_length(output_length, filter_size, padding, stride):
    """The input length a convolution maps to `output_length` steps (None stays None)."""
    if output_length is None:
        return None
    _check_padding(padding, ("same", "valid", "full"))
    pad = {"same": filter_size // 2, "valid": 0, "full": filter_size - 1}[padding]
    return (output_length - 1) * stride - 2 * pad + filter_size


def deconv_output_length(input_length, filter_size, padding, output_padding=None, stride=0,
                         dilation=1):
    """The output length of a transposed convolution over `input_length` steps."""
    if input_length is None:
        return None
    _check_padding(padding, ("same", "valid", "full"))
    filter_size = filter_size + (filter_size - 1) * (dilation - 1)
    if output_padding is None:
        return {"valid": input_length * stride + max(filter_size - stride, 0),
                "full": input_length * stride - (stride + filter_size - 2),
                "same": input_length * stride}[padding]
    pad = {"same": filter_size // 2, "valid": 0, "full": filter_size - 1}[padding]
    return (input_length - 1) * stride + filter_size - 2 * pad + output_padding


def deconv_length(dim_size, stride_size, kernel_size, padding, output_padding=None, dilation=1):
    """Keras 2.2's name (and argument order) for `deconv_output_length`."""
    return deconv_output_length(dim_size, kernel_size, padding, output_padding, stride_size, dilation)


def conv_output_shape(input_shape, kernel_shape, strides, padding):
    """The spatial output shape of an N-d convolution ('same' or 'valid' padding)."""
    return tuple(conv_output_length(d, k, padding, s)
                 for d, k, s in zip(input_shape, kernel_shape, strides))

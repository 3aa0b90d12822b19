"""MobileNetV2, as Keras builds it: inverted residual blocks with linear bottlenecks.

Reference: [MobileNetV2: Inverted Residuals and Linear Bottlenecks](https://arxiv.org/abs/1801.04381).

Layer names, order and weights are Keras's, so Keras's
`mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}[_no_top].h5` files
load unchanged. Inputs are scaled to [-1, 1] by `preprocess_input`.
"""
import warnings

from jkeras import backend, layers
from jkeras.applications import imagenet_utils

_IMAGENET_ALPHAS = (0.35, 0.50, 0.75, 1.0, 1.3, 1.4)
_IMAGENET_SIZES = (96, 128, 160, 192, 224)
# (filters, stride, expansion) of the 17 inverted residual blocks, block_0 first.
_BLOCKS = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
           (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6),
           (160, 1, 6), (160, 1, 6), (320, 1, 6)]


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax",
                name=None):
    """Instantiates the MobileNetV2 architecture.

    Args:
        input_shape: optional `(rows, cols, 3)` (or `(3, rows, cols)` for channels_first),
            at least 32x32. Defaults to 224x224, or to `input_tensor`'s size.
        alpha: width multiplier; scales the number of filters of every block.
        include_top: whether to end with global pooling and the `predictions` Dense layer.
        weights: `None`, `"imagenet"` (Keras's file, looked up locally) or a path to an `.h5`.
        input_tensor: optional symbolic tensor to use as the image input.
        pooling: `None`, `"avg"` or `"max"`: pooling of the features when `include_top=False`.
        classes: number of classes when `include_top=True`.
        classifier_activation: activation of the top layer (`None` returns logits).
        name: the model's name; Keras's is `mobilenetv2_{alpha:0.2f}_{rows}`.

    Returns:
        A `jkeras.Model`.
    """
    imagenet_utils.validate_weights(weights, include_top, classes)
    data_format = backend.image_data_format()
    row_axis = 1 if data_format == "channels_first" else 0
    if input_shape is not None and input_tensor is not None:
        if not backend.is_keras_tensor(input_tensor):
            raise ValueError(f"input_tensor is not a Keras tensor; Received "
                             f"`input_tensor={input_tensor}`")
        # Keras compares these two axes (the second spatial one for channels_last).
        axis = 1 if data_format == "channels_first" else 2
        if input_tensor.shape[axis] != input_shape[1]:
            raise ValueError(f"input_shape and input_tensor disagree: input_tensor.shape="
                             f"{input_tensor.shape}, input_shape={input_shape}")

    if input_shape is None and input_tensor is not None and backend.is_keras_tensor(input_tensor):
        rows, cols = input_tensor.shape[row_axis + 1], input_tensor.shape[row_axis + 2]
    elif input_shape is not None:
        rows, cols = input_shape[row_axis], input_shape[row_axis + 1]
    else:
        rows = cols = None
    default_size = rows if rows == cols and rows in _IMAGENET_SIZES else 224

    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format=data_format,
        require_flatten=include_top, weights=weights)
    rows, cols = input_shape[row_axis], input_shape[row_axis + 1]

    file_name = None
    if weights == "imagenet":
        if alpha not in _IMAGENET_ALPHAS:
            raise ValueError("If imagenet weights are being loaded, alpha must be one of `0.35`, "
                             f"`0.50`, `0.75`, `1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        if rows != cols or rows not in _IMAGENET_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in "
                          "[96, 128, 160, 192, 224]. Weights for input shape (224, 224) will be "
                          "loaded as the default.", stacklevel=2)
        suffix = "" if include_top else "_no_top"
        file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                     f"{suffix}.h5")
        imagenet_utils.validate_weights(weights, include_top, classes, file_name)

    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    channel_axis = _channel_axis()

    x = layers.Conv2D(_make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_res_block(x, filters=filters, alpha=alpha, stride=stride,
                                expansion=expansion, block_id=block_id)

    # The last conv is widened for alpha > 1 but never narrowed (as in the paper).
    last_block_filters = _make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_block_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)

    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights, top_pool_name=None)
    return imagenet_utils.finish_model(img_input, input_tensor, x,
                                       name or f"mobilenetv2_{alpha:0.2f}_{rows}", weights,
                                       file_name)


def _channel_axis():
    return 1 if backend.image_data_format() == "channels_first" else -1


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    """Expand 1x1 (not in block 0) -> depthwise 3x3 -> project 1x1, plus a residual when shapes allow."""
    channel_axis = _channel_axis()
    in_channels = inputs.shape[channel_axis]
    pointwise_filters = _make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                          activation=None, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                      name=f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"

    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name=f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)

    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name=f"{prefix}project_BN")(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _make_divisible(v, divisor, min_value=None):
    """`v` rounded to the nearest multiple of `divisor` (at least `min_value`), never 10% below `v`."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions

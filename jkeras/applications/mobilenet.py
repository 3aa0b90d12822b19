"""MobileNet (v1), as Keras builds it: depthwise-separable blocks with a width multiplier.

Reference: [MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications](https://arxiv.org/abs/1704.04861).

Layer names, order and weights are Keras's, so Keras's `mobilenet_*_tf.h5` files
load unchanged. Inputs are scaled to [-1, 1] by `preprocess_input`.
"""
import warnings

from jkeras import backend, layers
from jkeras.applications import imagenet_utils

_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
_IMAGENET_SIZES = (128, 160, 192, 224)


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """Instantiates the MobileNet architecture.

    Args:
        input_shape: optional `(rows, cols, 3)` (or `(3, rows, cols)` for channels_first),
            at least 32x32; ignored when `input_tensor` is given. Defaults to 224x224.
        alpha: width multiplier; scales the number of filters of every layer.
        depth_multiplier: channel multiplier of the depthwise convolutions.
        dropout: dropout rate before the classifier.
        include_top: whether to end with the 1x1-conv classifier.
        weights: `None`, `"imagenet"` (Keras's file, looked up locally) or a path to an `.h5`.
        input_tensor: optional symbolic tensor to use as the image input.
        pooling: `None`, `"avg"` or `"max"`: pooling of the features when `include_top=False`.
        classes: number of classes when `include_top=True`.
        classifier_activation: activation of the top layer (`None` returns logits).
        name: the model's name; Keras's is `mobilenet_{alpha:0.2f}_{rows}`.

    Returns:
        A `jkeras.Model`.
    """
    imagenet_utils.validate_weights(weights, include_top, classes)
    data_format = backend.image_data_format()
    default_size = 224
    if input_shape is not None:
        rows, cols = (input_shape[1], input_shape[2]) if data_format == "channels_first" else \
            (input_shape[0], input_shape[1])
        if rows == cols and rows in _IMAGENET_SIZES:
            default_size = rows
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format=data_format,
        require_flatten=include_top, weights=weights)
    row_axis = 1 if data_format == "channels_first" else 0
    rows, cols = input_shape[row_axis], input_shape[row_axis + 1]

    file_name = None
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError("If imagenet weights are being loaded, depth multiplier must be 1. "
                             f"Received depth_multiplier={depth_multiplier}")
        if alpha not in _ALPHA_TEXT:
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.25`, "
                             f"`0.50`, `0.75` or `1.0` only. Received alpha={alpha}")
        if rows != cols or rows not in _IMAGENET_SIZES:
            rows = 224
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not in "
                          "[128, 160, 192, 224]. Weights for input shape (224, 224) will be "
                          "loaded as the default.", stacklevel=2)
        suffix = "" if include_top else "_no_top"
        file_name = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{suffix}.h5"
        imagenet_utils.validate_weights(weights, include_top, classes, file_name)

    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)

    x = _conv_block(img_input, 32, alpha, strides=(2, 2))
    # (pointwise filters, strides) of the 13 depthwise blocks.
    plan = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
            (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
    for block_id, (filters, stride) in enumerate(plan, start=1):
        x = _depthwise_conv_block(x, filters, alpha, depth_multiplier, strides=(stride, stride),
                                  block_id=block_id)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling)
    return imagenet_utils.finish_model(img_input, input_tensor, x,
                                       name or f"mobilenet_{alpha:0.2f}_{rows}", weights, file_name)


def _channel_axis():
    return 1 if backend.image_data_format() == "channels_first" else -1


def _conv_block(inputs, filters, alpha, kernel=(3, 3), strides=(1, 1)):
    """The stem: conv (no bias) -> BN -> ReLU6, with `filters * alpha` filters."""
    x = layers.Conv2D(int(filters * alpha), kernel, padding="same", use_bias=False, strides=strides,
                      name="conv1")(inputs)
    x = layers.BatchNormalization(axis=_channel_axis(), name="conv1_bn")(x)
    return layers.ReLU(6.0, name="conv1_relu")(x)


def _depthwise_conv_block(inputs, pointwise_conv_filters, alpha, depth_multiplier=1, strides=(1, 1),
                          block_id=1):
    """Depthwise 3x3 -> BN -> ReLU6 -> pointwise 1x1 -> BN -> ReLU6; strided blocks pad first."""
    channel_axis = _channel_axis()
    if strides == (1, 1):
        x = inputs
    else:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(inputs)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if strides == (1, 1) else "valid",
                               depth_multiplier=depth_multiplier, strides=strides, use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(int(pointwise_conv_filters * alpha), (1, 1), padding="same", use_bias=False,
                      strides=(1, 1), name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=channel_axis, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions

# Keras 2.0-2.1's MobileNet defined these two here; files it saved name them, so loading them
# takes custom_objects={"relu6": mobilenet.relu6, "DepthwiseConv2D": mobilenet.DepthwiseConv2D}.
DepthwiseConv2D = layers.DepthwiseConv2D
BASE_WEIGHT_PATH = "https://github.com/fchollet/deep-learning-models/releases/download/v0.6/"


def relu6(x):
    """`min(max(x, 0), 6)`: Keras 2.0-2.1's MobileNet activation (`Activation(relu6)`)."""
    return backend.relu(x, max_value=6)

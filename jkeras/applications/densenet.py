"""DenseNet121, DenseNet169 and DenseNet201, as Keras 3 builds them.

Reference: [Densely Connected Convolutional Networks](https://arxiv.org/abs/1608.06993).

Layer names are Keras 3's: the stem is `conv1_conv`, `conv1_bn`, `conv1_relu`
(tf.keras 2 wrote `conv1/conv`, ...; Keras 3 forbids '/' in names). Weight files
are Keras's `densenet{121,169,201}_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
Inputs are preprocessed in "torch" mode by `preprocess_input`.
"""
from jkeras import backend, layers
from jkeras.applications import imagenet_utils

_GROWTH_RATE = 32
_EPSILON = 1.001e-5
_STEMS = {(6, 12, 24, 16): "densenet121", (6, 12, 32, 32): "densenet169",
          (6, 12, 48, 32): "densenet201"}


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="densenet"):
    """Instantiates a DenseNet with `blocks[i]` conv blocks in dense block i+1.

    Args:
        blocks: the number of conv blocks in each of the four dense blocks.
        include_top: whether to end with global pooling and the `predictions` Dense layer.
        weights: `None`, `"imagenet"` (Keras's file, looked up locally) or a path to an `.h5`.
            ImageNet weights exist only for the three standard `blocks`.
        input_tensor: optional symbolic tensor to use as the image input.
        input_shape: optional `(rows, cols, 3)`, at least 32x32; with the top and ImageNet
            weights it must be `(224, 224, 3)`.
        pooling: `None`, `"avg"` or `"max"`: pooling of the features when `include_top=False`.
        classes: number of classes when `include_top=True`.
        classifier_activation: activation of the top layer (`None` returns logits).
        name: the model's name.

    Returns:
        A `jkeras.Model`.
    """
    if backend.image_data_format() == "channels_first":
        raise ValueError("DenseNet does not support the `channels_first` image data format. "
                         "Switch to `channels_last` with "
                         "`jkeras.backend.set_image_data_format('channels_last')`.")
    file_name = None
    if weights == "imagenet":
        stem = _STEMS.get(tuple(blocks))
        if stem is None:
            raise ValueError(f"There are no ImageNet weights for DenseNet blocks={list(blocks)}; "
                             f"use one of {[list(b) for b in _STEMS]} or weights=None.")
        file_name = imagenet_utils.weights_file_name(stem, include_top)
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name, default_size=224,
        min_size=32)
    bn_axis = 3

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_EPSILON, name="conv1_bn")(x)
    x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)

    for stage, count in enumerate(blocks, start=2):
        x = dense_block(x, count, name=f"conv{stage}")
        if stage < len(blocks) + 1:
            x = transition_block(x, 0.5, name=f"pool{stage}")

    x = layers.BatchNormalization(axis=bn_axis, epsilon=_EPSILON, name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)

    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights, named_pooling=True)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def dense_block(x, blocks, name):
    """`blocks` conv blocks, each concatenating `_GROWTH_RATE` new channels onto `x`."""
    for i in range(blocks):
        x = conv_block(x, _GROWTH_RATE, name=f"{name}_block{i + 1}")
    return x


def transition_block(x, reduction, name):
    """BN -> ReLU -> 1x1 conv to `reduction` of the channels -> 2x2 average pooling."""
    x = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_bn")(x)
    x = layers.Activation("relu", name=f"{name}_relu")(x)
    x = layers.Conv2D(int(x.shape[3] * reduction), 1, use_bias=False, name=f"{name}_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def conv_block(x, growth_rate, name):
    """BN -> ReLU -> 1x1 conv (4*growth) -> BN -> ReLU -> 3x3 conv (growth), concatenated to `x`."""
    x1 = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_0_bn")(x)
    x1 = layers.Activation("relu", name=f"{name}_0_relu")(x1)
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=f"{name}_1_conv")(x1)
    x1 = layers.BatchNormalization(axis=3, epsilon=_EPSILON, name=f"{name}_1_bn")(x1)
    x1 = layers.Activation("relu", name=f"{name}_1_relu")(x1)
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x1)
    return layers.Concatenate(axis=3, name=f"{name}_concat")([x, x1])


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax", name="densenet121"):
    """DenseNet121: dense blocks of 6, 12, 24 and 16 conv blocks. Arguments as in `DenseNet`."""
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name=name)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax", name="densenet169"):
    """DenseNet169: dense blocks of 6, 12, 32 and 32 conv blocks. Arguments as in `DenseNet`."""
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name=name)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax", name="densenet201"):
    """DenseNet201: dense blocks of 6, 12, 48 and 32 conv blocks. Arguments as in `DenseNet`."""
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation, name=name)


def preprocess_input(x, data_format=None):
    """Scales pixels to [0, 1], then normalises each channel by ImageNet's mean and std ("torch")."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions

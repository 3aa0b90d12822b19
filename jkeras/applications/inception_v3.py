"""InceptionV3 (Szegedy et al., CVPR 2016), layer for layer as Keras builds it.

Most layers are auto-named (`conv2d_12`, `batch_normalization_12`,
`activation_12`), so the names match Keras's when the model is built in a fresh
session (`jkeras.backend.clear_session()`); weight files load by order anyway.
Keras's weight files: `inception_v3_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
Inputs are preprocessed in "tf" mode. Minimum input size 75x75.
"""
from jkeras import layers
from jkeras.applications import imagenet_utils
from jkeras.backend import image_data_format


def _channel_axis():
    return 1 if image_data_format() == "channels_first" else 3


def conv_bn_act(x, filters, kernel_size, strides, padding, use_bias=False, activation="relu",
                names=(None, None, None)):
    """Conv2D, then BatchNormalization (no scale) unless `use_bias`, then `activation` if any."""
    conv_name, bn_name, act_name = names
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                      name=conv_name)(x)
    if not use_bias:
        x = layers.BatchNormalization(axis=_channel_axis(), scale=False, name=bn_name)(x)
    if activation is not None:
        x = layers.Activation(activation, name=act_name)(x)
    return x


def conv2d_bn(x, filters, num_row, num_col, padding="same", strides=(1, 1), name=None):
    """Conv2D (no bias) -> BN (no scale) -> ReLU, named `{name}_conv`, `{name}_bn` and `name`."""
    names = (None, None, None) if name is None else (f"{name}_conv", f"{name}_bn", name)
    return conv_bn_act(x, filters, (num_row, num_col), strides, padding, names=names)


def _avg_pool_3x3(x):
    return layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same")(x)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="inception_v3"):
    """The InceptionV3 model: a conv stem and the inception blocks `mixed0` ... `mixed10`."""
    file_name = imagenet_utils.weights_file_name("inception_v3", include_top)
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name, default_size=299,
        min_size=75)
    axis = _channel_axis()

    x = conv2d_bn(img_input, 32, 3, 3, strides=(2, 2), padding="valid")
    x = conv2d_bn(x, 32, 3, 3, padding="valid")
    x = conv2d_bn(x, 64, 3, 3)
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = conv2d_bn(x, 80, 1, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, 3, padding="valid")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)

    # mixed0-2: 35x35 blocks (the pool branch has 32 filters in mixed0, 64 after).
    for i, pool_filters in enumerate((32, 64, 64)):
        branch1x1 = conv2d_bn(x, 64, 1, 1)
        branch5x5 = conv2d_bn(x, 48, 1, 1)
        branch5x5 = conv2d_bn(branch5x5, 64, 5, 5)
        branch3x3dbl = conv2d_bn(x, 64, 1, 1)
        branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
        branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
        branch_pool = conv2d_bn(_avg_pool_3x3(x), pool_filters, 1, 1)
        x = layers.concatenate([branch1x1, branch5x5, branch3x3dbl, branch_pool], axis=axis,
                               name=f"mixed{i}")

    # mixed3: reduction to 17x17.
    branch3x3 = conv2d_bn(x, 384, 3, 3, strides=(2, 2), padding="valid")
    branch3x3dbl = conv2d_bn(x, 64, 1, 1)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3)
    branch3x3dbl = conv2d_bn(branch3x3dbl, 96, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch3x3dbl, branch_pool], axis=axis, name="mixed3")

    # mixed4-7: 17x17 blocks with factorised 7x7 convolutions.
    for i, width in zip((4, 5, 6, 7), (128, 160, 160, 192)):
        branch1x1 = conv2d_bn(x, 192, 1, 1)
        branch7x7 = conv2d_bn(x, width, 1, 1)
        branch7x7 = conv2d_bn(branch7x7, width, 1, 7)
        branch7x7 = conv2d_bn(branch7x7, 192, 7, 1)
        branch7x7dbl = conv2d_bn(x, width, 1, 1)
        branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
        branch7x7dbl = conv2d_bn(branch7x7dbl, width, 1, 7)
        branch7x7dbl = conv2d_bn(branch7x7dbl, width, 7, 1)
        branch7x7dbl = conv2d_bn(branch7x7dbl, 192, 1, 7)
        branch_pool = conv2d_bn(_avg_pool_3x3(x), 192, 1, 1)
        x = layers.concatenate([branch1x1, branch7x7, branch7x7dbl, branch_pool], axis=axis,
                               name=f"mixed{i}")

    # mixed8: reduction to 8x8.
    branch3x3 = conv2d_bn(x, 192, 1, 1)
    branch3x3 = conv2d_bn(branch3x3, 320, 3, 3, strides=(2, 2), padding="valid")
    branch7x7x3 = conv2d_bn(x, 192, 1, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 1, 7)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 7, 1)
    branch7x7x3 = conv2d_bn(branch7x7x3, 192, 3, 3, strides=(2, 2), padding="valid")
    branch_pool = layers.MaxPooling2D((3, 3), strides=(2, 2))(x)
    x = layers.concatenate([branch3x3, branch7x7x3, branch_pool], axis=axis, name="mixed8")

    # mixed9-10: 8x8 blocks with split 1x3/3x1 branches.
    for i in range(2):
        branch1x1 = conv2d_bn(x, 320, 1, 1)
        branch3x3 = conv2d_bn(x, 384, 1, 1)
        branch3x3_1 = conv2d_bn(branch3x3, 384, 1, 3)
        branch3x3_2 = conv2d_bn(branch3x3, 384, 3, 1)
        branch3x3 = layers.concatenate([branch3x3_1, branch3x3_2], axis=axis,
                                       name=f"mixed9_{i}")
        branch3x3dbl = conv2d_bn(x, 448, 1, 1)
        branch3x3dbl = conv2d_bn(branch3x3dbl, 384, 3, 3)
        branch3x3dbl_1 = conv2d_bn(branch3x3dbl, 384, 1, 3)
        branch3x3dbl_2 = conv2d_bn(branch3x3dbl, 384, 3, 1)
        branch3x3dbl = layers.concatenate([branch3x3dbl_1, branch3x3dbl_2], axis=axis)
        branch_pool = conv2d_bn(_avg_pool_3x3(x), 192, 1, 1)
        x = layers.concatenate([branch1x1, branch3x3, branch3x3dbl, branch_pool], axis=axis,
                               name=f"mixed{9 + i}")

    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def preprocess_input(x, data_format=None):
    """"tf" mode: pixels scaled to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions


InceptionV3.__doc__ += imagenet_utils.classifier_doc(75, 299)

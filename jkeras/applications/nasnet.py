"""NASNet-A (NASNetMobile, NASNetLarge), as Keras builds it.

Reference: [Learning Transferable Architectures for Scalable Image Recognition](
https://arxiv.org/abs/1707.07012).

Layers are created in Keras's order, so the auto-named ones (`activation_187`,
`add_3`, `zero_padding2d_1`, ...) get Keras's names when the model is built in a
fresh session (`jkeras.backend.clear_session()`), and Keras's `nasnet_mobile.h5`,
`nasnet_large.h5` (and `_no_top`) files load unchanged. Inputs are scaled to
[-1, 1] by `preprocess_input`.
"""
from jkeras import backend, layers
from jkeras.applications import imagenet_utils

_BN = {"axis": -1, "momentum": 0.9997, "epsilon": 1e-3}
_FILES = {224: ("nasnet_mobile.h5", "nasnet_mobile_no_top.h5"),
          331: ("nasnet_large.h5", "nasnet_large_no_top.h5")}


def NASNet(input_shape=None, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
           skip_reduction=True, filter_multiplier=2, include_top=True, weights="imagenet",
           input_tensor=None, pooling=None, classes=1000, default_size=None,
           classifier_activation="softmax", name="NASNet"):
    """Instantiates a NASNet-A model, `NASNet (num_blocks @ penultimate_filters)`.

    Args:
        input_shape: optional `(rows, cols, 3)`, at least 32x32; defaults to
            `(default_size, default_size, 3)`.
        penultimate_filters: filters of the penultimate layer; a multiple of
            `24 * filter_multiplier ** 2`.
        num_blocks: number of normal cells between two reduction cells.
        stem_block_filters: filters of the first convolution.
        skip_reduction: whether the cell after a reduction takes the reduction's input
            (rather than its output) as its "previous" input.
        filter_multiplier: filter growth at each reduction.
        include_top: whether to end with global pooling and the `predictions` Dense layer.
        weights: `None`, `"imagenet"` (Keras's file for default_size 224 or 331, looked up
            locally) or a path to an `.h5`.
        input_tensor: optional symbolic tensor to use as the image input.
        pooling: `None`, `"avg"` or `"max"`: pooling of the features when `include_top=False`.
        classes: number of classes when `include_top=True`.
        default_size: the default image size (331 when None).
        classifier_activation: activation of the top layer (`None` returns logits).
        name: the model's name.

    Returns:
        A `jkeras.Model`.
    """
    if backend.image_data_format() == "channels_first":
        raise ValueError("NASNet does not support the `channels_first` image data format. "
                         "Switch to `channels_last` with "
                         "`jkeras.backend.set_image_data_format('channels_last')`.")
    imagenet_utils.validate_weights(weights, include_top, classes)
    if isinstance(input_shape, tuple) and None in input_shape and weights == "imagenet":
        raise ValueError("When specifying the input shape of a NASNet and loading `ImageNet` "
                         "weights, the input_shape argument must be static (no None entries). "
                         f"Got: `input_shape={input_shape}`.")
    if default_size is None:
        default_size = 331
    file_name = None
    if weights == "imagenet":
        if default_size not in _FILES:
            raise ValueError("ImageNet weights can only be loaded with NASNetLarge or NASNetMobile")
        file_name = _FILES[default_size][0 if include_top else 1]
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name,
        default_size=default_size, min_size=32)

    if penultimate_filters % (24 * (filter_multiplier ** 2)) != 0:
        raise ValueError("For NASNet-A models, the `penultimate_filters` must be a multiple of "
                         f"24 * (`filter_multiplier` ** 2). Current value: {penultimate_filters}")
    filters = penultimate_filters // 24

    x = layers.Conv2D(stem_block_filters, (3, 3), strides=(2, 2), padding="valid", use_bias=False,
                      name="stem_conv1", kernel_initializer="he_normal")(img_input)
    x = layers.BatchNormalization(name="stem_bn1", **_BN)(x)

    p = None
    x, p = _reduction_a_cell(x, p, filters // (filter_multiplier ** 2), block_id="stem_1")
    x, p = _reduction_a_cell(x, p, filters // filter_multiplier, block_id="stem_2")
    for stage in range(3):
        if stage:
            x, p0 = _reduction_a_cell(x, p, filters * filter_multiplier ** stage,
                                      block_id=f"reduce_{stage * num_blocks}")
            p = p if skip_reduction else p0
        for i in range(num_blocks):
            block_id = f"{stage * num_blocks + i + (1 if stage else 0)}"
            x, p = _normal_a_cell(x, p, filters * filter_multiplier ** stage, block_id=block_id)

    x = layers.Activation("relu")(x)
    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights, top_pool_name=None)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def NASNetMobile(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                 pooling=None, classes=1000, classifier_activation="softmax",
                 name="nasnet_mobile"):
    """NASNet-A (4 @ 1056), 224x224 by default. Arguments as in `NASNet`."""
    if not include_top and input_shape is None:
        input_shape = (224, 224, 3)
    return NASNet(input_shape, penultimate_filters=1056, num_blocks=4, stem_block_filters=32,
                  skip_reduction=False, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=224, classifier_activation=classifier_activation, name=name)


def NASNetLarge(input_shape=None, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax", name="nasnet_large"):
    """NASNet-A (6 @ 4032), 331x331 by default. Arguments as in `NASNet`."""
    return NASNet(input_shape, penultimate_filters=4032, num_blocks=6, stem_block_filters=96,
                  skip_reduction=True, filter_multiplier=2, include_top=include_top,
                  weights=weights, input_tensor=input_tensor, pooling=pooling, classes=classes,
                  default_size=331, classifier_activation=classifier_activation, name=name)


def _separable_conv_block(ip, filters, kernel_size=(3, 3), strides=(1, 1), block_id=None):
    """Two [ReLU -> separable conv -> BN]; the first one strided (after Keras's padding) if asked."""
    x = layers.Activation("relu")(ip)
    if strides == (2, 2):
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"separable_conv_1_pad_{block_id}")(x)
        conv_pad = "valid"
    else:
        conv_pad = "same"
    x = layers.SeparableConv2D(filters, kernel_size, strides=strides,
                               name=f"separable_conv_1_{block_id}", padding=conv_pad,
                               use_bias=False)(x)
    x = layers.BatchNormalization(name=f"separable_conv_1_bn_{block_id}", **_BN)(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, kernel_size, name=f"separable_conv_2_{block_id}",
                               padding="same", use_bias=False)(x)
    return layers.BatchNormalization(name=f"separable_conv_2_bn_{block_id}", **_BN)(x)


def _adjust_block(p, ip, filters, block_id=None):
    """`p` (the previous cell's input) brought to `ip`'s spatial size and to `filters` channels."""
    if p is None:
        return ip
    if p.shape[-2] != ip.shape[-2]:
        # Halve the size with two offset 1x1 strided paths, as the paper's factorized reduction.
        p = layers.Activation("relu", name=f"adjust_relu_1_{block_id}")(p)
        p1 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_1_{block_id}")(p)
        p1 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False,
                           name=f"adjust_conv_1_{block_id}", kernel_initializer="he_normal")(p1)
        p2 = layers.ZeroPadding2D(padding=((0, 1), (0, 1)))(p)
        p2 = layers.Cropping2D(cropping=((1, 0), (1, 0)))(p2)
        p2 = layers.AveragePooling2D((1, 1), strides=(2, 2), padding="valid",
                                     name=f"adjust_avg_pool_2_{block_id}")(p2)
        p2 = layers.Conv2D(filters // 2, (1, 1), padding="same", use_bias=False,
                           name=f"adjust_conv_2_{block_id}", kernel_initializer="he_normal")(p2)
        p = layers.concatenate([p1, p2], axis=-1)
        return layers.BatchNormalization(name=f"adjust_bn_{block_id}", **_BN)(p)
    if p.shape[-1] != filters:
        p = layers.Activation("relu")(p)
        p = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                          name=f"adjust_conv_projection_{block_id}", use_bias=False,
                          kernel_initializer="he_normal")(p)
        return layers.BatchNormalization(name=f"adjust_bn_{block_id}", **_BN)(p)
    return p


def _normal_a_cell(ip, p, filters, block_id=None):
    """A NASNet-A normal cell (Fig. 4 of the paper). Returns `(output, ip)`."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation("relu")(ip)
    h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                      name=f"normal_conv_1_{block_id}", use_bias=False,
                      kernel_initializer="he_normal")(h)
    h = layers.BatchNormalization(name=f"normal_bn_1_{block_id}", **_BN)(h)

    x1_1 = _separable_conv_block(h, filters, kernel_size=(5, 5),
                                 block_id=f"normal_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, block_id=f"normal_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"normal_add_1_{block_id}")

    x2_1 = _separable_conv_block(p, filters, (5, 5), block_id=f"normal_left2_{block_id}")
    x2_2 = _separable_conv_block(p, filters, (3, 3), block_id=f"normal_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"normal_add_2_{block_id}")

    x3 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                 name=f"normal_left3_{block_id}")(h)
    x3 = layers.add([x3, p], name=f"normal_add_3_{block_id}")

    x4_1 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                   name=f"normal_left4_{block_id}")(p)
    x4_2 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                   name=f"normal_right4_{block_id}")(p)
    x4 = layers.add([x4_1, x4_2], name=f"normal_add_4_{block_id}")

    x5 = _separable_conv_block(h, filters, block_id=f"normal_left5_{block_id}")
    x5 = layers.add([x5, h], name=f"normal_add_5_{block_id}")

    x = layers.concatenate([p, x1, x2, x3, x4, x5], axis=-1, name=f"normal_concat_{block_id}")
    return x, ip


def _reduction_a_cell(ip, p, filters, block_id=None):
    """A NASNet-A reduction cell (Fig. 4 of the paper), halving the size. Returns `(output, ip)`."""
    p = _adjust_block(p, ip, filters, block_id)
    h = layers.Activation("relu")(ip)
    h = layers.Conv2D(filters, (1, 1), strides=(1, 1), padding="same",
                      name=f"reduction_conv_1_{block_id}", use_bias=False,
                      kernel_initializer="he_normal")(h)
    h = layers.BatchNormalization(name=f"reduction_bn_1_{block_id}", **_BN)(h)
    h3 = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(h, 3),
                              name=f"reduction_pad_1_{block_id}")(h)

    x1_1 = _separable_conv_block(h, filters, (5, 5), strides=(2, 2),
                                 block_id=f"reduction_left1_{block_id}")
    x1_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                                 block_id=f"reduction_right1_{block_id}")
    x1 = layers.add([x1_1, x1_2], name=f"reduction_add_1_{block_id}")

    x2_1 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                               name=f"reduction_left2_{block_id}")(h3)
    x2_2 = _separable_conv_block(p, filters, (7, 7), strides=(2, 2),
                                 block_id=f"reduction_right2_{block_id}")
    x2 = layers.add([x2_1, x2_2], name=f"reduction_add_2_{block_id}")

    x3_1 = layers.AveragePooling2D((3, 3), strides=(2, 2), padding="valid",
                                   name=f"reduction_left3_{block_id}")(h3)
    x3_2 = _separable_conv_block(p, filters, (5, 5), strides=(2, 2),
                                 block_id=f"reduction_right3_{block_id}")
    x3 = layers.add([x3_1, x3_2], name=f"reduction_add3_{block_id}")

    x4 = layers.AveragePooling2D((3, 3), strides=(1, 1), padding="same",
                                 name=f"reduction_left4_{block_id}")(x1)
    x4 = layers.add([x2, x4])

    # Keras names this block "reduction_left4" too; the weight files depend on it.
    x5_1 = _separable_conv_block(x1, filters, (3, 3), block_id=f"reduction_left4_{block_id}")
    x5_2 = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="valid",
                               name=f"reduction_right5_{block_id}")(h3)
    x5 = layers.add([x5_1, x5_2], name=f"reduction_add4_{block_id}")

    x = layers.concatenate([x2, x3, x4, x5], axis=-1, name=f"reduction_concat_{block_id}")
    return x, ip


def preprocess_input(x, data_format=None):
    """Scales pixels from [0, 255] to [-1, 1] (Keras's "tf" mode)."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions

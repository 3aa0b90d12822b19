"""Xception (Chollet, CVPR 2017): depthwise-separable convolutions with residual links.

Keras's weight files: `xception_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
Inputs are preprocessed in "tf" mode. Minimum input size 71x71.
"""
from jkeras import layers
from jkeras.applications import imagenet_utils
from jkeras.backend import image_data_format


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="xception"):
    """The Xception model: entry flow, 8 middle-flow blocks, exit flow."""
    file_name = imagenet_utils.weights_file_name("xception", include_top)
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name, default_size=299,
        min_size=71)
    axis = 1 if image_data_format() == "channels_first" else -1

    def bn(t, bn_name=None):
        return layers.BatchNormalization(axis=axis, name=bn_name)(t)

    def sepconv(t, filters, conv_name):
        t = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False,
                                   name=conv_name)(t)
        return bn(t, f"{conv_name}_bn")

    def projection(t, filters):
        t = layers.Conv2D(filters, (1, 1), strides=(2, 2), padding="same", use_bias=False)(t)
        return bn(t)

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = bn(x, "block1_conv1_bn")
    x = layers.Activation("relu", name="block1_conv1_act")(x)
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = bn(x, "block1_conv2_bn")
    x = layers.Activation("relu", name="block1_conv2_act")(x)

    # Entry flow: blocks 2-4 halve the size; block 2 starts without a ReLU.
    for block, filters in ((2, 128), (3, 256), (4, 728)):
        residual = projection(x, filters)
        if block > 2:
            x = layers.Activation("relu", name=f"block{block}_sepconv1_act")(x)
        x = sepconv(x, filters, f"block{block}_sepconv1")
        x = layers.Activation("relu", name=f"block{block}_sepconv2_act")(x)
        x = sepconv(x, filters, f"block{block}_sepconv2")
        x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same",
                                name=f"block{block}_pool")(x)
        x = layers.add([x, residual])

    # Middle flow: blocks 5-12, identity shortcuts.
    for block in range(5, 13):
        residual = x
        for i in (1, 2, 3):
            x = layers.Activation("relu", name=f"block{block}_sepconv{i}_act")(x)
            x = sepconv(x, 728, f"block{block}_sepconv{i}")
        x = layers.add([x, residual])

    # Exit flow.
    residual = projection(x, 1024)
    x = layers.Activation("relu", name="block13_sepconv1_act")(x)
    x = sepconv(x, 728, "block13_sepconv1")
    x = layers.Activation("relu", name="block13_sepconv2_act")(x)
    x = sepconv(x, 1024, "block13_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name="block13_pool")(x)
    x = layers.add([x, residual])

    x = sepconv(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = sepconv(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def preprocess_input(x, data_format=None):
    """"tf" mode: pixels scaled to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions


Xception.__doc__ += imagenet_utils.classifier_doc(71, 299)

"""ResNet50V2/101V2/152V2 (He et al., ECCV 2016): pre-activation residual blocks.

Keras's weight files: `resnet50v2_weights_tf_dim_ordering_tf_kernels[_notop].h5`
(also `resnet101v2`, `resnet152v2`). Inputs are preprocessed in "tf" mode.
"""
from jkeras import layers
from jkeras.applications import imagenet_utils
from jkeras.applications.resnet import _BN_EPSILON, _DOC, ResNet, _bn_axis, stages


def residual_block_v2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck block; the stride sits on the 3x3 conv, the shortcut max-pools."""
    bn_axis = _bn_axis()
    preact = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON,
                                       name=f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stack_residual_blocks_v2(x, filters, blocks, stride1=2, name=None):
    """`blocks` v2 blocks: the first projects the shortcut, the last strides by `stride1`."""
    x = residual_block_v2(x, filters, conv_shortcut=True, name=f"{name}_block1")
    for i in range(2, blocks):
        x = residual_block_v2(x, filters, name=f"{name}_block{i}")
    return residual_block_v2(x, filters, stride=stride1, name=f"{name}_block{blocks}")


def _stacks_v2(blocks):
    return stages(stack_residual_blocks_v2, blocks, strides=(2, 2, 2, 1))


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="resnet50v2"):
    return ResNet(_stacks_v2((3, 4, 6, 3)), True, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet101v2"):
    return ResNet(_stacks_v2((3, 4, 23, 3)), True, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                name="resnet152v2"):
    return ResNet(_stacks_v2((3, 8, 36, 3)), True, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet152v2")


ResNet50V2.__doc__ = "The ResNet50V2 model (pre-activation; 3, 4, 6, 3 blocks)." + _DOC
ResNet101V2.__doc__ = "The ResNet101V2 model (pre-activation; 3, 4, 23, 3 blocks)." + _DOC
ResNet152V2.__doc__ = "The ResNet152V2 model (pre-activation; 3, 8, 36, 3 blocks)." + _DOC


def preprocess_input(x, data_format=None):
    """"tf" mode: pixels scaled to [-1, 1]."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


decode_predictions = imagenet_utils.decode_predictions

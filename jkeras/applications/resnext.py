"""ResNeXt50/101 (Xie et al., CVPR 2017) exactly as `keras_applications` 1.0.8 built them.

Neither Keras 3 nor tf.keras has ResNeXt; the original weight files
(`resnext50_weights_tf_dim_ordering_tf_kernels[_notop].h5`, also `resnext101`)
only load into that original structure, so it is kept here layer for layer:
the grouped 3x3 convolution is a DepthwiseConv2D with `depth_multiplier=c`
whose outputs are summed group-wise by Reshape -> Lambda -> Reshape, and the
classifier is named `probs`. Inputs are preprocessed in "torch" mode.
"""
import jax.numpy as jnp

from jkeras import layers
from jkeras.applications import imagenet_utils
from jkeras.applications.resnet import _BN_EPSILON, _DOC, ResNet, _bn_axis, stages


def _sum_group_inputs(x):
    """(batch, h, w, groups, c_in, c_out) -> (batch, h, w, groups, c_out): the grouped conv's sum."""
    return jnp.sum(x, axis=4)


def residual_block_v3(x, filters, kernel_size=3, stride=1, groups=32, conv_shortcut=True,
                      name=None):
    """ResNeXt bottleneck: 1x1 -> grouped kxk (`groups` groups) -> 1x1 (2*filters)."""
    bn_axis = _bn_axis()
    if conv_shortcut:
        shortcut = layers.Conv2D((64 // groups) * filters, 1, strides=stride, use_bias=False,
                                 name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON,
                                             name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)

    c = filters // groups
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride, depth_multiplier=c, use_bias=False,
                               name=f"{name}_2_conv")(x)
    spatial = tuple(x.shape[1:-1])
    if None in spatial:
        raise ValueError("ResNeXt's grouped convolution reshapes by the feature map's size, so "
                         "it needs a static `input_shape`; received spatial dims "
                         f"{spatial} in block '{name}'.")
    x = layers.Reshape(spatial + (groups, c, c))(x)
    x = layers.Lambda(_sum_group_inputs, name=f"{name}_2_reduce")(x)
    x = layers.Reshape(spatial + (filters,))(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)

    x = layers.Conv2D((64 // groups) * filters, 1, use_bias=False, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v3(x, filters, blocks, stride1=2, groups=32, name=None):
    """`blocks` ResNeXt blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v3(x, filters, stride=stride1, groups=groups, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v3(x, filters, groups=groups, conv_shortcut=False,
                              name=f"{name}_block{i}")
    return x


def _stacks_v3(blocks):
    return stages(stack_residual_blocks_v3, blocks, filters=(128, 256, 512, 1024))


def ResNeXt50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnext50"):
    return ResNet(_stacks_v3((3, 4, 6, 3)), False, False, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnext50", top_name="probs")


def ResNeXt101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax", name="resnext101"):
    return ResNet(_stacks_v3((3, 4, 23, 3)), False, False, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnext101", top_name="probs")


ResNeXt50.__doc__ = "The ResNeXt50 (32x4d) model; the classifier is named `probs`." + _DOC
ResNeXt101.__doc__ = "The ResNeXt101 (32x4d) model; the classifier is named `probs`." + _DOC


def preprocess_input(x, data_format=None):
    """"torch" mode: pixels scaled to [0, 1], then normalised with the ImageNet mean and std."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


decode_predictions = imagenet_utils.decode_predictions

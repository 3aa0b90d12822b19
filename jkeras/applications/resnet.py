"""ResNet50/101/152 (He et al., CVPR 2015) and the stem/head that ResNetV2 and ResNeXt share.

Keras's weight files: `resnet50_weights_tf_dim_ordering_tf_kernels[_notop].h5`
(also `resnet101`, `resnet152`). Inputs are preprocessed in "caffe" mode.
"""
from jkeras import layers
from jkeras.applications import imagenet_utils
from jkeras.backend import image_data_format

_BN_EPSILON = 1.001e-5


def _bn_axis():
    return 3 if image_data_format() == "channels_last" else 1


def ResNet(stack_fn, preact, use_bias, include_top=True, weights="imagenet", input_tensor=None,
           input_shape=None, pooling=None, classes=1000, classifier_activation="softmax",
           name="resnet", weights_name=None, top_name="predictions"):
    """The ResNet family's frame: 7x7 stem, `stack_fn` (the residual stacks), then the head.

    Args:
        stack_fn: maps the stem's output to the last stack's output.
        preact: True for ResNetV2 (BN/ReLU after the stacks instead of in the stem).
        use_bias: whether the stem convolution has a bias (False for ResNeXt).
        weights_name: the stem of Keras's weight file name (e.g. "resnet50").
        top_name: the name of the classifier layer ("probs" for ResNeXt).
        The others are the application arguments (see `ResNet50`).
    """
    file_name = None if weights_name is None else imagenet_utils.weights_file_name(
        weights_name, include_top)
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name, default_size=224,
        min_size=32)
    bn_axis = _bn_axis()

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)

    x = stack_fn(x)

    if preact:
        x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)

    x = imagenet_utils.classifier_head(x, include_top, pooling, classes, classifier_activation,
                                       weights, top_name=top_name, named_pooling=True)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def residual_block_v1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Bottleneck block 1x1 -> kxk -> 1x1 (4*filters), post-activation, projection or identity shortcut."""
    bn_axis = _bn_axis()
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON,
                                             name=f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, kernel_size, padding="same", name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = layers.BatchNormalization(axis=bn_axis, epsilon=_BN_EPSILON, name=f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stack_residual_blocks_v1(x, filters, blocks, stride1=2, name=None):
    """`blocks` v1 blocks; the first projects the shortcut and strides by `stride1`."""
    x = residual_block_v1(x, filters, stride=stride1, name=f"{name}_block1")
    for i in range(2, blocks + 1):
        x = residual_block_v1(x, filters, conv_shortcut=False, name=f"{name}_block{i}")
    return x


def stages(stack, blocks, filters=(64, 128, 256, 512), strides=(1, 2, 2, 2)):
    """A `stack_fn` of four `stack(x, filters[i], blocks[i], strides[i])` stages `conv2`...`conv5`."""
    def stack_fn(x):
        for i, (width, n, stride) in enumerate(zip(filters, blocks, strides)):
            x = stack(x, width, n, stride1=stride, name=f"conv{i + 2}")
        return x
    return stack_fn


def _stacks_v1(blocks):
    return stages(stack_residual_blocks_v1, blocks)


_DOC = imagenet_utils.classifier_doc(32, 224)


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax", name="resnet50"):
    return ResNet(_stacks_v1((3, 4, 6, 3)), False, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet50")


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet101"):
    return ResNet(_stacks_v1((3, 4, 23, 3)), False, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet101")


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, classifier_activation="softmax", name="resnet152"):
    return ResNet(_stacks_v1((3, 8, 36, 3)), False, True, include_top, weights, input_tensor,
                  input_shape, pooling, classes, classifier_activation, name,
                  weights_name="resnet152")


ResNet50.__doc__ = "The ResNet50 model (3, 4, 6, 3 bottleneck blocks)." + _DOC
ResNet101.__doc__ = "The ResNet101 model (3, 4, 23, 3 bottleneck blocks)." + _DOC
ResNet152.__doc__ = "The ResNet152 model (3, 8, 36, 3 bottleneck blocks)." + _DOC


def preprocess_input(x, data_format=None):
    """"caffe" mode: RGB->BGR, then the ImageNet mean pixel subtracted, no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions

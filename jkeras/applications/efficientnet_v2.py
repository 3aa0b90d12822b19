"""EfficientNetV2B0-B3, S, M and L, as Keras builds them: Fused-MBConv then MBConv stages.

Reference: [EfficientNetV2: Smaller Models and Faster Training](https://arxiv.org/abs/2104.00298)
(ICML 2021).

With `include_preprocessing=True` (the default) the model takes pixels in [0, 255]
and scales them itself; `preprocess_input` passes them through. Without it the
model expects inputs in [-1, 1]. Layer names, order and weights are Keras's, so
Keras's `efficientnetv2-{b0,b1,b2,b3,s,m,l}[_notop].h5` files load unchanged.
"""
import copy
import math

from jkeras import backend, initializers, layers
from jkeras.applications import imagenet_utils
from jkeras.applications.efficientnet import (
    CONV_KERNEL_INITIALIZER,
    DENSE_KERNEL_INITIALIZER,
    squeeze_excite,
    top,
)

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
WEIGHTS_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}


def _stages(*rows):
    """Keras's block args from rows of (kernel, repeats, in, out, expand, se, stride, type)."""
    keys = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio",
            "se_ratio", "strides", "conv_type")
    return [dict(zip(keys, row)) for row in rows]


# conv_type 1 is a Fused-MBConv block, 0 an MBConv block. B0-B3 share one layout.
_B_STAGES = _stages((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1),
                    (3, 2, 32, 48, 4, 0, 2, 1), (3, 3, 48, 96, 4, 0.25, 2, 0),
                    (3, 5, 96, 112, 6, 0.25, 1, 0), (3, 8, 112, 192, 6, 0.25, 2, 0))
DEFAULT_BLOCKS_ARGS = {
    "efficientnetv2-s": _stages(
        (3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1), (3, 4, 48, 64, 4, 0, 2, 1),
        (3, 6, 64, 128, 4, 0.25, 2, 0), (3, 9, 128, 160, 6, 0.25, 1, 0),
        (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "efficientnetv2-m": _stages(
        (3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1), (3, 5, 48, 80, 4, 0, 2, 1),
        (3, 7, 80, 160, 4, 0.25, 2, 0), (3, 14, 160, 176, 6, 0.25, 1, 0),
        (3, 18, 176, 304, 6, 0.25, 2, 0), (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "efficientnetv2-l": _stages(
        (3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1), (3, 7, 64, 96, 4, 0, 2, 1),
        (3, 10, 96, 192, 4, 0.25, 2, 0), (3, 19, 192, 224, 6, 0.25, 1, 0),
        (3, 25, 224, 384, 6, 0.25, 2, 0), (3, 7, 384, 640, 6, 0.25, 1, 0)),
    **{f"efficientnetv2-b{i}": _B_STAGES for i in range(4)},
}


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """`filters` scaled by `width_coefficient`, rounded to a multiple of `depth_divisor`."""
    filters *= width_coefficient
    minimum_depth = min_depth or depth_divisor
    return int(max(minimum_depth,
                   int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    """`repeats` scaled by `depth_coefficient`, rounded up."""
    return int(math.ceil(depth_coefficient * repeats))


def _bn(x, bn_momentum, name):
    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1
    return layers.BatchNormalization(axis=bn_axis, momentum=bn_momentum, name=name)(x)


def _expand(x, filters, kernel_size, strides, bn_momentum, activation, name):
    """The expansion: conv to `filters` -> BatchNorm -> activation."""
    x = layers.Conv2D(filters, kernel_size, strides=strides,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                      name=f"{name}expand_conv")(x)
    x = _bn(x, bn_momentum, f"{name}expand_bn")
    return layers.Activation(activation, name=f"{name}expand_activation")(x)


def _residual(x, inputs, strides, input_filters, output_filters, survival_probability, name):
    """Add the block's input back when the shapes agree (after stochastic depth)."""
    if strides == 1 and input_filters == output_filters:
        if survival_probability:  # Keras passes the drop rate under this name
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1),
                               name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                se_ratio=0.0, bn_momentum=0.9, activation="swish", survival_probability=0.8,
                name=None):
    """Expand 1x1 -> depthwise -> squeeze-excite -> project 1x1, as a function of the input."""
    name = name or f"block0{imagenet_utils.get_uid('block0')}_"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _expand(x, filters, 1, 1, bn_momentum, activation, name)
        x = layers.DepthwiseConv2D(kernel_size, strides=strides,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                                   use_bias=False, name=f"{name}dwconv2")(x)
        x = _bn(x, bn_momentum, f"{name}bn")
        x = layers.Activation(activation, name=f"{name}activation")(x)
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, input_filters, filters, se_ratio, activation, name)
        x = layers.Conv2D(output_filters, 1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=False, name=f"{name}project_conv")(x)
        x = _bn(x, bn_momentum, f"{name}project_bn")
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                         name)
    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                     se_ratio=0.0, bn_momentum=0.9, activation="swish", survival_probability=0.8,
                     name=None):
    """A full conv in place of expand + depthwise, then squeeze-excite and project."""
    name = name or f"block0{imagenet_utils.get_uid('block0')}_"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _expand(x, filters, kernel_size, strides, bn_momentum, activation, name)
        if 0 < se_ratio <= 1:
            x = squeeze_excite(x, input_filters, filters, se_ratio, activation, name)
        fused = expand_ratio == 1
        x = layers.Conv2D(output_filters, kernel_size if fused else 1,
                          strides=strides if fused else 1,
                          kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                          use_bias=False, name=f"{name}project_conv")(x)
        x = _bn(x, bn_momentum, f"{name}project_bn")
        if fused:
            x = layers.Activation(activation, name=f"{name}project_activation")(x)
        return _residual(x, inputs, strides, input_filters, output_filters, survival_probability,
                         name)
    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                   drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9,
                   activation="swish", blocks_args="default", name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   include_preprocessing=True, weights_name=None):
    """Instantiates an EfficientNetV2; `blocks_args="default"` takes the stages named by `name`.

    Args:
        width_coefficient, depth_coefficient: scale the filters and blocks of every stage.
        default_size: the input size the ImageNet weights were trained at.
        dropout_rate: dropout before the top Dense layer.
        drop_connect_rate: the largest stochastic-depth rate (the last block's).
        depth_divisor, min_depth: filter counts are multiples of `depth_divisor`, at least
            `min_depth`.
        bn_momentum: momentum of every BatchNormalization.
        activation: the activation of every block.
        blocks_args: the stages, or "default" for `DEFAULT_BLOCKS_ARGS[name]`.
        include_preprocessing: scale [0, 255] pixels inside the model.
        weights_name: Keras's key of the ImageNet weights ("b0", ..., "-s", "-m", "-l").
        Others: as in `EfficientNetV2B0`.

    Returns:
        A functional `Model`.
    """
    if blocks_args == "default":
        if name not in DEFAULT_BLOCKS_ARGS:
            raise ValueError(f"There are no default blocks for EfficientNetV2 name={name!r}; "
                             f"pass `blocks_args` or a name among {sorted(DEFAULT_BLOCKS_ARGS)}.")
        blocks_args = DEFAULT_BLOCKS_ARGS[name]
    img_input = imagenet_utils.model_input(input_tensor, input_shape, include_top, weights,
                                           classes, None, default_size=default_size, min_size=32)
    bn_axis = 3 if backend.image_data_format() == "channels_last" else 1

    x = img_input
    if include_preprocessing:
        num_channels = x.shape[bn_axis]
        if name.split("-")[-1].startswith("b") and num_channels == 3:
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=bn_axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)

    def filters_of(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    x = layers.Conv2D(filters_of(blocks_args[0]["input_filters"]), 3, strides=2,
                      kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same", use_bias=False,
                      name="stem_conv")(x)
    x = _bn(x, bn_momentum, "stem_bn")
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    b = 0
    blocks = float(sum(args["num_repeat"] for args in blocks_args))
    for i, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError("The number of repeats in `EfficientNetV2` must be > 0. "
                             f"Received: num_repeat={args['num_repeat']}")
        args["input_filters"] = filters_of(args["input_filters"])
        args["output_filters"] = filters_of(args["output_filters"])
        make_block = {0: MBConvBlock, 1: FusedMBConvBlock}[args.pop("conv_type")]
        for j in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if j > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = make_block(activation=activation, bn_momentum=bn_momentum,
                           survival_probability=drop_connect_rate * b / blocks,
                           name=f"block{i + 1}{chr(j + 97)}_", **args)(x)
            b += 1

    x = layers.Conv2D(filters_of(1280), 1, strides=1, kernel_initializer=CONV_KERNEL_INITIALIZER,
                      padding="same", use_bias=False, name="top_conv")(x)
    x = _bn(x, bn_momentum, "top_bn")
    x = layers.Activation(activation, name="top_activation")(x)
    x = top(x, include_top, pooling, classes, classifier_activation, weights, dropout_rate,
            DENSE_KERNEL_INITIALIZER, initializers.Constant(0.0))

    file_name = origin = file_hash = None
    if weights == "imagenet":
        file_name = name + (".h5" if include_top else "_notop.h5")
        origin = BASE_WEIGHTS_PATH + file_name
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name,
                                       origin, file_hash)


def _builder(model_name, width, depth, size, key):
    """The Keras builder `model_name`: EfficientNetV2 with these coefficients and weights key."""
    default_name = "efficientnetv2-" + model_name[len("EfficientNetV2"):].lower()

    def builder(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax",
                include_preprocessing=True, name=default_name):
        return EfficientNetV2(width, depth, size, name=name, include_top=include_top,
                              weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                              pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing, weights_name=key)
    builder.__name__ = builder.__qualname__ = model_name
    builder.__doc__ = (
        f"Instantiates {model_name} (default input {size}x{size}; with `include_preprocessing` "
        "it takes pixels in [0, 255], without it inputs in [-1, 1])."
        + imagenet_utils.classifier_doc(32, size).replace(
            "        name:", "        include_preprocessing: scale the pixels inside the model.\n"
            "        name:"))
    return builder


EfficientNetV2B0 = _builder("EfficientNetV2B0", 1.0, 1.0, 224, "b0")
EfficientNetV2B1 = _builder("EfficientNetV2B1", 1.0, 1.1, 240, "b1")
EfficientNetV2B2 = _builder("EfficientNetV2B2", 1.1, 1.2, 260, "b2")
EfficientNetV2B3 = _builder("EfficientNetV2B3", 1.2, 1.4, 300, "b3")
EfficientNetV2S = _builder("EfficientNetV2S", 1.0, 1.0, 384, "-s")
EfficientNetV2M = _builder("EfficientNetV2M", 1.0, 1.0, 480, "-m")
EfficientNetV2L = _builder("EfficientNetV2L", 1.0, 1.0, 480, "-l")


def preprocess_input(x, data_format=None):
    """A pass-through, as in Keras: the model scales its own inputs."""
    return x


decode_predictions = imagenet_utils.decode_predictions

"""ResNetRS50 to ResNetRS420, as tf.keras 2 builds them; Keras 3 has no ResNetRS.

Reference: [Revisiting ResNets: Improved Training and Scaling Strategies](
https://arxiv.org/pdf/2103.07579.pdf).

With `include_preprocessing=True` (the default) the model scales [0, 255] pixels
and normalizes them by ImageNet's statistics itself; `preprocess_input` passes
them through. Layer names (`stem_1_stem_conv_1`, `BlockGroup2__block_0__conv_1`,
...), order and weights are tf.keras's, so Keras's `resnet-rs-{depth}-i{size}[_notop].h5`
files load unchanged.
"""
import os

from jkeras import backend, layers
from jkeras.applications import imagenet_utils

BASE_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/resnet_rs/"
WEIGHT_HASHES = {
    "resnet-rs-101-i160.h5": "544b3434d00efc199d66e9058c7f3379",
    "resnet-rs-101-i160_notop.h5": "82d5b90c5ce9d710da639d6216d0f979",
    "resnet-rs-101-i192.h5": "eb285be29ab42cf4835ff20a5e3b5d23",
    "resnet-rs-101-i192_notop.h5": "f9a0f6b85faa9c3db2b6e233c4eebb5b",
    "resnet-rs-152-i192.h5": "8d72a301ed8a6f11a47c4ced4396e338",
    "resnet-rs-152-i192_notop.h5": "5fbf7ac2155cb4d5a6180ee9e3aa8704",
    "resnet-rs-152-i224.h5": "31a46a92ab21b84193d0d71dd8c3d03b",
    "resnet-rs-152-i224_notop.h5": "dc8b2cba2005552eafa3167f00dc2133",
    "resnet-rs-152-i256.h5": "ba6271b99bdeb4e7a9b15c05964ef4ad",
    "resnet-rs-152-i256_notop.h5": "fa79794252dbe47c89130f65349d654a",
    "resnet-rs-200-i256.h5": "a76930b741884e09ce90fa7450747d5f",
    "resnet-rs-200-i256_notop.h5": "bbdb3994718dfc0d1cd45d7eff3f3d9c",
    "resnet-rs-270-i256.h5": "20d575825ba26176b03cb51012a367a8",
    "resnet-rs-270-i256_notop.h5": "2c42ecb22e35f3e23d2f70babce0a2aa",
    "resnet-rs-350-i256.h5": "f4a039dc3c421321b7fc240494574a68",
    "resnet-rs-350-i256_notop.h5": "6e44b55025bbdff8f51692a023143d66",
    "resnet-rs-350-i320.h5": "7ccb858cc738305e8ceb3c0140bee393",
    "resnet-rs-350-i320_notop.h5": "ab0c1f9079d2f85a9facbd2c88aa6079",
    "resnet-rs-420-i320.h5": "ae0eb9bed39e64fc8d7e0db4018dc7e8",
    "resnet-rs-420-i320_notop.h5": "fe6217c32be8305b1889657172b98884",
    "resnet-rs-50-i160.h5": "69d9d925319f00a8bdd4af23c04e4102",
    "resnet-rs-50-i160_notop.h5": "90daa68cd26c95aa6c5d25451e095529",
}
DEPTH_TO_WEIGHT_VARIANTS = {50: [160], 101: [160, 192], 152: [192, 224, 256], 200: [256],
                            270: [256], 350: [256, 320], 420: [320]}
# Blocks of the four block groups (their input filters are 64, 128, 256 and 512).
_REPEATS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3),
            270: (4, 29, 53, 4), 350: (4, 36, 72, 4), 420: (4, 44, 87, 4)}
BLOCK_ARGS = {depth: [{"input_filters": f, "num_repeats": r} for f, r in zip((64, 128, 256, 512),
                                                                              repeats)]
              for depth, repeats in _REPEATS.items()}
CONV_KERNEL_INITIALIZER = {"class_name": "VarianceScaling",
                           "config": {"scale": 2.0, "mode": "fan_out",
                                      "distribution": "truncated_normal"}}


def _bn_axis():
    return 3 if backend.image_data_format() == "channels_last" else 1


def fixed_padding(inputs, kernel_size):
    """Pads the spatial dims for a strided conv independently of the input size."""
    pad_beg = (kernel_size - 1) // 2
    pad_end = kernel_size - 1 - pad_beg
    return layers.ZeroPadding2D(padding=((pad_beg, pad_end), (pad_beg, pad_end)))(inputs)


def Conv2DFixedPadding(filters, kernel_size, strides, name=None):
    """A bias-free conv: "same" when unstrided, else `fixed_padding` then "valid"."""
    name = name or f"conv_{imagenet_utils.get_uid('conv_')}"

    def apply(inputs):
        if strides > 1:
            inputs = fixed_padding(inputs, kernel_size)
        return layers.Conv2D(filters, kernel_size, strides=strides,
                             padding="same" if strides == 1 else "valid", use_bias=False,
                             kernel_initializer=CONV_KERNEL_INITIALIZER, name=name)(inputs)
    return apply


def _bn(x, bn_momentum, bn_epsilon, name):
    return layers.BatchNormalization(axis=_bn_axis(), momentum=bn_momentum, epsilon=bn_epsilon,
                                     name=name)(x)


def STEM(bn_momentum=0.0, bn_epsilon=1e-5, activation="relu", name=None):
    """Four 3x3 convs (32, 32, 64, 64 filters; the first and last strided), each BN + activation."""
    name = name or f"stem_{imagenet_utils.get_uid('stem_')}"

    def apply(x):
        for i, (filters, strides) in enumerate(((32, 2), (32, 1), (64, 1), (64, 2)), start=1):
            x = Conv2DFixedPadding(filters, 3, strides, name=f"{name}_stem_conv_{i}")(x)
            x = _bn(x, bn_momentum, bn_epsilon, f"{name}_stem_batch_norm_{i}")
            x = layers.Activation(activation, name=f"{name}_stem_act_{i}")(x)
        return x
    return apply


def SE(in_filters, se_ratio=0.25, expand_ratio=1, name=None):
    """Squeeze-and-excite over the block's 4 * `in_filters` channels."""
    name = name or f"se_{imagenet_utils.get_uid('se_')}"

    def apply(inputs):
        x = layers.GlobalAveragePooling2D(name=f"{name}_se_squeeze")(inputs)
        se_shape = (x.shape[-1], 1, 1) if _bn_axis() == 1 else (1, 1, x.shape[-1])
        x = layers.Reshape(se_shape, name=f"{name}_se_reshape")(x)
        x = layers.Conv2D(max(1, int(in_filters * 4 * se_ratio)), [1, 1], strides=[1, 1],
                          kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                          use_bias=True, activation="relu", name=f"{name}_se_reduce")(x)
        x = layers.Conv2D(4 * in_filters * expand_ratio, [1, 1], strides=[1, 1],
                          kernel_initializer=CONV_KERNEL_INITIALIZER, padding="same",
                          use_bias=True, activation="sigmoid", name=f"{name}_se_expand")(x)
        return layers.multiply([inputs, x], name=f"{name}_se_excite")
    return apply


def BottleneckBlock(filters, strides, use_projection, bn_momentum=0.0, bn_epsilon=1e-5,
                    activation="relu", se_ratio=0.25, survival_probability=0.8, name=None):
    """1x1 -> 3x3 (strided) -> 1x1 (4x filters) -> squeeze-excite, added to the shortcut."""
    name = name or f"block_0_{imagenet_utils.get_uid('block_0_')}"

    def apply(inputs):
        shortcut = inputs
        if use_projection:
            if strides == 2:
                shortcut = layers.AveragePooling2D(pool_size=(2, 2), strides=(2, 2),
                                                   padding="same",
                                                   name=f"{name}_projection_pooling")(inputs)
                shortcut = Conv2DFixedPadding(filters * 4, 1, 1,
                                              name=f"{name}_projection_conv")(shortcut)
            else:
                shortcut = Conv2DFixedPadding(filters * 4, 1, strides,
                                              name=f"{name}_projection_conv")(inputs)
            shortcut = _bn(shortcut, bn_momentum, bn_epsilon, f"{name}_projection_batch_norm")
        x = Conv2DFixedPadding(filters, 1, 1, name=f"{name}_conv_1")(inputs)
        x = _bn(x, bn_momentum, bn_epsilon, f"{name}batch_norm_1")  # no '_': tf.keras's name
        x = layers.Activation(activation, name=f"{name}_act_1")(x)
        x = Conv2DFixedPadding(filters, 3, strides, name=f"{name}_conv_2")(x)
        x = _bn(x, bn_momentum, bn_epsilon, f"{name}_batch_norm_2")
        x = layers.Activation(activation, name=f"{name}_act_2")(x)
        x = Conv2DFixedPadding(filters * 4, 1, 1, name=f"{name}_conv_3")(x)
        x = _bn(x, bn_momentum, bn_epsilon, f"{name}_batch_norm_3")
        if 0 < se_ratio < 1:
            x = SE(filters, se_ratio=se_ratio, name=f"{name}_se")(x)
        if survival_probability:  # tf.keras passes the drop rate under this name
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1),
                               name=f"{name}_drop")(x)
        x = layers.Add()([x, shortcut])
        return layers.Activation(activation, name=f"{name}_output_act")(x)
    return apply


def BlockGroup(filters, strides, num_repeats, se_ratio=0.25, bn_epsilon=1e-5, bn_momentum=0.0,
               activation="relu", survival_probability=0.8, name=None):
    """`num_repeats` bottleneck blocks, the first with a projected (and strided) shortcut."""
    name = name or f"block_group_{imagenet_utils.get_uid('block_group_')}"

    def apply(x):
        for i in range(num_repeats):
            x = BottleneckBlock(filters, strides if i == 0 else 1, use_projection=i == 0,
                                bn_momentum=bn_momentum, bn_epsilon=bn_epsilon,
                                activation=activation, se_ratio=se_ratio,
                                survival_probability=survival_probability,
                                name=f"{name}_block_{i}_")(x)
        return x
    return apply


def ResNetRS(depth, input_shape=None, bn_momentum=0.0, bn_epsilon=1e-5, activation="relu",
             se_ratio=0.25, dropout_rate=0.25, drop_connect_rate=0.2, include_top=True,
             block_args=None, model_name="resnet-rs", pooling=None, weights="imagenet",
             input_tensor=None, classes=1000, classifier_activation="softmax",
             include_preprocessing=True):
    """Instantiates a ResNetRS of `depth` (50, 101, 152, 200, 270, 350 or 420).

    Args:
        depth: picks `BLOCK_ARGS[depth]` (unless `block_args` is given) and the weight files.
        bn_momentum, bn_epsilon: of every BatchNormalization.
        activation: of every block.
        se_ratio: squeeze-excite reduction of every block.
        dropout_rate: dropout before the top Dense layer.
        drop_connect_rate: the stochastic-depth rate, scaled up group by group.
        block_args: `[{"input_filters": ..., "num_repeats": ...}]` for each block group.
        model_name: the model's name, and the stem of its weight files.
        weights: None, "imagenet" (the largest input size's weights), "imagenet-i{size}" for
            one of `DEPTH_TO_WEIGHT_VARIANTS[depth]`, or a path to an `.h5`.
        Others: as in `ResNetRS50`.

    Returns:
        A functional `Model`.
    """
    if depth not in DEPTH_TO_WEIGHT_VARIANTS:
        raise ValueError(f"ResNetRS `depth` must be one of {sorted(DEPTH_TO_WEIGHT_VARIANTS)}; "
                         f"received depth={depth!r}.")
    available = DEPTH_TO_WEIGHT_VARIANTS[depth]
    if weights == "imagenet":
        weights = f"imagenet-i{max(available)}"
    allowed = [f"imagenet-i{size}" for size in available]
    file_name = file_hash = None
    if weights in allowed:
        if include_top and classes != 1000:
            raise ValueError(f"If using `weights` as `'imagenet'` or any of {allowed} with "
                             f"`include_top` as true, `classes` should be 1000. Received "
                             f"classes={classes}")
        file_name = f"{model_name}-{weights.split('-')[-1]}{'' if include_top else '_notop'}.h5"
        file_hash = WEIGHT_HASHES[file_name]
    elif not (weights is None or isinstance(weights, (str, os.PathLike))
              and os.path.exists(weights)):
        raise ValueError(f"The `weights` argument should be either `None` (random "
                         f"initialization), `'imagenet'` (pre-training on ImageNet, with highest "
                         f"available input shape), or the path to the weights file to be loaded. "
                         f"For ResNetRS{depth} the following weight variants are available "
                         f"{allowed} (default=highest). Received weights={weights}")
    # As in tf.keras, the variant name (not "imagenet") goes on: no 224x224 rule for the top.
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=backend.image_data_format(),
        require_flatten=include_top, weights=weights)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    bn_axis = _bn_axis()
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 255)(x)
        if x.shape[bn_axis] == 3:
            x = layers.Normalization(mean=[0.485, 0.456, 0.406],
                                     variance=[0.229 ** 2, 0.224 ** 2, 0.225 ** 2],
                                     axis=bn_axis)(x)
    x = STEM(bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, activation=activation)(x)
    block_args = BLOCK_ARGS[depth] if block_args is None else block_args
    for i, args in enumerate(block_args):
        survival_probability = drop_connect_rate * float(i + 2) / (len(block_args) + 1)
        x = BlockGroup(args["input_filters"], 1 if i == 0 else 2, args["num_repeats"],
                       se_ratio=se_ratio, bn_epsilon=bn_epsilon, bn_momentum=bn_momentum,
                       activation=activation, survival_probability=survival_probability,
                       name=f"BlockGroup{i + 2}_")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=True)
    origin = None if file_name is None else BASE_WEIGHTS_URL + file_name
    return imagenet_utils.finish_model(img_input, input_tensor, x, model_name,
                                       "imagenet" if weights in allowed else weights, file_name,
                                       origin, file_hash)


def _builder(depth, drop_connect_rate, dropout_rate):
    """The tf.keras builder `ResNetRS{depth}`."""
    def builder(include_top=True, weights="imagenet", classes=1000, input_shape=None,
                input_tensor=None, pooling=None, classifier_activation="softmax",
                include_preprocessing=True):
        return ResNetRS(depth, include_top=include_top, drop_connect_rate=drop_connect_rate,
                        dropout_rate=dropout_rate, weights=weights, classes=classes,
                        input_shape=input_shape, input_tensor=input_tensor, pooling=pooling,
                        classifier_activation=classifier_activation,
                        model_name=f"resnet-rs-{depth}",
                        include_preprocessing=include_preprocessing)
    builder.__name__ = builder.__qualname__ = f"ResNetRS{depth}"
    sizes = ", ".join(f"'imagenet-i{s}'" for s in DEPTH_TO_WEIGHT_VARIANTS[depth])
    builder.__doc__ = (
        f"Instantiates ResNetRS{depth} (takes pixels in [0, 255]; weights: None, 'imagenet', "
        f"{sizes} or a path)." + imagenet_utils.classifier_doc(32, 224).replace(
            "        name: the model's name.",
            "        include_preprocessing: scale and normalize the pixels inside the model."))
    return builder


ResNetRS50 = _builder(50, 0.0, 0.25)
ResNetRS101 = _builder(101, 0.0, 0.25)
ResNetRS152 = _builder(152, 0.0, 0.25)
ResNetRS200 = _builder(200, 0.1, 0.25)
ResNetRS270 = _builder(270, 0.1, 0.25)
ResNetRS350 = _builder(350, 0.1, 0.4)
ResNetRS420 = _builder(420, 0.1, 0.4)


def preprocess_input(x, data_format=None):
    """A pass-through, as in Keras: the model scales its own inputs."""
    return x


decode_predictions = imagenet_utils.decode_predictions

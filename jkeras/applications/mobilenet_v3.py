"""MobileNetV3Small and MobileNetV3Large, as Keras builds them.

Reference: [Searching for MobileNetV3](https://arxiv.org/pdf/1905.02244.pdf) (ICCV 2019).

With `include_preprocessing=True` (the default) the model scales [0, 255] pixels
to [-1, 1] itself; `preprocess_input` passes them through. The weight-carrying
layers have Keras 3's names (`conv`, `conv_bn`, `expanded_conv_depthwise`, ...;
tf.keras 2 wrote `Conv`, `Conv/BatchNorm`, ...; loading by topology does not
depend on them). Hard-sigmoid and hard-swish are built as tf.keras 2 builds them,
from weightless layers (`tf.__operators__.add`, ReLU(6), `tf.math.multiply`,
Multiply), so the layer count is tf.keras's. Keras's
`weights_mobilenet_v3_{small,large}[_minimalistic]_224_{alpha}_float[_no_top_v2].h5`
files load unchanged.
"""
import warnings

from jkeras import backend, layers
from jkeras.applications import imagenet_utils
from jkeras.applications.mobilenet_v2 import _make_divisible
from jkeras.backend.naming import unique_name

BASE_WEIGHT_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}

# (expansion, filters, kernel ("k": 5, or 3 when minimalistic), stride, squeeze-excite,
# activation ("hs": hard-swish, or ReLU when minimalistic)) of each block, block 0 first.
_SMALL = [(1, 16, 3, 2, True, "relu"), (72.0 / 16, 24, 3, 2, False, "relu"),
          (88.0 / 24, 24, 3, 1, False, "relu"), (4, 40, "k", 2, True, "hs"),
          (6, 40, "k", 1, True, "hs"), (6, 40, "k", 1, True, "hs"), (3, 48, "k", 1, True, "hs"),
          (3, 48, "k", 1, True, "hs"), (6, 96, "k", 2, True, "hs"), (6, 96, "k", 1, True, "hs"),
          (6, 96, "k", 1, True, "hs")]
_LARGE = [(1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"),
          (3, 24, 3, 1, False, "relu"), (3, 40, "k", 2, True, "relu"),
          (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
          (6, 80, 3, 2, False, "hs"), (2.5, 80, 3, 1, False, "hs"), (2.3, 80, 3, 1, False, "hs"),
          (2.3, 80, 3, 1, False, "hs"), (6, 112, 3, 1, True, "hs"), (6, 112, 3, 1, True, "hs"),
          (6, 160, "k", 2, True, "hs"), (6, 160, "k", 1, True, "hs"),
          (6, 160, "k", 1, True, "hs")]


def MobileNetV3(stack, last_point_ch, input_shape=None, alpha=1.0, model_type="large",
                minimalistic=False, include_top=True, weights="imagenet", input_tensor=None,
                classes=1000, pooling=None, dropout_rate=0.2, classifier_activation="softmax",
                include_preprocessing=True, name=None):
    """Instantiates a MobileNetV3 from `stack`, its blocks (see `_SMALL`), ending in
    `last_point_ch` channels before the classifier. Arguments as in `MobileNetV3Small`."""
    imagenet_utils.validate_weights(weights, include_top, classes)
    channels_last = backend.image_data_format() == "channels_last"
    if input_tensor is not None and not backend.is_keras_tensor(input_tensor):
        raise ValueError(f"input_tensor specified: {input_tensor} is not a keras tensor")
    if input_shape is not None and input_tensor is not None:
        axis = 2 if channels_last else 1  # the axis Keras compares with input_shape[1]
        if input_tensor.shape[axis] != input_shape[1]:
            raise ValueError(f"input_shape[1] must equal input_tensor.shape[{axis}].  Received "
                             f"input_shape={input_shape}, input_tensor.shape={input_tensor.shape}")
    if input_shape is None and input_tensor is not None:
        rows, cols = (input_tensor.shape[1:3] if channels_last else input_tensor.shape[2:4])
        input_shape = (cols, rows, 3) if channels_last else (3, cols, rows)
    if input_shape is None:
        input_shape = (None, None, 3) if channels_last else (3, None, None)
    rows, cols = (input_shape[0], input_shape[1]) if channels_last else input_shape[1:3]
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    if weights == "imagenet":
        if (not minimalistic and alpha not in [0.75, 1.0]) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.75`, "
                             "`1.0` for non minimalistic or `1.0` for minimalistic only.")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. "
                          "Weights for input shape (224, 224) will be loaded as the default.",
                          stacklevel=3)
    img_input = imagenet_utils.input_tensor_or_new(input_tensor, input_shape)
    channel_axis = -1 if channels_last else 1
    kernel, activation, se_ratio = (3, relu, None) if minimalistic else (5, hard_swish, 0.25)

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="conv")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="conv_bn")(x)
    x = activation(x)
    for block_id, (expansion, filters, k, stride, se, act) in enumerate(stack):
        x = _inverted_res_block(x, expansion, _depth(filters * alpha), kernel if k == "k" else k,
                                stride, se_ratio if se else None,
                                activation if act == "hs" else relu, block_id)

    last_conv_ch = _depth(x.shape[channel_axis] * 6)
    if alpha > 1.0:
        last_point_ch = _depth(last_point_ch * alpha)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False,
                      name="conv_1")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name="conv_1_bn")(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True,
                          name="conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling, named=True)

    file_name = origin = file_hash = None
    if weights == "imagenet":
        model_name = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        file_name = (f"weights_mobilenet_v3_{model_name}.h5" if include_top
                     else f"weights_mobilenet_v3_{model_name}_no_top_v2.h5")
        origin = BASE_WEIGHT_PATH + file_name
        file_hash = WEIGHTS_HASHES[model_name][0 if include_top else 1]
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name,
                                       origin, file_hash)


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Small"):
    """Instantiates MobileNetV3Small.

    Args:
        input_shape: optional `(rows, cols, 3)`, at least 32x32; default `(None, None, 3)`.
        alpha: width multiplier of every block (ImageNet weights: 0.75 or 1.0).
        minimalistic: 3x3 kernels, ReLU and no squeeze-excite in every block.
        include_top: whether to end with the 1x1-conv classifier (`logits`, `predictions`).
        weights: None (random), "imagenet" (Keras's file) or a path to an `.h5`.
        input_tensor: a symbolic tensor to use as the image input.
        classes: number of classes of the top layer.
        pooling: None, "avg" or "max" when `include_top=False`.
        dropout_rate: dropout before the `logits` layer.
        classifier_activation: the top layer's activation (None gives logits).
        include_preprocessing: scale [0, 255] pixels to [-1, 1] inside the model.
        name: the model's name.

    Returns:
        A functional `Model`.
    """
    return MobileNetV3(_SMALL, 1024, input_shape, alpha, "small", minimalistic, include_top,
                       weights, input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing, name=name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                     weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                     dropout_rate=0.2, classifier_activation="softmax",
                     include_preprocessing=True, name="MobileNetV3Large"):
    """Instantiates MobileNetV3Large. Arguments as in `MobileNetV3Small`."""
    return MobileNetV3(_LARGE, 1280, input_shape, alpha, "large", minimalistic, include_top,
                       weights, input_tensor, classes, pooling, dropout_rate,
                       classifier_activation, include_preprocessing, name=name)


def relu(x):
    return layers.ReLU()(x)


def hard_sigmoid(x):
    """`relu6(x + 3) / 6`, as tf.keras's op layers `x + 3.0`, ReLU(6) and `* (1 / 6)`."""
    x = layers.Rescaling(1.0, offset=3.0, name=unique_name("tf.__operators__.add"))(x)
    x = layers.ReLU(6.0)(x)
    return layers.Rescaling(1.0 / 6.0, name=unique_name("tf.math.multiply"))(x)


def hard_swish(x):
    """`x * hard_sigmoid(x)`."""
    return layers.Multiply()([x, hard_sigmoid(x)])


def _depth(v):
    """`v` rounded to a multiple of 8 (never 10% below), as MobileNetV2 rounds its widths."""
    return _make_divisible(v, 8)


def _se_block(inputs, filters, se_ratio, prefix):
    """Squeeze-and-excite: global pool -> 1x1 -> ReLU -> 1x1 -> hard-sigmoid, times `inputs`."""
    x = layers.GlobalAveragePooling2D(keepdims=True,
                                      name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_depth(filters * se_ratio), kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=f"{prefix}squeeze_excite_conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation,
                        block_id):
    """Expand 1x1 (not in block 0) -> depthwise -> squeeze-excite -> project 1x1 (+ residual)."""
    channel_axis = 1 if backend.image_data_format() == "channels_first" else -1
    shortcut = x
    infilters = x.shape[channel_axis]
    prefix = "expanded_conv_"
    if block_id:
        prefix = f"expanded_conv_{block_id}_"
        x = layers.Conv2D(_depth(infilters * expansion), kernel_size=1, padding="same",
                          use_bias=False, name=f"{prefix}expand")(x)
        x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                      name=f"{prefix}expand_bn")(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name=f"{prefix}depthwise_bn")(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, _depth(infilters * expansion), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=f"{prefix}project")(x)
    x = layers.BatchNormalization(axis=channel_axis, epsilon=1e-3, momentum=0.999,
                                  name=f"{prefix}project_bn")(x)
    if stride == 1 and infilters == filters:
        x = layers.Add(name=f"{prefix}add")([shortcut, x])
    return x


def preprocess_input(x, data_format=None):
    """A pass-through, as in Keras: the model scales its own inputs."""
    return x


decode_predictions = imagenet_utils.decode_predictions

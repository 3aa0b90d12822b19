"""ConvNeXtTiny, Small, Base, Large and XLarge, as Keras builds them.

Reference: [A ConvNet for the 2020s](https://arxiv.org/abs/2201.03545) (CVPR 2022).

With `include_preprocessing=True` (the default) the model normalizes [0, 255]
pixels itself (a `Normalization` layer with ImageNet's statistics);
`preprocess_input` passes them through. The stem and the three downsampling
blocks are nested `Sequential` models, and each block ends in a weightless add
layer where tf.keras has its `tf.__operators__.add` op layer (same names, same
layer count). Layer names, order and weights are Keras's, so Keras's
`convnext_{tiny,small,base,large,xlarge}[_notop].h5` files load unchanged.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras import backend, initializers, layers
from jkeras.applications import imagenet_utils
from jkeras.backend.naming import unique_name
from jkeras.models import Sequential
from jkeras.backend import registry

BASE_WEIGHTS_PATH = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
WEIGHTS_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768],
              "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024],
             "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536],
              "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}


class StochasticDepth(layers.Layer):
    """In training, drops the whole residual branch of a sample with probability `drop_path_rate`
    (and scales kept ones by `1 / (1 - drop_path_rate)`); the identity at inference."""

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        self.drop_path_rate = drop_path_rate

    def apply(self, params, state, inputs, *, training=False, key=None):
        if not training:
            return inputs, state
        if key is None:
            raise ValueError(f"StochasticDepth '{self.name}' needs a PRNG `key` in training mode.")
        keep_prob = 1 - self.drop_path_rate
        shape = (inputs.shape[0],) + (1,) * (inputs.ndim - 1)
        keep = jnp.floor(keep_prob + jax.random.uniform(key, shape, inputs.dtype))
        return inputs / keep_prob * keep, state

    def get_config(self):
        return {**super().get_config(), "drop_path_rate": self.drop_path_rate}


class LayerScale(layers.Layer):
    """Multiplies the last axis by a learned `gamma` (`projection_dim` values, `init_values` first)."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def init(self, key, input_shape):
        gamma = initializers.Constant(self.init_values)(key, (self.projection_dim,), self.dtype)
        return {"gamma": gamma}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        return inputs * params["gamma"], state

    def get_config(self):
        return {**super().get_config(), "init_values": self.init_values,
                "projection_dim": self.projection_dim}


# Keras's configs name these classes plainly; registered, a saved ConvNeXt config loads.
registry.get_custom_objects().update(StochasticDepth=StochasticDepth, LayerScale=LayerScale)


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Depthwise 7x7 -> LayerNorm -> Dense 4x -> GELU -> Dense -> LayerScale, added to the input."""
    name = name or f"prestem{imagenet_utils.get_uid('prestem')}"

    def apply(inputs):
        x = layers.Conv2D(projection_dim, kernel_size=7, padding="same", groups=projection_dim,
                          name=f"{name}_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=f"{name}_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=f"{name}_gelu")(x)
        x = layers.Dense(projection_dim, name=f"{name}_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim,
                           name=f"{name}_layer_scale")(x)
        if drop_path_rate:
            x = StochasticDepth(drop_path_rate, name=f"{name}_stochastic_depth")(x)
        else:
            x = layers.Activation("linear", name=f"{name}_identity")(x)
        return layers.Add(name=unique_name("tf.__operators__.add"))([inputs, x])
    return apply


def PreStem(name=None):
    """Normalization of [0, 255] pixels by ImageNet's mean and variance."""
    name = name or f"prestem{imagenet_utils.get_uid('prestem')}"

    def apply(x):
        return layers.Normalization(
            mean=[0.485 * 255, 0.456 * 255, 0.406 * 255],
            variance=[(0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2],
            name=f"{name}_prestem_normalization")(x)
    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """Global average pool -> LayerNorm -> Dense."""
    name = name or str(imagenet_utils.get_uid("head"))

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=f"{name}_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=f"{name}_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation,
                            name=f"{name}_head_dense")(x)
    return apply


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
             default_size=224, name="convnext", include_preprocessing=True, include_top=True,
             weights=None, input_tensor=None, input_shape=None, pooling=None, classes=1000,
             classifier_activation="softmax", weights_name=None):
    """Instantiates a ConvNeXt with `depths[i]` blocks of width `projection_dims[i]` in stage i.

    Args:
        depths, projection_dims: blocks and channels of the four stages.
        drop_path_rate: the largest stochastic-depth rate (rising linearly to the last block).
        layer_scale_init_value: LayerScale's initial value (None: no LayerScale).
        default_size: the input size the ImageNet weights were trained at.
        include_preprocessing: normalize [0, 255] pixels inside the model.
        weights_name: Keras's key of the ImageNet weights ("convnext_tiny", ...).
        Others: as in `ConvNeXtTiny`.

    Returns:
        A functional `Model`.
    """
    if backend.image_data_format() == "channels_first":
        raise ValueError("ConvNeXt does not support the `channels_first` image data format. "
                         "Switch to `channels_last` with "
                         "`jkeras.backend.set_image_data_format('channels_last')`.")
    if weights == "imagenet":
        expected = MODEL_CONFIGS[weights_name.split("convnext_")[-1]]
        if list(depths) != expected["depths"] or \
                list(projection_dims) != expected["projection_dims"]:
            raise ValueError(f"Architecture configuration does not match {weights_name} variant. "
                             "When using pre-trained weights, the model architecture must match "
                             f"the pre-trained configuration exactly. Expected depths: "
                             f"{expected['depths']}, got: {depths}. Expected projection_dims: "
                             f"{expected['projection_dims']}, got: {projection_dims}.")
    img_input = imagenet_utils.model_input(input_tensor, input_shape, include_top, weights,
                                           classes, None, default_size=default_size, min_size=32)
    x = img_input
    if include_preprocessing and x.shape[3] == 3:
        x = PreStem(name=name)(x)

    stem = Sequential([layers.Conv2D(projection_dims[0], kernel_size=4, strides=4,
                                      name=f"{name}_stem_conv"),
                        layers.LayerNormalization(epsilon=1e-6, name=f"{name}_stem_layernorm")],
                       name=f"{name}_stem")
    downsample_layers = [stem] + [
        Sequential([layers.LayerNormalization(epsilon=1e-6,
                                               name=f"{name}_downsampling_layernorm_{i}"),
                     layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                                   name=f"{name}_downsampling_conv_{i}")],
                    name=f"{name}_downsampling_block_{i}")
        for i in range(3)]

    depth_drop_rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    cur = 0
    for i in range(4):
        x = downsample_layers[i](x)
        for j in range(depths[i]):
            x = ConvNeXtBlock(projection_dims[i], drop_path_rate=depth_drop_rates[cur + j],
                              layer_scale_init_value=layer_scale_init_value,
                              name=f"{name}_stage_{i}_block_{j}")(x)
        cur += depths[i]

    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation, name=name)(x)
    else:
        x = imagenet_utils.pool_features(x, pooling)
        x = layers.LayerNormalization(epsilon=1e-6)(x)

    file_name = origin = file_hash = None
    if weights == "imagenet":
        if weights_name not in name:
            raise ValueError(f'Model name "{name}" does not match weights variant '
                             f'"{weights_name}". When using imagenet weights, model name must '
                             "contain the weights variant.")
        file_name = name + (".h5" if include_top else "_notop.h5")
        origin = BASE_WEIGHTS_PATH + file_name
        file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name,
                                       origin, file_hash)


def _builder(model_name, size_key):
    """The Keras builder `model_name` for `MODEL_CONFIGS[size_key]`."""
    cfg = MODEL_CONFIGS[size_key]
    default_name = f"convnext_{size_key}"

    def builder(include_top=True, include_preprocessing=True, weights="imagenet",
                input_tensor=None, input_shape=None, pooling=None, classes=1000,
                classifier_activation="softmax", name=default_name):
        return ConvNeXt(cfg["depths"], cfg["projection_dims"], drop_path_rate=0.0,
                        layer_scale_init_value=1e-6, default_size=cfg["default_size"], name=name,
                        include_preprocessing=include_preprocessing, include_top=include_top,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                        pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation, weights_name=default_name)
    builder.__name__ = builder.__qualname__ = model_name
    builder.__doc__ = (
        f"Instantiates {model_name} (stages of {cfg['depths']} blocks, {cfg['projection_dims']} "
        "channels; takes pixels in [0, 255])."
        + imagenet_utils.classifier_doc(32, cfg["default_size"]).replace(
            "        name:", "        include_preprocessing: normalize the pixels inside the "
            "model.\n        name:"))
    return builder


ConvNeXtTiny = _builder("ConvNeXtTiny", "tiny")
ConvNeXtSmall = _builder("ConvNeXtSmall", "small")
ConvNeXtBase = _builder("ConvNeXtBase", "base")
ConvNeXtLarge = _builder("ConvNeXtLarge", "large")
ConvNeXtXLarge = _builder("ConvNeXtXLarge", "xlarge")


def preprocess_input(x, data_format=None):
    """A pass-through, as in Keras: the model normalizes its own inputs."""
    return x


decode_predictions = imagenet_utils.decode_predictions

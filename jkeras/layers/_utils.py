"""Argument normalisation and layout helpers shared by the layer families, and Keras's
`layers.serialize`/`layers.deserialize`."""
import numpy as np
from jax import lax

from jkeras.layers.base import Layer


def normalize_tuple(value, n, name, allow_zero=False):
    """`value` (an int or `n` ints) as a tuple of `n` ints, as Keras's `standardize_tuple`."""
    message = f"The `{name}` argument must be an int or a tuple of {n} ints; received {name}={value!r}"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        values = (int(value),) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message + ".") from None
        if len(values) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                       for v in values):
            raise ValueError(message + ".")
        values = tuple(int(v) for v in values)
    if any(v < 0 or (v == 0 and not allow_zero) for v in values):
        raise ValueError(message + f", but every value must be {'>= 0' if allow_zero else '> 0'}.")
    return values


def normalize_padding(value, allow_causal=False):
    """A lower-case padding mode: 'valid', 'same' (and 'causal' where allowed)."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    padding = value.lower() if isinstance(value, str) else value
    if padding not in allowed:
        raise ValueError(f"The `padding` argument must be one of {allowed}; received {value!r}.")
    return padding


def channel_axis(data_format):
    """The channel axis of a batched tensor in `data_format`."""
    return -1 if data_format == "channels_last" else 1


def spatial_shape(shape, data_format):
    """The spatial dims of a batched `shape` (everything but batch and channels)."""
    return tuple(shape[1:-1]) if data_format == "channels_last" else tuple(shape[2:])


def window_view(xp, offset, steps, out_shape):
    """The element at `offset` of every window of padded `xp`: a strided slice of `out_shape`
    (pooling's gradients and the depthwise convolution read their windows this way)."""
    limits = [o + (n - 1) * s + 1 for o, n, s in zip(offset, out_shape, steps)]
    return lax.slice(xp, offset, limits, steps)


def with_spatial(shape, data_format, spatial):
    """`shape` with its spatial dims replaced by `spatial`."""
    if data_format == "channels_last":
        return (shape[0],) + tuple(spatial) + (shape[-1],)
    return (shape[0], shape[1]) + tuple(spatial)


def window(values, data_format, fill=1):
    """Per-axis `values` for the spatial dims, `fill` on batch and channels (reduce_window args)."""
    if data_format == "channels_last":
        return (fill,) + tuple(values) + (fill,)
    return (fill, fill) + tuple(values)


def check_rank(layer, shape, ndim, what):
    """Raise a clear ValueError when `shape` is not of rank `ndim`."""
    shape = tuple(shape)
    if len(shape) != ndim:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' expects inputs of rank {ndim} "
                         f"({what}); received shape {shape}.")


def present(**named):
    """The entries that are set: a layer's regularizers or constraints by weight name."""
    return {k: v for k, v in named.items() if v is not None}


def weight_options_config(layer, *weights):
    """Keras's config entries for `weights` (e.g. "kernel", "bias"): each one's initializer,
    regularizer and constraint, serialized, plus the layer's activity regularizer."""
    from jkeras import constraints, initializers, regularizers
    config = {f"{w}_initializer": initializers.serialize(getattr(layer, f"{w}_initializer"))
              for w in weights}
    config.update({f"{w}_regularizer": regularizers.serialize(getattr(layer, f"{w}_regularizer"))
                   for w in weights})
    config["activity_regularizer"] = regularizers.serialize(layer.activity_regularizer)
    config.update({f"{w}_constraint": constraints.serialize(getattr(layer, f"{w}_constraint"))
                   for w in weights})
    return config


# Keys Keras 3 (or tf.keras) writes into layer configs that carry nothing jkeras uses. (Not
# `implementation`: LocallyConnected's picks its kernel layout; the RNNs take Keras 2's 0/1/2.)
FOREIGN_CONFIG_KEYS = ("quantization_config", "lora_rank", "lora_alpha", "lora_enabled", "build_config",
                       "compile_config", "module", "registered_name", "optional", "time_major")


def without_foreign_keys(config, class_name=None):
    """A layer's `config` without FOREIGN_CONFIG_KEYS. `module` stays where it is the layer's own:
    FlaxLayer's module dict, and in tf.keras 2's Lambda config the module of its function."""
    return {k: v for k, v in config.items() if k not in FOREIGN_CONFIG_KEYS
            or (k == "module" and (isinstance(v, dict) or class_name == "Lambda"))}


def serialize(layer):
    """A layer's Keras config dict (`module`, `class_name`, `config`), as `keras.layers.serialize`."""
    from jkeras.backend import registry
    return registry.serialize_keras_object(layer, "keras.layers")


# The layer classes `deserialize` finds by name: jkeras.layers registers its exports here, so this
# module, which every family imports, never imports the package.
_KNOWN = {}


def register_layer_classes(mapping):
    """Add `mapping` (name -> Layer subclass) to the classes `deserialize` knows by name; the
    layers package calls it once its families are imported."""
    _KNOWN.update(mapping)


def deserialize(config, custom_objects=None):
    """The layer that a Keras 3 or tf.keras 2 layer config dict describes (a layer passes through),
    as `keras.layers.deserialize`; custom classes come from `custom_objects` or the registry."""
    from jkeras.backend import registry
    if isinstance(config, Layer):
        return config
    if isinstance(config, dict) and isinstance(config.get("config"), dict):
        config = {**config, "config": without_foreign_keys(config["config"], config.get("class_name"))}
    return registry.deserialize_keras_object(config, dict(_KNOWN), "layer", custom_objects)

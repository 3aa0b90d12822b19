"""Optimizers by name and config: `get`, `serialize`, `deserialize` (Keras 3, tf.keras 2 and
Keras 2 dicts; Keras 2's legacy configs as `optimizers.legacy` classes)."""
import optax

from jkeras.backend import registry
from jkeras.optimizers import legacy
from jkeras.optimizers.algorithms import (SGD, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Ftrl,
                                         Lion, Nadam, RMSprop)
from jkeras.optimizers.base import OptaxOptimizer, Optimizer

_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta,
                                                     Adamax, Nadam, Ftrl, Lion, Adafactor)}
_KINDS = [Optimizer, OptaxOptimizer]   # what `get` returns as it is


def register(cls):
    """Adds an optimizer class defined above this module (the loss-scale wrapper) to the names
    `get` and `deserialize` know, so that this module need not import it."""
    _OPTIMIZERS[cls.__name__.lower()] = cls
    _KINDS.append(cls)
    return cls


def _canonical(name):
    """Keras's case-insensitive names; tf.keras writes its own as `Custom>Adam`."""
    if not isinstance(name, str):
        return name
    short = name.split(">")[-1].lower()
    return short if short in _OPTIMIZERS else name


def serialize(optimizer):
    """The Keras 3 dict for an optimizer."""
    return registry.serialize_keras_object(optimizer, "keras.optimizers")


_LEGACY = {cls.__name__.lower(): cls for cls in (legacy.SGD, legacy.RMSprop, legacy.Adam, legacy.Adagrad,
                                                 legacy.Adadelta, legacy.Adamax, legacy.Nadam,
                                                 legacy.Ftrl)}


def _is_legacy_config(inner):
    """A Keras 2 / tf.keras `OptimizerV2` config, which tf.keras builds as a legacy optimizer:
    `is_legacy_optimizer` true, or absent with Keras 2's `decay` and no Keras 3 keys."""
    flag = inner.get("is_legacy_optimizer")
    if flag is not None:
        return bool(flag)
    return "decay" in inner and "use_ema" not in inner and "weight_decay" not in inner


def deserialize(config, custom_objects=None):
    """An optimizer from its Keras 3, tf.keras 2 or Keras 2 dict (Keras 2's and tf.keras's
    legacy ones as `optimizers.legacy` classes, as tf.keras builds them)."""
    if isinstance(config, dict) and "class_name" in config:
        name = _canonical(config["class_name"])
        inner = config.get("config") or {}
        if isinstance(name, str) and name in _LEGACY and isinstance(inner, dict) and _is_legacy_config(inner):
            return _LEGACY[name].from_config(inner)
        config = {**config, "class_name": name}
    return registry.deserialize_keras_object(config, _OPTIMIZERS, "optimizer", custom_objects)


def get(identifier, custom_objects=None):
    """An optimizer from a name (`"adam"`, any case), a Keras 3 or tf.keras 2 config dict,
    an optimizer (returned as is) or a raw `optax.GradientTransformation` (wrapped);
    None gives None."""
    if identifier is None:
        return None
    if isinstance(identifier, tuple(_KINDS)):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        identifier = _canonical(identifier)
    obj = deserialize(identifier, custom_objects)
    if not isinstance(obj, tuple(_KINDS)):
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. Known names: "
                         f"{', '.join(sorted(_OPTIMIZERS))}.")
    return obj

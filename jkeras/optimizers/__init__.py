"""Keras optimizers as optax transformations, with Keras 3's update rules, slots and configs.

    opt = jkeras.optimizers.get("adam")
    tx = opt.make_transform()                  # an optax.GradientTransformation
    opt_state = tx.init(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)

The pure functions `iterations`, `get_learning_rate`, `set_learning_rate`,
`slots` and `with_slots` read and rebuild an `opt_state` without retracing a
jitted step.
"""
import optax

from jkeras.mixed_precision.loss_scale import LossScaleOptimizer
from jkeras.optimizers import legacy, schedules
from jkeras.optimizers.algorithms import (SGD, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Ftrl,
                                         Lion, Nadam, RMSprop)
from jkeras.optimizers.base import (CountedState, OptaxOptimizer, Optimizer, OptimizerState,
                                    get_learning_rate, iterations, set_learning_rate, slots,
                                    with_slots)
from jkeras.backend.math_ops import switch
from jkeras.backend.naming import unique_name
from jkeras.backend import registry

class TFOptimizer(OptaxOptimizer):
    """Keras 2's wrapper of the backend's own optimizer, for compiling a model with it. On JAX
    the backend's optimizers are optax `GradientTransformation`s, so `TFOptimizer(optax.adam(1e-3))`
    is an `OptaxOptimizer` under Keras 2's name (updates counted in `iterations`, no Keras
    config). A TensorFlow optimizer cannot update JAX arrays and is refused."""

    def __init__(self, optimizer):
        if not isinstance(optimizer, optax.GradientTransformation):
            raise TypeError("TFOptimizer wraps the backend's native optimizer, which on JAX is an "
                            "optax.GradientTransformation (e.g. optax.adam(1e-3)); received "
                            f"{type(optimizer).__module__}.{type(optimizer).__qualname__}.")
        super().__init__(optimizer, name=unique_name("tf_optimizer"))
        self.optimizer = optimizer


def clip_norm(g, c, n):
    """Keras 2's helper for custom `get_updates`: the gradient `g` scaled by `c / n` where its norm
    `n` reaches `c`, else `g` itself (`c <= 0`: no clipping)."""
    if c <= 0:
        return g
    return switch(n >= c, g * (c / n), g)


# Keras 2's lower-case aliases, the same classes (`optimizers.adam(lr=1e-3)`).
sgd, rmsprop, adagrad, adadelta, adam, adamax, nadam = SGD, RMSprop, Adagrad, Adadelta, Adam, Adamax, Nadam

_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta,
                                                     Adamax, Nadam, Ftrl, Lion, Adafactor,
                                                     LossScaleOptimizer)}


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
    if isinstance(identifier, (Optimizer, OptaxOptimizer, LossScaleOptimizer)):
        return identifier
    if isinstance(identifier, optax.GradientTransformation):
        return OptaxOptimizer(identifier)
    if isinstance(identifier, str):
        identifier = _canonical(identifier)
    obj = deserialize(identifier, custom_objects)
    if not isinstance(obj, (Optimizer, OptaxOptimizer, LossScaleOptimizer)):
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}. Known names: "
                         f"{', '.join(sorted(_OPTIMIZERS))}.")
    return obj


__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
           "Adafactor", "Optimizer",
           "OptaxOptimizer", "OptimizerState", "TFOptimizer", "CountedState", "schedules", "legacy", "get",
           "serialize",
           "deserialize", "iterations", "get_learning_rate", "set_learning_rate", "slots",
           "with_slots"]

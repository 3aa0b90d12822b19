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
from jkeras.optimizers import schedules
from jkeras.optimizers.algorithms import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from jkeras.optimizers.base import (CountedState, OptaxOptimizer, Optimizer, OptimizerState,
                                    get_learning_rate, iterations, set_learning_rate, slots,
                                    with_slots)
from jkeras.utils import registry

_OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam, AdamW, Adagrad, Adadelta,
                                                     Adamax, Nadam, LossScaleOptimizer)}


def _canonical(name):
    """Keras's case-insensitive names; tf.keras writes its own as `Custom>Adam`."""
    if not isinstance(name, str):
        return name
    short = name.split(">")[-1].lower()
    return short if short in _OPTIMIZERS else name


def serialize(optimizer):
    """The Keras 3 dict for an optimizer."""
    return registry.serialize_keras_object(optimizer, "keras.optimizers")


def deserialize(config, custom_objects=None):
    """An optimizer from its Keras 3 or tf.keras 2 dict."""
    if isinstance(config, dict) and "class_name" in config:
        config = {**config, "class_name": _canonical(config["class_name"])}
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


__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Optimizer",
           "OptaxOptimizer", "OptimizerState", "CountedState", "schedules", "get", "serialize",
           "deserialize", "iterations", "get_learning_rate", "set_learning_rate", "slots",
           "with_slots"]

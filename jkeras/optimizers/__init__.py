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

from jkeras.optimizers import legacy, schedules
from jkeras.optimizers.loss_scale import LossScaleOptimizer
from jkeras.optimizers.lookup import deserialize, get, serialize
from jkeras.optimizers.algorithms import (SGD, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Ftrl,
                                         Lion, Nadam, RMSprop)
from jkeras.optimizers.base import (CountedState, OptaxOptimizer, Optimizer, OptimizerState,
                                    get_learning_rate, iterations, set_learning_rate, slots,
                                    with_slots)
from jkeras.backend.math_ops import switch
from jkeras.backend.naming import unique_name


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

__all__ = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
           "Adafactor", "Optimizer",
           "OptaxOptimizer", "OptimizerState", "TFOptimizer", "CountedState", "schedules", "legacy", "get",
           "serialize",
           "deserialize", "iterations", "get_learning_rate", "set_learning_rate", "slots",
           "with_slots"]

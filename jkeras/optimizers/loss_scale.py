"""Dynamic loss scaling for 'mixed_float16', as Keras's `LossScaleOptimizer` does it.

float16 gradients underflow to 0 below about 6e-8, so the loss is multiplied by a
large scale before differentiating and the gradients divided by it before the
update. A step whose gradients are not all finite is skipped and halves the
scale; `dynamic_growth_steps` finite steps in a row double it. The train step:

    grad_fn = loss_scale.value_and_grad(loss_fn, loss_scale.current_scale(opt_state))
    (loss, aux), grads = grad_fn(params, ...)       # grads scaled, loss not
    updates, opt_state = tx.update(grads, opt_state, params)   # tx unscales
"""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jkeras.optimizers import lookup


class LossScaleState(NamedTuple):
    """The wrapped transformation's state, the current scale and the finite steps since it changed."""
    inner: Any
    scale: jax.Array
    good_steps: jax.Array


def dynamic_loss_scale(inner, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, factor=2.0):
    """`inner` (an optax transformation) fed unscaled gradients, skipping non-finite steps."""

    def init(params):
        return LossScaleState(inner.init(params), jnp.asarray(initial_scale, jnp.float32),
                              jnp.zeros([], jnp.int32))

    def update(grads, state, params=None):
        grads = jax.tree.map(lambda g: (g / state.scale).astype(g.dtype), grads)  # divided in float32
        finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))
        updates, inner_state = inner.update(grads, state.inner, params)
        updates = jax.tree.map(lambda u: jnp.where(finite, u, jnp.zeros_like(u)), updates)
        inner_state = jax.tree.map(lambda new, old: jnp.where(finite, new, old), inner_state, state.inner)
        good = jnp.where(finite, state.good_steps + 1, 0)
        grow = good >= dynamic_growth_steps
        scale = jnp.where(finite, jnp.where(grow, state.scale * factor, state.scale),
                          jnp.maximum(state.scale / factor, 1.0))
        return updates, LossScaleState(inner_state, scale, jnp.where(grow, 0, good))

    return optax.GradientTransformation(init, update)


def _is_scaled(node):
    return isinstance(node, LossScaleState)


def current_scale(opt_state):
    """The loss scale `opt_state` holds, or 1.0 when its transformation does no loss scaling."""
    leaves = jax.tree.leaves(opt_state, is_leaf=_is_scaled)
    found = [leaf for leaf in leaves if _is_scaled(leaf)]
    return found[0].scale if found else jnp.float32(1.0)


def value_and_grad(fn, scale):
    """`jax.value_and_grad(fn, has_aux=True)` differentiating `fn`'s loss times `scale`; the
    value returned stays unscaled."""

    def scaled(*args):
        value, aux = fn(*args)
        return value * scale, (value, aux)

    def run(*args):
        (_, (value, aux)), grads = jax.value_and_grad(scaled, has_aux=True)(*args)
        return (value, aux), grads

    return run


class LossScaleOptimizer:
    """Keras's `LossScaleOptimizer`: a jkeras optimizer whose transform does dynamic loss scaling.

    Everything else (learning rate, slots, config of the rule) is the inner optimizer's.
    """

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if kwargs.pop("dynamic", True) is not True:
            raise ValueError("Only dynamic loss scaling is supported (`dynamic=True`).")
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        if not dynamic_growth_steps >= 1:
            raise ValueError(f"`dynamic_growth_steps` must be >= 1; received {dynamic_growth_steps}.")
        self.inner_optimizer = lookup.get(inner_optimizer)
        self.initial_scale = float(initial_scale)
        self.dynamic_growth_steps = int(dynamic_growth_steps)
        self.name = name or "loss_scale_optimizer"

    def make_transform(self):
        return dynamic_loss_scale(self.inner_optimizer.make_transform(), self.initial_scale,
                                  self.dynamic_growth_steps)

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    def __getattr__(self, name):
        if name == "inner_optimizer":
            raise AttributeError(name)
        return getattr(self.inner_optimizer, name)

    def get_config(self):
        return {"name": self.name, "inner_optimizer": lookup.serialize(self.inner_optimizer),
                "initial_scale": self.initial_scale, "dynamic_growth_steps": self.dynamic_growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["inner_optimizer"] = lookup.deserialize(config["inner_optimizer"], custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<jkeras.mixed_precision.LossScaleOptimizer inner={self.inner_optimizer!r}>"


lookup.register(LossScaleOptimizer)

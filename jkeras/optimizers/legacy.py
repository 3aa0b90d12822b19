"""`optimizers.legacy`: the optimizers tf.keras 2.11+ code imports as `tf.keras.optimizers.legacy`,
with Keras 2's (tf.keras `OptimizerV2`'s) update rules, arguments and configs.

They take Keras 2's arguments (`lr`, `decay` = time-based decay `lr / (1 + decay *
iterations)`, `clipnorm`, `clipvalue`, `global_clipnorm`) and no Keras 3 ones; their
configs are Keras 2's (with `decay`); in `.h5` files their state is written in
`OptimizerV2`'s layout (`Adam/iter:0`, then each slot for every weight). The rules
equal the Keras 3 ones except where Keras 2 differed: RMSprop without momentum and
Adagrad add `epsilon` to the root (`g / (sqrt(v) + epsilon)`), and Nadam's momentum
schedule is `beta_1 * (1 - 0.5 * 0.96 ** (decay * t))` with `decay` its schedule decay
(0.004).
"""
import jax.numpy as jnp
import numpy as np

from jkeras.optimizers import algorithms
from jkeras.optimizers.algorithms import _power
from jkeras.optimizers.base import Keras2Decay
from jkeras.optimizers.base import Optimizer as _Base

_KERAS2_ARGS = ("lr", "decay", "clipnorm", "clipvalue", "global_clipnorm")


class _Legacy:
    """Keras 2's arguments and config on top of a Keras 3 optimizer class."""
    is_legacy = True
    legacy_slots = {}  # jkeras slot -> OptimizerV2 slot name
    legacy_scalars = {}

    def _legacy_init(self, name, kwargs):
        unknown = sorted(set(kwargs) - set(_KERAS2_ARGS))
        if unknown:
            raise TypeError(f"Unexpected keyword argument passed to optimizer: {unknown[0]}. "
                            f"Allowed kwargs are {set(_KERAS2_ARGS)} (Keras 2's; use "
                            f"jkeras.optimizers.{type(self).__name__} for Keras 3's).")
        return {**kwargs, "name": name}

    def get_config(self):
        """Keras 2's (tf.keras `OptimizerV2`'s) keys."""
        config = {"name": self.name}
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key) is not None:
                config[key] = getattr(self, key)
        lr = self._learning_rate
        config["learning_rate"] = (float(np.float32(float(self.learning_rate)))
                                   if not callable(lr) or isinstance(lr, Keras2Decay)
                                   else _Base.get_config(self)["learning_rate"])
        config["decay"] = self.decay
        config.update({key: getattr(self, key) for key in self._own_config})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = {k: v for k, v in config.items() if k not in ("is_legacy_optimizer", "jit_compile")}
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        return super().from_config(config, custom_objects)


class SGD(_Legacy, algorithms.SGD):
    """Keras 2's SGD (slot `momentum`, when `momentum > 0`)."""
    legacy_slots = {"momentum": "momentum"}

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, momentum, nesterov, **self._legacy_init(name, kwargs))


class RMSprop(_Legacy, algorithms.RMSprop):
    """Keras 2's RMSprop: without momentum `lr * g / (sqrt(rms) + epsilon)`; with momentum
    TensorFlow's kernel, `sqrt(rms + epsilon)` (slots `rms`, `momentum`, `mg` in files)."""
    legacy_slots = {"velocity": "rms", "momentum": "momentum", "average_gradient": "mg"}

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="RMSprop", **kwargs):
        super().__init__(learning_rate, rho, momentum, epsilon, centered,
                         **self._legacy_init(name, kwargs))

    def _leaf_update(self, g, s, lr, step):
        if self.momentum > 0:
            return super()._leaf_update(g, s, lr, step)
        rho, new = self.rho, {}
        new["velocity"] = rho * s["velocity"] + (1 - rho) * jnp.square(g)
        denominator = new["velocity"]
        if self.centered:
            new["average_gradient"] = rho * s["average_gradient"] + (1 - rho) * g
            denominator = denominator - jnp.square(new["average_gradient"])
        return -(lr * g / (jnp.sqrt(denominator) + self.epsilon)), new


class Adam(_Legacy, algorithms.Adam):
    """Keras 2's Adam (its rule is Keras 3's); slots `m`, `v`, `vhat` in files."""
    legacy_slots = {"momentum": "m", "velocity": "v", "velocity_hat": "vhat"}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name="Adam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad,
                         **self._legacy_init(name, kwargs))


class Adagrad(_Legacy, algorithms.Adagrad):
    """Keras 2's Adagrad: `lr * g / (sqrt(accumulator) + epsilon)`."""
    legacy_slots = {"accumulator": "accumulator"}

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        super().__init__(learning_rate, initial_accumulator_value, epsilon,
                         **self._legacy_init(name, kwargs))

    def _leaf_update(self, g, s, lr, step):
        accumulator = s["accumulator"] + jnp.square(g)
        return -(lr * g / (jnp.sqrt(accumulator) + self.epsilon)), {"accumulator": accumulator}


class Adadelta(_Legacy, algorithms.Adadelta):
    """Keras 2's Adadelta (its rule is Keras 3's); slots `accum_grad`, `accum_var` in files."""
    legacy_slots = {"accumulated_grad": "accum_grad", "accumulated_delta_var": "accum_var"}

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        super().__init__(learning_rate, rho, epsilon, **self._legacy_init(name, kwargs))


class Adamax(_Legacy, algorithms.Adamax):
    """Keras 2's Adamax (its rule is Keras 3's); slots `m`, `v` in files."""
    legacy_slots = {"momentum": "m", "norm": "v"}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Adamax",
                 **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **self._legacy_init(name, kwargs))


class Nadam(_Legacy, algorithms.Nadam):
    """Keras 2's Nadam: momentum schedule `beta_1 * (1 - 0.5 * 0.96 ** (decay * t))`, where
    `decay` (Keras 2's `schedule_decay`, 0.004) is the schedule's and the rate does not decay."""
    legacy_slots = {"momentum": "m", "velocity": "v"}
    legacy_scalars = {"u_product": "momentum_cache"}

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Nadam",
                 **kwargs):
        schedule_decay = kwargs.pop("schedule_decay", kwargs.pop("decay", 0.004))
        super().__init__(learning_rate, beta_1, beta_2, epsilon, **self._legacy_init(name, kwargs))
        self.schedule_decay = float(schedule_decay)

    def get_config(self):
        return {**super().get_config(), "decay": self.schedule_decay}

    def _cache(self, step, dtype):
        """Keras 2's momentum schedule at step `step`."""
        decayed = jnp.power(jnp.asarray(0.96, dtype), self.schedule_decay * step.astype(dtype))
        return self.beta_1 * (1.0 - 0.5 * decayed)

    def scalars_at(self, iterations, like):
        """The momentum cache after `iterations` updates, for files that do not hold it."""
        steps = np.arange(1, iterations + 1, dtype=like.dtype)
        decayed = np.power(like.dtype.type(0.96), like.dtype.type(self.schedule_decay) * steps)
        factors = (self.beta_1 * (1.0 - 0.5 * decayed)).astype(like.dtype)
        return {"u_product": np.prod(factors, dtype=like.dtype)}

    def _apply_rule(self, grads, slots, lr, step, params=None):
        u_product = slots["u_product"]
        new_product = u_product * self._cache(step, u_product.dtype)
        updates, new = _Base._apply_rule(self, grads, {**slots, "u_product": new_product}, lr, step)
        return updates, {**new, "u_product": new_product}

    def _leaf_update(self, g, s, lr, step):
        dtype = g.dtype
        m_t, m_t_1 = self._cache(step, dtype), self._cache(step + 1, dtype)
        schedule_new = s["u_product"].astype(dtype)
        schedule_next = schedule_new * m_t_1
        m = self.beta_1 * s["momentum"] + (1 - self.beta_1) * g
        v = self.beta_2 * s["velocity"] + (1 - self.beta_2) * jnp.square(g)
        m_bar = (1.0 - m_t) * (g / (1.0 - schedule_new)) + m_t_1 * (m / (1.0 - schedule_next))
        v_prime = v / (1.0 - _power(self.beta_2, step, dtype))
        return -(lr * m_bar / (jnp.sqrt(v_prime) + self.epsilon)), {"momentum": m, "velocity": v}


class Ftrl(_Legacy, algorithms.Ftrl):
    """Keras 2's Ftrl (TensorFlow's FtrlV2 kernel, the same rule as Keras 3's)."""
    legacy_slots = {"accumulator": "accumulator", "linear": "linear"}

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0, name="Ftrl",
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        super().__init__(learning_rate, learning_rate_power, initial_accumulator_value,
                         l1_regularization_strength, l2_regularization_strength,
                         l2_shrinkage_regularization_strength, beta, **self._legacy_init(name, kwargs))


Optimizer = _Base

__all__ = ["SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Optimizer"]

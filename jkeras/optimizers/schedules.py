"""Learning-rate schedules: jittable `schedule(step) -> lr`, Keras 3's formulas and configs.

An optimizer given a schedule uses `schedule(iterations)` at each update, as
Keras 3 does. Each schedule serializes as Keras 3 writes it:
`{"module": "keras.optimizers.schedules", "class_name": ..., "config": ...,
"registered_name": None}`.
"""
import math

import jax.numpy as jnp

from jkeras.backend import floatx
from jkeras.backend import registry


class LearningRateSchedule:
    """Base class: subclasses define `__call__(step)` and `get_config()`."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(step).")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_config() to be serialized.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_steps(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


def _float(x):
    return jnp.asarray(x, dtype=floatx())


class _RateDecay(LearningRateSchedule):
    """ExponentialDecay's and InverseTimeDecay's shared part: a rate decayed by `step / decay_steps`."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name or type(self).__name__

    def _progress(self, step):
        """`step / decay_steps`, floored when `staircase`."""
        p = _float(step) / _float(self.decay_steps)
        return jnp.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateDecay):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`; `staircase` floors the exponent."""

    def __call__(self, step):
        return _float(self.initial_learning_rate) * jnp.power(_float(self.decay_rate), self._progress(step))


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, ..., `values[-1]` once `step > boundaries[-1]`."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of values. "
                             f"Received: boundaries={boundaries} of length {len(boundaries)}, "
                             f"and values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = jnp.asarray(step)
        bounds = [jnp.asarray(b).astype(step.dtype) for b in self.boundaries]
        values = [_float(v) for v in self.values]
        result = (step <= bounds[0]) * values[0] + (step > bounds[-1]) * values[-1]
        for low, high, value in zip(bounds[:-1], bounds[1:], values[1:-1]):
            result = result + ((step > low) & (step <= high)) * value
        return result

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """From `initial_learning_rate` to `end_learning_rate` over `decay_steps` along `(1 - t) ** power`."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name="PolynomialDecay"):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _float(step)
        decay_steps = _float(self.decay_steps)
        if self.cycle:
            decay_steps = decay_steps * jnp.where(step == 0, 1.0, jnp.ceil(step / self.decay_steps))
        else:
            step = jnp.minimum(step, decay_steps)
        p = step / decay_steps
        end = _float(self.end_learning_rate)
        return (_float(self.initial_learning_rate) - end) * jnp.power(1 - p, _float(self.power)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power,
                "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_RateDecay):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`; `staircase` floors the ratio."""

    def __call__(self, step):
        decayed = _float(1) + _float(self.decay_rate) * self._progress(step)
        return _float(self.initial_learning_rate) / decayed


def _cosine(fraction, alpha):
    """`(1 - alpha) * (1 + cos(pi * fraction)) / 2 + alpha`, in Keras's operation order."""
    return (1 - alpha) * (0.5 * (1.0 + jnp.cos(_float(math.pi) * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Optional linear warm-up to `warmup_target`, then cosine decay to `alpha` times it."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        _check_steps("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        initial = _float(self.initial_learning_rate)
        decay_steps = _float(self.decay_steps)
        step = _float(step)
        if self.warmup_target is None:
            return initial * _cosine(jnp.minimum(step, decay_steps) / decay_steps, self.alpha)
        target = _float(self.warmup_target)
        warmup_steps = _float(self.warmup_steps)
        step = jnp.minimum(step, decay_steps + warmup_steps)
        warmup = (target - initial) * (step / warmup_steps) + initial
        decay = target * _cosine((step - warmup_steps) / decay_steps, self.alpha)
        return jnp.where(step < warmup_steps, warmup, decay)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): each period `t_mul` times longer, `m_mul` times lower."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _check_steps("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self.t_mul = t_mul
        self.m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        t_mul = _float(self.t_mul)
        fraction = _float(step) / _float(self.first_decay_steps)
        if self.t_mul == 1.0:
            restart = jnp.floor(fraction)
            fraction = fraction - restart
        else:
            restart = jnp.floor(jnp.log(1.0 - fraction * (1.0 - t_mul)) / jnp.log(t_mul))
            done = (1.0 - jnp.power(t_mul, restart)) / (1.0 - t_mul)
            fraction = (fraction - done) / jnp.power(t_mul, restart)
        m_fac = jnp.power(_float(self.m_mul), restart)
        alpha = _float(self.alpha)
        decayed = (1 - alpha) * (0.5 * m_fac * (1.0 + jnp.cos(_float(math.pi) * fraction))) + alpha
        return _float(self.initial_learning_rate) * decayed

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self.t_mul,
                "m_mul": self.m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                            InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def serialize(schedule):
    """The Keras 3 dict for a schedule."""
    return registry.serialize_keras_object(schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None):
    """A schedule from its Keras 3 or tf.keras 2 dict."""
    return registry.deserialize_keras_object(config, _SCHEDULES, "learning rate schedule", custom_objects)

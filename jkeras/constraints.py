"""Keras weight constraints: callables `c(w) -> w` applied after each optimizer update."""
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.backend import registry


def _norms(w, axis):
    """L2 norms of `w` along `axis` (an int or a list/tuple of ints), keeping dims."""
    axis = tuple(axis) if isinstance(axis, list) else axis
    return jnp.sqrt(jnp.sum(jnp.square(w), axis=axis, keepdims=True))


class Constraint:
    """Base class: the identity constraint with an empty config."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


class MaxNorm(Constraint):
    """Rescales slices along `axis` whose L2 norm exceeds `max_value`."""

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = jnp.clip(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Clips negative weights to zero."""

    def __call__(self, w):
        return jnp.maximum(w, 0)


class UnitNorm(Constraint):
    """Rescales slices along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Moves slice norms along `axis` into `[min_value, max_value]`, a fraction `rate` of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        w = jnp.asarray(w)
        norms = _norms(w, self.axis)
        desired = self.rate * jnp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


class RadialConstraint(Constraint):
    """Makes each `(height, width)` slice of a 4D conv kernel radially symmetric: every ring around
    the centre takes one value, read from the kernel's diagonal where tf.keras reads it."""

    def __call__(self, w):
        w = jnp.asarray(w)
        if w.ndim != 4:
            raise ValueError(f"The weight tensor must have rank 4. Received weight tensor with shape: "
                             f"{w.shape}")
        size = w.shape[0]
        if w.shape[1] != size:
            raise ValueError(f"RadialConstraint needs square kernels (height == width); received "
                             f"weight shape {w.shape}.")
        start = size // 2
        ring = np.floor(np.abs(np.arange(size) - (size - 1) / 2)).astype(int)  # 0 at the centre
        ring = np.maximum(ring[:, None], ring[None, :])
        # tf.keras grows the rings outwards from kernel[start-1, start-1], padding ring r with the
        # diagonal entry start+r (even sizes) or start+r-1 (odd sizes)
        source = np.where(ring == 0, start - 1, start + ring - size % 2)
        return w[source, source]


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
maxnorm, nonneg, unitnorm = MaxNorm, NonNeg, UnitNorm  # Keras 1's names, which Keras 2 kept
radial_constraint = RadialConstraint

_OBJECTS = {
    "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
    "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm,
    "RadialConstraint": RadialConstraint, "radial_constraint": RadialConstraint,
    # Keras 1 spellings that Keras 2 still read.
    "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm,
}


def get(identifier):
    """The constraint for a name, a Keras config dict, a class or a callable; None stays None."""
    return deserialize(identifier)


def deserialize(config_, custom_objects=None):
    """The constraint described by `config_`."""
    return registry.deserialize_keras_object(config_, _OBJECTS, "constraint", custom_objects)


def serialize(constraint):
    """The Keras 3 dict `{"module": "keras.constraints", "class_name", "config", "registered_name"}`."""
    return registry.serialize_keras_object(constraint, "keras.constraints")

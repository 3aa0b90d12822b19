"""Keras weight regularizers: callables `reg(x) -> scalar penalty` added to the loss."""
import math

import jax
import jax.numpy as jnp

from jkeras.backend import registry


def _factor(value, name):
    """A non-negative finite float, as Keras validates penalty factors."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise ValueError(f"Invalid value for argument {name}: expected a non-negative float. "
                         f"Received: {name}={value!r}")
    return float(value)


class Regularizer:
    """Base class: subclasses implement `__call__(x)` and `get_config()`."""

    def __call__(self, x):
        return 0.0

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config().")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class L1L2(Regularizer):
    """`l1 * sum(abs(x)) + l2 * sum(square(x))`."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(0.0 if l1 is None else l1, "l1")
        self.l2 = _factor(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = jnp.asarray(x)
        penalty = jnp.zeros((), x.dtype)
        if self.l1:
            penalty += jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))
        if self.l2:
            penalty += jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(Regularizer):
    """`l1 * sum(abs(x))`."""

    def __init__(self, l1=0.01):
        self.l1 = _factor(0.01 if l1 is None else l1, "l1")

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l1, x.dtype) * jnp.sum(jnp.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(square(x))`."""

    def __init__(self, l2=0.01):
        self.l2 = _factor(0.01 if l2 is None else l2, "l2")

    def __call__(self, x):
        x = jnp.asarray(x)
        return jnp.asarray(self.l2, x.dtype) * jnp.sum(jnp.square(x))

    def get_config(self):
        return {"l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D kernel towards orthogonality: `factor * 0.5 *` the mean
    absolute cosine between every pair of distinct rows."""

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _factor(factor, "factor")
        if mode not in {"rows", "columns"}:
            raise ValueError('Invalid value for argument `mode`. Expected one of {"rows", "columns"}. '
                             f"Received: mode={mode}")
        self.mode = mode

    def __call__(self, x):
        x = jnp.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. Received: "
                             f"inputs.shape == {x.shape}")
        if self.mode == "columns":
            x = x.T
        x = x * jax.lax.rsqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=1, keepdims=True), 1e-12))
        size = x.shape[0]
        off_diagonal = (x @ x.T) * (1.0 - jnp.eye(size, dtype=x.dtype))
        return self.factor * 0.5 * jnp.sum(jnp.abs(off_diagonal)) / (size * (size - 1.0) / 2.0)

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


l1, l2 = L1, L2
orthogonal_regularizer = OrthogonalRegularizer


def l1_l2(l1=0.01, l2=0.01):
    """An `L1L2` with Keras 2's shortcut defaults (both factors 0.01, unlike the class)."""
    return L1L2(l1=l1, l2=l2)


_OBJECTS = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2,
            "OrthogonalRegularizer": OrthogonalRegularizer, "orthogonal_regularizer": OrthogonalRegularizer}


def get(identifier):
    """The regularizer for a name, a Keras config dict, a class or a callable; None stays None."""
    return deserialize(identifier)


def deserialize(config, custom_objects=None):
    """The regularizer described by `config`; the name "l1_l2" means `l1_l2()` as in Keras 2."""
    if config == "l1_l2":
        return l1_l2()
    return registry.deserialize_keras_object(config, _OBJECTS, "regularizer", custom_objects)


def serialize(regularizer):
    """The Keras 3 dict `{"module": "keras.regularizers", "class_name", "config", "registered_name"}`."""
    return registry.serialize_keras_object(regularizer, "keras.regularizers")

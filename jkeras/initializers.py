"""Keras initializers as explicit-key callables: `init(key, shape, dtype=None) -> array`.

`dtype=None` means `floatx()`. A random initializer built with an integer
`seed` ignores `key` and draws from `jax.random.key(seed)`, so, as in Keras,
it gives the same values on every call. Configs carry the keys both Keras 3
and tf.keras 2 accept.
"""
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import block_draws
from jkeras.backend import config
from jkeras.backend.arrays import to_device
from jkeras.backend import registry

_TRUNCATED_STDDEV = 0.87962566103423978  # stddev of a unit normal truncated to [-2, 2]


def _direct_draw(key, kind, shape):
    """`shape` draws of a unit distribution, straight from `jax.random`."""
    if kind == "uniform":
        return jax.random.uniform(key, shape)
    if kind == "normal":
        return jax.random.normal(key, shape)
    return jax.random.truncated_normal(key, -2.0, 2.0, shape)


def _draw(key, kind, shape):
    """Unit draws of `shape`: built in numpy from blocks of one compiled program per kind
    (`backend.block_draws`), so that building a model compiles three small kernels at most,
    whatever its weight shapes. Under a trace (a jitted `init`), or for a key of another
    PRNG implementation, it draws directly."""
    if isinstance(key, jax.core.Tracer) or not block_draws.supports(key):
        return _direct_draw(key, kind, tuple(shape))
    return block_draws.draw(key, kind, math.prod(shape)).reshape(shape)


def _finish(values, dtype):
    """Host values as a device array of `dtype` (a transfer, not a compiled kernel)."""
    if isinstance(values, jax.Array):
        return values.astype(dtype)
    return to_device(np.asarray(values, np.float64 if jnp.dtype(dtype) == jnp.float64 else np.float32),
                     dtype)


def _filled(key, shape, value, dtype):
    """`shape` filled with `value`: built in numpy (a transfer, no kernel compiled per shape),
    but abstract under a trace, so that `jax.eval_shape` of a layer's `init` (the size guard
    on configs from files) sizes a huge declared shape without allocating it."""
    dtype = jnp.dtype(dtype or config.floatx())
    if isinstance(key, jax.core.Tracer):
        return jnp.full(shape, value, dtype)
    return to_device(np.full(shape, value, dtype), dtype)


def compute_fans(shape, input_axes=None, output_axes=None):
    """`(fan_in, fan_out)` as Keras counts them: conv kernels multiply in the receptive field."""
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


class Initializer:
    """Base class: subclasses implement `__call__(key, shape, dtype=None)`."""

    def __call__(self, key, shape, dtype=None):
        raise NotImplementedError(f"{type(self).__name__} must implement __call__(key, shape, dtype).")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config_):
        # TF 1-era files stored the dtype in initializer configs; jkeras takes it per call.
        return cls(**{k: v for k, v in config_.items() if k != "dtype"})


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, key, shape, dtype=None):
        return _filled(key, shape, 0, dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, key, shape, dtype=None):
        return _filled(key, shape, 1, dtype)


class Constant(Initializer):
    """Every entry equal to the scalar `value`."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, key, shape, dtype=None):
        return _filled(key, shape, self.value, dtype)

    def get_config(self):
        return {"value": self.value}


class Identity(Initializer):
    """`gain` times the identity matrix; 2D shapes only."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, key, shape, dtype=None):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        return self.gain * jnp.eye(*shape, dtype=dtype or config.floatx())

    def get_config(self):
        return {"gain": self.gain}


class RandomInitializer(Initializer):
    """Base of the random initializers: resolves the key from `seed` or the caller."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, numbers.Integral):
            raise ValueError(f"`seed` must be an integer or None. Received: seed={seed!r}")
        self.seed = None if seed is None else int(seed)

    def _key(self, key):
        if self.seed is not None:
            return jax.random.key(self.seed)
        if key is None:
            raise ValueError(f"{type(self).__name__} without a seed needs a PRNG key; received key=None.")
        return key

    def get_config(self):
        return {"seed": self.seed}


class RandomNormal(RandomInitializer):
    """Normal draws with `mean` and `stddev`."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, key, shape, dtype=None):
        sample = _draw(self._key(key), "normal", shape)
        return _finish(sample * self.stddev + self.mean, dtype or config.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomInitializer):
    """Normal draws with `mean` and `stddev`, redrawn beyond two standard deviations."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    def __call__(self, key, shape, dtype=None):
        sample = _draw(self._key(key), "truncated_normal", shape)
        return _finish(sample * self.stddev + self.mean, dtype or config.floatx())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class RandomUniform(RandomInitializer):
    """Uniform draws in `[minval, maxval)`."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    def __call__(self, key, shape, dtype=None):
        sample = _draw(self._key(key), "uniform", shape)
        return _finish(sample * (self.maxval - self.minval) + self.minval, dtype or config.floatx())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


class VarianceScaling(RandomInitializer):
    """Draws with variance `scale / n`, `n` the fan chosen by `mode`.

    `distribution` is `"truncated_normal"` (alias `"normal"`; stddev corrected
    for the truncation), `"untruncated_normal"` or `"uniform"` (limit
    `sqrt(3 * scale / n)`).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None):
        if scale <= 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode!r}. Use one of 'fan_in', 'fan_out', 'fan_avg'.")
        distribution = distribution.lower()
        distribution = "truncated_normal" if distribution == "normal" else distribution
        if distribution not in ("truncated_normal", "untruncated_normal", "uniform"):
            raise ValueError(f"Invalid `distribution` argument: {distribution!r}. "
                             "Use one of 'truncated_normal', 'untruncated_normal', 'uniform'.")
        super().__init__(seed)
        self.scale, self.mode, self.distribution = scale, mode, distribution
        self.input_axes, self.output_axes = input_axes, output_axes

    def __call__(self, key, shape, dtype=None):
        key, dtype = self._key(key), dtype or config.floatx()
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, fan)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(variance) / _TRUNCATED_STDDEV
            return _finish(_draw(key, "truncated_normal", shape) * stddev, dtype)
        if self.distribution == "untruncated_normal":
            return _finish(_draw(key, "normal", shape) * math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return _finish(_draw(key, "uniform", shape) * (2 * limit) - limit, dtype)

    def get_config(self):
        config_ = {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                   **super().get_config()}
        return {**config_, **self._axes_config()}

    def _axes_config(self):
        # Keras 3 only; omitted when unset so that tf.keras 2 can read the config.
        if self.input_axes is None and self.output_axes is None:
            return {}
        return {"input_axes": self.input_axes, "output_axes": self.output_axes}


class _FixedVarianceScaling(VarianceScaling):
    """A VarianceScaling whose scale, mode and distribution are fixed by the class."""

    _args = None  # (scale, mode, distribution)

    def __init__(self, seed=None, input_axes=None, output_axes=None):
        super().__init__(*self._args, seed=seed, input_axes=input_axes, output_axes=output_axes)

    def get_config(self):
        return {"seed": self.seed, **self._axes_config()}


class GlorotUniform(_FixedVarianceScaling):
    """Uniform in `[-limit, limit]`, `limit = sqrt(6 / (fan_in + fan_out))`."""
    _args = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / (fan_in + fan_out))`."""
    _args = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(2 / fan_in)`."""
    _args = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """Uniform in `[-limit, limit]`, `limit = sqrt(6 / fan_in)`."""
    _args = (2.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with `stddev = sqrt(1 / fan_in)`."""
    _args = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """Uniform in `[-limit, limit]`, `limit = sqrt(3 / fan_in)`."""
    _args = (1.0, "fan_in", "uniform")


class Orthogonal(RandomInitializer):
    """`gain` times a random orthogonal matrix, reshaped from `(prod(shape[:-1]), shape[-1])`."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    def __call__(self, key, shape, dtype=None):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={tuple(shape)} of rank {len(shape)}.")
        dtype = dtype or config.floatx()
        rows, cols = math.prod(shape[:-1]), shape[-1]
        # QR needs float32 or float64; half precision is cast at the end.
        work = np.float64 if jnp.dtype(dtype) == jnp.float64 else np.float32
        a = _draw(self._key(key), "normal", (max(rows, cols), min(rows, cols)))
        # QR on the host when not traced: compiling XLA's QR costs far more than the host's QR
        linalg = np.linalg if isinstance(a, np.ndarray) else jnp.linalg
        q, r = linalg.qr(a.astype(work))
        q = q * np.sign(np.diagonal(r)) if linalg is np.linalg else q * jnp.sign(jnp.diag(r))
        if rows < cols:
            q = q.T
        return _finish(self.gain * q.reshape(shape), dtype)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}


_CLASSES = (Zeros, Ones, Constant, Identity, RandomNormal, TruncatedNormal, RandomUniform,
            VarianceScaling, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
            LecunUniform, Orthogonal)
_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
_OBJECTS.update({
    "zeros": Zeros, "zero": Zeros, "ones": Ones, "one": Ones, "constant": Constant,
    "identity": Identity, "IdentityInitializer": Identity,
    "random_normal": RandomNormal, "normal": RandomNormal,
    "truncated_normal": TruncatedNormal,
    "random_uniform": RandomUniform, "uniform": RandomUniform,
    "variance_scaling": VarianceScaling,
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_normal": HeNormal, "he_uniform": HeUniform,
    "lecun_normal": LecunNormal, "lecun_uniform": LecunUniform,
    "orthogonal": Orthogonal, "OrthogonalInitializer": Orthogonal,
})

# Keras's lower-case names, usable as classes: `initializers.glorot_uniform(seed=1)`.
zeros, ones, constant, identity = Zeros, Ones, Constant, Identity
random_normal, truncated_normal, random_uniform = RandomNormal, TruncatedNormal, RandomUniform
variance_scaling, orthogonal = VarianceScaling, Orthogonal
glorot_uniform, glorot_normal, he_normal, he_uniform = GlorotUniform, GlorotNormal, HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform
zero, one, normal, uniform = Zeros, Ones, RandomNormal, RandomUniform  # Keras 2's shorter names


def get(identifier):
    """The initializer for a name, a Keras dict, a class, an instance or a `(key, shape, dtype)` fn."""
    return deserialize(identifier)


def deserialize(config_, custom_objects=None):
    """The initializer described by `config_`; None stays None."""
    return registry.deserialize_keras_object(config_, _OBJECTS, "initializer", custom_objects)


def serialize(initializer):
    """The Keras 3 dict `{"module": "keras.initializers", "class_name", "config", "registered_name"}`."""
    return registry.serialize_keras_object(initializer, "keras.initializers")

"""Regularization layers: Dropout, its spatial and alpha forms, Gaussian noise, ActivityRegularization.

The random layers act only when `training=True`, and then draw from the `key`
passed to `apply` (an integer `seed` folds into it); in inference they are
the identity.
"""
import math
import numbers

import jax
import jax.numpy as jnp

from jkeras import regularizers
from jkeras.backend import config
from jkeras.layers.base import Layer, add_loss
from jkeras.legacy import interfaces


def _check_rate(rate):
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool):
        raise TypeError("Invalid type for argument `rate`: expected a float between 0 and 1. "
                        f"Received: rate={rate!r} of type {type(rate).__name__}")
    if not 0 <= rate <= 1:
        raise ValueError("Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")


def _layer_key(layer, key):
    """The key a random layer draws from: `key`, with the layer's `seed` folded in if set."""
    if key is None:
        raise ValueError(f"{type(layer).__name__} '{layer.name}' needs a PRNG `key` in training mode.")
    return key if layer.seed is None else jax.random.fold_in(key, layer.seed)


class Dropout(Layer):
    """Inverted dropout: in training, zeroes a fraction `rate` of entries and scales the rest by `1 / (1 - rate)`.

    Args:
        rate: float in [0, 1], the fraction of entries to drop.
        noise_shape: shape of the binary mask, broadcast over the input;
            `None` entries take the input's size (e.g. `(None, 1, None)`
            drops the same features at every time step).
        seed: optional int folded into the layer's key.

    Input shape: any. Output shape: same as input.
    """

    @interfaces.legacy_dropout_support
    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate)
        if not (noise_shape is None or isinstance(noise_shape, (list, tuple)) and all(
                d is None or (isinstance(d, int) and d > 0) for d in noise_shape)):
            raise ValueError("Invalid value received for argument `noise_shape`. Expected a tuple of "
                             f"positive integers or None. Received: noise_shape={noise_shape}")
        self.rate = rate
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def _mask_shape(self, shape):
        if self.noise_shape is None:
            return shape
        return tuple(s if n is None else n for n, s in zip(self.noise_shape, shape))

    def apply(self, params, state, inputs, *, training=False, key=None):
        if not training or self.rate == 0:
            return inputs, state
        keep_prob = 1.0 - self.rate
        keep = jax.random.bernoulli(_layer_key(self, key), keep_prob, self._mask_shape(inputs.shape))
        return jnp.where(keep, inputs / keep_prob, jnp.zeros_like(inputs)), state

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed,
                "noise_shape": self.noise_shape}


class _SpatialDropout(Dropout):
    """Dropout with one mask entry per sample and channel; Keras 3 configs hold only rate and seed."""

    ndim = None

    def __init__(self, rate, seed=None, name=None, dtype=None, **kwargs):
        kwargs.pop("noise_shape", None)  # Keras 2 configs carry it; the mask shape is fixed
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) != self.ndim:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects inputs of rank {self.ndim}; "
                             f"received shape {inputs.shape}.")

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "rate": self.rate, "seed": self.seed}


@interfaces.legacy_spatialdropout1d_support
class SpatialDropout1D(_SpatialDropout):
    """Drops whole 1D feature maps of a `(batch, steps, channels)` input."""

    ndim = 3

    def _mask_shape(self, shape):
        return (shape[0], 1, shape[2])


class SpatialDropout2D(_SpatialDropout):
    """Drops whole 2D feature maps of a `(batch, rows, cols, channels)` (or channels-first) input."""

    ndim = 4

    @interfaces.legacy_spatialdropoutNd_support
    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = config.standardize_data_format(data_format)

    def _mask_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class SpatialDropout3D(_SpatialDropout):
    """Drops whole 3D feature maps of a `(batch, dim1, dim2, dim3, channels)` (or channels-first) input."""

    ndim = 5

    @interfaces.legacy_spatialdropoutNd_support
    def __init__(self, rate, data_format=None, seed=None, name=None, dtype=None, **kwargs):
        super().__init__(rate, seed=seed, name=name, dtype=dtype, **kwargs)
        self.data_format = config.standardize_data_format(data_format)

    def _mask_shape(self, shape):
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1, 1)
        return (shape[0], 1, 1, 1, shape[4])

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class AlphaDropout(Dropout):
    """Dropout that keeps a SELU network's mean and variance: dropped entries are set to SELU's
    negative saturation value, then all are scaled and shifted back (training only).

    Args: `rate`, `noise_shape` and `seed`, as for `Dropout`.

    Input shape: any. Output shape: same as input.
    """

    _ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946

    def apply(self, params, state, inputs, *, training=False, key=None):
        if not training or self.rate == 0:
            return inputs, state
        kept = jax.random.uniform(_layer_key(self, key), self._mask_shape(inputs.shape)) >= self.rate
        kept = kept.astype(inputs.dtype)
        alpha_p, rate = self._ALPHA_P, self.rate
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        return (a * (inputs * kept + alpha_p * (1 - kept)) + b).astype(inputs.dtype), state


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation `stddev` in training.

    Input shape: any. Output shape: same as input.
    """

    @interfaces.legacy_gaussiannoise_support
    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(stddev, numbers.Real) or isinstance(stddev, bool):
            raise TypeError("Invalid type for argument `stddev`: expected a non-negative float. "
                            f"Received: stddev={stddev!r} of type {type(stddev).__name__}")
        if stddev < 0:  # Keras 3 also caps it at 1; Keras 2 did not
            raise ValueError(f"Invalid value received for argument `stddev`. Expected a non-negative "
                             f"float. Received: stddev={stddev}")
        self.stddev = stddev
        self.seed = seed
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        if not training or self.stddev == 0:
            return inputs, state
        noise = jax.random.normal(_layer_key(self, key), inputs.shape, inputs.dtype) * self.stddev
        return inputs + noise, state

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(Layer):
    """Multiplies by 1-centred Gaussian noise of standard deviation `sqrt(rate / (1 - rate))` in training.

    Input shape: any. Output shape: same as input.
    """

    @interfaces.legacy_gaussiandropout_support
    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        _check_rate(rate)
        self.rate = rate
        self.seed = seed
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        if not training or self.rate == 0:
            return inputs, state
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        noise = jax.random.normal(_layer_key(self, key), inputs.shape, inputs.dtype) * stddev + 1.0
        return inputs * noise, state

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class ActivityRegularization(Layer):
    """The identity, adding `l1 * sum(|x|) + l2 * sum(x**2)` divided by the batch size to the training loss.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        self.l1 = l1
        self.l2 = l2
        self._penalty = regularizers.L1L2(l1=l1, l2=l2)
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        if training:
            penalty = self._penalty(inputs)
            add_loss(penalty / inputs.shape[0] if inputs.ndim else penalty)
        return inputs, state

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}

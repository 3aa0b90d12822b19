"""Pooling layers: windowed max/average pooling and global pooling over 1, 2 or 3 spatial dims."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jkeras.backend import config
from jkeras.layers._utils import (check_rank, normalize_padding, normalize_tuple, spatial_shape,
                                  window, window_view)
from jkeras.layers.base import Layer
from jkeras.legacy import interfaces


def _lowest(dtype):
    """The identity of `max` for `dtype`, as a host constant so jax sees a max-pool it can differentiate."""
    if jnp.issubdtype(dtype, jnp.floating):
        return np.array(-np.inf, dtype)
    return np.array(np.iinfo(dtype).min, dtype)


def _windows(x, dims):
    """`x` cut into non-overlapping `dims` windows (remainders dropped): `outer shape + (window,)`."""
    x = x[tuple(slice(0, n - n % d) for n, d in zip(x.shape, dims))]
    x = x.reshape([m for n, d in zip(x.shape, dims) for m in (n // d, d)])
    rank = len(dims)
    x = x.transpose([2 * i for i in range(rank)] + [2 * i + 1 for i in range(rank)])
    return x.reshape(x.shape[:rank] + (-1,))


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _tiled_max(x, dims, shape):
    """Max over non-overlapping windows; XLA:CPU's select-and-scatter gradient of
    `reduce_window` is slow (scripts/BENCH_RESULTS.md), so the gradient is written here,
    going to the first maximum of each window exactly as select-and-scatter does."""
    return _windows(x, dims).max(-1)


def _pick_first_max(candidate, accumulated):
    """The reducer of `_max_and_first`: jnp.argmax's rule (the larger value, NaN first, the lower
    index among equals), carrying the value along with its index."""
    (value, index), (best, best_index) = candidate, accumulated
    take = (value > best) | (value != value)
    take_index = take | ((value == best) & (index < best_index))
    return lax.select(take, value, best), lax.select(take_index, index, best_index)


def _max_and_first(windows):
    """Each window's max and the index of its first maximum from one reduction over the last axis;
    a `max` beside an `argmax` reads the windows twice (XLA:CPU sends the max to YNNPACK
    behind a transposed copy)."""
    index = lax.broadcasted_iota(np.int32, windows.shape, windows.ndim - 1)
    return lax.reduce((windows, index), (_lowest(windows.dtype), np.array(0, np.int32)),
                      _pick_first_max, (windows.ndim - 1,))


def _tiled_max_fwd(x, dims, shape):
    return _max_and_first(_windows(x, dims))


def _tiled_max_bwd(dims, shape, first_max, g):
    size = math.prod(dims)
    scattered = jnp.where(jnp.arange(size) == first_max[..., None], g[..., None], 0).astype(g.dtype)
    rank = len(dims)
    scattered = scattered.reshape(scattered.shape[:rank] + tuple(dims))
    order = [axis for i in range(rank) for axis in (i, rank + i)]
    scattered = scattered.transpose(order).reshape([n - n % d for n, d in zip(shape, dims)])
    return (jnp.pad(scattered, [(0, n % d) for n, d in zip(shape, dims)]),)


_tiled_max.defvjp(_tiled_max_fwd, _tiled_max_bwd)


def _offsets(dims):
    """Every position inside a window, in row-major order (select-and-scatter's scan order)."""
    return np.ndindex(*dims)


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2, 3))
def _window_max(x, dims, steps, pads):
    """Max over (overlapping) windows: `reduce_window`'s forward, with a gradient written as
    strided slices and pads, because XLA:CPU's select-and-scatter is slower (measured on
    ResNet50's 3x3/2 pool, scripts/BENCH_RESULTS.md); the gradient goes to each window's first
    maximum, as there."""
    return lax.reduce_window(x, _lowest(x.dtype), lax.max, dims, steps, pads)


def _window_max_fwd(x, dims, steps, pads):
    y = _window_max(x, dims, steps, pads)
    xp = lax.pad(x, _lowest(x.dtype), [(lo, hi, 0) for lo, hi in pads])
    first = jnp.zeros(y.shape, np.int32)
    found = jnp.zeros(y.shape, bool)
    for k, offset in enumerate(_offsets(dims)):
        hit = ~found & (window_view(xp, offset, steps, y.shape) == y)
        first = jnp.where(hit, k, first)
        found = found | hit
    return y, (first, x.shape)


def _window_max_bwd(dims, steps, pads, res, g):
    first, shape = res
    padded = [n + lo + hi for n, (lo, hi) in zip(shape, pads)]
    total = jnp.zeros(padded, g.dtype)
    zero = np.array(0, g.dtype)
    # offsets backwards: each input then sums its windows' gradients in the windows' row-major
    # order, the order select-and-scatter adds them in, so the float sums are the same
    for k, offset in reversed(list(enumerate(_offsets(dims)))):
        picked = jnp.where(first == k, g, zero)
        ends = [o + (n - 1) * s + 1 for o, n, s in zip(offset, g.shape, steps)]
        total = total + lax.pad(picked, zero, [(o, p - e, s - 1) for o, e, p, s
                                               in zip(offset, ends, padded, steps)])
    crop = tuple(slice(lo, lo + n) for n, (lo, _) in zip(shape, pads))
    return (total[crop],)


_window_max.defvjp(_window_max_fwd, _window_max_bwd)


class _Pooling(Layer):
    """Windowed pooling: `pool_size` windows every `strides` steps, reduced by max or mean."""

    rank = None
    mode = None

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = normalize_tuple(pool_size if strides is None else strides, self.rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = config.standardize_data_format(data_format)

    def _check_input_compatible(self, inputs):
        check_rank(self, inputs.shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs)
        check_rank(self, x.shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")
        if self.padding == "valid" and any(n < p for n, p in zip(spatial_shape(x.shape, self.data_format),
                                                                  self.pool_size)):
            raise ValueError(f"{type(self).__name__} '{self.name}': computed output size would be zero "
                             f"or negative for input shape {tuple(x.shape)} and pool_size={self.pool_size}.")
        dims = window(self.pool_size, self.data_format)
        steps = window(self.strides, self.data_format)
        pad = self.padding.upper()
        if self.mode == "max":
            # training differentiates: the tiled max has the fast gradient; inference keeps
            # `reduce_window`, which XLA fuses with the convolutions around it (faster: BENCH_RESULTS)
            if training and jnp.issubdtype(x.dtype, jnp.floating):
                if pad == "VALID" and dims == steps:
                    return _tiled_max(x, tuple(dims), tuple(x.shape)), state
                pads = tuple(lax.padtype_to_pads(x.shape, dims, steps, pad))
                return _window_max(x, tuple(dims), tuple(steps), pads), state
            return lax.reduce_window(x, _lowest(x.dtype), lax.max, dims, steps, pad), state
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(config.floatx())
        # a host-constant init value: with a traced one jax cannot differentiate `reduce_window`
        total = lax.reduce_window(x, np.array(0, x.dtype), lax.add, dims, steps, pad)
        if self.padding == "valid":
            return total / np.prod(self.pool_size), state
        # 'same': divide by the number of real (unpadded) elements in each window, as Keras does.
        ones = jnp.ones([n if d != 1 else 1 for n, d in zip(x.shape, dims)], x.dtype)
        counts = lax.reduce_window(ones, np.array(0, x.dtype), lax.add, dims, steps, pad)
        return total / counts, state

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size, "padding": self.padding,
                "strides": self.strides, "data_format": self.data_format}


class MaxPooling1D(_Pooling):
    """Max over windows of `pool_size` steps of a sequence."""

    rank, mode = 1, "max"

    @interfaces.legacy_pooling1d_support
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """Max over `pool_size` windows of an image."""

    rank, mode = 2, "max"

    @interfaces.legacy_pooling2d_support
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """Max over `pool_size` windows of a volume."""

    rank, mode = 3, "max"

    @interfaces.legacy_pooling3d_support
    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """Mean over windows of `pool_size` steps; 'same' padding is left out of the mean."""

    rank, mode = 1, "average"

    @interfaces.legacy_pooling1d_support
    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """Mean over `pool_size` windows of an image; 'same' padding is left out of the mean."""

    rank, mode = 2, "average"

    @interfaces.legacy_pooling2d_support
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """Mean over `pool_size` windows of a volume; 'same' padding is left out of the mean."""

    rank, mode = 3, "average"

    @interfaces.legacy_pooling3d_support
    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Max or mean over all spatial dims; `keepdims` keeps them with length 1."""

    rank = None
    mode = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.keepdims = bool(keepdims)

    def _check_input_compatible(self, inputs):
        check_rank(self, inputs.shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")

    def _axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return tuple(range(first, first + self.rank))

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs)
        check_rank(self, x.shape, self.rank + 2, f"batch, {self.rank} spatial dims, channels")
        if self.mode == "max":
            return jnp.max(x, axis=self._axes(), keepdims=self.keepdims), state
        return jnp.mean(x, axis=self._axes(), keepdims=self.keepdims), state

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalAveragePooling1D(_GlobalPooling):
    """Mean over the steps of a sequence; masked steps (a `mask` argument) are left out."""

    rank, mode = 1, "average"

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        if mask is None:
            return super().apply(params, state, inputs)
        x = jnp.asarray(inputs)
        axis = self._axes()[0]
        weights = jnp.expand_dims(jnp.asarray(mask, bool), 2 if axis == 1 else 1).astype(x.dtype)
        total = jnp.sum(jnp.where(weights > 0, x, 0), axis=axis, keepdims=self.keepdims)
        return total / jnp.sum(weights, axis=axis, keepdims=self.keepdims), state

    def compute_mask(self, inputs, mask=None):
        return None


@interfaces.legacy_global_pooling_support
class GlobalAveragePooling2D(_GlobalPooling):
    """Mean over the rows and columns of an image."""

    rank, mode = 2, "average"


@interfaces.legacy_global_pooling_support
class GlobalAveragePooling3D(_GlobalPooling):
    """Mean over the three spatial dims of a volume."""

    rank, mode = 3, "average"


class GlobalMaxPooling1D(_GlobalPooling):
    """Max over the steps of a sequence."""

    rank, mode = 1, "max"


@interfaces.legacy_global_pooling_support
class GlobalMaxPooling2D(_GlobalPooling):
    """Max over the rows and columns of an image."""

    rank, mode = 2, "max"


@interfaces.legacy_global_pooling_support
class GlobalMaxPooling3D(_GlobalPooling):
    """Max over the three spatial dims of a volume."""

    rank, mode = 3, "max"


# Keras's other names for the same layers.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (
    GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D)
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D

"""Shape-only layers: Flatten, Reshape, Permute, RepeatVector, zero padding, cropping, upsampling."""
import math

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.layers._utils import check_rank, normalize_tuple, spatial_shape, with_spatial
from jkeras.layers.base import Layer
from jkeras.legacy import interfaces

_ORDINALS = ("1st", "2nd", "3rd")


def _pairs(value, rank, name):
    """`((before, after),) * rank` from an int, `rank` ints, or `rank` pairs, as Keras accepts."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative; received {name}={value}.")
        return ((int(value),) * 2,) * rank
    if not hasattr(value, "__len__") or len(value) != rank:
        raise ValueError(f"`{name}` must be an int, a tuple of {rank} ints or a tuple of {rank} pairs "
                         f"of ints; received {name}={value!r}.")
    return tuple(normalize_tuple(v, 2, f"{_ORDINALS[i]} entry of {name}", allow_zero=True)
                 for i, v in enumerate(value))


def _ints(value, name):
    """`value` (an int or a list/tuple of ints) as a tuple of ints; a ValueError naming `name`."""
    values = (value,) if isinstance(value, (int, np.integer)) else value
    if isinstance(values, (list, tuple)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        return tuple(int(v) for v in values)
    raise ValueError(f"`{name}` must be a tuple of ints; received {name}={value!r}.")


class _ShapeLayer(Layer):
    """A layer without weights whose inputs must have rank `ndim` (None: any rank)."""

    ndim = None
    what = ""

    def _check_input_compatible(self, inputs):
        if self.ndim is not None:
            check_rank(self, inputs.shape, self.ndim, self.what)

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs)
        if self.ndim is not None:
            check_rank(self, x.shape, self.ndim, self.what)
        return self._call(x), state


class Flatten(_ShapeLayer):
    """Flatten all but the batch dim; channels_first inputs are flattened in channels_last order."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) < 1:
            raise ValueError(f"Flatten '{self.name}' needs inputs with a batch dim; received a scalar.")

    def _call(self, x):
        if self.data_format == "channels_first" and x.ndim > 2:
            x = jnp.transpose(x, (0, *range(2, x.ndim), 1))
        return x.reshape((x.shape[0], math.prod(x.shape[1:])))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class Reshape(_ShapeLayer):
    """Reshape the non-batch dims to `target_shape`; one dim may be -1 (inferred)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = _ints(target_shape, "target_shape")
        if any(d < -1 for d in self.target_shape) or self.target_shape.count(-1) > 1:
            raise ValueError(f"`target_shape` must hold non-negative ints and at most one -1; "
                             f"received target_shape={self.target_shape}.")

    def _call(self, x):
        size = math.prod(x.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        fits = size % known == 0 if -1 in self.target_shape and known else size == known
        if not fits:
            raise ValueError(f"Reshape '{self.name}' cannot reshape inputs of shape {tuple(x.shape)} "
                             f"({size} values per sample) to target_shape={self.target_shape}.")
        return x.reshape((x.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Permute(_ShapeLayer):
    """Permute the non-batch dims: `dims` is a permutation of `1..rank`, e.g. `(2, 1)`."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = _ints(dims, "dims")
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(f"Permute `dims` must be a permutation of 1..{len(self.dims)} (the batch "
                             f"dim is not counted); received dims={tuple(dims)}.")
        self.ndim, self.what = len(self.dims) + 1, f"batch plus {len(self.dims)} dims to permute"

    def _call(self, x):
        return jnp.transpose(x, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}


class RepeatVector(_ShapeLayer):
    """Repeat a `(batch, features)` input `n` times: `(batch, n, features)`."""

    ndim, what = 2, "batch, features"

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise ValueError(f"RepeatVector `n` must be a positive int; received n={n!r}.")
        self.n = int(n)

    def _call(self, x):
        return jnp.repeat(x[:, None, :], self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class _Spatial(_ShapeLayer):
    """A shape layer over `rank` spatial dims laid out by `data_format`."""

    rank = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)
        self.ndim, self.what = self.rank + 2, f"batch, {self.rank} spatial dims, channels"


class _ZeroPadding(_Spatial):
    """Pad the spatial dims with zeros: `(before, after)` per spatial dim."""

    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self._pads = self.padding = _pairs(padding, self.rank, "padding")

    def _call(self, x):
        return jnp.pad(x, with_spatial(((0, 0),) * x.ndim, self.data_format, self._pads))

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding1D(_ZeroPadding):
    """Pad a sequence with zero steps: `padding` is an int or `(before, after)`."""

    rank = 1

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__([padding], data_format, **kwargs)
        self.padding = self._pads[0]


class ZeroPadding2D(_ZeroPadding):
    """Pad images with zero rows and columns."""

    rank = 2

    @interfaces.legacy_zeropadding2d_support
    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pad volumes with zeros along the three spatial dims."""

    rank = 3

    @interfaces.legacy_zeropadding3d_support
    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class _Cropping(_Spatial):
    """Cut `(before, after)` elements off each spatial dim."""

    def __init__(self, cropping, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self._crops = self.cropping = _pairs(cropping, self.rank, "cropping")

    def _call(self, x):
        sizes = spatial_shape(x.shape, self.data_format)
        if any(sum(c) >= n for c, n in zip(self._crops, sizes)):
            raise ValueError(f"{type(self).__name__} '{self.name}': cropping {self.cropping} must leave "
                             f"something of the spatial dims {sizes} (input shape {tuple(x.shape)}).")
        slices = with_spatial((slice(None),) * x.ndim, self.data_format,
                              [slice(a, n - b) for (a, b), n in zip(self._crops, sizes)])
        return x[tuple(slices)]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class Cropping1D(_Cropping):
    """Crop steps off both ends of a `(batch, steps, features)` sequence."""

    rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__([cropping], "channels_last", **kwargs)
        self.cropping = self._crops[0]

    def get_config(self):
        config_ = super().get_config()
        del config_["data_format"]  # Keras's Cropping1D is channels_last only
        return config_


class Cropping2D(_Cropping):
    """Crop rows and columns off the edges of images."""

    rank = 2

    @interfaces.legacy_cropping2d_support
    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class Cropping3D(_Cropping):
    """Crop the edges of volumes along the three spatial dims."""

    rank = 3

    @interfaces.legacy_cropping3d_support
    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)


class UpSampling1D(_ShapeLayer):
    """Repeat each step of a `(batch, steps, features)` sequence `size` times."""

    ndim, what = 3, "batch, steps, features"

    @interfaces.legacy_upsampling1d_support
    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"UpSampling1D `size` must be a positive int; received size={size!r}.")
        self.size = int(size)

    def _call(self, x):
        return jnp.repeat(x, self.size, axis=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


class _UpSampling(_Spatial):
    """Scale each spatial dim by `size`: repeat (nearest) or interpolate."""

    interpolations = ("nearest",)

    def __init__(self, size, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, self.rank, "size")
        self.interpolation = str(interpolation).lower()
        if self.interpolation not in self.interpolations:
            raise ValueError(f"`interpolation` must be one of {self.interpolations}; "
                             f"received {interpolation!r}.")

    def _call(self, x):
        first = 1 if self.data_format == "channels_last" else 2
        if self.interpolation == "nearest":
            for i, factor in enumerate(self.size):
                x = jnp.repeat(x, factor, axis=first + i)
            return x
        scaled = [n * f for n, f in zip(spatial_shape(x.shape, self.data_format), self.size)]
        if not jnp.issubdtype(x.dtype, jnp.floating):
            x = x.astype(config.floatx())
        return jax.image.resize(x, with_spatial(x.shape, self.data_format, scaled),
                                method=self.interpolation, antialias=False)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


class UpSampling2D(_UpSampling):
    """Upsample images by `size`; `interpolation` is 'nearest' (repeat) or 'bilinear', 'bicubic', ..."""

    rank = 2
    interpolations = ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5")

    @interfaces.legacy_upsampling2d_support
    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(size, data_format, interpolation, **kwargs)

    def get_config(self):
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_UpSampling):
    """Upsample volumes by repeating each element `size` times per spatial dim."""

    rank = 3

    @interfaces.legacy_upsampling3d_support
    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(size, data_format, **kwargs)

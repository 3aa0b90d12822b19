"""Image preprocessing layers: resizing, cropping and the random augmentations, on JAX as Keras 3 computes them.

The random layers act only in training (`fit`, or a direct call, which Keras runs
in training mode unless told `training=False`) and then draw from the `key`
passed to `apply` (an integer `seed` folds into it), inside the compiled step;
in inference they are the identity. Inputs are a batch `(batch, height, width,
channels)` or one image `(height, width, channels)` (channels first with
`data_format="channels_first"`); outputs are in the compute dtype.
"""
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer, _scope
from jkeras.layers.regularization import _layer_key

_RESIZE_METHODS = ("bilinear", "nearest", "lanczos3", "lanczos5", "bicubic")
_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_AFFINE_ORDER = {"nearest": 0, "bilinear": 1}


def _hw_axes(data_format):
    """The height and width axes, counted from the end (rank 3 and 4 alike)."""
    return (-3, -2) if data_format == "channels_last" else (-2, -1)


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _factor_pair(factor, name, low, high, low_open=False):
    """`(lower, upper)` from a number `f` (`(-|f|, |f|)`) or a pair (sorted), each in `[low, high]`."""
    message = (f"The `{name}` argument should be a number (or a list of two numbers) in the range "
               f"{'(' if low_open else '['}{low}, {high}]. Received: {name}={factor!r}")
    if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(map(_is_number, factor)):
        pair = sorted(float(f) for f in factor)
    elif _is_number(factor):
        pair = [-abs(float(factor)), abs(float(factor))]
    else:
        raise ValueError(message)
    if any(f > high or f < low or (low_open and f == low) for f in pair):
        raise ValueError(message)
    return tuple(pair)


def _check_choice(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"Invalid value for argument `{name}`: expected one of {allowed}; received {value!r}.")
    return value


def _resize(images, size, interpolation="bilinear", antialias=False, crop_to_aspect_ratio=False,
            pad_to_aspect_ratio=False, fill_value=0.0, data_format="channels_last"):
    """`images` resized to `size` as Keras 3's JAX `ops.image.resize`: an optional centred crop
    (or pad) to the target aspect ratio, then `jax.image.resize`."""
    h_axis, w_axis = (images.ndim + a for a in _hw_axes(data_format))
    height, width = images.shape[h_axis], images.shape[w_axis]
    target_h, target_w = size
    if crop_to_aspect_ratio:
        crop_h = max(min(height, int(float(width * target_h) / target_w)), 1)
        crop_w = max(min(width, int(float(height * target_w) / target_h)), 1)
        h_start, w_start = int(float(height - crop_h) / 2), int(float(width - crop_w) / 2)
        images = jax.lax.slice_in_dim(images, h_start, h_start + crop_h, axis=h_axis)
        images = jax.lax.slice_in_dim(images, w_start, w_start + crop_w, axis=w_axis)
    elif pad_to_aspect_ratio:
        pad_h = max(height, int(float(width * target_h) / target_w))
        pad_w = max(width, int(float(height * target_w) / target_h))
        h_start, w_start = int(float(pad_h - height) / 2), int(float(pad_w - width) / 2)
        pads = [(0, 0)] * images.ndim
        if h_start > 0:  # Keras pads the same amount on both sides, the height first
            pads[h_axis] = (h_start, h_start)
        elif w_start > 0:
            pads[w_axis] = (w_start, w_start)
        images = jnp.pad(images, pads, constant_values=jnp.asarray(fill_value, images.dtype))
    shape = list(images.shape)
    shape[h_axis], shape[w_axis] = target_h, target_w
    return jax.image.resize(images, tuple(shape), method=interpolation, antialias=antialias)


def _affine(images, transforms, interpolation, fill_mode, fill_value, data_format):
    """A batch of images mapped through Keras's 8-number transforms `[a0 a1 a2 b0 b1 b2 c0 c1]`
    (output `(x, y)` reads input `(a0 x + a1 y + a2, b0 x + b1 y + b2)`), sampled with
    `map_coordinates` as Keras 3's JAX `affine_transform`."""
    if data_format == "channels_first":
        images = jnp.transpose(images, (0, 2, 3, 1))
    _, height, width, channels = images.shape
    y, x, c = jnp.meshgrid(jnp.arange(height), jnp.arange(width), jnp.arange(channels), indexing="ij")

    def one(image, t):
        rows = y * t[4] + x * t[3] + c * t[6] + t[5]
        cols = y * t[1] + x * t[0] + c * t[7] + t[2]
        return jax.scipy.ndimage.map_coordinates(image, [rows, cols, c.astype(rows.dtype)],
                                                 order=_AFFINE_ORDER[interpolation], mode=fill_mode,
                                                 cval=fill_value)
    out = jax.vmap(one)(images, transforms.astype(images.dtype))
    return jnp.transpose(out, (0, 3, 1, 2)) if data_format == "channels_first" else out


def _without_defaults(config_, **defaults):
    """`config_` less the Keras 3 keys that hold their default: tf.keras 2 refuses keys it does not
    know, and Keras 3 reads a missing key as its default, so both load the file."""
    return {k: v for k, v in config_.items() if k not in defaults or v != defaults[k]}


class _ImageLayer(Layer):
    """Shared by the image layers: rank 3 or 4 inputs, `data_format`, no weights, output in the
    compute dtype. A subclass defines `_batch(images, training, key)` on a batch."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = config.standardize_data_format(data_format)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) not in (3, 4):
            raise ValueError(f"{type(self).__name__} '{self.name}' expects an image (rank 3) or a batch of "
                             f"images (rank 4); received shape {tuple(inputs.shape)}.")

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        self._check_input_compatible(inputs)
        images = jnp.asarray(inputs).astype(self.compute_dtype)
        single = images.ndim == 3
        out = self._batch(images[None] if single else images, training, key)
        return (out[0] if single else out), state

    def get_config(self):
        return _without_defaults({**super().get_config(), "data_format": self.data_format},
                                 data_format="channels_last")


class _RandomImageLayer(_ImageLayer):
    """An augmentation: a random transform in training, the identity in inference. Called
    directly on arrays it runs in training mode, as Keras's random layers do."""

    def __init__(self, seed=None, data_format=None, **kwargs):
        kwargs.pop("rng_type", None)  # tf.keras 2's choice of random generator; keys are JAX's here
        super().__init__(data_format=data_format, **kwargs)
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError(f"{type(self).__name__} `seed` must be an int or None; received {seed!r}.")
        self.seed = seed

    def __call__(self, inputs, *args, **kwargs):
        eager = not any(isinstance(t, KerasTensor) for t in jax.tree.leaves(inputs))
        if eager and "training" not in kwargs and id(self) not in _scope.bound:
            kwargs["training"] = True
        return super().__call__(inputs, *args, **kwargs)

    def _batch(self, images, training, key):
        if not training:
            return images
        return self._transform(images, self._sample(_layer_key(self, key), images))

    def _sample(self, key, images):
        """The random factors of one step for `images` (a batch)."""
        raise NotImplementedError

    def _transform(self, images, sample):
        """`images` transformed by the factors `sample` that `_sample` drew."""
        raise NotImplementedError

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


class Resizing(_ImageLayer):
    """Resizes images to `(height, width)` with `jax.image.resize`, as Keras 3 on JAX.

    Args:
        height, width: the output size.
        interpolation: "bilinear", "nearest", "bicubic", "lanczos3" or "lanczos5"
            (Keras 3's JAX set; tf.keras's "area", "gaussian" and "mitchellcubic"
            are refused with a clear error).
        crop_to_aspect_ratio: first crop the largest centred window of the target
            aspect ratio, so the image is not distorted.
        pad_to_aspect_ratio: first pad (with `fill_value`) to the target aspect ratio.
        antialias: filter when downsampling.

    Output shape: `(batch, height, width, channels)` (or channels first).
    """

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0, antialias=False,
                 data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        for name, value in (("height", height), ("width", width)):
            if not isinstance(value, (int, np.integer)) or value <= 0:
                raise ValueError(f"Resizing `{name}` must be a positive int; received {value!r}.")
        _check_choice(interpolation, _RESIZE_METHODS, "interpolation")
        _check_choice(fill_mode, ("constant",), "fill_mode")
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            raise ValueError("Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`.")
        self.height, self.width = int(height), int(width)
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)

    def _batch(self, images, training, key):
        return _resize(images, (self.height, self.width), self.interpolation, self.antialias,
                       self.crop_to_aspect_ratio, self.pad_to_aspect_ratio, self.fill_value,
                       self.data_format)

    def get_config(self):
        config_ = {**super().get_config(), "height": self.height, "width": self.width,
                   "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                   "pad_to_aspect_ratio": self.pad_to_aspect_ratio, "fill_mode": self.fill_mode,
                   "fill_value": self.fill_value, "antialias": self.antialias}
        return _without_defaults(config_, pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                                 antialias=False)


def _size_args(layer, height, width):
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or value <= 0:
            raise ValueError(f"{type(layer).__name__} `{name}` must be a positive int; received {value!r}.")
    return int(height), int(width)


def _center_crop(images, height, width, data_format):
    """The centred `(height, width)` window; an image smaller on either side is instead cropped
    to the target aspect ratio and resized (Keras's `smart_resize`)."""
    h_axis, w_axis = (images.ndim + a for a in _hw_axes(data_format))
    h_diff, w_diff = images.shape[h_axis] - height, images.shape[w_axis] - width
    if h_diff >= 0 and w_diff >= 0:
        images = jax.lax.slice_in_dim(images, h_diff // 2, h_diff // 2 + height, axis=h_axis)
        return jax.lax.slice_in_dim(images, w_diff // 2, w_diff // 2 + width, axis=w_axis)
    return _resize(images, (height, width), crop_to_aspect_ratio=True, data_format=data_format)


class CenterCrop(_ImageLayer):
    """Crops the central `(height, width)` window of each image; a smaller image is first cropped
    to the target aspect ratio and resized up (bilinear), as Keras does.

    Output shape: `(batch, height, width, channels)` (or channels first).
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.height, self.width = _size_args(self, height, width)

    def _batch(self, images, training, key):
        return _center_crop(images, self.height, self.width, self.data_format)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


class RandomCrop(_RandomImageLayer):
    """In training, crops one random `(height, width)` window (the same for the whole batch);
    an image smaller than that, and every image in inference, is cropped to the target aspect
    ratio around its centre and resized (Keras's `smart_resize`, as tf.keras 2; Keras 3 returns
    inference inputs uncropped, contradicting its own output shape).

    Output shape: `(batch, height, width, channels)` (or channels first).
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height, self.width = _size_args(self, height, width)

    def _diffs(self, images):
        h_axis, w_axis = _hw_axes(self.data_format)
        return images.shape[h_axis] - self.height, images.shape[w_axis] - self.width

    def _batch(self, images, training, key):
        h_diff, w_diff = self._diffs(images)
        if not training or h_diff < 0 or w_diff < 0:
            return _resize(images, (self.height, self.width), crop_to_aspect_ratio=True,
                           data_format=self.data_format)
        return self._transform(images, self._sample(_layer_key(self, key), images))

    def _sample(self, key, images):
        """The crop's top-left corner: `int(uniform(0, diff + 1))` per axis, as Keras 3."""
        h_diff, w_diff = self._diffs(images)
        k_h, k_w = jax.random.split(key)
        starts = [jax.random.uniform(k, (), minval=0.0, maxval=float(d + 1)) for k, d in
                  ((k_h, h_diff), (k_w, w_diff))]
        return jnp.minimum(jnp.stack(starts).astype("int32"), jnp.asarray([h_diff, w_diff]))

    def _transform(self, images, sample):
        h_axis, w_axis = (images.ndim + a for a in _hw_axes(self.data_format))
        starts = [0] * images.ndim
        starts[h_axis], starts[w_axis] = sample[0], sample[1]
        sizes = list(images.shape)
        sizes[h_axis], sizes[w_axis] = self.height, self.width
        return jax.lax.dynamic_slice(images, starts, sizes)

    def get_config(self):
        return {**super().get_config(), "height": self.height, "width": self.width}


_FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")


class RandomFlip(_RandomImageLayer):
    """In training, flips each image left-right and/or top-bottom, each with probability 1/2.

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (the two
            flips drawn independently, as tf.keras 2; Keras 3 draws one for both).
        seed: optional int folded into the layer's key.
    """

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.mode = _check_choice(mode, _FLIP_MODES, "mode")

    def _sample(self, key, images):
        """`(batch, 2)` booleans: flip left-right, flip top-bottom (Keras: `uniform <= 0.5`)."""
        flips = jax.random.uniform(key, (images.shape[0], 2)) <= 0.5
        return flips & jnp.asarray([self.mode != "vertical", self.mode != "horizontal"])

    def _transform(self, images, sample):
        h_axis, w_axis = _hw_axes(self.data_format)
        shape = (-1, 1, 1, 1)
        images = jnp.where(sample[:, 0].reshape(shape), jnp.flip(images, w_axis), images)
        return jnp.where(sample[:, 1].reshape(shape), jnp.flip(images, h_axis), images)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class _AffineLayer(_RandomImageLayer):
    """A random affine map per image (rotation, zoom, translation), sampled with `fill_mode`."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.fill_mode = _check_choice(fill_mode, _FILL_MODES, "fill_mode")
        self.interpolation = _check_choice(interpolation, tuple(_AFFINE_ORDER), "interpolation")
        self.fill_value = fill_value

    def _size(self, images):
        h_axis, w_axis = _hw_axes(self.data_format)
        return images.shape[h_axis], images.shape[w_axis]

    def _transform(self, images, sample):
        return _affine(images, self._matrices(images, sample), self.interpolation, self.fill_mode,
                       self.fill_value, self.data_format)

    def get_config(self):
        return {**super().get_config(), "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation}


class RandomRotation(_AffineLayer):
    """In training, rotates each image by a random angle in `factor * 2pi` about its centre.

    Args:
        factor: a float `f` (angles in `[-f, f]` turns) or a pair `(lower, upper)`, in [-1, 1].
        fill_mode: "reflect", "wrap", "constant" or "nearest": how points outside the
            input are filled. interpolation: "bilinear" or "nearest".
    """

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0,
                 data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self.factor = _factor_pair(factor, "factor", -1.0, 1.0)

    def _sample(self, key, images):
        """Angles in degrees, one per image."""
        return jax.random.uniform(key, (images.shape[0],), minval=self.factor[0] * 360.0,
                                  maxval=self.factor[1] * 360.0)

    def _matrices(self, images, angles):
        height, width = self._size(images)
        theta = angles * (math.pi / 180.0)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        cos, sin = jnp.cos(theta), jnp.sin(theta)
        a0, a1, b0, b1 = cos, -sin, sin, cos
        zeros = jnp.zeros_like(theta)
        return jnp.stack([a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1, zeros, zeros], 1)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_AffineLayer):
    """In training, zooms each image about its centre by `1 + factor` per axis (a factor < 0 zooms in).

    Args:
        height_factor: a float `f` (`[-f, f]`) or a pair, in (-1, 1].
        width_factor: the same for the width; `None` zooms both axes alike.
    """

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self._height_range = _factor_pair(height_factor, "height_factor", -1.0, 1.0, low_open=True)
        self._width_range = None if width_factor is None else _factor_pair(
            width_factor, "width_factor", -1.0, 1.0, low_open=True)
        self.height_factor, self.width_factor = height_factor, width_factor

    def _sample(self, key, images):
        """`(batch, 2)` zooms: width, height."""
        k_h, k_w = jax.random.split(key)
        shape = (images.shape[0], 1)
        height = jax.random.uniform(k_h, shape, minval=1.0 + self._height_range[0],
                                    maxval=1.0 + self._height_range[1])
        width = height if self._width_range is None else jax.random.uniform(
            k_w, shape, minval=1.0 + self._width_range[0], maxval=1.0 + self._width_range[1])
        return jnp.concatenate([width, height], 1)

    def _matrices(self, images, zooms):
        height, width = self._size(images)
        zx, zy = zooms[:, 0], zooms[:, 1]
        zeros = jnp.zeros_like(zx)
        return jnp.stack([zx, zeros, (width - 1.0) / 2.0 * (1.0 - zx), zeros, zy,
                          (height - 1.0) / 2.0 * (1.0 - zy), zeros, zeros], 1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomTranslation(_AffineLayer):
    """In training, shifts each image by a random fraction of its height and width.

    Args:
        height_factor, width_factor: a float `f` (shifts in `[-f, f]` of the size) or a
            pair, in [-1, 1]; a positive shift moves the image down (right).
    """

    def __init__(self, height_factor, width_factor, fill_mode="reflect", interpolation="bilinear",
                 seed=None, fill_value=0.0, data_format=None, **kwargs):
        super().__init__(fill_mode, interpolation, seed, fill_value, data_format, **kwargs)
        self._height_range = _factor_pair(height_factor, "height_factor", -1.0, 1.0)
        self._width_range = _factor_pair(width_factor, "width_factor", -1.0, 1.0)
        self.height_factor, self.width_factor = height_factor, width_factor

    def _sample(self, key, images):
        """`(batch, 2)` shifts in pixels: width, height."""
        height, width = self._size(images)
        k_h, k_w = jax.random.split(key)
        shape = (images.shape[0], 1)
        dy = jax.random.uniform(k_h, shape, minval=self._height_range[0], maxval=self._height_range[1])
        dx = jax.random.uniform(k_w, shape, minval=self._width_range[0], maxval=self._width_range[1])
        return jnp.concatenate([dx * width, dy * height], 1)

    def _matrices(self, images, shifts):
        ones, zeros = jnp.ones_like(shifts[:, 0]), jnp.zeros_like(shifts[:, 0])
        return jnp.stack([ones, zeros, -shifts[:, 0], zeros, ones, -shifts[:, 1], zeros, zeros], 1)

    def get_config(self):
        return {**super().get_config(), "height_factor": self.height_factor,
                "width_factor": self.width_factor}


class RandomContrast(_RandomImageLayer):
    """In training, scales each image's deviation from its per-channel mean by a random factor
    in `[1 - lower, 1 + upper]` (one per image, as Keras 3; tf.keras 2 drew one per batch), then
    clips to `value_range`.

    Args:
        factor: a float `f` (`lower = upper = f`, as Keras documents it and tf.keras 2
            does; Keras 3's code takes `lower = 0`) or a pair `(lower, upper)`, in [0, 1].
        value_range: the inputs' `(low, high)`; outputs are clipped to it.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(map(_is_number, factor)):
            lower, upper = float(factor[0]), float(factor[1])
        elif _is_number(factor):
            lower = upper = float(factor)
        else:
            raise ValueError(f"RandomContrast `factor` must be a float or a pair of floats in [0, 1]; "
                             f"received factor={factor!r}.")
        if lower < 0.0 or upper < 0.0 or lower > 1.0:
            raise ValueError("`factor` argument cannot have negative values or values greater than 1. "
                             f"Received: factor={factor}")
        self.factor, self._range = factor, (lower, upper)
        self.value_range = _value_range(value_range)

    def _sample(self, key, images):
        return jax.random.uniform(key, (images.shape[0], 1, 1, 1), minval=1.0 - self._range[0],
                                  maxval=1.0 + self._range[1])

    def _transform(self, images, sample):
        h_axis, w_axis = _hw_axes(self.data_format)
        mean = jnp.mean(jnp.mean(images, axis=h_axis, keepdims=True), axis=w_axis, keepdims=True)
        outputs = (images - mean) * sample.astype(images.dtype) + mean
        return jnp.clip(outputs, self.value_range[0], self.value_range[1])

    def get_config(self):
        return _without_defaults({**super().get_config(), "factor": self.factor,
                                  "value_range": self.value_range}, value_range=[0, 255])


def _value_range(value_range):
    if not (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(map(_is_number, value_range))):
        raise ValueError("The `value_range` argument should be a list of two numbers. "
                         f"Received: value_range={value_range!r}")
    return sorted(value_range)


class RandomBrightness(_RandomImageLayer):
    """In training, adds to each image a random `delta * (high - low)` of `value_range`, then clips to it.

    Args:
        factor: a float `f` (`delta` in `[-f, f]`) or a pair, in [-1, 1]; -1 makes
            the image black, 1 white.
        value_range: the inputs' `(low, high)`.
    """

    def __init__(self, factor, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, "factor", -1.0, 1.0)
        self.value_range = _value_range(value_range)

    def _sample(self, key, images):
        delta = jax.random.uniform(key, (images.shape[0], 1, 1, 1), minval=self.factor[0],
                                   maxval=self.factor[1])
        return delta * (self.value_range[1] - self.value_range[0])

    def _transform(self, images, sample):
        return jnp.clip(images + sample.astype(images.dtype), self.value_range[0], self.value_range[1])

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class _RandomSize(_RandomImageLayer):
    """tf.keras 2's RandomHeight/RandomWidth: one axis resized by a random `1 + factor` per batch.

    The output size changes every step, which an XLA program (static shapes) cannot do: these
    layers run eagerly, on arrays (the data pipeline, where Keras 3 puts them); in a compiled
    training step they raise an error that says so.
    """

    _axis = None  # "height" or "width"

    def __init__(self, factor, interpolation="bilinear", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        name = f"{self._axis}_factor"
        if isinstance(factor, (tuple, list)) and len(factor) == 2 and all(map(_is_number, factor)):
            lower, upper = float(factor[0]), float(factor[1])
        elif _is_number(factor):
            lower, upper = -float(factor), float(factor)
        else:
            raise ValueError(f"{type(self).__name__} `factor` must be a float or a pair of floats; "
                             f"received factor={factor!r}.")
        if upper < lower:
            raise ValueError(f"`factor` argument cannot have an upper bound lesser than the lower "
                             f"bound. Received: factor={factor}")
        if lower < -1.0 or upper < -1.0:
            raise ValueError(f"`factor` argument must have values larger than -1. Received: "
                             f"factor={factor} ({name})")
        self.factor, self._range = factor, (lower, upper)
        self.interpolation = _check_choice(interpolation, _RESIZE_METHODS, "interpolation")

    def _sample(self, key, images):
        return jax.random.uniform(key, (), minval=1.0 + self._range[0], maxval=1.0 + self._range[1])

    def _transform(self, images, sample):
        if isinstance(sample, jax.core.Tracer):
            raise ValueError(f"{type(self).__name__} '{self.name}' changes the image {self._axis} every "
                             "training step, and a compiled step needs static shapes: apply it to the "
                             "data before `fit` (call it on arrays), or use RandomZoom, which keeps the size.")
        h_axis, w_axis = _hw_axes(self.data_format)
        size = [images.shape[h_axis], images.shape[w_axis]]
        index = 0 if self._axis == "height" else 1
        size[index] = int(float(sample) * size[index])  # tf.keras truncates the scaled size
        return _resize(images, tuple(size), self.interpolation, data_format=self.data_format)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "interpolation": self.interpolation}


class RandomHeight(_RandomSize):
    """In training, resizes the batch's height by a random `1 + f`, `f` in `factor` (a float `f`
    means `[-f, f]`); the width is kept. Runs on arrays only (see `_RandomSize`)."""

    _axis = "height"


class RandomWidth(_RandomSize):
    """In training, resizes the batch's width by a random `1 + f`, `f` in `factor` (a float `f`
    means `[-f, f]`); the height is kept. Runs on arrays only (see `_RandomSize`)."""

    _axis = "width"

"""Images as files and arrays: `load_img`, `img_to_array`, `array_to_img`, `save_img` (through
Pillow, an optional extra) and `smart_resize` (numpy, the resize tf.keras uses: bilinear with
half-pixel centres, no antialiasing)."""
import io
import os
import pathlib
import warnings

import numpy as np

from jkeras.backend.config import floatx, image_data_format

_PIL_METHODS = ("nearest", "bilinear", "bicubic", "hamming", "box", "lanczos")


def _pil():
    """`PIL.Image`, or an ImportError that says what needs it and how to get it."""
    try:
        from PIL import Image
    except ImportError as error:
        raise ImportError("Reading and writing images needs Pillow: `pip install pillow`.") from error
    return Image


def _data_format(data_format):
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid data_format: {data_format!r}; expected 'channels_first' or "
                         "'channels_last'.")
    return data_format


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image from a 3D array; `scale` maps its range to 0..255 first."""
    data_format = _data_format(data_format)
    image = _pil()
    x = np.asarray(x, dtype=dtype or floatx())
    if x.ndim != 3:
        raise ValueError(f"Expected image array to have rank 3 (single image). Got array with "
                         f"shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        top = np.max(x)
        if top != 0:
            x = x / top
        x = x * 255
    channels = x.shape[2]
    if channels in (3, 4):
        return image.fromarray(x.astype("uint8"), "RGBA" if channels == 4 else "RGB")
    if channels == 1:
        if np.max(x) > 255:  # 16/32-bit grey stays whole
            return image.fromarray(x[:, :, 0].astype("int32"), "I")
        return image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels} (expected 1, 3 or 4).")


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image as a 3D array (height, width, channels), or channels first."""
    data_format = _data_format(data_format)
    x = np.asarray(img, dtype=dtype or floatx())
    if x.ndim == 2:
        x = x[None] if data_format == "channels_first" else x[:, :, None]
    elif x.ndim == 3:
        x = x.transpose(2, 0, 1) if data_format == "channels_first" else x
    else:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Write a 3D array as an image file (format from `file_format` or the file name)."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting to RGB.")
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, grayscale=False, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """A PIL image from a file (path or `io.BytesIO`), converted to `color_mode` and resized to
    `target_size = (height, width)` with a Pillow `interpolation` (`keep_aspect_ratio`: crop the
    centre to the target's aspect ratio first)."""
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"')
        color_mode = "grayscale"
    if color_mode not in ("grayscale", "rgb", "rgba"):
        raise ValueError(f'color_mode must be "grayscale", "rgb", or "rgba"; received {color_mode!r}.')
    if target_size is not None and interpolation not in _PIL_METHODS:
        raise ValueError(f"Invalid interpolation method {interpolation!r} specified. Supported "
                         f"methods are {', '.join(_PIL_METHODS)}")
    image = _pil()
    if isinstance(path, io.BytesIO):
        img = image.open(path)
    elif isinstance(path, (str, bytes, pathlib.Path, os.PathLike)):
        with open(path, "rb") as f:
            img = image.open(io.BytesIO(f.read()))
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path).__name__}")
    wanted = {"grayscale": ("L", "I;16", "I"), "rgba": ("RGBA",), "rgb": ("RGB",)}[color_mode]
    if img.mode not in wanted:
        img = img.convert(wanted[0])
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    resample = getattr(getattr(image, "Resampling", image), interpolation.upper())
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, width * size[1] // size[0])
    crop_w = min(width, height * size[0] // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])


def _resize_axis(x, axis, size, method):
    """`x` resized along `axis` to `size` samples, as tf.image.resize does (half-pixel centres)."""
    n = x.shape[axis]
    if n == size:
        return x
    scale = n / size
    centres = (np.arange(size) + 0.5) * scale
    if method == "nearest":
        return np.take(x, np.minimum(np.floor(centres).astype(np.int64), n - 1), axis=axis)
    position = centres - 0.5
    low = np.floor(position)
    frac = (position - low).astype(np.float32)
    lo = np.clip(low.astype(np.int64), 0, n - 1)
    hi = np.clip(low.astype(np.int64) + 1, 0, n - 1)
    shape = [1] * x.ndim
    shape[axis] = size
    a, b = np.take(x, lo, axis=axis), np.take(x, hi, axis=axis)
    return a + (b - a) * frac.reshape(shape)


def resize_images(x, size, interpolation="bilinear"):
    """Images `(..., height, width, channels)` resized to `size` ('bilinear' or 'nearest'), float32."""
    if interpolation not in ("bilinear", "nearest"):
        raise ValueError(f"interpolation must be 'bilinear' or 'nearest' (the numpy resize jkeras "
                         f"has); received {interpolation!r}.")
    x = np.asarray(x, np.float32)
    x = _resize_axis(x, x.ndim - 3, int(size[0]), interpolation)
    return _resize_axis(x, x.ndim - 2, int(size[1]), interpolation)


def smart_resize(x, size, interpolation="bilinear"):
    """Resize image(s) `(h, w, c)` or `(n, h, w, c)` to `size` without distorting them: the largest
    centred crop of the target's aspect ratio is taken first, then resized (tf.keras's rule)."""
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    x = np.asarray(x)
    if x.ndim not in (3, 4):
        raise ValueError("Expected an image array with shape `(height, width, channels)`, or "
                         f"`(batch_size, height, width, channels)`, but got shape {x.shape}.")
    height, width = x.shape[-3], x.shape[-2]
    target_h, target_w = size
    crop_h = min(height, int(np.float32(width * target_h) / np.float32(target_w)))
    crop_w = min(width, int(np.float32(height * target_w) / np.float32(target_h)))
    top = int(np.float32(height - crop_h) / 2)
    left = int(np.float32(width - crop_w) / 2)
    crop = x[..., top:top + crop_h, left:left + crop_w, :]
    return resize_images(crop, size, interpolation)

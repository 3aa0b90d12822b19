"""Keras 2's single-image transforms of `keras.preprocessing.image`: affine transforms (rotation,
shift, shear, zoom), flips, channel and brightness shifts, each on one image array with its axes
given (`row_axis`, `col_axis`, `channel_axis`), random ones drawing from numpy's global generator.
"""
import numpy as np

from jkeras.preprocessing.affine import affine_matrix
from jkeras.utils.image_utils import array_to_img, img_to_array


def apply_affine_transform(x, theta=0, tx=0, ty=0, shear=0, zx=1, zy=1, row_axis=1, col_axis=2,
                           channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """One 3D image rotated by `theta` degrees, shifted by `(tx, ty)` pixels (rows, columns),
    sheared by `shear` degrees and zoomed by `(zx, zy)`, about its centre (scipy.ndimage)."""
    from scipy import ndimage
    if len({row_axis, col_axis, channel_axis}) != 3:
        raise ValueError("'row_axis', 'col_axis', and 'channel_axis' must be distinct")
    if {row_axis, col_axis, channel_axis} != {0, 1, 2}:
        raise ValueError(f"Invalid axis' indices: {sorted({row_axis, col_axis, channel_axis} - {0, 1, 2})}")
    if x.ndim != 3:
        raise ValueError(f"Input arrays must be multi-channel 2D images; received shape {x.shape}.")
    if channel_axis not in (0, 2):
        raise ValueError("Channels are allowed and the first and last dimensions.")
    matrix = affine_matrix(theta, tx, ty, shear, zx, zy, x.shape[row_axis], x.shape[col_axis],
                           col_axis > row_axis)
    if matrix is None:
        return x
    return apply_transform(x, matrix, channel_axis, fill_mode, cval, order)


def apply_transform(x, transform_matrix, channel_axis=0, fill_mode="nearest", cval=0.0, order=1):
    """One 3D image resampled through a 3x3 homogeneous `transform_matrix` (output pixel to input
    pixel, as `scipy.ndimage.affine_transform` takes it), channel by channel: Keras 2.0-2.1's
    public step under `random_rotation` and the others (`order` 1, linear, as Keras 2.1; 2.0 used 0)."""
    from scipy import ndimage
    channels = np.rollaxis(np.asarray(x), channel_axis, 0)
    out = np.stack([ndimage.affine_transform(c, transform_matrix[:2, :2], transform_matrix[:2, 2],
                                             order=order, mode=fill_mode, cval=cval) for c in channels])
    return np.rollaxis(out, 0, channel_axis + 1)


def flip_axis(x, axis):
    """`x` reversed along `axis`."""
    return np.flip(np.asarray(x), axis)


def random_rotation(x, rg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                    interpolation_order=1):
    """Rotate by an angle drawn uniformly from `[-rg, rg]` degrees."""
    theta = np.random.uniform(-rg, rg)
    return apply_affine_transform(x, theta=theta, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shift(x, wrg, hrg, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shift by fractions of the height (`hrg`) and width (`wrg`) drawn uniformly."""
    h, w = x.shape[row_axis], x.shape[col_axis]
    tx = np.random.uniform(-hrg, hrg) * h
    ty = np.random.uniform(-wrg, wrg) * w
    return apply_affine_transform(x, tx=tx, ty=ty, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_shear(x, intensity, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                 interpolation_order=1):
    """Shear by an angle drawn uniformly from `[-intensity, intensity]` degrees."""
    shear = np.random.uniform(-intensity, intensity)
    return apply_affine_transform(x, shear=shear, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def random_zoom(x, zoom_range, row_axis=1, col_axis=2, channel_axis=0, fill_mode="nearest", cval=0.0,
                interpolation_order=1):
    """Zoom rows and columns by factors drawn uniformly from `zoom_range` (two floats)."""
    if len(zoom_range) != 2:
        raise ValueError(f"`zoom_range` should be a tuple or list of two floats. Received: {zoom_range}")
    zx, zy = (1, 1) if zoom_range[0] == 1 and zoom_range[1] == 1 else np.random.uniform(
        zoom_range[0], zoom_range[1], 2)
    return apply_affine_transform(x, zx=zx, zy=zy, row_axis=row_axis, col_axis=col_axis,
                                  channel_axis=channel_axis, fill_mode=fill_mode, cval=cval,
                                  order=interpolation_order)


def apply_channel_shift(x, intensity, channel_axis=0):
    """Add `intensity` to every channel, clipped to the image's own min and max."""
    return np.clip(x + intensity, np.min(x), np.max(x))


def random_channel_shift(x, intensity_range, channel_axis=0):
    """`apply_channel_shift` by an intensity drawn uniformly from `[-range, range]`."""
    intensity = np.random.uniform(-intensity_range, intensity_range)
    return apply_channel_shift(x, intensity, channel_axis=channel_axis)


def apply_brightness_shift(x, brightness, scale=True):
    """Brightness scaled by `brightness` through Pillow's `ImageEnhance.Brightness`, as Keras does
    (the image passes through 8-bit values; `scale=False` maps it back to its own range)."""
    return _brightness(x, brightness, scale, None)


def random_brightness(x, brightness_range, scale=True):
    """`apply_brightness_shift` by a factor drawn uniformly from `brightness_range`."""
    if len(brightness_range) != 2:
        raise ValueError(f"`brightness_range should be tuple or list of two floats. Received: "
                         f"{brightness_range}")
    u = np.random.uniform(brightness_range[0], brightness_range[1])
    return apply_brightness_shift(x, u, scale)


def _brightness(image, factor, scale, data_format):
    """The brightness shift of one image (`data_format` None: the configured one)."""
    try:
        from PIL import ImageEnhance
    except ImportError as error:
        raise ImportError("Brightness shifts need Pillow: `pip install pillow`.") from error
    x_min, x_max = np.min(image), np.max(image)
    local = x_min < 0 or x_max > 255
    img = ImageEnhance.Brightness(array_to_img(image, data_format, scale=local or scale)).enhance(factor)
    out = img_to_array(img, data_format)
    return out / 255 * (x_max - x_min) + x_min if not scale and local else out

"""Keras 2's `keras.preprocessing.image`: `ImageDataGenerator` (real-time augmentation), its
iterators over arrays, folders and data frames, and the single-image transforms.

Random parameters are drawn from numpy's global generator in Keras's order (one image after the
other, the same draws per image), so the same `seed` gives tf.keras's transforms. They are then
applied to the whole batch at once: the affine resampling (what Keras did with one
`scipy.ndimage.affine_transform` call per image and channel) is one vectorised gather for the
batch, with the same result (`interpolation_order` 0 or 1 and fill modes 'nearest', 'constant',
'reflect', 'wrap'; other orders and modes go through scipy per image, as Keras did).
"""
import warnings

import numpy as np

from jkeras.backend.config import floatx, image_data_format
from jkeras.preprocessing.affine import (BATCHED_MODES, affine_matrices, sample_batch,  # noqa: F401
                                         transform_matrix_offset_center)
# Keras 2's `keras.preprocessing.image` holds the iterators, the transforms and the image utilities
# too: they are re-exported here (see __all__).
from jkeras.preprocessing.image_iterators import (BatchFromFilesMixin, DataFrameIterator,  # noqa: F401
                                                  DirectoryIterator, Iterator, NumpyArrayIterator,
                                                  list_pictures)
from jkeras.preprocessing.image_transforms import (_brightness, apply_affine_transform,  # noqa: F401
                                                   apply_brightness_shift, apply_channel_shift,
                                                   apply_transform, flip_axis, random_brightness,
                                                   random_channel_shift, random_rotation, random_shear,
                                                   random_shift, random_zoom)
from jkeras.utils.image_utils import (array_to_img, img_to_array, load_img, save_img,  # noqa: F401
                                      smart_resize)


class ImageDataGenerator:
    """Batches of augmented images: random rotations, shifts, shears, zooms, flips, channel and
    brightness shifts, then standardisation (rescale, sample- and feature-wise centring and
    normalisation, ZCA whitening), with tf.keras 2's arguments and random draws."""

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-06, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0, zoom_range=0.0,
                 channel_shift_range=0.0, fill_mode="nearest", cval=0.0, horizontal_flip=False,
                 vertical_flip=False, rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        data_format = image_data_format() if data_format is None else data_format
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError('`data_format` should be `"channels_last"` (channel after row and '
                             'column) or `"channels_first"` (channel before row and column). '
                             f"Received: {data_format}")
        if validation_split and not 0 < validation_split < 1:
            raise ValueError(f"`validation_split` must be strictly between 0 and 1.  Received: "
                             f"{validation_split}")
        if isinstance(zoom_range, (float, int)):
            zoom = [1 - zoom_range, 1 + zoom_range]
        elif len(zoom_range) == 2 and all(isinstance(v, (float, int)) for v in zoom_range):
            zoom = [zoom_range[0], zoom_range[1]]
        else:
            raise ValueError(f"`zoom_range` should be a float or a tuple or list of two floats. "
                             f"Received: {zoom_range}")
        if brightness_range is not None and (not isinstance(brightness_range, (tuple, list))
                                             or len(brightness_range) != 2):
            raise ValueError(f"`brightness_range should be tuple or list of two floats. Received: "
                             f"{brightness_range}")
        self.featurewise_center, self.samplewise_center = featurewise_center, samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening, self.zca_epsilon = zca_whitening, zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range, self.height_shift_range = width_shift_range, height_shift_range
        self.shear_range, self.zoom_range = shear_range, zoom
        self.channel_shift_range, self.brightness_range = channel_shift_range, brightness_range
        self.fill_mode, self.cval = fill_mode, cval
        self.horizontal_flip, self.vertical_flip = horizontal_flip, vertical_flip
        self.rescale, self.preprocessing_function = rescale, preprocessing_function
        self.dtype = floatx() if dtype is None else dtype
        self.interpolation_order = interpolation_order
        self.data_format = data_format
        self.channel_axis, self.row_axis, self.col_axis = (3, 1, 2) if data_format == "channels_last" else (1, 2, 3)
        self._validation_split = validation_split
        self.mean = self.std = self.zca_whitening_matrix = None
        if zca_whitening:
            if not featurewise_center:
                self.featurewise_center = True
                warnings.warn("This ImageDataGenerator specifies `zca_whitening`, which overrides "
                              "setting of `featurewise_center`.")
            if featurewise_std_normalization:
                self.featurewise_std_normalization = False
                warnings.warn("This ImageDataGenerator specifies `zca_whitening` which overrides "
                              "setting of`featurewise_std_normalization`.")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            warnings.warn("This ImageDataGenerator specifies `featurewise_std_normalization`, which "
                          "overrides setting of `featurewise_center`.")
        if samplewise_std_normalization and not samplewise_center:
            self.samplewise_center = True
            warnings.warn("This ImageDataGenerator specifies `samplewise_std_normalization`, which "
                          "overrides setting of `samplewise_center`.")

    # ------------------------------------------------------------------ iterators
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False, subset=None):
        """A `NumpyArrayIterator` of augmented batches of `x` (with `y`, `sample_weight`)."""
        return NumpyArrayIterator(x, y, self, batch_size=batch_size, shuffle=shuffle,
                                  sample_weight=sample_weight, seed=seed, data_format=self.data_format,
                                  save_to_dir=save_to_dir, save_prefix=save_prefix,
                                  save_format=save_format, ignore_class_split=ignore_class_split,
                                  subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                            save_to_dir=None, save_prefix="", save_format="png", follow_links=False,
                            subset=None, interpolation="nearest", keep_aspect_ratio=False):
        """A `DirectoryIterator` over a folder with one subfolder of images per class."""
        return DirectoryIterator(directory, self, target_size=target_size, color_mode=color_mode,
                                 keep_aspect_ratio=keep_aspect_ratio, classes=classes,
                                 class_mode=class_mode, data_format=self.data_format,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, follow_links=follow_links, subset=subset,
                                 interpolation=interpolation, dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class",
                            weight_col=None, target_size=(256, 256), color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                            save_to_dir=None, save_prefix="", save_format="png", subset=None,
                            interpolation="nearest", validate_filenames=True, **kwargs):
        """A `DataFrameIterator` over the image files a pandas DataFrame lists."""
        for old, note in (("has_ext", "filenames in the dataframe have to match the exact filenames on disk"),
                          ("sort", "batches follow the order of the dataframe when shuffle=False"),
                          ("drop_duplicates", "use the pandas.DataFrame.drop_duplicates method")):
            if old in kwargs:
                warnings.warn(f"{old} is deprecated: {note}.", DeprecationWarning)
        if class_mode == "other":
            warnings.warn('`class_mode` "other" is deprecated, please use `class_mode` "raw".',
                          DeprecationWarning)
            class_mode = "raw"
        return DataFrameIterator(dataframe, directory, self, x_col=x_col, y_col=y_col,
                                 weight_col=weight_col, target_size=target_size, color_mode=color_mode,
                                 classes=classes, class_mode=class_mode, data_format=self.data_format,
                                 batch_size=batch_size, shuffle=shuffle, seed=seed,
                                 save_to_dir=save_to_dir, save_prefix=save_prefix,
                                 save_format=save_format, subset=subset, interpolation=interpolation,
                                 validate_filenames=validate_filenames, dtype=self.dtype)

    # ------------------------------------------------------------ standardisation
    def standardize(self, x):
        """`x` (one image, or a batch taken as one sample, as Keras does) normalised in place."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        return self._standardize(x, None)

    def _standardize(self, x, axes):
        """Rescale, centre and normalise; the sample-wise statistics over `axes` (None: all)."""
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, axis=axes, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, axis=axes, keepdims=True) + 1e-06
        for flag, value, what in ((self.featurewise_center, self.mean, "featurewise_center"),
                                  (self.featurewise_std_normalization, self.std,
                                   "featurewise_std_normalization"),
                                  (self.zca_whitening, self.zca_whitening_matrix, "zca_whitening")):
            if flag and value is None:
                warnings.warn(f"This ImageDataGenerator specifies `{what}`, but it hasn't been fit "
                              "on any training data. Fit it first by calling `.fit(numpy_data)`.")
        if self.featurewise_center and self.mean is not None:
            x -= self.mean
        if self.featurewise_std_normalization and self.std is not None:
            x /= self.std + 1e-06
        if self.zca_whitening and self.zca_whitening_matrix is not None:
            flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
            x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    # ------------------------------------------------------------ random transforms
    def get_random_transform(self, img_shape, seed=None):
        """The random parameters for one image of `img_shape`, drawn in tf.keras's order."""
        rows, cols = img_shape[self.row_axis - 1], img_shape[self.col_axis - 1]
        if seed is not None:
            np.random.seed(seed)
        theta = np.random.uniform(-self.rotation_range, self.rotation_range) if self.rotation_range else 0
        tx = self._shift(self.height_shift_range, rows)
        ty = self._shift(self.width_shift_range, cols)
        shear = np.random.uniform(-self.shear_range, self.shear_range) if self.shear_range else 0
        if self.zoom_range[0] == 1 and self.zoom_range[1] == 1:
            zx, zy = 1, 1
        else:
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = np.random.uniform(-self.channel_shift_range,
                                                        self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift_intensity, "brightness": brightness}

    @staticmethod
    def _shift(shift_range, size):
        """A shift in pixels: from a list/int of choices (times a random sign), else uniform; a
        range below 1 is a fraction of `size` (Keras's rule, ints included)."""
        if not shift_range:
            return 0
        if isinstance(shift_range, float):  # np.random.choice would refuse it before drawing
            shift = np.random.uniform(-shift_range, shift_range)
            return shift * size if shift_range < 1 else shift
        try:
            shift = np.random.choice(shift_range)
            shift *= np.random.choice([-1, 1])
        except ValueError:
            shift = np.random.uniform(-shift_range, shift_range)
        if np.max(shift_range) < 1:
            shift *= size
        return shift

    def apply_transform(self, x, transform_parameters):
        """One image (rank 3, the generator's data format) transformed by `transform_parameters`."""
        return self._transform_batch(np.asarray(x)[None], [transform_parameters])[0]

    def random_transform(self, x, seed=None):
        """One image transformed by freshly drawn parameters."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))

    def transform_batch(self, x):
        """A batch augmented and standardised as the iterators give it: parameters drawn image
        after image (tf.keras's draws), then applied to the whole batch at once."""
        x = np.array(x, dtype=self.dtype)
        if self.preprocessing_function:  # it may draw numbers too: keep Keras's order exactly
            for i in range(len(x)):
                params = self.get_random_transform(x[i].shape)
                x[i] = self.standardize(self._transform_batch(x[i:i + 1], [params])[0])
            return x
        params = [self.get_random_transform(x.shape[1:]) for _ in range(len(x))]
        return self._standardize(self._transform_batch(x, params), tuple(range(1, x.ndim)))

    def _transform_batch(self, x, params):
        """`x` (N, ...) transformed image by image by `params`, vectorised over the batch."""
        last = self.data_format == "channels_last"
        images = np.array(x if last else np.moveaxis(x, 1, -1), dtype=x.dtype if x.dtype.kind == "f" else self.dtype)
        h, w = images.shape[1:3]
        values = np.array([[p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                            p.get("zx", 1), p.get("zy", 1)] for p in params], np.float64).reshape(-1, 6)
        moving = np.flatnonzero(np.any(values != [0, 0, 0, 0, 1, 1], axis=1))
        if len(moving) and self.interpolation_order in (0, 1) and self.fill_mode in BATCHED_MODES:
            matrices = affine_matrices(*values[moving].T, h, w)
            images[moving] = sample_batch(images[moving], matrices, self.interpolation_order,
                                          self.fill_mode, self.cval)
        else:
            for i in moving:
                p = params[i]
                images[i] = apply_affine_transform(
                    images[i], p.get("theta", 0), p.get("tx", 0), p.get("ty", 0), p.get("shear", 0),
                    p.get("zx", 1), p.get("zy", 1), row_axis=0, col_axis=1, channel_axis=2,
                    fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        shifted = [i for i, p in enumerate(params) if p.get("channel_shift_intensity") is not None]
        if shifted:
            part = images[shifted]
            low = part.min(axis=(1, 2, 3), keepdims=True)
            high = part.max(axis=(1, 2, 3), keepdims=True)
            amount = np.array([params[i]["channel_shift_intensity"] for i in shifted])[:, None, None, None]
            images[shifted] = np.clip(part + amount.astype(part.dtype), low, high)
        for i, p in enumerate(params):
            if p.get("flip_horizontal", False):
                images[i] = images[i, :, ::-1]
            if p.get("flip_vertical", False):
                images[i] = images[i, ::-1]
            if p.get("brightness") is not None:
                images[i] = _brightness(images[i], p["brightness"], False, "channels_last")
        return images if last else np.moveaxis(images, -1, 1)

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Compute the feature-wise mean, std and ZCA matrix of the images `x` (rank 4)."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4. Got array with shape: {x.shape}")
        if x.shape[self.channel_axis] not in (1, 3, 4):
            warnings.warn(f"Expected input to be images (as Numpy array) following the data format "
                          f'convention "{self.data_format}" (channels on axis {self.channel_axis}), '
                          f"i.e. expected either 1, 3 or 4 channels on axis {self.channel_axis}. "
                          f"However, it was passed an array with shape {x.shape} "
                          f"({x.shape[self.channel_axis]} channels).")
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = np.concatenate([np.stack([self.random_transform(image) for image in x])
                                for _ in range(rounds)]).astype(self.dtype)
        shape = [1, 1, 1]
        shape[self.channel_axis - 1] = x.shape[self.channel_axis]
        axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=axes), shape)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=axes), shape)
            x /= self.std + 1e-06
        if self.zca_whitening:
            flat = np.reshape(x, (len(x), -1))
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            self.zca_whitening_matrix = (u * (np.sqrt(len(x)) / (s + self.zca_epsilon))).dot(u.T)


__all__ = ["DirectoryIterator", "ImageDataGenerator", "Iterator", "NumpyArrayIterator",
           "apply_affine_transform", "apply_brightness_shift", "apply_channel_shift", "apply_transform",
           "array_to_img", "list_pictures",
           "img_to_array", "load_img", "random_brightness", "random_channel_shift", "random_rotation",
           "random_shear", "random_shift", "random_zoom", "save_img", "smart_resize",
           "transform_matrix_offset_center"]

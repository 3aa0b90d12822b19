"""Numeric preprocessing layers: Rescaling and Normalization, with Keras 3's numerics and weights.

Both sit at the bottom of image models (EfficientNet, ResNetRS, ...), so a model
carries its own input scaling and a Keras `.h5` file of it loads unchanged.
"""
import math

import jax.numpy as jnp
import numpy as np

from jkeras.backend import config
from jkeras.layers.base import Layer


class Rescaling(Layer):
    """Rescales the inputs: `inputs * scale + offset`, in the layer's compute dtype.

    Args:
        scale: a float, or one value per channel (a list), multiplied in.
        offset: a float, or one value per channel, added after scaling.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        for what, value in (("scale", scale), ("offset", offset)):
            try:
                np.asarray(value, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"Rescaling `{what}` must be a number or a list of numbers; "
                                 f"received {what}={value!r}.") from None
        self.scale = scale
        self.offset = offset
        self.supports_masking = True

    def _per_channel(self, value, dtype):
        value = jnp.asarray(value, dtype)
        # Keras 3 aligns a per-channel value with the channel axis of channels_first images.
        if value.ndim > 0 and config.image_data_format() == "channels_first":
            value = value.reshape(value.shape + (1,) * (3 - value.ndim))
        return value

    def apply(self, params, state, inputs, *, training=False, key=None):
        dtype = self.compute_dtype
        scale, offset = self._per_channel(self.scale, dtype), self._per_channel(self.offset, dtype)
        return jnp.asarray(inputs).astype(dtype) * scale + offset, state

    def get_config(self):
        return {**super().get_config(), "scale": _plain(self.scale), "offset": _plain(self.offset)}


class Normalization(Layer):
    """Shifts and scales inputs to mean 0, variance 1: `(x - mean) / max(sqrt(variance), epsilon)`.

    `mean` and `variance` are given, or computed from data by `adapt()`; they
    hold one value per position of the kept `axis` dims and broadcast over the
    others. Without them the layer has the non-trainable weights `mean`,
    `variance` (shaped as the kept dims) and `count`, as Keras writes them.

    Args:
        axis: the axis or axes to keep (one mean per position along them);
            None normalizes with a single mean and variance.
        mean, variance: fixed statistics (both or neither), broadcast to the
            kept dims.
        invert: apply the inverse, `mean + x * max(sqrt(variance), epsilon)`.

    Input shape: any, with known dims at `axis`. Output shape: same as input.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        elif isinstance(axis, (list, tuple)) and all(isinstance(a, int) for a in axis):
            axis = tuple(axis)
        else:
            raise TypeError(f"Normalization `axis` must be an int, a list of ints or None; "
                            f"received axis={axis!r}.")
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be "
                             f"set. Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have "
                                 f"the same shape. Received: mean shape {np.shape(mean)} and "
                                 f"variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(axis):
                raise ValueError("The rank of `mean` must be less than or equal to the number of "
                                 f"axes ({len(axis)}). Received: mean shape {np.shape(mean)} for "
                                 f"axis {axis}")
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = bool(invert)
        self.supports_masking = True

    def _keep_axis(self, ndim):
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError("All `axis` values must be in the range [-ndim, ndim). Received "
                             f"inputs with ndim={ndim}, while axis={self.axis}")
        return tuple(sorted(a % ndim for a in self.axis))

    def _check_input_compatible(self, inputs):
        self._keep_axis(len(inputs.shape))

    def init(self, key, input_shape):
        keep = self._keep_axis(len(input_shape))
        unknown = [d for d in keep if input_shape[d] is None]
        if unknown:
            raise ValueError(f"All `axis` values to be kept must have a known shape. Received "
                             f"axis={self.axis}, inputs.shape={tuple(input_shape)}, with unknown "
                             f"axis at index {unknown[0]}")
        if self.input_mean is not None:
            return {}, {}
        shape = tuple(input_shape[d] for d in keep)
        return {}, {"mean": jnp.zeros(shape, self.dtype), "variance": jnp.ones(shape, self.dtype),
                    "count": jnp.zeros((), jnp.int32)}

    def _statistics(self, state, ndim, dtype):
        """`(mean, variance)` shaped to broadcast against an input of rank `ndim`."""
        keep = self._keep_axis(ndim)
        if self.input_mean is None:
            mean, variance = state["mean"], state["variance"]
            shape = [1] * ndim
            for d, size in zip(keep, mean.shape):
                shape[d] = size
            return mean.astype(dtype).reshape(shape), variance.astype(dtype).reshape(shape)
        mean = np.asarray(self.input_mean, np.float64)
        variance = np.asarray(self.input_variance, np.float64)
        shape = [1] * ndim
        for i in range(1, mean.ndim + 1):  # the given values fill the last kept axes
            shape[keep[-i]] = mean.shape[-i]
        return (jnp.asarray(mean.reshape(shape), dtype),
                jnp.asarray(variance.reshape(shape), dtype))

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = jnp.asarray(inputs).astype(self.compute_dtype)
        mean, variance = self._statistics(state, x.ndim, x.dtype)
        scale = jnp.maximum(jnp.sqrt(variance), config.epsilon())
        if self.invert:
            return mean + x * scale, state
        return (x - mean) / scale, state

    def adapt(self, data):
        """Compute `mean` and `variance` of `data` over every axis but `axis`, as Keras 3 does.

        Args:
            data: a numpy or JAX array (one batch), or an iterable of such
                batches (their statistics are combined batch by batch).
        """
        if self.input_mean is not None:
            raise ValueError("`adapt()` cannot be used on a Normalization layer created with "
                             "`mean` and `variance`.")
        batches = _batches(data)
        first = batches[0]
        if not self.built:
            self._ensure_built(tuple(first.shape))
        keep = self._keep_axis(first.ndim)
        expected = self.mean.shape
        reduce_axis = tuple(d for d in range(first.ndim) if d not in keep)
        total_mean = total_var = None
        total_count = 0
        for batch in batches:
            got = tuple(batch.shape[d] for d in keep) if batch.ndim == first.ndim else None
            if got != tuple(expected):
                raise ValueError(f"adapt() got data of shape {tuple(batch.shape)}; the layer keeps "
                                 f"axis {self.axis} with sizes {tuple(expected)}.")
            if len(batches) == 1:
                total_mean, total_var = np.mean(batch, reduce_axis), np.var(batch, reduce_axis)
                break
            batch_mean, batch_var = np.mean(batch, reduce_axis), np.var(batch, reduce_axis)
            count = math.prod(batch.shape[d] for d in reduce_axis) if reduce_axis else 1
            if total_mean is None:
                total_mean, total_var = np.zeros_like(batch_mean), np.zeros_like(batch_var)
            total_count += count
            weight = float(count) / total_count
            new_mean = total_mean * (1.0 - weight) + batch_mean * weight
            total_var = ((total_var + (total_mean - new_mean) ** 2) * (1.0 - weight)
                         + (batch_var + (batch_mean - new_mean) ** 2) * weight)
            total_mean = new_mean
        self.mean.assign(np.asarray(total_mean, self.mean.dtype))
        self.variance.assign(np.asarray(total_var, self.variance.dtype))

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "invert": self.invert,
                "mean": _plain(self.input_mean), "variance": _plain(self.input_variance)}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        if isinstance(config_.get("axis"), list):
            config_["axis"] = tuple(config_["axis"])
        return cls(**config_)


def _plain(value):
    """A number or nested list (no numpy types), as a JSON config holds it."""
    return None if value is None else np.asarray(value).tolist()


def _batches(data):
    """`data` as a list of numpy batches: one array, or each batch of an iterable (as float32)."""
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        batches = [data]
    elif hasattr(data, "__iter__") and not isinstance(data, (str, bytes, dict)):
        batches = list(data)
        if not batches:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least "
                             "one batch, e.g. layer.adapt([x]).")
    else:
        raise TypeError(f"adapt() expects an array or an iterable of arrays; received "
                        f"{type(data).__name__}.")
    for batch in batches:
        if not hasattr(batch, "shape"):
            raise TypeError("adapt() expects an iterable that yields arrays; got an element of "
                            f"type {type(batch).__name__}.")
    if len(batches) == 1:  # Keras reduces one array in its own dtype
        return [np.asarray(batches[0])]
    return [np.asarray(batch, dtype=np.float32) for batch in batches]

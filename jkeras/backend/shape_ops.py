"""Keras 2's shape and dtype `K` functions: shapes, reshapes, joins, padding, gathering, resizing."""
import builtins

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend.config import floatx, image_data_format
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.symbolic import op

_RESIZE_METHODS = {"nearest": None, "bilinear": "linear", "bicubic": "cubic", "lanczos3": "lanczos3",
                   "lanczos5": "lanczos5", "area": None}


def _cubic_weights(n_in, factor):
    """`(n_in * factor, n_in)` weights of TF's bicubic upsampling: Keys' kernel (a = -0.5) at
    half-pixel centres, its offsets rounded to TF's 1/1024 table, taps past an edge dropped
    and the rest renormalised."""
    def keys(t):
        return np.where(t <= 1, (1.5 * t - 2.5) * t * t + 1, ((-0.5 * t + 2.5) * t - 4) * t + 2)
    weights = np.zeros((n_in * factor, n_in))
    for out in range(n_in * factor):
        centre = (out + 0.5) / factor - 0.5
        base = int(np.floor(centre))
        delta = np.rint((centre - base) * 1024) / 1024
        taps = [(base - 1, 1 + delta), (base, delta), (base + 1, 1 - delta), (base + 2, 2 - delta)]
        inside = [(tap, keys(dist)) for tap, dist in taps if 0 <= tap < n_in]
        total = sum(w for _, w in inside)
        for tap, w in inside:
            weights[out, tap] += w / total
    return weights


def _shape(x):
    return tuple(x.shape)


_recorded_shape = op(_shape)  # records itself as `K.shape`, which a saved graph calls again


def shape(x):
    """The shape as a tuple (JAX shapes are static, so `K.shape(x)[0]` is an int inside a step).
    A symbolic tensor with unknown dims gets a recorded shape (symbolic tensors, the sizes at run
    time), as TF's `tf.shape` does, so graph code like `K.prod(K.cast(K.shape(x), 'float32'))` runs."""
    if isinstance(x, KerasTensor) and None in tuple(x.shape):
        return _recorded_shape(x)
    return _shape(x)


def int_shape(x):
    """The shape as a tuple of ints (None where unknown), or None for a non-tensor."""
    found = getattr(x, "shape", None)
    return None if found is None else tuple(found)


def get_variable_shape(x):
    """Keras 2.3's name for `int_shape`."""
    return int_shape(x)


def is_tensor(x):
    """Whether `x` is an array, a traced value or a symbolic tensor (not a variable)."""
    return isinstance(x, (jax.Array, KerasTensor))


def is_placeholder(x):
    """Whether `x` is a symbolic input (an `Input` or `K.placeholder` tensor)."""
    return isinstance(x, KerasTensor) and (x._keras_history is None or not x.node.parent_tensors)


def ndim(x):
    return len(x.shape)


def dtype(x):
    """The dtype's name, e.g. 'float32'."""
    return str(x.dtype)


def is_keras_tensor(x):
    """Whether `x` is a symbolic tensor of a model graph (made by `Input` or a layer)."""
    return isinstance(x, KerasTensor)


def cast_to_floatx(x):
    """`x` as a numpy array of floatx."""
    return np.asarray(x, dtype=floatx())


@op
def size(x, name=None):
    """The number of entries, as an int32 scalar."""
    return jnp.asarray(jnp.size(x), jnp.int32)


@op
def slice(x, start, size):  # noqa: A001  (Keras's name)
    """`x[start[i] : start[i] + size[i]]` on each axis; a size of -1 takes the rest."""
    index = tuple(builtins.slice(b, None if n == -1 else b + n) for b, n in zip(start, size))
    return jnp.asarray(x)[index]


@op
def reshape(x, shape):
    return jnp.reshape(x, tuple(shape))


@op
def permute_dimensions(x, pattern):
    return jnp.transpose(x, tuple(pattern))


@op
def expand_dims(x, axis=-1):
    return jnp.expand_dims(x, axis)


@op
def squeeze(x, axis):
    return jnp.squeeze(x, axis)


@op
def flatten(x):
    return jnp.reshape(x, (-1,))


@op
def batch_flatten(x):
    """`(batch, everything else)`."""
    x = jnp.asarray(x)
    return jnp.reshape(x, (x.shape[0], -1))


@op
def concatenate(tensors, axis=-1):
    return jnp.concatenate([jnp.asarray(t) for t in tensors], axis=axis)


@op
def stack(x, axis=0):
    return jnp.stack([jnp.asarray(t) for t in x], axis=axis)


@op
def tile(x, n):
    return jnp.tile(x, (n,) if isinstance(n, int) else tuple(n))


@op
def repeat(x, n):
    """`(batch, dim)` to `(batch, n, dim)`."""
    x = jnp.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"K.repeat expects a 2D tensor (batch, dim); received shape {x.shape}.")
    return jnp.broadcast_to(x[:, None, :], (x.shape[0], n, x.shape[1]))


@op
def repeat_elements(x, rep, axis):
    """Each slice along `axis` repeated `rep` times, as np.repeat."""
    return jnp.repeat(x, rep, axis=axis)


@op
def reverse(x, axes):
    return jnp.flip(x, axis=(axes,) if isinstance(axes, int) else tuple(axes))


@op
def gather(reference, indices):
    """Rows of `reference` (its first axis) at `indices`."""
    return jnp.take(jnp.asarray(reference), jnp.asarray(indices), axis=0)


@op
def one_hot(indices, num_classes):
    """A float32 one-hot last axis of `num_classes` (out-of-range indices give zeros)."""
    return jax.nn.one_hot(indices, num_classes, dtype=jnp.float32)


def arange(start, stop=None, step=1, dtype="int32"):
    """`range` as an array (a negative `start` alone means an empty range, as tf.keras 2)."""
    if stop is None and start < 0:
        start = 0
    return jnp.arange(start, stop, step).astype(dtype)


def _format(data_format):
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


def _check_pairs(padding, n):
    pairs = [tuple(p) for p in padding]
    if len(pairs) != n or any(len(p) != 2 for p in pairs):
        raise ValueError(f"`padding` must be {n} pairs of ints; received {padding!r}.")
    return pairs


@op
def temporal_padding(x, padding=(1, 1)):
    """Zeros before and after the time axis of `(batch, time, features)`."""
    if len(padding) != 2:
        raise ValueError(f"`padding` must be a pair of ints; received {padding!r}.")
    return jnp.pad(x, ((0, 0), tuple(padding), (0, 0)))


def _spatial_padding(x, padding, data_format, n):
    pairs = _check_pairs(padding, n)
    if _format(data_format) == "channels_first":
        return jnp.pad(x, [(0, 0), (0, 0)] + pairs)
    return jnp.pad(x, [(0, 0)] + pairs + [(0, 0)])


@op
def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    return _spatial_padding(x, padding, data_format, 2)


@op
def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    return _spatial_padding(x, padding, data_format, 3)


@op
def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Spatial dims scaled up by integer factors ('nearest' repeats rows and columns)."""
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid `data_format` argument: {data_format}")
    if interpolation not in _RESIZE_METHODS:
        raise ValueError("`interpolation` argument should be one of: "
                         f'{", ".join(repr(m) for m in _RESIZE_METHODS)}. Received: "{interpolation}".')
    rows = 2 if data_format == "channels_first" else 1
    x = jnp.asarray(x)
    if _RESIZE_METHODS[interpolation] is None:  # integer upscaling: nearest and area both repeat
        return jnp.repeat(jnp.repeat(x, height_factor, axis=rows), width_factor, axis=rows + 1)
    if interpolation == "bicubic":
        for axis, factor in ((rows, height_factor), (rows + 1, width_factor)):
            w = jnp.asarray(_cubic_weights(x.shape[axis], factor), x.dtype)
            x = jnp.moveaxis(jnp.tensordot(x, w, axes=[[axis], [1]]), -1, axis)
        return x
    new_shape = list(x.shape)
    new_shape[rows] *= height_factor
    new_shape[rows + 1] *= width_factor
    return jax.image.resize(x, new_shape, _RESIZE_METHODS[interpolation], antialias=False).astype(x.dtype)


@op
def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """The three spatial dims repeated by integer factors."""
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"Invalid data_format: {data_format}")
    first = 2 if data_format == "channels_first" else 1
    for axis, factor in zip(range(first, first + 3), (depth_factor, height_factor, width_factor)):
        x = jnp.repeat(x, factor, axis=axis)
    return x

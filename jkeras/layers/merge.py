"""Merge layers, called on a list of tensors: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate, Dot, and their functional forms (`add([a, b])` is `Add()([a, b])`).
"""
import functools

import jax
import jax.numpy as jnp

from jkeras.backend import config
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer


def _as_inputs(inputs, min_count=1):
    if not isinstance(inputs, (list, tuple)):
        raise ValueError("A merge layer should be called on a list of inputs. "
                         f"Received: inputs={inputs} (not a list of tensors)")
    if len(inputs) < min_count:
        raise ValueError(f"A merge layer should be called on a list of at least {min_count} input(s). "
                         f"Received {len(inputs)} inputs.")
    return list(inputs)


def _shapes(inputs):
    return [tuple(x.shape) for x in inputs]


def _is_symbolic(tensors):
    return any(isinstance(t, KerasTensor) for t in tensors)


class _Merge(Layer):
    """Base of the element-wise merges: inputs of different ranks are expanded after the batch axis."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check_input_compatible(self, inputs):
        self._check_shapes(_shapes(_as_inputs(inputs)))

    def _check_shapes(self, shapes):
        batch_sizes = {s[0] for s in shapes if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with "
                             f"shapes {shapes}")
        functools.reduce(_broadcast_shape, [s[1:] for s in shapes])

    def apply(self, params, state, inputs, *, training=False, key=None):
        inputs = _as_inputs(inputs)
        self._check_shapes(_shapes(inputs))
        ndim = max(x.ndim for x in inputs)
        inputs = [x.reshape(x.shape[:1] + (1,) * (ndim - x.ndim) + x.shape[1:]) for x in inputs]
        return self._merge(inputs), state

    def _merge(self, inputs):
        raise NotImplementedError

    def compute_mask(self, inputs, mask=None):
        """The OR of the inputs' masks, None unless every input has one (Keras 3)."""
        if mask is None or not isinstance(mask, (list, tuple)) or any(m is None for m in mask):
            return None
        if _is_symbolic(mask):
            return KerasTensor(mask[0].shape, "bool")
        return functools.reduce(jnp.logical_or, mask)


def _broadcast_shape(shape1, shape2):
    """The element-wise result of two shapes without batch axis, aligned on the right; None is unknown."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return shape1
    out = list(shape1[:-len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is not None and j is not None and i != j and 1 not in (i, j):
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
        out.append(None if i is None or j is None else max(i, j) if 1 in (i, j) else i)
    return tuple(out)


class Add(_Merge):
    """Element-wise sum of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(jnp.add, inputs)


class Subtract(_Merge):
    """`inputs[0] - inputs[1]`, for exactly two inputs."""

    def _check_shapes(self, shapes):
        if len(shapes) != 2:
            raise ValueError("A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={shapes}")
        super()._check_shapes(shapes)

    def _merge(self, inputs):
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Element-wise product of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(jnp.multiply, inputs)


class Average(_Merge):
    """Element-wise mean of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(jnp.add, inputs) / len(inputs)


class Maximum(_Merge):
    """Element-wise maximum of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(jnp.maximum, inputs)


class Minimum(_Merge):
    """Element-wise minimum of the inputs."""

    def _merge(self, inputs):
        return functools.reduce(jnp.minimum, inputs)


class Concatenate(Layer):
    """Concatenates the inputs along `axis`; every other dim must match."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def _check_input_compatible(self, inputs):
        self._output_shape(_shapes(_as_inputs(inputs)))

    def _output_shape(self, shapes):
        """The concatenated shape; raises ValueError where the inputs cannot be concatenated."""
        error = ValueError("A `Concatenate` layer requires inputs with matching shapes except for the "
                           f"concatenation axis. Received: input_shape={shapes}")
        if len({len(s) for s in shapes}) != 1 or not -len(shapes[0]) <= self.axis < len(shapes[0]):
            raise error
        axis = self.axis % len(shapes[0])
        out = list(shapes[0])
        for shape in shapes[1:]:
            for i, (a, b) in enumerate(zip(out, shape)):
                if i != axis and a is not None and b is not None and a != b:
                    raise error
                if i != axis and a is None:
                    out[i] = b
            out[axis] = None if out[axis] is None or shape[axis] is None else out[axis] + shape[axis]
        return tuple(out)

    def apply(self, params, state, inputs, *, training=False, key=None):
        inputs = _as_inputs(inputs)
        self._output_shape(_shapes(inputs))
        return jnp.concatenate(inputs, axis=self.axis), state

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks (all-True where missing) concatenated, reduced with `any` over the last axis."""
        if mask is None or not isinstance(mask, (list, tuple)) or all(m is None for m in mask):
            return None
        if _is_symbolic(inputs):
            return KerasTensor(self._output_shape(_shapes(inputs))[:-1], "bool")
        masks = []
        for x, m in zip(inputs, mask):
            if m is None:
                m = jnp.ones(x.shape, bool)
            elif m.ndim < x.ndim:
                m = jnp.broadcast_to(jnp.expand_dims(m, -1), x.shape)
            masks.append(m)
        return jnp.any(jnp.concatenate(masks, axis=self.axis), axis=-1)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """Batch-wise dot product of two inputs along `axes` (an int or one axis per input).

    With `normalize=True` both inputs are L2-normalized along those axes
    first, so the result is their cosine similarity. Output shape: the first
    input's dims without its `axes` dim, then the second's without batch and
    `axes` dims; at least `(batch, 1)`.
    """

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # accepts masked inputs; its output has no mask (compute_mask)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError("Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize

    def _check_input_compatible(self, inputs):
        self._contracted_axes(_shapes(_as_inputs(inputs)))

    def _contracted_axes(self, shapes):
        """The two (non-negative) axes to contract; raises ValueError for incompatible inputs."""
        if len(shapes) != 2:
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={shapes}")
        if min(len(s) for s in shapes) < 2:
            raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                             f"{shapes[0]} and {shapes[1]}.")
        axes = [self.axes] * 2 if isinstance(self.axes, int) else list(self.axes)
        axes = [a % len(s) if -len(s) <= a < len(s) else a for a, s in zip(axes, shapes)]
        if any(not 0 < a < len(s) for a, s in zip(axes, shapes)):
            raise ValueError(f"Cannot perform batch_dot over axes {self.axes} (the batch axis 0 or out of "
                             f"range) for inputs of shapes {shapes[0]} and {shapes[1]}.")
        d1, d2 = shapes[0][axes[0]], shapes[1][axes[1]]
        if d1 is not None and d2 is not None and d1 != d2:
            raise ValueError(f"Incompatible input shapes: axis values {d1} (at axis {axes[0]}) != {d2} "
                             f"(at axis {axes[1]}). Full input shapes: {shapes[0]}, {shapes[1]}")
        return axes

    def apply(self, params, state, inputs, *, training=False, key=None):
        x, y = _as_inputs(inputs)
        a0, a1 = self._contracted_axes(_shapes([x, y]))
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        out = jax.lax.dot_general(x, y, (((a0,), (a1,)), ((0,), (0,))))
        return (out[:, None] if out.ndim == 1 else out), state

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _l2_normalize(x, axis):
    """`x / ||x||` along `axis`, as Keras computes it: `x * min(rsqrt(sum(x**2)), 1 / epsilon)`."""
    inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
    return x * jnp.minimum(inv_norm, 1.0 / config.epsilon())


def add(inputs, **kwargs):
    """Functional form of `Add`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional form of `Subtract`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional form of `Multiply`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional form of `Average`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional form of `Maximum`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional form of `Minimum`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional form of `Concatenate`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of `Dot`."""
    return Dot(axes=axes, **kwargs)(inputs)

"""UnitNormalization: scales each sample to unit L2 norm over `axis`, as Keras 3 computes it."""
import jax
import jax.numpy as jnp

from jkeras.layers.base import Layer


class UnitNormalization(Layer):
    """`x * min(rsqrt(sum(x ** 2, axis)), 1e12)`: each sample scaled to unit L2 norm over `axis`.

    Args:
        axis: an int or a list of ints, the axes the norm is taken over.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int) and not isinstance(axis, bool):
            self.axis = axis
        else:
            raise TypeError("Invalid value for `axis` argument: expected an int or a list/tuple of "
                            f"ints. Received: axis={axis!r}")
        self.supports_masking = True

    def _check_input_compatible(self, inputs):
        ndim = len(inputs.shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"UnitNormalization '{self.name}' has axis={self.axis}, out of bounds "
                             f"for an input of rank {ndim} (shape {tuple(inputs.shape)}).")

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        x = inputs.astype(self.compute_dtype)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        inv_norm = jax.lax.rsqrt(jnp.sum(jnp.square(x), axis=axis, keepdims=True))
        return x * jnp.minimum(inv_norm, 1e12), state  # Keras's epsilon 1e-12 bounds the norm below

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

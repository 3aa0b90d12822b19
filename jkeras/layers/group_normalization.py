"""GroupNormalization: channels split into groups, each normalized over its own values (Keras 3's numerics)."""
import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.backend.random import split_keys
from jkeras.layers._utils import present
from jkeras.layers.base import Layer
from jkeras.layers.normalization import _compute_dtype, _normalize


class GroupNormalization(Layer):
    """Splits the `axis` channels into `groups` and normalizes each group of each sample over
    its channels and every other non-batch axis; then scales by `gamma` and shifts by `beta`.

    `groups=-1` makes one group per channel (instance normalization); `groups=1`
    normalizes over all channels (layer normalization). Weights: `gamma`, `beta`,
    of shape `(channels,)`.

    Input shape: any, with a known `axis` dim divisible by `groups`. Output shape: same as input.
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(groups, int) or isinstance(groups, bool) or not (groups > 0 or groups == -1):
            raise ValueError(f"GroupNormalization `groups` must be a positive int or -1; received {groups!r}.")
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"GroupNormalization `axis` must be an int; received {axis!r}.")
        self.supports_masking = True
        self.groups = groups
        self.axis = axis
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self._regularizers = present(gamma=self.gamma_regularizer, beta=self.beta_regularizer)
        self._constraints = present(gamma=self.gamma_constraint, beta=self.beta_constraint)

    def _check_input_compatible(self, inputs):
        shape = tuple(inputs.shape)
        if not -len(shape) <= self.axis < len(shape) or shape[self.axis] is None:
            raise ValueError(f"GroupNormalization '{self.name}' needs a known dim at axis {self.axis}; "
                             f"received input shape {shape}.")
        dim, groups = shape[self.axis], self._groups(shape[self.axis])
        if dim < groups:
            raise ValueError(f"Number of groups ({groups}) cannot be more than the number of "
                             f"channels ({dim}).")
        if dim % groups:
            raise ValueError(f"Number of groups ({groups}) must be a multiple of the number of "
                             f"channels ({dim}).")

    def _groups(self, dim):
        return dim if self.groups == -1 else self.groups

    def init(self, key, input_shape):
        dim = input_shape[self.axis]
        if self.groups == -1:
            self.groups = dim  # Keras resolves -1 at build, so the config says the count
        k_gamma, k_beta = split_keys(key)
        params = {}
        if self.scale:
            params["gamma"] = self.gamma_initializer(k_gamma, (dim,), self.dtype)
        if self.center:
            params["beta"] = self.beta_initializer(k_beta, (dim,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        self._check_input_compatible(inputs)
        ndim, axis = inputs.ndim, self.axis % inputs.ndim
        dim = inputs.shape[axis]
        groups = self._groups(dim)
        group_shape = list(inputs.shape)
        group_shape[axis:axis + 1] = [groups, dim // groups]
        x = inputs.reshape(group_shape).astype(_compute_dtype(inputs.dtype))
        reduce = tuple(a for a in range(1, ndim + 1) if a != axis)
        broadcast = [1] * (ndim + 1)
        broadcast[axis:axis + 2] = [groups, dim // groups]
        mean = jnp.mean(x, axis=reduce, keepdims=True)
        variance = jnp.var(x, axis=reduce, keepdims=True)
        weight = lambda name: params[name].astype(x.dtype).reshape(broadcast) if name in params else None  # noqa: E731
        outputs = _normalize(x, mean, variance, weight("gamma"), weight("beta"), self.epsilon)
        return outputs.astype(inputs.dtype).reshape(inputs.shape).astype(self.compute_dtype), state

    def get_config(self):
        return {**super().get_config(), "groups": self.groups, "axis": self.axis,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}

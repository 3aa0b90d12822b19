"""Normalization layers: BatchNormalization and LayerNormalization, with Keras 3's numerics."""
import jax
import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.backend import config
from jkeras.layers.base import Layer
from jkeras.layers.collect import row_mask
from jkeras.layers._utils import present
from jkeras.backend.random import split_keys
from jkeras.legacy import interfaces


def _normalize(x, mean, variance, gamma, beta, epsilon):
    """`(x - mean) / sqrt(variance + epsilon) * gamma + beta`, in Keras's operation order."""
    inv = jax.lax.rsqrt(variance + epsilon)
    if gamma is not None:
        inv = inv * gamma
    res = -mean * inv
    if beta is not None:
        res = res + beta
    return x * inv + res


def _compute_dtype(dtype):
    """At least float32: statistics of half-precision inputs are computed in float32."""
    return jnp.result_type(dtype, jnp.float32)


class BatchNormalization(Layer):
    """Normalizes over the batch (and every axis but `axis`), keeping moving statistics for inference.

    In training (and when the layer is trainable) it uses the batch's mean and
    variance and returns the updated state
    `moving = moving * momentum + batch * (1 - momentum)`; otherwise it uses
    the moving statistics. Weights: `gamma`, `beta` (trainable),
    `moving_mean`, `moving_variance` (non-trainable), each of shape
    `(input_shape[axis],)`.

    Input shape: any, with a known `axis` dim. Output shape: same as input.
    """

    @interfaces.legacy_batchnorm_support
    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        kwargs.pop("fused", None)  # a tf.keras 2 speed hint; XLA fuses anyway
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:  # tf.keras 2 configs store [axis]
            axis = axis[0]
        if not isinstance(axis, int):
            raise ValueError(f"BatchNormalization `axis` must be an int; received {axis!r}.")
        if renorm:
            raise ValueError("BatchNormalization(renorm=True) is not supported by jkeras.")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = renorm
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = synchronized  # one global batch under jit: always synchronized
        self.supports_masking = True
        self._regularizers = present(gamma=self.gamma_regularizer, beta=self.beta_regularizer)
        self._constraints = present(gamma=self.gamma_constraint, beta=self.beta_constraint)

    def _check_input_compatible(self, inputs):
        ndim = len(inputs.shape)
        if not -ndim <= self.axis < ndim or inputs.shape[self.axis] is None:
            raise ValueError(f"BatchNormalization '{self.name}' needs a known dim at axis {self.axis}; "
                             f"received input shape {inputs.shape}.")

    def init(self, key, input_shape):
        shape = (input_shape[self.axis],)
        keys = split_keys(key, 4)
        params = {}
        if self.scale:
            params["gamma"] = self.gamma_initializer(keys[0], shape, self.dtype)
        if self.center:
            params["beta"] = self.beta_initializer(keys[1], shape, self.dtype)
        state = {"moving_mean": self.moving_mean_initializer(keys[2], shape, self.dtype),
                 "moving_variance": self.moving_variance_initializer(keys[3], shape, self.dtype)}
        return params, state

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        axis = self.axis % inputs.ndim
        if inputs.shape[axis] != state["moving_mean"].shape[0]:
            raise ValueError(f"BatchNormalization '{self.name}' expects {state['moving_mean'].shape[0]} "
                             f"features at axis {self.axis}; received shape {tuple(inputs.shape)}.")
        mask = None if mask is None else jnp.asarray(mask)
        if mask is not None and mask.ndim != inputs.ndim - 1:
            raise ValueError("The mask provided should be one dimension less than the inputs. "
                             f"Received: mask.shape={mask.shape}, inputs.shape={inputs.shape}")
        x = inputs.astype(_compute_dtype(inputs.dtype))
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]
        cast = lambda v: None if v is None else v.astype(x.dtype).reshape(shape)  # noqa: E731
        gamma, beta = cast(params.get("gamma")), cast(params.get("beta"))
        if training and self.trainable:
            rows = row_mask(x.shape[0])
            mean, variance = (self._moments(x, axis, mask) if rows is None or mask is not None
                              else self._real_row_moments(x, axis, rows))
            state = {"moving_mean": self._update(state["moving_mean"], mean),
                     "moving_variance": self._update(state["moving_variance"], variance)}
            mean, variance = mean.reshape(shape), variance.reshape(shape)
        else:
            mean, variance = cast(state["moving_mean"]), cast(state["moving_variance"])
        outputs = _normalize(x, mean, variance, gamma, beta, self.epsilon)
        return outputs.astype(self.compute_dtype), state

    def _moments(self, x, axis, mask):
        """Batch mean and (biased) variance over every axis but `axis`."""
        axes = tuple(a for a in range(x.ndim) if a != axis)
        if mask is None:
            return jnp.mean(x, axis=axes), jnp.var(x, axis=axes)
        weight = jnp.broadcast_to(jnp.expand_dims(mask, -1), x.shape).astype(bool)
        count = jnp.sum(weight.astype(x.dtype), axes, keepdims=True) + config.epsilon()
        mean = jnp.sum(jnp.where(weight, x, 0), axes, keepdims=True) / count
        variance = jnp.sum(jnp.square(jnp.where(weight, x - mean, 0)), axes, keepdims=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def _real_row_moments(self, x, axis, rows):
        """Batch mean and variance over the real rows of a batch padded up to the compiled
        size (`rows` is 0 on the padding); on a batch without padding, `jnp.mean`/`jnp.var`
        to rounding (an ulp)."""
        axes = tuple(a for a in range(x.ndim) if a != axis)
        weight = rows.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - 1))
        count = jnp.sum(rows.astype(x.dtype)) * (x.size // x.shape[0] // x.shape[axis])
        mean = jnp.sum(x * weight, axes, keepdims=True) / count
        variance = jnp.sum(jnp.square((x - mean) * weight), axes, keepdims=True) / count
        return mean.reshape(-1), variance.reshape(-1)

    def _update(self, moving, batch):
        moving_c = moving.astype(batch.dtype)
        return (moving_c * self.momentum + batch * (1.0 - self.momentum)).astype(moving.dtype)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum,
                "epsilon": self.epsilon, "center": self.center, "scale": self.scale,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
                "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint),
                "synchronized": self.synchronized, "renorm": self.renorm,
                "renorm_clipping": self.renorm_clipping, "renorm_momentum": self.renorm_momentum}


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (an int or a list of ints), then scales by `gamma` and shifts by `beta`.

    Weights: `gamma`, `beta`, shaped like the input's dims at `axis`.
    `rms_scaling=True` (deprecated in Keras 3) divides by the root of the
    variance and uses `gamma` only.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            self.axis = list(axis)
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError("Expected an int or a list/tuple of ints for the argument 'axis', "
                            f"but received: {axis!r}")
        self.epsilon = epsilon
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self._regularizers = present(gamma=self.gamma_regularizer, beta=self.beta_regularizer)
        self._constraints = present(gamma=self.gamma_constraint, beta=self.beta_constraint)

    def _axes(self, ndim):
        """The axes as Keras sorts them (negative ones first): the weights' dims come in this order."""
        axes = sorted(self.axis) if isinstance(self.axis, list) else [self.axis]
        if any(not -ndim <= a < ndim for a in axes):
            raise ValueError(f"Axis {self.axis} is out of bounds for an input of rank {ndim}.")
        return axes

    def _check_input_compatible(self, inputs):
        axes = self._axes(len(inputs.shape))
        if any(inputs.shape[a] is None for a in axes):
            raise ValueError(f"LayerNormalization '{self.name}' needs known dims at axis {self.axis}; "
                             f"received input shape {inputs.shape}.")

    def init(self, key, input_shape):
        shape = tuple(input_shape[a] for a in self._axes(len(input_shape)))
        k_gamma, k_beta = split_keys(key)
        params = {}
        if self.scale or self.rms_scaling:
            params["gamma"] = self.gamma_initializer(k_gamma, shape, self.dtype)
        if self.center and not self.rms_scaling:
            params["beta"] = self.beta_initializer(k_beta, shape, self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        axes = self._axes(inputs.ndim)
        x = inputs.astype(_compute_dtype(inputs.dtype))
        weight_shape = tuple(x.shape[a] for a in axes)
        for name, value in params.items():
            if value.shape != weight_shape:
                raise ValueError(f"LayerNormalization '{self.name}' has {name} of shape {value.shape} "
                                 f"but the input has {weight_shape} at axis {self.axis}.")
        shape = [1] * x.ndim
        for a in axes:
            shape[a] = x.shape[a]
        # Keras reshapes the weights to the broadcast shape as they are, even when its sorted
        # axes put them in another order (axis=[-1, 1]); so do we, to read Keras's weights alike.
        cast = lambda v: None if v is None else v.astype(x.dtype).reshape(shape)  # noqa: E731
        gamma, beta = cast(params.get("gamma")), cast(params.get("beta"))
        variance = jnp.var(x, axis=tuple(axes), keepdims=True)
        if self.rms_scaling:
            outputs = x * jax.lax.rsqrt(variance + self.epsilon)
            outputs = outputs if gamma is None else outputs * gamma
        else:
            mean = jnp.mean(x, axis=tuple(axes), keepdims=True)
            outputs = _normalize(x, mean, variance, gamma, beta, self.epsilon)
        return outputs.astype(self.compute_dtype), state

    def get_config(self):
        # `rms_scaling` only when set: tf.keras 2 does not know the key
        rms = {"rms_scaling": True} if self.rms_scaling else {}
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **rms,
                "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}

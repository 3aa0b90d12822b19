"""Activation layers: Activation, ReLU, LeakyReLU, ThresholdedReLU, PReLU, ELU and Softmax."""
import jax
import jax.numpy as jnp

from jkeras import activations, constraints, initializers, regularizers
from jkeras.layers.base import Layer
from jkeras.layers._utils import present
from jkeras.legacy import interfaces


class Activation(Layer):
    """Applies `activation` (a name or a callable) to its input.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.activation = activations.get(activation)

    def apply(self, params, state, inputs, *, training=False, key=None):
        return self.activation(inputs), state

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


class ReLU(Layer):
    """Rectified linear unit: `x` between `threshold` and `max_value`, `negative_slope * (x - threshold)` below.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError("max_value of a ReLU layer cannot be a negative value. "
                             f"Received: max_value={max_value}")
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError("negative_slope of a ReLU layer cannot be None or a negative value. "
                             f"Received: negative_slope={negative_slope}")
        if threshold is None or threshold < 0.0:
            raise ValueError("threshold of a ReLU layer cannot be None or a negative value. "
                             f"Received: threshold={threshold}")
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        return activations.relu(inputs, alpha=self.negative_slope, max_value=self.max_value,
                                threshold=self.threshold), state

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value,
                "negative_slope": self.negative_slope, "threshold": self.threshold}


class LeakyReLU(Layer):
    """Leaky ReLU: `x` for `x >= 0`, `negative_slope * x` otherwise (Keras 2 called it `alpha`).

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError("The negative_slope value of a Leaky ReLU layer cannot be None or "
                             f"negative value. Expected a float. Received: negative_slope={negative_slope}")
        self.negative_slope = negative_slope
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope), state

    def get_config(self):
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ThresholdedReLU(Layer):
    """Thresholded ReLU (tf.keras 2; Keras 3 dropped it): `x` where `x > theta`, 0 elsewhere.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError("Theta of a Thresholded ReLU layer cannot be None, expecting a float. "
                             f"Received: {theta}")
        if theta < 0:
            raise ValueError("The theta value of a Thresholded ReLU layer should be >=0. "
                             f"Received: {theta}")
        self.theta = float(theta)
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        return jnp.where(inputs > self.theta, inputs, jnp.zeros_like(inputs)), state

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class PReLU(Layer):
    """Parametric ReLU: `x` for `x >= 0`, `alpha * x` otherwise, with a learned `alpha`.

    Input shape: `(batch, ...)`. Output shape: same as input. The weight
    `alpha` has the input's shape without the batch axis, with size 1 along
    each of `shared_axes`.
    """

    @interfaces.legacy_prelu_support
    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]
        self._regularizers = present(alpha=self.alpha_regularizer)
        self._constraints = present(alpha=self.alpha_constraint)

    def init(self, key, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or []:
            shape[axis - 1] = 1
        if any(d is None for d in shape):
            raise ValueError(f"PReLU '{self.name}' needs known dims outside `shared_axes`; "
                             f"received input shape {tuple(input_shape)}.")
        return {"alpha": self.alpha_initializer(key, tuple(shape), self.dtype)}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        alpha = params["alpha"]
        expected = (inputs.ndim - 1 == alpha.ndim and
                    all(a in (1, d) for a, d in zip(alpha.shape, inputs.shape[1:])))
        if not expected:
            raise ValueError(f"PReLU '{self.name}' was built for inputs of shape (None, "
                             f"{', '.join(map(str, alpha.shape))}) up to `shared_axes` "
                             f"{self.shared_axes}; received shape {tuple(inputs.shape)}.")
        return jax.nn.relu(inputs) - alpha * jax.nn.relu(-inputs), state

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes}


class ELU(Layer):
    """Exponential linear unit: `x` for `x >= 0`, `alpha * (exp(x) - 1)` otherwise.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        return activations.elu(inputs, alpha=self.alpha), state

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over `axis` (an int or a list of ints); masked-out entries get 0, as in Keras 3.

    Input shape: any. Output shape: same as input. A `mask` (True keeps) must
    broadcast to the input from the right.
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        if mask is not None:
            mask = jnp.asarray(mask)
            broadcastable = mask.ndim <= inputs.ndim and all(
                m in (1, d) for m, d in zip(mask.shape[::-1], inputs.shape[::-1]))
            if not broadcastable:
                raise ValueError("The `mask` must be broadcastable to `inputs`: each mask dimension "
                                 "must be 1 or match the input's, counted from the right. Received: "
                                 f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}")
            if mask.dtype != jnp.bool_:
                mask = mask > 0.5
            inputs = jnp.where(mask, inputs, -3e4 if inputs.dtype == jnp.float16 else -1e9)
        if isinstance(self.axis, (list, tuple)) and len(self.axis) > 1:
            axis = tuple(self.axis)
            outputs = jnp.exp(inputs - jax.nn.logsumexp(inputs, axis=axis, keepdims=True))
        else:
            axis = self.axis[0] if isinstance(self.axis, (list, tuple)) else self.axis
            outputs = activations.softmax(inputs, axis=axis)
        if mask is not None:
            outputs = jnp.where(mask, outputs, 0.0)
        return outputs, state

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}

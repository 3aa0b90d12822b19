"""SpectralNormalization: a wrapped layer's kernel divided by its largest singular value (power iteration)."""
import jax
import jax.numpy as jnp

from jkeras import initializers
from jkeras.backend.random import split_by_name
from jkeras.layers.base import Layer
from jkeras.layers.wrappers import TimeDistributed
from jkeras.backend import registry


def _unit(x):
    """`x / ||x||` over all entries, as Keras's `normalize(axis=None)`."""
    return x * jnp.minimum(jax.lax.rsqrt(jnp.sum(jnp.square(x))), 1e12)


class SpectralNormalization(Layer):
    """Runs `layer` with its `kernel` (or `embeddings`) divided by the kernel's spectral norm.

    The norm is estimated by `power_iterations` steps of power iteration from the
    non-trainable `vector_u` (shape `(1, kernel.shape[-1])`), which each training
    step updates. As Keras 3 on JAX: in training the wrapped layer computes with
    the normalized kernel (the gradient flows through it) while the stored kernel
    is the raw one the optimizer updates; in inference it uses the stored kernel.

    Weights: the wrapped layer's, then `vector_u`.

    Input shape and output shape: the wrapped layer's.
    """

    def __init__(self, layer, power_iterations=1, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `SpectralNormalization` with a `jkeras.layers.Layer` "
                             f"instance. Received: {layer}")
        if not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError("`power_iterations` should be greater than zero. Received: "
                             f"`power_iterations={power_iterations}`")
        super().__init__(**kwargs)
        self.layer = layer
        self.power_iterations = power_iterations

    def _kernel_name(self):
        names = [w.name for w in self.layer.weights]
        for name in ("kernel", "embeddings"):
            if name in names:
                return name
        raise ValueError(f"{type(self.layer).__name__} object has no attribute 'kernel' nor 'embeddings'")

    def init(self, key, input_shape):
        self.layer._ensure_built(input_shape)
        kernel = self.layer._variables[self._kernel_name()]
        u = initializers.TruncatedNormal(stddev=0.02)(split_by_name(key, "vector_u"),
                                                      (1, kernel.shape[-1]), kernel.dtype)
        name = self.layer.name
        inner_state = self.layer._own_tree(False)
        state = {"vector_u": u, **({name: inner_state} if inner_state else {})}
        return {name: self.layer._own_tree(True)}, state

    def apply(self, params, state, inputs, *, training=False, key=None):
        name, kernel_name = self.layer.name, self._kernel_name()
        inner = dict(params[name])
        new_state = dict(state)
        if training:
            kernel = inner[kernel_name]
            u, normalized = self._normalized(kernel, state["vector_u"])
            zero = jnp.all(kernel == 0)  # Keras keeps an all-zero kernel and its `u` as they are
            new_state["vector_u"] = jnp.where(zero, state["vector_u"], u)
            inner[kernel_name] = jnp.where(zero, kernel, normalized)
        outputs, inner_state = self.layer._run(inner, state.get(name, {}), inputs, training=training,
                                               key=split_by_name(key, name))
        if inner_state:
            new_state[name] = inner_state
        return outputs.astype(inputs.dtype), new_state

    def _normalized(self, kernel, u):
        """`(new u, kernel / sigma)` after `power_iterations` steps."""
        weights = kernel.reshape(-1, kernel.shape[-1])
        for _ in range(self.power_iterations):
            v = _unit(u @ weights.T)
            u = _unit(v @ weights)
        u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
        sigma = (v @ weights) @ u.T
        return u.astype(kernel.dtype), (kernel / sigma.reshape(())).astype(kernel.dtype)

    @property
    def weights(self):
        """The wrapped layer's weights first, then `vector_u`: Keras's `.h5` order (trainable, then not)."""
        return self.layer.weights + [v for v in self._variables.values()]

    def get_config(self):
        return {**super().get_config(),
                "layer": registry.serialize_keras_object(self.layer, "keras.layers"),
                "power_iterations": self.power_iterations}

    from_config = classmethod(TimeDistributed.from_config.__func__)  # the wrapped layer, then the rest

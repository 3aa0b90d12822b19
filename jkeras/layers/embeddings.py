"""Embedding (integer ids to dense vectors) and Masking (skip time steps equal to a value)."""
import jax.numpy as jnp

from jkeras import constraints, initializers, regularizers
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.layers.base import Layer
from jkeras.layers._utils import present
from jkeras.legacy import interfaces


class Embedding(Layer):
    """Maps integer ids in `[0, input_dim)` to rows of the `embeddings` matrix `(input_dim, output_dim)`.

    With `mask_zero=True` id 0 is padding: the layer emits the mask
    `inputs != 0` for the layers after it. `weights=[matrix]` sets the
    initial embeddings (e.g. pretrained vectors). `input_length` (Keras 2) is
    accepted; shapes come from the inputs.

    Input shape: `(batch, ...)` of ids. Output shape: `(batch, ..., output_dim)`.
    """

    @interfaces.legacy_embedding_support
    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, activity_regularizer=None, embeddings_constraint=None,
                 mask_zero=False, input_length=None, weights=None, **kwargs):
        for name, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r} "
                                 f"(of type {type(value).__name__}).")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = mask_zero
        self.input_length = input_length
        if input_length is not None and self._batch_input_shape is None:  # Keras 2: fixes the input
            self._batch_input_shape = (None, input_length)
        self.supports_masking = mask_zero
        self._initial_weights = weights
        self._regularizers = present(embeddings=self.embeddings_regularizer)
        self._constraints = present(embeddings=self.embeddings_constraint)

    def init(self, key, input_shape):
        shape = (self.input_dim, self.output_dim)
        if self._initial_weights is None:
            return {"embeddings": self.embeddings_initializer(key, shape, self.dtype)}, {}
        weights = self._initial_weights
        value = jnp.asarray(weights[0] if isinstance(weights, (list, tuple)) else weights, self.dtype)
        if value.shape != shape:
            raise ValueError(f"Embedding '{self.name}' expects `weights` of shape {shape}; received "
                             f"{value.shape}.")
        return {"embeddings": value}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        ids = inputs if jnp.issubdtype(inputs.dtype, jnp.integer) else inputs.astype(jnp.int32)
        return jnp.take(params["embeddings"], ids, axis=0), state

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        if isinstance(inputs, KerasTensor):
            return KerasTensor(inputs.shape, "bool")
        return jnp.not_equal(inputs, 0)

    def get_config(self):
        config = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                  "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                  "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                  "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                  "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                  "mask_zero": self.mask_zero}
        if self.input_length is not None:
            config["input_length"] = self.input_length
        return config


class Masking(Layer):
    """Masks time steps whose features all equal `mask_value`: their outputs become 0 and the mask says skip.

    Input shape: `(batch, steps, ...features)`. Output shape: same as input;
    the mask is `(batch, steps, ...)`, the input without its last axis.
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.mask_value = mask_value
        self.supports_masking = True

    def apply(self, params, state, inputs, *, training=False, key=None):
        keep = jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1, keepdims=True)
        return jnp.where(keep, inputs, jnp.zeros_like(inputs)), state

    def compute_mask(self, inputs, mask=None):
        if isinstance(inputs, KerasTensor):
            return KerasTensor(inputs.shape[:-1], "bool")
        return jnp.any(jnp.not_equal(inputs, self.mask_value), axis=-1)

    def get_config(self):
        return {**super().get_config(), "mask_value": self.mask_value}

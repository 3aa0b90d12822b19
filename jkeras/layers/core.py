"""Core layers: Input, Dense, Activation, Dropout and the shape-only layers."""
import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend.keras_tensor import KerasTensor, register_symbolic_handler
from jkeras.backend.symbolic import read
from jkeras.layers._utils import present, weight_options_config
from jkeras.layers.base import Layer, batch_size_argument, shape_argument
from jkeras.backend.random import split_keys
from jkeras.legacy import interfaces


class InputLayer(Layer):
    """The layer behind `Input`: it holds the model's entry shape and dtype.

    `input_tensor` (Keras 2's `Input(tensor=t)`) feeds it: a symbolic tensor (say
    `K.concatenate([K.variable(a), K.placeholder(...)])`) or an array. It starts a new
    input, as in Keras 2, so a model built on it lists no layer that made `t`; a graph that
    reaches it from outside that model (a `K.function` of the placeholder) runs the feed."""

    @interfaces.legacy_input_support
    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 input_shape=None, batch_input_shape=None, sparse=False, ragged=False, optional=False,
                 input_tensor=None, **kwargs):
        kwargs.pop("trainable", None)
        if input_tensor is not None and not isinstance(input_tensor, KerasTensor):
            input_tensor = jnp.asarray(read(input_tensor))  # a constant feed: a K.variable's value now
        if input_tensor is not None and dtype is None:
            dtype = np.dtype(input_tensor.dtype).name
        super().__init__(name=name, dtype=dtype, **kwargs)
        shape = shape if shape is not None else input_shape
        if batch_shape is None:
            batch_shape = batch_input_shape
        if batch_shape is None and shape is not None:
            batch_shape = (batch_size_argument(batch_size),) + shape_argument(shape, "shape")
        if batch_shape is None:
            if input_tensor is None:
                raise ValueError("Input needs a `shape` (without the batch dim) or a `batch_shape`.")
            batch_shape = tuple(input_tensor.shape)
        batch_shape = shape_argument(batch_shape, "batch_shape")
        if input_tensor is not None and len(input_tensor.shape) == len(batch_shape):
            # the dims the declared shape leaves open are the feed's (TF's static shape, in Keras 2)
            batch_shape = tuple(f if d is None else d for d, f in zip(batch_shape, input_tensor.shape))
        self._batch_input_shape = batch_shape
        self._fed = input_tensor is not None
        self.built = True
        self.output_tensor = KerasTensor(self._batch_input_shape, self.dtype, name=self.name,
                                         history=(self, 0, 0))
        self._inbound_nodes.append(_InputNode(self, self.output_tensor, input_tensor))
        if isinstance(input_tensor, KerasTensor) and input_tensor._keras_history is not None:
            input_tensor._keras_history[0]._outbound_nodes.append(self._inbound_nodes[0])

    def apply(self, params, state, inputs, *, training=False, key=None):
        return (inputs[0] if self._fed else inputs), state  # a fed input's node has `[feed]` as inputs

    def get_config(self):
        return {"batch_input_shape": list(self._batch_input_shape), "dtype": self.dtype,
                "sparse": False, "ragged": False, "name": self.name}


class _InputNode:
    """The node an `InputLayer` owns: one output, and inbound only the feed of `Input(tensor=t)`."""

    def __init__(self, layer, output, feed=None):
        self.layer, self.kwargs, self.outputs = layer, {}, output
        self.inputs = [] if feed is None else [feed]
        self.parent_tensors = [feed] if isinstance(feed, KerasTensor) else []
        self.device = None


def Input(shape=None, batch_size=None, name=None, dtype=None, batch_shape=None, tensor=None,
          sparse=False, ragged=False, **kwargs):
    """A symbolic input tensor: `Input(shape=(784,))` has shape `(None, 784)`; `tensor=t`
    feeds it from `t` (see `InputLayer`)."""
    return InputLayer(shape=shape, batch_size=batch_size, name=name, dtype=dtype,
                      batch_shape=batch_shape, input_tensor=tensor, **kwargs).output_tensor


def _placeholder(shape, dtype, name):
    """`K.placeholder` on symbolic tensors: an `Input` of the whole (batch included) shape."""
    return Input(batch_shape=shape, dtype=dtype, name=name)


register_symbolic_handler("placeholder", _placeholder)


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)` over the last axis.

    Input shape: `(batch, ..., input_dim)`. Output shape: `(batch, ..., units)`.
    """

    @interfaces.legacy_dense_support
    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(units, (int, np.integer)) or units <= 0:
            raise ValueError(f"Dense `units` must be a positive int; received {units!r}.")
        self.units = int(units)
        self.supports_masking = True  # a time-distributed Dense keeps the sequence mask
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._regularizers = present(kernel=self.kernel_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint, bias=self.bias_constraint)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) < 2 or inputs.shape[-1] is None:
            raise ValueError(f"Dense '{self.name}' needs inputs of rank >= 2 with a known last "
                             f"dim; received shape {inputs.shape}.")

    def init(self, key, input_shape):
        k_kernel, k_bias = split_keys(key)
        params = {"kernel": self.kernel_initializer(k_kernel, (input_shape[-1], self.units), self.dtype)}
        if self.use_bias:
            params["bias"] = self.bias_initializer(k_bias, (self.units,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        kernel = params["kernel"]
        if inputs.shape[-1] != kernel.shape[0]:
            raise ValueError(f"Dense '{self.name}' expects inputs with last dim {kernel.shape[0]}; "
                             f"received shape {tuple(inputs.shape)}.")
        y = jnp.matmul(inputs, kernel)
        if self.use_bias:
            y = y + params["bias"]
        return self.activation(y), state

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                **weight_options_config(self, "kernel", "bias")}



# Keras 2's `keras.layers.core` also held these; jkeras keeps them in other families.
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, (
    "Masking", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Activation",
    "Reshape", "Permute", "Flatten", "RepeatVector", "Lambda", "ActivityRegularization"))

"""Keras 2.0-2.2's deprecated layers (`keras.legacy.layers`): `MaxoutDense`, `Highway`, the
`AtrousConvolution1D/2D` constructors, `Recurrent` and `ConvRecurrent2D` (the abstract base
classes of Keras 2.0's recurrent layers, whose subclasses define one time step in
`step(inputs, states)`), and Keras 1's `Merge`/`merge` of a list of tensors.

Weight names, config keys and the math are Keras 2's (`W`, `b`, `W_carry`, `b_carry`;
`output_dim`, `nb_feature`, `init`, `W_regularizer`, ...), so models saved by Keras 2 with these
layers load, and Keras 2 code subclassing `Recurrent` runs on `K.rnn` (a `jax.lax.scan`).
Each constructor warns, as Keras 2's did, that the layer is deprecated.
"""
import functools
import inspect
import operator
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import activations, constraints, initializers, regularizers
from jkeras import backend as K
from jkeras.backend.config import standardize_data_format
from jkeras.backend.random import split_keys
from jkeras.layers._utils import normalize_padding, normalize_tuple, present
from jkeras.layers.base import InputSpec, Layer
from jkeras.layers.convolutional import Conv1D, Conv2D


def _deprecated(name, instead):
    warnings.warn(f"The `{name}` layer is deprecated (Keras 2 removed it after 06/2017); use {instead}.",
                  stacklevel=3)


def _check_dim(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"`{name}` must be a positive integer; received {value!r}.")
    return int(value)


class _Keras1Dense(Layer):
    """What `MaxoutDense` and `Highway` share: Keras 1's weight arguments (`init`, `W_*`, `b_*`,
    `bias`) and `input_dim`, and inputs of shape `(batch, input_dim)`."""

    def __init__(self, init="glorot_uniform", W_regularizer=None, b_regularizer=None,
                 activity_regularizer=None, W_constraint=None, b_constraint=None, bias=True,
                 input_dim=None, **kwargs):
        if input_dim:
            kwargs["input_shape"] = (input_dim,)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.W_initializer = initializers.get(init)  # not `self.init`: that is the layer's init()
        self.W_regularizer = regularizers.get(W_regularizer)
        self.b_regularizer = regularizers.get(b_regularizer)
        self.W_constraint = constraints.get(W_constraint)
        self.b_constraint = constraints.get(b_constraint)
        self.bias = bool(bias)
        self.input_dim = input_dim
        self.input_spec = InputSpec(ndim=2)
        self._regularizers = present(W=self.W_regularizer, b=self.b_regularizer)
        self._constraints = present(W=self.W_constraint, b=self.b_constraint)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) != 2 or inputs.shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' needs inputs of shape (batch, input_dim) "
                             f"with a known input_dim; received shape {inputs.shape}.")

    def get_config(self):
        return {**super().get_config(), "init": initializers.serialize(self.W_initializer),
                "W_regularizer": regularizers.serialize(self.W_regularizer),
                "b_regularizer": regularizers.serialize(self.b_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "W_constraint": constraints.serialize(self.W_constraint),
                "b_constraint": constraints.serialize(self.b_constraint),
                "bias": self.bias, "input_dim": self.input_dim}


class MaxoutDense(_Keras1Dense):
    """A maxout layer: the element-wise maximum of `nb_feature` affine maps,
    `max_k(inputs @ W[k] + b[k])` (a linear layer: add an `Activation` after it if wanted).

    Input shape: `(batch, input_dim)`. Output shape: `(batch, output_dim)`.
    Weights: `W` `(nb_feature, input_dim, output_dim)`, `b` `(nb_feature, output_dim)`.
    """

    def __init__(self, output_dim, nb_feature=4, init="glorot_uniform", weights=None, W_regularizer=None,
                 b_regularizer=None, activity_regularizer=None, W_constraint=None, b_constraint=None,
                 bias=True, input_dim=None, **kwargs):
        _deprecated("MaxoutDense", "a Dense layer of output_dim * nb_feature units and a max over features")
        super().__init__(init, W_regularizer, b_regularizer, activity_regularizer, W_constraint,
                         b_constraint, bias, input_dim, weights=weights, **kwargs)
        self.output_dim = _check_dim("output_dim", output_dim)
        self.nb_feature = _check_dim("nb_feature", nb_feature)

    def init(self, key, input_shape):
        params = {"W": self.W_initializer(key, (self.nb_feature, input_shape[-1], self.output_dim), self.dtype)}
        if self.bias:
            params["b"] = jnp.zeros((self.nb_feature, self.output_dim), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        y = jnp.einsum("bi,kio->bko", inputs, params["W"])
        if self.bias:
            y = y + params["b"]
        return jnp.max(y, axis=1), state

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "nb_feature": self.nb_feature}


class Highway(_Keras1Dense):
    """A highway layer: `t * activation(x @ W + b) + (1 - t) * x` with the transform gate
    `t = sigmoid(x @ W_carry + b_carry)` (`b_carry` starts at ones).

    Input and output shape: `(batch, input_dim)`.
    Weights: `W`, `W_carry` `(input_dim, input_dim)`, then `b`, `b_carry` `(input_dim,)`.
    """

    def __init__(self, init="glorot_uniform", activation=None, weights=None, W_regularizer=None,
                 b_regularizer=None, activity_regularizer=None, W_constraint=None, b_constraint=None,
                 bias=True, input_dim=None, **kwargs):
        _deprecated("Highway", "two Dense layers and a gate")
        if "transform_bias" in kwargs:
            kwargs.pop("transform_bias")
            warnings.warn("`transform_bias` argument is deprecated and has been removed.", stacklevel=2)
        super().__init__(init, W_regularizer, b_regularizer, activity_regularizer, W_constraint,
                         b_constraint, bias, input_dim, weights=weights, **kwargs)
        self.activation = activations.get(activation)

    def init(self, key, input_shape):
        dim = input_shape[-1]
        k_w, k_carry = split_keys(key)
        params = {"W": self.W_initializer(k_w, (dim, dim), self.dtype),
                  "W_carry": self.W_initializer(k_carry, (dim, dim), self.dtype)}
        if self.bias:
            params["b"] = jnp.zeros((dim,), self.dtype)
            params["b_carry"] = jnp.ones((dim,), self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        carry = inputs @ params["W_carry"]
        y = inputs @ params["W"]
        if self.bias:
            carry, y = carry + params["b_carry"], y + params["b"]
        gate = jax.nn.sigmoid(carry)
        return self.activation(y) * gate + (1 - gate) * inputs, state

    def get_config(self):
        return {**super().get_config(), "activation": activations.serialize(self.activation)}


def _atrous(layer, args, kwargs):
    kwargs["dilation_rate"] = kwargs.pop("atrous_rate", 1)
    warnings.warn(f"The `Atrous{layer.__name__.replace('Conv', 'Convolution')}` layer has been deprecated. "
                  f"Use instead the `{layer.__name__}` layer with the `dilation_rate` argument.", stacklevel=3)
    return layer(*args, **kwargs)


def AtrousConvolution1D(*args, **kwargs):
    """Keras 1's dilated 1D convolution: a `Conv1D` with `dilation_rate=atrous_rate`."""
    return _atrous(Conv1D, args, kwargs)


def AtrousConvolution2D(*args, **kwargs):
    """Keras 1's dilated 2D convolution: a `Conv2D` with `dilation_rate=atrous_rate` (Keras 1's
    `AtrousConvolution2D(filters, rows, cols, ...)` arguments included)."""
    return _atrous(Conv2D, args, kwargs)


AtrousConv1D, AtrousConv2D = AtrousConvolution1D, AtrousConvolution2D  # Keras 2's short names


class Recurrent(Layer):
    """Keras 2.0's abstract base class of recurrent layers, for subclasses written against it.

    A subclass creates its weights in `build(input_shape)` (with `add_weight`), sets
    `self.states` to a list with one entry per state (e.g. `[None, None]` for an LSTM's h and
    c), keeps its output size in `self.units`, and defines `step(inputs, states) -> (output,
    new_states)` for one time step, where `states` are the previous states followed by what
    `get_constants(inputs, training)` returns (dropout masks, say). `preprocess_input(inputs,
    training)` may transform the whole sequence first. This class runs `step` over time with
    `K.rnn` (compiled as a `jax.lax.scan`; a Python loop with `unroll=True`), honouring a mask,
    `go_backwards`, `return_sequences`, `return_state` and an `initial_state`.

    `stateful=True` is not supported: use `RNN(cell, stateful=True)` with a cell that has the
    same `step` as its `call`.

    Input shape: `(batch, timesteps, input_dim)`. Output shape: `(batch, units)`, or
    `(batch, timesteps, units)` with `return_sequences`; with `return_state`, a list of the
    output and the last states.
    """

    def __init__(self, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, implementation=0, **kwargs):
        if stateful:
            raise ValueError(f"{type(self).__name__}: `Recurrent` subclasses cannot be stateful in jkeras "
                             "(their states are not declared as weights); write the step as a cell and "
                             "use RNN(cell, stateful=True).")
        super().__init__(**kwargs)
        self.return_sequences = return_sequences
        self.return_state = return_state
        self.go_backwards = go_backwards
        self.stateful = stateful
        self.unroll = unroll
        self.implementation = implementation
        self.supports_masking = True
        self.input_spec = [InputSpec(ndim=3)]
        self.state_spec = None
        self.states = [None]
        self.dropout = 0
        self.recurrent_dropout = 0

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, list):
            input_shape = input_shape[0]
        batch, steps = input_shape[0], input_shape[1]
        output_shape = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [output_shape] + [(batch, self.units) for _ in self.states]
        return output_shape

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, list):
            mask = mask[0]
        output_mask = mask if self.return_sequences else None
        return [output_mask] + [None for _ in self.states] if self.return_state else output_mask

    def step(self, inputs, states):
        """One time step: `(output, new_states)`; subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} subclasses Recurrent and must define "
                                  "step(inputs, states) -> (output, new_states).")

    def get_constants(self, inputs, training=None):
        """Tensors passed to every `step` after the states (none by default)."""
        return []

    def get_initial_state(self, inputs):
        """Zeros of shape `(batch, units)`, one per entry of `self.states`."""
        return [jnp.zeros((inputs.shape[0], self.units), inputs.dtype) for _ in self.states]

    def preprocess_input(self, inputs, training=None):
        """The sequence `step` iterates over (the inputs themselves by default)."""
        return inputs

    def __call__(self, inputs, initial_state=None, **kwargs):
        """`initial_state` (a tensor or a list) travels with the inputs, as Keras 2 passed it; the
        input spec is widened for that call by `state_spec` (or no check) per state."""
        if initial_state is None:
            return super().__call__(inputs, **kwargs)
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        spec = self.input_spec
        state_spec = self.state_spec if isinstance(self.state_spec, list) else [self.state_spec] * len(states)
        self.input_spec = (list(spec) if isinstance(spec, (list, tuple)) else [spec])[:1] + state_spec
        try:
            return super().__call__([inputs] + states, **kwargs)
        finally:
            self.input_spec = spec

    def call(self, inputs, mask=None, training=None):
        if isinstance(inputs, (list, tuple)):
            inputs, initial_state = inputs[0], list(inputs[1:])
        else:
            initial_state = self.get_initial_state(inputs)
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if len(initial_state) != len(self.states):
            raise ValueError(f"Layer {self.name} has {len(self.states)} states but was passed "
                             f"{len(initial_state)} initial states.")
        if self.unroll and inputs.shape[1] in (None, 1):
            raise ValueError(f"Cannot unroll the RNN {self.name}: its time dimension is {inputs.shape[1]}; "
                             "give the inputs a known number of timesteps > 1.")
        constants = self.get_constants(inputs, training=training)
        last_output, outputs, states = K.rnn(self.step, self.preprocess_input(inputs, training=training),
                                             initial_state, go_backwards=self.go_backwards, mask=mask,
                                             constants=constants, unroll=self.unroll,
                                             input_length=inputs.shape[1])
        output = outputs if self.return_sequences else last_output
        return [output] + list(states) if self.return_state else output

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll, "implementation": self.implementation}


class ConvRecurrent2D(Recurrent):
    """Keras 2.0-2.2's abstract base of convolutional recurrent layers: `Recurrent` over
    sequences of images, `(batch, time, rows, cols, channels)` (channels first with
    `data_format="channels_first"`), whose states are feature maps of `filters` channels. A
    subclass defines `build` and `step` as for `Recurrent`; the default initial states are zeros
    shaped like one output step.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), return_sequences=False, go_backwards=False, stateful=False, **kwargs):
        super().__init__(return_sequences=return_sequences, go_backwards=go_backwards, stateful=stateful,
                         **kwargs)
        self.filters = _check_dim("filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, 2, "kernel_size")
        self.strides = normalize_tuple(strides, 2, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = standardize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, 2, "dilation_rate")
        self.input_spec = [InputSpec(ndim=5)]

    # The output shape comes from tracing `call` (the base Layer's way), not Recurrent's `units`.
    compute_output_shape = Layer.compute_output_shape

    def get_initial_state(self, inputs):
        """Zeros shaped like one output step (a convolution of zeros, as Keras 2's ConvLSTM2D
        made them), one per entry of `self.states`."""
        first = jnp.zeros_like(inputs[:, 0])
        channels = first.shape[1] if self.data_format == "channels_first" else first.shape[-1]
        kernel = jnp.zeros(self.kernel_size + (channels, self.filters), inputs.dtype)
        zeros = K.conv2d(first, kernel, strides=self.strides, padding=self.padding,
                         data_format=self.data_format, dilation_rate=self.dilation_rate)
        return [zeros for _ in self.states]

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": self.dilation_rate}


_MERGE_MODES = ("sum", "mul", "concat", "ave", "cos", "dot", "max")
_ELEMENTWISE = {"sum": operator.add, "ave": operator.add, "mul": operator.mul, "max": jnp.maximum}


class Merge(Layer):
    """Keras 1's merge of a list of tensors, kept by Keras 2.0-2.1: `mode` is "sum", "mul", "ave",
    "max" (element-wise), "concat" (along `concat_axis`), "dot" or "cos" (two tensors, over
    `dot_axes`, as `K.batch_dot`), or a function of the list (with `arguments`).

    Only the tensor form: `Merge(mode=...)([a, b])` or `merge([a, b], mode=...)`. Keras 2's
    `Merge([model_a, model_b])`, which made a Sequential model of several inputs, is refused: build
    that model with the functional API.
    """

    _mixes_rows = True  # see Layer._mixes_rows

    def __init__(self, layers=None, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None,
                 output_mask=None, arguments=None, node_indices=None, tensor_indices=None, name=None,
                 **kwargs):
        warnings.warn("The `Merge` layer is deprecated (Keras 2 removed it after 08/2017). Use instead layers "
                      "from `keras.layers.merge`, e.g. `add`, `concatenate`, etc.", stacklevel=2)
        if layers:
            raise ValueError("Merge(layers=[...]) built a Sequential model of several inputs in Keras 2; "
                             "jkeras's Sequential has one input. Call the functional API instead: "
                             "merge([model_a.output, model_b.output], mode=...) in a Model.")
        if not callable(mode) and mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode: {mode!r}; expected one of {_MERGE_MODES} or a function.")
        super().__init__(name=name, **kwargs)
        self.mode = mode
        self.concat_axis = concat_axis
        self.dot_axes = dot_axes
        self._output_shape = output_shape
        self._output_mask = output_mask
        self.arguments = dict(arguments or {})
        self.supports_masking = True

    def init(self, key, input_shape):
        return {}, {}

    def _axes(self, inputs):
        """`dot_axes` as two non-negative axes (Keras 2: a negative int counts from each end)."""
        axes = self.dot_axes
        if isinstance(axes, (int, np.integer)):
            return [axes % inputs[0].ndim, axes % inputs[1].ndim] if axes < 0 else [int(axes)] * 2
        if not isinstance(axes, (list, tuple)) or len(axes) != 2:
            raise ValueError(f"Invalid format for dot_axes {axes!r}: expected an int or two ints.")
        return list(axes)

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise TypeError(f"Merge must be called on a list of at least 2 tensors; received {inputs!r}.")
        inputs = list(inputs)
        if callable(self.mode):
            extra = {"mask": mask} if "mask" in inspect.signature(self.mode).parameters else {}
            return self.mode(inputs, **self.arguments, **extra), state
        if self.mode in ("cos", "dot") and len(inputs) != 2:
            raise ValueError(f"{self.mode} merge takes exactly 2 tensors; received {len(inputs)}.")
        if self.mode in _ELEMENTWISE:
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) > 1:
                raise ValueError(f"Only tensors of the same shape can be merged in {self.mode} mode; "
                                 f"received shapes {sorted(shapes)}.")
        if self.mode == "concat":
            return jnp.concatenate(inputs, axis=self.concat_axis), state
        if self.mode in _ELEMENTWISE:
            out = functools.reduce(_ELEMENTWISE[self.mode], inputs)
            return (out / len(inputs) if self.mode == "ave" else out), state
        axes = self._axes(inputs)
        a, b = inputs
        if self.mode == "dot":
            return K.batch_dot(a, b, axes), state
        # "cos" has the shape Keras 2 declared for it (as "dot"'s); its TensorFlow call added an axis.
        norms = jnp.sqrt(K.batch_dot(a, a, axes) * K.batch_dot(b, b, axes))
        return K.batch_dot(a, b, axes) / jnp.maximum(norms, K.epsilon()), state

    def compute_mask(self, inputs, mask=None):
        """Keras 2's: element-wise modes AND the masks, "concat" ANDs them over the last axis,
        "dot"/"cos" give none, a function mode gives `output_mask` (or its value on the masks)."""
        if mask is None or all(m is None for m in mask):
            return None
        if callable(self.mode):
            return self._output_mask(mask) if callable(self._output_mask) else self._output_mask
        if self.mode in _ELEMENTWISE:
            return functools.reduce(jnp.logical_and, [m for m in mask if m is not None])
        if self.mode == "concat":
            full = [jnp.ones(x.shape, bool) if m is None else (m[..., None] if m.ndim < x.ndim else m)
                    for x, m in zip(inputs, mask)]
            full = [jnp.broadcast_to(m, x.shape) for m, x in zip(full, inputs)]
            return jnp.all(jnp.concatenate(full, axis=self.concat_axis), axis=-1)
        return None

    def get_config(self):
        for what, value in (("mode", self.mode), ("output_shape", self._output_shape),
                            ("output_mask", self._output_mask)):
            if callable(value):
                raise ValueError(f"Merge '{self.name}' has a function as its `{what}`; jkeras does not "
                                 "store a Merge function in a config. Use a `Lambda` layer on the list of "
                                 "tensors, which saves its function.")
        return {**super().get_config(), "mode": self.mode, "mode_type": "raw", "concat_axis": self.concat_axis,
                "dot_axes": self.dot_axes, "output_shape": self._output_shape, "output_shape_type": "raw",
                "output_mask": self._output_mask, "output_mask_type": "raw", "arguments": self.arguments}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        for key in ("mode_type", "output_shape_type", "output_mask_type"):
            if config.pop(key, "raw") != "raw":
                raise ValueError(f"This Merge layer's config stores a Python function ({key}: "
                                 "'function' or 'lambda'); jkeras does not load it. Rebuild the model "
                                 "with a `Lambda` layer in its place.")
        return cls(**config)


def merge(inputs, mode="sum", concat_axis=-1, dot_axes=-1, output_shape=None, output_mask=None,
          arguments=None, name=None):
    """Keras 1's functional merge of a list of tensors (see `Merge`); returns the merged tensor."""
    return Merge(mode=mode, concat_axis=concat_axis, dot_axes=dot_axes, output_shape=output_shape,
                 output_mask=output_mask, arguments=arguments, name=name)(list(inputs))

"""EinsumDense: a dense layer whose contraction is an einsum equation (Keras's `EinsumDense`)."""
import copy
import re

import jax.numpy as jnp

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend.random import split_keys
from jkeras.layers._utils import present, weight_options_config
from jkeras.layers.base import Layer

_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False))


def _analyze(equation, bias_axes, input_shape, output_shape):
    """`(kernel_shape, bias_shape or None, full output shape, kernel input axes, kernel output axes)` of
    an einsum layer, as Keras works them out."""
    replaced = re.sub(r"\.\.\.", "0", equation)
    for pattern, left_elided in _FORMS:
        match = re.match(pattern, replaced)
        if match:
            break
    else:
        raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                         "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")
    input_spec, weight_spec, output_spec = match.groups()
    elided = len(input_shape) - len(input_spec)
    output_shape = [input_shape[0]] + list(output_shape)
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0:
        output_shape.extend(input_shape[len(input_shape) - elided:])
    offset = elided if left_elided else 0
    input_dims = {d: i + offset - (len(input_shape) if left_elided else 0) for i, d in enumerate(input_spec)}
    output_dims = {d: i + offset for i, d in enumerate(output_spec)}
    for d in input_spec:
        if d in output_dims and output_shape[output_dims[d]] not in (None, input_shape[input_dims[d]]):
            raise ValueError(f"Input shape and output shape do not match at shared dimension '{d}'. "
                             f"Input shape is {input_shape[input_dims[d]]}, and output shape is "
                             f"{output_shape[output_dims[d]]}.")
    for d in output_spec:
        if d not in input_spec and d not in weight_spec:
            raise ValueError(f"Dimension '{d}' was specified in the output '{output_spec}' but has no "
                             f"corresponding dim in the input spec '{input_spec}' or weight spec "
                             f"'{weight_spec}'")
    kernel_shape, input_axes, output_axes = [], [], []
    for i, d in enumerate(weight_spec):
        if d in output_dims:
            kernel_shape.append(output_shape[output_dims[d]])
            output_axes.append(i)
        elif d in input_dims:
            kernel_shape.append(input_shape[input_dims[d]])
            input_axes.append(i)
        else:
            raise ValueError(f"Weight dimension '{d}' did not have a match in either the input spec "
                             f"'{input_spec}' or the output spec '{output_spec}'. For this layer, the "
                             "weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        for d in bias_axes:
            if d not in output_spec:
                raise ValueError(f"Bias dimension '{d}' was requested, but is not part of the output "
                                 f"spec '{output_spec}'")
        sizes = {d: output_shape[i + offset] for i, d in enumerate(output_spec)}
        first = min(output_spec.find(d) for d in bias_axes)
        bias_shape = [sizes[d] if d in bias_axes else 1 for d in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * elided
    return (tuple(kernel_shape), None if bias_shape is None else tuple(bias_shape), tuple(output_shape),
            input_axes, output_axes)


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`: a dense layer over any axes.

    Args:
        equation: an einsum equation `"<input>,<kernel>-><output>"`, e.g. `"abc,cd->abd"`;
            `...` stands for axes passed through.
        output_shape: the output's shape without the batch dim (an int for rank 2);
            `None` for dims taken from the input.
        activation: activation applied to the output.
        bias_axes: the output axes (letters) that get a bias; `None` for no bias.

    Weights: `kernel`, and `bias` when `bias_axes` is set, shaped from the equation.

    Input shape: as the equation's input spec. Output shape: `(batch,) + output_shape`.
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, quantization_config=None, **kwargs):
        if lora_rank is not None or quantization_config is not None:
            raise ValueError("EinsumDense: jkeras has no LoRA or quantized kernels; `lora_rank` and "
                             f"`quantization_config` must be None (received {lora_rank!r}, "
                             f"{quantization_config!r}).")
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(equation, str):
            raise ValueError(f"EinsumDense `equation` must be a string; received {equation!r}.")
        self.equation = equation
        shape = (output_shape,) if isinstance(output_shape, int) else output_shape
        if not isinstance(shape, (list, tuple)) or not all(d is None or isinstance(d, int) for d in shape):
            raise ValueError("EinsumDense `output_shape` must be an int or a tuple of ints (None for "
                             f"dims taken from the input); received {output_shape!r}.")
        self.partial_output_shape = tuple(shape)
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self._regularizers = present(kernel=self.kernel_regularizer, bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint, bias=self.bias_constraint)

    def _check_input_compatible(self, inputs):
        _analyze(self.equation, self.bias_axes, tuple(inputs.shape), self.partial_output_shape)

    def init(self, key, input_shape):
        kernel_shape, bias_shape, _, input_axes, output_axes = _analyze(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        if any(d is None for d in kernel_shape + (bias_shape or ())):
            raise ValueError(f"EinsumDense '{self.name}' needs known input dims for its weights; "
                             f"received input shape {tuple(input_shape)}.")
        k_kernel, k_bias = split_keys(key)
        kernel_init = self.kernel_initializer
        if isinstance(kernel_init, initializers.VarianceScaling) and (
                kernel_init.input_axes is None or kernel_init.output_axes is None):
            kernel_init = copy.copy(kernel_init)  # Keras 3 counts the fans over the equation's axes
            kernel_init.input_axes, kernel_init.output_axes = input_axes, output_axes
        params = {"kernel": kernel_init(k_kernel, kernel_shape, self.dtype)}
        if bias_shape is not None:
            params["bias"] = self.bias_initializer(k_bias, bias_shape, self.dtype)
        return params, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        kernel_shape = _analyze(self.equation, self.bias_axes, tuple(inputs.shape),
                                self.partial_output_shape)[0]
        if kernel_shape != params["kernel"].shape:
            raise ValueError(f"EinsumDense '{self.name}' has a kernel of shape {params['kernel'].shape}, "
                             f"but inputs of shape {tuple(inputs.shape)} need {kernel_shape}.")
        y = jnp.einsum(self.equation, inputs, params["kernel"])
        if "bias" in params:
            y = y + params["bias"]
        return self.activation(y), state

    def get_config(self):
        return {**super().get_config(), "output_shape": self.partial_output_shape,
                "equation": self.equation, "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes, **weight_options_config(self, "kernel", "bias")}

"""The recurrent cells: a layer computing one time step, `(output, new_states) = cell(x_t, states)`.

`SimpleRNNCell`, `LSTMCell` (gate order i, f, c, o) and `GRUCell` (z, r, h) hold Keras's weights
`kernel`, `recurrent_kernel`, `bias`; `StackedRNNCells` chains cells; `AbstractRNNCell` is the base
of custom ones. The helpers here (dropout masks, state sizes, the call of a cell at one step) are
shared with `RNN` and `Bidirectional`.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.arrays import to_device
from jkeras.backend.random import split_by_name, split_keys
from jkeras.layers._utils import deserialize as _deserialize_layer, present, serialize as _serialize_layer
from jkeras.layers.base import Layer, _SENTINELS, _is_spec, _merge_dims


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
# The built-in cells tag their matmul results (gate pre-activations) with this name. Training
# saves only these per step and recomputes the elementwise gate math in the backward pass
# (3 stacked residuals instead of ~11 for an LSTM), with gradients bitwise equal to plain autodiff.
_PREACTIVATION = "rnn_preactivation"


def _is_kt(x):
    return isinstance(x, KerasTensor)


def _has_kt(value):
    return any(_is_kt(t) for t in jax.tree.leaves(value, is_leaf=_is_kt))


def _is_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _check_units(units):
    if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
        raise ValueError("Received an invalid value for argument `units`, expected a positive "
                         f"integer, got {units!r}.")
    return int(units)


def _dropout_masks(key, rate, count, shape, dtype):
    """`count` inverted-dropout masks `(count, *shape)` (kept units scaled by `1 / (1 - rate)`)."""
    if key is None or not 0.0 < rate < 1.0:
        return None
    keep = jax.random.bernoulli(key, 1.0 - rate, (count,) + tuple(shape))
    return keep.astype(dtype) / jnp.asarray(1.0 - rate, dtype)


def _masked_matmul(x, kernel, masks, gates):
    """`x @ kernel`, where each of the `gates` column blocks may see its own dropout mask of `x`.

    `x` is `(batch, ..., dim)`; `masks` is None, `(1, batch, dim)` (one mask for
    all gates) or `(gates, batch, dim)`.
    """
    if masks is None:
        return jnp.matmul(x, kernel)
    masks = masks.reshape(masks.shape[:2] + (1,) * (x.ndim - 2) + masks.shape[2:])
    if masks.shape[0] == 1:
        return jnp.matmul(x * masks[0], kernel)
    dim, units = kernel.shape[0], kernel.shape[1] // gates
    y = jnp.einsum("g...d,dgu->...gu", x[None] * masks, kernel.reshape(dim, gates, units))
    return y.reshape(x.shape[:-1] + (gates * units,))


def _mark_built(layer, input_shape=None):
    """Flag `layer` and every nested layer built: a parent's `init` created their weights."""
    layer.built = True
    if input_shape is not None and getattr(layer, "_build_input_shape", None) is None:
        layer._build_input_shape = input_shape
    for sub in layer._layers:
        _mark_built(sub)


def _cell_own_trees(cell, key, input_shape):
    """`(params, state)` of `cell` for steps of `input_shape`: its current ones once built."""
    if cell.built:
        return cell._own_tree(True), cell._own_tree(False)
    return type(cell).init(cell, key, input_shape)


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return size
    state_size = cell.state_size
    return state_size[0] if isinstance(state_size, (list, tuple)) else state_size


def _zeros_like_size(size, batch, dtype):
    if isinstance(size, (list, tuple)):
        return [jnp.zeros((batch, int(d)), dtype) for d in size]
    return [jnp.zeros((batch, int(size)), dtype)]


class _NestedKwargsMixin:
    """Symbolic calls whose keyword arguments hold lists of symbolic tensors (`initial_state=[h, c]`).

    `Layer._symbolic_output_spec` only treats a keyword whose value *is* a
    KerasTensor as an input; this version traces every keyword that contains one.
    """

    def _symbolic_output_spec(self, inputs, kwargs):
        static = {k: v for k, v in kwargs.items() if not _has_kt(v) and k != "training"}
        tensor_kw = {k: v for k, v in kwargs.items() if _has_kt(v)}
        specs = []
        for sentinel in _SENTINELS:
            def run(x, kw):
                out, _ = self._run(self._own_tree(True), self._own_tree(False), x,
                                   training=False, key=None, **static, **kw)
                return out
            args = jax.tree.map(lambda t, s=sentinel: jax.ShapeDtypeStruct(
                tuple(s if d is None else d for d in t.shape), t.dtype), (inputs, tensor_kw), is_leaf=_is_kt)
            out = jax.eval_shape(run, *args)
            specs.append(jax.tree.map(lambda o: (tuple(o.shape), o.dtype), out))
        return jax.tree.map(lambda a, b: (_merge_dims(a[0], b[0]), a[1]), specs[0], specs[1],
                            is_leaf=_is_spec)


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------
class AbstractRNNCell(Layer):
    """Base class of a Keras-style RNN cell (Keras 2): a subclass defines `state_size`,
    `output_size`, `build` and `call(inputs, states) -> (output, new_states)`; `RNN(cell)` runs it."""

    def call(self, inputs, states):
        raise NotImplementedError(f"{type(self).__name__} must define `call(inputs, states)`.")

    @property
    def state_size(self):
        raise NotImplementedError(f"{type(self).__name__} must define the `state_size` property.")

    @property
    def output_size(self):
        raise NotImplementedError(f"{type(self).__name__} must define the `output_size` property.")

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        """Zero states: one array for an int `state_size`, a list for a list of sizes."""
        if inputs is not None:
            batch_size, dtype = inputs.shape[0], dtype or inputs.dtype
        zeros = _zeros_like_size(self.state_size, batch_size, dtype or self.compute_dtype)
        return zeros if isinstance(self.state_size, (list, tuple)) else zeros[0]


class _CellBase(_NestedKwargsMixin, Layer):
    """What the built-in cells share: Keras's `cell(inputs, states)` call and a pure step.

    A built-in cell implements `_step(params, x, states, masks)` (one time
    step on a list of states) and `_dropout_masks(params, key, batch, dtype)`
    (the masks fixed for a whole sequence, or None).
    """

    def __call__(self, inputs, states=None, **kwargs):
        if states is None:
            raise ValueError(f"Cell '{self.name}' needs the previous states: call it as "
                             "`cell(inputs, states)`.")
        return super().__call__(inputs, states=states, **kwargs)

    def apply(self, params, state, inputs, *, training=False, key=None, states=None):
        """One step: returns `((output, new_states), state)`."""
        if states is None:
            raise ValueError(f"Cell '{self.name}' needs `states` (a list of state tensors).")
        as_list = isinstance(states, (list, tuple))
        states = list(states) if as_list else [states]
        masks = None
        if training and key is not None:
            masks = self._dropout_masks(params, key, inputs.shape[0], inputs.dtype)
        output, new_states = self._step(params, inputs, states, masks)
        return (output, new_states if as_list else new_states[0]), state

    def _ensure_built(self, input_shape):
        built = self.built
        super()._ensure_built(input_shape)
        if not built:
            _mark_built(self, input_shape)

    def _dropout_masks(self, params, key, batch, dtype):
        return None


class _GatedCell(_CellBase):
    """SimpleRNN/LSTM/GRU cells: `kernel`, `recurrent_kernel`, `bias` and their arguments."""

    _gates = 1

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        units = _check_units(units)
        implementation = kwargs.pop("implementation", 2)
        super().__init__(**kwargs)
        self.units = units
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = min(1.0, max(0.0, float(dropout)))
        self.recurrent_dropout = min(1.0, max(0.0, float(recurrent_dropout)))
        # Keras: recurrent dropout needs per-gate matmuls (implementation 1), one mask per gate.
        self.implementation = 1 if self.recurrent_dropout != 0.0 else implementation
        self.seed = seed
        self._regularizers = present(kernel=self.kernel_regularizer,
                                      recurrent_kernel=self.recurrent_regularizer,
                                      bias=self.bias_regularizer)
        self._constraints = present(kernel=self.kernel_constraint,
                                     recurrent_kernel=self.recurrent_constraint,
                                     bias=self.bias_constraint)

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) < 2 or inputs.shape[-1] is None:
            raise ValueError(f"{type(self).__name__} '{self.name}' expects step inputs of shape "
                             f"(batch, features); received shape {tuple(inputs.shape)}.")

    def _bias_shape(self):
        return (self._gates * self.units,)

    def _init_bias(self, key):
        return self.bias_initializer(key, self._bias_shape(), self.dtype)

    def init(self, key, input_shape):
        k_kernel, k_recurrent, k_bias = split_keys(key, 3)
        width = self._gates * self.units
        params = {"kernel": self.kernel_initializer(k_kernel, (input_shape[-1], width), self.dtype),
                  "recurrent_kernel": self.recurrent_initializer(k_recurrent, (self.units, width),
                                                                 self.dtype)}
        if self.use_bias:
            params["bias"] = jnp.asarray(self._init_bias(k_bias), self.dtype)
        return params, {}

    @property
    def state_size(self):
        return self.units

    @property
    def output_size(self):
        return self.units

    def get_initial_state(self, batch_size=None):
        return _zeros_like_size(self.state_size, batch_size, self.compute_dtype)

    def _mask_count(self):
        return self._gates if self.implementation == 1 else 1

    def _dropout_masks(self, params, key, batch, dtype):
        if self.seed is not None:
            key = jax.random.fold_in(key, int(self.seed))
        count = self._mask_count()
        dp = _dropout_masks(split_by_name(key, "dropout"), self.dropout, count,
                            (batch, params["kernel"].shape[0]), dtype)
        rdp = _dropout_masks(split_by_name(key, "recurrent_dropout"), self.recurrent_dropout,
                             self._gates, (batch, self.units), dtype)
        if dp is None and rdp is None:
            return None
        return dp, rdp

    def _step(self, params, x, states, masks):
        dp, rdp = masks if masks is not None else (None, None)
        return self._recurrent_step(params, self._input_proj(params, x, dp), states, rdp)

    def _input_proj(self, params, x, dp):
        """The input part of every gate, `x @ kernel (+ bias)`, for any leading dims of `x`."""
        y = _masked_matmul(x, params["kernel"], dp, self._gates)
        if self.use_bias:
            y = y + self._input_bias(params)
        return y

    def _input_bias(self, params):
        return params["bias"]

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": activations.serialize(self.activation)}
        if self._gates > 1:
            config["recurrent_activation"] = activations.serialize(self.recurrent_activation)
        config["use_bias"] = self.use_bias
        config.update(self._extra_config_before_init())
        config.update({
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout})
        config.update(self._extra_config_after_dropout())
        config["seed"] = self.seed
        return config

    def _extra_config_before_init(self):
        return {}

    def _extra_config_after_dropout(self):
        return {}


class SimpleRNNCell(_GatedCell):
    """Cell of `SimpleRNN`: `h = activation(x @ kernel + bias + h_prev @ recurrent_kernel)`.

    Args: `units`, `activation`, `use_bias`, the `kernel`/`recurrent`/`bias`
    initializers, regularizers and constraints, `dropout`,
    `recurrent_dropout` and `seed`, as in Keras.

    Call: `output, new_states = cell(x_t, [h])` with `x_t` `(batch, features)`.
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(units, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)

    def _mask_count(self):
        return 1

    def _dropout_masks(self, params, key, batch, dtype):
        if self.seed is not None:
            key = jax.random.fold_in(key, int(self.seed))
        dp = _dropout_masks(split_by_name(key, "dropout"), self.dropout, 1,
                            (batch, params["kernel"].shape[0]), dtype)
        rdp = _dropout_masks(split_by_name(key, "recurrent_dropout"), self.recurrent_dropout, 1,
                             (batch, self.units), dtype)
        return None if dp is None and rdp is None else (dp, rdp)

    def _recurrent_step(self, params, xp, states, rdp):
        prev = states[0]
        if rdp is not None:
            prev = prev * rdp[0]
        z = checkpoint_name(xp + jnp.matmul(prev, params["recurrent_kernel"]), _PREACTIVATION)
        output = self.activation(z)
        return output, [output]


class LSTMCell(_GatedCell):
    """Cell of `LSTM` (Hochreiter 1997), gates in Keras's order i, f, c, o.

    `unit_forget_bias=True` initialises the forget gate's bias to 1. With
    `recurrent_dropout`, every gate sees its own input and recurrent dropout
    mask (Keras's `implementation=1`).

    Call: `h, [h, c] = cell(x_t, [h_prev, c_prev])`.
    """

    _gates = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    @property
    def state_size(self):
        return [self.units, self.units]

    def _init_bias(self, key):
        if not self.unit_forget_bias:
            return super()._init_bias(key)
        k_i, k_co = split_keys(key)
        units = self.units
        parts = [self.bias_initializer(k_i, (units,), self.dtype), np.ones((units,), jnp.dtype(self.dtype)),
                 self.bias_initializer(k_co, (2 * units,), self.dtype)]
        if any(isinstance(part, jax.core.Tracer) for part in parts):  # a traced init
            return jnp.concatenate([jnp.asarray(part) for part in parts])
        return to_device(np.concatenate([np.asarray(part) for part in parts]), self.dtype)  # no kernel compiled

    def _recurrent_step(self, params, xp, states, rdp):
        h_prev, c_prev = states[0], states[1]
        z = xp + _masked_matmul(h_prev, params["recurrent_kernel"], rdp, 4)
        z_i, z_f, z_c, z_o = jnp.split(checkpoint_name(z, _PREACTIVATION), 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_prev + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def _extra_config_before_init(self):
        return {"unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """Cell of `GRU` (Cho et al. 2014), gates in Keras's order z (update), r (reset), h.

    `reset_after=True` (the default, cuDNN-compatible) applies the reset gate
    after the recurrent matmul and keeps separate input and recurrent biases:
    `bias` is `(2, 3 * units)`. `reset_after=False` applies it before, with a
    `(3 * units,)` bias.

    Call: `h, [h] = cell(x_t, [h_prev])`.
    """

    _gates = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, reset_after=True, seed=None,
                 **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         recurrent_regularizer=recurrent_regularizer, bias_regularizer=bias_regularizer,
                         kernel_constraint=kernel_constraint, recurrent_constraint=recurrent_constraint,
                         bias_constraint=bias_constraint, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _input_bias(self, params):
        return params["bias"][0] if self.reset_after else params["bias"]

    def _recurrent_step(self, params, xp, states, rdp):
        h_prev = states[0]
        units = self.units
        kernel = params["recurrent_kernel"]
        x_z, x_r, x_h = jnp.split(checkpoint_name(xp, _PREACTIVATION), 3, axis=-1)
        if self.reset_after:
            inner = _masked_matmul(h_prev, kernel, rdp, 3)
            if self.use_bias:
                inner = inner + params["bias"][1]
            r_z, r_r, r_h = jnp.split(checkpoint_name(inner, _PREACTIVATION), 3, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            recurrent_h = r * r_h
        else:
            inner = _masked_matmul(h_prev, kernel[:, :2 * units], None if rdp is None else rdp[:2], 2)
            r_z, r_r = jnp.split(checkpoint_name(inner, _PREACTIVATION), 2, axis=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            h_h = h_prev if rdp is None else h_prev * rdp[2]
            recurrent_h = checkpoint_name(jnp.matmul(r * h_h, kernel[:, 2 * units:]), _PREACTIVATION)
        hh = self.activation(x_h + recurrent_h)
        h = z * h_prev + (1 - z) * hh
        return h, [h]

    def _extra_config_after_dropout(self):
        return {"reset_after": self.reset_after}


class StackedRNNCells(_CellBase):
    """A stack of cells run as one cell: each step feeds cell i's output to cell i + 1.

    `RNN([cell_1, cell_2])` wraps its list in one. States are one entry per
    cell (a list for each), e.g. `[[h1, c1], [h2, c2]]` for two LSTM cells.
    The cells' weights nest under their names: `rnn/stacked_rnn_cells/lstm_cell/kernel`.
    """

    def __init__(self, cells, **kwargs):
        super().__init__(**kwargs)
        cells = list(cells)
        if not cells:
            raise ValueError("StackedRNNCells needs at least one cell.")
        for cell in cells:
            if not isinstance(cell, Layer) or "state_size" not in dir(cell):
                raise ValueError("All cells must be layers with a `call` method and a `state_size` "
                                 f"attribute. Received: {cell!r}")
        names = [cell.name for cell in cells]
        if len(set(names)) != len(names):
            raise ValueError(f"The cells of a StackedRNNCells need distinct names; received {names}.")
        self.cells = cells

    @property
    def state_size(self):
        return [cell.state_size for cell in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def get_initial_state(self, batch_size=None):
        return [_cell_initial_state(cell, batch_size, cell.compute_dtype) for cell in self.cells]

    def init(self, key, input_shape):
        params, state = {}, {}
        shape = tuple(input_shape)
        for cell in self.cells:
            p, s = _cell_own_trees(cell, split_by_name(key, cell.name), shape)
            if p:
                params[cell.name] = p
            if s:
                state[cell.name] = s
            shape = (shape[0], _output_size(cell))
        return params, state

    def apply(self, params, state, inputs, *, training=False, key=None, states=None):
        if states is None:
            raise ValueError(f"Cell '{self.name}' needs `states` (one entry per cell).")
        masks = None
        if training and key is not None:
            masks = self._dropout_masks(params, key, inputs.shape[0], inputs.dtype)
        output, new_states = self._step(params, inputs, list(states), masks, state, training)
        return (output, new_states), state

    def _dropout_masks(self, params, key, batch, dtype):
        masks = [cell._dropout_masks(params.get(cell.name, {}), split_by_name(key, cell.name), batch,
                                     dtype) if isinstance(cell, _CellBase) else None
                 for cell in self.cells]
        return masks if any(m is not None for m in masks) else None

    def _step(self, params, x, states, masks, cell_state=None, training=False):
        new_states = []
        for i, cell in enumerate(self.cells):
            m = None if masks is None else masks[i]
            x, s = _call_cell(cell, params.get(cell.name, {}), (cell_state or {}).get(cell.name, {}),
                              x, states[i], m, training)
            new_states.append(s)
        return x, new_states

    def get_config(self):
        return {**super().get_config(), "cells": [_serialize_layer(cell) for cell in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cells = [_deserialize_layer(c, custom_objects) for c in config.pop("cells")]
        return cls(cells, **config)


def _cell_initial_state(cell, batch_size, dtype):
    """A cell's zero states, always as a list (Keras: "RNN expects the states in a list")."""
    fn = getattr(cell, "get_initial_state", None)
    states = fn(batch_size=batch_size) if fn is not None else _zeros_like_size(cell.state_size,
                                                                               batch_size, dtype)
    return list(states) if isinstance(states, (list, tuple)) else [states]


def _call_cell(cell, params, cell_state, x, states, masks, training):
    """One step of any cell: the pure step of a built-in cell, or the `call` of a Keras-style one."""
    if isinstance(cell, StackedRNNCells):
        return cell._step(params, x, states, masks, cell_state, training)
    if isinstance(cell, _CellBase):
        return cell._step(params, x, states, masks)
    as_list = isinstance(states, (list, tuple))
    (output, new_states), _ = type(cell).apply(cell, params, cell_state, x, training=training,
                                               key=None, states=list(states) if as_list else states)
    if as_list and not isinstance(new_states, (list, tuple)):
        new_states = [new_states]
    return output, new_states

"""Recurrent layers: the cells (and `AbstractRNNCell` for custom ones), the `RNN` loop over time,
`LSTM`/`GRU`/`SimpleRNN`, `Bidirectional`.

A cell is a layer that computes one time step, `(output, new_states) =
cell(x_t, states)`; `RNN(cell)` runs it over the time axis with
`jax.lax.scan` (a Python loop when `unroll=True`). The cell is a nested layer
of the `RNN`, so an `LSTM` named `lstm` owns the weights
`lstm/lstm_cell/{kernel, recurrent_kernel, bias}` (gate order i, f, c, o; GRU
z, r, h), exactly Keras's names, shapes and order.

A stateful RNN (`stateful=True`) keeps its last states as non-trainable
state variables `rnn_state_0, rnn_state_1, ...`: `apply` starts from them and
returns the final states as its new state, so compiled train and inference
steps carry them from batch to batch. They are not weights: Keras does not
list them in `weights` or save them in `.h5` files, and neither does jkeras.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name

from jkeras import activations, constraints, initializers, regularizers
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.random import layer_key, split_by_name, split_keys
from jkeras.layers._utils import deserialize as _deserialize_layer, present, serialize as _serialize_layer
from jkeras.layers.base import Layer, _SENTINELS, _cast_float, _is_spec, _merge_dims, _tree_shapes
from jkeras.layers.wrappers import Wrapper
from jkeras.legacy import interfaces


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
# The built-in cells tag their matmul results (gate pre-activations) with this name. Training
# saves only these per step and recomputes the elementwise gate math in the backward pass:
# 3 stacked residuals instead of ~11 for an LSTM, about 15% less time per step on XLA:CPU
# (measured), with gradients bitwise equal to plain autodiff.
_PREACTIVATION = "rnn_preactivation"


def _saving_preactivations(step):
    """`step` rematerialized in the backward pass, except for its tagged pre-activations."""
    policy = jax.checkpoint_policies.save_only_these_names(_PREACTIVATION)
    return jax.checkpoint(step, policy=policy, prevent_cse=False)


def _is_kt(x):
    return isinstance(x, KerasTensor)


def _has_kt(value):
    return any(_is_kt(t) for t in jax.tree.leaves(value, is_leaf=_is_kt))


def _is_array(x):
    return hasattr(x, "shape") and hasattr(x, "dtype")


def _leaves(tree):
    return jax.tree.leaves(tree, is_leaf=_is_array)


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


def _expand(mask_t, like):
    """A `(batch,)` step mask shaped to broadcast against `like` `(batch, ...)`."""
    return mask_t.reshape(mask_t.shape + (1,) * (like.ndim - 1))


def _first_state(states):
    """The state holding the previous output (Keras: `states[0]`, or the last cell's first)."""
    first = states[0]
    if isinstance(first, (list, tuple)):
        return states[-1][0]
    return first


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


def _split_state_inputs(inputs, mask, initial_state):
    """`(sequence, its mask, initial states)` from a call recorded as `layer([x, *states])`."""
    if isinstance(inputs, (list, tuple)):
        inputs = list(inputs)
        if initial_state is None and len(inputs) > 1:
            initial_state = inputs[1:]
        inputs = inputs[0]
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    return inputs, mask, initial_state


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


class _JitEagerMixin:
    """Eager calls (`layer(array)`) run one compiled `apply` per input signature.

    An op-by-op `apply` would compile its `lax.scan` afresh on every call.
    A stateful layer writes its carried states back after every eager call,
    as Keras does.
    """

    def _call_with_own_values(self, inputs, training, write_state, key=None, **kwargs):
        self._ensure_built(_tree_shapes(inputs))
        if key is None and training:  # a fresh key per eager training call, as `Layer` draws it
            self._eager_calls = getattr(self, "_eager_calls", 0) + 1
            key = jax.random.fold_in(layer_key(self.name), self._eager_calls)
        fn = self.__dict__.get("_eager_apply")
        if fn is None:
            def run(params, state, x, key, kwargs, training):
                return self._run(params, state, x, training=training, key=key, **kwargs)  # the policy's casts
            fn = jax.jit(run, static_argnames="training")
            self._eager_apply = fn
        outputs, state = fn(self._own_tree(True), self._own_tree(False), inputs, key, kwargs,
                            training=bool(training))
        if write_state or self.stateful:
            self._assign_tree(state, params=False)
        return outputs


class _StatesAsInputsMixin:
    """`layer(x, initial_state=[h, c])` on symbolic tensors records the node `layer([x, h, c])`.

    tf.keras does the same, so the initial states are plain inbound tensors of
    the node and the model config is the Keras 2 one.
    """

    def __call__(self, inputs, *args, initial_state=None, **kwargs):
        if initial_state is None:
            return super().__call__(inputs, *args, **kwargs)
        if _has_kt(initial_state) and not isinstance(inputs, (list, tuple)):
            states = jax.tree.leaves(initial_state, is_leaf=_is_kt)
            return super().__call__([inputs] + list(states), *args, **kwargs)
        return super().__call__(inputs, *args, initial_state=initial_state, **kwargs)


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
        return jnp.concatenate([jnp.asarray(self.bias_initializer(k_i, (units,), self.dtype)),
                                jnp.ones((units,), self.dtype),
                                jnp.asarray(self.bias_initializer(k_co, (2 * units,), self.dtype))])

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


# ---------------------------------------------------------------------------
# the RNN layer
# ---------------------------------------------------------------------------
class RNN(_StatesAsInputsMixin, _JitEagerMixin, _NestedKwargsMixin, Layer):
    """Runs `cell` over the time axis of `(batch, timesteps, features)` inputs.

    Args:
        cell: an RNN cell (a layer with `state_size` and a step `call(inputs,
            states)`), or a list of cells, stacked with `StackedRNNCells`.
        return_sequences: return the output of every step, `(batch, timesteps,
            units)`, instead of the last one `(batch, units)`.
        return_state: also return the final states: `[output, *states]`.
        go_backwards: process the sequence backwards (and return the reversed
            sequence).
        stateful: the last states of the samples of a batch are the initial
            states of the same sample indices in the next batch. Needs a fixed
            batch size (`batch_input_shape`, `batch_size=` or
            `Input(batch_shape=...)`); `reset_states()` zeroes them.
        unroll: a Python loop over time instead of `lax.scan` (short sequences).
        zero_output_for_mask: masked steps output zeros instead of the previous
            output (`return_sequences` only).

    Call arguments: `inputs`, `initial_state` (a tensor or list of tensors,
    symbolic ones become graph inputs), `mask` `(batch, timesteps)` (True =
    use the step; from `Embedding(mask_zero=True)` or `Masking`), `training`.
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        if kwargs.pop("time_major", False):
            raise ValueError("jkeras RNNs take batch-major inputs `(batch, timesteps, features)`; "
                             "`time_major=True` is not supported.")
        input_length = kwargs.pop("input_length", None)
        if kwargs.get("input_dim") is not None and kwargs.get("input_shape") is None:
            kwargs["input_shape"] = (input_length, kwargs.pop("input_dim"))  # Keras 2 arguments
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(cell)
        if not isinstance(cell, Layer) or "call" not in dir(cell):
            raise ValueError("Argument `cell` should be a layer with a `call` method. "
                             f"Received: cell={cell!r}")
        if "state_size" not in dir(cell):
            raise ValueError("The RNN cell should have a `state_size` attribute (single integer or "
                             f"list of integers, one integer per RNN state). Received: cell={cell!r}")
        super().__init__(**kwargs)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        state_size = cell.state_size
        if not isinstance(state_size, (list, tuple, int, np.integer)):
            raise ValueError("state_size must be an integer, or a list/tuple of integers (one for "
                             f"each state tensor); received {state_size!r}.")
        self.single_state = isinstance(state_size, (int, np.integer))

    @property
    def state_size(self):
        size = self.cell.state_size
        return [size] if isinstance(size, (int, np.integer)) else list(size)

    # ---- shapes ----
    def _check_input_compatible(self, inputs):
        x = inputs[0] if isinstance(inputs, (list, tuple)) else inputs
        if len(x.shape) < 3:
            raise ValueError(f"Input 0 of layer '{self.name}' ({type(self).__name__}) expects a 3D "
                             f"input (batch, timesteps, features); received shape {tuple(x.shape)}.")

    def _sequence_shape(self, input_shape):
        if isinstance(input_shape, list) or (isinstance(input_shape, tuple) and input_shape
                                             and isinstance(input_shape[0], (tuple, list))):
            return tuple(input_shape[0])
        return tuple(input_shape)

    # ---- the pure protocol ----
    def init(self, key, input_shape):
        shape = self._sequence_shape(input_shape)
        if len(shape) < 3:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, timesteps, "
                             f"features); received {shape}.")
        step_shape = (shape[0],) + shape[2:]
        params_c, state_c = _cell_own_trees(self.cell, split_by_name(key, self.cell.name), step_shape)
        params = {self.cell.name: params_c} if params_c else {}
        state = {self.cell.name: state_c} if state_c else {}
        if self.stateful:
            if shape[0] is None:
                raise ValueError(
                    f"Layer '{self.name}' is stateful, so it needs a fixed batch size, but its input "
                    f"shape {shape} has none. Pass `batch_input_shape=(batch, timesteps, features)` "
                    "(or `batch_size=`) to the first layer of a Sequential model, or "
                    "`Input(batch_shape=...)` to a functional one.")
            for i, value in enumerate(_leaves(self._zero_states(shape[0]))):
                state[f"rnn_state_{i}"] = value
        return params, state

    def _ensure_built(self, input_shape):
        built = self.built
        super()._ensure_built(input_shape)
        if not built:
            shape = self._sequence_shape(input_shape)
            _mark_built(self.cell, (shape[0],) + shape[2:])

    def get_initial_state(self, batch_size):
        """Zero initial states in Keras's structure: a list, one entry per cell when stacked."""
        return _cell_initial_state(self.cell, batch_size, self.cell.compute_dtype)

    _zero_states = get_initial_state

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None,
              initial_state=None):
        """Run the cell over time; returns `(output or [output, *states], new_state)`."""
        inputs, mask, initial_state = _split_state_inputs(inputs, mask, initial_state)
        if inputs.ndim < 3:
            raise ValueError(f"Layer '{self.name}' expects inputs of shape (batch, timesteps, "
                             f"features); received {tuple(inputs.shape)}.")
        # as Keras: the loop runs in the cell's compute dtype, the outputs come in the layer's
        inputs = _cast_float(inputs, self.cell.compute_dtype)
        batch = inputs.shape[0]
        zeros = self._zero_states(batch)
        treedef = jax.tree.structure(zeros, is_leaf=_is_array)
        carried = [f"rnn_state_{i}" for i in range(treedef.num_leaves)] if self.stateful else []
        if self.stateful and all(name in state for name in carried):
            expected = state[carried[0]].shape[0]
            if batch != expected:
                raise ValueError(
                    f"Layer '{self.name}' is stateful with batch size {expected}: the batch size of "
                    f"its input sequences must stay {expected}, but a batch of {batch} was received "
                    f"(input shape {tuple(inputs.shape)}).")
        if initial_state is not None:
            states = self._standardize_initial_state(initial_state, zeros, treedef)
        elif self.stateful and all(name in state for name in carried):
            states = jax.tree.unflatten(treedef, [state[name].astype(z.dtype) for name, z in
                                                  zip(carried, _leaves(zeros))])
        else:
            states = zeros

        cell = self.cell
        cell_params = params.get(cell.name, {})
        cell_state = state.get(cell.name, {})
        masks = None
        if training and key is not None and isinstance(cell, _CellBase):
            masks = cell._dropout_masks(cell_params, split_by_name(key, cell.name), batch,
                                        inputs.dtype)
        sequence = inputs
        if isinstance(cell, _GatedCell):
            dp, rdp = masks if masks is not None else (None, None)

            @_saving_preactivations
            def step(x_t, s):  # projecting inside the step is faster on XLA:CPU than one big matmul
                return cell._recurrent_step(cell_params, cell._input_proj(cell_params, x_t, dp), s, rdp)
        else:
            def step(x_t, s):
                return _call_cell(cell, cell_params, cell_state, x_t, s, masks, training)
            if isinstance(cell, StackedRNNCells) and all(isinstance(c, _GatedCell) for c in cell.cells):
                step = _saving_preactivations(step)  # a custom cell's matmuls would be recomputed

        last, outputs, final = self._loop(step, sequence, states, mask, treedef)
        new_state = dict(state)
        if self.stateful:
            for name, value in zip(carried, _leaves(final)):
                new_state[name] = value
        output = _cast_float(outputs if self.return_sequences else last, self.compute_dtype)
        if self.return_state:
            return [output] + jax.tree.map(lambda s: _cast_float(s, self.compute_dtype), list(final)), new_state
        return output, new_state

    def _standardize_initial_state(self, initial_state, zeros, treedef):
        given = _leaves(initial_state)
        expected = _leaves(zeros)
        if len(given) != len(expected):
            raise ValueError(f"Layer '{self.name}' expects {len(expected)} initial state tensor(s) "
                             f"of shapes {[tuple(z.shape) for z in expected]}; received "
                             f"{len(given)}.")
        values = []
        for i, (g, z) in enumerate(zip(given, expected)):
            g = jnp.asarray(g)
            if tuple(g.shape) != tuple(z.shape):
                raise ValueError(f"Initial state {i} of layer '{self.name}' must have shape "
                                 f"{tuple(z.shape)} (batch, state size); received {tuple(g.shape)}.")
            values.append(g.astype(z.dtype))
        return jax.tree.unflatten(treedef, values)

    def _loop(self, step, sequence, states, mask, treedef):
        """`(last_output, outputs or None, final_states)` of `step` over the time axis."""
        xs = jnp.swapaxes(sequence, 0, 1)
        ms = None if mask is None else jnp.swapaxes(jnp.asarray(mask).astype(bool), 0, 1)
        if self.go_backwards:
            xs = jnp.flip(xs, 0)
            ms = None if ms is None else jnp.flip(ms, 0)
        out_spec = jax.eval_shape(lambda x, s: step(x, s)[0], xs[0], states)

        def body(carry, x_m):
            prev_states, _ = carry
            x_t, m_t = x_m
            output, new_states = step(x_t, prev_states)
            new_states = jax.tree.unflatten(treedef, _leaves(new_states))
            if m_t is not None:
                fill = jnp.zeros_like(output) if self.zero_output_for_mask else _first_state(prev_states)
                output = jnp.where(_expand(m_t, output), output, fill)
                new_states = jax.tree.map(lambda n, s: jnp.where(_expand(m_t, s), n, s),
                                          new_states, prev_states)
            return (new_states, output), (output if self.return_sequences else None)

        carry = (states, jnp.zeros(out_spec.shape, out_spec.dtype))
        if self.unroll:
            ys = []
            for t in range(xs.shape[0]):
                carry, y = body(carry, (xs[t], None if ms is None else ms[t]))
                ys.append(y)
            ys = jnp.stack(ys) if self.return_sequences else None
        else:
            carry, ys = jax.lax.scan(body, carry, (xs, ms))
        final, last = carry
        outputs = None if ys is None else jnp.swapaxes(ys, 0, 1)
        return last, outputs, final

    # ---- masks ----
    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        if self.return_state:
            return [output_mask] + [None] * len(jax.tree.leaves(self.state_size))
        return output_mask

    # ---- the facade ----
    def _state_variables(self):
        names = sorted((n for n in self._variables if n.startswith("rnn_state_")),
                       key=lambda n: int(n.rsplit("_", 1)[1]))
        return [self._variables[n] for n in names]

    @property
    def states(self):
        """The carried state variables of a stateful RNN (`[None, ...]` otherwise)."""
        variables = self._state_variables()
        return variables or [None] * len(jax.tree.leaves(self.state_size))

    def _without_carries(self, weights):
        carried = {id(v) for v in self._state_variables()}
        return [w for w in weights if id(w) not in carried]

    # The carried states are state, not weights: Keras neither lists nor saves them.
    @property
    def weights(self):
        return self._without_carries(super().weights)

    @property
    def non_trainable_weights(self):
        return self._without_carries(super().non_trainable_weights)

    def reset_states(self, states=None):
        """Zero the carried states, or set them to `states` (numpy arrays, one per state)."""
        if not self.stateful:
            if states is None:
                return  # `model.reset_states()` visits every layer
            raise AttributeError(f"Layer '{self.name}' must be stateful to have its states reset.")
        variables = self._state_variables()
        if not variables:
            if states is None:
                return
            raise ValueError(f"Layer '{self.name}' is not built yet, so it has no states to set; "
                             "call it on data (or build its model) first.")
        if states is None:
            for v in variables:
                v._value = jnp.zeros_like(v.value)
            return
        values = _leaves(states) if isinstance(states, (list, tuple)) else [states]
        if len(values) != len(variables):
            raise ValueError(f"Layer '{self.name}' expects {len(variables)} states, but it received "
                             f"{len(values)} state values. Input received: {states!r}")
        arrays = []
        for i, (v, value) in enumerate(zip(variables, values)):
            value = np.asarray(value)
            if value.shape != v.shape:
                raise ValueError(f"State {i} is incompatible with layer '{self.name}': expected "
                                 f"shape={v.shape}, found shape={value.shape}.")
            arrays.append(jnp.asarray(value, dtype=v.dtype))
        for v, value in zip(variables, arrays):
            v._value = value

    def reset_state(self, states=None):
        """Keras 3's name for `reset_states`."""
        self.reset_states(states)

    # ---- config ----
    def _rnn_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}

    def get_config(self):
        return {**self._rnn_config(), "cell": _serialize_layer(self.cell)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        cell = config.pop("cell")
        if isinstance(cell, list):
            cell = [_deserialize_layer(c, custom_objects) for c in cell]
        else:
            cell = _deserialize_layer(cell, custom_objects)
        return cls(cell, **config)


class _CellRNN(RNN):
    """`SimpleRNN`/`LSTM`/`GRU`: an `RNN` that builds its own cell and exposes the cell's arguments."""

    _cell_class = None
    _cell_name = None
    _cell_args = ()
    _config_drops = ("name", "trainable", "dtype")

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, activity_regularizer=None, use_cudnn="auto",
                 **kwargs):
        if use_cudnn not in ("auto", True, False):
            raise ValueError("Invalid valid received for argument `use_cudnn`. Expected one of "
                             f"{{'auto', True, False}}. Received: use_cudnn={use_cudnn}")
        cell_kwargs = {k: kwargs.pop(k) for k in self._cell_args if k in kwargs}
        cell_kwargs["implementation"] = kwargs.pop("implementation", 2)
        cell = self._cell_class(units, name=self._cell_name, dtype=kwargs.get("dtype"),
                                trainable=kwargs.get("trainable", True), **cell_kwargs)
        super().__init__(cell, return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.use_cudnn = use_cudnn

    def __getattr__(self, name):
        if name in type(self)._cell_args or name in ("units", "implementation"):
            cell = self.__dict__.get("cell")
            if cell is not None:
                return getattr(cell, name)
        return super().__getattr__(name)

    def get_config(self):
        config = self._rnn_config()
        for key, value in self.cell.get_config().items():
            if key not in self._config_drops:
                config[key] = value
            if key == "bias_regularizer":
                config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("cell", None)
        return cls(**config)


_GATED_ARGS = ("activation", "use_bias", "kernel_initializer", "recurrent_initializer",
               "bias_initializer", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
               "kernel_constraint", "recurrent_constraint", "bias_constraint", "dropout",
               "recurrent_dropout", "seed")


@interfaces.legacy_recurrent_support
class SimpleRNN(_CellRNN):
    """Fully-connected RNN whose output is fed back as the next step's state.

    Args: `units` and the arguments of `SimpleRNNCell`, plus those of `RNN`
    (`return_sequences`, `return_state`, `go_backwards`, `stateful`,
    `unroll`) and `activity_regularizer`.

    Input shape: `(batch, timesteps, features)`. Output shape: `(batch, units)`,
    or `(batch, timesteps, units)` with `return_sequences`; with
    `return_state`, `[output, h]`.
    """

    _cell_class = SimpleRNNCell
    _cell_name = "simple_rnn_cell"
    _cell_args = _GATED_ARGS
    _config_drops = _CellRNN._config_drops + ("seed",)  # Keras's SimpleRNN config has no seed


@interfaces.legacy_recurrent_support
class LSTM(_CellRNN):
    """Long Short-Term Memory layer (Hochreiter 1997).

    Args: `units` and the arguments of `LSTMCell` (`activation`,
    `recurrent_activation`, `unit_forget_bias`, ...), plus those of `RNN`
    and `activity_regularizer`.

    Input shape: `(batch, timesteps, features)`. Output shape: `(batch, units)`,
    or `(batch, timesteps, units)` with `return_sequences`; with
    `return_state`, `[output, h, c]`.
    """

    _cell_class = LSTMCell
    _cell_name = "lstm_cell"
    _cell_args = _GATED_ARGS + ("recurrent_activation", "unit_forget_bias")


@interfaces.legacy_recurrent_support
class GRU(_CellRNN):
    """Gated Recurrent Unit (Cho et al. 2014); `reset_after=True` is the cuDNN-compatible variant.

    Args: `units` and the arguments of `GRUCell` (`reset_after`, ...), plus
    those of `RNN` and `activity_regularizer`.

    Input shape: `(batch, timesteps, features)`. Output shape: `(batch, units)`,
    or `(batch, timesteps, units)` with `return_sequences`; with
    `return_state`, `[output, h]`.
    """

    _cell_class = GRUCell
    _cell_name = "gru_cell"
    _cell_args = _GATED_ARGS + ("recurrent_activation", "reset_after")


# ---------------------------------------------------------------------------
# Bidirectional
# ---------------------------------------------------------------------------
_MERGE_MODES = ("sum", "mul", "ave", "concat", None)


def _clone_layer(layer, **overrides):
    config = layer.get_config()
    config.update(overrides)
    return type(layer).from_config(config)


def _strip_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


class Bidirectional(_StatesAsInputsMixin, _JitEagerMixin, _NestedKwargsMixin, Wrapper):
    """Runs a recurrent layer forwards and a copy of it backwards, and merges their outputs.

    Args:
        layer: an `RNN` (e.g. `LSTM(10, return_sequences=True)`). As in Keras,
            the wrapper builds its own copies, `forward_<name>` and
            `backward_<name>` (the latter with `go_backwards=True`).
        merge_mode: `"concat"` (default), `"sum"`, `"mul"`, `"ave"`, or None
            for the list `[forward, backward]`.
        weights: optional initial weights, forward half then backward half.
        backward_layer: optional explicit backward layer.

    Weights: `bidi/forward_lstm/lstm_cell/kernel ...` then
    `bidi/backward_lstm/...`. With `return_state`, the outputs are
    `[output(s), *forward_states, *backward_states]`.
    """

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` need to be a `jkeras.layers.Layer` instance. "
                             f"Received: {backward_layer}")
        if merge_mode not in _MERGE_MODES:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one "
                             'of {"sum", "mul", "ave", "concat", None}')
        super().__init__(layer, weights=weights, **kwargs)  # `Layer` sets Keras 2 `weights=` once built
        self.forward_layer = _clone_layer(layer, name="forward_" + _strip_prefix(layer.name, "forward_"))
        if backward_layer is None:
            backward_layer = _clone_layer(layer, go_backwards=True,
                                          name="backward_" + _strip_prefix(layer.name, "backward_"))
        self.backward_layer = backward_layer
        self._verify_layer_config()
        for sub in (self.forward_layer, self.backward_layer):
            if getattr(sub, "zero_output_for_mask", None) is not None:
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self.stateful = bool(getattr(layer, "stateful", False))
        self.return_sequences = bool(getattr(layer, "return_sequences", False))
        self.return_state = bool(getattr(layer, "return_state", False))
        self.supports_masking = True
        if self._batch_input_shape is None and layer._batch_input_shape is not None:
            self._batch_input_shape = layer._batch_input_shape

    def _wrap(self, layer):
        """`self.layer` is the argument, untracked, as in Keras 2: the weights are its copies'."""
        object.__setattr__(self, "layer", layer)

    def _verify_layer_config(self):
        fwd, bwd = self.forward_layer, self.backward_layer
        if getattr(fwd, "go_backwards", False) == getattr(bwd, "go_backwards", False):
            raise ValueError("Forward layer and backward layer should have different `go_backwards` "
                             f"value. Received: forward_layer.go_backwards={fwd.go_backwards}, "
                             f"backward_layer.go_backwards={bwd.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(fwd, attr, None) != getattr(bwd, attr, None):
                raise ValueError("Forward layer and backward layer are expected to have the same "
                                 f'value for attribute "{attr}", got "{getattr(fwd, attr, None)}" '
                                 f'for forward layer and "{getattr(bwd, attr, None)}" for backward layer')
        if fwd.name == bwd.name:
            raise ValueError(f"The forward and backward layers need distinct names; both are '{fwd.name}'.")

    def _check_input_compatible(self, inputs):
        self.forward_layer._check_input_compatible(inputs)

    def init(self, key, input_shape):
        params, state = {}, {}
        for sub in (self.forward_layer, self.backward_layer):
            if sub.built:
                p, s = sub._own_tree(True), sub._own_tree(False)
            else:
                p, s = type(sub).init(sub, split_by_name(key, sub.name), input_shape)
            if p:
                params[sub.name] = p
            if s:
                state[sub.name] = s
        return params, state

    def _ensure_built(self, input_shape):
        built = self.built
        super()._ensure_built(input_shape)
        if built:
            return
        for sub in (self.forward_layer, self.backward_layer):
            _mark_built(sub, input_shape)

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None,
              initial_state=None):
        inputs, mask, initial_state = _split_state_inputs(inputs, mask, initial_state)
        fwd, bwd = self.forward_layer, self.backward_layer
        fwd_state = bwd_state = None
        if initial_state is not None:
            given = _leaves(initial_state)
            half = len(given) // 2
            fwd_state, bwd_state = given[:half], given[half:]
        results, new_state = [], dict(state)
        for sub, sub_initial in ((fwd, fwd_state), (bwd, bwd_state)):
            kwargs = {}
            if mask is not None and sub._takes("mask"):
                kwargs["mask"] = mask
            if sub_initial is not None:
                kwargs["initial_state"] = sub_initial
            y, s = sub._run(params.get(sub.name, {}), state.get(sub.name, {}), inputs,  # its policy
                            training=training, key=split_by_name(key, sub.name), **kwargs)
            if s:
                new_state[sub.name] = s
            results.append(jax.tree.map(lambda t: _cast_float(t, self.compute_dtype), y))
        y, y_rev = results
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = jnp.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output = jnp.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            head = output if self.merge_mode is None else [output]
            return head + states, new_state
        return output, new_state

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0] if mask else None
        output_mask = mask if self.return_sequences else None
        masks = [output_mask, output_mask] if self.merge_mode is None else [output_mask]
        if self.return_state:
            n_states = 2 * len(jax.tree.leaves(getattr(self.forward_layer, "state_size", [])))
            masks = masks + [None] * n_states
        return masks if len(masks) > 1 else masks[0]

    # ---- stateful ----
    @property
    def states(self):
        fwd = getattr(self.forward_layer, "states", None)
        bwd = getattr(self.backward_layer, "states", None)
        if fwd and bwd and all(s is not None for s in fwd + bwd):
            return list(fwd) + list(bwd)
        return None

    def reset_states(self, states=None):
        """Zero (or set) the forward then the backward layer's carried states."""
        if not self.stateful:
            if states is None:
                return
            raise AttributeError(f"Layer '{self.name}' must be stateful to have its states reset.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
            return
        values = _leaves(states) if isinstance(states, (list, tuple)) else [states]
        half = len(values) // 2
        self.forward_layer.reset_states(values[:half])
        self.backward_layer.reset_states(values[half:])

    def reset_state(self, states=None):
        self.reset_states(states)

    # ---- config ----
    def get_config(self):
        # Keras 2's order; `layer` is the forward copy, so `Wrapper.get_config` is skipped
        return {**Layer.get_config(self), "layer": _serialize_layer(self.forward_layer),
                "merge_mode": self.merge_mode, "backward_layer": _serialize_layer(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = _deserialize_layer(config["layer"], custom_objects)
        backward = config.pop("backward_layer", None)
        if backward is not None:
            config["backward_layer"] = _deserialize_layer(backward, custom_objects)
        return cls(**config)


# Keras 2.0-2.2's module also held the abstract base `Recurrent` (now in jkeras.layers.legacy).
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, ("Recurrent",))

"""Recurrent layers: the `RNN` loop over time and `LSTM`/`GRU`/`SimpleRNN` (the cells are in
`recurrent_cells`, `Bidirectional` in `bidirectional`).

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

from jkeras import regularizers
from jkeras.backend.random import layer_key, split_by_name
from jkeras.layers._utils import deserialize as _deserialize_layer, serialize as _serialize_layer
from jkeras.layers.base import Layer, _cast_float, _tree_shapes
from jkeras.legacy import interfaces
from jkeras.legacy.paths import keras2_names
# Keras 2's `keras.layers.recurrent` also held the cells (AbstractRNNCell: re-exported only).
from jkeras.layers.recurrent_cells import (  # noqa: F401
                                           AbstractRNNCell, GRUCell, LSTMCell, SimpleRNNCell,
                                           StackedRNNCells, _call_cell, _cell_initial_state, _cell_own_trees,
                                           _CellBase, _GatedCell, _has_kt, _is_array,
                                           _is_kt, _mark_built, _NestedKwargsMixin, _PREACTIVATION)


def _leaves(tree):
    return jax.tree.leaves(tree, is_leaf=_is_array)


def _expand(mask_t, like):
    """A `(batch,)` step mask shaped to broadcast against `like` `(batch, ...)`."""
    return mask_t.reshape(mask_t.shape + (1,) * (like.ndim - 1))


def _first_state(states):
    """The state holding the previous output (Keras: `states[0]`, or the last cell's first)."""
    first = states[0]
    if isinstance(first, (list, tuple)):
        return states[-1][0]
    return first


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


def _saving_preactivations(step):
    """`step` rematerialized in the backward pass, except for its tagged pre-activations."""
    policy = jax.checkpoint_policies.save_only_these_names(_PREACTIVATION)
    return jax.checkpoint(step, policy=policy, prevent_cse=False)


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


# Keras 2.0-2.2's module also held the abstract base `Recurrent` (now in jkeras.layers.legacy), and
# `Bidirectional` (in jkeras.layers.bidirectional, which imports this module).
__getattr__ = keras2_names(__name__, ("Recurrent", "Bidirectional"))

"""`Bidirectional`: a recurrent layer run forwards and (a copy of it) backwards over time, the two
outputs merged (`merge_mode` sum, mul, ave, concat or None)."""
import jax
import jax.numpy as jnp

from jkeras.backend.random import split_by_name
from jkeras.layers._utils import deserialize as _deserialize_layer, serialize as _serialize_layer
from jkeras.layers.base import Layer, _cast_float
from jkeras.layers.wrappers import Wrapper
from jkeras.layers.recurrent_cells import _NestedKwargsMixin, _mark_built
from jkeras.layers.recurrent import _JitEagerMixin, _StatesAsInputsMixin, _leaves, _split_state_inputs


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

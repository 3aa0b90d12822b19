"""Wrappers: layers that run another layer in a new way: the `Wrapper` base and TimeDistributed
(Bidirectional, a Wrapper too, lives with the recurrent layers)."""
import inspect

import jax

from jkeras.backend.random import split_by_name
from jkeras.layers._utils import deserialize, serialize
from jkeras.layers.base import Layer, _cast_float


class Wrapper(Layer):
    """Base class of the layers that wrap another one, `self.layer` (Keras 2's `Wrapper`); its
    config holds the wrapped layer's under `"layer"`."""

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"Please initialize `{type(self).__name__}` layer with a "
                             f"`jkeras.layers.Layer` instance. Received: {layer}")
        super().__init__(**kwargs)
        self._wrap(layer)

    def _wrap(self, layer):
        """Keep `layer` as `self.layer`, tracked: its weights are the wrapper's."""
        self.layer = layer

    def get_config(self):
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        return cls(**{**config_, "layer": deserialize(config_["layer"], custom_objects)})


class TimeDistributed(Wrapper):
    """Applies `layer` to every time step of a `(batch, time, ...)` input, by folding time into batch.

    The wrapped layer's weights are the wrapper's weights, in the wrapped
    layer's order; in the params pytree they sit under the wrapped layer's
    name. A mask `(batch, time, ...)` is folded the same way and passed on.

    Input shape: `(batch, time, ...)`. Output shape: `(batch, time, ...)`
    with the wrapped layer's per-step output dims.
    """

    def __init__(self, layer, **kwargs):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    def _check_input_compatible(self, inputs):
        if len(inputs.shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least "
                             f"3 dimensions, received: {inputs.shape}")

    def init(self, key, input_shape):
        self.layer._ensure_built((input_shape[0], *input_shape[2:]))  # a shared layer keeps its weights
        params, state = self.layer._own_tree(True), self.layer._own_tree(False)
        name = self.layer.name
        return ({name: params} if params else {}), ({name: state} if state else {})

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        batch, steps = inputs.shape[:2]
        fold = lambda x: x.reshape((batch * steps,) + x.shape[2:])  # noqa: E731
        kwargs = {}
        if mask is not None and "mask" in inspect.signature(type(self.layer).apply).parameters:
            kwargs["mask"] = fold(mask)
        name = self.layer.name
        outputs, inner_state = self.layer._run(params.get(name, {}), state.get(name, {}), fold(inputs),
                                               training=training, key=split_by_name(key, name), **kwargs)
        # in the wrapper's compute dtype, as Keras runs the inner layer under the wrapper's policy
        outputs = jax.tree.map(lambda y: _cast_float(y.reshape((batch, steps) + y.shape[1:]),
                                                     self.compute_dtype), outputs)
        return outputs, ({**state, name: inner_state} if inner_state else state)


# Keras 2's `keras.layers.wrappers` also held Bidirectional; jkeras keeps it with the recurrent layers.
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, ("Bidirectional",))

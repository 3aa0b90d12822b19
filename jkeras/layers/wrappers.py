"""Wrappers: layers that run another layer in a new way (TimeDistributed)."""
import inspect

import jax

from jkeras.backend.random import split_by_name
from jkeras.layers.base import Layer
from jkeras.utils import registry


class TimeDistributed(Layer):
    """Applies `layer` to every time step of a `(batch, time, ...)` input, by folding time into batch.

    The wrapped layer's weights are the wrapper's weights, in the wrapped
    layer's order; in the params pytree they sit under the wrapped layer's
    name. A mask `(batch, time, ...)` is folded the same way and passed on.

    Input shape: `(batch, time, ...)`. Output shape: `(batch, time, ...)`
    with the wrapped layer's per-step output dims.
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `TimeDistributed` layer with a `jkeras.layers.Layer` "
                             f"instance. Received: {layer}")
        super().__init__(**kwargs)
        self.layer = layer
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
        outputs = jax.tree.map(lambda y: y.reshape((batch, steps) + y.shape[1:]), outputs)
        return outputs, ({**state, name: inner_state} if inner_state else state)

    def get_config(self):
        return {**super().get_config(), "layer": registry.serialize_keras_object(self.layer, "keras.layers")}

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        from jkeras import layers  # the package imports this module
        known = {n: c for n, c in vars(layers).items() if isinstance(c, type) and issubclass(c, Layer)}
        config_ = dict(config_)
        layer = registry.deserialize_keras_object(config_.pop("layer"), known, "layer", custom_objects)
        return cls(layer, **config_)


# Keras 2's `keras.layers.wrappers` also held these; jkeras keeps them in other families.
from jkeras.legacy.paths import keras2_names  # noqa: E402

__getattr__ = keras2_names(__name__, ("Wrapper", "Bidirectional"))

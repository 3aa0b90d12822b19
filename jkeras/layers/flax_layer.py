"""FlaxLayer: a `flax.linen.Module` as a jkeras layer, its parameters trained with the model."""
import dataclasses
import inspect

import jax.numpy as jnp

from jkeras.layers.base import Layer
from jkeras.backend import registry
from jkeras.backend.random import split_keys


def _flax():
    """`(flax.linen, flax.traverse_util)`, imported on first use: `import jkeras` does not pay for flax."""
    import flax.linen
    from flax import traverse_util
    return flax.linen, traverse_util


class FlaxLayer(Layer):
    """Runs `module` (a `flax.linen.Module`): its `params` collection becomes the layer's weights
    (named by their path, e.g. `Dense_0/kernel`) and its other collections (e.g. `batch_stats`)
    the layer's state.

    Args:
        module: the module, not yet bound.
        method: optional method (or its name) to call instead of `__call__`.
        variables: optional variables from `module.init`, used instead of
            initialising anew.

    If the called method takes `training` or `train`, it receives the
    training flag; in training the key is given as the `dropout` rng and the
    state collections are mutable.
    """

    _mixes_rows = True  # see Layer._mixes_rows

    def __init__(self, module, method=None, variables=None, **kwargs):
        if not isinstance(module, _flax()[0].Module):
            raise ValueError(f"FlaxLayer needs a flax.linen.Module; received {module!r}.")
        super().__init__(**kwargs)
        self.module = module
        self.method = method
        self._initial_variables = variables
        fn = getattr(module, method) if isinstance(method, str) else (method or module.__call__)
        names = inspect.signature(fn).parameters
        self._training_arg = next((n for n in ("training", "train") if n in names), None)

    def _training_kwargs(self, training):
        return {self._training_arg: training} if self._training_arg else {}

    def init(self, key, input_shape):
        variables = self._initial_variables
        if variables is None:
            dummy = jnp.zeros([1 if d is None else d for d in input_shape], self.dtype)
            k_params, k_dropout = split_keys(key)
            variables = self.module.init({"params": k_params, "dropout": k_dropout}, dummy,
                                         method=self.method, **self._training_kwargs(False))
        flat = _flax()[1].flatten_dict(dict(variables), sep="/")
        params = {k.split("/", 1)[1]: v for k, v in flat.items() if k.startswith("params/")}
        state = {k: v for k, v in flat.items() if not k.startswith("params/")}
        return params, state

    def apply(self, params, state, inputs, *, training=False, key=None):
        traverse_util = _flax()[1]
        flat = {**{f"params/{k}": v for k, v in params.items()}, **state}
        variables = traverse_util.unflatten_dict(flat, sep="/")
        collections = sorted({k.split("/", 1)[0] for k in state})
        rngs = {"dropout": key} if training and key is not None else {}
        outputs = self.module.apply(variables, inputs, rngs=rngs, method=self.method,
                                    mutable=collections or False, **self._training_kwargs(training))
        if not collections:
            return outputs, state
        outputs, updates = outputs
        return outputs, {**state, **traverse_util.flatten_dict(dict(updates), sep="/")}

    def get_config(self):
        cls = type(self.module)
        fields = {f.name: getattr(self.module, f.name) for f in dataclasses.fields(self.module)
                  if f.name != "parent" and getattr(self.module, f.name) is not f.default}
        fields = {k: v for k, v in fields.items() if not (k == "name" and v is None)}
        module = {"module": cls.__module__, "class_name": cls.__name__, "config": fields}
        method = self.method if isinstance(self.method, str) or self.method is None else self.method.__name__
        return {**super().get_config(), "module": module, "method": method}

    @classmethod
    def from_config(cls, config_, custom_objects=None):
        config_ = dict(config_)
        spec = config_.pop("module")
        nn = _flax()[0]
        objects = {**registry.get_custom_objects(), **(custom_objects or {})}
        if str(spec.get("module", "")).startswith("flax."):
            objects = {**vars(nn), **objects}  # other modules only through custom_objects: no imports
        module_cls = objects.get(spec["class_name"])
        if not (isinstance(module_cls, type) and issubclass(module_cls, nn.Module)):
            raise ValueError(f"Unknown flax module {spec['class_name']!r}; pass its class through "
                             "`custom_objects={name: class}`.")
        return cls(module_cls(**spec["config"]), **config_)

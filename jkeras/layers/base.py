"""The Layer protocol: pure `init`/`apply` over parameter pytrees, and the Keras facade.

Pure core (what the trainer compiles):

    params, state = layer.init(key, input_shape)
    outputs, new_state = layer.apply(params, state, inputs, training=False, key=None)

`params` holds the weights created trainable (kernels, gammas), `state` the
ones created non-trainable (moving statistics, RNN carries); both are dicts
keyed by weight name, with a sub-dict per nested layer. Built-in layers
override `init`/`apply` directly. A Keras-style subclass instead overrides
`build(input_shape)` (calling `add_weight`) and `call(inputs, training=None)`;
the default `init`/`apply` map those onto the pure core by handing `call` the
traced values in place of its weight attributes.

Facade (what users touch): `layer(x)` on symbolic tensors records a graph
node; on arrays it runs `apply` eagerly with the layer's current values.
"""
import functools
import inspect
import threading

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import constraints as constraints_mod
from jkeras import regularizers as regularizers_mod
from jkeras.backend import context
from jkeras.backend import variables as backend_variables
from jkeras.backend.arrays import to_device
from jkeras.backend.function import default_training
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.naming import to_snake_case, unique_name
from jkeras.backend.placement import current_device
from jkeras.backend.random import layer_key, split_by_name
from jkeras.backend.symbolic import read
from jkeras.layers import paths
from jkeras.layers.arguments import (_batch_input_shape, _is_weight_name, _keras2_initializer,  # noqa: F401
                                     _keras20_weight_order, batch_size_argument, shape_argument)
from jkeras.layers.collect import (TraceStack, add_loss, add_metric, collect_losses,  # noqa: F401 (re-exported)
                                   collect_metrics, losses_wanted, padded_rows, real_rows, row_mean)
from jkeras.layers.input_spec import InputSpec, _dtype_name, _is_kt, check_input_spec  # noqa: F401
from jkeras.layers.variable import Variable, note_edit  # noqa: F401 (re-exported)
from jkeras.mixed_precision import policy as policy_mod

_SENTINELS = (37, 41)  # stand-ins for unknown dims when inferring shapes
_KERAS2_WEIGHT_ARGS = ("name", "shape", "dtype", "initializer", "regularizer", "trainable", "constraint")
_KERAS20_WEIGHT_ARGS = ("shape", "initializer", "name", "trainable", "regularizer", "constraint")
_KERAS3_WEIGHT_ARGS = ("shape", "initializer", "dtype", "trainable", "autocast", "regularizer", "constraint",
                       "aggregation", "overwrite_with_gradient", "name")
_LAYER_KWARGS = ("input_shape", "batch_input_shape", "batch_size", "input_dim", "batch_shape",
                 "weights")


class _Scope(threading.local):
    """Values bound to layers during a pure `apply` of a Keras-style parent layer."""

    def __init__(self):
        self.bound = {}


_scope = _Scope()


class _Bound:
    """One nested layer's params/state/key/flag while its parent's `call` runs."""

    def __init__(self, params, state, training, key):
        self.params, self.state, self.training, self.key = params, state, training, key


class Node:
    """One call of a layer on symbolic tensors: inputs, call kwargs and outputs."""

    def __init__(self, layer, inputs, kwargs, outputs):
        self.layer, self.inputs, self.kwargs, self.outputs = layer, inputs, kwargs, outputs
        self.device = current_device() or layer._device  # a `with jkeras.device(...)` scope

    @property
    def parent_tensors(self):
        return [t for t in jax.tree.leaves((self.inputs, self.kwargs), is_leaf=_is_kt)
                if isinstance(t, KerasTensor)]


def _accepts(fn, name):
    params = inspect.signature(fn).parameters
    return name in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _tree_shapes(x):
    """Input shapes as Keras passes them to `build`: a tuple, or a list/dict of tuples."""
    return jax.tree.map(lambda t: tuple(t.shape), x, is_leaf=lambda t: hasattr(t, "shape"))


def _public_build(hook):
    """A subclass's `build`: the weight-creating hook inside `init`, a full build when a user
    calls it, as Keras's `layer.build(shape)` leaves the layer built."""
    @functools.wraps(hook)
    def build(self, input_shape):
        if getattr(self, "_init_key", None) is not None:
            return hook(self, input_shape)
        return self._ensure_built(input_shape)
    return build


class Layer:
    """Base class of every jkeras layer. See the module docstring for the protocol."""

    stateful = False  # recurrent layers set it; a model is stateful when one of its layers is
    _mixes_rows = False  # True where a row's training output may depend on other rows (batch statistics, user code)

    def __init__(self, trainable=True, name=None, dtype=None, activity_regularizer=None, autocast=True,
                 **kwargs):
        unknown = set(kwargs) - set(_LAYER_KWARGS)
        if unknown:
            raise TypeError(f"{type(self).__name__} got unexpected keyword arguments {sorted(unknown)}.")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"Layer name must be a non-empty string; received {name!r}.")
        self._layers = []
        self._weight_attrs = {}
        self._variables = {}
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.trainable = bool(trainable)
        self._dtype_policy = policy_mod.get(dtype)
        self._autocast = bool(autocast)  # Keras 3's flag: False keeps the weights' dtype in a mixed policy
        self.built = False
        self.supports_masking = False
        self.activity_regularizer = regularizers_mod.get(activity_regularizer)
        self._regularizers = {}
        self._constraints = {}
        self._inbound_nodes = []
        self._outbound_nodes = []
        self._device = current_device()
        self._batch_input_shape = _batch_input_shape(kwargs)
        self._initial_weights = kwargs.get("weights")  # Keras 2: set once the layer is built

    # ---- input spec ----
    @property
    def input_spec(self):
        """An `InputSpec`, a list of them (one per input), or None: checked on every call."""
        return self.__dict__.get("_input_spec")

    @input_spec.setter
    def input_spec(self, value):
        for spec in value if isinstance(value, (list, tuple)) else [value]:
            if spec is not None and not isinstance(spec, InputSpec):
                raise TypeError(f"Layer input_spec must be an instance of InputSpec. Got: {spec}")
        self.__dict__["_input_spec"] = value

    # ---- dtype policy ----
    # Keras's flag: `_run` casts floating inputs to the compute dtype (a functional model
    # leaves that to its layers, so a `dtype="float32"` first layer sees the float32 inputs).
    _convert_input_args = True

    @property
    def dtype_policy(self):
        return self._dtype_policy

    @dtype_policy.setter
    def dtype_policy(self, value):
        self._dtype_policy = policy_mod.get(value)

    @property
    def dtype(self):
        """The dtype of the weights, as Keras's `layer.dtype` (float32 under a mixed policy)."""
        return self._dtype_policy.variable_dtype

    @property
    def variable_dtype(self):
        return self._dtype_policy.variable_dtype

    @property
    def compute_dtype(self):
        return self._dtype_policy.compute_dtype

    # ---- attribute tracking: nested layers and Keras-style weight attributes ----
    def __setattr__(self, name, value):
        note_edit()
        if not name.startswith("_") or name in ("_layers",):
            tracked = self.__dict__.get("_layers")
            if tracked is not None:
                for layer in _layers_in(value):
                    if layer is not self and all(layer is not t for t in tracked):
                        tracked.append(layer)
        if isinstance(value, Variable) and "_weight_attrs" in self.__dict__:
            self._weight_attrs[name] = value.name
        object.__setattr__(self, name, value)

    def __getattr__(self, name):
        variables = self.__dict__.get("_variables")
        if variables and name in variables:
            return variables[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # ---- the pure protocol ----
    def init(self, key, input_shape):
        """Create this layer's weights for `input_shape`; returns `(params, state)`.

        The default runs a Keras-style `build` (which calls `add_weight`) and
        builds nested layers by calling `call` once on zeros.
        """
        self._init_key = key
        self.build(input_shape)
        if any(not layer.built for layer in self._layers):
            dummy = jax.tree.map(lambda s: jnp.zeros([_SENTINELS[0] if d is None else d for d in s]),
                                 input_shape, is_leaf=_is_shape)
            self._run(self._own_tree(True), self._own_tree(False), dummy)
        return self._own_tree(params=True), self._own_tree(params=False)

    def _takes(self, name):
        """Whether a call of this layer takes keyword `name` (e.g. `mask`): its own `apply`'s
        signature, or for a Keras-style layer (the default `apply`) its `call`'s."""
        return _accepts(self.apply if type(self).apply is not Layer.apply else self.call, name)

    def apply(self, params, state, inputs, *, training=False, key=None, **kwargs):
        """Run `call` with `params`/`state` bound; returns `(outputs, new_state)`."""
        saved = {attr: self.__dict__[attr] for attr in self._weight_attrs}
        for attr, wname in self._weight_attrs.items():
            tree = params if self._variables[wname]._trainable else state
            object.__setattr__(self, attr, tree[wname])
        bound = {}
        for layer in (lyr for lyr in self._layers if lyr.built):  # unbuilt ones build eagerly
            bound[id(layer)] = _Bound(params.get(layer.name, {}), state.get(layer.name, {}),
                                      training, split_by_name(key, layer.name))
        previous = dict(_scope.bound)
        _scope.bound.update(bound)
        weights_by_id = {id(self.__dict__[attr]): wname for attr, wname in self._weight_attrs.items()}
        try:
            with context.call_context(training, key, weights_by_id) as ctx:
                call_kwargs = dict(kwargs)
                if _accepts(self.call, "training"):
                    call_kwargs["training"] = training
                outputs = self.call(inputs, **call_kwargs)
        finally:
            _scope.bound = previous
            for attr, value in saved.items():
                object.__setattr__(self, attr, value)
        new_state = {k: v for k, v in state.items()}
        for layer in self._layers:
            if id(layer) in bound and bound[id(layer)].state:
                new_state[layer.name] = bound[id(layer)].state
        for wname, value in ctx.updates.items():  # `K.update`s of this layer's own weights
            if self._variables[wname]._trainable:
                raise ValueError(f"Layer '{self.name}' updates its trainable weight '{wname}' with K.update "
                                 "inside `call`; trainable weights change only by the optimizer. Create it "
                                 "with `add_weight(..., trainable=False)` to update it in `call`.")
            new_state[wname] = value
        return outputs, new_state

    def _run(self, params, state, inputs, **kwargs):
        """`apply` looked up on the class (a user attribute named `apply` cannot shadow it), under
        the dtype policy: floating inputs cast to the compute dtype, and under a mixed policy the
        weights too, while the state keeps its dtypes. The ops it traces carry the layer's name
        (`jax.named_scope`), so compiled programs and profiles show which layer each op is of."""
        compute = self.compute_dtype
        if self._convert_input_args and jnp.issubdtype(compute, jnp.floating):
            inputs = jax.tree.map(lambda x: _cast_float(x, compute), inputs)
        with context.call_context(kwargs.get("training", False), kwargs.get("key")), \
                jax.named_scope(self.name):  # the context for the K functions
            if compute == self.variable_dtype or not self._autocast:
                return type(self).apply(self, params, state, inputs, **kwargs)
            outputs, new_state = type(self).apply(self, _autocast(self, params), state, inputs, **kwargs)
        return outputs, _keep_dtypes(new_state, state)

    # ---- the Keras-style hooks ----
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "build" in cls.__dict__:
            cls.build = _public_build(cls.__dict__["build"])

    def build(self, input_shape):
        """Keras-style hook: create weights with `add_weight`. Built-in layers use `init`.

        Called by a user (`layer.build((None, 4))`), it builds the layer, nested layers
        included, as its first call would; `init` runs a subclass's `build` as the hook."""
        if getattr(self, "_init_key", None) is None:
            self._ensure_built(input_shape)

    def call(self, inputs, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement `call` (or `apply`).")

    def add_weight(self, *args, **kwargs):
        """Create a named weight from `initializer`; for Keras-style `build` methods.

        Keras 2's positional order (`add_weight(name, shape, dtype, initializer, regularizer,
        trainable, constraint)`) and Keras 3's (`add_weight(shape, initializer, dtype, trainable,
        ...)`, a shape first) both work; an initializer may be a Keras 2 function `f(shape, dtype=None)`."""
        order = _KERAS2_WEIGHT_ARGS
        if args and isinstance(args[0], (tuple, list)):
            order = _KERAS20_WEIGHT_ARGS if _keras20_weight_order(args) else _KERAS3_WEIGHT_ARGS
            if len(args) >= 2 and _is_weight_name(args[1]):  # Keras 1's (shape, name), as Keras 2.1+ took it
                args = (args[0], None, args[1]) + tuple(args[2:])
                order = _KERAS20_WEIGHT_ARGS
        if len(args) > len(order):
            raise TypeError(f"add_weight takes at most {len(order)} positional arguments; received {len(args)}.")
        for arg_name, value in zip(order, args):
            if arg_name in kwargs:
                raise TypeError(f"add_weight got multiple values for argument '{arg_name}'.")
            kwargs[arg_name] = value
        return self._add_weight(**kwargs)

    def _add_weight(self, name=None, shape=None, dtype=None, initializer=None, regularizer=None,
                    trainable=True, constraint=None, **kwargs):
        from jkeras import initializers
        shape = () if shape is None else shape_argument(shape, "shape")
        if any(d is None for d in shape):
            raise ValueError(f"Layer '{self.name}': weight '{name}' needs a fully known shape; received "
                             f"shape={shape}.")
        name = name or f"variable_{len(self._variables)}"
        if not isinstance(name, str) or "/" in name:
            raise ValueError(f"Layer '{self.name}': a weight name must be a string without '/'; received {name!r}.")
        if name in self._variables:
            raise ValueError(f"Layer '{self.name}' already has a weight named '{name}'.")
        dtype = self.variable_dtype if dtype is None else _dtype_name(dtype)
        if initializer is None:
            initializer = "glorot_uniform" if np.issubdtype(np.dtype(dtype), np.floating) else "zeros"
        init_fn = initializers.get(initializer)
        key = getattr(self, "_init_key", None)
        key = split_by_name(layer_key(self.name) if key is None else key, name)
        if _keras2_initializer(init_fn):
            with context.call_context(False, key):  # its K.random_* calls draw from the weight's key
                value = init_fn(tuple(shape), dtype=dtype)
        else:
            value = init_fn(key, tuple(shape), dtype)
        value = to_device(read(value), dtype)
        variable = Variable(self, name, value, bool(trainable))
        self._variables[name] = variable
        if regularizer is not None:
            self._regularizers[name] = regularizers_mod.get(regularizer)
        if constraint is not None:
            self._constraints[name] = constraints_mod.get(constraint)
        return variable

    def add_loss(self, losses, inputs=None, **kwargs):
        """Keras-style: add loss terms (a value, a list, or zero-argument callables) to the training loss."""
        for value in losses if isinstance(losses, (list, tuple)) else [losses]:
            value = value() if callable(value) else value
            if value is not None:
                add_loss(read(value))

    def add_metric(self, value, name=None, aggregation=None):
        """Keras 2's `add_metric` inside `call`: `fit` and `evaluate` log the mean of `value` over
        the epoch under `name` (Keras 2's `Mean` metric: every element of every batch counts once,
        so a scalar per batch weighs each batch the same)."""
        if aggregation not in (None, "mean"):
            raise ValueError(f"Layer '{self.name}': add_metric supports aggregation='mean' (or None); "
                             f"received aggregation={aggregation!r}.")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"Layer '{self.name}': add_metric's name must be a str; received {name!r}.")
        if isinstance(value, KerasTensor):
            raise NotImplementedError(f"Layer '{self.name}': add_metric of a symbolic tensor (outside "
                                      f"`call`) is not supported; call self.add_metric(value, name=...) "
                                      "inside a layer's `call`.")
        add_metric("mean" if name is None else name, read(value))  # Keras 2's Mean() default name

    def add_update(self, updates, inputs=None):
        """Keras 2's `add_update`: `K.update`s inside `call` already set the layer's new state;
        callables are called, `(variable, value)` pairs become `K.update(variable, value)`."""
        for update in updates if isinstance(updates, list) else [updates]:
            if callable(update):
                update()
            elif isinstance(update, tuple) and len(update) == 2 and (
                    backend_variables.is_variable(update[0]) or context.owner_of(update[0])[0] is not None):
                backend_variables.update(*update)

    def compute_output_shape(self, input_shape):
        """Output shape from tracing `apply` abstractly; unknown dims stay `None`."""
        self._ensure_built(input_shape)
        specs = [self._abstract_output(input_shape, s) for s in _SENTINELS]
        return jax.tree.map(_merge_dims, specs[0], specs[1], is_leaf=_is_shape)

    def compute_mask(self, inputs, mask=None):
        return mask if self.supports_masking else None

    def get_config(self):
        config_ = {"name": self.name, "trainable": self.trainable,
                   "dtype": policy_mod.serialize(self._dtype_policy)}
        if self._batch_input_shape is not None:
            config_["batch_input_shape"] = list(self._batch_input_shape)
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    # ---- the facade ----
    def __call__(self, inputs, *args, **kwargs):
        if args:
            raise TypeError(f"Layer '{self.name}' takes its inputs as one argument (a tensor, "
                            "list or dict); pass other arguments by keyword.")
        if any(_is_kt(t) for t in jax.tree.leaves((inputs, kwargs), is_leaf=_is_kt)):
            return self._call_symbolic(inputs, kwargs)
        bound = _scope.bound.get(id(self))
        if bound is not None:
            check_input_spec(self.input_spec, inputs, self.name)
            training = kwargs.pop("training", None)
            training = bound.training if training is None else training
            outputs, bound.state = self._run(bound.params, bound.state, inputs,
                                              training=training, key=bound.key, **kwargs)
            return outputs
        inputs = jax.tree.map(jnp.asarray, inputs)
        check_input_spec(self.input_spec, inputs, self.name)
        self._check_input_compatible(inputs)
        training = kwargs.pop("training", None)
        training = default_training() if training is None else bool(training)
        return self._call_with_own_values(inputs, training=training, write_state=training, **kwargs)

    def _call_with_own_values(self, inputs, training, write_state, key=None, **kwargs):
        self._ensure_built(_tree_shapes(inputs))
        if key is None and training:  # a fresh key per eager training call, from the layer's name
            self._eager_calls = getattr(self, "_eager_calls", 0) + 1
            key = jax.random.fold_in(layer_key(self.name), self._eager_calls)
        outputs, state = self._run(self._own_tree(True), self._own_tree(False), inputs,
                                    training=training, key=key, **kwargs)
        if write_state:
            self._assign_tree(state, params=False)
        return outputs

    def _call_symbolic(self, inputs, kwargs):
        check_input_spec(self.input_spec, inputs, self.name)
        self._check_input_compatible(inputs)
        input_shape = _tree_shapes(inputs)
        self._ensure_built(input_shape)
        out_shape = self._symbolic_output_spec(inputs, kwargs)
        node_index = len(self._inbound_nodes)
        flat, treedef = jax.tree.flatten(out_shape, is_leaf=_is_spec)
        outs = [KerasTensor(shape, dtype, name=f"{self.name}/out{i}", history=(self, node_index, i))
                for i, (shape, dtype) in enumerate(flat)]
        outputs = jax.tree.unflatten(treedef, outs)
        node = Node(self, inputs, kwargs, outputs)
        self._inbound_nodes.append(node)
        for parent in node.parent_tensors:
            if parent._keras_history is not None:
                parent._keras_history[0]._outbound_nodes.append(node)
        in_mask = jax.tree.map(lambda t: t._keras_mask, inputs, is_leaf=_is_kt)
        if self._has_mask(in_mask) or self._makes_mask():
            masks = self._symbolic_masks(inputs, in_mask)
            for out, m in zip(outs, _as_list(masks, len(outs))):
                out._keras_mask = m
        return outputs

    def _symbolic_masks(self, inputs, in_mask):
        """`compute_mask` traced abstractly, as output shapes are: masks as bool KerasTensors."""
        specs = []
        for sentinel in _SENTINELS:
            def abstract(t, s=sentinel):
                if not _is_kt(t):
                    return t
                return jax.ShapeDtypeStruct(tuple(s if d is None else d for d in t.shape), t.dtype)
            x = jax.tree.map(abstract, inputs, is_leaf=_is_kt)
            m = jax.tree.map(abstract, in_mask, is_leaf=_is_kt)
            out = jax.eval_shape(lambda x, m: self.compute_mask(x, m), x, m)
            specs.append(jax.tree.map(lambda o: tuple(o.shape), out))
        merged = jax.tree.map(_merge_dims, specs[0], specs[1], is_leaf=_is_shape)
        return jax.tree.map(lambda shape: KerasTensor(shape, "bool"), merged, is_leaf=_is_shape)

    def _has_mask(self, mask):
        return any(m is not None for m in jax.tree.leaves(mask, is_leaf=lambda m: m is None))

    def _makes_mask(self):
        return type(self).compute_mask is not Layer.compute_mask

    def _symbolic_output_spec(self, inputs, kwargs):
        static = {k: v for k, v in kwargs.items() if not _is_kt(v) and k != "training"}
        tensor_kw = {k: v for k, v in kwargs.items() if _is_kt(v)}
        specs = []
        for sentinel in _SENTINELS:
            def run(x, kw, s=sentinel):
                out, _ = self._run(self._own_tree(True), self._own_tree(False), x,
                                    training=False, key=None, **static, **kw)
                return out
            args = jax.tree.map(lambda t, s=sentinel: jax.ShapeDtypeStruct(
                tuple(s if d is None else d for d in t.shape), t.dtype), (inputs, tensor_kw), is_leaf=_is_kt)
            out = jax.eval_shape(run, *args)
            specs.append(jax.tree.map(lambda o: (tuple(o.shape), o.dtype), out))
        return jax.tree.map(lambda a, b: (_merge_dims(a[0], b[0]), a[1]), specs[0], specs[1],
                            is_leaf=_is_spec)

    def _abstract_output(self, input_shape, sentinel):
        x = jax.tree.map(lambda s: jax.ShapeDtypeStruct(tuple(sentinel if d is None else d for d in s),
                                                        self.dtype), input_shape, is_leaf=_is_shape)
        out = jax.eval_shape(lambda x: self._run(self._own_tree(True), self._own_tree(False), x,
                                                  training=False)[0], x)
        return jax.tree.map(lambda o: tuple(o.shape), out)

    def _check_input_compatible(self, inputs):
        """Hook for layers that know what input rank they need."""

    def _ensure_built(self, input_shape):
        if self.built:
            return
        params, state = type(self).init(self, layer_key(self.name), input_shape)
        self._assign_tree(params, params=True)
        self._assign_tree(state, params=False)
        self._init_key = None
        self._build_input_shape = input_shape
        self.built = True
        if self.__dict__.get("_initial_weights") is not None:
            self.set_weights(self._initial_weights)
            self._initial_weights = None

    def _own_trees(self):
        """`(params, state)` as `_own_tree` gives them, kept until a weight or the structure
        changes: inference calls take them without walking the layers each time."""
        return self._trees_cache()[1]

    def _own_leaves(self):
        """`_own_trees()` flattened, `(leaves, treedef)`: a compiled call takes a flat list faster."""
        return self._trees_cache()[2]

    def _trees_cache(self):
        cached = self.__dict__.get("_cached_trees")
        if cached is None or cached[0] != Variable.edits:
            trees = (self._own_tree(True), self._own_tree(False))
            cached = (Variable.edits, trees, jax.tree.flatten(trees))
            object.__setattr__(self, "_cached_trees", cached)
        return cached

    def _path_index(self):
        """This layer's `paths.PathIndex`, kept until a weight or the structure changes."""
        cached = self.__dict__.get("_cached_index")
        if cached is None or cached[0] != Variable.edits:
            cached = (Variable.edits, paths.PathIndex(self))
            object.__setattr__(self, "_cached_index", cached)
        return cached[1]

    def _own_tree(self, params):
        """This layer's current `params` (or `state`) pytree, nested layers included."""
        tree = {n: v.value for n, v in self._variables.items() if v._trainable == params}
        for layer in self._layers:
            sub = layer._own_tree(params)
            if sub:
                tree[layer.name] = sub
        return tree

    def _assign_tree(self, tree, params, index=None, prefix=()):
        """Write `tree` (from `init` or a compiled step) back into the weights, nested layers
        found by path; a weight not made yet (by `init`) is made, of kind `params`."""
        index = self._path_index() if index is None else index
        for name, value in tree.items():
            path = prefix + (name,)
            if isinstance(value, dict) and index.has_layer(path):
                layer = index.layer(path)
                layer._assign_tree(value, params, index, path)
                layer.built = True
            elif name in self._variables:
                self._variables[name]._value = value
            else:
                self._variables[name] = Variable(self, name, value, params)

    # ---- weights ----
    @property
    def weights(self):
        """Keras 3's order: own weights (trainable kind first), then each nested layer's, deduplicated."""
        return self._path_index().ordered("weights")

    @property
    def trainable_weights(self):
        """Own trainable weights, then each nested layer's; none when `trainable` is False."""
        return self._path_index().ordered("trainable")

    @trainable_weights.setter
    def trainable_weights(self, weights):
        """Keras 2 code lists a layer's trainable weights (`self.trainable_weights = [self.W]`):
        its own weights train exactly when listed."""
        self._set_own_trainable(weights, True)

    @property
    def non_trainable_weights(self):
        """Own non-trainable weights, then each nested layer's; all of them (trainable kind
        first) when `trainable` is False."""
        return self._path_index().ordered("non_trainable")

    @non_trainable_weights.setter
    def non_trainable_weights(self, weights):
        self._set_own_trainable(weights, False)

    def _set_own_trainable(self, weights, trainable):
        listed = {id(w) for w in weights}
        foreign = [w for w in weights if all(w is not v for v in self._variables.values())]
        if foreign:
            raise ValueError(f"Layer '{self.name}' can only list its own weights (made by its add_weight); "
                             f"received {foreign}.")
        for v in self._variables.values():
            if id(v) in listed:
                v._trainable = trainable
            elif v._trainable == trainable:
                v._trainable = not trainable
        note_edit()

    @property
    def trainable_variables(self):
        return self.trainable_weights

    @property
    def non_trainable_variables(self):
        return self.non_trainable_weights

    @property
    def variables(self):
        return self.weights

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        """Set all weights, in `weights` order; checks every shape before changing any."""
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}' expects {len(own)} weight arrays "
                             f"({[w.name for w in own]}), but received {len(weights)}.")
        values = []
        for w, value in zip(own, weights):
            value = np.asarray(value)
            if value.shape != w.shape:
                raise ValueError(f"Weight '{w.path}' has shape {w.shape}; received an array of "
                                 f"shape {value.shape}.")
            values.append(to_device(value, w.dtype))
        for w, value in zip(own, values):
            w._value = value

    def count_params(self):
        if not self.built:
            raise ValueError(f"Layer '{self.name}' is not built yet, so it has no weights to count.")
        return int(sum(np.prod(w.shape) for w in self.weights))

    def regularization_losses(self, params):
        """Penalties of this layer's own weight regularizers for `params`."""
        return [reg(params[name]) for name, reg in self._regularizers.items() if name in params]

    def apply_constraints(self, params):
        """`params` with this layer's weight constraints applied (after an update)."""
        if not self._constraints:
            return params
        return {k: self._constraints[k](v) if k in self._constraints else v for k, v in params.items()}

    # ---- graph accessors ----
    def _node_attr(self, attr):
        """The first call's inputs/outputs, as Keras 3 gives for a layer called several times."""
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called, so it has no {attr}.")
        return getattr(self._inbound_nodes[0], attr + "s")

    @property
    def input(self):
        return self._node_attr("input")

    @property
    def output(self):
        return self._node_attr("output")

    def get_input_at(self, node_index):
        return self._inbound_nodes[node_index].inputs

    def get_output_at(self, node_index):
        return self._inbound_nodes[node_index].outputs

    # Keras 2's accessors of one call (node) of the layer, and its node lists (public until 2.1.2).
    def get_input_shape_at(self, node_index):
        return jax.tree.map(lambda t: t.shape, self.get_input_at(node_index), is_leaf=_is_kt)

    def get_output_shape_at(self, node_index):
        return jax.tree.map(lambda t: t.shape, self.get_output_at(node_index), is_leaf=_is_kt)

    def get_input_mask_at(self, node_index):
        return jax.tree.map(lambda t: t._keras_mask, self.get_input_at(node_index), is_leaf=_is_kt)

    def get_output_mask_at(self, node_index):
        return jax.tree.map(lambda t: t._keras_mask, self.get_output_at(node_index), is_leaf=_is_kt)

    @property
    def inbound_nodes(self):
        return self._inbound_nodes

    @property
    def outbound_nodes(self):
        return self._outbound_nodes

    def get_updates_for(self, inputs):
        """Keras 2's update ops made on `inputs`: none to list, since a jkeras layer's state
        changes inside the compiled step (its new `state` tree)."""
        return []

    def get_losses_for(self, inputs):
        """Keras 2's losses made on `inputs`; with None, the weight regularization losses."""
        return self.losses if inputs is None else []

    @property
    def input_shape(self):
        return jax.tree.map(lambda t: t.shape, self.input, is_leaf=_is_kt)

    @property
    def output_shape(self):
        return jax.tree.map(lambda t: t.shape, self.output, is_leaf=_is_kt)

    @property
    def losses(self):
        return [r(v.value) for n, r in self._regularizers.items() for v in [self._variables[n]]]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


def _layers_in(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, Layer)]
    return []


def _is_shape(x):
    return isinstance(x, tuple) and all(d is None or isinstance(d, (int, np.integer)) for d in x)


def _is_spec(x):
    return isinstance(x, tuple) and len(x) == 2 and _is_shape(x[0]) and not _is_shape(x[1])


def _merge_dims(a, b):
    return tuple(x if x == y else None for x, y in zip(a, b))


def _as_list(x, n):
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x] * n


def _cast_float(x, dtype):
    """`x` in `dtype` if it is a floating array of another dtype; anything else as it is."""
    if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating) and x.dtype != dtype:
        return jnp.asarray(x).astype(dtype)
    return x


def _autocast(layer, params):
    """`params` with each layer's floating weights in its compute dtype, as Keras's autocast
    reads them (nested layers by their own policy)."""
    index = layer._path_index()
    return paths.map_with_path(lambda p, x: jax.tree.map(
        lambda leaf: _cast_float(leaf, index.owner(p).compute_dtype), x), params)


def _keep_dtypes(new, old):
    """`new` state with every entry `old` had kept in `old`'s dtype, so a step's carry never drifts."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _keep_dtypes(v, old[k]) if k in old else v for k, v in new.items()}
    if hasattr(new, "astype") and hasattr(old, "dtype") and new.dtype != old.dtype:
        return new.astype(old.dtype)
    return new

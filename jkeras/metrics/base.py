"""The metric base classes: `Metric` (a pure state machine, with Keras's stateful facade on top),
`Keras2StatefulMetric` (a Keras 2.1-2.2 stateful metric layer as a `Metric`), and the reductions
`Sum`, `Mean`, `MeanMetricWrapper` and `MeanTensor`.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras import losses
from jkeras.backend import config
from jkeras.backend.naming import to_snake_case, unique_name
from jkeras.backend.variables import bind_values, collect_updates, is_variable
from jkeras.losses import squeeze_or_expand_to_same_rank
from jkeras.backend.registry import deserialize_keras_object
from jkeras.losses_reduction import div_no_nan
from jkeras.metrics.functions import _FN_OBJECTS


class Metric:
    """Base of the pure metrics: `init() -> state`, `update(state, ...) -> state`, `result(state)`.

    Subclasses give `state_shapes()` (variable name -> shape), `update` and `_result`.
    """

    def __init__(self, name=None, dtype=None):
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self.dtype = dtype or config.floatx()
        self._state = None

    def state_shapes(self):
        raise NotImplementedError

    def init(self):
        """Zeroed state: a dict of arrays named like Keras's metric variables."""
        # host zeros: a fresh state costs no device op (and no compile in a new process)
        return {name: np.zeros(shape, jnp.dtype(self.dtype)) for name, shape in self.state_shapes().items()}

    def build(self, y_true_shape, y_pred_shape=None):
        """Learn what the state's shape needs from the data shapes; most metrics need nothing."""

    def update(self, state, y_true, y_pred, sample_weight=None):
        raise NotImplementedError

    def _result(self, state):
        raise NotImplementedError

    def result(self, state=None):
        """The metric value of `state` (default: this object's own eager state)."""
        if state is None:
            state = self._state if self._state is not None else self.init()
        return self._result(state)

    def update_state(self, *args, **kwargs):
        """Keras's eager `update_state`: update this object's own state (sized from the first data)."""
        if self._state is None:
            self.build(*(np.shape(a) for a in args[:2]))
        self._state = self.update(self._state if self._state is not None else self.init(), *args, **kwargs)

    def reset_state(self):
        self._state = None

    def __call__(self, *args, **kwargs):
        self.update_state(*args, **kwargs)
        return self.result()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"


class Keras2StatefulMetric(Metric):
    """A Keras 2.1-2.2 stateful metric: a `Layer` with `stateful = True` whose `__call__(y_true,
    y_pred)` updates its `K.variable`s (`K.update_add`, `add_update`) and returns the running value.

    Its variables are this metric's state, traced through the compiled step; `init()` runs the
    layer's `reset_states()` first, so the state restarts at each epoch and evaluation, as in
    Keras 2. The value logged is the last one returned, not a mean over batches (Keras 2's way).
    """

    def __init__(self, layer):
        super().__init__(name=layer.name)
        self.layer = layer
        self._variables = _variables_of(layer)
        if not self._variables:
            raise ValueError(f"Stateful metric '{layer.name}' holds no K.variable: Keras 2's stateful "
                             "metrics keep their running values in attributes made with K.variable.")
        self._call = jax.jit(self._traced_call)

    def init(self):
        self.layer.reset_states()
        return {"variables": [np.array(v.numpy()) for v in self._variables],
                "value": np.zeros((), np.float32)}

    def _traced_call(self, state, y_true, y_pred):
        if not jnp.issubdtype(jnp.result_type(y_true), jnp.floating):
            y_true = jnp.asarray(y_true, jnp.result_type(y_pred))  # Keras 2's float target placeholder
        pairs = list(zip(self._variables, state["variables"]))
        with bind_values(pairs), collect_updates() as found:
            value = self.layer(y_true, y_pred)
        new = {id(v): x for v, x in found}  # the last update of a variable wins
        return {"variables": [new.get(id(v), old) for v, old in pairs],
                "value": jnp.mean(jnp.asarray(value, jnp.float32))}

    def update(self, state, y_true, y_pred, sample_weight=None, mask=None):
        """The state after one batch. Sample weights are ignored, as Keras 2 did; a batch with
        padded rows (`mask` 0) is fed row by row, the padded rows leaving the state as it was."""
        if mask is None:
            return self._call(state, y_true, y_pred)

        def by_rows(state):
            def row(s, item):
                yt, yp, keep = item
                new = self._call(s, yt[None], yp[None])
                return jax.tree.map(lambda n, o: jnp.where(keep > 0, n, o), new, s), None
            return jax.lax.scan(row, state, (y_true, y_pred, mask))[0]

        state = jax.tree.map(jnp.asarray, state)
        return jax.lax.cond(jnp.all(mask > 0), lambda s: self._call(s, y_true, y_pred), by_rows, state)

    def _result(self, state):
        return state["value"]

    def get_config(self):
        return self.layer.get_config()


def _variables_of(layer):
    """The `K.variable`s a layer holds as attributes (or in lists of them), in attribute order."""
    found = {}
    for value in vars(layer).values():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if is_variable(item):
                found.setdefault(id(item), item)
    return list(found.values())


def _samplewise(values, sample_weight, reduce_fn, dtype):
    """Values (and weights) reduced to one per sample, weights applied, as Keras's reduction metrics."""
    values = jnp.asarray(values).astype(dtype)
    if sample_weight is not None and values.ndim == 0:
        # one value for the batch (a Keras 2 metric function's): it counts once per weighted sample
        sample_weight = jnp.asarray(sample_weight, dtype)
        values = jnp.broadcast_to(values, sample_weight.shape)
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(values, jnp.asarray(sample_weight, dtype))
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


class Sum(Metric):
    """Running (weighted) sum of values."""

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def state_shapes(self):
        return {"total": ()}

    def update(self, state, values, sample_weight=None):
        values, _ = _samplewise(values, sample_weight, jnp.sum, self.dtype)
        return {"total": state["total"] + jnp.sum(values)}

    def _result(self, state):
        return state["total"]


class Mean(Metric):
    """Running (weighted) mean of values: `sum(value * w) / sum(w)`."""

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def state_shapes(self):
        return {"total": (), "count": ()}

    def update(self, state, values, sample_weight=None):
        values, sample_weight = _samplewise(values, sample_weight, jnp.mean, self.dtype)
        if sample_weight is not None:
            count = jnp.sum(sample_weight)
        else:
            count = values.shape[0] if values.ndim else 1
        return {"total": state["total"] + jnp.sum(values), "count": state["count"] + count}

    def _result(self, state):
        return div_no_nan(state["total"], state["count"])


class MeanMetricWrapper(Mean):
    """Running mean of a per-sample function `fn(y_true, y_pred, **kwargs)`."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or unique_name("mean_metric_wrapper"), dtype=dtype)
        if isinstance(fn, (str, dict)):
            fn = deserialize_keras_object(fn, _FN_OBJECTS, "metric function")
        self._fn = fn
        self._fn_kwargs = kwargs

    def __getattr__(self, name):
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if name in kwargs:
            return kwargs[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def update(self, state, y_true, y_pred, sample_weight=None):
        if isinstance(self._fn, losses.Loss):
            values, mask = self._fn.per_sample(y_true, y_pred), self._fn.mask(y_true, y_pred)
        else:
            if not jnp.issubdtype(jnp.result_type(y_true), jnp.floating):
                # Keras 2 fed targets through a float placeholder: a metric function got float labels
                y_true = jnp.asarray(y_true, jnp.result_type(y_pred))
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            mask = losses.loss_mask(self._fn, y_true, jnp.asarray(y_pred), **self._fn_kwargs)
        if sample_weight is not None:  # Keras drops masked entries from the count only when weighted
            sample_weight = losses.apply_mask(sample_weight, mask, "sum", self.dtype)
        return super().update(state, values, sample_weight)

    def get_config(self):
        config = super().get_config()
        if type(self) is MeanMetricWrapper:
            config["fn"] = losses.serialize(self._fn)
        return {**config, **self._fn_kwargs}


class MeanTensor(Metric):
    """Element-wise (weighted) mean of same-shaped tensors; the shape comes from `shape` or the first
    values."""

    def __init__(self, name="mean_tensor", dtype=None, shape=None):
        super().__init__(name=name, dtype=dtype)
        self._shape = None if shape is None else tuple(shape)

    def build(self, values_shape, _=None):
        if self._shape is None:
            self._shape = tuple(values_shape)

    def state_shapes(self):
        if self._shape is None:
            raise ValueError("MeanTensor does not have any value yet. Please call the MeanTensor instance "
                             "or use `.update_state(value)` before retrieving the result.")
        return {"total": self._shape, "count": self._shape}

    def update(self, state, values, sample_weight=None):
        values = jnp.asarray(values, self.dtype)
        if values.shape != self._shape:
            raise ValueError(f"MeanTensor input values must always have the same shape. Expected shape "
                             f"(set during the first call): {self._shape}. Got: {values.shape}.")
        counts = jnp.ones_like(values)
        if sample_weight is not None:
            weights = jnp.asarray(sample_weight, self.dtype)
            if weights.ndim == values.ndim - 1:
                weights = weights[..., None]
            weights = jnp.broadcast_to(weights, values.shape)
            values, counts = values * weights, counts * weights
        return {"total": state["total"] + values, "count": state["count"] + counts}

    def _result(self, state):
        return div_no_nan(state["total"], state["count"])

    def get_config(self):
        return {**super().get_config(), "shape": None if self._shape is None else list(self._shape)}

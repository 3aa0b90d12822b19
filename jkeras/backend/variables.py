"""`K.variable` and the Keras 2 state functions: values, assignment and updates.

A `Variable` holds a device array between compiled calls. Inside a traced layer call,
`K.update(w, v)` of a weight bound to that call (a `build`-made, non-trainable weight)
becomes the layer's new state, as Keras 2's `add_update` meant. `K.update` of any other
variable while a step traces is gathered by `collect_updates()` (the block that traces
decides how the new values come back), `bind_values` makes variables read as traced
values there, and `track_created` does so for the variables the block itself makes;
outside a trace `K.update` assigns at once.
"""
import contextlib
import threading

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import context
from jkeras.backend.arrays import to_device
from jkeras.backend.config import floatx
from jkeras.backend.keras_tensor import KerasTensor
from jkeras.backend.naming import unique_name
from jkeras.backend.keras_tensor import handler
from jkeras.backend.symbolic import op


def _binary(name):
    def method(self, other):
        return getattr(jnp.asarray(self.value), name)(other.value if isinstance(other, Variable) else other)
    method.__name__ = name
    return method


class Variable:
    """A named, assignable array: `K.variable`'s result, and the base of layer weights."""

    def __init__(self, value, dtype=None, name=None, constraint=None, trainable=True):
        dtype = floatx() if dtype is None else _dtype(dtype)
        if isinstance(value, Variable):
            value = value.value
        self.name = name or unique_name("variable")
        self._current = to_device(value, dtype)
        self.constraint = constraint
        self._trainable = bool(trainable)
        if _created.stack:
            _created.stack[-1](self)

    @property
    def _value(self):
        return self._current

    @_value.setter
    def _value(self, value):
        self._current = value

    @property
    def value(self):
        """The current value; inside `bind_values`, the value bound there (a traced one)."""
        for bound in reversed(_bindings.stack):
            if id(self) in bound:
                return bound[id(self)]
        return self._value

    @property
    def trainable(self):
        return self._trainable

    @property
    def shape(self):
        return tuple(self._value.shape)

    @property
    def dtype(self):
        return str(self._value.dtype)

    @property
    def ndim(self):
        return len(self.shape)

    def numpy(self):
        return np.asarray(self._value)

    def assign(self, value):
        """Set a new value of the same shape (cast to this variable's dtype)."""
        value = to_device(value.value if isinstance(value, Variable) else value, self._value.dtype)
        if value.shape != self._value.shape:
            raise ValueError(f"Cannot assign a value of shape {value.shape} to variable "
                             f"'{self.name}' of shape {self._value.shape}.")
        self._value = value
        return self

    def assign_add(self, delta):
        return self.assign(self._value + jnp.asarray(delta, self._value.dtype))

    def assign_sub(self, delta):
        return self.assign(self._value - jnp.asarray(delta, self._value.dtype))

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self._value, dtype=dtype)

    def __jax_array__(self):
        return self.value

    def __getitem__(self, index):
        return self.value[index]

    def __neg__(self):
        return -self.value

    def __abs__(self):
        return jnp.abs(self.value)

    def __float__(self):
        return float(self.value)

    def __int__(self):
        return int(self.value)

    __add__, __radd__, __sub__, __rsub__ = (_binary(n) for n in ("__add__", "__radd__", "__sub__", "__rsub__"))
    __mul__, __rmul__, __truediv__, __rtruediv__ = (_binary(n) for n in ("__mul__", "__rmul__", "__truediv__",
                                                                          "__rtruediv__"))
    __pow__, __rpow__, __matmul__, __rmatmul__ = (_binary(n) for n in ("__pow__", "__rpow__", "__matmul__",
                                                                        "__rmatmul__"))
    __lt__, __le__, __gt__, __ge__ = (_binary(n) for n in ("__lt__", "__le__", "__gt__", "__ge__"))
    __floordiv__, __mod__ = _binary("__floordiv__"), _binary("__mod__")

    def __repr__(self):
        return f"<Variable name={self.name}, shape={self.shape}, dtype={self.dtype}>"


def _dtype(dtype):
    name = str(getattr(dtype, "name", dtype))
    return name if name == "bfloat16" else np.dtype(name).name


def is_variable(x):
    return isinstance(x, Variable) or (hasattr(x, "assign") and hasattr(x, "__jax_array__"))


def _value_of(x):
    return x.value if is_variable(x) else x


# ---- creation ----
def variable(value, dtype=None, name=None, constraint=None):
    """A `Variable` holding `value` (a scipy sparse matrix becomes a dense one)."""
    if hasattr(value, "toarray"):
        value = value.toarray()
    return Variable(value, dtype=dtype, name=name, constraint=constraint)


@op
def constant(value, dtype=None, shape=None, name=None):
    """`value` as an array of `dtype` (floatx by default), broadcast to `shape` if given."""
    value = jnp.asarray(value, dtype=floatx() if dtype is None else _dtype(dtype))
    return value if shape is None else jnp.broadcast_to(value, tuple(shape))


def _filled(fill, shape, dtype, name):
    dtype = floatx() if dtype is None else _dtype(dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)  # Keras 2's `K.zeros(1)`
    return Variable(np.full(shape, fill, dtype=dtype), dtype=dtype, name=name)


def zeros(shape, dtype=None, name=None):
    """A variable of zeros (Keras 2 returns a variable, so `K.set_value` works on it)."""
    return _filled(0, shape, dtype, name)


def ones(shape, dtype=None, name=None):
    return _filled(1, shape, dtype, name)


def eye(size, dtype=None, name=None):
    """An identity-matrix variable; `size` an int or `(rows, cols)`."""
    rows, cols = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    dtype = floatx() if dtype is None else _dtype(dtype)
    return Variable(np.eye(rows, cols, dtype=dtype), dtype=dtype, name=name)


@op
def zeros_like(x, dtype=None, name=None):
    return jnp.zeros_like(x, dtype=None if dtype is None else _dtype(dtype))


@op
def ones_like(x, dtype=None, name=None):
    return jnp.ones_like(x, dtype=None if dtype is None else _dtype(dtype))


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    from jkeras.backend.random_ops import random_uniform
    return variable(random_uniform(shape, low, high, dtype=dtype, seed=seed), dtype=dtype, name=name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    from jkeras.backend.random_ops import random_normal
    return variable(random_normal(shape, mean, scale, dtype=dtype, seed=seed), dtype=dtype, name=name)


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None, ragged=False):
    """A symbolic input (an `Input` tensor) of `shape`, or of `ndim` unknown dims."""
    if sparse or ragged:
        raise ValueError("jkeras has no sparse or ragged placeholders: JAX arrays are dense. "
                         "Feed a dense array (`x.toarray()`) to a dense placeholder instead.")
    if not shape:
        if ndim is None:
            raise ValueError("K.placeholder needs `shape` or `ndim`; received neither.")
        shape = (None,) * ndim
    return handler("placeholder", "K.placeholder")(tuple(shape), floatx() if dtype is None else _dtype(dtype),
                                                   name)


# ---- values ----
def get_value(x):
    """The value of a variable, a weight or an array, as numpy."""
    if isinstance(x, KerasTensor):
        raise TypeError(f"{x!r} is symbolic and has no value; evaluate it with K.function.")
    if hasattr(x, "numpy"):
        value = x.numpy()  # a weight inside a Keras 2 `get_updates` gives the step's traced value
        return value if isinstance(value, jax.core.Tracer) else np.asarray(value)
    return np.asarray(x)


def batch_get_value(tensors):
    return [get_value(x) for x in tensors]


def set_value(x, value):
    """`x.assign(value)`: a variable, a layer weight, an optimizer's learning rate."""
    if not hasattr(x, "assign"):
        raise TypeError(f"K.set_value needs a variable (something with `assign`); received {type(x).__name__}.")
    x.assign(value)


def batch_set_value(tuples):
    """Set several variables; every value is checked against its variable before any is set."""
    pairs = [(x, np.asarray(v)) for x, v in tuples]
    for x, v in pairs:
        shape = tuple(getattr(x, "shape", ()))
        if hasattr(x, "shape") and v.shape != shape:
            raise ValueError(f"Cannot set variable '{getattr(x, 'name', x)}' of shape {shape} to a value "
                             f"of shape {v.shape}.")
    for x, v in pairs:
        set_value(x, v)


def eval(x):  # noqa: A001  (Keras's name)
    """The value of `x` as numpy (a variable, an array)."""
    return get_value(x)


def count_params(x):
    """The number of entries of `x`."""
    shape = tuple(x.shape)
    if any(d is None for d in shape):
        raise ValueError(f"Cannot count the entries of a tensor of partly unknown shape {shape}.")
    return int(np.prod(shape))


# ---- tracing: values in, updates out ----
class _Stack(threading.local):
    def __init__(self):
        self.stack = []


_updates = _Stack()
_bindings = _Stack()
_created = _Stack()


@contextlib.contextmanager
def bind_values(pairs):
    """While the block runs, each `(variable, value)`'s variable reads as `value` (a step
    passes its traced state in so; `collect_updates` gathers what comes out)."""
    _bindings.stack.append({id(v): value for v, value in pairs})
    try:
        yield
    finally:
        _bindings.stack.pop()


@contextlib.contextmanager
def collect_updates(rebind=False):
    """Yield a list that gathers `(variable, new_value)` for each `K.update` of a `K.variable`
    made while a step traces inside the block. A variable reads its value from before the
    updates, as in Keras 2's graph; with `rebind`, inside `after_updates` (`K.control_dependencies`)
    an updated variable reads its new value, as TF ran the ops made there after the updates."""
    found = _Rebinding() if rebind else []
    _updates.stack.append(found)
    if rebind:
        _bindings.stack.append(found.bound)
    try:
        yield found
    finally:
        if rebind:
            _bindings.stack.pop()
        _updates.stack.pop()


class _Rebinding(list):
    """Updates gathered with each variable's newest value, read inside `after_updates`."""

    def __init__(self):
        super().__init__()
        self.bound = _AfterUpdates()

    def append(self, item):
        super().append(item)
        dict.__setitem__(self.bound, id(item[0]), item[1])


class _AfterUpdates(dict):
    def __contains__(self, key):
        return _after.depth > 0 and dict.__contains__(self, key)


class _Depth(threading.local):
    def __init__(self):
        self.depth = 0


_after = _Depth()


@contextlib.contextmanager
def after_updates():
    """While the block runs, variables updated in a `collect_updates(rebind=True)` block read their
    new values (what `K.control_dependencies` means under JAX)."""
    _after.depth += 1
    try:
        yield
    finally:
        _after.depth -= 1


@contextlib.contextmanager
def track_created(values=None):
    """Yield a list that gathers each `Variable` made while the block runs, in order; with
    `values`, the i-th one reads as `values[i]` there. A step so re-runs code that makes its
    own variables at each run (a Keras 2 optimizer's `get_updates` makes its slots)."""
    found, bound = [], {}

    def note(variable):
        if values is not None:
            if len(found) >= len(values):
                raise ValueError(f"This run made more variables than the {len(values)} of the first run; "
                                 "code that makes variables must make the same ones each time it runs.")
            if tuple(jnp.shape(values[len(found)])) != variable.shape:
                raise ValueError(f"Variable {len(found)} ('{variable.name}') has shape {variable.shape}; in "
                                 f"the first run it had {tuple(jnp.shape(values[len(found)]))}.")
            bound[id(variable)] = values[len(found)]
        found.append(variable)

    _created.stack.append(note)
    _bindings.stack.append(bound)
    try:
        yield found
    finally:
        _bindings.stack.pop()
        _created.stack.pop()


def update(x, new_x):
    """Set `x` to `new_x`; returns the new value (Keras 2 returned the update op)."""
    ctx, name = context.owner_of(x)
    if ctx is not None:
        new_x = jnp.asarray(_value_of(new_x), x.dtype)
        if new_x.shape != x.shape:
            raise ValueError(f"K.update of weight '{name}' of shape {x.shape} with a value of shape "
                             f"{new_x.shape}.")
        ctx.updates[name] = new_x
        return new_x
    if not is_variable(x):
        raise TypeError(f"K.update needs a variable or a layer's own non-trainable weight; received "
                        f"{type(x).__name__}. Inside `call`, update weights created with "
                        "`add_weight(..., trainable=False)`.")
    new_x = _value_of(new_x)
    if isinstance(new_x, jax.core.Tracer):
        if not _updates.stack:
            raise RuntimeError(f"K.update of '{x.name}' inside a compiled function: only a layer's own "
                               "non-trainable weights (add_weight(..., trainable=False)) can be updated "
                               "inside `call`; this variable belongs to no layer call.")
        new_x = jnp.asarray(new_x, x.dtype)
        _updates.stack[-1].append((x, new_x))
        return new_x
    x.assign(new_x)
    return x.value


def update_add(x, increment):
    return update(x, _value_of(x) + jnp.asarray(_value_of(increment)))


def update_sub(x, decrement):
    return update(x, _value_of(x) - jnp.asarray(_value_of(decrement)))


def moving_average_update(x, value, momentum):
    """`x - (x - value) * (1 - momentum)`, as tf.keras 2 updates a moving statistic."""
    current = _value_of(x)
    value = jnp.asarray(_value_of(value), current.dtype)
    return update(x, current - (current - value) * (1 - jnp.asarray(momentum, current.dtype)))

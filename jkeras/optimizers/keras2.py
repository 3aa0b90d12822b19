"""Keras 2 optimizers written with `get_updates(loss, params)`, run as pure optax transformations.

Keras 2 built a graph once: `get_updates` made the slots (`K.zeros`) and returned `K.update`
ops. Here every trace of the step runs `get_updates` again on traced values (a replay): the
weights are stand-in variables holding the traced params, `K.gradients(loss, params)` gives
the step's gradients, the variables it makes read as the state's values (the same ones, in
the same order, at every run) and the `K.update`s it makes are gathered into the new params
and state. A variable reads its value from before the step's updates, as in Keras 2's graph,
and its updated value inside `K.control_dependencies`. The run at `init` learns the state's
layout from what `get_updates` makes.

The state is an `OptimizerState`: `iterations` and `learning_rate` are the optimizer's own
(`self.iterations`, `self.lr`); each run of variables made one per weight, with the weights'
shapes (`ms = [K.zeros(K.int_shape(p)) for p in params]`), is one slot, a tree like the
params, so `.h5` files hold it as `<Optimizer>/<slot>/<weight>`; any other variable it makes,
and any variable made before (in `__init__`) that it updates, is one entry of its own.
"""
import re
import threading

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jkeras import backend as K
from jkeras.backend.config import floatx
from jkeras.backend.gradients import gradients, offer_gradients
from jkeras.backend.variables import Variable, bind_values, collect_updates, is_variable, track_created
from jkeras.layers.paths import path_str
from jkeras.optimizers.state import OptimizerState, find_node, replace_nodes


class _Replays(threading.local):
    def __init__(self):
        self.stack = []


_replays = _Replays()


def replaying():
    """Whether a `get_updates` replay is being traced."""
    return bool(_replays.stack)


def proxy(optimizer, what):
    """The variable standing for `optimizer.iterations` or `.learning_rate` in the replay being
    traced (made at first use, so a wrapped optimizer's count is state too); None outside one."""
    if not _replays.stack:
        return None
    table = _replays.stack[-1]
    key = (id(optimizer), what)
    if key not in table:
        value = (np.zeros((), np.int32) if what == "iterations" else optimizer._initial_rate())
        table[key] = (optimizer, Variable(value, dtype="int32" if what == "iterations" else floatx(),
                                          name=what))
    return table[key][1]


class _Weight(Variable):
    """A trainable weight inside `get_updates`: it holds the traced value of the step, which is
    also what `K.get_value` gives there (`K.variable(K.get_value(p))` starts from the weight)."""

    def numpy(self):
        return self.value


class StepLoss:
    """The `loss` handed to `get_updates`: only `K.gradients(loss, params)` reads it (the step
    computes the gradients before the optimizer runs)."""

    def __repr__(self):
        return "<the train step's loss (for K.gradients)>"


class Layout:
    """Where each variable of a `get_updates` run lives in `OptimizerState.slots` (see the module
    docstring); learned by the run at `init`."""

    def __init__(self, made, extras, weights, treedef):
        self.made = made  # per variable made: (slot, weight index) or (name, None)
        self.extras = extras  # [(variable made before the run, name)]
        self.weights = weights  # `self.weights` as ("iterations"|"made"|"extra", index)
        self.slots = tuple(dict.fromkeys(slot for slot, i in made if i is not None))
        self.treedef = treedef  # of the params

    def to_slots(self, made_values, extra_values):
        slots = {}
        groups = {slot: [None] * self.treedef.num_leaves for slot in self.slots}
        for (name, i), value in zip(self.made, made_values):
            if i is None:
                slots[name] = value
            else:
                groups[name][i] = value
        slots.update({slot: self.treedef.unflatten(values) for slot, values in groups.items()})
        slots.update({name: value for (_, name), value in zip(self.extras, extra_values)})
        return slots

    def from_slots(self, slots):
        groups = {slot: self.treedef.flatten_up_to(slots[slot]) for slot in self.slots}
        made = [slots[name] if i is None else groups[name][i] for name, i in self.made]
        return made, [slots[name] for _, name in self.extras]


def _base_name(name, used):
    """A slot name from a variable's (`m_0` -> `m`, `Adam/vhat_1:0` -> `vhat`), not in `used`."""
    base = re.sub(r"(_\d+)?(:\d+)?$", "", str(name).split("/")[-1]).lstrip("_") or "slot"
    name, k = base, 0
    while name in used:
        k += 1
        name = f"{base}_{k}"
    used.add(name)
    return name


def _learn_layout(made, extras, weights_list, special, param_shapes, treedef):
    """The `Layout` of a first run: runs of variables shaped like the weights become slots."""
    n, used, layout, j = len(param_shapes), {"iterations", "learning_rate"}, [], 0
    while j < len(made):
        run = made[j:j + n]
        if n and len(run) == n and [v.shape for v in run] == param_shapes:
            slot = _base_name(run[0].name, used)
            layout += [(slot, i) for i in range(n)]
            j += n
        else:
            layout.append((_base_name(made[j].name, used), None))
            j += 1
    extra_names = [(v, _base_name(v.name, used)) for v in extras]
    index = {id(v): ("made", j) for j, v in enumerate(made)}
    index.update({id(v): ("extra", k) for k, v in enumerate(extras)})
    index[id(special)] = ("iterations", 0)
    weights = [index[id(w)] for w in weights_list or () if id(w) in index]
    return Layout(layout, extra_names, weights, treedef)


def _replay(optimizer, params, grads, iterations, learning_rate, made_values=None, extras=()):
    """One traced run of `optimizer.get_updates`; returns what it made and updated."""
    leaves, treedef = jax.tree.flatten(params)
    names = [path_str(tuple(getattr(k, "key", k) for k in path))
             for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]]
    weights = [_Weight(x, dtype=str(x.dtype), name=f"{p}:0") for x, p in zip(leaves, names)]
    count = Variable(iterations, dtype="int32", name="iterations")
    rate = Variable(learning_rate, dtype=str(jnp.asarray(learning_rate).dtype), name="learning_rate")
    table = {(id(optimizer), "iterations"): (optimizer, count),
             (id(optimizer), "learning_rate"): (optimizer, rate)}
    loss = StepLoss()
    _replays.stack.append(table)
    try:
        offered = {id(w): g for w, g in zip(weights, jax.tree.leaves(grads))}
        with offer_gradients(loss, offered), bind_values(extras), track_created(made_values) as made, \
                collect_updates(rebind=True) as updates:
            optimizer.__dict__["_keras2_weights"] = None
            for item in optimizer.get_updates(loss, weights) or ():
                if isinstance(item, tuple) and len(item) == 2 and is_variable(item[0]):
                    K.update(*item)  # Keras 2 also took `(variable, new value)` pairs in `updates`
    finally:
        _replays.stack.pop()
    if made_values is not None and len(made) != len(made_values):
        raise ValueError(f"{type(optimizer).__name__}.get_updates made {len(made)} variables; at init "
                         f"it made {len(made_values)}. It must make the same ones at every run.")
    new = {id(var): value for var, value in updates}  # the last update of a variable wins
    for w in weights:
        if id(w) in new and jnp.shape(new[id(w)]) != w.shape:
            raise ValueError(f"{type(optimizer).__name__}.get_updates updates weight '{w.name}' of shape "
                             f"{w.shape} with a value of shape {jnp.shape(new[id(w)])}.")
    own = {id(v) for v in [*weights, count, rate, *made]}
    foreign = list({id(v): v for v, _ in updates if id(v) not in own}.values())
    return {"leaves": leaves, "treedef": treedef, "weights": weights, "count": count, "rate": rate,
            "made": made, "new": new, "foreign": foreign, "table": table,
            "user_weights": optimizer.__dict__.pop("_keras2_weights", None)}


def transform(optimizer):
    """`optimizer` (a subclass that implements `get_updates`) as an `optax.GradientTransformation`."""

    def init(params):
        zero = jnp.zeros([], jnp.int32)
        rate = jnp.asarray(optimizer._initial_rate(), floatx())
        grads = jax.tree.map(jnp.zeros_like, params)
        run = _replay(optimizer, params, grads, zero, rate)
        layout = _learn_layout(run["made"], run["foreign"], run["user_weights"], run["count"],
                               [w.shape for w in run["weights"]], run["treedef"])
        optimizer._keras2_layout = layout
        _bind_wrapped(optimizer, run["table"], run["made"])
        made = [v.value for v in run["made"]]
        extras = [v.value for v in run["foreign"]]
        return OptimizerState(zero, rate, layout.to_slots(made, extras))

    def update(grads, state, params=None):
        if params is None:
            raise ValueError(f"{type(optimizer).__name__} (Keras 2's get_updates) needs `params` in "
                             "update(grads, state, params).")
        layout = optimizer._keras2_layout
        treedef = jax.tree.structure(params)
        made_values, extra_values = layout.from_slots(state.slots)
        extras = [v for v, _ in layout.extras]
        run = _replay(optimizer, params, grads, state.iterations, state.learning_rate, made_values,
                      list(zip(extras, extra_values)))
        known = {id(v) for v in extras}
        unknown = [v.name for v in run["foreign"] if id(v) not in known]
        if unknown:
            raise ValueError(f"{type(optimizer).__name__}.get_updates updates variables {unknown} that it "
                             "did not update at init; it must update the same ones at every run.")
        new = run["new"]
        leaves = [jnp.asarray(new.get(id(w), x), x.dtype) for w, x in zip(run["weights"], run["leaves"])]
        updates = treedef.unflatten([n - x for n, x in zip(leaves, run["leaves"])])
        count = new.get(id(run["count"]), state.iterations + 1)
        rate = new.get(id(run["rate"]), state.learning_rate)
        made = [new.get(id(v), old) for v, old in zip(run["made"], made_values)]
        extra = [new.get(id(v), old) for v, old in zip(extras, extra_values)]
        return updates, OptimizerState(jnp.asarray(count, state.iterations.dtype),
                                       jnp.asarray(rate, state.learning_rate.dtype),
                                       layout.to_slots(made, extra))

    # always traced, also in a `run_eagerly` model: a `K.update` of concrete values would assign at once
    return optax.GradientTransformation(jax.jit(init), jax.jit(update))


def _bind_wrapped(root, table, made):
    """Let each optimizer the root wraps read and set its count and rate, which live in the root's
    state, as its own (`K.set_value(inner.lr, x)` sets it live, `inner.iterations` reads it)."""
    index = {id(var): j for j, var in enumerate(made)}
    wrapped = {}
    for (_, what), (opt, var) in table.items():
        if opt is not root and id(var) in index and hasattr(opt, "bind"):
            wrapped.setdefault(id(opt), (opt, {}))[1][what] = index[id(var)]
    for opt, where in wrapped.values():
        opt.bind(*_view(root, where))


def _state_node(state):
    """The `OptimizerState` in `state` (a wrapper such as a loss scale may hold it inside)."""
    return find_node(state, lambda n: isinstance(n, OptimizerState))


def _replace_state(state, node):
    return replace_nodes(state, lambda n: isinstance(n, OptimizerState), lambda _: node)


def _view(root, where):
    """`(get, set)` of an `OptimizerState` made of the root's state entries `where` names."""
    def root_node():
        state = root._live[0]() if root._live else None
        return state, None if state is None else _state_node(state)

    def get():
        _, node = root_node()
        if node is None:
            return None
        made, _ = root._keras2_layout.from_slots(node.slots)
        return OptimizerState(*(made[where[what]] if what in where else getattr(node, what)
                                for what in ("iterations", "learning_rate")), {})

    def put(view):
        state, node = root_node()
        made, extras = root._keras2_layout.from_slots(node.slots)
        for what, j in where.items():
            made[j] = jnp.asarray(getattr(view, what), jnp.asarray(made[j]).dtype)
        new = node._replace(slots=root._keras2_layout.to_slots(made, extras))
        root._live[1](_replace_state(state, new))
    return get, put


def builtin_updates(optimizer, loss, params):
    """Keras 2's `get_updates` for a jkeras optimizer's own rule, so that a Keras 2 wrapper (a
    Lookahead) can call it: its state becomes variables made here, its updates `K.update`s."""
    grads = gradients(loss, params)
    values = [p.value for p in params]
    tx = optimizer.rule_transform()
    start = tx.init(values)
    slots = {name: jax.tree.map(lambda x, name=name: Variable(x, dtype=str(x.dtype), name=name), tree)
             for name, tree in start.slots.items()}
    count, rate = optimizer.iterations, optimizer.learning_rate
    state = OptimizerState(count.value, rate.value, jax.tree.map(lambda v: v.value, slots))
    steps, new = tx.update(grads, state, values)
    optimizer.weights = [count] + jax.tree.leaves(slots)
    # through `K.update`, the name a wrapper may intercept (keras-lookahead replaces it for a while)
    optimizer.updates = [K.update(var, value) for var, value in zip(jax.tree.leaves(slots),
                                                                    jax.tree.leaves(new.slots))]
    optimizer.updates += [K.update(count, new.iterations), K.update(rate, new.learning_rate)]
    optimizer.updates += [K.update(p, p.value + u) for p, u in zip(params, steps)]
    return optimizer.updates

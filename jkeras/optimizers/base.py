"""The Keras 3 optimizer machinery as one optax `GradientTransformation`.

Each update does what Keras 3's `apply_gradients` does, in its order: unscale
by `loss_scale_factor`, accumulate (`gradient_accumulation_steps`), clip
(`clipnorm` per variable, `global_clipnorm`, `clipvalue`), decay weights
(`p -= p * weight_decay * lr`), run the optimizer's own rule, then update the
EMA of the weights (`use_ema`). Clipping sits inside the one transformation,
not in an `optax.chain` before it, because Keras clips the *accumulated*
gradient.

The state is one `OptimizerState`. The learning rate lives in it as a traced
value, so callbacks change it between steps without recompiling, through the
pure functions `get_learning_rate` and `set_learning_rate`.

A subclass may instead implement Keras 2's `get_updates(loss, params)`; `make_transform` then
runs that inside the step (`optimizers.keras2`).
"""
import numbers

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jkeras.backend import epsilon as backend_epsilon
from jkeras.backend import floatx
from jkeras.backend.naming import to_snake_case, unique_name
from jkeras.backend.gradients import gradients as K_gradients
from jkeras.backend.variables import variable as backend_variable
from jkeras.optimizers import keras2, schedules
from jkeras.optimizers.learning_rate import (Keras2Decay, LearningRate, _BASE_RATE, _as_decay,
                                             _decay_schedule, _learning_rate)
# The state functions are imported from here too (jkeras.optimizers, the trainer, legacy.py).
from jkeras.optimizers.state import (CountedState, OptimizerState, _split_like,  # noqa: F401
                                     flatten_slots, get_learning_rate, iterations, set_learning_rate,
                                     slots, unflatten_slots, with_slots)
from jkeras.optimizers.state import find_node as _find
from jkeras.optimizers.state import replace_nodes as _replace


# Keys of tf.keras 2.11+ configs (and old Keras Nadam's) that mean nothing here.
_IGNORED_ARGS = ("jit_compile", "is_legacy_optimizer", "schedule_decay")


def _clip_by_norm(g, clipnorm):
    """Keras's per-variable clip: `g * clipnorm / max(||g||, clipnorm)`, NaN-safe at zero."""
    l2sum = jnp.sum(jnp.square(g), keepdims=True)
    nonzero = l2sum > 0
    l2norm = jnp.where(nonzero, jnp.sqrt(jnp.where(nonzero, l2sum, 1.0)), l2sum)
    return g * clipnorm / jnp.maximum(l2norm, clipnorm)


def _clip_by_global_norm(grads, clipnorm):
    """Keras's global clip; a non-finite norm makes every gradient NaN, as in Keras."""
    leaves = jax.tree.leaves(grads)
    norm = jnp.sqrt(jnp.sum(jnp.stack([jnp.sum(jnp.square(g)) for g in leaves])))
    scale = clipnorm * jnp.minimum(1.0 / norm, 1.0 / clipnorm) + (norm - norm)
    return jax.tree.map(lambda g: g * scale, grads)


def checked(name, value, below=None, optional=False):
    """`value` if it is a real number >= 0 (and < `below` when given), or None when `optional`;
    else a ValueError naming the argument, in Keras's words."""
    if value is None and optional:
        return value
    if (isinstance(value, numbers.Real) and not isinstance(value, bool) and value >= 0
            and (below is None or value < below)):
        return value
    expected = "a float >= 0" if below is None else f"a float in [0, {below})"
    raise ValueError(f"Argument `{name}` must be {expected}{' or None' if optional else ''}. "
                     f"Received: {name}={value!r}")


def epsilon_or_default(value):
    """Keras 2's `epsilon=None`: the backend's fuzz factor (`K.epsilon()`)."""
    return checked("epsilon", backend_epsilon() if value is None else value)


class Optimizer:
    """Base of the Keras-named optimizers.

    A subclass declares `_slots` (its own slot names, in Keras's order),
    `_own_config` (its own config keys, stored as attributes of the same name)
    and `_leaf_update(g, slots, lr, step) -> (update, new_slots)` for one
    parameter, where `step` is Keras's `iterations + 1` and `update` is added
    to the parameter. A rule that needs a parameter's shape (a per-matrix norm, a
    factored moment) sets `elementwise = False`; otherwise it may run on all
    parameters at once, flattened into one vector (`flatten_slots`).
    """
    _slots = ()
    _own_config = ()
    elementwise = True
    uses_params = False

    def __init__(self, learning_rate=None, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
                 loss_scale_factor=None, gradient_accumulation_steps=None, name=None, **kwargs):
        learning_rate = kwargs.pop("lr", learning_rate)  # Keras 2's spelling
        if learning_rate is None and uses_get_updates(self):
            learning_rate = 0.0  # Keras 2's base had no rate: the subclass sets `self.lr` itself
        decay = kwargs.pop("decay", None)
        for key in _IGNORED_ARGS:
            kwargs.pop(key, None)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        keras3_only = {key: value for key, value in (
            ("weight_decay", weight_decay), ("use_ema", use_ema), ("global_clipnorm", global_clipnorm),
            ("loss_scale_factor", loss_scale_factor),
            ("gradient_accumulation_steps", gradient_accumulation_steps)) if value}
        if keras3_only and uses_get_updates(self):
            raise ValueError(f"{type(self).__name__} implements Keras 2's get_updates, which has no place for "
                             f"Keras 3's optimizer arguments; received {keras3_only}.")
        for key, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm), ("weight_decay", weight_decay),
                           ("loss_scale_factor", loss_scale_factor), ("decay", decay)):
            checked(key, value, optional=True)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if gradient_accumulation_steps is not None and not gradient_accumulation_steps >= 2:
            raise ValueError("`gradient_accumulation_steps` must be an integer >= 2. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps}")
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                             f"Received: ema_momentum={ema_momentum}")
        if use_ema and ema_overwrite_frequency is not None and (
                not isinstance(ema_overwrite_frequency, int) or ema_overwrite_frequency < 1):
            raise ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. "
                             f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._live = None
        self._learning_rate = _learning_rate(learning_rate, decay)
        if isinstance(self._learning_rate, Keras2Decay):
            self._learning_rate._optimizer = self
        self.decay = float(decay or 0.0)
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps

    def bind(self, get_state, set_state):
        """Let `learning_rate` read and write a model's live optimizer state (set by compile)."""
        self._live = (get_state, set_state)

    @property
    def learning_rate(self):
        """The current rate once training has started, else the configured one: a
        `LearningRate` (a float `K.get_value`/`K.set_value` read and set), or the schedule.
        With Keras 2's `decay` it is a `Keras2Decay`, which they read and set too. Inside a
        Keras 2 `get_updates` it is the variable holding the step's traced rate."""
        replayed = keras2.proxy(self, "learning_rate")
        if replayed is not None:
            return replayed
        if callable(self._learning_rate):
            return self._learning_rate
        state = self._live[0]() if self._live else None
        value = self._learning_rate if state is None else float(get_learning_rate(state))
        return LearningRate(value, self)

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, Keras2Decay) and not callable(value):
            self._learning_rate.assign(value)
            return
        if callable(self._learning_rate) and not callable(value):
            raise TypeError("This optimizer was created with a learning-rate schedule, hence its "
                            "learning rate is not settable. Use a float `learning_rate` instead.")
        value = value if callable(value) else _learning_rate(float(np.asarray(value)), None)
        state = self._live[0]() if self._live else None
        if state is not None and not callable(value):
            self._live[1](self.set_learning_rate(state, value))
        self._learning_rate = value

    lr = learning_rate  # Keras 2's name

    @property
    def iterations(self):
        """How many updates the optimizer has applied (0 before training starts); inside a
        Keras 2 `get_updates`, the variable holding the step's traced count."""
        replayed = keras2.proxy(self, "iterations")
        if replayed is not None:
            return replayed
        state = self._live[0]() if self._live else None
        return 0 if state is None else int(iterations(state))

    @iterations.setter
    def iterations(self, value):
        """Keras 2's `self.iterations = K.variable(0)` in a `get_updates` optimizer's `__init__`:
        the count lives in the optimizer state, so the variable is not kept."""
        if not uses_get_updates(self):
            raise AttributeError(f"{type(self).__name__}.iterations is the optimizer state's count; set it "
                                 "with jkeras.optimizers.with_slots(opt_state, {}, iterations).")

    # ---- Keras 2's graph-building contract ----
    def get_gradients(self, loss, params):
        """Keras 2's `get_gradients`: `K.gradients(loss, params)`, clipped by `clipnorm` (Keras 2
        scaled all gradients by their global norm) or `clipvalue` when set."""
        grads = K_gradients(loss, params)
        if self.clipnorm and self.clipnorm > 0:
            norm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads))
            grads = [jnp.where(norm >= self.clipnorm, g * self.clipnorm / norm, g) for g in grads]
        if self.clipvalue and self.clipvalue > 0:
            grads = [jnp.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def get_updates(self, loss, params):
        """Keras 2's `get_updates` with this optimizer's own rule, for a Keras 2 optimizer that
        wraps it (a Lookahead calls its inner optimizer's); a subclass may implement its own."""
        return keras2.builtin_updates(self, loss, params)

    @property
    def weights(self):
        """Keras 2's `optimizer.weights`: the state variables a `get_updates` listed, as
        variables holding their current values (empty before training); inside a replay, the
        list the run set."""
        if keras2.replaying():
            return list(self.__dict__.get("_keras2_weights") or [])
        if not uses_get_updates(self):
            raise AttributeError(f"{type(self).__name__} has no Keras 2 `weights` list; its state is "
                                 "`jkeras.optimizers.slots(model._opt_state)`.")
        layout = getattr(self, "_keras2_layout", None)
        state = self._live[0]() if self._live else None
        if layout is None or state is None:
            return []
        node = _find(state, lambda n: isinstance(n, OptimizerState))
        made, extras = layout.from_slots(node.slots)
        values = {"iterations": [node.iterations], "made": made, "extra": extras}
        return [backend_variable(values[kind][i]) for kind, i in layout.weights]

    @weights.setter
    def weights(self, value):
        self.__dict__["_keras2_weights"] = list(value)

    def get_weights(self):
        """Keras 2's `get_weights`: the values of `weights`, as numpy."""
        return [np.asarray(w.numpy()) for w in self.weights]

    def set_weights(self, weights):
        """Keras 2's `set_weights`: new values for `weights`, in its order; every shape is
        checked before any value is set."""
        current = self.weights
        if len(weights) != len(current):
            raise ValueError(f"Length of the specified weight list ({len(weights)}) does not match the "
                             f"number of weights of the optimizer ({len(current)}).")
        for i, (w, value) in enumerate(zip(current, weights)):
            if tuple(np.shape(value)) != w.shape:
                raise ValueError(f"Optimizer weight {i} has shape {w.shape}; the value given has shape "
                                 f"{tuple(np.shape(value))}.")
        state, layout = self._live[0](), self._keras2_layout
        node = _find(state, lambda n: isinstance(n, OptimizerState))
        made, extras = layout.from_slots(node.slots)
        values = {"iterations": [node.iterations], "made": made, "extra": extras}
        for (kind, i), value in zip(layout.weights, weights):
            values[kind][i] = jnp.asarray(value, jnp.asarray(values[kind][i]).dtype)
        node = node._replace(iterations=values["iterations"][0], slots=layout.to_slots(made, extras))
        self._live[1](_replace(state, lambda n: isinstance(n, OptimizerState), lambda _: node))

    def slot_names(self):
        """Per-parameter slot names in Keras 3's order (file names are `<param path>_<slot>`);
        for a Keras 2 `get_updates`, its runs of per-weight variables, once it has run."""
        if uses_get_updates(self):
            layout = getattr(self, "_keras2_layout", None)
            return () if layout is None else layout.slots
        return (("average",) if self.use_ema else ()) + (
            ("gradient_accumulator",) if self.gradient_accumulation_steps else ()) + self._slots

    # Keras's slot variables are created in groups (one `add_optimizer_variables` call each),
    # interleaved per weight inside a group; files list them in that order.
    _slot_groups = None

    def slot_layouts(self, shapes):
        """`[(slot, weight index)]` in the order Keras 3 and tf.keras 2.11+ list this optimizer's
        variables for weights of `shapes` (EMA averages and accumulators first); a list of
        the layouts a file may hold, the one jkeras writes first."""
        if uses_get_updates(self):  # Keras 2's `weights` order: each slot for every weight
            return [[(slot, i) for slot in self.slot_names() for i in range(len(shapes))]]
        groups = (("average",) if self.use_ema else (),
                  ("gradient_accumulator",) if self.gradient_accumulation_steps else ())
        groups += tuple(self._slot_groups or (self._slots,))
        present = set(self.slot_names())
        return [[(slot, i) for group in groups for i in range(len(shapes))
                 for slot in group if slot in present]]

    def set_learning_rate(self, opt_state, value):
        """`set_learning_rate(opt_state, value)`; a TypeError with a schedule, as in Keras."""
        if callable(self._learning_rate):
            raise TypeError("This optimizer was created with a learning-rate schedule, hence its "
                            "learning rate is not settable. Use a float `learning_rate` instead.")
        return set_learning_rate(opt_state, float(np.asarray(value)))

    def _initial_slot(self, name, p):
        return jnp.zeros_like(p)

    def _init_scalars(self, params):
        """Slots that are one scalar for all parameters (Nadam's `u_product`)."""
        return {}

    def flat_slots(self, params):
        """The slots a multi-step loop may hold flat for `params` (see `flatten_slots`): all of
        this rule's, when it is elementwise and the params share one dtype; else none."""
        leaves = jax.tree.leaves(params)
        if (uses_get_updates(self) or not self.elementwise or len(leaves) < 2
                or len({x.dtype for x in leaves}) > 1):
            return ()
        return self._slots

    def _apply_rule(self, grads, slots, lr, step, params=None):
        """`_leaf_update` over the tree: (updates, new values of `self._slots`). A rule that
        reads the parameter (`uses_params`) gets it as `_leaf_update(..., p=param)`."""
        leaves, treedef = jax.tree.flatten(grads)
        scalars = {k: v for k, v in slots.items() if k not in self._slots}
        extra = lambda p: {"p": p} if self.uses_params else {}  # noqa: E731
        first = slots[self._slots[0]] if self._slots else None
        if isinstance(first, jax.Array) and jax.tree.structure(first) != treedef:
            # flat slots (flatten_slots): one rule call for all the weights
            g = jnp.concatenate([jnp.ravel(x) for x in leaves])
            p = jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(params)]) if self.uses_params else None
            update, new = self._leaf_update(g, slots, lr.astype(g.dtype), step, **extra(p))
            return _split_like(update, grads), {name: new[name] for name in self._slots}
        columns = [treedef.flatten_up_to(slots[name]) for name in self._slots]
        ps = treedef.flatten_up_to(params) if self.uses_params else [None] * len(leaves)
        outs = [self._leaf_update(g, {**scalars, **dict(zip(self._slots, s))}, lr.astype(g.dtype), step,
                                  **extra(p))
                for g, p, *s in zip(leaves, ps, *columns)]
        updates = treedef.unflatten([u for u, _ in outs])
        return updates, {name: treedef.unflatten([s[name] for _, s in outs]) for name in self._slots}

    def _lr_at(self, state_lr, n, slots):
        """The rate of update `n`: the schedule's, Keras 2's decayed one, or the state's."""
        if isinstance(self._learning_rate, Keras2Decay):
            base = slots[_BASE_RATE]
            return base / (1.0 + jnp.asarray(self.decay, base.dtype) * n.astype(base.dtype))
        if callable(self._learning_rate):
            return jnp.asarray(self._learning_rate(n), floatx())
        return state_lr

    def _initial_rate(self):
        """The rate of the first update: the schedule's at step 0, or the configured float."""
        rate = self._learning_rate
        return jnp.asarray(rate(jnp.zeros([], jnp.int32)) if callable(rate) else rate, floatx())

    def make_transform(self):
        """This optimizer as an `optax.GradientTransformation` over any params tree: a subclass
        that implements Keras 2's `get_updates` runs it (see `optimizers.keras2`), else `rule_transform`."""
        return keras2.transform(self) if uses_get_updates(self) else self.rule_transform()

    def rule_transform(self):
        """The built-in rule (`_leaf_update`) with clipping, decay, EMA and accumulation."""
        accumulate = self.gradient_accumulation_steps

        def init(params):
            zero = jnp.zeros([], jnp.int32)
            lr = self._initial_rate()
            slots = {name: jax.tree.map(lambda p: self._initial_slot(name, jnp.asarray(p)), params)
                     for name in self.slot_names()}
            if isinstance(self._learning_rate, Keras2Decay):
                slots[_BASE_RATE] = jnp.asarray(self._learning_rate.initial_learning_rate, floatx())
            return OptimizerState(zero, lr, {**slots, **self._init_scalars(params)})

        def update(grads, state, params=None):
            if params is None and (self.weight_decay or self.use_ema or self.uses_params):
                raise ValueError(f"{type(self).__name__} (or weight decay, EMA) needs `params` "
                                 "in update(grads, state, params).")
            n, slots = state.iterations, dict(state.slots)
            if self.loss_scale_factor is not None:
                grads = jax.tree.map(lambda g: g / self.loss_scale_factor, grads)
            if params is not None:
                grads = jax.tree.map(lambda g, p: jnp.asarray(g, jnp.asarray(p).dtype), grads, params)
            lr = self._lr_at(state.learning_rate, n, slots)
            if accumulate:
                is_update = (n + 1) % accumulate == 0
                summed = jax.tree.map(jnp.add, grads, slots["gradient_accumulator"])
                grads = jax.tree.map(lambda s, g: jnp.where(is_update, s / accumulate, g), summed, grads)
                slots["gradient_accumulator"] = jax.tree.map(
                    lambda s: jnp.where(is_update, jnp.zeros_like(s), s), summed)
                applied = n // accumulate
            else:
                applied = n
            grads = self._clip(grads)
            rule_slots = {k: v for k, v in slots.items() if k not in ("average", "gradient_accumulator")}
            updates, new_rule_slots = self._apply_rule(grads, rule_slots, lr, applied + 1,
                                                       params if self.uses_params else None)
            new_rule_slots = {**rule_slots, **new_rule_slots}
            if self.weight_decay:
                updates = jax.tree.map(
                    lambda u, p: u - p * jnp.asarray(self.weight_decay, p.dtype) * lr.astype(p.dtype),
                    updates, params)
            if accumulate:
                updates = jax.tree.map(lambda u: jnp.where(is_update, u, jnp.zeros_like(u)), updates)
                new_rule_slots = jax.tree.map(lambda new, old: jnp.where(is_update, new, old),
                                              new_rule_slots, rule_slots)
            slots.update(new_rule_slots)
            if self.use_ema:
                updates, slots["average"] = self._ema(params, updates, slots["average"], applied)
            new_lr = self._lr_at(state.learning_rate, n + 1, slots)
            return updates, OptimizerState(n + 1, new_lr, slots)

        return optax.GradientTransformation(init, update)

    def _clip(self, grads):
        if self.clipnorm and self.clipnorm > 0:
            return jax.tree.map(lambda g: _clip_by_norm(g, self.clipnorm), grads)
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm)
        if self.clipvalue and self.clipvalue > 0:
            return jax.tree.map(lambda g: jnp.clip(g, -self.clipvalue, self.clipvalue), grads)
        return grads

    def _ema(self, params, updates, average, applied):
        """Keras's weight EMA after the update, and its periodic overwrite of the weights."""
        new_params = optax.apply_updates(params, updates)

        def mix(avg, p):
            momentum = (applied != 0).astype(p.dtype) * self.ema_momentum
            return momentum * avg + (1 - momentum) * p

        average = jax.tree.map(mix, average, new_params)
        if self.ema_overwrite_frequency:
            overwrite = (applied + 1) % self.ema_overwrite_frequency == 0
            updates = jax.tree.map(lambda u, avg, p: jnp.where(overwrite, avg - p, u),
                                   updates, average, params)
        return updates, average

    def get_config(self):
        """Keras 3's config keys and values for this optimizer; for a Keras 2 `get_updates`
        subclass, Keras 2's base config (`clipnorm`, `clipvalue` when set), which its own extends."""
        if uses_get_updates(self):
            return {key: getattr(self, key) for key in ("clipnorm", "clipvalue") if getattr(self, key)}
        lr = self._learning_rate
        if not callable(lr) or isinstance(lr, Keras2Decay):
            rate = float(np.float32(float(self.learning_rate)))  # the live rate, as Keras's float32
            lr = _decay_schedule(rate, self.decay) if self.decay else rate
        elif isinstance(lr, schedules.LearningRateSchedule):
            lr = schedules.serialize(lr)
        else:
            raise ValueError(f"Cannot serialize the learning rate {lr!r}: only a float or a "
                             "jkeras.optimizers.schedules.LearningRateSchedule can be written.")
        config = {"name": self.name, "learning_rate": lr, "weight_decay": self.weight_decay,
                  "clipnorm": self.clipnorm, "global_clipnorm": self.global_clipnorm,
                  "clipvalue": self.clipvalue, "use_ema": self.use_ema,
                  "ema_momentum": self.ema_momentum,
                  "ema_overwrite_frequency": self.ema_overwrite_frequency,
                  "loss_scale_factor": self.loss_scale_factor,
                  "gradient_accumulation_steps": self.gradient_accumulation_steps}
        config.update({key: getattr(self, key) for key in self._own_config})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """An optimizer from a Keras 3 or tf.keras 2 config (tf.keras-only keys are ignored)."""
        config = dict(config)
        lr = config.get("learning_rate")
        if isinstance(lr, dict) and _as_decay(lr) and not config.get("decay"):
            config["learning_rate"], config["decay"] = _as_decay(lr)
        elif isinstance(lr, dict):
            config["learning_rate"] = schedules.deserialize(lr, custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<jkeras.optimizers.{type(self).__name__} name={self.name!r}>"


def uses_get_updates(optimizer):
    """Whether an optimizer implements Keras 2's `get_updates` itself (its rule is that)."""
    return type(optimizer).get_updates is not Optimizer.get_updates


class OptaxOptimizer:
    """A raw optax transformation used as a jkeras optimizer: updates are counted, there are
    no Keras slot names, and it has no Keras config."""

    def __init__(self, transform, name=None):
        self.transform = transform
        self.name = name or unique_name("optax_optimizer")

    def slot_names(self):
        return ()

    def set_learning_rate(self, opt_state, value):
        return set_learning_rate(opt_state, value)

    def make_transform(self):
        tx = self.transform

        def init(params):
            return CountedState(tx.init(params), jnp.zeros([], jnp.int32))

        def update(grads, state, params=None):
            updates, inner = tx.update(grads, state.inner, params)
            return updates, CountedState(inner, state.iterations + 1)

        return optax.GradientTransformation(init, update)

    def get_config(self):
        raise ValueError(f"{self!r} wraps a raw optax transformation, which has no Keras config; "
                         "use a jkeras optimizer (e.g. jkeras.optimizers.Adam) to save it.")

    def __repr__(self):
        return f"<jkeras.optimizers.OptaxOptimizer name={self.name!r}>"

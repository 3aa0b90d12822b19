"""The named train state (everything a train step reads and returns, in one pytree) and the
model's accessors to it: the only way callbacks and saving reach the values training changes."""
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.backend import placement
from jkeras.models import compile_utils as cu


class TrainState(NamedTuple):
    """What changes during training, as the train step carries it.

    `trainable` and `frozen` are the model's parameter tree split by what `compile()` found
    trainable; `state` holds the non-trainable values layers update (BatchNorm statistics,
    stateful RNN carries); `opt_state` is the optimizer's (optax) state, or what a custom
    `init_opt_state` returns; `metrics` the running metric state of the epoch; `step` the
    number of train steps taken (the step's PRNG key is `fold_in(root key, step)`).
    A NamedTuple is a pytree, so the state can be donated, scanned over and placed on devices
    as a whole; the field order is the positional carry's, so `TrainState(*carry)` holds.
    """

    trainable: Any
    frozen: Any
    state: Any
    opt_state: Any
    metrics: Any
    step: Any


class TrainStateAccess:
    """Mixin of the Trainer: the model's values as a `TrainState`, to and from the layers."""

    def _make_carry(self, mstate):
        """A fresh copy of the current values, safe to donate to the train step."""
        trainable, frozen = cu.split_params(self._own_tree(True), self._trainable_mask)
        carry = TrainState(trainable, frozen, self._own_tree(False), self._opt_state, mstate,
                           np.int32(self._step))
        if self._distribution is not None:
            return self._distribution.place(carry)
        return self._place(carry) if self._placed else _fresh_copy(carry)  # placed steps donate nothing

    def _write_back(self, carry):
        if jax.process_count() > 1:
            carry = placement.to_local(carry)
        self._assign_tree(cu.merge_params(carry.trainable, carry.frozen), params=True)
        self._assign_tree(carry.state, params=False)
        self._opt_state = carry.opt_state
        self._step = carry.step

    def get_train_state(self):
        """The model's current `TrainState`, as copies (safe to keep while training goes on).

        Compiled or not: an uncompiled model gives `opt_state=None, metrics=None`; a compiled
        one its optimizer state (None before the first step) and the metric state
        `train_on_batch(reset_metrics=False)` accumulates (fresh when there is none).
        """
        return jax.tree.map(jnp.copy, self._current_train_state())

    def set_train_state(self, train_state):
        """Make `train_state` (a `TrainState`) the model's current values: weights, layer state,
        optimizer state, metric state and step. Every field is checked against the model's
        structure and shapes first, so a state that does not fit changes nothing."""
        ts = TrainState(*train_state)
        mine = self._current_train_state()
        for field in ("trainable", "frozen", "state"):
            _check_fits(field, getattr(ts, field), getattr(mine, field))
        if ts.opt_state is not None:
            if not self.compiled:
                raise ValueError("set_train_state: an uncompiled model has no optimizer state; compile() "
                                 "it first or pass opt_state=None.")
            expected = self._opt_state
            if expected is None:
                expected = jax.eval_shape(self.init_opt_state, mine.trainable)
            _check_fits("opt_state", ts.opt_state, expected)
        if ts.metrics is not None:
            if getattr(self, "_compiled_metrics", None) is None:
                raise ValueError("set_train_state: this model has no metric state yet (it is built by the "
                                 "first fit/evaluate/train_on_batch); pass metrics=None.")
            _check_fits("metrics", ts.metrics, self._metrics_init())
        if np.ndim(ts.step) or not np.issubdtype(np.asarray(ts.step).dtype, np.integer):
            raise ValueError(f"set_train_state: step must be an integer scalar; received {ts.step!r}.")
        self._write_back(ts)
        if ts.metrics is not None:
            self._batch_metrics = (self._compiled_metrics, ts.metrics)

    @property
    def seed(self):
        """The root seed of the model's training randomness (dropout keys, shuffling); set by
        `compile(seed=...)` or the global seed at compile time; None before compile."""
        return getattr(self, "_seed", None)

    @seed.setter
    def seed(self, value):
        self._seed = None if value is None else int(value)

    @property
    def steps_trained(self):
        """How many train steps the model has taken (the `step` of its train state), as an int."""
        return int(self._step)

    def live_train_state(self):
        """Inside a train batch callback of `fit`: a copy of the `TrainState` after that batch
        (the running values, which the model's weights only get at the end of the epoch);
        None outside one. `set_train_state(model.live_train_state())` syncs the weights."""
        if self._live is None:
            return None
        return jax.tree.map(jnp.copy, self._live)

    def resume_from(self, epoch, batch, metrics=None):
        """Make the next `fit` start at batch `batch` of epoch `epoch` (both 0-based) with the
        epoch's running metric state `metrics` (a pytree of the metric state's structure, values
        as arrays or nested lists; None for a fresh one), as BackupAndRestore does when it
        restores a checkpoint in `on_train_begin`."""
        if metrics is not None:
            metrics = jax.tree.map(lambda ref, v: jnp.asarray(v, ref.dtype), self._metrics_init(), metrics)
        self._resume_point = (int(epoch), int(batch), metrics)

    def _current_train_state(self):
        """`get_train_state()` without the copies: the arrays the layers hold now."""
        trainable, frozen = cu.split_params(self._own_tree(True), self._current_mask())
        metrics = (self._on_batch_metrics(False)
                   if self.compiled and getattr(self, "_compiled_metrics", None) is not None else None)
        return TrainState(trainable, frozen, self._own_tree(False), self._opt_state if self.compiled else None,
                          metrics, np.int32(self._step))

    def _current_mask(self):
        """The trainable mask `compile()` fixed, or (uncompiled) the one the layers give now."""
        mask = getattr(self, "_trainable_mask", None)
        return cu.trainable_mask(self) if mask is None else mask


def _check_fits(field, given, expected):
    """Raise a ValueError naming the first leaf of `given` whose place or shape differs from
    `expected`'s (both pytrees; `expected` may hold ShapeDtypeStructs)."""
    got, want = jax.tree_util.tree_structure(given), jax.tree_util.tree_structure(expected)
    if got != want:
        raise ValueError(f"set_train_state: `{field}` does not have the model's structure; "
                         f"expected {want}, received {got}.")
    pairs = zip(jax.tree_util.tree_flatten_with_path(given)[0], jax.tree.leaves(expected))
    for (path, leaf), ref in pairs:
        if np.shape(leaf) != np.shape(ref):
            raise ValueError(f"set_train_state: `{field}{jax.tree_util.keystr(path)}` has shape "
                             f"{np.shape(leaf)}; the model's has {np.shape(ref)}.")


def _fresh_copy(tree):
    """New device buffers holding `tree`'s values, copied by the runtime (no program to compile)."""
    return jax.device_put(tree, may_alias=False)

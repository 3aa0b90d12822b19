"""The pure steps and the jitted programs that run them.

`train_step(state, data) -> (logs, state)` and `test_step` are public and overridable (Keras
3's JAX trainer API); the programs here (`_train_fn`, `_auto_train_fn`, `_train_batch_fn`,
`_test_fn`, `_chunk_test_fn`, the predict functions) call them, several steps per dispatch
in a `lax.scan` or `fori_loop`, each compiled once per signature.
"""
import contextlib
import math

import jax
import jax.numpy as jnp

from jkeras import activations
from jkeras import optimizers as optimizers_mod
from jkeras.backend import placement
from jkeras.layers import paths
from jkeras.layers.base import collect_losses, collect_metrics, padded_rows
from jkeras.optimizers import loss_scale
from jkeras.optimizers.base import flatten_slots, unflatten_slots
from jkeras.models import compile_utils as cu
from jkeras.models import graph
from jkeras.models import jaxpr_cost
from jkeras.models.train_state import TrainState

_LOOP_MAX_FLOPS = 16e6  # a step this small waits on its dispatch (scripts/BENCH_RESULTS.md)


class Steps:
    """Mixin of the Trainer: the steps and their compiled programs."""

    def _loss_and_updates(self, trainable, frozen, state, x, y, sw, key, training, mask=None):
        params = cu.merge_params(trainable, frozen)
        with activations.keep_logits():  # a crossentropy of a softmax output uses its logits
            with collect_losses() as extra, collect_metrics() as logged, graph.output_masks() as out_masks, \
                    (padded_rows(mask) if mask is not None else contextlib.nullcontext()):
                y_pred, new_state = self._run(params, state, x, training=training, key=key)
            y_pred = self._as_output_list(y_pred)
            if self._placed:  # the loss is computed where unplaced work runs
                y_pred, extra[:], out_masks[:], logged[:] = jax.device_put(
                    (y_pred, list(extra), list(out_masks), list(logged)), jax.devices()[0])
            total, parts = self._compiled_loss(y, y_pred, sw, mask, out_masks or None)
            logits = [activations.found_logits(out) for out in y_pred]  # for the metrics
        # The weight penalties (of the trainable weights) and added losses count in evaluation
        # too, as in Keras 2, tf.keras 2 and Keras 3.
        penalties = _penalties(self, trainable)
        total = total + sum(penalties) + sum(extra)
        return total, (parts, y_pred, new_state, logits, logged, list(out_masks) or None)

    def _update_metrics(self, mstate, total, parts, y, y_pred, logits, sw, mask, batch_size, logged,
                        out_masks):
        """The metrics after a step: the compiled ones (a crossentropy metric of a softmax output
        uses the logits too, as in tf.keras 2; an output's Keras mask weights its metrics, as in
        tf.keras 2), and the `add_metric` means, padding rows left out."""
        with activations.keep_logits(zip(y_pred, logits)):
            mstate = self._compiled_metrics.update(mstate, total, parts, y, y_pred, sw, mask, batch_size,
                                                   out_masks)
        for name, value in logged:
            if name not in mstate:
                raise ValueError(f"A layer called add_metric(..., name={name!r}) only in training; "
                                 f"jkeras finds the names in an inference trace. Known: {self._layer_metrics}.")
            value = jnp.asarray(value, jnp.float32)
            weight = jnp.ones_like(value)
            if mask is not None and value.ndim and value.shape[0] == mask.shape[0]:
                weight = weight * mask.reshape(mask.shape + (1,) * (value.ndim - 1))
            mstate[name] = mstate[name] + jnp.stack([jnp.sum(value * weight), jnp.sum(weight)])
        return mstate

    def step_key(self, state):
        """The PRNG key of the train step that takes `state`: `fold_in(root key, state.step)`,
        where the root key comes from the model's seed. For use inside `train_step` (dropout
        and any other randomness of a step), so that the same seed gives the same bits."""
        root = self.__dict__.get("_step_root_key")
        if root is None:
            raise RuntimeError("step_key() gives the key of the train step being compiled; call it "
                               "inside train_step.")
        return jax.random.fold_in(root, state.step)

    def train_step(self, state, data):
        """One gradient step: `(logs, new_state)` for a `TrainState` and a batch `data` =
        `(x, y, sample_weight)`: `x` as the model takes it, `y` and `sample_weight` lists with
        one entry (maybe None) per output. `fit` may append a `mask` (batch,), 0 on the rows
        that only pad a short last batch up to the compiled size (see `_pads_short_batch`).

        `fit` and `train_on_batch` compile it (several steps in one program, see
        `steps_per_execution`); a subclass may override it, as in Keras 3, and then the
        `logs` (a dict of scalars) of the latest step are what `fit` reports. The default
        differentiates the compiled loss (plus weight penalties and `add_loss` losses) with
        respect to `state.trainable`, applies the compiled optimizer and the weight
        constraints, updates the metrics and counts the step.
        """
        x, y, sw, *padding = data
        mask = padding[0] if padding else None
        trainable, frozen, opt_state = state.trainable, state.frozen, state.opt_state
        key = self.step_key(state)
        # the loss is scaled for differentiation: a LossScaleOptimizer's dynamic scale (float16
        # gradients), times a `loss_scale_factor` the optimizer divides the gradients by again
        scale = loss_scale.current_scale(opt_state) * (getattr(self.optimizer, "loss_scale_factor", None) or 1.0)
        grad_fn = loss_scale.value_and_grad(self._loss_and_updates, scale)
        (total, (parts, y_pred, new_state, logits, logged, out_masks)), grads = grad_fn(
            trainable, frozen, state.state, x, y, sw, key, True, mask)
        # a weight a nested model shares with its parent sits at two paths: both copies get the
        # sum of their gradients, so they stay equal (one weight, as in Keras)
        grads = paths.tie(grads, paths.index_of(self).tied_paths(), sum)
        updates, opt_state = self._tx.update(grads, opt_state, trainable)
        trainable = jax.tree.map(lambda p, u: p + u, trainable, updates)
        trainable = _apply_constraints(self, trainable)
        batch_size = jax.tree.leaves(x)[0].shape[0]
        mstate = self._update_metrics(state.metrics, total, parts, y, y_pred, logits, sw, mask, batch_size,
                                      logged, out_masks)
        return self._metric_results(mstate), TrainState(trainable, frozen, new_state, opt_state, mstate,
                                                        state.step + 1)

    def test_step(self, state, data):
        """Loss and metrics of one batch in inference mode: `(logs, new_state)`, where `state` is
        a `TrainState` (its `opt_state` and `step` None) and `data` is
        `(x, y, sample_weight, mask)`: `mask` (batch,) is 0 on the rows that only pad the last
        batch up to the compiled size, which no loss or metric may count.

        `evaluate` (and validation in `fit`) compiles it; a subclass may override it, and then
        the `logs` of the latest batch are what `evaluate` reports.
        """
        x, y, sw, mask = data
        total, (parts, y_pred, new_state, logits, logged, out_masks) = self._loss_and_updates(
            state.trainable, state.frozen, state.state, x, y, sw, None, False, mask)
        batch_size = jax.tree.leaves(x)[0].shape[0]
        mstate = self._update_metrics(state.metrics, total, parts, y, y_pred, logits, sw, mask,
                                      batch_size, logged, out_masks)
        return self._metric_results(mstate), state._replace(state=new_state, metrics=mstate)

    def init_opt_state(self, trainable):
        """A fresh optimizer state for the `trainable` tree: the compiled optimizer's. A subclass
        that trains with several optimizers (a GAN's two) overrides it to return any pytree,
        which its `train_step` then finds in `state.opt_state`."""
        return self._tx.init(trainable)

    def _overrides(self, name):
        """Whether this model's class overrides the Trainer method `name` (a custom step)."""
        return getattr(type(self), name) is not getattr(Steps, name)

    @contextlib.contextmanager
    def _root_key_as(self, root_key):
        """Within the block, `step_key` derives from `root_key` (a traced argument of the step)."""
        before = self.__dict__.get("_step_root_key")
        self.__dict__["_step_root_key"] = root_key
        try:
            yield
        finally:
            if before is None:
                self.__dict__.pop("_step_root_key", None)
            else:
                self.__dict__["_step_root_key"] = before

    def _train_step(self, carry, batch, root_key, mask=None):
        """`train_step` as the compiled programs run it, on `(state, logs)`: the batch sharded,
        the root key given to `step_key`, the padding `mask` appended where there is one. The
        logs are kept only where a subclass overrides `train_step` (the default's are the
        metrics' results, read from the state)."""
        data = self._shard_batch(batch)
        with self._root_key_as(root_key):
            logs, state = self.train_step(carry[0], data if mask is None else (*data, mask))
        return state, (logs if self._overrides("train_step") else None)

    def _pads_short_batch(self):
        """Whether `fit` runs a short last batch padded up to the batch size, its padding rows
        masked out of the loss and metrics, in the program of the full batches (one compile
        instead of two): for the default `train_step` of a model made of built-in layers whose
        rows train independently (not BatchNormalization, whose batch statistics would see the
        padding, nor a Lambda or custom layer, which may mix rows)."""
        if self._overrides("train_step") or self.stateful or self._placed:
            return False
        return all(type(layer).__module__.startswith("jkeras.") and not layer._mixes_rows
                   for layer in _sublayers(self))

    def _row_mask(self, first_row, batch_size, rows):
        """The padding mask of the batch starting at `first_row` of an epoch of `rows` real
        rows (a traced count); None where `fit` does not pad."""
        if not self._pads_short_batch():
            return None
        return (first_row + jnp.arange(batch_size) < rows).astype(jnp.float32)

    def _zero_logs(self, method, step, *specs):
        """Zeros shaped like the logs `step(*specs)[1]` (a loop's first carry) where a subclass
        overrides `method`; None for the default steps, which keep no logs."""
        if not self._overrides(method):
            return None
        logs = jax.eval_shape(step, *specs)[1]
        return jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), logs)

    def _train_fn(self, batch_size, steps):
        """Jitted: `steps` train steps on batches gathered from device data by `perm`;
        returns `(state, logs)`.

        The steps run in a `lax.scan`, except for models with convolutions, whose steps are
        unrolled: XLA:CPU runs convolutions inside a loop body many times slower (measured:
        scripts/BENCH_RESULTS.md),
        while a scan compiles and runs small models faster than unrolled steps. A device-placed
        model's steps are unrolled too, so that `models.placed` can cut them by device.
        """
        key = ("train", batch_size, steps)
        if key not in self._jitted:
            def run(carry, data, perm, start, rows, root_key):
                self._trace_counts["train"] += 1
                # one gather of the rows of all `steps` batches, then contiguous slices: rows
                # gathered batch by batch cost a cache miss each on the step's critical path
                idx = jax.lax.dynamic_slice_in_dim(perm, start, steps * batch_size)
                gathered = jax.tree.map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)

                def one(pair, i):
                    batch = jax.tree.map(
                        lambda a: jax.lax.dynamic_slice_in_dim(a, i * batch_size, batch_size), gathered)
                    mask = self._row_mask(start + i * batch_size, batch_size, rows)
                    return self._train_step(pair, batch, root_key, mask), None

                pair = (carry, self._zero_logs("train_step", lambda p: one(p, 0)[0], (carry, None)))
                if steps == 1 or self._placed or jaxpr_cost.uses_convolution(one, pair, 0):
                    for i in range(steps):
                        pair = one(pair, i)[0]
                    carry, logs = pair
                    return carry, self._final_logs("train_step", carry.metrics, logs)
                flat = self._flat_slots(carry.trainable)
                pair = (carry._replace(opt_state=flatten_slots(carry.opt_state, flat)), pair[1])
                carry, logs = jax.lax.scan(one, pair, jnp.arange(steps))[0]
                return (carry._replace(opt_state=unflatten_slots(carry.opt_state, flat, carry.trainable)),
                        self._final_logs("train_step", carry.metrics, logs))
            self._jitted[key] = self._compile(run, donate_argnums=(0,))
        return self._jitted[key]

    def _auto_train_fn(self, batch_size):
        """Jitted: a traced number of train steps in a `fori_loop`, so every chunk `"auto"` runs
        (one step or a whole epoch) is one program, and gives the same bits whatever the chunks;
        returns `(state, logs)`.

        None where the loop would not pay: op-by-op models, device-placed ones (`models.placed`
        cuts steps by device, not a loop), and on XLA:CPU convolutions (much
        slower in a loop) and steps long enough that the dispatch is not what they wait for
        (scripts/BENCH_RESULTS.md has the measurements). The choice depends on
        the model and batch size only, never on timings, so a script gives the same bits each run.
        """
        key = ("train_auto", batch_size)
        if key not in self._jitted:
            def run(carry, data, perm, start, count, rows, root_key):
                self._trace_counts["train"] += 1

                def one(i, pair):
                    first = start + i * batch_size
                    idx = jax.lax.dynamic_slice_in_dim(perm, first, batch_size)
                    batch = jax.tree.map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)
                    return self._train_step(pair, batch, root_key, self._row_mask(first, batch_size, rows))

                logs = self._zero_logs("train_step", lambda pair: one(0, pair), (carry, None))
                flat = self._flat_slots(carry.trainable)
                pair = (carry._replace(opt_state=flatten_slots(carry.opt_state, flat)), logs)
                carry, logs = jax.lax.fori_loop(0, count, one, pair)
                return (carry._replace(opt_state=unflatten_slots(carry.opt_state, flat, carry.trainable)),
                        self._final_logs("train_step", carry.metrics, logs))
            pays = self._loop_pays(3 * batch_size)  # forward + backward
            self._jitted[key] = jax.jit(run, donate_argnums=(0,)) if pays else None
        return self._jitted[key]

    def _loop_pays(self, forwards):
        """Whether steps costing `forwards` samples' forward passes run faster in one compiled
        loop than one dispatch each (see `_auto_train_fn`)."""
        if self._placed or getattr(self, "_run_eagerly", False):
            return False
        flops = forwards * getattr(self, "_sample_flops", math.inf)
        return jax.default_backend() != "cpu" or not (getattr(self, "_convolves", True)
                                                      or flops > _LOOP_MAX_FLOPS)

    def _flat_slots(self, trainable):
        """Optimizer slots a scan of steps holds as flat vectors (`optimizers.flatten_slots`):
        a jkeras optimizer's elementwise rule on one device, stepped by the default
        `train_step` on the default `init_opt_state`; else none."""
        opt = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        if (self._distribution is not None or self._placed or not isinstance(opt, optimizers_mod.Optimizer)
                or self._overrides("train_step") or self._overrides("init_opt_state")):
            return ()
        return opt.flat_slots(trainable)

    def _train_batch_fn(self):
        """Jitted: one train step on a batch that arrives from the host; `(state, logs)`."""
        if "train_batch" not in self._jitted:
            def run(carry, batch, root_key):
                self._trace_counts["train_batch"] += 1
                carry, logs = self._train_step((carry, None), batch, root_key)
                return carry, self._final_logs("train_step", carry.metrics, logs)
            self._jitted["train_batch"] = self._compile(run, donate_argnums=(0,))
        return self._jitted["train_batch"]

    def _test_step(self, trainable, frozen, carry, batch, mask):
        """`test_step` as the compiled programs run it, on `(metrics, state, logs)`: the batch
        sharded; the logs kept only where a subclass overrides `test_step`."""
        x, y, sw = self._shard_batch(batch)
        mstate, state, _ = carry
        logs, new = self.test_step(TrainState(trainable, frozen, state, None, mstate, None), (x, y, sw, mask))
        return new.metrics, new.state, (logs if self._overrides("test_step") else None)

    def _test_fn(self):
        """Jitted: one test step, `(trainable, frozen, state, metrics, batch, mask) ->
        (metrics, state, logs)`."""
        if "test" not in self._jitted:
            def run(trainable, frozen, state, mstate, batch, mask):
                self._trace_counts["test"] += 1
                mstate, state, logs = self._test_step(trainable, frozen, (mstate, state, None), batch, mask)
                return mstate, state, self._final_logs("test_step", mstate, logs)
            self._jitted["test"] = self._compile(run)
        return self._jitted["test"]

    def _chunk_test_fn(self, batch_size):
        """Jitted: the first `count` batches of a chunk of rows, in a `fori_loop`; one program
        for every dataset size, the last chunk padded and its padding masked."""
        key = ("test_chunk", batch_size)
        if key not in self._jitted:
            def run(trainable, frozen, state, mstate, chunk, mask, count):
                self._trace_counts["test"] += 1

                def one(i, carry):
                    part = lambda a: jax.lax.dynamic_slice_in_dim(a, i * batch_size, batch_size)  # noqa: E731
                    return self._test_step(trainable, frozen, carry, jax.tree.map(part, chunk), part(mask))
                logs = self._zero_logs("test_step", lambda c: (None, one(0, c)[2]), (mstate, state, None))
                mstate, state, logs = jax.lax.fori_loop(0, count, one, (mstate, state, logs))
                return mstate, state, self._final_logs("test_step", mstate, logs)
            self._jitted[key] = jax.jit(run)
        return self._jitted[key]

    def _predict_fn(self, treedef):
        """Jitted inference on the leaves of `(params, state)`: `(outputs, new_state)`. The state
        is None unless a layer is stateful (an RNN carrying it to the next call)."""
        key = ("predict", treedef)
        if key not in self._jitted:
            def run(leaves, x):
                self._trace_counts["predict"] += 1
                params, state = treedef.unflatten(leaves)
                out, new_state = self._run(params, state, self._shard_batch(x), training=False)
                return out, (new_state if self.stateful else None)
            self._jitted[key] = self._compile(run)
        return self._jitted[key]

    def _chunk_predict_fn(self, treedef, batch_size):
        """Jitted: outputs of the first `count` batches of a chunk, in a `fori_loop` (see `_predict_fn`)."""
        key = ("predict_chunk", treedef, batch_size)
        if key not in self._jitted:
            def run(leaves, chunk, count):
                self._trace_counts["predict"] += 1
                params, state = treedef.unflatten(leaves)
                part = lambda a, i: jax.lax.dynamic_slice_in_dim(a, i * batch_size, batch_size)  # noqa: E731
                forward = lambda st, i: self._run(params, st, jax.tree.map(lambda a: part(a, i), chunk),  # noqa: E731
                                                  training=False)
                spec = jax.eval_shape(forward, state, 0)[0]
                rows = jax.tree.leaves(chunk)[0].shape[0]
                buf = jax.tree.map(lambda o: jnp.zeros((rows,) + o.shape[1:], o.dtype), spec)

                def one(i, carry):
                    buf, st = carry
                    out, new = forward(st, i)
                    buf = jax.tree.map(lambda b, o: jax.lax.dynamic_update_slice_in_dim(b, o, i * batch_size, 0),
                                       buf, out)
                    return buf, (new if self.stateful else st)
                buf, state = jax.lax.fori_loop(0, count, one, (buf, state))
                return buf, (state if self.stateful else None)
            self._jitted[key] = jax.jit(run)
        return self._jitted[key]

    def _final_logs(self, method, mstate, logs):
        """What a program returns as its logs: a custom `method`'s own, else the metrics' results
        of its final metric state, in `metrics_names` order (jit would sort a dict's keys),
        computed in the program rather than by a dispatch of their own."""
        return logs if self._overrides(method) else self._ordered_results(mstate)

    def _ordered_results(self, mstate):
        results = self._metric_results(mstate)
        return [results[k] for k in self.metrics_names]

    def _results_fn(self):
        """Jitted metric results, in `metrics_names` order: the logs where no step has run."""
        if "results" not in self._jitted:
            self._jitted["results"] = jax.jit(self._ordered_results)
        return self._jitted["results"]

    def _step_logs(self, method, mstate, logs):
        """The logs of the latest step as a dict, on the device: those its program returned
        (`_final_logs`), or the metrics' results of `mstate` where no step has run ({} for a
        custom `method`)."""
        custom = self._overrides(method)
        if logs is None:
            logs = {} if custom else self._results_fn()(mstate)
        if jax.process_count() > 1:
            logs = placement.to_local(logs)
        return dict(logs) if custom else dict(zip(self.metrics_names, logs))


def _sublayers(layer):
    """`layer` and every layer inside it, depth first (wrapped and nested ones included)."""
    yield layer
    for sub in layer._layers:
        yield from _sublayers(sub)


def _penalties(model, trainable):
    """The weight regularizers' penalties of the `trainable` tree, layer by layer in the walk
    order of the model's `PathIndex` (the root first), each layer's in its own order; a layer
    met at several paths (shared by a nested model and its parent) once, at its first."""
    out, seen = [], set()
    for prefix, layer in paths.index_of(model).layer_paths():
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        own = paths.get_path(trainable, prefix) if paths.has_path(trainable, prefix) else {}
        out.extend(layer.regularization_losses(own))
    return out


def _apply_constraints(model, trainable):
    """`trainable` with each weight's constraint applied (after an update); the tree itself
    where no weight has one."""
    index = paths.index_of(model)
    constraints = {}
    for path in paths.weight_paths(trainable):
        constraint = index.constraint(path) if index.has_layer(path[:-1]) else None
        if constraint is not None:
            constraints[path] = constraint
    if not constraints:
        return trainable
    return paths.map_with_path(lambda path, v: constraints[path](v) if path in constraints else v, trainable)

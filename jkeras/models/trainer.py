"""compile / fit / evaluate / predict: the facade over three jitted pure functions.

Everything that changes in training travels in one `TrainState`
`(trainable, frozen, state, opt_state, metrics, step)`; the train step is
`value_and_grad` + optax, jitted once per batch shape with the carry donated.
Array data lives on the device for the whole `fit`; each epoch's order is a
permutation drawn from `(root key, epoch)` and batches are gathered inside the
compiled loop, which runs `steps_per_execution` steps per dispatch.
"""
import collections
import contextlib
import itertools
import math
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import activations
from jkeras import callbacks as callbacks_mod
from jkeras import optimizers as optimizers_mod
from jkeras.backend import config, placement
from jkeras.backend.random import layer_key, root_seed
from jkeras.layers import paths
from jkeras.layers.base import Variable, collect_losses, collect_metrics, padded_rows
from jkeras.legacy import interfaces
from jkeras.optimizers import loss_scale
from jkeras.optimizers.base import flatten_slots, unflatten_slots
from jkeras.models import compile_utils as cu
from jkeras.models import graph
from jkeras.models.train_state import TrainState
from jkeras.data import adapters as data_mod
from jkeras.data import sources


class Trainer:
    """Mixin giving a model Keras's training API."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._opt_state = None
        self._step = 0
        self._trace_counts = collections.Counter()
        self._jitted = {}
        self._live = None
        self._resume_point = None
        self._distribution = None
        self._layer_metrics = []

    # ---- compile ----
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution="auto", jit_compile=True,
                seed=None, **kwargs):
        """Resolve optimizer, losses and metrics; freeze what is not `trainable` now."""
        unknown = set(kwargs) - {"sample_weight_mode", "target_tensors", "auto_scale_loss"}
        if unknown:
            raise TypeError(f"compile() got unexpected keyword arguments {sorted(unknown)}.")
        if steps_per_execution != "auto" and (not isinstance(steps_per_execution, int)
                                               or steps_per_execution < 1):
            raise ValueError(f"steps_per_execution must be a positive int; received "
                             f"{steps_per_execution!r}. ('auto', the default, lets fit choose.)")
        optimizer = optimizers_mod.get(optimizer)
        if (kwargs.get("auto_scale_loss", True) and self.dtype_policy.name == "mixed_float16"
                and not isinstance(optimizer, loss_scale.LossScaleOptimizer)):
            optimizer = loss_scale.LossScaleOptimizer(optimizer)  # as Keras: float16 gradients underflow
        output_names = self._output_names_or_default()
        compiled_loss = cu.CompiledLoss(loss, loss_weights, output_names)
        if all(fn is None for fn in compiled_loss.losses) and not self.losses and not self._overrides("train_step"):
            raise ValueError("compile() needs a `loss` (a name, a function or a Loss instance) for at least "
                             "one output, unless the model has losses of its own (`model.add_loss(tensor)`, "
                             "weight regularizers), as Keras 2, or its own train_step; received "
                             f"loss={loss!r} for a model without.")
        self._compile_args = cu.check_metrics(metrics, weighted_metrics, output_names)
        self.optimizer = optimizer
        self.loss = loss
        self._compiled_loss = compiled_loss
        self._compiled_metrics = None
        self._layer_metrics = []
        self._target_signature = None
        self._steps_per_execution = steps_per_execution
        self._compile_config = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights,
                                "weighted_metrics": weighted_metrics}
        self._trainable_mask = cu.trainable_mask(self) if self.built else None
        self._tx = optimizer.make_transform()
        self._opt_state = None
        if hasattr(optimizer, "bind"):
            optimizer.bind(lambda: self._opt_state, lambda s: setattr(self, "_opt_state", s))
        self._seed = root_seed() if seed is None else int(seed)
        self._jitted = {}
        self._distribution = getattr(self, "_own_distribution", None) or placement.current_distribution()
        self._run_eagerly = bool(run_eagerly) or not jit_compile
        self.compiled = True

    def _output_names_or_default(self):
        names = getattr(self, "output_names", None)
        return list(names) if names else ["output_1"]

    def _require_compiled(self, what):
        if not self.compiled:
            raise RuntimeError(f"You must compile the model before calling {what}(); call "
                               "model.compile(optimizer, loss) first.")

    @property
    def metrics_names(self):
        if getattr(self, "_compiled_metrics", None) is None:
            return ["loss"] if self.compiled else []
        cm = self._compiled_metrics
        return ["loss"] + cm.output_loss_names + [e[0] for e in cm.entries] + self._layer_metrics

    # ---- building what the compiled functions need ----
    def _prepare(self, sample_x, sample_y):
        """Build the model and metrics from one batch's shapes, before the first step."""
        if not self.built:
            self._ensure_built(jax.tree.map(lambda a: (None,) + tuple(a.shape[1:]), sample_x))
        signature = [None if y is None else (tuple(y.shape[1:]), str(y.dtype)) for y in sample_y]
        if self._compiled_metrics is None or signature != self._target_signature:
            preds = self._abstract_outputs(sample_x)
            self._check_targets(preds, sample_y)
            self._target_signature = signature
        if self._compiled_metrics is None:
            y_shapes = [None if y is None else tuple(y.shape) for y in sample_y]
            self._compiled_metrics = cu.CompiledMetrics(*self._compile_args, self._compiled_loss,
                                                        y_shapes, [tuple(p.shape) for p in preds])
        if self._distribution is not None:
            self._distribution.check_layout(self._own_tree(True))
        self._prepare_optimizer()

    def _check_targets(self, preds, sample_y):
        """Each target must fit its output under its loss; checked on shapes, before any step."""
        cl = self._compiled_loss
        for name, fn, y, pred in zip(cl.output_names, cl.losses, sample_y, preds):
            if fn is None or y is None:
                continue
            y_spec = jax.ShapeDtypeStruct(pred.shape[:1] + tuple(y.shape[1:]), y.dtype)
            try:
                jax.eval_shape(lambda t, p, fn=fn: cu.per_sample_loss(fn, t, p), y_spec, pred)
            except (TypeError, ValueError) as error:
                loss = getattr(fn, "name", getattr(fn, "__name__", type(fn).__name__))
                raise ValueError(f"Targets for output '{name}' have shape {tuple(y.shape)}; the model's "
                                 f"output has shape {(None,) + tuple(pred.shape[1:])} (loss '{loss}'): "
                                 f"{error}") from error

    def _prepare_optimizer(self):
        """Fresh optimizer state for the trainable weights, unless training already made one."""
        if self._trainable_mask is None:
            self._trainable_mask = cu.trainable_mask(self)
        if self._opt_state is None:
            trainable, _ = cu.split_params(self._own_tree(True), self._trainable_mask)
            self._opt_state = self._compile(self.init_opt_state)(trainable)

    def _abstract_outputs(self, x):
        """The outputs' shapes, from one abstract trace that also measures the forward pass for
        `steps_per_execution="auto"`: its matmul FLOPs per sample, and whether it convolves."""
        rows = getattr(self, "fixed_batch_size", None) or 1
        x = jax.tree.map(lambda a: jax.ShapeDtypeStruct((rows,) + tuple(a.shape[1:]), a.dtype), x)
        with collect_metrics() as logged:
            jaxpr, spec = jax.make_jaxpr(lambda p, s, x: self._run(p, s, x, training=False)[0],
                                         return_shape=True)(self._own_tree(True), self._own_tree(False), x)
        self._note_layer_metrics([name for name, _ in logged])
        self._convolves = _has_convolution(jaxpr.jaxpr)
        self._sample_flops = _dot_flops(jaxpr.jaxpr) / rows
        return self._as_output_list(spec)

    def _note_layer_metrics(self, names):
        """The names layers log with `add_metric`, after the compiled ones (as tf.keras 2 orders them)."""
        self._layer_metrics = list(names)

    def _metrics_init(self):
        """Fresh metric state: the compiled metrics', plus `(sum, count)` per `add_metric` name."""
        state = self._compiled_metrics.init()
        for name in self._layer_metrics:
            if name in state:
                raise ValueError(f"add_metric name {name!r} is already a metric of the model "
                                 f"({sorted(state)}); give it another name.")
            state[name] = np.zeros((2,), np.float32)
        return state

    def _metric_results(self, mstate):
        out = self._compiled_metrics.result(mstate)
        out.update({name: mstate[name][0] / jnp.maximum(mstate[name][1], 1.0) for name in self._layer_metrics})
        return out

    def _as_output_list(self, y):
        return list(y) if isinstance(y, (list, tuple)) else [y]

    @property
    def _placed(self):
        """Whether a `jkeras.device` scope placed some layer call on a device of its own."""
        return any(getattr(node, "device", None) is not None for node in getattr(self, "_nodes", []))

    def _compile(self, fn, **kwargs):
        """`jax.jit(fn)`; op by op for `run_eagerly=True` (debugging) and for device-placed models."""
        return fn if self._placed or getattr(self, "_run_eagerly", False) else jax.jit(fn, **kwargs)

    def _shard_batch(self, batch):
        return batch if self._distribution is None else self._distribution.batch_constraint(batch)

    def _place(self, tree):
        return tree if self._distribution is None else self._distribution.place(tree)

    def _batch_size(self, batch_size):
        """Keras's default (32), or the batch size the model's inputs fix, which must then be used."""
        fixed = getattr(self, "fixed_batch_size", None)
        if fixed is not None and batch_size is not None and batch_size != fixed:
            raise ValueError(f"Model '{self.name}' has a fixed batch size of {fixed} (stateful layers "
                             f"or Input(batch_shape=...)); received batch_size={batch_size}.")
        return data_mod.check_batch_size(batch_size, fixed or 32)

    def _call_with_own_values(self, inputs, training, write_state, **kwargs):
        """Eager `model(x)`: stateful layers carry their state to the next call, as in Keras."""
        return super()._call_with_own_values(inputs, training, write_state or self.stateful, **kwargs)

    def _root_key(self):
        name = getattr(self, "_key_name", self.name)  # a multi_gpu_model draws like its template
        return layer_key(name, seed=self._seed)

    # ---- the pure steps ----
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
        one entry (maybe None) per output.

        `fit` and `train_on_batch` compile it (several steps in one program, see
        `steps_per_execution`); a subclass may override it, as in Keras 3, and then the
        `logs` (a dict of scalars) of the latest step are what `fit` reports. The default
        differentiates the compiled loss (plus weight penalties and `add_loss` losses) with
        respect to `state.trainable`, applies the compiled optimizer and the weight
        constraints, updates the metrics and counts the step.
        """
        x, y, sw = data
        trainable, frozen, opt_state = state.trainable, state.frozen, state.opt_state
        key = self.step_key(state)
        # the loss is scaled for differentiation: a LossScaleOptimizer's dynamic scale (float16
        # gradients), times a `loss_scale_factor` the optimizer divides the gradients by again
        scale = loss_scale.current_scale(opt_state) * (getattr(self.optimizer, "loss_scale_factor", None) or 1.0)
        grad_fn = loss_scale.value_and_grad(self._loss_and_updates, scale)
        (total, (parts, y_pred, new_state, logits, logged, out_masks)), grads = grad_fn(
            trainable, frozen, state.state, x, y, sw, key, True)
        updates, opt_state = self._tx.update(grads, opt_state, trainable)
        trainable = jax.tree.map(lambda p, u: p + u, trainable, updates)
        trainable = _apply_constraints(self, trainable)
        batch_size = jax.tree.leaves(x)[0].shape[0]
        mstate = self._update_metrics(state.metrics, total, parts, y, y_pred, logits, sw, None, batch_size,
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

    def _overrides(self, name):
        """Whether this model's class overrides the Trainer method `name` (a custom step)."""
        return getattr(type(self), name) is not getattr(Trainer, name)

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

    def _train_step(self, carry, batch, root_key):
        """`train_step` as the compiled programs run it, on `(state, logs)`: the batch sharded,
        the root key given to `step_key`. The logs are kept only where a subclass overrides
        `train_step` (the default's are the metrics' results, read from the state)."""
        with self._root_key_as(root_key):
            logs, state = self.train_step(carry[0], self._shard_batch(batch))
        return state, (logs if self._overrides("train_step") else None)

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
        unrolled: XLA:CPU runs convolutions inside a loop body about 20x slower (measured),
        while a scan compiles and runs small models faster than unrolled steps.
        """
        key = ("train", batch_size, steps)
        if key not in self._jitted:
            def run(carry, data, perm, start, root_key):
                self._trace_counts["train"] += 1
                # one gather of the rows of all `steps` batches, then contiguous slices: rows
                # gathered batch by batch cost a cache miss each on the step's critical path
                idx = jax.lax.dynamic_slice_in_dim(perm, start, steps * batch_size)
                rows = jax.tree.map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)

                def one(pair, i):
                    batch = jax.tree.map(
                        lambda a: jax.lax.dynamic_slice_in_dim(a, i * batch_size, batch_size), rows)
                    return self._train_step(pair, batch, root_key), None

                pair = (carry, self._zero_logs("train_step", lambda p: one(p, 0)[0], (carry, None)))
                if steps == 1 or _uses_convolution(one, pair, 0):
                    for i in range(steps):
                        pair = one(pair, i)[0]
                    return pair
                flat = self._flat_slots(carry.trainable)
                pair = (carry._replace(opt_state=flatten_slots(carry.opt_state, flat)), pair[1])
                carry, logs = jax.lax.scan(one, pair, jnp.arange(steps))[0]
                return carry._replace(opt_state=unflatten_slots(carry.opt_state, flat, carry.trainable)), logs
            self._jitted[key] = self._compile(run, donate_argnums=(0,))
        return self._jitted[key]

    def _auto_train_fn(self, batch_size):
        """Jitted: a traced number of train steps in a `fori_loop`, so every chunk `"auto"` runs
        (one step or a whole epoch) is one program, and gives the same bits whatever the chunks;
        returns `(state, logs)`.

        None where the loop would not pay: op-by-op models, and on XLA:CPU convolutions (~30x
        slower in a loop) and steps long enough that the dispatch is not what they wait for
        (measured: a 670k-weight MLP step ran ~30% slower in the loop). The choice depends on
        the model and batch size only, never on timings, so a script gives the same bits each run.
        """
        key = ("train_auto", batch_size)
        if key not in self._jitted:
            def run(carry, data, perm, start, count, root_key):
                self._trace_counts["train"] += 1

                def one(i, pair):
                    idx = jax.lax.dynamic_slice_in_dim(perm, start + i * batch_size, batch_size)
                    batch = jax.tree.map(lambda a: jnp.take(a, idx, axis=0, mode="clip"), data)
                    return self._train_step(pair, batch, root_key)

                logs = self._zero_logs("train_step", lambda pair: one(0, pair), (carry, None))
                flat = self._flat_slots(carry.trainable)
                pair = (carry._replace(opt_state=flatten_slots(carry.opt_state, flat)), logs)
                carry, logs = jax.lax.fori_loop(0, count, one, pair)
                return carry._replace(opt_state=unflatten_slots(carry.opt_state, flat, carry.trainable)), logs
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
        if (self._distribution is not None or not isinstance(opt, optimizers_mod.Optimizer)
                or self._overrides("train_step") or self._overrides("init_opt_state")):
            return ()
        return opt.flat_slots(trainable)

    def _train_batch_fn(self):
        """Jitted: one train step on a batch that arrives from the host; `(state, logs)`."""
        if "train_batch" not in self._jitted:
            def run(carry, batch, root_key):
                self._trace_counts["train_batch"] += 1
                return self._train_step((carry, None), batch, root_key)
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
                return self._test_step(trainable, frozen, (mstate, state, None), batch, mask)
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
                return jax.lax.fori_loop(0, count, one, (mstate, state, logs))
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

    @property
    def stateful(self):
        """Whether inference carries state between calls: a layer, maybe nested, has `stateful=True`."""
        return any(layer.stateful for layer in self._layers)

    def _keep_state(self, state):
        if self.stateful:
            self._assign_tree(state, params=False)

    def _results_fn(self):
        """Jitted metric results, as a dict in `metrics_names` order (jit would sort keys)."""
        if "results" not in self._jitted:
            names = self.metrics_names
            compiled = jax.jit(lambda m: [self._metric_results(m)[k] for k in names])
            local = placement.to_local if jax.process_count() > 1 else (lambda values: values)
            self._jitted["results"] = lambda m: dict(zip(names, local(compiled(m))))
        return self._jitted["results"]

    def _step_logs(self, method, mstate, logs):
        """The logs of the latest step, on the device: the metrics' results from `mstate`, or
        the `logs` a subclass's own `method` (train_step/test_step) returned ({} before one)."""
        if not self._overrides(method):
            return self._results_fn()(mstate)
        if logs is None:
            return {}
        return dict(placement.to_local(logs) if jax.process_count() > 1 else logs)

    # ---- carry <-> facade ----
    def _make_carry(self, mstate):
        """A fresh copy of the current values, safe to donate to the train step."""
        trainable, frozen = cu.split_params(self._own_tree(True), self._trainable_mask)
        carry = TrainState(trainable, frozen, self._own_tree(False), self._opt_state, mstate,
                           np.int32(self._step))
        if self._distribution is not None:
            return self._distribution.place(carry)
        return _fresh_copy(carry)

    def _write_back(self, carry):
        if jax.process_count() > 1:
            carry = placement.to_local(carry)
        self._assign_tree(cu.merge_params(carry.trainable, carry.frozen), params=True)
        self._assign_tree(carry.state, params=False)
        self._opt_state = carry.opt_state
        self._step = carry.step

    # ---- the train state, public ----
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

    def init_opt_state(self, trainable):
        """A fresh optimizer state for the `trainable` tree: the compiled optimizer's. A subclass
        that trains with several optimizers (a GAN's two) overrides it to return any pytree,
        which its `train_step` then finds in `state.opt_state`."""
        return self._tx.init(trainable)

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

    # ---- fit ----
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose=1, callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False, **kwargs):
        """Train for `epochs` epochs; returns a `History`. See the Keras docs for arguments.

        `x` may be arrays (kept on the device for the whole call, batches gathered inside
        the compiled loop), or a generator / `Sequence` / HDF5 data read batch by batch.
        """
        self._require_compiled("fit")
        if "nb_epoch" in kwargs:  # Keras 1's name, which Keras 2 still took
            warnings.warn("The `nb_epoch` argument in `fit` has been renamed `epochs`.", stacklevel=2)
            epochs = kwargs.pop("nb_epoch")
        if kwargs:
            raise TypeError(f"fit() got unexpected keyword arguments {sorted(kwargs)}.")
        if not (isinstance(validation_split, (int, float)) and 0.0 <= validation_split < 1.0):
            raise ValueError(f"validation_split must be in [0, 1); received {validation_split!r}.")
        _check_count("epochs", epochs, minimum=0)
        _check_count("initial_epoch", initial_epoch, minimum=0)
        _check_count("validation_freq", validation_freq, minimum=1)
        _check_steps("steps_per_epoch", steps_per_epoch)
        _check_steps("validation_steps", validation_steps)
        batch_size = self._batch_size(batch_size)
        stream = dict(max_queue_size=max_queue_size, workers=workers,
                      use_multiprocessing=use_multiprocessing)
        if sources.is_batch_source(x):
            if validation_split:
                raise ValueError("validation_split needs array data; with a generator, Sequence or HDF5 data "
                                 "pass validation_data instead.")
            train = sources.make_source(x, y, sample_weight, batch_size=batch_size, shuffle=shuffle,
                                        steps=steps_per_epoch, seed_key=self._root_key(), **stream)
            first = train.peek()
            self._prepare(*self._sample_of(first, class_weight))
            steps = train.steps
        else:
            train = data_mod.ArrayData.from_user(self, x, self._loss_free_targets(y), sample_weight, class_weight)
            if train.num_samples == 0:
                raise ValueError("fit() received no samples.")
            _check_finite(train, lambda row: f"batch {row // batch_size} (batch_size={batch_size}, "
                                             "in the order given)")
            if validation_split:
                train, validation_data = train.split_last(validation_split)
            self._prepare(train.sample_x(), train.y)
            n = train.num_samples
            steps = math.ceil(n / batch_size) if steps_per_epoch is None else int(steps_per_epoch)
        val = self._validation_source(validation_data, validation_batch_size or batch_size,
                                      validation_steps, stream)
        names = self.metrics_names
        arrays = not sources.is_source_object(train)
        cbs = callbacks_mod.configure(
            callbacks, self, verbose=verbose, epochs=epochs, steps=steps,
            samples=train.num_samples if arrays else None, batch_size=batch_size if arrays else None,
            do_validation=val is not None, metrics=names + ["val_" + k for k in names] * (val is not None))
        run_epoch = (self._array_epoch(train, batch_size, steps, shuffle) if arrays
                     else self._source_epoch(train, class_weight))
        self.stop_training = False
        cbs.on_train_begin()
        epoch_logs = {}
        start_epoch, start_batch, start_metrics = initial_epoch, 0, None
        if self._resume_point is not None:  # `resume_from` (BackupAndRestore's on_train_begin)
            (start_epoch, start_batch, start_metrics), self._resume_point = self._resume_point, None
        for epoch in range(start_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            resumed = epoch == start_epoch and start_metrics is not None
            mstate = start_metrics if resumed else self._metrics_init()
            carry, logs = run_epoch(epoch, self._make_carry(mstate), cbs,
                                    start_batch if epoch == start_epoch else 0)
            self._write_back(carry)
            epoch_logs = {k: float(v) for k, v in self._step_logs("train_step", carry.metrics, logs).items()}
            if val is not None and (epoch + 1) % validation_freq == 0:
                val_logs = self._evaluate_data(val, validation_batch_size or batch_size, cbs)
                epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end(epoch_logs)
        return self.history

    def _validation_source(self, validation_data, batch_size, steps, stream):
        if validation_data is None or isinstance(validation_data, data_mod.ArrayData):
            return validation_data
        if sources.is_batch_source(validation_data):
            return sources.make_source(validation_data, batch_size=batch_size, shuffle=False,
                                       steps=steps, **stream)
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            validation_data = (validation_data[0], self._loss_free_targets(validation_data[1]),
                               *validation_data[2:])
        return data_mod.ArrayData.from_validation(self, validation_data)

    def _loss_free_targets(self, y):
        """`y`; or, where it is None and compile() named no loss (the model trains on its own
        `add_loss` losses, as Keras 2 allows), no target for any output."""
        if y is None and self.compiled and all(fn is None for fn in self._compiled_loss.losses):
            return {name: None for name in self._compiled_loss.output_names}
        return y

    def _sample_of(self, batch, class_weight):
        data = data_mod.ArrayData.from_user(self, *batch, class_weight)
        return data.sample_x(), data.y

    def _array_epoch(self, train, batch_size, steps, shuffle):
        """Epochs over device-resident arrays: `steps_per_execution` steps per dispatch."""
        device_data = (self._distribution.place_data(train.arrays()) if self._distribution
                       else jax.device_put(train.arrays()))
        n = train.num_samples
        if self._distribution is not None:
            self._distribution.check_batch_size(batch_size)
        full, rest = divmod(n, batch_size)
        spe = self._steps_per_execution
        pace = _Pace()  # kept across epochs: the step time measured in one sizes the next one's chunks

        def run(epoch, carry, cbs, first_batch):
            logs = None
            root_key = self._root_key()  # read per epoch: a restored checkpoint may set the seed
            perm = self._place(jax.device_put(data_mod.epoch_order(root_key, epoch, n, shuffle, batch_size)))
            done, end = first_batch, min(full, steps)
            loop = self._auto_train_fn(batch_size) if spe == "auto" else None
            while done < end and not self.stop_training:
                if loop is None:
                    k = 1 if spe == "auto" else min(spe, end - done)
                    self._batch_begin(cbs, done, batch_size)
                    carry, logs = self._train_fn(batch_size, k)(carry, device_data, perm, done * batch_size,
                                                                root_key)
                elif cbs.needs_every_batch:
                    k = 1
                    self._batch_begin(cbs, done, batch_size)
                    carry, logs = loop(carry, device_data, perm, done * batch_size, 1, root_key)
                else:
                    k = pace.steps(end - done) if cbs.shows_progress else end - done
                    carry, logs = loop(carry, device_data, perm, done * batch_size, k, root_key)
                    if cbs.shows_progress:
                        pace.measured(k, carry.step)
                done += k
                self._batch_end(cbs, carry, logs, epoch, done, batch_size, k)
            if rest and done < steps and not self.stop_training:
                self._batch_begin(cbs, done, rest)
                carry, logs = self._train_fn(rest, 1)(carry, device_data, perm, full * batch_size, root_key)
                self._batch_end(cbs, carry, logs, epoch, done + 1, rest)
            return carry, logs
        return run

    def _source_epoch(self, source, class_weight):
        """Epochs over host batches (generators, Sequences, HDF5), prefetched to the device."""

        first = self._sample_of(source.peek(), class_weight)
        expected = jax.tree.map(lambda a: (tuple(a.shape[1:]), np.dtype(a.dtype).kind), first)

        def standardize(numbered):
            index, batch = numbered
            try:
                data = data_mod.ArrayData.from_user(self, *batch, class_weight)
            except (ValueError, TypeError) as error:
                raise ValueError(f"Batch {index} of the data source is not a valid batch: {error}") from error
            _check_finite(data, lambda row: f"batch {index} of the data source")
            arrays = data.arrays()
            got = jax.tree.map(lambda a: (tuple(a.shape[1:]), np.dtype(a.dtype).kind), (arrays[0], arrays[1]))
            if got != expected:  # a change of shape mid-epoch would silently recompile the step
                raise ValueError(f"Batch {index} of the data source has per-sample shapes/kinds {got}; "
                                 f"the first batch had {expected}.")
            return arrays

        def run(epoch, carry, cbs, first_batch):
            logs = None
            root_key = self._root_key()
            batches = itertools.islice(enumerate(source.batches(epoch)), first_batch, None)
            for step, batch in enumerate(sources.device_prefetch(map(standardize, batches)), first_batch):
                if self.stop_training:
                    break
                rows = jax.tree.leaves(batch[0])[0].shape[0]
                self._batch_begin(cbs, step, rows)
                carry, logs = self._train_batch_fn()(carry, batch, root_key)
                self._batch_end(cbs, carry, logs, epoch, step + 1, rows)
            return carry, logs
        return run


    def _batch_begin(self, cbs, batch, size):
        if cbs.uses_batch_hooks:
            cbs.on_train_batch_begin(batch, callbacks_mod.BatchLogs(batch, size))

    def _batch_end(self, cbs, carry, logs, epoch, batches_done, size, steps=1):
        """Batch callbacks, when some callback has them; `live_train_state()` lets a checkpoint
        save the carry. The logs are read lazily, but computed now: the next step takes the
        carry's buffers."""
        if not cbs.uses_batch_hooks:
            return
        self._live = carry
        values = data_mod.LazyLogs(self._step_logs("train_step", carry.metrics, logs))
        cbs.on_train_batch_end(batches_done - 1, callbacks_mod.BatchLogs(batches_done - 1, size, values, steps))
        self._live = None

    # ---- evaluate / predict ----
    def evaluate(self, x=None, y=None, batch_size=None, verbose=1, sample_weight=None, steps=None,
                 callbacks=None, return_dict=False, max_queue_size=10, workers=1,
                 use_multiprocessing=False, **kwargs):
        """Loss and metrics in inference mode; a scalar, a list, or a dict (`return_dict`)."""
        self._require_compiled("evaluate")
        if kwargs:
            raise TypeError(f"evaluate() got unexpected keyword arguments {sorted(kwargs)}.")
        _check_steps("steps", steps)
        batch_size = self._batch_size(batch_size)
        if sources.is_batch_source(x):
            data = sources.make_source(x, y, sample_weight, batch_size=batch_size, shuffle=False,
                                       steps=steps, max_queue_size=max_queue_size, workers=workers,
                                       use_multiprocessing=use_multiprocessing)
            self._prepare(*self._sample_of(data.peek(), None))
        else:
            data = data_mod.ArrayData.from_user(self, x, self._loss_free_targets(y), sample_weight, None)
            self._prepare(data.sample_x(), data.y)
        arrays = isinstance(data, data_mod.ArrayData)
        cbs = callbacks_mod.callback_list(callbacks, self, {
            "batch_size": batch_size, "steps": steps, "samples": data.num_samples if arrays else None,
            "verbose": verbose, "metrics": self.metrics_names})
        return self._as_result(self._evaluate_data(data, batch_size, cbs), return_dict)

    def _evaluate_data(self, data, batch_size, cbs):
        """Loss and metrics over `data`, with the callbacks' test hooks (batch hooks only where a
        callback has them)."""
        trainable, frozen, state = self._eval_trees()
        mstate, logs = self._metrics_init(), None
        fn = self._test_fn()
        hooks = cbs.overrides("on_test_batch_begin") or cbs.overrides("on_test_batch_end")
        cbs.on_test_begin()
        chunk = self._test_chunk_rows(data, batch_size, hooks)
        if chunk:  # "auto": many batches per dispatch
            fn = self._chunk_test_fn(batch_size)
            for rows, valid in data_mod.padded_slices(data.arrays(), data.num_samples, chunk):
                mask = (np.arange(chunk) < valid).astype(np.float32)
                mstate, state, logs = fn(trainable, frozen, state, mstate, rows, mask, -(-valid // batch_size))
        for i, (batch, mask) in enumerate(() if chunk else self._test_batches(data, batch_size)):
            if hooks:
                size = int(np.sum(mask))
                cbs.on_test_batch_begin(i, callbacks_mod.BatchLogs(i, size))
            mstate, state, logs = fn(trainable, frozen, state, mstate, batch, mask)
            if hooks:  # the metrics state is not donated: the logs may read it later
                values = lambda m=mstate, g=logs: data_mod.LazyLogs(self._step_logs("test_step", m, g))
                cbs.on_test_batch_end(i, callbacks_mod.BatchLogs(i, size, values))
        self._keep_state(state)
        logs = {k: float(v) for k, v in self._step_logs("test_step", mstate, logs).items()}
        cbs.on_test_end(logs)
        return logs

    def _eval_trees(self):
        """`(trainable, frozen, state)` of the current values, placed, for the test steps."""
        trainable, frozen = cu.split_params(self._own_tree(True), self._current_mask())
        return self._place((trainable, frozen, self._own_tree(False)))

    def _test_chunk_rows(self, data, batch_size, hooks):
        """Rows per dispatch for `"auto"` evaluation of array data (see `_chunk_rows`); 0 to go
        batch by batch: a callback's test batch hooks, `add_metric` scalars, several devices, or
        steps that run faster one per dispatch."""
        if (self._steps_per_execution != "auto" or hooks or self._layer_metrics
                or not isinstance(data, data_mod.ArrayData) or self._distribution is not None
                or not self._loop_pays(batch_size)):
            return 0
        return _chunk_rows(data.arrays(), data.num_samples, batch_size)

    def _test_batches(self, data, batch_size):
        """`(batch, mask)` of equal row counts, so inference compiles once; pads are masked.
        With `add_metric`s a short last batch stays short: a layer's scalar cannot be unpadded."""
        if isinstance(data, data_mod.ArrayData):
            for batch, mask in data.padded_batches(batch_size):
                valid = int(mask.sum())
                if self._layer_metrics and valid < len(mask):
                    batch, mask = jax.tree.map(lambda a: a[:valid], batch), mask[:valid]
                yield batch, mask
            return
        rows = None
        for x, y, sw in data.batches(0):
            arrays = data_mod.ArrayData.from_user(self, x, y, sw, None)
            rows = rows or arrays.num_samples
            yield from arrays.padded_batches(rows)

    def predict(self, x, batch_size=None, verbose=0, steps=None, callbacks=None, max_queue_size=10,
                workers=1, use_multiprocessing=False, **kwargs):
        """Outputs in inference mode, as numpy; the last batch is padded, not recompiled."""
        if kwargs:
            raise TypeError(f"predict() got unexpected keyword arguments {sorted(kwargs)}.")
        key = None if callbacks else _repeat_key(x, "predict", batch_size, steps)
        if self._passed_before(key):
            return _to_host(self._infer([x]))
        _check_steps("steps", steps)
        batch_size = self._batch_size(batch_size)
        if sources.is_batch_source(x):
            source = sources.make_source(x, batch_size=batch_size, shuffle=False, steps=steps,
                                         max_queue_size=max_queue_size, workers=workers,
                                         use_multiprocessing=use_multiprocessing)
            chunks = (data_mod.input_values(self, bx) for bx, _, _ in source.batches(0))
            samples = None
        else:
            values = data_mod.input_values(self, x)
            samples = data_mod.num_samples(values)
            if 0 < samples <= batch_size and not callbacks:  # one call: the latency path
                self._remember_checked(key, values, x)
                return _to_host(self._infer(values))
            chunks = [values]
        cbs = callbacks_mod.callback_list(callbacks, self, {
            "batch_size": batch_size, "steps": steps, "samples": samples, "verbose": verbose})
        cbs.on_predict_begin()
        rows = None
        outs = [] if cbs.callbacks or sources.is_batch_source(x) else self._predict_chunks(values, batch_size)
        for values in () if outs else chunks:
            n = data_mod.num_samples(values)
            rows = rows or min(batch_size, max(n, 1))
            for batch, valid in data_mod.padded_slices(values, n, rows):
                if cbs.callbacks:
                    cbs.on_predict_batch_begin(len(outs), callbacks_mod.BatchLogs(len(outs), valid))
                outs.append((self._infer(batch), valid))
                if cbs.callbacks:
                    out = lambda o=outs[-1][0], v=valid: {"outputs": jax.tree.map(lambda a: np.asarray(a)[:v], o)}
                    cbs.on_predict_batch_end(len(outs) - 1, callbacks_mod.BatchLogs(len(outs) - 1, valid, out))
        if not outs:
            raise ValueError("predict() received no samples.")
        cbs.on_predict_end()
        # slices on the host: one device-to-host copy per output, no sliced kernels
        parts = [jax.tree.map(lambda o, v=valid: np.asarray(o)[:v], out) for out, valid in outs]
        return parts[0] if len(parts) == 1 else jax.tree.map(lambda *p: np.concatenate(p), *parts)

    def _predict_chunks(self, values, batch_size):
        """`"auto"` prediction of arrays: `[(outputs, valid rows)]` per chunk of batches (see
        `_chunk_rows`), one dispatch each; [] where batch by batch is the way."""
        n = data_mod.num_samples(values)
        rows = _chunk_rows(values, n, batch_size)
        if (getattr(self, "_steps_per_execution", "auto") != "auto" or not rows  # uncompiled: the default
                or self._distribution is not None or not self.built or not self._loop_pays(batch_size)):
            return []
        leaves, treedef = self._own_leaves()
        fn = self._chunk_predict_fn(treedef, batch_size)
        outs = []
        for chunk, valid in data_mod.padded_slices(values, n, rows):
            out, state = fn(leaves, chunk, -(-valid // batch_size))
            if state is not None:
                self._assign_tree(state, params=False)
                leaves, _ = self._own_leaves()
            outs.append((out, valid))
        return outs

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

    def predict_on_batch(self, x):
        key = _repeat_key(x, "predict_on_batch")
        if self._passed_before(key):
            return _to_host(self._infer([x]))
        values = data_mod.input_values(self, x)
        self._remember_checked(key, values, x)
        return _to_host(self._infer(values))

    def _passed_before(self, key):
        """Whether the last checked call had this `_repeat_key` (None never matches)."""
        return key is not None and key == self.__dict__.get("_checked_call")

    def _remember_checked(self, key, values, x):
        """Note that a call on the numpy array `x` passed every check (see `_repeat_key`)."""
        if key is not None and len(values) == 1 and values[0] is x:
            self.__dict__["_checked_call"] = key

    def _infer(self, values):
        """One jitted inference call on a batch of input `values`; outputs stay on the device.
        Stateful layers keep their new state, as in Keras."""
        if not self.built:
            self._ensure_built(jax.tree.map(lambda a: (None,) + tuple(a.shape[1:]), values))
        leaves, treedef = (self._own_leaves() if self._distribution is None
                           else jax.tree.flatten(self._place(self._own_trees())))
        out, state = self._predict_fn(treedef)(leaves, values)
        if state is not None:
            self._assign_tree(state, params=False)
        return out

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        """One gradient step on this batch; returns the loss (and metrics) of the batch."""
        self._require_compiled("train_on_batch")
        data = data_mod.ArrayData.from_user(self, x, self._loss_free_targets(y), sample_weight, class_weight)
        self._prepare(data.sample_x(), data.y)
        carry = self._make_carry(self._on_batch_metrics(reset_metrics))
        carry, logs = self._train_batch_fn()(carry, jax.device_put(data.arrays()), self._root_key())
        self._write_back(carry)
        self._batch_metrics = (self._compiled_metrics, carry.metrics)
        return self._batch_result(self._step_logs("train_step", carry.metrics, logs), return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._require_compiled("test_on_batch")
        data = data_mod.ArrayData.from_user(self, x, self._loss_free_targets(y), sample_weight, None)
        self._prepare(data.sample_x(), data.y)
        rows = data.num_samples
        mstate, state, logs = self._test_fn()(*self._eval_trees(), self._on_batch_metrics(reset_metrics),
                                              jax.device_put(data.arrays()), np.ones(rows, np.float32))
        self._keep_state(state)
        self._batch_metrics = (self._compiled_metrics, mstate)
        return self._batch_result(self._step_logs("test_step", mstate, logs), return_dict)

    def _on_batch_metrics(self, reset_metrics):
        """The metric state a `train_on_batch`/`test_on_batch` starts from: fresh when
        `reset_metrics` (tf.keras 2 resets before the step), else what the last such call of this
        compile left, so that `reset_metrics=False` accumulates across batches as in tf.keras 2."""
        kept = getattr(self, "_batch_metrics", None)
        if reset_metrics or kept is None or kept[0] is not self._compiled_metrics:
            return self._metrics_init()
        return kept[1]

    def reset_metrics(self):
        """Forget the metric state `train_on_batch`/`test_on_batch(reset_metrics=False)`
        accumulate (`fit` and `evaluate` start their own each epoch), as Keras 2's."""
        self._batch_metrics = None

    def _batch_result(self, device_logs, return_dict):
        return self._as_result({k: float(v) for k, v in device_logs.items()}, return_dict)

    def _as_result(self, logs, return_dict):
        """What Keras 2 returns for these logs: the dict, or its values in `metrics_names`
        order (a custom step's logs in their own order), a single one as a scalar."""
        if return_dict:
            return logs
        values = [logs[k] for k in self.metrics_names if k in logs] or list(logs.values())
        return values[0] if len(values) == 1 else values

    # ---- Keras 2 generator aliases (with the Keras 1 arguments Keras 2 converted) ----
    @interfaces.legacy_generator_methods_support
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, **kwargs):
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs, **kwargs)

    @interfaces.legacy_generator_methods_support
    def evaluate_generator(self, generator, steps=None, **kwargs):
        return self.evaluate(generator, steps=steps, **kwargs)

    @interfaces.legacy_generator_methods_support
    def predict_generator(self, generator, steps=None, **kwargs):
        return self.predict(generator, steps=steps, **kwargs)


def _chunk_rows(tree, n, batch_size):
    """Rows of one `"auto"` inference dispatch: as many batches as fit in ~4 MB of inputs (at
    most 64), one size per model and batch size, so one program; 0 (batch by batch, the
    program a short call compiles anyway) for data of fewer than 8 batches, where padding
    up to a chunk would cost more than the dispatches it saves."""
    row_bytes = sum(a.dtype.itemsize * math.prod(a.shape[1:]) for a in jax.tree.leaves(tree))
    batches = min(64, (4 << 20) // max(1, batch_size * row_bytes))
    return batches * batch_size if batches >= 2 and n >= 8 * batch_size else 0


_LOOP_MAX_FLOPS = 16e6  # ~1 ms of XLA:CPU matmul on 2 cores: about what a dispatch costs, x5


class _Pace:
    """Chunk sizes for `"auto"` with a progress bar: each dispatch takes about `seconds`, so the
    bar still moves, sized from the time the previous dispatch took per step."""

    seconds = 0.1

    def __init__(self):
        self.chunk, self.began = 1, None

    def steps(self, left):
        self.began = time.perf_counter()
        return min(self.chunk, left)

    def measured(self, steps, done_marker):
        jax.block_until_ready(done_marker)  # the bar reads the logs next anyway
        per_step = (time.perf_counter() - self.began) / steps
        # at most 4x per dispatch: the first one's time holds the compile
        self.chunk = max(1, min(4 * self.chunk, 4096, int(self.seconds / max(per_step, 1e-7))))


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{name} must be a {kind} int; received {value!r}.")


def _check_steps(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ValueError(f"{name} must be a positive int or None; received {value!r}.")


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


@jax.jit
def _fresh_copy(tree):
    """New buffers holding `tree`'s values: one program per tree structure, not one per shape."""
    return jax.tree.map(jnp.copy, tree)


def _repeat_key(x, *call):
    """What makes a call on a numpy array `x` pass the same checks again: its shape, dtype and
    arguments, while no weight or layer changes (`Variable.edits`); None for other inputs.
    The latency path skips the checks on a repeat: on CPU they cost about as much as a small
    model's compiled call, and a gap over ~10 µs between calls lets XLA's worker thread
    sleep (~50 µs to wake it)."""
    return (x.shape, x.dtype, Variable.edits) + call if type(x) is np.ndarray else None


def _to_host(out):
    """Model outputs as numpy: one array, or a list of arrays for several outputs."""
    return np.asarray(out) if isinstance(out, jax.Array) else jax.tree.map(np.asarray, out)


def _check_finite(data, batch_of):
    """With `check_finite_inputs` on, refuse data holding NaN/Inf, naming the first bad batch."""
    if not config.check_finite_inputs():
        return
    bad = data.first_non_finite()
    if bad is not None:
        row, part = bad
        raise ValueError(f"fit: {batch_of(row)} holds NaN or Inf, first at row {row} of {part}. "
                         "(jkeras.config.check_finite_inputs() is on.)")


def _uses_convolution(fn, *args):
    """Whether `fn(*args)` runs a convolution."""
    return _has_convolution(jax.make_jaxpr(fn)(*args).jaxpr)


def _dot_flops(jaxpr):
    """Multiply-add FLOPs of the matmuls in `jaxpr`, those of scanned bodies times their length."""
    total = 0.0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2.0 * math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in contract)
        times = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
        for inner in _sub_jaxprs(eqn):
            total += times * _dot_flops(inner)
    return total


def _sub_jaxprs(eqn):
    for value in eqn.params.values():
        for inner in value if isinstance(value, (tuple, list)) else (value,):  # cond's branches
            inner = getattr(inner, "jaxpr", inner)
            if hasattr(inner, "eqns"):
                yield inner


def _has_convolution(jaxpr):
    """Whether `jaxpr`, sub-jaxprs included, has a convolution."""
    return any(eqn.primitive.name == "conv_general_dilated" or any(map(_has_convolution, _sub_jaxprs(eqn)))
               for eqn in jaxpr.eqns)


def _penalties(model, trainable):
    """The weight regularizers' penalties of the `trainable` tree, layer by layer in the walk
    order of the model's `PathIndex` (the root first), each layer's in its own order."""
    out = []
    for prefix, layer in paths.index_of(model).layer_paths():
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

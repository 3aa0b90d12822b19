"""compile / fit / evaluate / predict: the facade over the jitted pure steps.

Everything that changes in training travels in one `TrainState`
`(trainable, frozen, state, opt_state, metrics, step)` (train_state.py); the train step is
`value_and_grad` + optax, jitted once per batch shape with the state donated (steps.py).
Array data lives on the device for the whole `fit`; each epoch's order is a
permutation drawn from `(root key, epoch)` and batches are gathered inside the
compiled loop, which runs `steps_per_execution` steps per dispatch (loops.py).
"""
import collections
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from jkeras import callbacks as callbacks_mod
from jkeras import optimizers as optimizers_mod
from jkeras.backend import placement
from jkeras.backend.random import layer_key, root_seed
from jkeras.layers.base import Variable, collect_metrics
from jkeras.legacy import interfaces
from jkeras.optimizers import loss_scale
from jkeras.models import compile_config
from jkeras.models import compile_utils as cu
from jkeras.models import host_constants
from jkeras.models import jaxpr_cost
from jkeras.models import loops
from jkeras.models import placed
from jkeras.models.loops import EpochLoops
from jkeras.models.loops import Pace as _Pace  # noqa: F401 (tests set `trainer._Pace.seconds`)
from jkeras.models.steps import Steps
from jkeras.models.train_state import TrainStateAccess
from jkeras.data import adapters as data_mod
from jkeras.data import sources


class Trainer(TrainStateAccess, Steps, EpochLoops):
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
        if hasattr(optimizer, "bind") and not self._overrides("init_opt_state"):
            # the optimizer's learning rate and iterations read (and set) the live optimizer
            # state; a model that keeps its own opt_state (init_opt_state) leaves it unbound
            optimizer.bind(lambda: self._opt_state, lambda s: setattr(self, "_opt_state", s))
        self._seed = root_seed() if seed is None else int(seed)
        self._jitted = {}
        self._distribution = getattr(self, "_own_distribution", None) or placement.current_distribution()
        self._run_eagerly = bool(run_eagerly) or not jit_compile
        self.compiled = True

    def get_compile_config(self):
        """What `compile()` was given, as the JSON object Keras writes into an `.h5` file's
        `training_config` (Keras 3's name); None before `compile()`."""
        return compile_config.get_compile_config(self) if self.compiled else None

    def compile_from_config(self, config):
        """Compile as `config` (a `training_config` from a jkeras, tf.keras 2 or Keras 3 file) says."""
        compile_config.compile_from_config(self, config)

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
            fills = host_constants.constant_outputs(self.init_opt_state, trainable)  # no compile
            self._opt_state = jax.device_put(fills) if fills is not None else self._compile(
                self.init_opt_state)(trainable)

    def _abstract_outputs(self, x):
        """The outputs' shapes, from one abstract trace that also measures the forward pass for
        `steps_per_execution="auto"`: its matmul FLOPs per sample, and whether it convolves."""
        rows = getattr(self, "fixed_batch_size", None) or 1
        x = jax.tree.map(lambda a: jax.ShapeDtypeStruct((rows,) + tuple(a.shape[1:]), a.dtype), x)
        with collect_metrics() as logged:
            jaxpr, spec = jax.make_jaxpr(lambda p, s, x: self._run(p, s, x, training=False)[0],
                                         return_shape=True)(self._own_tree(True), self._own_tree(False), x)
        self._note_layer_metrics([name for name, _ in logged])
        self._convolves = jaxpr_cost.has_convolution(jaxpr.jaxpr)
        self._sample_flops = jaxpr_cost.dot_flops(jaxpr.jaxpr) / rows
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
        """`jax.jit(fn)`; op by op for `run_eagerly=True` (debugging) and for placed layers under a
        distribution; one program per device segment for device-placed models (`models.placed`)."""
        if getattr(self, "_run_eagerly", False) or (self._placed and self._distribution is not None):
            return fn
        return placed.compile_placed(fn, jax.devices()[0]) if self._placed else jax.jit(fn, **kwargs)

    def _shard_batch(self, batch):
        return batch if self._distribution is None else self._distribution.batch_constraint(batch)

    def _place(self, tree):
        """`tree` on the devices the distribution, or the layers' `jkeras.device` scopes, give it."""
        if self._distribution is not None:
            return self._distribution.place(tree)
        return placed.place(tree, self._layer_devices()) if self._placed else tree

    def _layer_devices(self):
        """Layer name -> the device of its first placed call, for the layers a scope placed."""
        devices = {}
        for node in reversed(getattr(self, "_nodes", [])):
            if node.device is not None:
                devices[node.layer.name] = node.device
        return devices

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

    @property
    def stateful(self):
        """Whether inference carries state between calls: a layer, maybe nested, has `stateful=True`."""
        return any(layer.stateful for layer in self._layers)

    def _keep_state(self, state):
        if self.stateful:
            self._assign_tree(state, params=False)

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
            loops.check_finite(train, lambda row: f"batch {row // batch_size} (batch_size={batch_size}, "
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
        """Rows per dispatch for `"auto"` evaluation of array data (see `loops.chunk_rows`); 0 to go
        batch by batch: a callback's test batch hooks, `add_metric` scalars, several devices, or
        steps that run faster one per dispatch."""
        if (self._steps_per_execution != "auto" or hooks or self._layer_metrics
                or not isinstance(data, data_mod.ArrayData) or self._distribution is not None
                or not self._loop_pays(batch_size)):
            return 0
        return loops.chunk_rows(data.arrays(), data.num_samples, batch_size)

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
        `loops.chunk_rows`), one dispatch each; [] where batch by batch is the way."""
        n = data_mod.num_samples(values)
        rows = loops.chunk_rows(values, n, batch_size)
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


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "non-negative" if minimum == 0 else "positive"
        raise ValueError(f"{name} must be a {kind} int; received {value!r}.")


def _check_steps(name, value):
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer))
                              or value < 1):
        raise ValueError(f"{name} must be a positive int or None; received {value!r}.")


def _repeat_key(x, *call):
    """What makes a call on a numpy array `x` pass the same checks again: its shape, dtype and
    arguments, while no weight or layer changes (`Variable.edits`); None for other inputs.
    The latency path skips the checks on a repeat: on CPU they cost about as much as a small
    model's compiled call, and a longer gap between calls lets XLA's worker thread sleep
    (waking it costs more than the checks: scripts/BENCH_RESULTS.md)."""
    return (x.shape, x.dtype, Variable.edits) + call if type(x) is np.ndarray else None


def _to_host(out):
    """Model outputs as numpy: one array, or a list of arrays for several outputs."""
    return np.asarray(out) if isinstance(out, jax.Array) else jax.tree.map(np.asarray, out)



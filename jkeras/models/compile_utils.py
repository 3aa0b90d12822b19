"""What `compile()` resolves: per-output losses and metrics, frozen-weight masks."""
import jax
import jax.numpy as jnp
import numpy as np

from jkeras import losses as losses_mod
from jkeras.backend import config
from jkeras.layers import paths
from jkeras import metrics as metrics_mod


def per_output(spec, output_names, what):
    """Spread a loss/metrics spec over the outputs: one for all, a list, or a dict by name."""
    n = len(output_names)
    if isinstance(spec, dict) and "class_name" not in spec:  # a config dict is one spec
        unknown = sorted(set(spec) - set(output_names))
        if unknown:
            raise ValueError(f"{what} given for unknown outputs {unknown}; the model's outputs are "
                             f"{output_names}.")
        return [spec.get(name) for name in output_names]
    if isinstance(spec, (list, tuple)) and what == "loss":
        if len(spec) != n:
            raise ValueError(f"The model has {n} outputs {output_names}, but `loss` is a list of "
                             f"{len(spec)}.")
        return list(spec)
    if (isinstance(spec, (list, tuple)) and what == "metrics" and n > 1 and len(spec) == n
            and all(s is None or isinstance(s, (list, tuple)) for s in spec)):
        return list(spec)  # a list of lists: one list of metrics per output, as Keras 2
    return [spec] * n


class CompiledLoss:
    """The weighted sum of per-output losses, normalised as Keras's `sum_over_batch_size`."""

    def __init__(self, loss, loss_weights, output_names):
        specs = per_output(loss, output_names, "loss")
        self.losses = [None if s is None else losses_mod.get(s) for s in specs]  # all None: add_loss's only
        if loss_weights is None:
            weights = [1.0] * len(output_names)
        elif isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool):
            weights = [float(loss_weights)] * len(output_names)
        elif isinstance(loss_weights, dict):
            weights = [float(w if w is not None else 1.0)
                       for w in per_output(loss_weights, output_names, "loss_weights")]
        else:
            if not isinstance(loss_weights, (list, tuple)):
                raise ValueError("`loss_weights` must be a number, a list or a dict by output name; "
                                 f"received {loss_weights!r}.")
            if len(loss_weights) != len(output_names):
                raise ValueError(f"`loss_weights` has {len(loss_weights)} entries for "
                                 f"{len(output_names)} outputs.")
            weights = [float(w) for w in loss_weights]
        self.weights = weights
        self.output_names = output_names

    def __call__(self, y_true, y_pred, sample_weight, mask=None, output_masks=None):
        """`(total, unweighted per-output losses)` for lists of targets and predictions.

        `sample_weight` is a list of (batch,) arrays or None; `mask` (batch,) marks real rows
        when the batch was padded; `output_masks` (one per output, or None) are the outputs'
        Keras masks, e.g. `(batch, timesteps)` from `Embedding(mask_zero=True)`.
        """
        parts = []
        output_masks = output_masks or [None] * len(y_pred)
        for fn, yt, yp, sw, om in zip(self.losses, y_true, y_pred, sample_weight, output_masks):
            if fn is None or yt is None:
                parts.append(None)
                continue
            values = per_sample_loss(fn, yt, yp)
            if values.ndim == 0 and mask is not None:
                values = _batch_loss_by_row(fn, yt, yp, mask, values)
            if om is not None and om.shape == values.shape:
                parts.append(masked_mean(values, sw, mask, om))
            else:
                parts.append(weighted_mean(values, sw, mask))
        # Per-output losses are logged unweighted, as Keras does; the total is weighted.
        total = sum((p * w for p, w in zip(parts, self.weights) if p is not None), jnp.zeros((), jnp.float32))
        return total, parts


def per_sample_loss(fn, y_true, y_pred):
    """`fn`'s unreduced loss, computed from float32 values when the model outputs float16/bfloat16
    (and, for a plain function, from float targets)."""
    per_sample = getattr(fn, "per_sample", None)
    y_true, y_pred = losses_mod.upcast_half(y_true), losses_mod.upcast_half(y_pred)
    if per_sample is None:
        # Keras 2 fed targets through a placeholder of the output's dtype: a custom loss function
        # given integer labels received them as floats
        if not jnp.issubdtype(jnp.result_type(y_true), jnp.floating):
            y_true = jnp.asarray(y_true, jnp.result_type(y_pred))
        return fn(y_true, y_pred)
    return per_sample(y_true, y_pred)


def _batch_loss_by_row(fn, y_true, y_pred, mask, value):
    """A loss of the whole batch (one number: mnist_siamese.py's `K.mean(...)`) as one value
    per row: the batch's value where no row is padding, else each row's own, so that padding
    rows change nothing. For a mean over rows that is what Keras 2 computed on the shorter
    last batch."""
    per_row = jax.vmap(lambda t, p: per_sample_loss(fn, t[None], p[None]))(y_true, y_pred)
    per_row = jnp.mean(jnp.reshape(per_row, (mask.shape[0], -1)), axis=1)
    return jnp.where(jnp.all(mask > 0), value, per_row)


def weighted_mean(values, sample_weight, mask=None):
    """Keras's sum_over_batch_size: `sum(values * weight) / number of values`.

    Rows where `mask` is 0 (padding) count neither in the sum nor in the number. A
    `(batch, timesteps)` weight (`sample_weight_mode="temporal"`) weights each step.
    """
    values = jnp.asarray(values, jnp.float32)
    if sample_weight is None and mask is None:
        return jnp.mean(values)
    w = _combine(sample_weight, mask)  # (batch,), or (batch, timesteps) for temporal weights
    if values.ndim == 0:  # a loss of the whole batch counts once for each of its rows, as Keras 2
        values = jnp.broadcast_to(values, w.shape)
    w = jnp.reshape(w, w.shape + (1,) * (values.ndim - w.ndim))
    count = values.size if mask is None else jnp.sum(mask) * (values.size // values.shape[0])
    return jnp.sum(values * w) / jnp.maximum(count, 1)


def masked_mean(values, sample_weight, mask, output_mask):
    """Keras's loss over an output with a mask: `sum(values * weight * mask) / (sum(mask) + eps)`,
    so masked steps (padding of a sequence) count neither in the sum nor in the number."""
    m = output_mask.astype(jnp.float32)
    if mask is not None:
        m = m * jnp.reshape(mask, mask.shape + (1,) * (m.ndim - 1))
    w = m if sample_weight is None else m * jnp.reshape(
        sample_weight.astype(jnp.float32), sample_weight.shape + (1,) * (m.ndim - sample_weight.ndim))
    return jnp.sum(values.astype(jnp.float32) * w) / (jnp.sum(m) + config.epsilon())


def check_metrics(metrics, weighted_metrics, output_names):
    """Resolve every metric identifier once, so that a bad name fails at compile(); returns
    `(metrics, weighted_metrics)` with the names of custom objects replaced by the objects
    (`metrics.resolve_custom`), for building the metrics later, outside a `custom_objects` scope."""
    resolved = (metrics_mod.resolve_custom(metrics), metrics_mod.resolve_custom(weighted_metrics))
    for spec in resolved:
        if spec is None:
            continue
        for out_spec in per_output(spec, output_names, "metrics"):
            for m in out_spec if isinstance(out_spec, (list, tuple)) else [out_spec]:
                if m is not None:
                    metrics_mod.get(m)
    return resolved


class CompiledMetrics:
    """Every metric of every output, with Keras's log names, as one pure state tree."""

    def __init__(self, metrics, weighted_metrics, compiled_loss, y_shapes, pred_shapes):
        names = compiled_loss.output_names
        multi = len(names) > 1
        self.entries = []  # (log name, metric, output index, weighted)
        self.output_loss_names = [f"{n}_loss" for n in names] if multi else []
        specs = [per_output(spec, names, "metrics") if spec is not None else [None] * len(names)
                 for spec in (metrics, weighted_metrics)]
        # Output by output, its metrics then its weighted ones; a weighted metric is called
        # `weighted_<name>` only where its name is taken, as tf.keras 2 and Keras 3 log them.
        for i in range(len(names)):
            for weighted, out_spec in ((False, specs[0][i]), (True, specs[1][i])):
                if out_spec is None:
                    continue
                for m in out_spec if isinstance(out_spec, (list, tuple)) else [out_spec]:
                    metric = metrics_mod.get(m, y_true_shape=y_shapes[i], y_pred_shape=pred_shapes[i],
                                             loss=compiled_loss.losses[i])
                    self.entries.append((self._log_name(names[i] if multi else None, metric.name,
                                                        weighted), metric, i, weighted))

    def _log_name(self, output, name, weighted):
        """`[<output>_][weighted_]<name>`, `weighted_` only for a name already taken, and `_1`,
        `_2`, ... after a name still taken (the same metric asked for twice)."""
        taken = {"loss", *self.output_loss_names, *(entry[0] for entry in self.entries)}
        prefix = f"{output}_" if output else ""
        log = prefix + name
        if weighted and log in taken:
            log = f"{prefix}weighted_{name}"
        base, n = log, 1
        while log in taken:
            log, n = f"{base}_{n}", n + 1
        return log

    def init(self):
        # (weighted sum, count) of a batch-size-weighted mean; host zeros cost no device op
        state = {name: np.zeros((2,), np.float32) for name in ["loss"] + self.output_loss_names}
        for name, metric, _, _ in self.entries:
            state[name] = metric.init()
        return state

    def update(self, state, total, parts, y_true, y_pred, sample_weight, mask, batch_size,
               output_masks=None):
        """New metric state after one batch; `mask` (batch,) drops padding rows, and an output's
        Keras mask (`output_masks`, one per output or None) weights all its metrics, weighted
        or not, as tf.keras 2 does (an `Embedding(mask_zero=True)` sequence's padding steps).

        Losses are averaged over batches weighted by their size, as Keras's loss tracker does.
        """
        state = dict(state)
        y_pred = [losses_mod.upcast_half(p) for p in y_pred]
        count = jnp.sum(mask).astype(jnp.float32) if mask is not None else jnp.float32(batch_size)
        state["loss"] = state["loss"] + jnp.stack([total * count, count])
        for name, part in zip(self.output_loss_names, parts):
            if part is not None:
                state[name] = state[name] + jnp.stack([part * count, count])
        output_masks = output_masks or [None] * len(y_pred)
        for name, metric, i, weighted in self.entries:
            if y_true[i] is None:
                continue
            if isinstance(metric, metrics_mod.Keras2StatefulMetric):  # padded rows by mask, no weights
                state[name] = metric.update(state[name], y_true[i], y_pred[i], mask=mask)
                continue
            om = output_masks[i]
            if om is not None and tuple(om.shape) != tuple(y_pred[i].shape[:om.ndim]):
                om = None  # a mask not of this output's leading axes (as the loss, left out)
            sw = _combine(sample_weight[i] if weighted else None, om)
            sw = _combine(sw, mask)
            state[name] = metric.update(state[name], y_true[i], y_pred[i], sw)
        return state

    def result(self, state):
        out = {name: state[name][0] / jnp.maximum(state[name][1], 1.0)
               for name in ["loss"] + self.output_loss_names}
        for name, metric, _, _ in self.entries:
            out[name] = metric.result(state[name])
        return out


def _combine(sample_weight, mask):
    """The product of two weights, either possibly None; the one of lower rank (a (batch,) row
    weight against a (batch, timesteps) mask) is broadcast over the other's trailing axes."""
    if mask is None:
        return sample_weight
    mask = jnp.asarray(mask, jnp.float32)
    if sample_weight is None:
        return mask
    sample_weight = jnp.asarray(sample_weight, jnp.float32)
    if sample_weight.ndim < mask.ndim:
        sample_weight = jnp.reshape(sample_weight, sample_weight.shape + (1,) * (mask.ndim - sample_weight.ndim))
    elif mask.ndim < sample_weight.ndim:
        mask = jnp.reshape(mask, mask.shape + (1,) * (sample_weight.ndim - mask.ndim))
    return sample_weight * mask


def trainable_mask(layer, parent_trainable=True):
    """A tree like `layer`'s params with True where the weight trains (read at compile): no
    layer on its path is frozen."""
    frozen = paths.index_of(layer).frozen_prefixes()
    return paths.trainable_mask(layer._own_trees()[0], frozen if parent_trainable else frozen | {()})


split_params = paths.split  # `(trainable, frozen)` subtrees of params by a mask; `merge_params` undoes it
merge_params = paths.merge


def tree_size(tree):
    return sum(int(x.size) for x in jax.tree.leaves(tree))

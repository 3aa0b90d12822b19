"""Array input for fit/evaluate/predict: checking, splitting, ordering and batching.

A model is used only through its interface (`flatten_inputs`, output names),
so this module stays below `models` in the import order.
"""
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np


def check_batch_size(batch_size, default):
    if batch_size is None:
        return default
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; received {batch_size!r}.")
    return int(batch_size)


def _to_numpy(x):
    """Host arrays as numpy; device arrays stay where they are (no copy back to the host)."""
    if isinstance(x, jax.Array):
        return x
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return np.asarray(x)
    raise TypeError(f"Expected numpy or jax arrays as model data; received {type(x).__name__}. "
                    "(Generators and Sequences go through fit(generator) / fit_generator.)")


def input_values(model, x):
    """`x` as the model's `apply` takes it: a list in `model.inputs` order, or a tree."""
    if x is None:
        raise ValueError("No input data: pass `x`.")
    x = x if isinstance(x, (np.ndarray, jax.Array)) else jax.tree.map(_to_numpy, x)
    if hasattr(model, "flatten_inputs"):
        x = model.flatten_inputs(x)
    for i, a in enumerate(x if isinstance(x, list) else jax.tree.leaves(x)):
        if not _is_numeric(a):
            names = getattr(model, "input_names", None) if model.built else None
            _check_numeric(a, f"Input '{names[i]}'" if names and len(names) > i else "Input data")
    return x


def _is_numeric(a):
    return np.dtype(a.dtype).kind in "biuf" or jax.dtypes.issubdtype(a.dtype, jnp.floating)


def _check_numeric(a, what):
    if not _is_numeric(a):
        raise ValueError(f"{what} has dtype {np.dtype(a.dtype).str}; model data must "
                         "be numeric (bool, int or float) arrays.")


def num_samples(tree):
    sizes = {int(a.shape[0]) for a in (tree if isinstance(tree, list) else jax.tree.leaves(tree))}
    if len(sizes) != 1:
        raise ValueError(f"All input arrays must have the same number of samples; received "
                         f"sizes {sorted(sizes)}.")
    return sizes.pop()


def _per_output(value, names, what):
    if value is None:
        return [None] * len(names)
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(f"{what} given for unknown outputs {unknown}; outputs are {names}.")
        return [None if value.get(n) is None else _to_numpy(value[n]) for n in names]
    if isinstance(value, (list, tuple)) and len(names) > 1:
        if len(value) != len(names):
            raise ValueError(f"The model has {len(names)} outputs {names}; {what} has {len(value)} "
                             "entries.")
        return [None if v is None else _to_numpy(v) for v in value]
    return [_to_numpy(value)] * (1 if what == "y" else len(names))


def _class_weights(y, class_weight):
    """Per-sample weights from a `{class: weight}` dict, the way Keras reads labels."""
    if not isinstance(class_weight, Mapping):
        raise TypeError(f"class_weight must be a dict {{class index: weight}}; received "
                        f"{type(class_weight).__name__}.")
    bad = [k for k in class_weight if not isinstance(k, (int, np.integer)) or k < 0]
    if bad:
        raise ValueError(f"class_weight keys must be class indices (ints >= 0); received {bad}.")
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else np.reshape(y, (len(y), -1))[:, 0]
    labels = labels.astype(np.int64)
    lookup = np.ones(max(int(labels.max(initial=0)), max(class_weight, default=0)) + 1, np.float32)
    for cls, w in class_weight.items():
        lookup[int(cls)] = w
    return lookup[labels]


class ArrayData:
    """Inputs, per-output targets and per-output sample weights, as numpy arrays."""

    def __init__(self, x, y, sw):
        self.x, self.y, self.sw = x, y, sw
        self.num_samples = num_samples((x, [a for a in y + sw if a is not None]))

    @classmethod
    def from_user(cls, model, x, y, sample_weight, class_weight):
        if isinstance(x, tuple) and y is None and len(x) in (2, 3) and not hasattr(model, "input_names"):
            x, y, sample_weight = (x + (None,))[:3]
        values = input_values(model, x)
        names = model._output_names_or_default()
        if y is None:
            raise ValueError("Training and evaluation need targets: pass `y`.")
        ys = _per_output(y, names, "y")
        if len(ys) != len(names):
            raise ValueError(f"The model has {len(names)} outputs {names}; received {len(ys)} targets.")
        sws = _per_output(sample_weight, names, "sample_weight")
        if class_weight:
            cw = [_class_weights(t, class_weight) for t in ys]
            sws = [c if s is None else s * c for s, c in zip(sws, cw)]
        sizes = [int(a.shape[0]) for a in jax.tree.leaves(values)]
        y_sizes = [int(a.shape[0]) for a in ys if a is not None]
        if len(set(sizes + y_sizes)) > 1:
            raise ValueError(f"Input arrays and target arrays must have the same number of samples; "
                             f"x sizes: {sizes}, y sizes: {y_sizes}.")
        sws = [None if s is None else np.asarray(s, np.float32).reshape(len(s), *np.shape(s)[1:])
               for s in sws]
        for name, t, s in zip(names, ys, sws):
            if t is not None:
                _check_numeric(t, f"Targets for output '{name}'")
            if s is not None and t is not None and s.ndim > 1 and s.shape != t.shape[:s.ndim]:
                raise ValueError(f"sample_weight for output '{name}' must have shape {s.shape[:1]} (one "
                                 f"weight per sample) or match the targets {t.shape}; received {s.shape}.")
        return cls(values, ys, sws)

    @classmethod
    def from_validation(cls, model, validation_data):
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
            raise ValueError("validation_data must be a tuple (x_val, y_val) or "
                             f"(x_val, y_val, val_sample_weight); received {type(validation_data).__name__}"
                             f" of length {len(validation_data) if hasattr(validation_data, '__len__') else '?'}.")
        x, y, sw = (tuple(validation_data) + (None,))[:3]
        return cls.from_user(model, x, y, sw, None)

    def split_last(self, fraction):
        """`(train, validation)`: Keras takes the last `fraction` of samples, before shuffling."""
        split_at = int(math.floor(self.num_samples * (1.0 - fraction)))
        if split_at == 0 or split_at == self.num_samples:
            raise ValueError(f"validation_split={fraction} leaves an empty training or validation set "
                             f"for {self.num_samples} samples.")
        cut = lambda lo, hi: jax.tree.map(lambda a: a[lo:hi], (self.x, self.y, self.sw))  # noqa: E731
        return ArrayData(*cut(0, split_at)), ArrayData(*cut(split_at, None))

    def arrays(self):
        return self.x, self.y, self.sw

    def first_non_finite(self):
        """`(sample, part)` of the first sample whose inputs, targets or sample weights hold
        NaN or Inf, e.g. `(37, "x[0]")`; None when every value is finite."""
        first = None
        for name, tree in (("x", self.x), ("y", self.y), ("sample_weight", self.sw)):
            for path, a in jax.tree_util.tree_flatten_with_path(tree)[0]:
                a = np.asarray(a)
                if not np.issubdtype(a.dtype, np.inexact):
                    continue
                bad = ~np.isfinite(a.reshape(len(a), -1)).all(axis=1)
                if bad.any() and (first is None or bad.argmax() < first[0]):
                    first = (int(bad.argmax()), name + jax.tree_util.keystr(path))
        return first

    def sample_x(self):
        return jax.tree.map(lambda a: a[:1], self.x)

    def padded_batches(self, batch_size):
        """Batches of exactly `batch_size` rows; a short last batch is padded and masked."""
        for batch, valid in padded_slices(self.arrays(), self.num_samples, batch_size):
            rows = jax.tree.leaves(batch)[0].shape[0]
            yield batch, (np.arange(rows) < valid).astype(np.float32)


def padded_slices(tree, n, batch_size):
    """`(batch, valid_rows)` over `tree`; the last batch is padded to `batch_size` rows."""
    size = batch_size
    for start in range(0, n, size):
        batch = jax.tree.map(lambda a: a[start:start + size], tree)
        valid = min(size, n - start)
        if valid < size:
            batch = jax.tree.map(lambda a: np.concatenate(
                [a, np.zeros((size - valid,) + a.shape[1:], a.dtype)]), batch)
        yield batch, valid


def bucket_rows(n):
    """`n` rounded up to a multiple of 1/16 to 1/8 of its power of two: the row count `fit`
    holds device data at, so datasets of nearby sizes (a second `fit` on other data, a
    `validation_split`) share one compiled train step."""
    step = 1 << max(n.bit_length() - 4, 0)
    return -(-n // step) * step


def pad_rows(tree, rows):
    """Each numpy leaf of `tree` followed by zero rows up to `rows` (the train step never
    gathers them: the epoch order indexes the real rows only)."""
    def pad(a):
        a = np.asarray(a)
        if a.shape[0] == rows:
            return a
        return np.concatenate([a, np.zeros((rows - a.shape[0],) + a.shape[1:], a.dtype)])
    return jax.tree.map(pad, tree)


def epoch_order(root_key, epoch, n, shuffle, batch_size=None):
    """The sample order of `epoch` as int32 numpy, drawn on the host from `(root key, epoch)`.

    `shuffle=True` permutes the samples; `'batch'` (Keras 2's option for HDF5 data) permutes
    whole batches of `batch_size` and keeps a short last batch last. Drawing on the host needs
    no compile and is faster than a device sort on CPU (scripts/BENCH_RESULTS.md).
    """
    if not shuffle:
        return np.arange(n, dtype=np.int32)
    words = [int(w) for w in np.asarray(jax.random.key_data(root_key)).ravel()]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(words + [0x5F3759DF, epoch])))
    if shuffle != "batch":
        return rng.permutation(n).astype(np.int32)
    if not batch_size:
        raise ValueError("shuffle='batch' needs the batch size.")
    full = n // batch_size
    batches = rng.permutation(full)[:, None] * batch_size + np.arange(batch_size)
    return np.concatenate([batches.ravel(), np.arange(full * batch_size, n)]).astype(np.int32)


class LazyLogs(Mapping):
    """Batch logs that leave the device only when a callback reads them."""

    def __init__(self, device_values):
        self._device, self._values = device_values, None

    def _get(self):
        if self._values is None:
            self._values = {k: float(v) for k, v in self._device.items()}
        return self._values

    def __getitem__(self, key):
        return self._get()[key]

    def __iter__(self):
        return iter(self._get())

    def __len__(self):
        return len(self._get())

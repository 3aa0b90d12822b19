"""The callback protocol: `Callback`, the `CallbackList` the training loop calls, lazy batch
logs, `History` (which every `fit` has) and Keras 2's `BaseLogger`."""
import numbers
import os
from collections.abc import Mapping


class Callback:
    """Base class: override the `on_*` hooks you need; `self.model` is set by `fit`."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)  # Keras 2's alias, called from here as Keras 2 does

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass

    # Keras 2 names, for train batches only: the base `on_train_batch_*` call them.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass

    def _shows_progress(self):
        """Whether this callback redraws a progress bar during the epoch (ProgbarLogger says)."""
        return False


def _path(who, name, value):
    """`value` as a path string; a TypeError (not a path) or ValueError (empty) naming `name`."""
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{who} `{name}` must be a path (a str or os.PathLike); received "
                        f"{name}={value!r} of type {type(value).__name__}.")
    path = os.fspath(value)
    if not path:
        raise ValueError(f"{who} `{name}` must not be empty.")
    return path


def _number(who, name, value, minimum=None):
    """`value` if it is a real number (at least `minimum` when given); else a clear error."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{who} `{name}` must be a number; received {name}={value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{who} `{name}` must be >= {minimum}; received {name}={value!r}.")
    return value


class CallbackList:
    """Calls each hook on every callback, in order."""

    def __init__(self, callbacks=None, model=None, params=None):
        self.callbacks = list(callbacks or [])
        self.model, self.params = model, params or {}
        if model is not None:
            self.set_model(model)
        if params is not None:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def __iter__(self):
        return iter(self.callbacks)

    def _each(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def on_train_begin(self, logs=None): self._each("on_train_begin", logs)
    def on_train_end(self, logs=None): self._each("on_train_end", logs)
    def on_epoch_begin(self, epoch, logs=None): self._each("on_epoch_begin", epoch, logs)
    def on_epoch_end(self, epoch, logs=None): self._each("on_epoch_end", epoch, logs)
    def on_test_begin(self, logs=None): self._each("on_test_begin", logs)
    def on_test_end(self, logs=None): self._each("on_test_end", logs)
    def on_test_batch_begin(self, batch, logs=None): self._each("on_test_batch_begin", batch, logs)
    def on_test_batch_end(self, batch, logs=None): self._each("on_test_batch_end", batch, logs)
    def on_predict_begin(self, logs=None): self._each("on_predict_begin", logs)
    def on_predict_end(self, logs=None): self._each("on_predict_end", logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._each("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._each("on_predict_batch_end", batch, logs)

    @property
    def uses_batch_hooks(self):
        """Whether any callback overrides a train-batch hook; if none does, fit skips them."""
        return self._hook_use()[0]

    @property
    def needs_every_batch(self):
        """Whether a callback needs each train batch's hooks; if none does, `fit` with
        `steps_per_execution="auto"` calls them once per chunk of batches it runs."""
        return self._hook_use()[1]

    @property
    def shows_progress(self):
        """Whether a progress bar redraws during the epoch (`verbose=1`)."""
        return self._hook_use()[2]

    def overrides(self, hook):
        """Whether some callback has `hook` of its own (its class's or set on the instance)."""
        return any(getattr(type(cb), hook) is not getattr(Callback, hook) or hook in vars(cb)
                   for cb in self.callbacks)

    def _hook_use(self):
        """`(uses, needs every batch, shows progress)`: asked once per dispatch, so the answer is
        kept until the callbacks change."""
        ids = tuple(map(id, self.callbacks))
        if getattr(self, "_hooks_for", None) != ids:
            self._hooks = (any(_overridden_batch_hooks(cb) for cb in self.callbacks),
                           any(_needs_every_batch(cb) for cb in self.callbacks),
                           any(cb._shows_progress() for cb in self.callbacks))
            self._hooks_for = ids
        return self._hooks

    def on_train_batch_begin(self, batch, logs=None):
        self._each("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._each("on_train_batch_end", batch, logs)


class BatchLogs(Mapping):
    """Keras 2's batch logs: `batch` and `size` (and `num_steps` when one call ran several
    batches), then the running metrics (a Mapping, or a function giving one), copied off the
    device only when a callback reads them."""

    def __init__(self, batch, size, values=None, num_steps=1):
        self._head = {"batch": batch, "size": size}
        if num_steps != 1:
            self._head["num_steps"] = num_steps
        self._values = values if values is not None else {}

    def _tail(self):
        if callable(self._values):  # computed at the first read only
            self._values = self._values()
        return self._values

    def __getitem__(self, key):
        return self._head[key] if key in self._head else self._tail()[key]

    def __iter__(self):
        yield from self._head
        yield from self._tail()

    def __len__(self):
        return len(self._head) + len(self._tail())

    def metrics(self):
        """The logged values without the bookkeeping keys."""
        return {k: v for k, v in self.items() if k not in self._head}


def _values(logs):
    """A batch's logged values, without Keras 2's `batch`/`size`/`num_steps`."""
    if isinstance(logs, BatchLogs):
        return logs.metrics()
    return {k: v for k, v in (logs or {}).items() if k not in ("batch", "size", "num_steps")}


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")


def _overridden_batch_hooks(cb):
    """The classes (or `cb` itself, for LambdaCallback's) that give `cb` its train-batch hooks."""
    owners = set()
    for hook in _BATCH_HOOKS:
        if hook in vars(cb):
            owners.add(cb)
            continue
        owner = next(k for k in type(cb).__mro__ if hook in vars(k))
        if owner is not Callback:
            owners.add(owner)
    return owners


def _needs_every_batch(cb):
    """Whether `cb` must see each batch: its batch hooks are its own, or they are a jkeras
    callback's that acts per batch in this configuration (a checkpoint every N batches). A
    class whose batch hooks may run once per chunk of steps says when, in its own
    `_per_chunk(self)`; a subclass that overrides a batch hook owns it and sees every batch."""
    def per_chunk(owner):
        own = vars(owner).get("_per_chunk") if isinstance(owner, type) else None
        return own is not None and own(cb)
    return any(not per_chunk(owner) for owner in _overridden_batch_hooks(cb))


class History(Callback):
    """Records each epoch's logs: `history.history['loss']`, `['val_loss']`, ..."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        self.model.history = self


class BaseLogger(Callback):
    """Keras 2's epoch averages of the batch logs, weighted by each batch's `size`.

    Batch logs that carry `size` (Keras 2's per-batch values) are averaged as
    Keras 2 did; `fit`'s batch logs (`BatchLogs`) are already running epoch averages (as
    tf.keras 2's), so the last batch's values are the epoch's.
    Names in `stateful_metrics` are kept as logged. Asking for batch logs makes
    `fit` copy them off the device after each batch.
    """

    _BOOKKEEPING = ("batch", "size", "num_steps")

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or [])

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.totals = {}

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        if "size" not in logs or isinstance(logs, BatchLogs):  # running averages: the latest is the epoch's
            self.seen = 1
            self.totals = _values(logs)
            return
        batch_size = logs["size"]
        self.seen += batch_size * logs.get("num_steps", 1)
        for k, v in logs.items():
            if k in self._BOOKKEEPING:
                continue
            if k in self.stateful_metrics:
                self.totals[k] = v
            else:
                self.totals[k] = self.totals.get(k, 0) + v * batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.seen:
            return
        for k, total in self.totals.items():
            logs[k] = total if k in self.stateful_metrics else total / self.seen

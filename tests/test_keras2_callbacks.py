"""Keras 2 callbacks run unchanged: Keras 2.3.1's `params`, batch logs and hook order."""
import numpy as np

import jkeras
from jkeras import callbacks, layers


def _data(n=40):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 4)).astype("float32"), rng.integers(0, 3, n)


def _model():
    model = jkeras.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Keras2Progress(callbacks.Callback):
    """What a Keras 2 progress bar reads (as keras 2.3.1's ProgbarLogger in 'samples' mode and
    keras-tqdm do): `params['samples']`, `['epochs']`, `['metrics']`, each batch's `size`."""

    def on_train_begin(self, logs=None):
        self.epochs, self.lines = self.params["epochs"], []

    def on_epoch_begin(self, epoch, logs=None):
        self.target, self.seen = self.params["samples"], 0

    def on_batch_end(self, batch, logs=None):
        self.seen += logs.get("size", 0) * logs.get("num_steps", 1)
        self.values = [(k, logs[k]) for k in self.params["metrics"] if k in logs]

    def on_epoch_end(self, epoch, logs=None):
        shown = [(k, logs[k]) for k in self.params["metrics"] if k in logs]
        self.lines.append((self.seen, self.target, [k for k, _ in self.values], [k for k, _ in shown]))


def test_a_keras2_progress_bar_runs_unchanged():
    x, y = _data()
    bar = Keras2Progress()
    _model().fit(x, y, batch_size=16, epochs=2, validation_split=0.25, verbose=0, callbacks=[bar])
    # 30 training samples: batches of 16 and 14
    assert bar.lines == [(30, 30, ["loss", "accuracy"],
                          ["loss", "accuracy", "val_loss", "val_accuracy"])] * 2


def test_fit_params_are_keras2s():
    """keras 2.3.1 `training_arrays.fit_loop`'s params; `steps` is the step count, as in tf.keras 2
    (Keras 2.3.1 gave None for arrays)."""
    x, y = _data()
    seen = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: seen.append(dict(cb.params)))
    _model().fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[cb], validation_data=(x, y))
    assert seen == [{"batch_size": 16, "epochs": 3, "steps": 3, "samples": 40, "verbose": 0,
                     "do_validation": True,
                     "metrics": ["loss", "accuracy", "val_loss", "val_accuracy"]}]
    _model().fit(x, y, batch_size=16, verbose=0, callbacks=[cb])
    assert seen[-1]["do_validation"] is False and seen[-1]["metrics"] == ["loss", "accuracy"]


class Recorder(callbacks.Callback):
    """Notes each hook it gets, with the batch logs' `size`; every hook is its class's own."""

    def __init__(self, calls):
        super().__init__()
        self.calls = calls


def _recording(name):
    def hook(self, *args):
        index = args[:1] if args and isinstance(args[0], int) else ()
        size = (dict(args[1] or {}).get("size"),) if "batch" in name else ()
        self.calls.append((name,) + index + size)
        getattr(callbacks.Callback, name)(self, *args)
    return hook


for _name in [n for n in vars(callbacks.Callback) if n.startswith("on_")]:
    setattr(Recorder, _name, _recording(_name))


def test_hook_order_is_keras2s():
    """Keras 2.3.1's order: the train-batch hook of each callback calls its `on_batch_*` alias;
    the validation runs the test hooks before `on_epoch_end`."""
    x, y = _data(20)
    calls = []
    _model().fit(x[:12], y[:12], batch_size=8, epochs=1, verbose=0, callbacks=[Recorder(calls)],
                 validation_data=(x[12:], y[12:]))
    assert calls == [
        ("on_train_begin",), ("on_epoch_begin", 0),
        ("on_train_batch_begin", 0, 8), ("on_batch_begin", 0, 8),
        ("on_train_batch_end", 0, 8), ("on_batch_end", 0, 8),
        ("on_train_batch_begin", 1, 4), ("on_batch_begin", 1, 4),
        ("on_train_batch_end", 1, 4), ("on_batch_end", 1, 4),
        ("on_test_begin",), ("on_test_batch_begin", 0, 8), ("on_test_batch_end", 0, 8),
        ("on_test_end",), ("on_epoch_end", 0), ("on_train_end",),
    ]


def test_a_train_batch_hook_of_its_own_replaces_the_alias():
    """As in Keras 2.3.1: overriding `on_train_batch_end` without `super()` leaves `on_batch_end`."""
    got = []

    class Both(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            got.append(("train_batch", batch))

        def on_batch_end(self, batch, logs=None):
            got.append(("batch", batch))

    x, y = _data(16)
    _model().fit(x, y, batch_size=8, verbose=0, callbacks=[Both()])
    assert got == [("train_batch", 0), ("train_batch", 1)]


def test_evaluate_and_predict_give_their_callbacks_keras2_params_and_hooks():
    x, y = _data(20)
    model = _model()
    got = []

    class Watch(callbacks.Callback):
        def on_test_begin(self, logs=None):
            got.append(("test", dict(self.params)))

        def on_test_batch_end(self, batch, logs=None):
            got.append(("test_batch", batch, logs["size"], sorted(logs)))

        def on_predict_begin(self, logs=None):
            got.append(("predict", dict(self.params)))

        def on_predict_batch_end(self, batch, logs=None):
            got.append(("predict_batch", batch, logs["size"], logs["outputs"].shape))

    loss, acc = model.evaluate(x, y, batch_size=16, verbose=0, callbacks=[Watch()])
    out = model.predict(x, batch_size=16, callbacks=[Watch()])
    assert got == [
        ("test", {"batch_size": 16, "steps": None, "samples": 20, "verbose": 0,
                  "metrics": ["loss", "accuracy"]}),
        ("test_batch", 0, 16, ["accuracy", "batch", "loss", "size"]),
        ("test_batch", 1, 4, ["accuracy", "batch", "loss", "size"]),
        ("predict", {"batch_size": 16, "steps": None, "samples": 20, "verbose": 0}),
        ("predict_batch", 0, 16, (16, 3)), ("predict_batch", 1, 4, (4, 3)),
    ]
    np.testing.assert_array_equal(out, model.predict(x, batch_size=16))


def test_keras2_batch_logs_do_not_reach_the_progress_bar_or_base_logger(capsys):
    x, y = _data()
    base = callbacks.BaseLogger()
    history = _model().fit(x, y, batch_size=16, epochs=1, verbose=1, callbacks=[base])
    out = capsys.readouterr().out
    assert "size" not in out and "batch:" not in out
    assert history.history["loss"][0] > 0  # BaseLogger keeps the running averages as the epoch's

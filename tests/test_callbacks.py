"""Callbacks: each one's decisions against Keras 3's on the same logs, and in a real `fit`."""
import io
import os
import re
import struct
import sys
import time
import warnings
from collections.abc import Mapping

import numpy as np
import pytest

import jkeras
from jkeras import callbacks as cbm
from jkeras.callbacks import progbar
from jkeras.layers import Dense


# ---------------------------------------------------------------- helpers

def _data(n=128, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _model(lr=0.1, metrics=("accuracy",), d=4, classes=3):
    model = jkeras.Sequential([Dense(classes, activation="softmax", input_shape=(d,))])
    model.compile(jkeras.optimizers.SGD(lr), "categorical_crossentropy", metrics=list(metrics))
    return model


def _keras_callbacks():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    return keras.callbacks


class _StubOptimizer:
    """A float32 rate, as Keras's variable and jkeras's optimizer state hold it."""

    def __init__(self, lr):
        self._lr = np.float32(lr)

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        self._lr = np.float32(value)


class _StubModel:
    """What the monitoring callbacks touch: optimizer, stop_training, weights, save."""

    def __init__(self, lr=0.1):
        self.optimizer = _StubOptimizer(lr)
        self.stop_training = False
        self.weights = [np.zeros(1)]
        self.saved = []

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, filepath, overwrite=True, **kwargs):
        self.saved.append(os.path.basename(filepath))

    def save_weights(self, filepath, overwrite=True, **kwargs):
        self.saved.append(os.path.basename(filepath))

    def _sync_weights(self):
        pass


def _drive(callback, logs_per_epoch, batches=0, lr=0.1):
    """Run the hooks `fit` runs over a fixed schedule of epoch logs; record what happened."""
    model = _StubModel(lr)
    callback.set_model(model)
    callback.set_params({"epochs": len(logs_per_epoch), "steps": batches, "verbose": 0})
    trace = {"lr": [], "logs": [], "epochs_run": 0}
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_per_epoch):
        model.weights = [np.full(1, float(epoch))]
        callback.on_epoch_begin(epoch)
        for b in range(batches):
            callback.on_train_batch_begin(b)
            callback.on_train_batch_end(b, {"loss": 1.0 / (b + 1)})
        logs = dict(logs)
        callback.on_epoch_end(epoch, logs)
        trace["lr"].append(float(model.optimizer.learning_rate))
        trace["logs"].append(logs)
        trace["epochs_run"] += 1
        if model.stop_training:
            break
    callback.on_train_end()
    trace["final_weight"] = float(model.weights[0][0])
    trace["saved"] = model.saved
    return trace


def _schedules():
    rng = np.random.default_rng(7)
    out = [
        [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.6, 0.6, 0.61, 0.7, 0.2],
        [0.5] * 10,
        [1.0, 0.99995, 0.9999, 0.95, 0.95, 0.9, 0.99, 0.98, 0.97, 0.96],
        list(np.round(rng.uniform(0, 1, 14), 2)),
        list(np.round(np.cumsum(rng.normal(0, 0.1, 14)) + 2, 3)),
    ]
    return [[float(v) for v in s] for s in out]


# -------------------------------------------------- decisions against Keras 3

@pytest.mark.parametrize("kwargs", [
    dict(patience=0), dict(patience=2), dict(patience=3, min_delta=0.05),
    dict(patience=2, mode="max"), dict(patience=1, baseline=0.55),
    dict(patience=2, baseline=0.55, restore_best_weights=True),
    dict(patience=2, restore_best_weights=True), dict(patience=20, restore_best_weights=True),
    dict(patience=1, start_from_epoch=3, restore_best_weights=True),
    dict(patience=2, mode="max", restore_best_weights=True, min_delta=0.01),
])
def test_early_stopping_matches_keras(kwargs):
    kcb = _keras_callbacks()
    for values in _schedules():
        logs = [{"loss": 1.0, "val_loss": v} for v in values]
        ours = cbm.EarlyStopping(monitor="val_loss", **kwargs)
        theirs = kcb.EarlyStopping(monitor="val_loss", **kwargs)
        a, b = _drive(ours, logs), _drive(theirs, logs)
        assert a["epochs_run"] == b["epochs_run"], (kwargs, values)
        assert a["final_weight"] == b["final_weight"], (kwargs, values)
        assert (ours.stopped_epoch, ours.best_epoch, ours.wait) == \
               (theirs.stopped_epoch, theirs.best_epoch, theirs.wait)
        assert (ours.best is None and theirs.best is None) or float(ours.best) == float(theirs.best)


@pytest.mark.parametrize("kwargs", [
    dict(patience=0), dict(patience=1, factor=0.5), dict(patience=2, cooldown=1, factor=0.5),
    dict(patience=1, cooldown=3, factor=0.2, min_lr=0.01), dict(patience=1, mode="max", factor=0.5),
    dict(patience=2, min_delta=0.05, factor=0.3), dict(patience=1, factor=0.1, min_lr=0.05),
    dict(patience=0, cooldown=0, factor=0.5, min_delta=0.0),
])
def test_reduce_lr_on_plateau_matches_keras(kwargs):
    kcb = _keras_callbacks()
    for values in _schedules():
        logs = [{"loss": v, "val_loss": v} for v in values]
        a = _drive(cbm.ReduceLROnPlateau(monitor="val_loss", **kwargs), logs)
        b = _drive(kcb.ReduceLROnPlateau(monitor="val_loss", **kwargs), logs)
        assert a["lr"] == b["lr"], (kwargs, values)
        assert [l["learning_rate"] for l in a["logs"]] == [l["learning_rate"] for l in b["logs"]]


@pytest.mark.parametrize("kwargs", [
    dict(), dict(save_best_only=True), dict(save_best_only=True, mode="max"),
    dict(save_best_only=True, initial_value_threshold=0.6),
    dict(save_best_only=True, monitor="loss"),
    dict(save_best_only=True, monitor="missing", mode="min"),  # Keras 3 cannot guess a direction
    dict(save_freq=3), dict(save_freq=5, save_best_only=True, monitor="loss"),
    dict(save_weights_only=True),
])
def test_model_checkpoint_saves_on_keras_epochs(kwargs, tmp_path):
    kcb = _keras_callbacks()
    name = "m.{epoch:02d}-{val_loss:.2f}.h5"
    if kwargs.get("save_weights_only"):
        name = "w.{epoch:02d}.weights.h5"
    if isinstance(kwargs.get("save_freq"), int):
        name = "b.{epoch:02d}-{batch:02d}.h5"
    path = str(tmp_path / name)
    saved = 0
    for values in _schedules():
        logs = [{"loss": v / 2, "val_loss": v} for v in values]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = _drive(cbm.ModelCheckpoint(path, **kwargs), logs, batches=4)
            b = _drive(kcb.ModelCheckpoint(path, **kwargs), logs, batches=4)
        assert a["saved"] == b["saved"], (kwargs, values)
        saved += len(a["saved"])
    assert saved


def test_csv_logger_writes_what_keras_writes(tmp_path):
    kcb = _keras_callbacks()
    logs = [{"loss": 0.5, "accuracy": 0.25},
            {"loss": 0.25, "accuracy": 0.5, "val_loss": 0.75, "val_accuracy": 0.125},
            {"loss": 0.125, "accuracy": np.float32(0.75), "vector": np.array([1, 2])}]
    for sep, append in ((",", False), (";", True)):
        files = []
        for cls in (cbm.CSVLogger, kcb.CSVLogger):
            path = str(tmp_path / f"{cls.__module__.split('.')[0]}_{append}.csv")
            for _ in range(2 if append else 1):  # append continues without a second header
                _drive(cls(path, separator=sep, append=append), logs)
            files.append(open(path, "rb").read())
        assert files[0] == files[1]
    assert files[0].count(b"epoch") == 1


# ------------------------------------------------------------ inside a fit

def test_model_checkpoint_files_load(tmp_path):
    x, y = _data()
    model = _model()
    seen = []
    record = cbm.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(
        (round(logs["val_loss"], 2), model.get_weights())))
    pattern = str(tmp_path / "ckpt" / "m.{epoch:02d}-{val_loss:.2f}.h5")
    model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0,
              callbacks=[cbm.ModelCheckpoint(pattern), record])
    for epoch, (val_loss, weights) in enumerate(seen):
        path = pattern.format(epoch=epoch + 1, val_loss=val_loss)
        loaded = jkeras.models.load_model(path)
        for a, b in zip(loaded.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(loaded.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0),
                               rtol=1e-6)

    best = str(tmp_path / "best.weights.h5")
    model2 = _model()
    model2.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[cbm.ModelCheckpoint(
        best, monitor="loss", save_best_only=True, save_weights_only=True)])
    fresh = _model()
    fresh.load_weights(best)
    for a, b in zip(fresh.get_weights(), model2.get_weights()):  # loss falls: the last is best
        np.testing.assert_array_equal(a, b)


def test_model_checkpoint_every_n_batches_and_bad_paths(tmp_path):
    x, y = _data()
    model = _model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # until the trainer can sync mid-epoch weights
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[cbm.ModelCheckpoint(
            str(tmp_path / "b{epoch}-{batch}.h5"), save_freq=5)])
    # 8 batches an epoch, counted across epochs: saves after batches 5 and 10 and 15
    assert sorted(os.listdir(tmp_path)) == ["b1-5.h5", "b2-2.h5", "b2-7.h5"]
    assert jkeras.models.load_model(str(tmp_path / "b2-7.h5")).get_weights()[0].shape == (4, 3)
    with pytest.raises(ValueError, match=r"\.h5"):
        cbm.ModelCheckpoint(str(tmp_path / "model.ckpt"), save_weights_only=True)
    with pytest.raises(ValueError, match="save_freq"):
        cbm.ModelCheckpoint(str(tmp_path / "m.h5"), save_freq="batch")
    with pytest.raises(KeyError, match="Failed to format"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[cbm.ModelCheckpoint(str(tmp_path / "{nope}.h5"))])


def test_csv_logger_in_fit(tmp_path):
    x, y = _data()
    path = str(tmp_path / "log.csv")
    model = _model()
    model.fit(x, y, epochs=2, batch_size=32, validation_split=0.25, verbose=0,
              callbacks=[cbm.CSVLogger(path)])
    model.fit(x, y, epochs=3, initial_epoch=2, batch_size=32, validation_split=0.25, verbose=0,
              callbacks=[cbm.CSVLogger(path, append=True)])
    lines = open(path).read().splitlines()
    assert lines[0] == "epoch,accuracy,loss,val_accuracy,val_loss"
    assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "2"]
    hist = model.history.history
    assert float(lines[3].split(",")[2]) == pytest.approx(hist["loss"][0])


def test_learning_rate_scheduler_sets_the_live_rate_without_recompiling(capsys):
    x, y = _data()
    model = _model(lr=0.1)
    weights = []
    rates = [0.1, 0.0, 0.0, 0.05]
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, callbacks=[
        cbm.LearningRateScheduler(lambda epoch, lr: rates[epoch], verbose=1),
        cbm.LambdaCallback(on_epoch_end=lambda e, logs: weights.append(model.get_weights()))])
    assert model.history.history["learning_rate"] == pytest.approx(rates)
    assert model._trace_counts["train"] == 1
    for a, b in zip(weights[0], weights[2]):  # rate 0: the weights stand still
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights[2][0], weights[3][0])
    assert "Epoch 2: LearningRateScheduler setting learning rate to 0.0." in capsys.readouterr().out
    assert model.optimizer.learning_rate == pytest.approx(0.05)

    model.fit(x, y, epochs=2, batch_size=16, verbose=0,  # Keras 2's one-argument schedule
              callbacks=[cbm.LearningRateScheduler(lambda epoch: 0.5 ** (epoch + 1))])
    assert model.history.history["learning_rate"] == pytest.approx([0.5, 0.25])
    assert model._trace_counts["train"] == 1
    with pytest.raises(ValueError, match="should be a float"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[cbm.LearningRateScheduler(lambda epoch: "fast")])


def test_reduce_lr_on_plateau_in_fit_matches_keras():
    kcb = _keras_callbacks()
    x, y = _data()
    model = _model(lr=0.1)
    kwargs = dict(monitor="loss", factor=0.5, patience=1, min_delta=0.02, cooldown=1, min_lr=0.01)
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0,
                     callbacks=[cbm.ReduceLROnPlateau(**kwargs)]).history
    keras_run = _drive(kcb.ReduceLROnPlateau(**kwargs), [{"loss": v} for v in hist["loss"]])
    assert hist["learning_rate"] == [l["learning_rate"] for l in keras_run["logs"]]
    assert hist["learning_rate"][-1] < 0.1
    assert model._trace_counts["train"] == 1


def test_early_stopping_restores_best_weights_without_stopping():
    x, y = _data()
    model = _model(lr=-0.5)  # gradient ascent: the loss only grows, so epoch 0 is best
    weights = []
    stop = cbm.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True, verbose=1)
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[
        stop, cbm.LambdaCallback(on_epoch_end=lambda e, logs: weights.append(model.get_weights()))])
    assert stop.stopped_epoch == 0 and stop.best_epoch == 0
    for a, b in zip(model.get_weights(), weights[0]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_auto_mode_follows_metric_direction():
    x, y = _data()
    model = _model(metrics=("accuracy", "mae"))
    acc = cbm.EarlyStopping(monitor="val_accuracy", patience=100)
    mae = cbm.EarlyStopping(monitor="val_mae", patience=100)
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=[acc, mae])
    assert acc.monitor_op is np.greater and mae.monitor_op is np.less
    custom = cbm.EarlyStopping(monitor="val_custom_score")
    custom.set_model(model)
    with pytest.warns(UserWarning, match="mode='min'"):
        custom._set_monitor_op()
    with pytest.warns(UserWarning, match="unknown"):
        assert cbm.EarlyStopping(mode="sideways").mode == "auto"


def test_terminate_on_nan_stops_at_the_bad_batch():
    x, y = _data()
    y[100] = np.nan  # batch 3 of 32-row batches
    batches = []
    model = _model()
    hist = model.fit(x, y, epochs=5, batch_size=32, shuffle=False, verbose=0, callbacks=[
        cbm.TerminateOnNaN(),
        cbm.LambdaCallback(on_train_batch_end=lambda b, logs: batches.append(b))])
    assert batches == [0, 1, 2, 3]
    assert len(hist.history["loss"]) == 1 and np.isnan(hist.history["loss"][0])
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        _model().fit(x, y, epochs=1, batch_size=32, shuffle=False, verbose=0,
                     callbacks=[cbm.TerminateOnNaN(raise_error=True)])


# ------------------------------------------------------------ progress bar

_BAR = r"32/32 \[={30}\] - \d+s \d+(s|ms|us)/step - loss: \d+\.\d{4} - accuracy: \d\.\d{4}"


def test_progbar_verbose_1_and_2_lines(capsys):
    x, y = _data(n=1024)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=32, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(_BAR, lines[1]) and re.fullmatch(_BAR, lines[3]), lines

    model.fit(x, y, epochs=1, batch_size=32, verbose=2, validation_split=0.5)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"16/16 - \d+s - loss: \d\.\d{4} - accuracy: \d\.\d{4} - val_loss: "
                        r"\d\.\d{4} - val_accuracy: \d\.\d{4}", lines[0]), lines

    # the bar comes last, so it shows what the other callbacks add to the logs
    model.fit(x, y, epochs=2, batch_size=32, verbose=1, callbacks=[
        cbm.LearningRateScheduler(lambda epoch, lr: lr)])
    assert capsys.readouterr().out.splitlines()[1].endswith(" - learning_rate: 0.1000")


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progbar_redraws_in_place_and_averages():
    out = _Tty()
    bar = cbm.Progbar(10, width=10, stream=out, stateful_metrics=["acc"])
    bar.update(1, [("loss", 1.0), ("acc", 0.5)])
    time.sleep(0.06)
    bar.update(4, [("loss", 0.0), ("acc", 0.75)])
    bar.update(10, [("loss", 0.0), ("acc", 1.0)])
    text = out.getvalue()
    parts = text.split("\r")[1:]
    assert parts[0].startswith(" 1/10 [>.........] - ETA: ") and parts[0].endswith(
        " - loss: 1.0000 - acc: 0.5000")
    assert parts[1].startswith(" 4/10 [===>......] - ETA: ")
    assert " - loss: 0.2500 - acc: 0.7500" in parts[1]
    assert re.fullmatch(r"10/10 \[==========\] - \d+s \d+(s|ms|us)/step - loss: 0\.1000 - "
                        r"acc: 1\.0000\n", parts[2]), parts[2]
    assert progbar._format_value(0.0) == "0.0000e+00" and progbar._format_value(-2.5) == "-2.5000"


class _CountingLogs(Mapping):
    """Stands in for the trainer's lazy batch logs: counts how often they are read."""
    reads = 0

    def __init__(self, **values):
        self._values = values

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        type(self).reads += 1
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def test_progbar_logger_reads_batch_logs_at_most_every_interval(monkeypatch):
    logger = cbm.ProgbarLogger()
    logger.set_params({"epochs": 1, "steps": 100000, "verbose": 1})
    for stream in (io.StringIO(), _Tty()):
        monkeypatch.setattr(sys, "stdout", stream)
        _CountingLogs.reads = 0
        logger.on_epoch_begin(0)
        start = time.time()
        for b in range(3000):
            logger.on_train_batch_end(b, _CountingLogs(loss=1.0))
        elapsed = time.time() - start
        if isinstance(stream, _Tty):
            assert 1 <= _CountingLogs.reads <= 2 + elapsed / 0.05
        else:
            assert _CountingLogs.reads == 0  # a file or pipe gets the last line only
        logger.on_epoch_end(0, {"loss": 0.5})
        assert stream.getvalue().endswith(" - loss: 0.5000\n")


# ------------------------------------------------------ TensorBoard, misc

def _read_events(directory):
    from tensorboardX.proto import event_pb2
    events = []
    for name in sorted(os.listdir(directory)):
        data = open(os.path.join(directory, name), "rb").read()
        pos = 0
        while pos < len(data):
            (length,) = struct.unpack("<Q", data[pos:pos + 8])
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            events.append(event)
            pos += 12 + length + 4
    return [(v.tag, e.step, v.simple_value) for e in events for v in e.summary.value]


def test_tensorboard_writes_epoch_scalars_and_histograms(tmp_path):
    pytest.importorskip("tensorboardX")
    x, y = _data()
    model = _model()
    tb = cbm.TensorBoard(log_dir=str(tmp_path), histogram_freq=1, update_freq=4)
    hist = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0,
                     callbacks=[tb])
    train = _read_events(tmp_path / "train")
    val = _read_events(tmp_path / "validation")
    scalars = {(tag, step): value for tag, step, value in train}
    assert scalars[("epoch_loss", 1)] == pytest.approx(hist.history["loss"][1])
    assert scalars[("epoch_learning_rate", 0)] == pytest.approx(0.1)
    # fit's validation calls on_test_end as tf.keras 2 and Keras 3 do: `evaluation_*` at the step
    assert {(t, s) for t, s, _ in val} == ({(f"epoch_{k}", e) for k in ("loss", "accuracy") for e in (0, 1)}
                                           | {(f"evaluation_{k}_vs_iterations", s)
                                              for k in ("loss", "accuracy") for s in (6, 12)})
    assert {s for t, s, _ in train if t == "batch_loss"} == {4, 8, 12}  # 6 batches an epoch
    assert {t for t, _, _ in train if t.endswith("/histogram")} == {"dense/kernel/histogram",
                                                                  "dense/bias/histogram"}
    assert "learning_rate" not in hist.history  # TensorBoard reads the rate, does not log it


def test_tensorboard_without_tensorboardx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match="pip install tensorboardX"):
        cbm.TensorBoard()


def test_callback_list_order_history_and_lambda():
    x, y = _data()
    model = _model()
    mine = cbm.History()
    calls = []
    lam = cbm.LambdaCallback(on_train_begin=lambda logs: calls.append("begin"),
                             on_epoch_end=lambda e, logs: calls.append(e), on_batch_end=None)
    returned = model.fit(x, y, epochs=2, verbose=0, callbacks=[lam, mine])
    assert returned is mine and model.history is mine and calls == ["begin", 0, 1]
    cbs = cbm.configure([lam], model, verbose=1, epochs=1, steps=4)
    assert [type(c).__name__ for c in cbs] == ["LambdaCallback", "History", "ProgbarLogger"]
    with pytest.raises(ValueError, match="Unknown callback hook"):
        cbm.LambdaCallback(on_epoch_finish=print)
    with pytest.raises(TypeError, match="Callback instances"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[print])



def test_model_checkpoint_to_a_folder_writes_orbax_checkpoints(tmp_path):
    """A path without an HDF5 suffix is a checkpoint folder: exact, loadable with load_model."""
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    model = jkeras.Sequential([jkeras.layers.Dense(3, input_shape=(4,))])
    model.compile("sgd", "mse")
    model.fit(x, x[:, :3], epochs=2, verbose=0,
              callbacks=[cbm.ModelCheckpoint(str(tmp_path / "ckpt_{epoch}"))])
    assert sorted(os.listdir(tmp_path)) == ["ckpt_1", "ckpt_2"]
    restored = jkeras.models.load_model(str(tmp_path / "ckpt_2"))
    for a, b in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)

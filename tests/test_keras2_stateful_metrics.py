"""Keras 2.1-2.2 stateful metrics (a `Layer` with `stateful = True` and `K.variable` state) in
`compile(metrics=...)`, against numpy counts: the running value per batch, reset at each epoch
and before each evaluation, as Keras 2 logged them."""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras.layers import Layer


class BinaryTruePositives(Layer):
    """The Keras 2.1 docs' stateful metric: true positives over the epoch, updated by `add_update`."""

    def __init__(self, name="true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.stateful = True
        self.true_positives = K.variable(value=0, dtype="int32")

    def reset_states(self):
        K.set_value(self.true_positives, 0)

    def __call__(self, y_true, y_pred):
        y_true = K.cast(y_true, "int32")
        y_pred = K.cast(K.round(y_pred), "int32")
        correct_preds = K.cast(K.equal(y_pred, y_true), "int32")
        true_pos = K.cast(K.sum(correct_preds * y_true), "int32")
        current_true_pos = self.true_positives * 1
        self.add_update(K.update_add(self.true_positives, true_pos), inputs=[y_true, y_pred])
        return current_true_pos + true_pos


class SeenSamples(Layer):
    """Counts rows through a `(variable, new value)` update pair; starts from 0.5 to show that
    `reset_states` (not zeros) gives the start value."""

    def __init__(self, **kwargs):
        super().__init__(name="seen", **kwargs)
        self.stateful = True
        self.count = K.variable(0.5)

    def reset_states(self):
        K.set_value(self.count, 0.5)

    def __call__(self, y_true, y_pred):
        new = self.count + K.cast(K.shape(y_true)[0], "float32")
        self.add_update([(self.count, new)])
        return new


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype("float32")
    return x, (rng.uniform(size=(n, 1)) > 0.5).astype("int32")


def _model():
    jkeras.utils.set_random_seed(3)
    model = jkeras.Sequential([jkeras.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    # a zero learning rate keeps the predictions fixed, so numpy can count what the metric sees
    model.compile(jkeras.optimizers.SGD(0.0), "binary_crossentropy",
                  metrics=[BinaryTruePositives(), SeenSamples()])
    return model


def _true_positives(model, x, y):
    pred = np.round(model.predict(x, verbose=0)).astype("int32")
    return int(np.sum((pred == y) * y))


class _BatchLogs(jkeras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        self.seen.append((float(logs["true_positives"]), float(logs["seen"])))


def test_running_value_per_batch_reset_each_epoch():
    model = _model()
    x, y = _data(40, 0)
    record = _BatchLogs()
    history = model.fit(x, y, batch_size=10, epochs=2, shuffle=False, verbose=0, callbacks=[record])
    pred = np.round(model.predict(x, verbose=0)).astype("int32")
    per_batch = np.cumsum([np.sum((pred[i:i + 10] == y[i:i + 10]) * y[i:i + 10]) for i in range(0, 40, 10)])
    expected = [(float(tp), 0.5 + 10.0 * (i + 1)) for i, tp in enumerate(per_batch)]
    assert record.seen == expected * 2  # the second epoch starts again from the reset state
    assert history.history["true_positives"] == [float(per_batch[-1])] * 2
    assert history.history["seen"] == [40.5, 40.5]


def test_evaluate_resets_and_skips_padded_rows():
    model = _model()
    x, y = _data(40, 1)
    vx, vy = _data(23, 2)  # 23 rows in batches of 10: the last batch is padded
    history = model.fit(x, y, batch_size=10, epochs=1, verbose=0, validation_data=(vx, vy))
    assert history.history["val_true_positives"] == [_true_positives(model, vx, vy)]
    assert history.history["val_seen"] == [23.5]
    for _ in range(2):  # a second evaluate starts from the reset state too
        logs = model.evaluate(vx, vy, batch_size=10, verbose=0, return_dict=True)
        assert (logs["true_positives"], logs["seen"]) == (_true_positives(model, vx, vy), 23.5)


def test_train_on_batch_reports_the_batch_value():
    model = _model()
    x, y = _data(8, 3)
    _, tp, seen = model.train_on_batch(x, y)
    assert (tp, seen) == (_true_positives(model, x, y), 8.5)


def precision_k2(y_true, y_pred):
    """A Keras 2-era function metric written with K ops (the one Keras 2.0 shipped)."""
    true_positives = K.sum(K.round(K.clip(y_true * y_pred, 0, 1)))
    predicted_positives = K.sum(K.round(K.clip(y_pred, 0, 1)))
    return true_positives / (predicted_positives + K.epsilon())


def weighted_bce_k2(y_true, y_pred):
    """A Keras 2-style loss with K ops: positives count twice."""
    y_pred = K.clip(y_pred, K.epsilon(), 1 - K.epsilon())
    per_entry = -(2.0 * y_true * K.log(y_pred) + (1 - y_true) * K.log(1 - y_pred))
    return K.mean(per_entry, axis=-1)


def test_function_metric_and_loss_with_k_ops_beside_a_stateful_metric():
    jkeras.utils.set_random_seed(3)
    model = jkeras.Sequential([jkeras.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(jkeras.optimizers.SGD(0.0), weighted_bce_k2, metrics=[precision_k2, BinaryTruePositives()])
    x, y = _data(20, 4)
    logs = model.evaluate(x, y, batch_size=20, verbose=0, return_dict=True)
    p = np.clip(model.predict(x, verbose=0).astype(np.float64), 1e-7, 1 - 1e-7)
    loss = np.mean(-(2.0 * y * np.log(p) + (1 - y) * np.log(1 - p)))
    precision = np.sum(np.round(y * p)) / (np.sum(np.round(p)) + 1e-7)
    np.testing.assert_allclose([logs["loss"], logs["precision_k2"]], [loss, precision], rtol=1e-5)
    assert logs["true_positives"] == _true_positives(model, x, y)


def test_h5_round_trip_finds_the_metrics_in_custom_objects(tmp_path):
    jkeras.utils.set_random_seed(3)
    model = jkeras.Sequential([jkeras.layers.Dense(1, activation="sigmoid", input_shape=(3,))])
    model.compile(jkeras.optimizers.SGD(0.0), "binary_crossentropy",
                  metrics=[BinaryTruePositives(), SeenSamples(), precision_k2])
    x, y = _data(20, 5)
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)
    model.save(str(tmp_path / "m.h5"))
    # custom objects win over jkeras's own `true_positives`; the metrics are built at the first
    # evaluate, after load_model's custom-object scope has closed
    loaded = jkeras.models.load_model(str(tmp_path / "m.h5"), custom_objects={
        "true_positives": BinaryTruePositives, "seen": SeenSamples, "precision_k2": precision_k2})
    logs = loaded.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)
    assert (logs["true_positives"], logs["seen"]) == (_true_positives(loaded, x, y), 20.5)
    assert logs["precision_k2"] == model.evaluate(x, y, batch_size=10, verbose=0, return_dict=True)["precision_k2"]


def test_a_custom_metric_named_inside_a_scope_is_found_at_the_first_fit_outside_it():
    """compile() resolves a custom metric's name in the user's CustomObjectScope; fit (later, outside
    the scope) builds it from what compile found, and logs it under the name given."""
    def doubled_mae(y_true, y_pred):
        return 2.0 * jkeras.backend.mean(jkeras.backend.abs(y_true - y_pred), axis=-1)

    x = np.linspace(-1, 1, 8, dtype="float32").reshape(4, 2)
    y = np.zeros((4, 1), "float32")
    model = jkeras.Sequential([jkeras.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))])
    with jkeras.utils.CustomObjectScope({"doubled_mae": doubled_mae}):
        model.compile("sgd", loss="mse", metrics=["doubled_mae"])
    logs = model.evaluate(x, y, batch_size=4, verbose=0, return_dict=True)
    assert logs["doubled_mae"] == pytest.approx(2.0 * np.abs(x.sum(1)).mean(), rel=1e-6)

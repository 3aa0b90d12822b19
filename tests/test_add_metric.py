"""`Layer.add_metric` (Keras 2 / tf.keras 2 form): logged by fit and evaluate, from inside the
jitted step; numbers from tf.keras 2.21 (tf_keras) on the same weights and data."""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import layers

# tf_keras 2.21, offline: the model below with these weights, SGD(0.1), batch 8, no shuffle,
# validation_data=(xv, yv), 2 epochs; then evaluate(xv, yv, batch_size=4, return_dict=True)
TF_HISTORY = {"loss": [1.4195163, 1.2949057], "accuracy": [0.2, 0.3], "m": [0.2853334, 0.2766891], "per_row": [1.9393237, 1.816775], "val_loss": [1.4315134, 1.4444251], "val_accuracy": [0.3, 0.3], "val_m": [0.2619548, 0.2524608], "val_per_row": [1.651108, 1.5757765]}
TF_EVALUATE = {"loss": 1.4444251, "accuracy": 0.3, "m": 0.26103, "per_row": 1.5757763}


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 4)).astype("float32")
    y = rng.integers(0, 3, 20)
    xv = rng.normal(size=(10, 4)).astype("float32")
    yv = rng.integers(0, 3, 10)
    k1 = rng.normal(size=(4, 5)).astype("float32") * 0.5
    k2 = rng.normal(size=(5, 3)).astype("float32") * 0.5
    return x, y, xv, yv, k1, k2


class Watch(layers.Layer):
    def call(self, h):
        self.add_metric(K.mean(h), name="m")                 # a scalar per batch
        self.add_metric(K.sum(K.square(h), axis=-1), name="per_row", aggregation="mean")
        return h


def _model(k1, k2):
    inp = layers.Input((4,))
    h = Watch()(layers.Dense(5, activation="relu")(inp))
    model = jkeras.Model(inp, layers.Dense(3, activation="softmax")(h))
    model.set_weights([k1, np.zeros(5, "float32"), k2, np.zeros(3, "float32")])
    model.compile(jkeras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_add_metric_is_logged_by_fit_and_evaluate_as_tf_keras_does():
    x, y, xv, yv, k1, k2 = _data()
    model = _model(k1, k2)
    history = model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0, validation_data=(xv, yv))
    assert sorted(history.history) == sorted(TF_HISTORY)
    for key, values in TF_HISTORY.items():
        np.testing.assert_allclose(history.history[key], values, rtol=2e-5, err_msg=key)
    assert model.metrics_names == ["loss", "accuracy", "m", "per_row"]
    # batches of 4, 4 and 2: a scalar per batch weighs each batch the same, so "m" differs
    # from val_m (batches of 8 and 2); "per_row" counts rows and does not
    logs = model.evaluate(xv, yv, batch_size=4, verbose=0, return_dict=True)
    for key, value in TF_EVALUATE.items():
        np.testing.assert_allclose(logs[key], value, rtol=2e-5, err_msg=key)
    assert model._trace_counts["train"] <= 2


def test_add_metric_against_numpy_on_one_batch():
    x, y, xv, yv, k1, k2 = _data()
    model = _model(k1, k2)
    logs = model.test_on_batch(xv, yv, return_dict=True)
    h = np.maximum(xv @ k1, 0)
    np.testing.assert_allclose(logs["m"], h.mean(), rtol=1e-6)
    np.testing.assert_allclose(logs["per_row"], (h ** 2).sum(-1).mean(), rtol=1e-6)


def test_add_metric_outside_a_step_is_dropped_and_bad_arguments_are_named():
    x, y, xv, yv, k1, k2 = _data()
    model = _model(k1, k2)
    np.testing.assert_allclose(model.predict(xv), model(xv), rtol=1e-6)   # no metric, no error
    layer = layers.Layer()
    with pytest.raises(ValueError, match="aggregation='mean'.*received aggregation='sum'"):
        layer.add_metric(np.float32(1.0), name="s", aggregation="sum")
    with pytest.raises(NotImplementedError, match="inside a layer's `call`"):
        layer.add_metric(layers.Input((2,)), name="s")


def test_an_add_metric_name_that_is_taken_is_refused():
    class Clash(layers.Layer):
        def call(self, h):
            self.add_metric(K.mean(h), name="accuracy")
            return h

    inp = layers.Input((4,))
    model = jkeras.Model(inp, layers.Dense(3, activation="softmax")(Clash()(inp)))
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = _data()[:2]
    with pytest.raises(ValueError, match="add_metric name 'accuracy' is already a metric"):
        model.fit(x, y, verbose=0)

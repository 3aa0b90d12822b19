"""`Model.metrics` and the metric names in the logs, as tf.keras 2 gives them.

The expected names are what tf.keras 2.21 (`tf_keras`) printed for the same models: the loss
`Mean`, the per-output loss `Mean`s, the compiled metrics, then the `add_metric` means; a
metric function or object keeps its `__name__` as written (segmentation-models' `f1-score`,
a function `myMetric`), in `metrics_names` and in History, `val_` keys included. Keras 2.3.1
names them the same way (`training_utils.get_metric_name`: the metric's `name` or `__name__`).
"""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K


class FScore:
    """A metric object named as segmentation-models 1.0.1 names its own (`__name__` 'f1-score')."""

    def __init__(self, name):
        self.__name__ = name

    def __call__(self, y_true, y_pred):
        return K.mean(y_true * y_pred, axis=-1)


def myMetric(y_true, y_pred):  # noqa: N802  (Keras 2 keeps a function's name as written)
    return K.mean(K.abs(y_true - y_pred), axis=-1)


class ActivityMean(jkeras.layers.Layer):
    def call(self, x):
        self.add_metric(K.mean(x), name="act_mean")
        return x


X = np.random.default_rng(0).random((4, 3), dtype=np.float32)
Y = X[:, :2]


def test_metrics_are_objects_in_tf_keras2_order_after_the_first_fit():
    model = jkeras.Sequential([jkeras.Input((3,)), jkeras.layers.Dense(2), ActivityMean()])
    f1 = FScore("f1-score")
    model.compile("adam", "mse", metrics=[f1, myMetric, FScore("iou_score"), "acc"])
    assert model.metrics == []  # built from the first batch, as in tf.keras 2
    history = model.fit(X, Y, validation_data=(X, Y), epochs=1, verbose=0)
    names = ["loss", "f1-score", "myMetric", "iou_score", "acc", "act_mean"]
    assert [m.name for m in model.metrics] == model.metrics_names == names
    assert list(history.history) == names + ["val_" + n for n in names]
    assert all(isinstance(m, jkeras.metrics.Metric) for m in model.metrics)
    loss, *compiled, act_mean = model.metrics
    assert type(loss) is type(act_mean) is jkeras.metrics.Mean
    assert all(isinstance(m, jkeras.metrics.MeanMetricWrapper) for m in compiled)
    assert model.metrics[1]._fn is f1
    assert all(a is b for a, b in zip(model.metrics, model.metrics))  # the same objects each time


def test_multi_output_metrics_carry_the_output_names():
    inputs = jkeras.Input((3,))
    a = jkeras.layers.Dense(2, activation="softmax", name="a")(inputs)
    b = jkeras.layers.Dense(1, name="b")(inputs)
    model = jkeras.Model(inputs, [a, b])
    accuracy = jkeras.metrics.CategoricalAccuracy()
    model.compile("adam", ["categorical_crossentropy", "mse"], metrics={"a": [accuracy, "acc"], "b": ["mae"]},
                  weighted_metrics={"b": ["mae"]})
    model.fit(X, [np.eye(2, dtype="float32")[[0, 1, 0, 1]], X[:, :1]], epochs=1, verbose=0)
    names = ["loss", "a_loss", "b_loss", "a_categorical_accuracy", "a_acc", "b_mae", "b_weighted_mae"]
    assert [m.name for m in model.metrics] == model.metrics_names == names
    assert [type(m).__name__ for m in model.metrics[:3]] == ["Mean"] * 3
    assert type(model.metrics[3]) is jkeras.metrics.CategoricalAccuracy
    assert accuracy.name == "categorical_accuracy"  # a renamed copy: one object may serve two outputs


def test_a_dashed_metric_name_survives_h5(tmp_path):
    f1 = FScore("f1-score")
    model = jkeras.Sequential([jkeras.Input((3,)), jkeras.layers.Dense(2)])
    model.compile("adam", "mse", metrics=[f1])
    model.fit(X, Y, epochs=1, verbose=0)
    model.save(str(tmp_path / "m.h5"))
    loaded = jkeras.models.load_model(str(tmp_path / "m.h5"), custom_objects={"f1-score": f1})
    ours, theirs = (m.evaluate(X, Y, verbose=0, return_dict=True) for m in (model, loaded))
    assert list(theirs) == ["loss", "f1-score"] and theirs == ours


def test_a_new_compile_lists_its_own_metrics():
    model = jkeras.Sequential([jkeras.Input((3,)), jkeras.layers.Dense(2)])
    model.compile("adam", "mse", metrics=["mae"])
    model.train_on_batch(X, Y)
    first = model.metrics
    model.compile("adam", "mse", metrics=[myMetric])
    assert model.metrics == []
    model.evaluate(X, Y, verbose=0)
    assert [m.name for m in model.metrics] == ["loss", "myMetric"]
    assert not set(map(id, model.metrics)) & set(map(id, first))


def test_weighted_metric_names_and_order_as_tf_keras_2_and_keras_3():
    """Output by output, metrics then weighted metrics; `weighted_` only where the name is taken.
    Expected lists: tf.keras 2.21's History keys for the same compile (its order); Keras 3.15
    logs the same names (sorted), checked here live."""
    keras = pytest.importorskip("keras")
    x = np.ones((4, 3), "float32")
    ys = [np.ones((4, 2), "float32"), np.ones((4, 1), "float32")]
    metrics, weighted = {"a": ["acc"], "b": ["mae"]}, {"a": ["acc"], "b": ["mae", "mse"]}
    tf_keras_2 = ["loss", "a_loss", "b_loss", "a_acc", "a_weighted_acc", "b_mae", "b_weighted_mae", "b_mse"]
    names = {}
    for lib in (jkeras, keras):
        inputs = lib.Input((3,))
        model = lib.Model(inputs, [lib.layers.Dense(2, name="a")(inputs), lib.layers.Dense(1, name="b")(inputs)])
        model.compile("sgd", ["mse", "mse"], metrics=metrics, weighted_metrics=weighted)
        names[lib] = list(model.fit(x, ys, verbose=0, sample_weight=[np.ones(4)] * 2).history)
    assert names[jkeras] == tf_keras_2
    assert sorted(names[jkeras]) == sorted(names[keras])
    single = jkeras.Sequential([jkeras.Input((3,)), jkeras.layers.Dense(1)])
    single.compile("sgd", "mse", metrics=["mse"], weighted_metrics=["mae", "mse"])
    assert list(single.fit(x, ys[1], verbose=0).history) == ["loss", "mse", "mae", "weighted_mse"]

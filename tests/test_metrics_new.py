"""The metrics issue 26 adds (IoU family, F-scores, R2, rate-at-rate, MeanRelativeError, MeanTensor)
against tf.keras 2's results on the same inputs (tests/fixtures/metrics_new_tf_keras.json, made by
scripts/fixtures/metrics_new_tf_keras.py), updated inside jit as the train step does."""
import json
import os

import jax
import numpy as np
import pytest

import jkeras
from jkeras import losses, metrics

with open(os.path.join(os.path.dirname(__file__), "fixtures", "metrics_new_tf_keras.json")) as _f:
    FIXTURE = json.load(_f)
CASES = FIXTURE["cases"]


def _arrays(data, drop_zero_weights=False):
    out = []
    for batch in data:
        y_true, y_pred, sw = (np.asarray(a, np.float32) for a in batch)
        out.append((y_true[sw != 0], y_pred[sw != 0], sw[sw != 0]) if drop_zero_weights else (y_true, y_pred, sw))
    return out


def _results(metric, data):
    """Results after the three batches: unweighted, weighted, and weighted without the zero-weight
    rows; one jitted program runs all the updates, as a train step would."""
    batches, dropped = _arrays(data), _arrays(data, drop_zero_weights=True)
    metric.build(batches[0][0].shape, batches[0][1].shape)

    @jax.jit
    def run(batches, dropped):
        out = []
        for given, weighted in ((batches, False), (batches, True), (dropped, True)):
            state = metric.init()
            for y_true, y_pred, sw in given:
                state = metric.update(state, y_true, y_pred, sw if weighted else None)
            out.append(metric.result(state))
        return out

    return [np.asarray(r) for r in run(batches, dropped)]


def _case_id(case):
    return case["name"] + "-" + "-".join(f"{k}={v}" for k, v in case["kwargs"].items())


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_equals_tf_keras(case):
    plain, got, dropped = _results(getattr(metrics, case["name"])(**case["kwargs"]), case["data"])
    np.testing.assert_allclose(plain, case["expected"], rtol=1e-5, atol=1e-6)
    # a zero weight means "absent", which is what the trainer's padded rows rely on
    np.testing.assert_allclose(got, case["expected_weighted_dropped"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dropped, case["expected_weighted_dropped"], rtol=1e-5, atol=1e-6)
    if case["kwargs"].get("num_regressors"):
        # tf.keras counts zero-weight values in the adjusted R2's sample count; jkeras does not
        assert not np.allclose(got, case["expected_weighted"])
    else:
        np.testing.assert_allclose(got, case["expected_weighted"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES[::3], ids=[_case_id(c) for c in CASES[::3]])
def test_config_round_trip_and_eager_facade(case):
    metric = getattr(metrics, case["name"])(**case["kwargs"])
    config = metric.get_config()
    again = type(metric).from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config
    for y_true, y_pred, _ in case["data"]:  # the eager facade sizes its state from the first data
        again.update_state(np.asarray(y_true, np.float32), np.asarray(y_pred, np.float32))
    np.testing.assert_allclose(again.result(), case["expected"], rtol=1e-5, atol=1e-6)
    assert isinstance(metrics.deserialize(metrics.serialize(metric)), type(metric))


def test_mean_tensor():
    case = FIXTURE["mean_tensor"]
    metric = metrics.MeanTensor()
    with pytest.raises(ValueError, match="does not have any value yet"):
        metric.result()
    for values, weights in zip(case["values"], case["weights"]):
        metric.update_state(np.asarray(values, np.float32),
                            None if weights is None else np.asarray(weights, np.float32))
    np.testing.assert_allclose(metric.result(), case["expected"], rtol=1e-6)
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(3,\)"):
        metric.update_state(np.zeros(3, np.float32))
    # tf.keras's docstring example
    fixed = metrics.MeanTensor(shape=(4,))
    fixed.update_state([0, 1, 2, 3])
    fixed.update_state([4, 5, 6, 7])
    fixed.update_state([12, 10, 8, 6], sample_weight=[0, 0.2, 0.5, 1])
    np.testing.assert_allclose(fixed.result(), [2.0, 3.6363635, 4.8, 5.3333335], rtol=1e-6)


def test_function_aliases():
    assert metrics.kld is metrics.KLD is metrics.kullback_leibler_divergence is losses.kl_divergence
    assert metrics.logcosh is metrics.log_cosh is losses.log_cosh
    y_true, y_pred = np.array([[0.2, 0.8]], np.float32), np.array([[0.5, 0.5]], np.float32)
    expected = np.sum(y_true * np.log(y_true / y_pred), axis=-1)
    np.testing.assert_allclose(metrics.kld(y_true, y_pred), expected, rtol=1e-6)


@pytest.mark.parametrize("make, message", [
    (lambda: metrics.IoU(3, [3]), r"Target class id 3 is out of range, which is \[0, 3\)"),
    (lambda: metrics.FBetaScore(beta=2), "It should be a Python float"),
    (lambda: metrics.FBetaScore(average="mean"), "Invalid `average`"),
    (lambda: metrics.F1Score(threshold=1.5), "0 < threshold <= 1"),
    (lambda: metrics.R2Score(class_aggregation="max"), "class_aggregation"),
    (lambda: metrics.R2Score(num_regressors=-1), "num_regressors"),
    (lambda: metrics.PrecisionAtRecall(1.2), r"`recall` must be in the range \[0, 1\]"),
    (lambda: metrics.SensitivityAtSpecificity(0.5, num_thresholds=0), "num_thresholds"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_data_shaped_metrics_need_2d_data():
    with pytest.raises(ValueError, match="expects 2D inputs"):
        metrics.F1Score().update_state(np.zeros(4, np.float32), np.zeros(4, np.float32))


def test_in_fit_and_evaluate():
    """The new metrics run in the jitted train/test step, named as Keras names them in the logs."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 20)]
    model = jkeras.Sequential([jkeras.layers.Dense(3, activation="softmax", input_shape=(3,))])
    model.compile("sgd", "categorical_crossentropy",
                  metrics=[metrics.F1Score(average="macro"), metrics.OneHotMeanIoU(3),
                           metrics.R2Score(), metrics.PrecisionAtRecall(0.5)])
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert {"f1_score", "one_hot_mean_io_u", "r2_score", "precision_at_recall"} <= set(history.history)
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)  # a padded last batch
    reference = metrics.F1Score(average="macro")
    reference.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["f1_score"], reference.result(), rtol=1e-5)

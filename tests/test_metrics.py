"""jkeras.metrics against real Keras 3 (JAX backend): 3 weighted batches, jitted updates, resolution, configs."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jkeras import losses, metrics

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

B, C = 8, 4


def _batches(kind, seed=0):
    """Three (y_true, y_pred, sample_weight) batches; weights include zeros (masked rows)."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    out = []
    for i in range(3):
        sw = rng.uniform(0.2, 2.0, B).astype(f32)
        sw[rng.choice(B, 2, replace=False)] = 0.0
        labels = rng.integers(0, C, B)
        probs = rng.dirichlet(np.ones(C), B).astype(f32)
        if kind == "binary":
            y_true = rng.integers(0, 2, (B, 1)).astype(f32)
            y_pred = rng.uniform(size=(B, 1)).astype(f32)
            y_pred[:2, 0] = [0.0, 1.0]
        elif kind == "multilabel":
            y_true = rng.integers(0, 2, (B, C)).astype(f32)
            y_pred = rng.uniform(size=(B, C)).astype(f32)
        elif kind == "logits":
            y_true = rng.integers(0, 2, (B, 1)).astype(f32)
            y_pred = rng.normal(scale=3, size=(B, 1)).astype(f32)
        elif kind == "onehot":
            y_true, y_pred = np.eye(C, dtype=f32)[labels], probs
        elif kind == "sparse":
            y_true, y_pred = labels.astype(f32), probs
        elif kind == "sparse1":
            y_true, y_pred = labels[:, None].astype(f32), probs
        elif kind == "exact":
            y_true = rng.integers(0, 3, (B, 1)).astype(f32)
            y_pred = rng.integers(0, 3, (B, 1)).astype(f32)
        elif kind == "pos":
            y_true, y_pred = rng.uniform(0, 2, (B, C)).astype(f32), rng.uniform(0, 2, (B, C)).astype(f32)
        else:  # regression
            y_true, y_pred = rng.normal(size=(B, C)).astype(f32), rng.normal(size=(B, C)).astype(f32)
        out.append((y_true, y_pred, sw))
    return out


def _run_both(ours, theirs, batches):
    """Feed a jkeras metric and its Keras 3 twin the same batches, both updated in one jitted step."""

    @jax.jit
    def update(state, keras_vars, y_true, y_pred, sw):
        return (ours.update(state, y_true, y_pred, sw),
                theirs.stateless_update_state(keras_vars, y_true, y_pred, sample_weight=sw))

    state, keras_vars = ours.init(), [v.value for v in theirs.variables]
    for y_true, y_pred, sw in batches:
        state, keras_vars = update(state, keras_vars, y_true, y_pred, sw)
    got, expected = jax.jit(lambda s, v: (ours.result(s), theirs.stateless_result(v)))(state, keras_vars)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


CASES = [
    ("Accuracy", {}, "exact"),
    ("BinaryAccuracy", {}, "binary"),
    ("BinaryAccuracy", {"threshold": 0.7}, "binary"),
    ("CategoricalAccuracy", {}, "onehot"),
    ("SparseCategoricalAccuracy", {}, "sparse"),
    ("SparseCategoricalAccuracy", {}, "sparse1"),
    ("TopKCategoricalAccuracy", {"k": 2}, "onehot"),
    ("SparseTopKCategoricalAccuracy", {"k": 2}, "sparse"),
    ("SparseTopKCategoricalAccuracy", {"k": 3}, "sparse1"),
    ("MeanSquaredError", {}, "reg"),
    ("MeanAbsoluteError", {}, "reg"),
    ("MeanAbsolutePercentageError", {}, "reg"),
    ("MeanSquaredLogarithmicError", {}, "pos"),
    ("RootMeanSquaredError", {}, "reg"),
    ("CosineSimilarity", {}, "reg"),
    ("LogCoshError", {}, "reg"),
    ("Hinge", {}, "binary"),
    ("SquaredHinge", {}, "multilabel"),
    ("CategoricalHinge", {}, "onehot"),
    ("KLDivergence", {}, "onehot"),
    ("Poisson", {}, "pos"),
    ("BinaryCrossentropy", {}, "binary"),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, "logits"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "onehot"),
    ("SparseCategoricalCrossentropy", {}, "sparse1"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),
    ("AUC", {}, "binary"),
    ("AUC", {"curve": "PR"}, "binary"),
    ("AUC", {"curve": "PR", "summation_method": "majoring", "num_thresholds": 37}, "multilabel"),
    ("AUC", {"curve": "PRGAIN", "summation_method": "minoring"}, "binary"),
    ("AUC", {"from_logits": True}, "logits"),
    ("AUC", {"thresholds": [0.1, 0.35, 0.5, 0.9]}, "binary"),
    ("AUC", {"multi_label": True, "num_labels": C}, "multilabel"),
    ("AUC", {"multi_label": True, "num_labels": C, "label_weights": [1.0, 0.5, 0.0, 2.0],
             "curve": "PR"}, "multilabel"),
    ("AUC", {"label_weights": [1.0, 0.5, 0.0, 2.0]}, "multilabel"),
    ("Precision", {}, "binary"),
    ("Precision", {"thresholds": [0.3, 0.5, 0.8]}, "binary"),
    ("Precision", {"thresholds": [0.0, 0.5, 1.0]}, "binary"),
    ("Precision", {"top_k": 2}, "multilabel"),
    ("Precision", {"class_id": 1}, "multilabel"),
    ("Recall", {}, "binary"),
    ("Recall", {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]}, "multilabel"),
    ("Recall", {"top_k": 1, "class_id": 2}, "multilabel"),
    ("TruePositives", {}, "binary"),
    ("FalsePositives", {"thresholds": [0.2, 0.6]}, "binary"),
    ("TrueNegatives", {}, "multilabel"),
    ("FalseNegatives", {}, "binary"),
]


@pytest.mark.parametrize("name,kwargs,kind", CASES)
def test_metric_matches_keras_over_three_weighted_batches(name, kwargs, kind):
    _run_both(getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs), _batches(kind))


@pytest.mark.parametrize("name,kwargs,kind", [
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),  # unweighted, Keras counts ignored rows
    ("AUC", {}, "binary"),
    ("SparseCategoricalAccuracy", {}, "sparse1"),
])
def test_unweighted_batches_match_keras(name, kwargs, kind):
    batches = [(y_true, y_pred, None) for y_true, y_pred, _ in _batches(kind, seed=5)]
    _run_both(getattr(metrics, name)(**kwargs), getattr(keras.metrics, name)(**kwargs), batches)


def test_mean_and_sum_match_keras_with_weights_of_every_rank():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(B, 3)).astype(np.float32)
    for sw in (None, np.arange(B, dtype=np.float32), np.ones((B, 1)), rng.uniform(size=(B, 3)), 2.0):
        for name in ("Mean", "Sum"):
            ours, theirs = getattr(metrics, name)(), getattr(keras.metrics, name)()
            state = ours.update(ours.init(), values, sw)
            theirs.update_state(values, sample_weight=sw)
            np.testing.assert_allclose(ours.result(state), theirs.result(), rtol=1e-6)


def test_zero_weight_rows_do_not_count():
    m = metrics.MeanSquaredError()
    y_true, y_pred = np.zeros((4, 2)), np.array([[1, 1], [2, 2], [100, 100], [3, 3]], np.float32)
    state = m.update(m.init(), y_true, y_pred, np.array([1.0, 3.0, 0.0, 0.0]))
    np.testing.assert_allclose(m.result(state), (1 * 1 + 4 * 3) / 4)
    auc = metrics.AUC()
    update = jax.jit(auc.update)
    clean = update(auc.init(), np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.6, 0.6]), np.ones(4))
    padded = update(auc.init(), np.array([1, 0, 1, 0]), np.array([0.9, 0.2, 0.6, 0.99]),
                    np.array([1.0, 1.0, 2.0, 0.0]))
    np.testing.assert_allclose(auc.result(padded), auc.result(clean))


def test_function_metrics_match_keras():
    rng = np.random.default_rng(2)
    probs = rng.dirichlet(np.ones(C), B).astype(np.float32)
    labels = rng.integers(0, C, B)
    onehot = np.eye(C, dtype=np.float32)[labels]
    binary_true = rng.integers(0, 2, (B, 1)).astype(np.float32)
    cases = [
        ("binary_accuracy", (binary_true, probs[:, :1]), {"threshold": 0.3}),
        ("categorical_accuracy", (onehot, probs), {}),
        ("sparse_categorical_accuracy", (labels[:, None].astype(np.float32), probs), {}),
        ("top_k_categorical_accuracy", (onehot, probs), {"k": 2}),
        ("sparse_top_k_categorical_accuracy", (labels, probs), {"k": 2}),
        ("sparse_top_k_categorical_accuracy", (labels, np.argsort(-probs, -1)), {"k": 2, "from_sorted_ids": True}),
        ("categorical_crossentropy", (onehot, probs), {}),
        ("mean_squared_error", (onehot, probs), {}),
    ]
    for name, args, kwargs in cases:
        expected = np.asarray(getattr(keras.metrics, name)(*args, **kwargs))
        got = getattr(metrics, name)(*args, **kwargs)
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=name)


def test_eager_facade_like_keras():
    m = metrics.Precision()
    m.update_state([1, 0, 1], [0.9, 0.8, 0.2])
    assert float(m.result()) == 0.5
    assert float(m([1], [0.7])) == pytest.approx(2 / 3)
    m.reset_state()
    assert float(m.result()) == 0.0


SHAPES = [((B, 1), (B, 1)), ((B,), (B, 1)), ((B,), (B, C)), ((B, 1), (B, C)), ((B, C), (B, C)),
          ((B, 5), (B, 5, C)), ((B, 5, C), (B, 5, C))]


@pytest.mark.parametrize("y_true_shape,y_pred_shape", SHAPES)
def test_accuracy_resolution_matches_keras_compile(y_true_shape, y_pred_shape):
    from keras.src.trainers.compile_utils import get_metric
    for identifier in ("accuracy", "acc", "ACC"):
        theirs = get_metric(identifier, np.zeros(y_true_shape), np.zeros(y_pred_shape))
        ours = metrics.get(identifier, y_true_shape, y_pred_shape)
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.name == theirs.name == identifier


@pytest.mark.parametrize("loss,shapes,expected", [
    ("binary_crossentropy", ((B, C), (B, C)), "BinaryAccuracy"),
    (losses.BinaryCrossentropy(from_logits=True), ((B, C), (B, C)), "BinaryAccuracy"),
    (losses.binary_crossentropy, (None, None), "BinaryAccuracy"),
    ("sparse_categorical_crossentropy", (None, None), "SparseCategoricalAccuracy"),
    (losses.SparseCategoricalCrossentropy(), ((B,), (B, C)), "SparseCategoricalAccuracy"),
    ("categorical_crossentropy", ((B, C), (B, C)), "CategoricalAccuracy"),
    ("categorical_crossentropy", ((B, 1), (B, 1)), "BinaryAccuracy"),
    ("mse", (None, None), "CategoricalAccuracy"),
    (None, (None, None), "CategoricalAccuracy"),
])
def test_accuracy_resolution_follows_the_loss(loss, shapes, expected):
    assert type(metrics.get("accuracy", *shapes, loss=loss)).__name__ == expected


def test_crossentropy_resolution():
    m = metrics.get("crossentropy", (B,), (B, C))
    assert (type(m), m.name) == (metrics.SparseCategoricalCrossentropy, "crossentropy")
    assert type(metrics.get("ce", (B, 1), (B, 1))) is metrics.BinaryCrossentropy
    assert type(metrics.get("ce", (B, C), (B, C))) is metrics.CategoricalCrossentropy


def test_get_names_classes_instances_functions_and_losses():
    for name, cls in [("mse", "MeanSquaredError"), ("MAE", "MeanAbsoluteError"), ("auc", "AUC"),
                      ("precision", "Precision"), ("categorical_crossentropy", "CategoricalCrossentropy"),
                      ("binary_accuracy", "BinaryAccuracy"), ("top_k_categorical_accuracy",
                                                              "TopKCategoricalAccuracy")]:
        ours, theirs = metrics.get(name), keras.metrics.get(name)
        assert type(ours).__name__ == type(theirs).__name__ == cls
        assert ours.name == name
    for name, fn in [("kld", losses.kl_divergence), ("logcosh", losses.log_cosh), ("huber", losses.huber)]:
        m = metrics.get(name)
        assert isinstance(m, metrics.MeanMetricWrapper) and m._fn is fn and m.name == name
    auc = metrics.AUC(name="my_auc")
    assert metrics.get(auc) is auc and auc.name == "my_auc"
    assert isinstance(metrics.get(metrics.Recall), metrics.Recall)

    def my_metric(y_true, y_pred):
        return jnp.abs(y_true - y_pred)

    assert metrics.get(my_metric).name == "my_metric"
    assert metrics.get(lambda t, p: t - p).name == "lambda"
    loss_metric = metrics.get(losses.Huber(delta=0.5))
    assert loss_metric.name == "huber_loss"
    y = np.linspace(-2, 2, 8, dtype=np.float32).reshape(4, 2)
    state = loss_metric.update(loss_metric.init(), y, 0 * y)
    np.testing.assert_allclose(loss_metric.result(state), losses.Huber(delta=0.5)(y, 0 * y), rtol=1e-6)


def test_wrapper_config_round_trips_its_function_or_loss():
    for fn in (metrics.binary_accuracy, losses.huber, losses.Huber(delta=0.25, name="h")):
        m = metrics.MeanMetricWrapper(fn, name="w", **({"threshold": 0.2} if fn is metrics.binary_accuracy else {}))
        clone = metrics.deserialize(metrics.serialize(m))
        assert clone.get_config() == m.get_config()
        y_true, y_pred = np.array([[0.0], [1.0]]), np.array([[0.3], [0.1]])
        np.testing.assert_allclose(clone(y_true, y_pred), m(y_true, y_pred))


def test_auc_multi_label_learns_its_labels_from_the_output_shape():
    auc = metrics.get({"class_name": "AUC", "config": {"multi_label": True}}, (B, C), (B, C))
    assert auc.init()["true_positives"].shape == (200, C)
    assert auc.get_config()["num_labels"] is None
    with pytest.raises(ValueError, match="num_labels"):
        metrics.AUC(multi_label=True).init()


def _plain(config):
    """Keras's config with arrays (AUC's label_weights, thresholds) as lists of floats."""
    return {k: [float(x) for x in np.asarray(v)] if k in ("label_weights", "thresholds") and v is not None
            and not isinstance(v, float) else v for k, v in config.items()}


METRIC_CONFIGS = [(name, kwargs) for name, kwargs, _ in CASES] + [
    ("Mean", {}), ("Sum", {}), ("SparseTopKCategoricalAccuracy", {"from_sorted_ids": True})]


@pytest.mark.parametrize("name,kwargs", METRIC_CONFIGS)
def test_config_round_trip_and_keras_keys(name, kwargs):
    ours, theirs = getattr(metrics, name)(name="m", **kwargs), getattr(keras.metrics, name)(name="m", **kwargs)
    config, keras_config = ours.get_config(), _plain(theirs.get_config())
    # Keras 3's keys and values, plus the ones it forgets (CosineSimilarity's axis).
    assert {k: config[k] for k in keras_config} == keras_config
    assert set(config) - set(keras_config) <= {"axis"}
    assert type(ours).from_config(config).get_config() == config
    assert metrics.deserialize(metrics.serialize(ours)).get_config() == config
    assert _plain(keras.metrics.deserialize(metrics.serialize(ours)).get_config()) == keras_config


def test_dicts_from_keras3_and_tf_keras():
    theirs = keras.metrics.AUC(num_thresholds=50, curve="PR", name="pr_auc")
    ours = metrics.get(keras.metrics.serialize(theirs))
    assert isinstance(ours, metrics.AUC) and ours.name == "pr_auc" and ours.num_thresholds == 50
    wrapper = keras.metrics.MeanMetricWrapper(keras.losses.mean_squared_error, name="w")
    ours = metrics.get(keras.metrics.serialize(wrapper))
    assert ours._fn is losses.mean_squared_error and ours.name == "w"
    tf_keras = {"class_name": "MeanMetricWrapper",
                "config": {"name": "acc", "dtype": "float32", "fn": "binary_accuracy", "threshold": 0.3}}
    m = metrics.get(tf_keras)
    assert m._fn is metrics.binary_accuracy and m.threshold == 0.3
    assert metrics.serialize(metrics.binary_accuracy) == "binary_accuracy"


def test_errors_name_what_was_wrong():
    with pytest.raises(ValueError, match="'nope'.*Known names:.*binary_accuracy"):
        metrics.get("nope")
    with pytest.raises(ValueError, match="None"):
        metrics.get(None)
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        metrics.Precision(thresholds=[0.5, 1.5])
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        metrics.AUC(curve="XYZ")
    with pytest.raises(ValueError, match="class_id"):
        metrics.Precision(class_id=1).update(metrics.Precision().init(), np.ones(3), np.ones(3))

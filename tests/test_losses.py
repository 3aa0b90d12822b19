"""jkeras.losses against real Keras 3 (JAX backend): values, reductions, configs, errors."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import losses

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

B, C = 6, 4


def _data(kind, seed=0):
    """(y_true, y_pred) float32 arrays of one kind, with extreme probabilities where they apply."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    if kind == "reg":
        return rng.normal(size=(B, C)).astype(f32), rng.normal(size=(B, C)).astype(f32)
    if kind == "pos":
        return rng.uniform(0, 2, (B, C)).astype(f32), rng.uniform(0, 2, (B, C)).astype(f32)
    if kind in ("bin", "pm1", "binlogit"):
        y_true = rng.integers(0, 2, (B, C)).astype(f32)
        y_pred = rng.uniform(size=(B, C)).astype(f32)
        y_pred[0, :2], y_pred[1, :2] = 0.0, 1.0  # exact 0 and 1 show the epsilon clipping
        if kind == "pm1":
            y_true = 2 * y_true - 1
        if kind == "binlogit":
            y_pred = rng.normal(scale=3, size=(B, C)).astype(f32)
        return y_true, y_pred
    labels = rng.integers(0, C, B)
    labels[:2] = [0, 1]
    if kind in ("cat", "catlogit"):
        y_true = np.eye(C, dtype=f32)[labels]
    else:
        y_true = labels.astype(f32) if kind.startswith("sparse") else None
        if kind.endswith("1"):
            y_true = y_true[:, None]
    if kind.endswith("logit"):
        return y_true, rng.normal(scale=2, size=(B, C)).astype(f32)
    y_pred = rng.dirichlet(np.ones(C), B).astype(f32)
    y_pred[0] = np.eye(C)[0]  # certain and right
    y_pred[1] = np.eye(C)[2]  # certain and wrong: probability 0 at the label
    return y_true, y_pred


CASES = [
    ("MeanSquaredError", {}, "reg"),
    ("MeanAbsoluteError", {}, "reg"),
    ("MeanAbsolutePercentageError", {}, "reg"),
    ("MeanSquaredLogarithmicError", {}, "pos"),
    ("CosineSimilarity", {}, "reg"),
    ("Huber", {}, "reg"),
    ("Huber", {"delta": 0.3}, "reg"),
    ("LogCosh", {}, "reg"),
    ("KLDivergence", {}, "cat"),
    ("Poisson", {}, "pos"),
    ("Hinge", {}, "bin"),
    ("Hinge", {}, "pm1"),
    ("SquaredHinge", {}, "bin"),
    ("SquaredHinge", {}, "pm1"),
    ("CategoricalHinge", {}, "cat"),
    ("BinaryCrossentropy", {}, "bin"),
    ("BinaryCrossentropy", {"from_logits": True}, "binlogit"),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, "bin"),
    ("BinaryFocalCrossentropy", {}, "bin"),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.5,
                                 "label_smoothing": 0.1}, "bin"),
    ("BinaryFocalCrossentropy", {"from_logits": True}, "binlogit"),
    ("CategoricalCrossentropy", {}, "cat"),
    ("CategoricalCrossentropy", {"from_logits": True}, "catlogit"),
    ("CategoricalCrossentropy", {"label_smoothing": 0.1}, "cat"),
    ("CategoricalFocalCrossentropy", {}, "cat"),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 3.0, "from_logits": True,
                                      "label_smoothing": 0.1}, "catlogit"),
    ("SparseCategoricalCrossentropy", {}, "sparse"),
    ("SparseCategoricalCrossentropy", {}, "sparse1"),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, "sparselogit"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 2}, "sparse"),
    ("SparseCategoricalCrossentropy", {"ignore_class": 1, "from_logits": True}, "sparselogit"),
]
SAMPLE_WEIGHT = np.array([0.5, 0.0, 2.0, 1.0, 0.0, 1.5], np.float32)


@pytest.mark.parametrize("name,kwargs,kind", CASES)
def test_loss_matches_keras(name, kwargs, kind):
    """The function, the per-sample values and the weighted class call, jitted, against Keras 3."""
    y_true, y_pred = _data(kind)
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    assert ours.fn.__name__ == theirs.fn.__name__

    @jax.jit
    def both(y_true, y_pred, sw):
        return ((ours.fn(y_true, y_pred, **kwargs), ours.per_sample(y_true, y_pred), ours(y_true, y_pred, sw)),
                (theirs.fn(y_true, y_pred, **kwargs), theirs.call(y_true, y_pred), theirs(y_true, y_pred, sw)))

    got, expected = both(y_true, y_pred, SAMPLE_WEIGHT)
    assert got[0].shape == expected[0].shape and np.all(np.isfinite(got[0]))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(ours(y_true, y_pred), theirs(y_true, y_pred), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,kwargs,kind", CASES)
@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_half_precision_predictions_are_computed_in_float32(name, kwargs, kind, half):
    """A mixed precision model's float16/bfloat16 outputs: every loss works in float32, as on
    the same values given in float32."""
    y_true, y_pred = _data(kind)
    y_pred = jnp.asarray(y_pred, half)
    loss = getattr(losses, name)(**kwargs)
    for fn in (lambda t, p: loss.fn(t, p, **kwargs), loss.per_sample, loss):
        got, expected = fn(y_true, y_pred), fn(y_true, y_pred.astype(jnp.float32))
        assert got.dtype == jnp.float32
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name,kind", [("cosine_similarity", "reg"), ("binary_crossentropy", "bin"),
                                       ("categorical_crossentropy", "cat")])
def test_function_along_another_axis_matches_keras(name, kind):
    y_true, y_pred = _data(kind)
    np.testing.assert_allclose(getattr(losses, name)(y_true, y_pred, axis=0),
                               getattr(keras.losses, name)(y_true, y_pred, axis=0), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", None, "none", "mean",
                                       "mean_with_sample_weight"])
def test_every_reduction_matches_keras(reduction):
    for name, kwargs, kind in (("MeanSquaredError", {}, "reg"),
                               ("SparseCategoricalCrossentropy", {"ignore_class": 0}, "sparse")):
        y_true, y_pred = _data(kind, seed=1)
        ours = getattr(losses, name)(reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(reduction=reduction, **kwargs)
        for sw in (None, SAMPLE_WEIGHT, SAMPLE_WEIGHT[:, None]):
            np.testing.assert_allclose(ours(y_true, y_pred, sample_weight=sw),
                                       theirs(y_true, y_pred, sample_weight=sw), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name,y_true_shape,y_pred_shape", [
    ("BinaryCrossentropy", (B,), (B, 1)),
    ("BinaryCrossentropy", (B, 1), (B,)),
    ("MeanSquaredError", (B,), (B, 1)),
    ("Hinge", (B, 1), (B,)),
    ("MeanAbsoluteError", (B, 3, 1), (B, 3)),
])
def test_trailing_dim_of_one_is_aligned_like_keras(name, y_true_shape, y_pred_shape):
    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 2, y_true_shape).astype(np.float32)
    y_pred = rng.uniform(size=y_pred_shape).astype(np.float32)
    sw = np.arange(B, dtype=np.float32)
    ours, theirs = getattr(losses, name)(), getattr(keras.losses, name)()
    np.testing.assert_allclose(ours(y_true, y_pred, sw), theirs(y_true, y_pred, sw), rtol=1e-6)
    assert ours.per_sample(y_true, y_pred).shape == tuple(theirs.call(y_true, y_pred).shape)


def test_sequence_loss_reductions_and_per_timestep_weights():
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, C, (B, 5, 1)).astype(np.float32)
    y_pred = rng.dirichlet(np.ones(C), (B, 5)).astype(np.float32)
    sw = rng.integers(0, 2, (B, 5)).astype(np.float32)
    ours = losses.SparseCategoricalCrossentropy(ignore_class=3)
    theirs = keras.losses.SparseCategoricalCrossentropy(ignore_class=3)
    np.testing.assert_allclose(ours(y_true, y_pred, sw), theirs(y_true, y_pred, sw), rtol=1e-6)
    assert ours.per_sample(y_true, y_pred).shape == (B, 5)
    assert ours.mask(y_true, y_pred).shape == (B, 5)
    # A per-sample weight of a per-timestep loss spreads over the timesteps (Keras 3 cannot broadcast it).
    mse = losses.MeanSquaredError()
    yt, yp = rng.normal(size=(B, 5, 2)), rng.normal(size=(B, 5, 2))
    w = np.arange(B, dtype=np.float32)
    np.testing.assert_allclose(mse(yt, yp, w), mse(yt, yp, np.repeat(w[:, None], 5, 1)), rtol=1e-6)


def test_ignore_class_gradients_stay_finite():
    y_true = jnp.array([0, 2, 1, 2])
    logits = jnp.array(np.random.default_rng(4).normal(size=(4, 3)), jnp.float32)
    for from_logits, y_pred in ((True, logits), (False, jax.nn.softmax(logits))):
        loss = losses.SparseCategoricalCrossentropy(from_logits=from_logits, ignore_class=2)
        grad = jax.jit(jax.grad(lambda p: loss(y_true, p)))(y_pred)
        assert np.all(np.isfinite(grad)) and np.all(grad[jnp.array([1, 3])] == 0)


def test_epsilon_follows_the_backend_config():
    from jkeras.backend import config
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]])
    before = float(losses.binary_crossentropy(y_true, y_pred)[0])
    config.set_epsilon(1e-3)
    try:
        after = float(losses.binary_crossentropy(y_true, y_pred)[0])
    finally:
        config.set_epsilon(1e-7)
    np.testing.assert_allclose(before, keras.losses.binary_crossentropy(y_true, y_pred)[0], rtol=1e-6)
    np.testing.assert_allclose(after, -np.log(1e-3), rtol=1e-4)


def test_get_names_aliases_functions_classes_and_instances():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("MAE") is losses.mean_absolute_error
    assert losses.get("kld") is losses.get("kullback_leibler_divergence") is losses.kl_divergence
    assert losses.get("logcosh") is losses.log_cosh
    assert losses.get("binary_crossentropy") is losses.binary_crossentropy
    assert isinstance(losses.get("CategoricalCrossentropy"), losses.CategoricalCrossentropy)
    assert isinstance(losses.get(losses.Huber), losses.Huber)
    instance = losses.Poisson()
    assert losses.get(instance) is instance
    assert losses.get(np.sum) is np.sum
    assert losses.get(None) is None
    assert losses.get("crossentropy", (B,), (B, C)) is losses.sparse_categorical_crossentropy
    assert losses.get("ce", (B, 1), (B, 1)) is losses.binary_crossentropy
    assert losses.get("crossentropy", (B, C), (B, C)) is losses.categorical_crossentropy


def test_get_keras3_and_tf_keras_dicts():
    theirs = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    ours = losses.get(keras.losses.serialize(theirs))
    assert isinstance(ours, losses.CategoricalCrossentropy)
    assert ours.get_config() == theirs.get_config()
    tf_keras = {"class_name": "CategoricalCrossentropy",
                "config": {"reduction": "auto", "name": "cce", "from_logits": True, "label_smoothing": 0.0,
                           "axis": -1}}
    loss = losses.get(tf_keras)
    assert (loss.name, loss.reduction, loss.from_logits) == ("cce", "sum_over_batch_size", True)
    assert losses.get(keras.losses.serialize(keras.losses.mean_squared_error)) is losses.mean_squared_error


@pytest.mark.parametrize("name,kwargs", [(name, kwargs) for name, kwargs, _ in CASES])
def test_config_round_trip_and_keras_keys(name, kwargs):
    ours = getattr(losses, name)(reduction="sum", **kwargs)
    theirs = getattr(keras.losses, name)(reduction="sum", **kwargs)
    config = ours.get_config()
    # Keras 3's keys and values, plus the constructor arguments it forgets (Huber's delta, ...).
    assert {k: config[k] for k in theirs.get_config()} == theirs.get_config()
    assert set(config) - set(theirs.get_config()) <= {"delta", "axis"}
    clone = type(ours).from_config(config)
    assert clone.get_config() == config
    assert losses.deserialize(losses.serialize(ours)).get_config() == config
    # Keras 3 loads what jkeras writes.
    assert keras.losses.deserialize(losses.serialize(ours)).get_config() == theirs.get_config()


def test_serialize_functions_and_wrappers():
    assert losses.serialize(losses.mean_squared_error) == "mean_squared_error"
    wrapper = losses.LossFunctionWrapper(losses.huber, name="h", delta=0.5)
    config = losses.serialize(wrapper)
    assert config["config"] == {"name": "h", "reduction": "sum_over_batch_size", "fn": "huber", "delta": 0.5}
    clone = losses.deserialize(config)
    y = np.linspace(-2, 2, 8).reshape(4, 2)
    np.testing.assert_allclose(clone(y, 0 * y), wrapper(y, 0 * y))


def test_custom_loss_subclass():
    class Doubled(losses.Loss):
        def call(self, y_true, y_pred):
            return 2 * jnp.mean(y_pred - y_true, axis=-1)

    loss = Doubled(reduction="sum")
    assert loss.name == "doubled" or loss.name.startswith("doubled_")
    np.testing.assert_allclose(loss(np.zeros((3, 2)), np.ones((3, 2))), 6.0)


def test_errors_name_what_was_wrong():
    with pytest.raises(ValueError, match="'nope'.*Known names:.*mean_squared_error"):
        losses.get("nope")
    with pytest.raises(ValueError, match="class_name"):
        losses.get({"config": {}})
    with pytest.raises(ValueError, match="reduction"):
        losses.MeanSquaredError(reduction="avg")
    with pytest.raises(ValueError, match=r"same shape.*\(4,\).*\(4, 3\)"):
        losses.categorical_crossentropy(np.zeros(4), np.ones((4, 3)))
    with pytest.raises(ValueError, match="without its class axis"):
        losses.sparse_categorical_crossentropy(np.zeros((4, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="axis"):
        losses.categorical_crossentropy(np.ones((2, 3)), np.ones((2, 3)), axis=True)
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        losses.get(3)


# ---- tf.keras 2's logits shortcut: in fit/evaluate, a crossentropy of a softmax or sigmoid
# output is computed from the activation's logits
def _saturated_model(activation, units):
    import jkeras
    model = jkeras.Sequential([jkeras.layers.Dense(units, activation=activation, input_shape=(2,))])
    kernel = np.array([[40.0] + [0.0] * (units - 1), [0.0] * units], np.float32)
    model.layers[0].set_weights([kernel, np.zeros(units, np.float32)])
    return model


@pytest.mark.parametrize("loss, activation, units, y", [
    ("sparse_categorical_crossentropy", "softmax", 3, np.array([1, 2])),
    ("categorical_crossentropy", "softmax", 3, np.eye(3, dtype=np.float32)[[1, 2]]),
    ("binary_crossentropy", "sigmoid", 1, np.array([[0.0], [0.0]], np.float32))])
def test_crossentropy_of_an_activation_uses_its_logits(loss, activation, units, y):
    """p = e^-40 for the true class: clipping at epsilon would give 16.12 and a zero gradient;
    tf.keras 2 (and Keras 3 on TensorFlow) give the exact 40 from the logits, so does jkeras."""
    model = _saturated_model(activation, units)
    model.compile(optimizer="sgd", loss=loss, metrics=[loss])   # the metric too, as in tf.keras 2
    x = np.array([[1.0, 0.0], [1.0, 0.0]], np.float32)
    logits = x @ model.layers[0].get_weights()[0]
    if activation == "softmax":
        top = logits.max(1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(1, keepdims=True))
        expected = -np.mean(log_p[np.arange(2), [1, 2]])
    else:
        expected = np.mean(logits + np.log1p(np.exp(-logits)))   # -log(1 - sigmoid(z))
    loss_value, metric_value = model.evaluate(x, y, verbose=0)
    assert loss_value == pytest.approx(expected, rel=1e-5)
    assert metric_value == pytest.approx(expected, rel=1e-5)
    clipped = -np.log(1e-7)
    assert expected > 2 * clipped
    # outside a step, the loss of the probabilities themselves is clipped, as in Keras
    direct = jnp.mean(losses.get(loss)(jnp.asarray(y), model.predict(x, verbose=0)))
    assert float(direct) == pytest.approx(clipped, rel=0.02)   # 1 - eps rounds in float32
    before = model.get_weights()[0].copy()
    history = model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(model.get_weights()[0], before)   # a clipped loss has no gradient here
    assert history.history[loss][0] == pytest.approx(history.history["loss"][0], rel=1e-6)


def test_keras3_jax_clips_where_jkeras_uses_logits():
    """Keras 3 on JAX clips probabilities: where they are not saturated, both agree."""
    import jkeras
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 5)).astype(np.float32), rng.integers(0, 3, 16)
    ours = jkeras.Sequential([jkeras.layers.Dense(3, activation="softmax", input_shape=(5,))])
    theirs = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    theirs.set_weights(ours.get_weights())
    for m in (ours, theirs):
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    assert ours.evaluate(x, y, verbose=0) == pytest.approx(theirs.evaluate(x, y, verbose=0), rel=1e-6)
    saturated = _saturated_model("softmax", 3)
    k3 = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, activation="softmax")])
    k3.set_weights(saturated.get_weights())
    k3.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    xs = np.array([[1.0, 0.0]], np.float32)
    assert k3.evaluate(xs, np.array([1]), verbose=0) == pytest.approx(-np.log(1e-7), rel=1e-3)


def test_from_logits_on_a_softmax_output_warns():
    model = _saturated_model("softmax", 3)
    model.compile(optimizer="sgd", loss=losses.SparseCategoricalCrossentropy(from_logits=True))
    with pytest.warns(UserWarning, match="does not represent logits"):
        model.evaluate(np.ones((2, 2), np.float32), np.array([0, 1]), verbose=0)


def test_a_loss_of_the_whole_batch_evaluates_over_an_uneven_last_batch():
    """A custom loss that returns one number per batch (segmentation-models' losses do) works in
    evaluate, whose last batch of 6 samples at batch size 4 is padded: a constant loss stays itself,
    and a batch-divisible evaluation equals numpy's mean over the batches."""
    x = np.arange(12, dtype="float32").reshape(6, 2) / 10
    y = np.ones((6, 1), "float32")
    model = jkeras.Sequential([jkeras.layers.Dense(1, kernel_initializer="ones", input_shape=(2,))])
    model.compile("sgd", loss=lambda y_true, y_pred: jkeras.backend.mean(y_pred) * 0.0 + 2.0)
    assert model.evaluate(x, y, batch_size=4, verbose=0) == pytest.approx(2.0)
    model.compile("sgd", loss=lambda y_true, y_pred: jkeras.backend.mean(jkeras.backend.square(y_true - y_pred)))
    batches = [((x[i:i + 2].sum(1, keepdims=True) - 1) ** 2).mean() for i in (0, 2, 4)]
    assert model.evaluate(x, y, batch_size=2, verbose=0) == pytest.approx(np.mean(batches), rel=1e-6)

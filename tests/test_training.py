"""compile / fit / evaluate / predict: Keras semantics, compile counts and clear errors."""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import layers


def _data(n=64, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = np.eye(classes, dtype="float32")[rng.integers(0, classes, n)]
    return x, y


def _mlp(d=6, classes=3, dropout=0.0):
    inp = layers.Input((d,))
    h = layers.Dense(16, activation="relu", name="hidden")(inp)
    if dropout:
        h = layers.Dropout(dropout)(h)
    return jkeras.Model(inp, layers.Dense(classes, activation="softmax", name="out")(h))


def test_fit_history_and_metric_names():
    x, y = _data()
    model = _mlp()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, validation_split=0.25, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2]
    assert model.metrics_names == ["loss", "accuracy"]
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_validation_split_is_the_last_fraction_unshuffled():
    x, y = _data(n=40)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=1, validation_split=0.25, shuffle=True, verbose=0)
    # The validation loss after the epoch equals evaluating on the last 10 samples.
    expected = model.evaluate(x[30:], y[30:], batch_size=8, verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def test_compiles_once_per_signature_over_many_epochs():
    x, y = _data(n=64)
    model = _mlp(dropout=0.3)
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=16, epochs=6, validation_data=(x[:20], y[:20]), verbose=0)
    model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert model._trace_counts["train"] == 1
    assert model._trace_counts["test"] == 1
    model.predict(x, batch_size=16)
    model.predict(x[:50], batch_size=16)  # short last batch is padded, not recompiled
    assert model._trace_counts["predict"] == 1


def test_a_repeated_predict_skips_the_checks_but_sees_every_change():
    """The latency path checks a numpy input once per shape, dtype and model version."""
    x, _ = _data(n=4)
    seq = jkeras.Sequential([layers.Dense(5, input_shape=(6,)), layers.Dense(2)])

    def numpy_forward(m, a):
        for k, b in zip(m.get_weights()[::2], m.get_weights()[1::2]):
            a = a @ k + b
        return a

    for call in (lambda a: seq.predict(a, verbose=0), seq.predict_on_batch):
        first = call(x[:1])
        np.testing.assert_array_equal(call(x[:1]), first)
        np.testing.assert_allclose(call(x[1:2]), numpy_forward(seq, x[1:2]), rtol=1e-5, atol=1e-6)
        seq.set_weights([w * 2 for w in seq.get_weights()])
        np.testing.assert_allclose(call(x[:1]), numpy_forward(seq, x[:1]), rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError, match="expects shape"):
            call(x[:1, :4])
        with pytest.raises(ValueError, match="numeric"):
            call(x[:1].astype(str))
    seq.pop()
    assert seq.predict(x[:1], verbose=0).shape == (1, 5)   # the popped layer is gone
    np.testing.assert_allclose(seq.predict_on_batch(x[:1]), numpy_forward(seq, x[:1]), rtol=1e-5, atol=1e-6)


def test_steps_per_execution_gives_the_same_numbers():
    """Many steps per dispatch (a scan over device data) = one step per dispatch, to rounding."""
    x, y = _data(n=100)
    results = []
    for spe in (1, 4, 32):
        K.set_random_seed(7)
        model = _mlp(dropout=0.2)
        model.compile("adam", "categorical_crossentropy", steps_per_execution=spe)
        h = model.fit(x, y, batch_size=8, epochs=2, verbose=0)   # 12 full batches + 1 of 4
        results.append((h.history["loss"], model.get_weights()))
    for losses, weights in results[1:]:
        np.testing.assert_allclose(results[0][0], losses, rtol=1e-6)
        for a, b in zip(results[0][1], weights):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_shuffle_changes_the_order_each_epoch_but_is_seeded():
    from jkeras.data.adapters import epoch_order
    import jax
    key = jax.random.key(0)
    e0, e1 = epoch_order(key, 0, 50, True), epoch_order(key, 1, 50, True)
    assert sorted(e0) == list(range(50)) and not np.array_equal(e0, e1)
    np.testing.assert_array_equal(e0, epoch_order(key, 0, 50, True))
    np.testing.assert_array_equal(epoch_order(jax.random.key(0), 0, 50, True), e0)
    assert not np.array_equal(epoch_order(jax.random.key(1), 0, 50, True), e0)
    np.testing.assert_array_equal(epoch_order(key, 3, 50, False), np.arange(50))


def test_shuffle_batch_permutes_whole_batches_and_keeps_a_short_last_batch_last():
    """Keras 2's `batch_shuffle` (Keras 3 instead shuffles inside each batch, keeping the
    batch order, which leaves every batch's contents the same each epoch)."""
    from jkeras.data.adapters import epoch_order
    import jax
    orders = [epoch_order(jax.random.key(0), e, 26, "batch", 4) for e in range(4)]
    for order in orders:
        batches = order[:24].reshape(6, 4)
        assert (batches[:, 0] % 4 == 0).all()
        np.testing.assert_array_equal(batches, batches[:, :1] + np.arange(4))
        np.testing.assert_array_equal(order[24:], [24, 25])
    assert len({tuple(o) for o in orders}) > 1
    x, y = _data(n=26)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    assert len(model.fit(x, y, batch_size=4, epochs=2, shuffle="batch", verbose=0).history["loss"]) == 2


def test_same_seed_same_bits():
    x, y = _data()
    runs = []
    for _ in range(2):
        K.clear_session()
        K.set_random_seed(3)
        model = _mlp(dropout=0.5)
        model.compile("adam", "categorical_crossentropy")
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        runs.append(model.get_weights())
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


def test_the_regularizer_penalty_counts_in_training_and_evaluation_loss():
    """As Keras 2 (its total loss), tf.keras 2 and Keras 3: evaluate's loss holds the penalty too."""
    x, y = _data()
    inp = layers.Input((6,))
    out = layers.Dense(3, kernel_regularizer=jkeras.regularizers.l2(10.0), name="d")(inp)
    model = jkeras.Model(inp, out)
    model.compile(jkeras.optimizers.SGD(0.0), "mse")
    test_loss = model.evaluate(x, y, verbose=0)
    mse = float(np.mean((model.predict(x) - y) ** 2))
    penalty = 10.0 * np.sum(model.get_layer("d").get_weights()[0] ** 2)
    assert test_loss == pytest.approx(mse + penalty, rel=1e-5)
    assert model.train_on_batch(x, y) == pytest.approx(mse + penalty, rel=1e-5)


def test_sample_and_class_weights():
    x, y = _data(n=32)
    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    w = np.ones(32, "float32")
    w[16:] = 0.0
    weighted = model.evaluate(x, y, sample_weight=w, batch_size=32, verbose=0)
    per_sample = -np.sum(y * np.log(np.clip(model.predict(x), 1e-7, 1 - 1e-7)), axis=-1)
    assert weighted == pytest.approx(per_sample[:16].sum() / 32, rel=1e-5)
    model.fit(x, y, class_weight={0: 1.0, 1: 2.0, 2: 0.5}, epochs=1, verbose=0)


def test_multi_input_multi_output_dicts_and_lists():
    a, b = layers.Input((4,), name="a"), layers.Input((3,), name="b")
    shared = layers.Dense(5, name="shared")
    h = layers.Concatenate()([shared(layers.Dense(5)(a)), shared(layers.Dense(5)(b))]) \
        if hasattr(layers, "Concatenate") else shared(layers.Dense(5)(a))
    o1 = layers.Dense(1, name="reg")(h)
    o2 = layers.Dense(2, activation="softmax", name="cls")(h)
    model = jkeras.Model([a, b], [o1, o2])
    model.compile("adam", loss={"reg": "mse", "cls": "categorical_crossentropy"},
                  loss_weights={"reg": 0.5, "cls": 1.0}, metrics={"cls": ["accuracy"]})
    rng = np.random.default_rng(0)
    xa, xb = rng.normal(size=(20, 4)), rng.normal(size=(20, 3))
    y1, y2 = rng.normal(size=(20, 1)), np.eye(2)[rng.integers(0, 2, 20)]
    h = model.fit({"a": xa, "b": xb}, {"reg": y1, "cls": y2}, epochs=2, batch_size=5, verbose=0)
    assert set(h.history) == {"loss", "reg_loss", "cls_loss", "cls_accuracy"}
    loss, reg_loss, cls_loss, _ = model.evaluate([xa, xb], [y1, y2], verbose=0)
    assert loss == pytest.approx(0.5 * reg_loss + cls_loss, rel=1e-5)
    p1, p2 = model.predict([xa, xb])
    assert p1.shape == (20, 1) and p2.shape == (20, 2)


def test_bad_input_raises_clear_errors_and_changes_nothing():
    x, y = _data()
    model = _mlp()
    model.compile("adam", "categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match="same number of samples"):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(x, y, validation_split=1.0, verbose=0)
    with pytest.raises(ValueError, match="expects shape"):
        model.fit(x[:, :4], y, verbose=0)
    with pytest.raises(ValueError, match="lossy_loss|Unknown"):
        model.compile("adam", "lossy_loss")
    with pytest.raises(ValueError):
        model.compile("adamish", "mse")
    with pytest.raises(ValueError):
        model.compile("adam", "mse", metrics=["not_a_metric"])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="rank"):
        layers.Dense(3)(layers.Input(()))


def test_learning_rate_is_traced_not_baked_in():
    from jkeras import callbacks
    x, y = _data()
    model = _mlp()
    model.compile(jkeras.optimizers.SGD(0.1), "categorical_crossentropy")
    seen = []

    class Halve(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            lr = self.model.optimizer.learning_rate
            seen.append(lr)
            self.model.optimizer.learning_rate = lr / 2

    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[Halve()])
    assert seen == pytest.approx([0.1, 0.05, 0.025])
    assert model._trace_counts["train"] == 1


def test_predict_on_batch_and_eager_call():
    x, _ = _data()
    model = _mlp()
    np.testing.assert_allclose(model.predict_on_batch(x[:7]), np.asarray(model(x[:7])), rtol=1e-6)
    np.testing.assert_allclose(model.predict(x, batch_size=10), model.predict_on_batch(x), rtol=1e-6)


def test_generators_and_sequences_train_like_arrays():
    x, y = _data(n=64)

    class Batches(jkeras.utils.Sequence):
        def __len__(self):
            return 8

        def __getitem__(self, i):
            return x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    def generator():
        while True:
            for i in range(8):
                yield x[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8]

    results = []
    for data, kwargs in ((x, dict(y=y, batch_size=8, shuffle=False)), (Batches(), dict(shuffle=False)),
                         (generator(), dict(steps_per_epoch=8))):
        K.set_random_seed(5)
        model = _mlp()
        model.compile("sgd", "categorical_crossentropy")
        h = model.fit(data, epochs=2, verbose=0, **kwargs)
        results.append(h.history["loss"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)
    np.testing.assert_allclose(results[0], results[2], rtol=1e-5)
    assert model.evaluate(Batches(), verbose=0) == pytest.approx(model.evaluate(x, y, batch_size=8,
                                                                                verbose=0), rel=1e-5)
    np.testing.assert_allclose(model.predict(Batches()), model.predict(x), rtol=1e-5)
    model.fit_generator(generator(), steps_per_epoch=4, epochs=1, verbose=0,
                        validation_data=Batches(), workers=2)


def test_a_generator_that_changes_shape_mid_epoch_is_named():
    x, y = _data(n=64)

    def generator():
        yield x[:8], y[:8]
        yield x[8:16], y[8:16]
        yield x[16:24, :4], y[16:24]

    model = _mlp()
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match="Batch 2"):
        model.fit(generator(), steps_per_epoch=3, epochs=1, verbose=0)


def test_run_eagerly_gives_the_same_numbers_without_compiling_steps():
    x, y = _data(n=32)
    losses = []
    for eager in (False, True):
        K.set_random_seed(9)
        model = _mlp(dropout=0.2)
        model.compile("adam", "categorical_crossentropy", run_eagerly=eager)
        losses.append(model.fit(x, y, batch_size=8, epochs=2, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)

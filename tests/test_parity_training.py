"""Training and evaluation numbers against tf.keras 2 and Keras 3 (found by a parity audit).

Where Keras 3 has the same API it is run live; otherwise the expected value was measured with
tf_keras 2.21 on the same model and weights, as the comment at each says."""
import numpy as np
import pytest

import jkeras


def _masked_sequence_model(lib):
    inputs = lib.Input((5,))
    seq = lib.layers.Embedding(6, 3, mask_zero=True)(inputs)
    seq = lib.layers.LSTM(2, return_sequences=True)(seq)
    model = lib.Model(inputs, lib.layers.Dense(3, activation="softmax")(seq))
    model.set_weights([np.linspace(-1, 1, w.size).reshape(w.shape).astype("float32")
                       for w in model.get_weights()])
    model.compile(lib.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


SEQ_X = np.array([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [1, 1, 1, 1, 1], [2, 0, 0, 0, 0]])
SEQ_Y = np.array([[0, 1, 2, 0, 0], [1, 2, 0, 0, 0], [2, 2, 1, 0, 1], [1, 0, 0, 0, 0]])


def test_output_mask_weights_the_metrics_too():
    # tf_keras 2.21: evaluate gave [1.306379795074463, 0.3636363744735718] (4 of 11 unmasked
    # steps right), with sample_weight [1.929488182067871, 0.3636363744735718]; fit's epoch
    # [1.2976739406585693] and accuracy 0.3636363744735718. jkeras once counted the masked steps
    # in the accuracy (0.2 = 4 of 20).
    model = _masked_sequence_model(jkeras)
    loss, acc = model.evaluate(SEQ_X, SEQ_Y, batch_size=3, verbose=0)
    assert (loss, acc) == pytest.approx((1.306379795074463, 0.3636363744735718), rel=1e-5)
    got = model.evaluate(SEQ_X, SEQ_Y, sample_weight=np.array([1., 2., .5, 3.]), batch_size=3, verbose=0)
    assert got == pytest.approx([1.929488182067871, 0.3636363744735718], rel=1e-5)
    history = model.fit(SEQ_X, SEQ_Y, batch_size=3, shuffle=False, verbose=0).history
    assert history["loss"][0] == pytest.approx(1.2976739406585693, rel=1e-5)
    assert history["accuracy"][0] == pytest.approx(0.3636363744735718, rel=1e-5)


def _temporal_model(lib, **compile_kwargs):
    inputs = lib.Input((5, 2))
    model = lib.Model(inputs, lib.layers.Dense(3)(inputs))
    model.set_weights([np.linspace(-1, 1, 6).reshape(2, 3).astype("float32"), np.zeros(3, "float32")])
    model.compile(lib.optimizers.SGD(0.1), "mse", metrics=["mae"], weighted_metrics=["mae"], **compile_kwargs)
    return model


def test_temporal_sample_weights_over_an_uneven_last_batch():
    # 6 rows in batches of 4: the last one padded. jkeras once failed to broadcast the
    # (batch, timesteps) weights against the padding mask.
    keras = pytest.importorskip("keras")
    x = np.linspace(-1, 1, 60).reshape(6, 5, 2).astype("float32")
    y = np.linspace(0, 1, 90).reshape(6, 5, 3).astype("float32")
    sw = np.linspace(0, 1, 30).reshape(6, 5).astype("float32")
    got = {}
    for lib, kwargs in ((jkeras, {"sample_weight_mode": "temporal"}), (keras, {})):
        model = _temporal_model(lib, **kwargs)
        ev = model.evaluate(x, y, sample_weight=sw, batch_size=4, verbose=0, return_dict=True)
        hist = model.fit(x, y, sample_weight=sw, batch_size=4, shuffle=False, verbose=0).history
        got[lib] = [ev["loss"], ev["mae"], ev["weighted_mae"], hist["loss"][0], hist["weighted_mae"][0]]
    assert got[jkeras] == pytest.approx(got[keras], rel=1e-5)
    # tf_keras 2.21 gave evaluate [0.31253811717033386, 0.5712024569511414, 0.6710454821586609]
    assert got[jkeras][:3] == pytest.approx([0.31253811717033386, 0.5712024569511414, 0.6710454821586609], rel=1e-5)


def test_a_list_of_metric_lists_is_one_list_per_output():
    keras = pytest.importorskip("keras")
    x = np.linspace(-1, 1, 40).reshape(10, 4).astype("float32")
    ya, yb = np.linspace(0, 1, 20).reshape(10, 2).astype("float32"), np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1])
    got = {}
    for lib in (jkeras, keras):
        inputs = lib.Input((4,))
        outs = [lib.layers.Dense(2, name="a")(inputs), lib.layers.Dense(3, activation="softmax", name="b")(inputs)]
        model = lib.Model(inputs, outs)
        model.set_weights([np.linspace(-1, 1, w.size).reshape(w.shape).astype("float32") for w in model.get_weights()])
        model.compile("sgd", ["mse", "sparse_categorical_crossentropy"], loss_weights=[0.3, 2.0],
                      metrics=[["mae"], ["accuracy"]])
        ev = model.evaluate(x, [ya, yb], batch_size=4, verbose=0, return_dict=True)
        got[lib] = {k: ev[k] for k in ("loss", "a_loss", "b_loss", "a_mae", "b_accuracy")}
    assert got[jkeras] == pytest.approx(got[keras], rel=1e-5)


def test_on_batch_with_reset_metrics_false_accumulates_over_batches():
    # tf_keras 2.21 (it resets before the step): train_on_batch on rows 0-3 gave
    # [1.0460498332977295, 0.25], then on rows 4-9 with reset_metrics=False
    # [1.165714979171753, 0.30000001192092896] (all ten rows); test_on_batch likewise
    # [1.044395923614502, 0.25] then [1.1500520706176758, 0.30000001192092896].
    x = np.linspace(-1, 1, 40).reshape(10, 4).astype("float32")
    y = np.array([0, 1, 2, 1, 0, 2, 2, 1, 0, 1])
    inputs = jkeras.Input((4,))
    model = jkeras.Model(inputs, jkeras.layers.Dense(3, activation="softmax")(inputs))
    model.set_weights([np.linspace(-1, 1, 12).reshape(4, 3).astype("float32"),
                       np.linspace(0, .5, 3).astype("float32")])
    model.compile(jkeras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    assert model.train_on_batch(x[:4], y[:4]) == pytest.approx([1.0460498332977295, 0.25], rel=1e-5)
    got = model.train_on_batch(x[4:], y[4:], reset_metrics=False)
    assert got == pytest.approx([1.165714979171753, 0.30000001192092896], rel=1e-5)
    assert model.test_on_batch(x[:4], y[:4]) == pytest.approx([1.044395923614502, 0.25], rel=1e-5)
    got = model.test_on_batch(x[4:], y[4:], reset_metrics=False)
    assert got == pytest.approx([1.1500520706176758, 0.30000001192092896], rel=1e-5)
    model.reset_metrics()
    fresh = model.test_on_batch(x[4:], y[4:], reset_metrics=False)
    assert fresh == pytest.approx(model.test_on_batch(x[4:], y[4:]))

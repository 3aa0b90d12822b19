"""`evaluate` and `test_on_batch` count the weight penalties, activity regularization and added
losses, as Keras 2, tf.keras 2 and Keras 3 do (jkeras once counted them in training only).

Expected values: tf.keras 2.21 gave 13.0 (mse 9 + l2 penalty 3 + added 1) and 18.0 (mse 9 +
activity l2 9) for these models; Keras 3 is checked live where it has the same API."""
import numpy as np
import pytest

import jkeras

X, Y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")


def _model(lib, **dense):
    inputs = lib.Input((3,))
    out = lib.layers.Dense(2, kernel_initializer="ones", name="d", **dense)(inputs)
    return lib.Model(inputs, out), out


def test_weight_penalty_and_added_loss_count_in_evaluation():
    model, out = _model(jkeras, kernel_regularizer=jkeras.regularizers.l2(0.5))
    model.add_loss(jkeras.backend.mean(out) * 0 + 1.0)
    model.compile("sgd", "mse")
    assert model.evaluate(X, Y, verbose=0) == pytest.approx(13.0)  # a batch padded to 32 rows
    assert model.test_on_batch(X, Y) == pytest.approx(13.0)
    assert model.evaluate(X, Y, batch_size=3, verbose=0) == pytest.approx(13.0)


@pytest.mark.parametrize("batch_size", [None, 4, 3])
def test_activity_regularization_counts_in_evaluation_over_the_real_rows(batch_size):
    keras = pytest.importorskip("keras")
    got = {}
    for lib in (jkeras, keras):
        model, _ = _model(lib, bias_initializer="ones", activity_regularizer=lib.regularizers.l2(0.5))
        model.compile("sgd", "mse")
        got[lib] = model.evaluate(X, Y, batch_size=batch_size, verbose=0)
    assert got[jkeras] == pytest.approx(got[keras], rel=1e-6)
    assert got[jkeras] == pytest.approx(16.0 + 0.5 * 16 * 2)  # (3+1)^2 mse, 0.5 * sum(o^2) / rows


def test_training_loss_is_unchanged_by_the_evaluation_terms():
    model, _ = _model(jkeras, kernel_regularizer=jkeras.regularizers.l2(0.5))
    model.compile(jkeras.optimizers.SGD(0.0), "mse")
    logged = model.fit(X, Y, batch_size=4, epochs=1, verbose=0).history["loss"][0]
    assert logged == pytest.approx(model.evaluate(X, Y, verbose=0)) == pytest.approx(12.0)

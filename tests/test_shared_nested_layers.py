"""A layer shared by a nested model and its parent is one weight: it trains as Keras 3 trains it
(its gradient summed over its uses, its penalty counted once), is listed once, and saves."""
import numpy as np
import pytest

import jkeras

keras = pytest.importorskip("keras")


def _build(K, nested):
    """`head(shared(inner(x)))` where `inner` is a model around the same `shared` Dense, or
    (not nested) `head(shared(shared(x)))`: the same function of the same weights."""
    L = K.layers
    shared = L.Dense(4, name="shared", kernel_regularizer=K.regularizers.L2(0.01))
    x = K.Input((4,))
    if nested:
        x0 = K.Input((4,))
        h = K.Model(x0, shared(x0), name="inner")(x)
    else:
        h = shared(x)
    return K.Model(x, L.Dense(1, name="head")(shared(h)))


def _data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 4)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")


def test_listed_once_as_in_keras3():
    ours, theirs = _build(jkeras, True), _build(keras, True)
    assert len(ours.weights) == len(theirs.weights) == 4
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 4


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_trains_as_keras3_and_as_the_unnested_model(optimizer):
    x, y = _data()
    ours, flat, theirs = _build(jkeras, True), _build(jkeras, False), _build(keras, True)
    weights = [w.numpy() for w in theirs.weights]
    ours.set_weights(weights)
    flat.set_weights(weights)
    make = {"sgd": lambda K: K.optimizers.SGD(0.1), "adam": lambda K: K.optimizers.Adam(0.01)}[optimizer]
    for model, K in ((ours, jkeras), (flat, jkeras), (theirs, keras)):
        model.compile(make(K), "mse")
        model.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0)
    for a, b, c in zip(ours.get_weights(), flat.get_weights(), [w.numpy() for w in theirs.weights]):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)  # sums in another order
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_saves_to_h5_with_a_warning_and_loads(tmp_path):
    x, _ = _data()
    model = _build(jkeras, True)
    model.compile("adam", "mse")
    model.fit(x, x[:, :1], epochs=1, verbose=0)
    with pytest.warns(UserWarning, match=r"\['shared'\].*separate layers"):
        model.save(tmp_path / "m.h5")
    back = jkeras.models.load_model(tmp_path / "m.h5")
    np.testing.assert_array_equal(back.predict(x, verbose=0), model.predict(x, verbose=0))

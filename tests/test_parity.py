"""Training parity: the same model, weights and data give the same losses and weights as
Keras 3 (JAX backend) and as the epochs tf.keras 2 recorded in the shared fixtures."""
import json
import os

import h5py
import numpy as np
import pytest

import jkeras

keras = pytest.importorskip("keras")
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras")
OPTIMIZERS = {
    "sgd_momentum": (lambda m: m.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    "adam": (lambda m: m.optimizers.Adam(0.01)),
    "rmsprop": (lambda m: m.optimizers.RMSprop(0.005)),
}


def _mlp(lib):
    return lib.Sequential([lib.layers.Input((10,)), lib.layers.Dense(16, activation="relu"),
                           lib.layers.Dense(8, activation="tanh"),
                           lib.layers.Dense(3, activation="softmax")])


def _convnet(lib):
    inp = lib.layers.Input((8, 8, 2))
    h = lib.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    h = lib.layers.BatchNormalization()(h)
    h = lib.layers.MaxPooling2D()(h)
    h = lib.layers.Conv2D(6, 3)(h)
    h = lib.layers.GlobalAveragePooling2D()(h)
    return lib.Model(inp, lib.layers.Dense(3, activation="softmax")(h))


@pytest.mark.parametrize("build", [_mlp, _convnet], ids=["mlp", "convnet"])
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_fit_matches_keras3(build, opt):
    rng = np.random.default_rng(0)
    shape = (10,) if build is _mlp else (8, 8, 2)
    x = rng.normal(size=(40,) + shape).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 40)]
    theirs, ours = build(keras), build(jkeras)
    ours.set_weights(theirs.get_weights())
    theirs.compile(OPTIMIZERS[opt](keras), "categorical_crossentropy", metrics=["accuracy"])
    ours.compile(OPTIMIZERS[opt](jkeras), "categorical_crossentropy", metrics=["accuracy"])
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0).history
    np.testing.assert_allclose(h_ours["loss"], h_theirs["loss"], rtol=1e-4)
    np.testing.assert_allclose(h_ours["accuracy"], h_theirs["accuracy"], rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0),
                               rtol=1e-4)


def _fixture_model(name):
    folder = os.path.join(FIXTURES, name)
    with open(os.path.join(folder, "arch.json")) as f:
        model = jkeras.models.model_from_json(f.read())
    train = np.load(os.path.join(folder, "train.npz"))
    inits = [train[k] for k in sorted(k for k in train if k.startswith("init_"))]
    model.set_weights(inits)
    x = [train["x_train0"], train["x_train1"]] if "x_train0" in train else train["x_train"]
    meta = json.load(open(os.path.join(folder, "meta.json")))
    return model, x, train["y_train"], meta, folder


@pytest.mark.parametrize("name,optimizer,loss", [
    ("cnn", lambda: jkeras.optimizers.SGD(0.01, momentum=0.9),
     lambda: jkeras.losses.SparseCategoricalCrossentropy(from_logits=True)),
    ("two_in", lambda: jkeras.optimizers.RMSprop(1e-3), lambda: "mse"),
])
def test_replays_the_tf_keras_recorded_epoch(name, optimizer, loss):
    """The fixtures hold tf.keras's initial weights, data, one epoch's loss and the final weights."""
    model, x, y, meta, folder = _fixture_model(name)
    model.compile(optimizer(), loss())
    history = model.fit(x, y, epochs=1, shuffle=False, batch_size=meta["fit"]["batch_size"], verbose=0)
    np.testing.assert_allclose(history.history["loss"], meta["history"]["loss"], rtol=1e-4)
    with h5py.File(os.path.join(folder, "model.h5")) as f:
        group = f["model_weights"]
        text = lambda v: v.decode() if isinstance(v, bytes) else str(v)  # noqa: E731
        names = [text(n) for n in group.attrs["layer_names"]]
        final = [np.asarray(group[n][text(w)]) for n in names for w in group[n].attrs["weight_names"]]
    for a, b in zip(model.get_weights(), final):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)

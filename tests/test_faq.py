"""The Keras 2 FAQ's snippets with `keras` changed to `jkeras`, behaving as the FAQ says."""
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras.layers import Dense, Dropout, Input
from jkeras.models import Model, Sequential


def _xy(n=32, d=8, k=3):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, d)).astype("float32"), np.eye(k, dtype="float32")[rng.integers(0, k, n)]


def test_intermediate_layer_output_via_a_new_model():
    inputs = Input(shape=(8,))
    h = Dense(5, activation="relu", name="my_layer")(inputs)
    model = Model(inputs, Dense(3)(h))
    intermediate_layer_model = Model(inputs=model.input, outputs=model.get_layer("my_layer").output)
    x, _ = _xy()
    out = intermediate_layer_model.predict(x)
    kernel, bias = model.get_layer("my_layer").get_weights()
    np.testing.assert_allclose(out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)


def test_intermediate_output_via_backend_function_with_learning_phase():
    model = Sequential([Dense(16, activation="relu", input_shape=(8,)), Dropout(0.5), Dense(4),
                        Dense(3)])
    get_3rd_layer_output = K.function([model.layers[0].input, K.learning_phase()],
                                      [model.layers[1].output])
    x, _ = _xy()
    test_out = get_3rd_layer_output([x, 0])[0]
    train_out = get_3rd_layer_output([x, 1])[0]
    kernel, bias = model.layers[0].get_weights()
    np.testing.assert_allclose(test_out, np.maximum(x @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    dropped = (train_out == 0) & (test_out != 0)
    assert 0.3 < dropped.sum() / (test_out != 0).sum() < 0.7
    kept = train_out != 0
    np.testing.assert_allclose(train_out[kept], 2 * test_out[kept], rtol=1e-5)
    simple = K.function([model.layers[0].input], [model.layers[2].output])
    assert simple([x])[0].shape == (32, 4)


def test_frozen_and_trainable_share_a_layer_as_the_faq_describes():
    x = Input(shape=(8,))
    layer = Dense(8)
    layer.trainable = False
    y = layer(x)
    frozen_model = Model(x, y)
    frozen_model.compile(optimizer="rmsprop", loss="mse")
    layer.trainable = True
    trainable_model = Model(x, y)
    trainable_model.compile(optimizer="rmsprop", loss="mse")

    data, _ = _xy()
    labels = np.random.default_rng(1).normal(size=(32, 8)).astype("float32")
    before = layer.get_weights()
    frozen_model.fit(data, labels, epochs=1, verbose=0)  # does not update the weights of `layer`
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    trainable_model.fit(data, labels, epochs=1, verbose=0)  # updates the weights of `layer`
    assert not np.array_equal(before[0], layer.get_weights()[0])
    # frozen_model sees the shared layer's new weights, and still does not train them.
    after = layer.get_weights()
    np.testing.assert_allclose(frozen_model.predict(data), trainable_model.predict(data), rtol=1e-6)
    frozen_model.fit(data, labels, epochs=1, verbose=0)
    for a, b in zip(after, layer.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_trainable_is_read_at_compile_time():
    model = Sequential([Dense(4, input_dim=8, name="a"), Dense(3, name="b")])
    model.layers[0].trainable = False
    model.compile("sgd", "mse")
    model.layers[0].trainable = True  # no effect until the next compile
    x, y = _xy()
    w0 = model.layers[0].get_weights()[0]
    model.fit(x, y, epochs=1, verbose=0)
    np.testing.assert_array_equal(w0, model.layers[0].get_weights()[0])
    model.compile("sgd", "mse")
    model.fit(x, y, epochs=1, verbose=0)
    assert not np.array_equal(w0, model.layers[0].get_weights()[0])
    assert len(model.trainable_weights) == 4


def test_sequential_pop():
    model = Sequential()
    model.add(Dense(32, activation="relu", input_dim=784))
    model.add(Dense(32, activation="relu"))
    assert len(model.layers) == 2
    model.pop()
    assert len(model.layers) == 1
    assert model.output_shape == (None, 32)
    assert model.predict(np.zeros((2, 784), "float32")).shape == (2, 32)
    model.pop()
    with pytest.raises(TypeError):
        model.pop()


def test_history_records_losses_and_validation():
    model = Sequential([Dense(8, activation="relu", input_shape=(8,)), Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    x, y = _xy(n=40)
    hist = model.fit(x, y, validation_split=0.2, epochs=2, verbose=0)
    assert set(hist.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(hist.history["val_loss"]) == 2


def test_early_stopping_stops():
    from jkeras.callbacks import EarlyStopping
    model = Sequential([Dense(3, input_shape=(8,))])
    model.compile(jkeras.optimizers.SGD(0.0), "mse")  # nothing improves
    x, y = _xy(n=40)
    hist = model.fit(x, y, validation_split=0.2, epochs=20, verbose=0,
                     callbacks=[EarlyStopping(monitor="val_loss", patience=2)])
    assert len(hist.history["loss"]) == 3

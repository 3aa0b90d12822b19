"""Stateful RNNs as the Keras 2 FAQ (and tf.keras) describe them: state carried across batches and calls."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers as L  # noqa: E402

RNG = np.random.default_rng(1)
B, T, F, U = 2, 3, 3, 4




def data(*shape):
    return RNG.normal(size=shape).astype("float32")


def stateful_model(layer_cls=L.LSTM, **kwargs):
    inp = L.Input(batch_shape=(B, T, F))
    rnn = layer_cls(U, stateful=True, **kwargs)
    return jkeras.Model(inp, rnn(inp)), rnn


def reference(model, layer_cls=L.LSTM, **kwargs):
    """The same weights in a non-stateful layer returning its sequence, for any length."""
    ref = layer_cls(U, return_sequences=True, **kwargs)
    ref(data(B, 2 * T, F))
    ref.set_weights(model.get_weights())
    return ref


def test_two_predicts_carry_state_like_one_long_sequence():
    model, rnn = stateful_model()
    ref = reference(model)
    x1, x2 = data(B, T, F), data(B, T, F)
    whole = np.asarray(ref(np.concatenate([x1, x2], axis=1)))
    np.testing.assert_allclose(model.predict(x1, batch_size=B, verbose=0), whole[:, T - 1], atol=1e-5)
    np.testing.assert_allclose(model.predict(x2, batch_size=B, verbose=0), whole[:, -1], atol=1e-5)
    # reset_states() gives fresh behaviour again; so does the layer's own reset.
    model.reset_states()
    np.testing.assert_allclose(model.predict(x1, batch_size=B, verbose=0), whole[:, T - 1], atol=1e-5)
    rnn.reset_states()
    assert all(np.all(np.asarray(s) == 0) for s in rnn.states)
    np.testing.assert_allclose(model.predict_on_batch(x1), whole[:, T - 1], atol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(x2), whole[:, -1], atol=1e-5)


def test_predict_carries_per_sample_state_across_batches():
    model, _ = stateful_model(L.GRU)
    ref = reference(model, L.GRU)
    xa, xb = data(B, T, F), data(B, T, F)
    # Samples B..2B-1 (second batch) continue the sequences of samples 0..B-1 (first batch).
    y = model.predict(np.concatenate([xa, xb]), batch_size=B, verbose=0)
    whole = np.asarray(ref(np.concatenate([xa, xb], axis=1)))
    np.testing.assert_allclose(y[:B], whole[:, T - 1], atol=1e-5)
    np.testing.assert_allclose(y[B:], whole[:, -1], atol=1e-5)


def test_chunks_of_a_long_sequence_equal_the_whole_sequence():
    model, _ = stateful_model(L.SimpleRNN, return_sequences=True)
    ref = reference(model, L.SimpleRNN)
    x = data(B, 4 * T, F)
    chunks = [model.predict(x[:, i * T:(i + 1) * T], batch_size=B, verbose=0) for i in range(4)]
    np.testing.assert_allclose(np.concatenate(chunks, axis=1), np.asarray(ref(x)), atol=1e-5)


def test_eager_calls_carry_state():
    model, rnn = stateful_model()
    ref = reference(model)
    x1, x2 = data(B, T, F), data(B, T, F)
    whole = np.asarray(ref(np.concatenate([x1, x2], axis=1)))
    np.testing.assert_allclose(np.asarray(rnn(x1)), whole[:, T - 1], atol=1e-5)
    np.testing.assert_allclose(np.asarray(rnn(x2)), whole[:, -1], atol=1e-5)
    rnn.reset_states()
    np.testing.assert_allclose(np.asarray(model(x1)), whole[:, T - 1], atol=1e-5)


def test_eager_model_calls_carry_state():
    model, _ = stateful_model()
    ref = reference(model)
    x1, x2 = data(B, T, F), data(B, T, F)
    whole = np.asarray(ref(np.concatenate([x1, x2], axis=1)))
    np.testing.assert_allclose(np.asarray(model(x1)), whole[:, T - 1], atol=1e-5)
    np.testing.assert_allclose(np.asarray(model(x2)), whole[:, -1], atol=1e-5)


def test_evaluate_carries_state():
    model, rnn = stateful_model()
    ref = reference(model)
    x1, x2 = data(B, T, F), data(B, T, F)
    whole = np.asarray(ref(np.concatenate([x1, x2], axis=1)))
    model.compile(optimizer="sgd", loss="mse")
    model.evaluate(x1, data(B, U), batch_size=B, verbose=0)
    np.testing.assert_allclose(model.predict(x2, batch_size=B, verbose=0), whole[:, -1], atol=1e-5)


def test_reset_states_to_given_values():
    model, rnn = stateful_model()
    ref = L.LSTM(U)
    x = data(B, T, F)
    ref(x)
    ref.set_weights(model.get_weights())
    h, c = data(B, U), data(B, U)
    rnn.reset_states([h, c])
    np.testing.assert_allclose(np.asarray(rnn.states[0]), h)
    np.testing.assert_allclose(model.predict(x, batch_size=B, verbose=0),
                               np.asarray(ref(x, initial_state=[h, c])), atol=1e-5)
    with pytest.raises(ValueError, match="expects 2 states"):
        rnn.reset_states([h])
    with pytest.raises(ValueError, match="shape"):
        rnn.reset_states([h, data(B + 1, U)])
    np.testing.assert_allclose(np.asarray(rnn.states[0]), np.asarray(rnn.states[0]))
    with pytest.raises(AttributeError, match="stateful"):
        L.LSTM(U).reset_states([h, c])
    L.LSTM(U).reset_states()  # a no-op, so that model.reset_states() can visit every layer


def test_train_on_batch_carries_state():
    model, rnn = stateful_model()
    ref = reference(model)
    model.compile(optimizer=jkeras.optimizers.SGD(learning_rate=0.0), loss="mse")
    x1, x2 = data(B, T, F), data(B, T, F)
    y = data(B, U)
    model.train_on_batch(x1, y)
    model.train_on_batch(x2, y)
    whole = np.asarray(ref(np.concatenate([x1, x2], axis=1)))
    np.testing.assert_allclose(np.asarray(rnn.states[0]), whole[:, -1], atol=1e-5)
    # fit(shuffle=False) walks batches in order; the state continues from batch to batch.
    model.reset_states()
    model.fit(np.concatenate([x1, x2]), np.concatenate([y, y]), batch_size=B, shuffle=False,
              epochs=1, verbose=0)
    np.testing.assert_allclose(np.asarray(rnn.states[0]), whole[:, -1], atol=1e-5)


def test_states_are_state_not_weights():
    model, rnn = stateful_model()
    assert [w.name for w in rnn.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert len(model.get_weights()) == 3 and rnn.non_trainable_weights == []
    assert model.count_params() == 3 * 4 * U + 4 * U * U + 4 * U
    state = model._own_tree(False)[rnn.name]
    assert sorted(state) == ["rnn_state_0", "rnn_state_1"]
    assert state["rnn_state_0"].shape == (B, U)
    assert len(rnn.states) == 2
    assert L.LSTM(U).states == [None, None]


def test_errors_for_batch_size():
    with pytest.raises(ValueError, match="fixed batch size"):
        jkeras.Sequential([L.LSTM(U, stateful=True, input_shape=(T, F))])
    with pytest.raises(ValueError, match="fixed batch size"):
        L.GRU(U, stateful=True)(L.Input((T, F)))
    model, rnn = stateful_model()
    with pytest.raises(ValueError):
        model.predict(data(B + 1, T, F), batch_size=B + 1, verbose=0)
    with pytest.raises(ValueError, match="batch size"):
        rnn(data(B + 1, T, F))
    model = jkeras.Sequential([L.LSTM(U, stateful=True, batch_input_shape=(B, T, F)), L.Dense(1)])
    assert model.layers[0].states[0].shape == (B, U)
    model = jkeras.Sequential([L.LSTM(U, stateful=True, input_shape=(T, F), batch_size=B)])
    assert model.layers[0].states[0].shape == (B, U)


def test_bidirectional_stateful():
    inp = L.Input(batch_shape=(B, T, F))
    bidi = L.Bidirectional(L.LSTM(U, stateful=True))
    model = jkeras.Model(inp, bidi(inp))
    x = data(B, T, F)
    first = model.predict(x, batch_size=B, verbose=0)
    second = model.predict(x, batch_size=B, verbose=0)
    assert not np.allclose(first, second)
    assert len(bidi.states) == 4 and len(model.get_weights()) == 6
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, batch_size=B, verbose=0), first, atol=1e-6)


def test_faq_stateful_example():
    x = data(32, 21, 16)  # this is our input data, of shape (32, 21, 16)
    # we will feed it to our model in sequences of length 10
    model = jkeras.Sequential()
    model.add(L.LSTM(32, input_shape=(10, 16), batch_size=32, stateful=True))
    model.add(L.Dense(16, activation="softmax"))
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy")
    # we train the network to predict the 11th timestep given the first 10:
    model.train_on_batch(x[:, :10, :], np.reshape(x[:, 10, :], (32, 16)))
    state_after_first = np.asarray(model.layers[0].states[0])
    # the state of the network has changed. We can feed the follow-up sequences:
    model.train_on_batch(x[:, 10:20, :], np.reshape(x[:, 20, :], (32, 16)))
    assert not np.allclose(np.asarray(model.layers[0].states[0]), state_after_first)
    # let's reset the states of the LSTM layer:
    model.reset_states()
    assert np.all(np.asarray(model.layers[0].states[0]) == 0)
    # another way to do it in this case:
    model.layers[0].reset_states()
    fresh = model.predict(x[:, :10, :], batch_size=32, verbose=0)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x[:, :10, :], batch_size=32, verbose=0), fresh, atol=1e-6)

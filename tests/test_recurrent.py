"""Recurrent layers against Keras 3 (JAX backend) with copied weights, plus the tf.keras LSTM fixture."""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers as L  # noqa: E402

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(0)
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras", "lstm")
SKIP_KEYS = {"name", "dtype"}


def data(*shape):
    return RNG.normal(size=shape).astype("float32")


def as_list(y):
    return list(y) if isinstance(y, (list, tuple)) else [y]


def assert_close(ours, theirs, tol=1e-5):
    ours, theirs = as_list(ours), as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


def same_config_value(ours, theirs):
    """Configs agree; initializer dicts agree on class and on the keys both write."""
    if isinstance(ours, dict) and isinstance(theirs, dict) and "class_name" in theirs:
        common = set(ours.get("config", {})) & set(theirs.get("config", {}))
        return ours["class_name"] == theirs["class_name"] and all(
            ours["config"][k] == theirs["config"][k] for k in common)
    return ours == theirs


def check_config(ours, theirs):
    ours_config, theirs_config = ours.get_config(), theirs.get_config()
    assert set(ours_config) - SKIP_KEYS == set(theirs_config) - SKIP_KEYS
    for key in set(theirs_config) - SKIP_KEYS - {"layer", "backward_layer", "cell"}:
        assert same_config_value(ours_config[key], theirs_config[key]), key
    clone = type(ours).from_config(ours_config)
    assert clone.get_config() == ours_config
    json.dumps(ours_config)


def compare(ours, theirs, x, **call_kwargs):
    """Copy Keras's weights into ours (same order and shapes), then compare outputs and configs."""
    expected = theirs(x, **call_kwargs)
    ours(x, **call_kwargs)
    assert [tuple(w.shape) for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    assert_close(ours(x, **call_kwargs), expected)
    check_config(ours, theirs)


RNN_CASES = [
    ("SimpleRNN", {}),
    ("SimpleRNN", dict(return_sequences=True, activation="relu")),
    ("SimpleRNN", dict(return_state=True, go_backwards=True, use_bias=False)),
    ("SimpleRNN", dict(return_sequences=True, unroll=True)),
    ("LSTM", {}),
    ("LSTM", dict(return_sequences=True, return_state=True)),
    ("LSTM", dict(go_backwards=True, return_sequences=True)),
    ("LSTM", dict(unroll=True, return_state=True, unit_forget_bias=False)),
    ("LSTM", dict(use_bias=False, activation="relu", recurrent_activation="tanh")),
    ("LSTM", dict(recurrent_dropout=0.2, dropout=0.3)),  # implementation 1, inference mode
    ("GRU", {}),
    ("GRU", dict(reset_after=False)),
    ("GRU", dict(return_sequences=True, return_state=True, go_backwards=True)),
    ("GRU", dict(reset_after=False, return_state=True, unroll=True, use_bias=False)),
    ("GRU", dict(use_bias=False)),
]


@pytest.mark.parametrize("name, kwargs", RNN_CASES)
def test_rnn_layers_match_keras(name, kwargs):
    compare(getattr(L, name)(4, **kwargs), getattr(keras.layers, name)(4, **kwargs), data(2, 4, 3))


@pytest.mark.parametrize("name, kwargs", RNN_CASES[::3])
def test_symbolic_shapes_match_keras(name, kwargs):
    ours = getattr(L, name)(4, **kwargs)(L.Input((None, 3)))
    theirs = getattr(keras.layers, name)(4, **kwargs)(keras.Input((None, 3)))
    assert [t.shape for t in as_list(ours)] == [tuple(t.shape) for t in as_list(theirs)]


def test_weight_names_and_order_are_keras():
    lstm = L.LSTM(4, name="lstm")
    lstm(data(2, 4, 3))
    assert [w.name for w in lstm.weights] == ["kernel", "recurrent_kernel", "bias"]
    assert lstm.cell.name == "lstm_cell"
    assert [w.shape for w in lstm.weights] == [(3, 16), (4, 16), (16,)]
    assert set(lstm._own_tree(True)) == {"lstm_cell"}
    gru = L.GRU(4)
    gru(data(2, 4, 3))
    assert [w.shape for w in gru.weights] == [(3, 12), (4, 12), (2, 12)]
    gru = L.GRU(4, reset_after=False)
    gru(data(2, 4, 3))
    assert gru.weights[2].shape == (12,)
    assert lstm.count_params() == 3 * 16 + 4 * 16 + 16


def test_unit_forget_bias_and_distinct_inits():
    a, b = L.LSTM(4), L.LSTM(4)
    a(data(2, 4, 3))
    b(data(2, 4, 3))
    bias = a.get_weights()[2]
    np.testing.assert_array_equal(bias, np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    # Cells share the name `lstm_cell`; their initial weights must still differ per layer.
    assert not np.allclose(a.get_weights()[0], b.get_weights()[0])


@pytest.mark.parametrize("name", ["LSTM", "GRU", "SimpleRNN"])
def test_initial_state_at_call_time_matches_keras(name):
    x = data(2, 4, 3)
    n_states = 2 if name == "LSTM" else 1
    states = [data(2, 4) for _ in range(n_states)]
    ours, theirs = getattr(L, name)(4, return_state=True), getattr(keras.layers, name)(4, return_state=True)
    compare(ours, theirs, x, initial_state=states)
    # Symbolic initial states become inputs of the functional graph.
    x_in = L.Input((4, 3))
    s_in = [L.Input((4,)) for _ in range(n_states)]
    model = jkeras.Model([x_in] + s_in, ours(x_in, initial_state=s_in))
    expected = theirs(x, initial_state=states)
    assert_close(model.predict([x] + states, verbose=0), expected)
    # As in tf.keras, the states are inbound tensors of the node, so the config is Keras 2's.
    clone = jkeras.models.model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    assert_close(clone.predict([x] + states, verbose=0), expected)


def test_initial_state_errors():
    lstm = L.LSTM(4)
    with pytest.raises(ValueError, match="initial state"):
        lstm(data(2, 4, 3), initial_state=[data(2, 4)])
    with pytest.raises(ValueError, match="shape"):
        lstm(data(2, 4, 3), initial_state=[data(2, 3), data(2, 4)])
    with pytest.raises(ValueError, match="3D"):
        lstm(data(2, 3))


@pytest.mark.parametrize("name, kwargs", [
    ("LSTM", {}), ("LSTM", dict(return_sequences=True)), ("GRU", dict(go_backwards=True)),
    ("GRU", dict(return_sequences=True, reset_after=False, go_backwards=True)),
    ("SimpleRNN", dict(return_sequences=True, unroll=True)),
])
def test_masking_from_embedding_matches_keras(name, kwargs):
    ids = np.array([[3, 5, 2, 0, 0], [1, 0, 0, 0, 0], [4, 4, 1, 2, 6], [0, 0, 7, 8, 1]], "int32")

    def build(lib):
        inp = lib.layers.Input((5,), dtype="int32")
        h = lib.layers.Embedding(10, 3, mask_zero=True)(inp)
        return lib.Model(inp, getattr(lib.layers, name)(4, **kwargs)(h))

    ours, theirs = build(jkeras), build(keras)
    ours.set_weights(theirs.get_weights())
    assert_close(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0))


def test_masking_layer_matches_keras():
    x = data(2, 5, 3)
    x[0, 3:] = 0.0
    x[1, :2] = 0.0

    def build(lib):
        inp = lib.layers.Input((5, 3))
        h = lib.layers.Masking(0.0)(inp)
        return lib.Model(inp, lib.layers.LSTM(4, return_sequences=True, return_state=True)(h))

    ours, theirs = build(jkeras), build(keras)
    ours.set_weights(theirs.get_weights())
    assert_close(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))


def test_compute_output_shape():
    assert L.LSTM(4, return_state=True).compute_output_shape((None, 5, 3)) == [(None, 4)] * 3
    assert L.GRU(4, return_sequences=True).compute_output_shape((2, 5, 3)) == (2, 5, 4)
    assert L.Bidirectional(L.SimpleRNN(4)).compute_output_shape((None, 5, 3)) == (None, 8)


def test_mask_passed_to_apply_and_propagated():
    x = data(2, 5, 3)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    ours, theirs = L.LSTM(4, return_sequences=True), keras.layers.LSTM(4, return_sequences=True)
    compare(ours, theirs, x, mask=mask)
    assert_close(ours(x, mask=mask), theirs(x, mask=mask))
    # Masked steps leave the state alone: the last output equals the output at the last real step.
    y = np.asarray(ours(x, mask=mask))
    np.testing.assert_allclose(y[0, 3], y[0, 2])
    assert np.asarray(ours.compute_mask(x, mask)).tolist() == mask.tolist()
    assert L.LSTM(4).compute_mask(x, mask) is None
    # The symbolic mask flows on to the next layer.
    inp = L.Input((5,), dtype="int32")
    h = L.Embedding(10, 3, mask_zero=True)(inp)
    seq = L.LSTM(4, return_sequences=True)(h)
    assert seq._keras_mask is not None
    assert L.LSTM(4)(h)._keras_mask is None


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
def test_bidirectional_merge_modes_match_keras(merge_mode):
    ours = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=merge_mode, name="bidi")
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True),
                                        merge_mode=merge_mode, name="bidi")
    compare(ours, theirs, data(2, 4, 3))
    assert [w.name for w in ours.weights] == ["kernel", "recurrent_kernel", "bias"] * 2
    assert [layer.name for layer in ours._layers] == ["forward_lstm", "backward_lstm"]


@pytest.mark.parametrize("kwargs", [dict(return_state=True), dict(return_state=True, return_sequences=True)])
def test_bidirectional_states_and_initial_state_match_keras(kwargs):
    x = data(2, 4, 3)
    states = [data(2, 4) for _ in range(2)]
    ours = L.Bidirectional(L.GRU(4, **kwargs), merge_mode="sum")
    theirs = keras.layers.Bidirectional(keras.layers.GRU(4, **kwargs), merge_mode="sum")
    compare(ours, theirs, x)
    expected = theirs(x, initial_state=states)
    assert_close(ours(x, initial_state=states), expected)
    x_in, s_in = L.Input((4, 3)), [L.Input((4,)), L.Input((4,))]
    model = jkeras.Model([x_in] + s_in, ours(x_in, initial_state=s_in))
    assert_close(model.predict([x] + states, verbose=0), expected)
    ours = L.Bidirectional(L.LSTM(4, **kwargs), merge_mode=None)
    theirs = keras.layers.Bidirectional(keras.layers.LSTM(4, **kwargs), merge_mode=None)
    compare(ours, theirs, x)


def test_bidirectional_with_mask_and_symbolic_shape():
    ids = np.array([[3, 5, 2, 0], [1, 2, 0, 0]], "int32")

    def build(lib, merge_mode):
        inp = lib.layers.Input((4,), dtype="int32")
        h = lib.layers.Embedding(10, 3, mask_zero=True)(inp)
        h = lib.layers.Bidirectional(lib.layers.SimpleRNN(2, return_sequences=True),
                                     merge_mode=merge_mode)(h)
        return lib.Model(inp, h)

    for merge_mode in ("concat", None):
        ours, theirs = build(jkeras, merge_mode), build(keras, merge_mode)
        ours.set_weights(theirs.get_weights())
        assert_close(ours.predict(ids, verbose=0), theirs.predict(ids, verbose=0))
    y = L.Bidirectional(L.LSTM(3))(L.Input((7, 2)))
    assert y.shape == (None, 6)


def test_bidirectional_arguments():
    with pytest.raises(ValueError, match="merge mode"):
        L.Bidirectional(L.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="Layer"):
        L.Bidirectional("lstm")
    backward = L.GRU(3, go_backwards=True, name="back")
    bidi = L.Bidirectional(L.GRU(3), backward_layer=backward)
    bidi(data(2, 4, 3))
    assert bidi.backward_layer is backward and bidi.forward_layer.name == "forward_gru"
    assert L.Bidirectional.from_config(bidi.get_config()).get_config() == bidi.get_config()
    with pytest.raises(ValueError, match="go_backwards"):
        L.Bidirectional(L.GRU(3), backward_layer=L.GRU(3))
    weights = bidi.get_weights()
    again = L.Bidirectional(L.GRU(3), weights=weights)
    again(data(2, 4, 3))
    for a, b in zip(again.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_stacked_cells_match_keras():
    x = data(2, 4, 3)
    ours = L.RNN([L.LSTMCell(3), L.GRUCell(4, reset_after=False), L.SimpleRNNCell(2)],
                 return_sequences=True, return_state=True, name="rnn")
    theirs = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.GRUCell(4, reset_after=False),
                               keras.layers.SimpleRNNCell(2)],
                              return_sequences=True, return_state=True, name="rnn")
    expected = theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    got = ours(x)
    assert_close(jax.tree.leaves(got), jax.tree.leaves(list(expected)))
    assert isinstance(ours.cell, L.StackedRNNCells)
    assert list(ours._own_tree(True)["stacked_rnn_cells"]) == ["lstm_cell", "gru_cell", "simple_rnn_cell"]
    config = ours.get_config()
    assert config["cell"]["class_name"] == "StackedRNNCells"
    clone = L.RNN.from_config(config)
    clone(x)
    clone.set_weights(ours.get_weights())
    assert_close(jax.tree.leaves(clone(x)), jax.tree.leaves(got))
    # Masked steps with stacked cells, and a flat list of initial states (tf.keras style).
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    states = [data(2, 3), data(2, 3), data(2, 4), data(2, 2)]
    nested = [[states[0], states[1]], [states[2]], [states[3]]]
    assert_close(jax.tree.leaves(ours(x, mask=mask, initial_state=states)),
                 jax.tree.leaves(list(theirs(x, mask=mask, initial_state=nested))))


def test_rnn_of_cell_matches_layer_and_cells_step_like_keras():
    x = data(2, 4, 3)
    ours, theirs = L.RNN(L.LSTMCell(3), go_backwards=True), keras.layers.RNN(keras.layers.LSTMCell(3),
                                                                             go_backwards=True)
    compare(ours, theirs, x)
    lstm = L.LSTM(3, go_backwards=True)
    lstm(x)
    lstm.set_weights(ours.get_weights())
    assert_close(lstm(x), ours(x))
    for name in ("LSTMCell", "GRUCell", "SimpleRNNCell"):
        ours, theirs = getattr(L, name)(3), getattr(keras.layers, name)(3)
        n = 2 if name == "LSTMCell" else 1
        states = [data(2, 3) for _ in range(n)]
        expected = theirs(x[:, 0], states)
        ours(x[:, 0], states)
        ours.set_weights(theirs.get_weights())
        out, new_states = ours(x[:, 0], states)
        assert_close([out] + list(new_states), [expected[0]] + list(expected[1]))
        check_config(ours, theirs)


class MinimalRNNCell(L.Layer):
    """The Keras docs' custom cell, written against jkeras."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform",
                                      name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")

    def call(self, inputs, states):
        output = jnp.matmul(inputs, self.kernel) + jnp.matmul(states[0], self.recurrent_kernel)
        return output, [output]


def test_custom_keras_style_cell():
    x = data(2, 4, 3)
    layer = L.RNN(MinimalRNNCell(3), return_sequences=True)
    y = np.asarray(layer(x))
    k, rk = layer.get_weights()
    h, expected = np.zeros((2, 3), "float32"), []
    for t in range(4):
        h = x[:, t] @ k + h @ rk
        expected.append(h)
    np.testing.assert_allclose(y, np.stack(expected, 1), rtol=1e-5, atol=1e-6)
    stacked = L.RNN([MinimalRNNCell(3, name="a"), L.GRUCell(2)])
    assert stacked(x).shape == (2, 2)


def test_dropout_only_in_training_and_from_the_key():
    x = data(2, 4, 3)
    layer = L.LSTM(4, dropout=0.5, recurrent_dropout=0.3, return_sequences=True)
    inference = np.asarray(layer(x))
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), inference)
    params, state = layer._own_tree(True), layer._own_tree(False)
    apply = jax.jit(lambda p, s, x, k: layer.apply(p, s, x, training=True, key=k)[0])
    a = np.asarray(apply(params, state, x, jax.random.key(1)))
    b = np.asarray(apply(params, state, x, jax.random.key(1)))
    c = np.asarray(apply(params, state, x, jax.random.key(2)))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, inference) and not np.allclose(a, c)
    for name, kwargs in (("GRU", dict(reset_after=False)), ("GRU", {}), ("SimpleRNN", {})):
        layer = getattr(L, name)(4, dropout=0.4, recurrent_dropout=0.4, **kwargs)
        layer(x)
        y = layer.apply(layer._own_tree(True), {}, x, training=True, key=jax.random.key(0))[0]
        assert y.shape == (2, 4) and np.all(np.isfinite(np.asarray(y)))
    # Without dropout, training mode computes the same function.
    layer = L.GRU(4)
    np.testing.assert_allclose(np.asarray(layer(x, training=True)), np.asarray(layer(x)), atol=1e-6)


def test_apply_is_pure_and_jittable():
    layer = L.GRU(4, return_sequences=True)
    x = data(2, 4, 3)
    layer(x)
    fn = jax.jit(lambda p, x: layer.apply(p, {}, x)[0])
    np.testing.assert_allclose(np.asarray(fn(layer._own_tree(True), x)), np.asarray(layer(x)), atol=1e-6)
    grads = jax.grad(lambda p: jnp.sum(layer.apply(p, {}, x)[0] ** 2))(layer._own_tree(True))
    assert set(grads["gru_cell"]) == {"kernel", "recurrent_kernel", "bias"}


def loss_of(outputs):
    return sum(jnp.sum(jnp.sin(t)) for t in as_list(outputs))


def our_grads(layer, x, mask=None, training=False, key=None):
    """Gradients of `loss_of(layer(x))` for the params tree and the inputs."""
    def loss(params, x):
        return loss_of(layer.apply(params, {}, x, mask=mask, training=training, key=key)[0])
    return jax.jit(jax.grad(loss, argnums=(0, 1)))(layer._own_tree(True), x)


GRAD_CASES = [
    ("LSTM", {}),
    ("LSTM", dict(return_sequences=True, go_backwards=True, activation="relu")),
    ("GRU", dict(return_state=True)),
    ("GRU", dict(reset_after=False, return_sequences=True)),
    ("SimpleRNN", dict(return_sequences=True)),
]


@pytest.mark.parametrize("name, kwargs", GRAD_CASES)
@pytest.mark.parametrize("masked", [False, True])
def test_gradients_match_keras(name, kwargs, masked):
    x = data(3, 5, 2)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0]], bool) if masked else None
    theirs = getattr(keras.layers, name)(4, **kwargs)
    theirs.build(x.shape)
    ours = getattr(L, name)(4, **kwargs)
    ours(x)
    ours.set_weights(theirs.get_weights())
    frozen = [v.value for v in theirs.non_trainable_variables]

    def keras_loss(weights, x):
        return loss_of(theirs.stateless_call(weights, frozen, x, mask=mask)[0])
    weights, dx = jax.grad(keras_loss, argnums=(0, 1))([v.value for v in theirs.trainable_variables], x)
    params, our_dx = our_grads(ours, x, mask)
    cell = params[ours.cell.name]
    ours_in_order = [cell[n] for n in ("kernel", "recurrent_kernel", "bias") if n in cell]
    assert_close(ours_in_order + [our_dx], list(weights) + [dx], tol=2e-5)


@pytest.mark.parametrize("make", [
    *(lambda name=name, kwargs=kwargs: getattr(L, name)(4, **kwargs) for name, kwargs in GRAD_CASES[:4]),
    lambda: L.LSTM(4, dropout=0.3, recurrent_dropout=0.2, return_state=True),
    lambda: L.GRU(4, dropout=0.3, recurrent_dropout=0.2, reset_after=False),
    lambda: L.RNN([L.LSTMCell(4, dropout=0.3), L.GRUCell(3), L.SimpleRNNCell(2)])])
def test_saved_preactivations_give_plain_autodiff_gradients(make, monkeypatch):
    """The backward pass that recomputes the gate math from saved pre-activations agrees with
    plain autodiff (which stores every intermediate), masks and dropout included."""
    from jkeras.layers import recurrent
    x = data(3, 5, 2)
    mask = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [0, 1, 1, 1, 0]], bool)
    layer = make()
    layer(x)
    run = dict(mask=mask, training=True, key=jax.random.key(3))
    fast = jax.tree.leaves(our_grads(layer, x, **run))
    monkeypatch.setattr(recurrent, "_saving_preactivations", lambda step: step)
    assert_close(fast, jax.tree.leaves(our_grads(layer, x, **run)), tol=1e-6)


def test_training_regularizers_and_constraints():
    model = jkeras.Sequential([
        L.LSTM(4, input_shape=(4, 3), kernel_regularizer="l2", kernel_constraint="non_neg"),
        L.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)           # data of its own: the shared RNG depends on test order
    x, y = rng.normal(size=(8, 4, 3)).astype("float32"), rng.normal(size=(8, 1)).astype("float32")
    first = model.train_on_batch(x, y)
    for _ in range(20):
        last = model.train_on_batch(x, y)
    assert last < first
    assert np.all(model.layers[0].get_weights()[0] >= 0)
    assert model.layers[0].cell._regularizers


def test_keras2_arguments_and_tf_keras_configs():
    config = json.load(open(os.path.join(FIXTURE, "arch.json")))["config"]["layers"][2]["config"] \
        if os.path.exists(FIXTURE) else {"name": "lstm", "units": 16, "time_major": False,
                                         "implementation": 2}
    layer = L.LSTM.from_config(config)
    assert layer.units == 16 and layer.name == "lstm"
    layer = L.LSTM(3, input_dim=4, input_length=6)
    assert layer._batch_input_shape == (None, 6, 4)
    with pytest.raises(ValueError, match="units"):
        L.GRU(0)
    with pytest.raises(ValueError, match="time_major"):
        L.LSTM(3, time_major=True)


@pytest.mark.skipif(not os.path.exists(FIXTURE), reason="tf.keras fixtures not present")
def test_tf_keras_lstm_fixture_predictions():
    import h5py
    io = np.load(os.path.join(FIXTURE, "io.npz"))
    model = jkeras.Sequential([L.Input((12,), dtype="int32"), L.Embedding(50, 8, name="emb"),
                               L.LSTM(16, name="lstm"), L.Dense(3, activation="softmax", name="cls")])
    with h5py.File(os.path.join(FIXTURE, "model.h5"), "r") as f:
        group = f["model_weights"]
        weights = []
        for layer in model.layers:
            names = [n.decode() if isinstance(n, bytes) else n
                     for n in group[layer.name].attrs["weight_names"]]
            weights += [np.asarray(group[layer.name][n]) for n in names]
    model.set_weights(weights)
    np.testing.assert_allclose(model.predict(io["x"], verbose=0), io["y"], rtol=1e-5, atol=1e-6)

"""ConvLSTM1D/2D/3D against Keras 3 (JAX backend): the layer harness (forward, one SGD step,
config, `.h5`, masks, policies), initial states, weight names in `.h5`, errors, and a short fit."""
import os

import h5py
import numpy as np
import pytest

import jkeras
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("cheap_keras_init")

RNG = np.random.default_rng(5)
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_layers")
NO_POLICIES = dict(policies=())  # the float16/bfloat16 policies run in the first case

CASES = [
    ("ConvLSTM2D", dict(filters=2, kernel_size=2), (2, 3, 4, 4, 2), {}),
    ("ConvLSTM2D", dict(filters=2, kernel_size=3, padding="same", strides=2, return_sequences=True,
                        return_state=True), (2, 3, 5, 5, 2), NO_POLICIES),
    ("ConvLSTM2D", dict(filters=2, kernel_size=2, data_format="channels_first", go_backwards=True,
                        dilation_rate=2, activation="relu"), (2, 3, 2, 5, 5), NO_POLICIES),
    ("ConvLSTM1D", dict(filters=3, kernel_size=2, return_sequences=True, unit_forget_bias=False,
                        stateful=True, recurrent_activation="tanh"), (2, 3, 5, 2),
     dict(check_h5=False, **NO_POLICIES)),  # a reloaded model starts from zero states
    pytest.param("ConvLSTM3D", dict(filters=2, kernel_size=2, use_bias=False), (2, 2, 3, 3, 3, 1),
                 NO_POLICIES, marks=pytest.mark.slow),
]


@pytest.mark.parametrize("layer, kwargs, shape, options", CASES)
def test_matches_keras(layer, kwargs, shape, options):
    run_layer_test(layer, kwargs, shape, **options)


@pytest.mark.slow
def test_dropout_is_stochastic_in_training_only():
    run_layer_test("ConvLSTM1D", dict(filters=2, kernel_size=2, dropout=0.3, recurrent_dropout=0.3),
                   (2, 3, 4, 2), stochastic=True, policies=())


@pytest.mark.parametrize("return_sequences", [False, True])
def test_masked_steps_match_keras_on_the_kept_steps(return_sequences):
    """Trailing masked steps: each sample's output is Keras's on its unmasked prefix (Keras 3's
    own ConvLSTM cannot take a mask: it broadcasts a `(batch, 1)` step mask against the state)."""
    x = RNG.normal(size=(2, 4, 5, 2)).astype("float32")
    lengths = [2, 3]
    mask = np.arange(4)[None, :] < np.asarray(lengths)[:, None]
    kwargs = dict(filters=2, kernel_size=2, return_sequences=return_sequences)
    theirs, ours = keras.layers.ConvLSTM1D(**kwargs), jkeras.layers.ConvLSTM1D(**kwargs)
    theirs(x)
    ours(x)
    ours.set_weights([0.5 * RNG.normal(size=w.shape) for w in theirs.weights])
    theirs.set_weights(ours.get_weights())
    got = np.asarray(ours(x, mask=mask))
    for i, n in enumerate(lengths):
        expected = np.asarray(theirs(x[i:i + 1, :n]))[0]
        if return_sequences:  # masked steps repeat the last kept output, as an LSTM's do
            expected = np.concatenate([expected, np.repeat(expected[-1:], 4 - n, axis=0)])
        np.testing.assert_allclose(got[i], expected, rtol=1e-5, atol=1e-5)


def test_initial_state_matches_keras():
    x = RNG.normal(size=(2, 3, 5, 2)).astype("float32")
    h, c = (RNG.normal(size=(2, 4, 3)).astype("float32") for _ in range(2))
    theirs = keras.layers.ConvLSTM1D(3, 2, return_state=True)
    ours = jkeras.layers.ConvLSTM1D(3, 2, return_state=True)
    theirs(x)
    ours(x)
    ours.set_weights([0.5 * RNG.normal(size=w.shape) for w in theirs.weights])
    theirs.set_weights(ours.get_weights())
    for a, b in zip(ours(x, initial_state=[h, c]), theirs(x, initial_state=[h, c])):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda lib: lib.layers.Bidirectional(lib.layers.ConvLSTM2D(2, 2, return_sequences=True)),
    lambda lib: lib.layers.ConvLSTM2D(2, 2, unroll=True),
], ids=["Bidirectional", "unroll"])
def test_wrapped_and_unrolled_match_keras(make):
    x = RNG.normal(size=(2, 3, 4, 4, 2)).astype("float32")
    theirs, ours = make(keras), make(jkeras)
    theirs(x)
    ours(x)
    ours.set_weights([0.5 * RNG.normal(size=w.shape) for w in theirs.weights])
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(np.asarray(ours(x)), np.asarray(theirs(x)), rtol=1e-5, atol=1e-5)


def test_h5_weight_names_and_stateful_reset(tmp_path):
    model = jkeras.Sequential([jkeras.Input(batch_shape=(2, 3, 4, 4, 1)),
                               jkeras.layers.ConvLSTM2D(2, 2, stateful=True, name="clstm")])
    x = RNG.normal(size=(2, 3, 4, 4, 1)).astype("float32")
    first = model.predict(x, verbose=0)
    assert not np.allclose(model.predict(x, verbose=0), first)  # the carried state moved on
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, verbose=0), first, rtol=1e-6)
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["model_weights/clstm"].attrs["weight_names"]]
    assert names == [f"clstm/conv_lstm_cell/{w}:0" for w in ("kernel", "recurrent_kernel", "bias")]


def test_loads_tf_keras2_h5_weights_and_config():
    """tf.keras 2 names the weights `clstm/kernel:0` (no cell scope); they load by position."""
    path = os.path.join(FIXTURES, "tf_conv_lstm2d.h5")
    layer = jkeras.models.load_model(path).layers[-1]
    with h5py.File(path) as f:
        group = f["model_weights/clstm"]
        expected = [group[n.decode() if isinstance(n, bytes) else n][()]
                    for n in group.attrs["weight_names"]]
    for ours, theirs in zip(layer.get_weights(), expected):
        np.testing.assert_array_equal(ours, theirs)
    assert layer.return_sequences and layer.get_config()["recurrent_activation"] == "hard_sigmoid"


def test_tf_keras2_h5_predicts_tf_keras_numbers():
    """tf.keras 2's ConvLSTM2D defaults to `recurrent_activation="hard_sigmoid"`, Keras 2's
    `clip(0.2 * x + 0.5, 0, 1)` (not Keras 3's `relu6(x + 3) / 6`)."""
    arrays = np.load(os.path.join(FIXTURES, "tf_conv_lstm2d.npz"))
    model = jkeras.models.load_model(os.path.join(FIXTURES, "tf_conv_lstm2d.h5"))
    np.testing.assert_allclose(model.predict(arrays["x0"], verbose=0), arrays["out"], rtol=1e-5, atol=1e-5)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="expects a 5D input"):
        jkeras.layers.ConvLSTM2D(2, 2)(np.zeros((2, 3, 4, 2), "float32"))
    with pytest.raises(ValueError, match="static input shapes"):
        jkeras.layers.ConvLSTM2D(2, 2)(jkeras.Input((3, None, 4, 2)))
    with pytest.raises(ValueError, match="would be empty"):
        jkeras.layers.ConvLSTM1D(2, 5)(np.zeros((1, 2, 3, 1), "float32"))
    with pytest.raises(ValueError, match="dilation_rate"):
        jkeras.layers.ConvLSTM2D(2, 2, strides=2, dilation_rate=2)
    with pytest.raises(ValueError, match="filters"):
        jkeras.layers.ConvLSTM1D(0, 2)


def test_fit_decreases_loss():
    x = RNG.normal(size=(8, 3, 6, 2)).astype("float32")
    y = x.mean(axis=(1, 3))
    model = jkeras.Sequential([jkeras.Input((3, 6, 2)),
                               jkeras.layers.ConvLSTM1D(2, 3, padding="same"),
                               jkeras.layers.Flatten(), jkeras.layers.Dense(6)])
    model.compile(jkeras.optimizers.Adam(0.05), "mse")
    losses = model.fit(x, y, epochs=3, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]

"""Files from Keras 2.0-2.3, tf.keras 2 and Keras 1, built here with h5py from their documented
layouts (the optimizer `weights` lists of each Keras version, cuDNN's weight layout, 2.0-era
configs), and what jkeras writes for every optimizer, read back by Keras 3."""
import json
import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import h5py
import numpy as np
import pytest

import jkeras
from jkeras import optimizers
from jkeras.layers.cudnn_recurrent import CuDNNGRU, CuDNNLSTM

keras = pytest.importorskip("keras")
RNG = np.random.default_rng(7)
L = jkeras.layers


def _names(names):
    return np.asarray([n.encode() for n in names]) if names else np.asarray([], "S1")


def _weights_group(group, layers, version="2.3.1", backend="tensorflow"):
    """Keras 2's `model_weights` layout: `layer_names`, per layer `weight_names` and datasets."""
    group.attrs["layer_names"] = _names([name for name, _ in layers])
    if version is not None:
        group.attrs["keras_version"] = version.encode()
    if backend is not None:
        group.attrs["backend"] = backend.encode()
    for name, weights in layers:
        g = group.create_group(name)
        g.attrs["weight_names"] = _names([w for w, _ in weights])
        for wname, value in weights:
            g.create_dataset(wname, data=np.asarray(value, "float32"))


def _model_file(path, config, layers, version, training=None, optimizer=None):
    """A whole-model file; `optimizer` is `[(name, array)]` for `optimizer_weights`."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = version.encode()
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        if training is not None:
            f.attrs["training_config"] = json.dumps(training).encode()
        _weights_group(f.create_group("model_weights"), layers, version)
        if optimizer is not None:
            g = f.create_group("optimizer_weights")
            g.attrs["weight_names"] = _names([n for n, _ in optimizer])
            for name, value in optimizer:
                g.create_dataset(name, data=value)


def _init(class_name, **config):
    return {"class_name": class_name, "config": config}


GLOROT = _init("VarianceScaling", scale=1.0, mode="fan_avg", distribution="uniform", seed=None)


def _dense(name, units, activation="linear", **extra):
    return _init("Dense", name=name, trainable=True, units=units, activation=activation, use_bias=True,
                 kernel_initializer=GLOROT, bias_initializer=_init("Zeros"), kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, **extra)


# Keras 2.0.5's Sequential config is a bare list; its Conv2D config as 2.0.5 wrote it.
CONV_205 = [
    _init("Conv2D", name="conv2d_1", trainable=True, batch_input_shape=[None, 5, 5, 1], dtype="float32",
          filters=2, kernel_size=[3, 3], strides=[1, 1], padding="valid", data_format="channels_last",
          dilation_rate=[1, 1], activation="relu", use_bias=True, kernel_initializer=GLOROT,
          bias_initializer=_init("Zeros"), kernel_regularizer=_init("L1L2", l1=0.0, l2=0.01),
          bias_regularizer=None, activity_regularizer=None,
          kernel_constraint=_init("MaxNorm", max_value=2, axis=0), bias_constraint=None),
    _init("Flatten", name="flatten_1", trainable=True),
    _init("Dropout", name="dropout_1", trainable=True, rate=0.25),
    _dense("dense_1", 3, "softmax"),
]
SHAPES_205 = {"conv2d_1/kernel:0": (3, 3, 1, 2), "conv2d_1/bias:0": (2,),
              "dense_1/kernel:0": (18, 3), "dense_1/bias:0": (3,)}


def _conv_file(path, version, opt_config, slots_of):
    """The conv model's file; `slots_of(sorted_or_layer_names) -> [(name, array)]`."""
    values = {n: RNG.normal(size=s).astype("float32") for n, s in SHAPES_205.items()}
    layers = [("conv2d_1", [(n, values[n]) for n in ("conv2d_1/kernel:0", "conv2d_1/bias:0")]),
              ("flatten_1", []), ("dropout_1", []),
              ("dense_1", [(n, values[n]) for n in ("dense_1/kernel:0", "dense_1/bias:0")])]
    training = {"optimizer_config": opt_config, "loss": "categorical_crossentropy",
                "metrics": ["accuracy"], "sample_weight_mode": None, "loss_weights": None}
    opt = slots_of(list(SHAPES_205))
    _model_file(path, {"class_name": "Sequential", "config": CONV_205}, layers, version, training, opt)
    return values, opt


def _keras3_conv(values):
    model = keras.Sequential([keras.Input((5, 5, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                              keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")])
    model.set_weights([values[n] for n in ("conv2d_1/kernel:0", "conv2d_1/bias:0", "dense_1/kernel:0",
                                           "dense_1/bias:0")])
    return model


def _slot(model, slot, name):
    layer, weight = name.split(":")[0].split("/")
    return np.asarray(optimizers.slots(model._opt_state)[slot][layer][weight])


def test_keras_2_0_5_model_restores_its_name_sorted_adam_state(tmp_path, cheap_keras_init):
    """Keras 2.0.0-2.0.5 sorted the trainable weights by variable name for the optimizer and
    saved `[iterations] + ms + vs` under anonymous names (`Variable_12:0`)."""
    made = {}

    def adam_slots(names):
        order = sorted(names)  # conv2d_1/bias, conv2d_1/kernel, dense_1/bias, dense_1/kernel
        made["m"] = {n: RNG.normal(size=SHAPES_205[n]).astype("float32") for n in order}
        made["v"] = {n: RNG.uniform(size=SHAPES_205[n]).astype("float32") for n in order}
        arrays = [made["m"][n] for n in order] + [made["v"][n] for n in order]
        return [("iterations:0", np.float32(7))] + [(f"Variable_{i + 100}:0", a) for i, a in enumerate(arrays)]

    adam = _init("Adam", lr=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-08, decay=0.01)
    values, _ = _conv_file(tmp_path / "k205.h5", "2.0.5", adam, adam_slots)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the state maps: no "starts fresh"
        model = jkeras.models.load_model(tmp_path / "k205.h5")
    opt = model.optimizer
    assert type(opt) is optimizers.legacy.Adam  # Keras 2's config: built as tf.keras builds it
    assert float(opt.lr) == pytest.approx(0.002) and opt.decay == 0.01 and opt.epsilon == 1e-8
    assert opt.iterations == 7
    for name in SHAPES_205:
        np.testing.assert_array_equal(_slot(model, "momentum", name), made["m"][name])
        np.testing.assert_array_equal(_slot(model, "velocity", name), made["v"][name])
    conv = model.get_layer("conv2d_1")
    assert conv.kernel_regularizer.l2 == pytest.approx(0.01) and conv.kernel_constraint.max_value == 2
    x = RNG.normal(size=(4, 5, 5, 1)).astype("float32")
    expected = np.asarray(_keras3_conv(values).predict(x, verbose=0))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    again = jkeras.models.load_model(tmp_path / "k205.h5", compile=False)
    np.testing.assert_allclose(again.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_keras_2_0_8_rmsprop_state_is_in_layer_order_without_iterations(tmp_path):
    """From 2.0.6 the weights are in layer order; RMSprop saved only its accumulators."""
    made = {}

    def rmsprop_slots(names):
        made.update({n: RNG.uniform(size=SHAPES_205[n]).astype("float32") for n in names})
        return [(f"Variable_{i}:0", made[n]) for i, n in enumerate(names)]

    rms = _init("RMSprop", lr=0.001, rho=0.9, epsilon=1e-08, decay=0.0)
    _conv_file(tmp_path / "k208.h5", "2.0.8", rms, rmsprop_slots)
    model = jkeras.models.load_model(tmp_path / "k208.h5")
    assert type(model.optimizer) is optimizers.legacy.RMSprop and model.optimizer.iterations == 0
    for name in SHAPES_205:
        np.testing.assert_array_equal(_slot(model, "velocity", name), made[name])


def test_keras_2_3_adam_vhats_and_nadam_m_schedule(tmp_path):
    """Keras 2.1.3+ Adam also saves one-element `vhats` without amsgrad; 2.3's Nadam saves
    `m_schedule` after `iterations` (jkeras's `u_product`)."""
    made = {}

    def adam_slots(names):
        made["m"] = [RNG.normal(size=SHAPES_205[n]).astype("float32") for n in names]
        made["v"] = [RNG.uniform(size=SHAPES_205[n]).astype("float32") for n in names]
        dummies = [np.zeros(1, "float32") for _ in names]
        arrays = made["m"] + made["v"] + dummies
        return [("Adam/iterations:0", np.int64(3))] + [(f"training/Adam/Variable_{i}:0", a)
                                                       for i, a in enumerate(arrays)]

    adam = _init("Adam", learning_rate=0.001, beta_1=0.9, beta_2=0.999, amsgrad=False, decay=0.0)
    _conv_file(tmp_path / "adam.h5", "2.3.1", adam, adam_slots)
    model = jkeras.models.load_model(tmp_path / "adam.h5")
    assert model.optimizer.iterations == 3
    for name, m, v in zip(SHAPES_205, made["m"], made["v"]):
        np.testing.assert_array_equal(_slot(model, "momentum", name), m)
        np.testing.assert_array_equal(_slot(model, "velocity", name), v)

    def nadam_slots(names):
        made["m"] = [RNG.normal(size=SHAPES_205[n]).astype("float32") for n in names]
        made["v"] = [RNG.uniform(size=SHAPES_205[n]).astype("float32") for n in names]
        return ([("Nadam/iterations:0", np.int64(5)), ("Nadam/m_schedule:0", np.float32(0.3125))]
                + [(f"training/Nadam/Variable_{i}:0", a) for i, a in enumerate(made["m"] + made["v"])])

    nadam = _init("Nadam", learning_rate=0.002, beta_1=0.9, beta_2=0.999, schedule_decay=0.004)
    _conv_file(tmp_path / "nadam.h5", "2.3.1", nadam, nadam_slots)
    model = jkeras.models.load_model(tmp_path / "nadam.h5")
    state = optimizers.slots(model._opt_state)
    assert model.optimizer.iterations == 5 and float(state["u_product"]) == 0.3125
    np.testing.assert_array_equal(_slot(model, "velocity", "dense_1/kernel:0"), made["v"][2])


def test_tf_keras_optimizer_v2_state_maps_by_name(tmp_path):
    """tf.keras 2.0-2.10 (`OptimizerV2`): `Adam/iter:0`, then every weight's `m`, then `v`."""
    made = {}

    def v2_slots(names):
        made.update({(n, s): RNG.normal(size=SHAPES_205[n]).astype("float32") for n in names for s in "mv"})
        return [("Adam/iter:0", np.int64(9))] + [(f"Adam/{n[:-2]}/{s}:0", made[(n, s)])
                                                 for s in "mv" for n in names]

    adam = _init("Adam", name="Adam", learning_rate=0.001, decay=0.0, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-07, amsgrad=False)
    _conv_file(tmp_path / "tf24.h5", "2.4.0", adam, v2_slots)
    model = jkeras.models.load_model(tmp_path / "tf24.h5")
    assert model.optimizer.iterations == 9
    for name in SHAPES_205:
        np.testing.assert_array_equal(_slot(model, "momentum", name), made[(name, "m")])
        np.testing.assert_array_equal(_slot(model, "velocity", name), made[(name, "v")])


def test_state_that_does_not_map_warns_and_starts_fresh(tmp_path):
    """As Keras: the model loads compiled, the optimizer starts fresh, with a warning."""
    def wrong(names):  # an SGD with momentum's state in a file whose config says Adam
        return [("SGD/iter:0", np.int64(4))] + [(f"SGD/{n[:-2]}/momentum:0", np.zeros(SHAPES_205[n], "float32"))
                                                for n in names[:2]] + [("SGD/x/momentum:0", np.zeros(3))]

    adam = _init("Adam", learning_rate=0.001, decay=0.0)
    _conv_file(tmp_path / "bad.h5", "2.4.0", adam, wrong)
    with pytest.warns(UserWarning, match=r"bad.h5: the optimizer state in '/optimizer_weights' is not "
                                         r"restored \(.*names a weight the model lacks\).* starts freshly"):
        model = jkeras.models.load_model(tmp_path / "bad.h5")
    assert model.compiled and model.optimizer.iterations == 0
    x, y = RNG.normal(size=(4, 5, 5, 1)).astype("float32"), np.eye(3, dtype="float32")[[0, 1, 2, 0]]
    assert np.isfinite(model.fit(x, y, verbose=0).history["loss"][0])


# ---- cuDNN's layout ----
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _cudnn_matrices(kernel, gates, units):
    """cuDNN reads each gate's slice of the Keras 2 array, flattened, as a row-major
    `(units, inputs)` matrix (Keras 2's `_canonical_to_params`)."""
    rows = kernel.shape[0]
    return [kernel[:, g * units:(g + 1) * units].reshape(-1).reshape(units, rows) for g in range(gates)]


def _cudnn_lstm(x, kernel, recurrent, bias, units, backwards=False):
    """cuDNN's LSTM (gates i, f, c, o; input and recurrent biases added), as a numpy loop."""
    w, r = _cudnn_matrices(kernel, 4, units), _cudnn_matrices(recurrent, 4, units)
    b = [bias[g * units:(g + 1) * units] + bias[(4 + g) * units:(5 + g) * units] for g in range(4)]
    h = c = np.zeros((x.shape[0], units))
    steps = range(x.shape[1])[::-1] if backwards else range(x.shape[1])
    for t in steps:
        z = [x[:, t] @ w[g].T + h @ r[g].T + b[g] for g in range(4)]
        c = _sigmoid(z[1]) * c + _sigmoid(z[0]) * np.tanh(z[2])
        h = _sigmoid(z[3]) * np.tanh(c)
    return h


def _cudnn_gru(x, kernel, recurrent, bias, units):
    """cuDNN's GRU (Keras 2 stores gates z, r, h; the reset gate applies after the recurrent
    matmul), as a numpy loop."""
    w, r = _cudnn_matrices(kernel, 3, units), _cudnn_matrices(recurrent, 3, units)
    bw = [bias[g * units:(g + 1) * units] for g in range(3)]
    br = [bias[(3 + g) * units:(4 + g) * units] for g in range(3)]
    h = np.zeros((x.shape[0], units))
    for t in range(x.shape[1]):
        z = _sigmoid(x[:, t] @ w[0].T + bw[0] + h @ r[0].T + br[0])
        reset = _sigmoid(x[:, t] @ w[1].T + bw[1] + h @ r[1].T + br[1])
        hh = np.tanh(x[:, t] @ w[2].T + bw[2] + reset * (h @ r[2].T + br[2]))
        h = z * h + (1 - z) * hh
    return h


UNITS, FEATURES, STEPS = 3, 2, 4
X_SEQ = RNG.normal(size=(2, STEPS, FEATURES)).astype("float32")


def _cudnn_weights(gates, bias_width):
    return [RNG.normal(0, 0.5, (FEATURES, gates * UNITS)).astype("float32"),
            RNG.normal(0, 0.5, (UNITS, gates * UNITS)).astype("float32"),
            RNG.normal(0, 0.5, (bias_width * UNITS,)).astype("float32")]


def _rnn_weights_file(path, name, weights, prefix="cu_dnnlstm_1"):
    with h5py.File(path, "w") as f:
        _weights_group(f, [(name, [(f"{prefix}/{w}:0", v) for w, v in
                                   zip(("kernel", "recurrent_kernel", "bias"), weights)])])


def test_cudnn_layers_compute_cudnns_function_and_round_trip(tmp_path):
    lstm_w, gru_w = _cudnn_weights(4, 8), _cudnn_weights(3, 6)
    for cls, weights, reference in ((CuDNNLSTM, lstm_w, _cudnn_lstm), (CuDNNGRU, gru_w, _cudnn_gru)):
        model = jkeras.Sequential([cls(UNITS, input_shape=(STEPS, FEATURES))])
        assert [w.shape for w in model.weights] == [w.shape for w in weights]
        model.set_weights(weights)
        expected = reference(X_SEQ.astype("float64"), *[w.astype("float64") for w in weights], UNITS)
        np.testing.assert_allclose(model.predict(X_SEQ, verbose=0), expected, rtol=1e-5, atol=1e-6)
        model.save(tmp_path / "m.h5")
        back = jkeras.models.load_model(tmp_path / "m.h5")
        assert type(back.layers[0]) is cls
        for a, b in zip(back.get_weights(), weights):
            np.testing.assert_array_equal(a, b)
    config = CuDNNLSTM(4, return_sequences=True).get_config()
    assert "activation" not in config and config["unit_forget_bias"] is True
    assert config["return_sequences"] is True
    with pytest.raises(ValueError, match=r"CuDNNLSTM runs cuDNN's fixed computation.*\['activation'\]"):
        CuDNNLSTM(4, activation="relu")


def test_cudnn_weights_load_into_lstm_and_gru_by_name_and_order(tmp_path):
    """Keras 2 converts cuDNN weights on load; the result computes cuDNN's function."""
    lstm_w = _cudnn_weights(4, 8)
    _rnn_weights_file(tmp_path / "lstm.h5", "rnn_1", lstm_w)
    expected = _cudnn_lstm(X_SEQ.astype("float64"), *lstm_w, UNITS)
    for by_name in (True, False):
        model = jkeras.Sequential([L.LSTM(UNITS, name="rnn_1", input_shape=(STEPS, FEATURES))])
        model.load_weights(tmp_path / "lstm.h5", by_name=by_name)
        np.testing.assert_allclose(model.predict(X_SEQ, verbose=0), expected, rtol=1e-5, atol=1e-6)
    gru_w = _cudnn_weights(3, 6)
    _rnn_weights_file(tmp_path / "gru.h5", "rnn_1", gru_w, "cu_dnngru_1")
    model = jkeras.Sequential([L.GRU(UNITS, name="rnn_1", input_shape=(STEPS, FEATURES))])
    model.load_weights(tmp_path / "gru.h5", by_name=True)
    np.testing.assert_allclose(model.predict(X_SEQ, verbose=0),
                               _cudnn_gru(X_SEQ.astype("float64"), *gru_w, UNITS), rtol=1e-5, atol=1e-6)
    model.save_weights(tmp_path / "gru_back.h5")  # and GRU(reset_after=True) into CuDNNGRU
    cudnn = jkeras.Sequential([CuDNNGRU(UNITS, name="rnn_1", input_shape=(STEPS, FEATURES))])
    cudnn.load_weights(tmp_path / "gru_back.h5")
    for a, b in zip(cudnn.get_weights(), gru_w):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_lstm_weights_load_into_cudnn_lstm(tmp_path, cheap_keras_init):
    theirs = keras.Sequential([keras.Input((STEPS, FEATURES)), keras.layers.LSTM(UNITS)])
    weights = [RNG.normal(0, 0.5, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    _rnn_weights_file(tmp_path / "lstm.h5", "lstm", weights, "lstm/lstm_cell")
    ours = jkeras.Sequential([CuDNNLSTM(UNITS, name="lstm", input_shape=(STEPS, FEATURES))])
    ours.load_weights(tmp_path / "lstm.h5", by_name=True)
    assert ours.get_weights()[2].shape == (8 * UNITS,)
    np.testing.assert_allclose(ours.predict(X_SEQ, verbose=0), theirs.predict(X_SEQ, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_cudnn_gru_does_not_load_into_gru_reset_before(tmp_path):
    _rnn_weights_file(tmp_path / "gru.h5", "rnn_1", _cudnn_weights(3, 6), "cu_dnngru_1")
    model = jkeras.Sequential([L.GRU(UNITS, reset_after=False, name="rnn_1", input_shape=(STEPS, FEATURES))])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"weights of a CuDNNGRU do not load into a "
                                         r"GRU\(reset_after=False\)"):
        model.load_weights(tmp_path / "gru.h5", by_name=True)
    with pytest.warns(UserWarning, match="Skipping loading weights for layer 'rnn_1'"):
        model.load_weights(tmp_path / "gru.h5", by_name=True, skip_mismatch=True)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_bidirectional_cudnn_lstm_weights_load_into_bidirectional_lstm(tmp_path):
    forward, backward = _cudnn_weights(4, 8), _cudnn_weights(4, 8)
    names = [f"bidirectional_1/{d}_cu_dnnlstm_1/{w}:0" for d in ("forward", "backward")
             for w in ("kernel", "recurrent_kernel", "bias")]
    with h5py.File(tmp_path / "bi.h5", "w") as f:
        _weights_group(f, [("bidirectional_1", list(zip(names, forward + backward)))])
    model = jkeras.Sequential([L.Bidirectional(L.LSTM(UNITS), input_shape=(STEPS, FEATURES),
                                               name="bidirectional_1")])
    model.load_weights(tmp_path / "bi.h5")
    x = X_SEQ.astype("float64")
    expected = np.concatenate([_cudnn_lstm(x, *forward, UNITS), _cudnn_lstm(x, *backward, UNITS, True)], -1)
    np.testing.assert_allclose(model.predict(X_SEQ, verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_time_distributed_cudnn_gru_weights_load_into_time_distributed_gru(tmp_path):
    weights = _cudnn_weights(3, 6)
    _rnn_weights_file(tmp_path / "td.h5", "td", weights, "td/cu_dnngru_1")
    model = jkeras.Sequential([L.TimeDistributed(L.GRU(UNITS), name="td", input_shape=(2, STEPS, FEATURES))])
    model.load_weights(tmp_path / "td.h5")
    x = RNG.normal(size=(2, 2, STEPS, FEATURES)).astype("float32")
    expected = np.stack([_cudnn_gru(x[:, j].astype("float64"), *weights, UNITS) for j in range(2)], 1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


# ---- Keras 1 and Theano files ----
def test_keras1_channels_first_conv_and_per_gate_lstm_weights(tmp_path):
    """Keras 1 (no `keras_version`): Conv2D channels_first kernels were (filters, in, rows,
    cols); LSTM kept 12 arrays in the gate order i, c, f, o; GRU 9 arrays z, r, h."""
    old_kernel = RNG.normal(size=(2, 3, 3, 3)).astype("float32")  # (filters, in, rows, cols)
    lstm = [RNG.normal(size=s).astype("float32") for _ in range(4)
            for s in ((FEATURES, UNITS), (UNITS, UNITS), (UNITS,))]  # W, U, b for i, c, f, o
    gru = [RNG.normal(size=s).astype("float32") for _ in range(3)
           for s in ((UNITS, UNITS), (UNITS, UNITS), (UNITS,))]  # W, U, b for z, r, h
    with h5py.File(tmp_path / "k1.h5", "w") as f:
        _weights_group(f, [("convolution2d_1", [("convolution2d_1_W", old_kernel),
                                                ("convolution2d_1_b", np.zeros(2))]),
                           ("lstm_1", [(f"lstm_1_{k}", v) for k, v in zip(range(12), lstm)]),
                           ("gru_1", [(f"gru_1_{k}", v) for k, v in zip(range(9), gru)])],
                       version=None, backend=None)
    conv = jkeras.Sequential([L.Conv2D(2, 3, data_format="channels_first", name="convolution2d_1",
                                       input_shape=(3, 5, 5))])
    conv.load_weights(tmp_path / "k1.h5", by_name=True)
    np.testing.assert_array_equal(conv.get_weights()[0], np.transpose(old_kernel, (2, 3, 1, 0)))
    inputs = jkeras.Input((STEPS, FEATURES))
    lstm_layer = L.LSTM(UNITS, name="lstm_1", return_sequences=True)
    gru_layer = L.GRU(UNITS, reset_after=False, name="gru_1")
    model = jkeras.Model(inputs, gru_layer(lstm_layer(inputs)))
    model.load_weights(tmp_path / "k1.h5", by_name=True)
    k, _, b = lstm_layer.get_weights()
    np.testing.assert_array_equal(k, np.concatenate([lstm[0], lstm[6], lstm[3], lstm[9]], -1))
    np.testing.assert_array_equal(b, np.concatenate([lstm[2], lstm[8], lstm[5], lstm[11]], -1))
    np.testing.assert_array_equal(gru_layer.get_weights()[1], np.concatenate([gru[1], gru[4], gru[7]], -1))


def test_theano_kernels_are_flipped(tmp_path):
    kernel = RNG.normal(size=(3, 3, 1, 2)).astype("float32")
    with h5py.File(tmp_path / "th.h5", "w") as f:
        _weights_group(f, [("conv", [("conv/kernel:0", kernel), ("conv/bias:0", np.zeros(2))])],
                       version="2.0.5", backend="theano")
    model = jkeras.Sequential([L.Conv2D(2, 3, name="conv", input_shape=(5, 5, 1))])
    model.load_weights(tmp_path / "th.h5")
    np.testing.assert_array_equal(model.get_weights()[0], kernel[::-1, ::-1])


# ---- 2.0-era configs ----
def test_keras_2_0_lstm_config_with_old_values_loads(tmp_path, cheap_keras_init):
    """`implementation: 0`, `hard_sigmoid`, `time_major`, `batch_input_shape`, Orthogonal's
    `gain`, an `lr`/`decay` optimizer: as Keras 2 wrote them."""
    lstm = _init("LSTM", name="lstm_1", trainable=True, batch_input_shape=[None, STEPS, FEATURES],
                 dtype="float32", return_sequences=False, go_backwards=False, stateful=False, unroll=False,
                 implementation=0, time_major=False, units=UNITS, activation="tanh",
                 recurrent_activation="hard_sigmoid", use_bias=True, kernel_initializer=GLOROT,
                 recurrent_initializer=_init("Orthogonal", gain=1.0, seed=None),
                 bias_initializer=_init("Zeros"), unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0)
    config = {"class_name": "Sequential", "config": [lstm, _dense("dense_1", 1)]}
    weights = [RNG.normal(0, 0.5, s).astype("float32") for s in
               ((FEATURES, 4 * UNITS), (UNITS, 4 * UNITS), (4 * UNITS,), (UNITS, 1), (1,))]
    layers = [("lstm_1", [(f"lstm_1/{n}:0", w) for n, w in zip(("kernel", "recurrent_kernel", "bias"),
                                                                weights)]),
              ("dense_1", [("dense_1/kernel:0", weights[3]), ("dense_1/bias:0", weights[4])])]
    training = {"optimizer_config": _init("SGD", lr=0.01, momentum=0.9, decay=1e-4, nesterov=False),
                "loss": "mean_squared_error", "metrics": [], "sample_weight_mode": None,
                "loss_weights": None}
    _model_file(tmp_path / "lstm.h5", config, layers, "2.0.8", training)
    model = jkeras.models.load_model(tmp_path / "lstm.h5")
    assert model.optimizer.decay == 1e-4 and model.optimizer.momentum == 0.9
    assert model.layers[0].recurrent_activation is jkeras.activations.hard_sigmoid
    keras2_hard_sigmoid = lambda x: keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)  # noqa: E731 (Keras 3's differs)
    theirs = keras.Sequential([keras.Input((STEPS, FEATURES)),
                               keras.layers.LSTM(UNITS, recurrent_activation=keras2_hard_sigmoid),
                               keras.layers.Dense(1)])
    theirs.set_weights(weights)
    np.testing.assert_allclose(model.predict(X_SEQ, verbose=0), theirs.predict(X_SEQ, verbose=0),
                               rtol=1e-5, atol=1e-6)


# ---- what jkeras writes, read back ----
EVERY_OPTIMIZER = [optimizers.SGD(0.05, momentum=0.9), optimizers.RMSprop(0.01, momentum=0.5, centered=True),
                   optimizers.Adam(0.02, amsgrad=True), optimizers.AdamW(0.02), optimizers.Adagrad(0.05),
                   optimizers.Adadelta(0.5), optimizers.Adamax(0.02), optimizers.Nadam(0.02),
                   optimizers.Ftrl(0.05), optimizers.Lion(0.01), optimizers.Adafactor(0.05),
                   optimizers.legacy.SGD(0.05, momentum=0.9, decay=0.01), optimizers.legacy.Adam(0.02),
                   optimizers.legacy.Nadam(0.02)]


@pytest.mark.slow
@pytest.mark.parametrize("opt", EVERY_OPTIMIZER,
                         ids=[("legacy." if ".legacy" in type(o).__module__ else "") + type(o).__name__
                              for o in EVERY_OPTIMIZER])
def test_every_optimizer_round_trips_exactly_and_loads_in_keras3(tmp_path, opt):
    """jkeras restores its own files' state exactly (the next steps equal the uninterrupted
    run's); Keras 3 loads each compiled, with the same optimizer class."""
    x, y = RNG.normal(size=(8, 3)).astype("float32"), RNG.normal(size=(8, 2)).astype("float32")
    model = jkeras.Sequential([L.Dense(4, activation="tanh", input_shape=(3,)), L.Dense(2)])
    model.compile(type(opt).from_config(opt.get_config()), "mse")
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "m.h5")
    saved = model.predict(x, verbose=0)
    back = jkeras.models.load_model(tmp_path / "m.h5")
    assert type(back.optimizer) is type(opt)
    assert back.optimizer.iterations == model.optimizer.iterations == 2
    ours, theirs = optimizers.slots(model._opt_state), optimizers.slots(back._opt_state)
    assert sorted(ours) == sorted(theirs)
    for name in ours:
        for a, b in zip(jax_leaves(ours[name]), jax_leaves(theirs[name])):
            np.testing.assert_array_equal(a, b, err_msg=f"{type(opt).__name__} {name}")
    # the batch size of the first fit: the model's compiled step serves again
    model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    back.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    keras.backend.clear_session()
    k3 = keras.models.load_model(str(tmp_path / "m.h5"))
    assert type(k3.optimizer).__name__ == type(opt).__name__
    np.testing.assert_allclose(k3.predict(x, verbose=0), saved, rtol=1e-5, atol=1e-6)


def jax_leaves(tree):
    import jax
    return [np.asarray(v) for v in jax.tree.leaves(tree)]

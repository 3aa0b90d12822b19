"""jkeras.backend (K) against tf.keras 2's `keras.backend`: every function of its list.

Numbers: tests/fixtures/tf_keras_backend/ holds tf.keras 2.21's outputs for fixed inputs
(made by scripts/fixtures/make_tf_keras_backend_fixtures.py); the functions tf.keras cannot
be compared with bit for bit (random draws, state, sessions) are checked by their rules
against numpy, and the names tf.keras lists are all present.
"""
import json
import os

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import backend as K

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_backend")
with open(os.path.join(FIXTURES, "cases.json")) as _f:
    CASES = json.load(_f)["cases"]
VALUES = np.load(os.path.join(FIXTURES, "values.npz"))
REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "tf_keras_names.json")


# the step functions the fixture script gave tf.keras, here on jkeras's K
def rnn_step(x, states):
    h = K.tanh(x + 0.5 * states[0])
    return h, [h]


def rnn_step_constants(x, states):
    h = K.tanh(x + 0.5 * states[0] + states[1])
    return 2.0 * h, [h]


def fold_step(acc, x):
    return acc * 0.5 + x


def map_step(x):
    return K.sum(K.square(x))


FUNCTIONS = {"rnn_step": rnn_step, "rnn_step_constants": rnn_step_constants, "fold_step": fold_step,
             "map_step": map_step}


def decode(value):
    if isinstance(value, dict) and "array" in value:
        return VALUES[value["array"]]
    if isinstance(value, dict) and "tuple" in value:
        return tuple(decode(v) for v in value["tuple"])
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, str) and value.startswith("fn:"):
        return FUNCTIONS[value[3:]]
    return value


def flatten(out):
    """Outputs as the fixture script flattened tf.keras's: nested lists and tuples, leaf by leaf."""
    if isinstance(out, (list, tuple)):
        return [leaf for item in out for leaf in flatten(item)]
    return [np.asarray(out)]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_tf_keras(case):
    fn = getattr(K, case["fn"])
    out = flatten(fn(*decode(case["args"]), **{k: decode(v) for k, v in case["kwargs"].items()}))
    assert len(out) == case["outputs"]
    for i, got in enumerate(out):
        want = VALUES[f"{case['id']}/out{i}"]
        assert got.shape == want.shape, (i, got.shape, want.shape)
        assert got.dtype.kind == want.dtype.kind or {got.dtype.kind, want.dtype.kind} <= {"i", "u"}, (
            got.dtype, want.dtype)
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=2e-5, atol=2e-5)


def test_every_tf_keras_backend_name_is_there():
    with open(REFERENCE) as f:
        names = json.load(f)["names"]["backend"]
    assert [n for n in names if not callable(getattr(K, n, None))] == []
    # and Keras 2.3's own extras
    for name in ("logsumexp", "identity", "size", "slice", "is_tensor", "is_variable", "is_placeholder",
                 "get_variable_shape", "conv3d_transpose", "separable_conv1d", "normalize_data_format",
                 "control_dependencies", "symbolic", "eager"):
        assert callable(getattr(K, name)), name


def test_numpy_rules_of_functions_tf_keras_2_lacks():
    x = np.random.default_rng(1).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_allclose(K.logsumexp(x, axis=1), np.log(np.exp(x).sum(1)), rtol=1e-6)
    assert int(K.size(x)) == 24
    np.testing.assert_array_equal(K.slice(x, (0, 1, 1), (-1, 2, 2)), x[:, 1:3, 1:3])
    # a rank-1 condition picks rows, as Keras 2's `switch` did on TF 1
    cond = np.array([True, False])
    np.testing.assert_array_equal(K.switch(cond, x, -x), np.where(cond[:, None, None], x, -x))
    np.testing.assert_array_equal(K.identity(x), x)
    np.testing.assert_allclose(K.dot(x[0], x[0, 0]), x[0] @ x[0, 0], rtol=1e-6)


def test_separable_conv1d_matches_keras3():
    """tf.keras 2.21's own separable_conv1d fails eagerly (an NWC depthwise op); Keras 3's
    `ops.separable_conv` is the reference."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(2)
    x, depthwise, pointwise = (rng.normal(size=s).astype("float32") for s in ((2, 7, 3), (3, 3, 2), (1, 6, 4)))
    for strides, padding in ((1, "valid"), (2, "same")):
        want = keras.ops.separable_conv(x, depthwise, pointwise, strides=strides, padding=padding)
        np.testing.assert_allclose(K.separable_conv1d(x, depthwise, pointwise, strides, padding, "channels_last"),
                                   want, rtol=1e-5, atol=1e-5)


def test_sqrt_of_negatives_and_clip_rules():
    np.testing.assert_array_equal(K.sqrt(np.array([-4.0, 4.0], "float32")), [0.0, 2.0])
    np.testing.assert_array_equal(K.clip(np.array([-2.0, 0.5, 2.0], "float32"), None, None), [-2.0, 0.5, 2.0])


def test_batch_dot_errors_are_keras_2s():
    with pytest.raises(ValueError, match="Cannot perform batch_dot over axis 0"):
        K.batch_dot(np.ones((2, 3)), np.ones((2, 3)), axes=0)
    with pytest.raises(ValueError, match="different batch sizes"):
        K.batch_dot(np.ones((2, 3)), np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"x.shape\[2\] != y.shape\[1\] \(4 != 5\)"):
        K.batch_dot(np.ones((2, 3, 4)), np.ones((2, 5, 6)))


# ---- random ops ----
def test_random_ops_shapes_statistics_and_seeds():
    K.set_random_seed(3)
    a = np.asarray(K.random_normal((4000,), mean=1.0, stddev=2.0))
    assert abs(a.mean() - 1.0) < 0.15 and abs(a.std() - 2.0) < 0.15
    u = np.asarray(K.random_uniform((4000,), -1.0, 3.0))
    assert u.min() >= -1.0 and u.max() < 3.0 and abs(u.mean() - 1.0) < 0.1
    b = np.asarray(K.random_binomial((4000,), p=0.3))
    assert set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.05
    t = np.asarray(K.truncated_normal((4000,), stddev=0.5))
    assert np.abs(t).max() <= 1.0 and abs(t.std() - 0.5 * 0.88) < 0.05  # a 2-sigma truncation's std
    assert K.random_normal((2, 3), dtype="float16").dtype == jnp.float16
    # a seed gives the same numbers every time; the stream restarts with the root seed
    np.testing.assert_array_equal(K.random_normal((3,), seed=7), K.random_normal((3,), seed=7))
    K.set_random_seed(3)
    np.testing.assert_array_equal(K.random_normal((4000,), mean=1.0, stddev=2.0), a)
    assert not np.array_equal(K.random_uniform((3,)), K.random_uniform((3,)))
    var = K.random_normal_variable((2, 2), 0.0, 1.0, seed=1)
    assert isinstance(var, K.Variable) and var.shape == (2, 2)


def test_dropout_keeps_scaled_entries():
    x = np.ones((2000,), "float32")
    y = np.asarray(K.dropout(x, 0.25, seed=1))
    assert set(np.unique(y)) <= {0.0, np.float32(1.0 / 0.75)} and abs((y == 0).mean() - 0.25) < 0.05
    rows = np.asarray(K.dropout(np.ones((400, 3), "float32"), 0.5, noise_shape=(None, 1), seed=2))
    assert np.all(rows == rows[:, :1])  # one draw per row


class _Noisy(jkeras.layers.Layer):
    """Adds K.random_normal noise in training (a Keras 2 custom layer)."""

    def call(self, x, training=None):
        return K.in_train_phase(x + K.random_normal(K.shape(x)), x, training=training)


def test_random_op_in_a_traced_step_draws_from_the_steps_key():
    layer = _Noisy()
    x = np.zeros((2, 3), "float32")
    layer(x)  # build
    key = jax.random.key(5)
    run = jax.jit(lambda x, key: layer._run({}, {}, x, training=True, key=key)[0])
    first, again = run(x, key), run(x, key)
    np.testing.assert_array_equal(first, again)  # same key, same bits
    assert not np.array_equal(first, run(x, jax.random.key(6)))
    np.testing.assert_array_equal(layer._run({}, {}, x, training=False)[0], x)  # test phase: no noise


# ---- variables and state ----
def test_variables_values_and_updates():
    v = K.variable(np.array([1.0, 2.0]), name="v")
    assert K.get_value(v).dtype == np.float32 and v.name == "v"
    K.set_value(v, [3.0, 4.0])
    np.testing.assert_array_equal(K.get_value(v), [3.0, 4.0])
    K.update_add(v, [1.0, 1.0])
    K.update_sub(v, [0.5, 0.5])
    np.testing.assert_array_equal(K.eval(v), [3.5, 4.5])
    K.moving_average_update(v, np.array([0.0, 0.0]), 0.9)
    np.testing.assert_allclose(K.get_value(v), [3.15, 4.05], rtol=1e-6)
    np.testing.assert_allclose(K.get_value(v * 2 + 1), [7.3, 9.1], rtol=1e-6)
    z, o, e = K.zeros((2, 2)), K.ones((2,), dtype="int32"), K.eye(3)
    K.batch_set_value([(z, np.full((2, 2), 5.0)), (o, [7, 8])])
    assert [a.tolist() for a in K.batch_get_value([z, o])] == [[[5.0, 5.0], [5.0, 5.0]], [7, 8]]
    np.testing.assert_array_equal(K.get_value(e), np.eye(3))
    assert K.count_params(e) == 9 and K.int_shape(e) == (3, 3) and K.dtype(o) == "int32"
    with pytest.raises(ValueError, match="shape"):
        K.batch_set_value([(z, np.zeros((2, 2))), (o, np.zeros((3,)))])
    np.testing.assert_array_equal(K.get_value(z), np.full((2, 2), 5.0))  # nothing set on the error
    np.testing.assert_array_equal(K.zeros_like(np.ones((2,))), [0.0, 0.0])
    np.testing.assert_array_equal(K.constant(2.0, shape=(2,)), [2.0, 2.0])


def test_set_value_assigns_anything_with_assign():
    class Rate:
        def __init__(self):
            self.value = None

        def assign(self, value):
            self.value = float(value)
    rate = Rate()
    K.set_value(rate, 0.01)
    assert rate.value == 0.01
    with pytest.raises(TypeError, match="assign"):
        K.set_value(np.zeros(2), 1.0)


def test_update_of_a_variable_while_tracing_is_gathered_or_refused():
    from jkeras.backend.variables import bind_values, collect_updates
    v = K.variable(0.0)

    def step(value):  # what a step does with a K.variable: its value in, its update out
        with bind_values([(v, value)]), collect_updates() as found:
            K.update_add(v, 1.0)
            read = v * 10
        assert len(found) == 1 and found[0][0] is v
        return read, found[0][1]
    read, new = jax.jit(step)(jnp.float32(2.0))
    assert (float(read), float(new), float(K.get_value(v))) == (20.0, 3.0, 0.0)
    with pytest.raises(RuntimeError, match="belongs to no layer call"):
        jax.jit(lambda x: K.update(v, x))(1.0)


def test_gradients_name_what_to_use():
    with pytest.raises(RuntimeError, match="jax.grad"):
        K.gradients(K.constant(1.0), [K.variable(1.0)])
    g = jax.grad(lambda w: K.sum(K.square(K.stop_gradient(w) * w)))(jnp.array(3.0))
    assert float(g) == 54.0  # d/dw (c w)^2 = 2 c^2 w with c = 3 held, not d/dw w^4 = 108


def test_sessions_name_what_to_use():
    with pytest.raises(RuntimeError, match="no TensorFlow session"):
        K.get_session()
    with pytest.raises(ValueError, match="dense"):
        K.placeholder((None, 2), sparse=True)


def test_uids_scopes_and_phase():
    assert [K.get_uid("x"), K.get_uid("x"), K.get_uid("y")] == [1, 2, 1]
    K.reset_uids()
    assert K.get_uid("x") == 1
    with K.name_scope("block"), K.learning_phase_scope(1):
        assert K.in_train_phase(1, 0) == 1
    assert K.in_train_phase(1, 0) == 0
    assert K.is_keras_tensor(jkeras.Input((2,))) and not K.is_keras_tensor(np.zeros(2))
    sparse = K.ctc_label_dense_to_sparse(np.array([[1, 2, 0], [3, 0, 0]]), np.array([2, 1]))
    assert K.is_sparse(sparse) and not K.is_sparse(np.zeros(2))
    np.testing.assert_array_equal(K.to_dense(sparse), [[1, 2, 0], [3, 0, 0]])


def test_ctc_batch_cost_is_differentiable_and_traceable():
    pred = jax.nn.softmax(jnp.asarray(np.random.default_rng(0).normal(size=(2, 6, 4)), jnp.float32))
    labels = np.array([[1, 2], [0, 0]], "int32")
    lengths = (np.array([[6], [5]]), np.array([[2], [1]]))
    loss = jax.jit(lambda p: K.ctc_batch_cost(labels, p, *lengths))(pred)
    grad = jax.grad(lambda p: K.sum(K.ctc_batch_cost(labels, p, *lengths)))(pred)
    assert loss.shape == (2, 1) and np.all(np.isfinite(grad))
    decoded, _ = jax.jit(lambda p: K.ctc_decode(p, np.array([6, 5]), greedy=False, beam_width=3))(pred)
    assert decoded[0].shape == (2, 6)


# ---- graph-style code ----
def test_placeholder_ops_and_function():
    x = K.placeholder(shape=(None, 3))
    y = K.placeholder(ndim=2)
    out = K.sum(K.square(x) * 2.0 + 1, axis=1, keepdims=True)
    f = K.function([x, y], [out, K.relu(x), -x[:, 1:], K.max(y)])
    a, b = np.arange(6, dtype="float32").reshape(2, 3) - 2, np.arange(10, dtype="float32").reshape(2, 5)
    got = f([a, b])
    np.testing.assert_allclose(got[0], (a ** 2 * 2 + 1).sum(1, keepdims=True))
    np.testing.assert_allclose(got[1], np.maximum(a, 0))
    np.testing.assert_allclose(got[2], -a[:, 1:])
    assert float(got[3]) == 9.0


def test_k_ops_on_model_tensors_are_layers_that_save(tmp_path):
    inp = jkeras.Input((4,))
    h = jkeras.layers.Dense(3)(inp)
    out = K.concatenate([K.l2_normalize(h, axis=-1), K.expand_dims(K.mean(h, axis=1))], axis=-1) * 2
    model = jkeras.Model(inp, out)
    assert [type(layer).__name__ for layer in model.layers[2:]] == ["BackendOp"] * 5
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    h_val = x @ model.layers[1].get_weights()[0] + model.layers[1].get_weights()[1]
    want = np.concatenate([h_val / np.linalg.norm(h_val, axis=-1, keepdims=True), h_val.mean(1, keepdims=True)],
                          axis=-1) * 2
    np.testing.assert_allclose(model.predict(x, verbose=0), want, rtol=1e-5)
    model.save(str(tmp_path / "ops.h5"))
    loaded = jkeras.models.load_model(str(tmp_path / "ops.h5"))
    np.testing.assert_allclose(loaded.predict(x, verbose=0), want, rtol=1e-5)
    with pytest.raises(ValueError, match="cannot be saved"):
        jkeras.Model(inp, K.rnn(lambda a, s: (a, s), K.expand_dims(inp), [inp])[0]).get_config()


@pytest.mark.parametrize("function", ["set_floatx", "clear_session", "operator.methodcaller", "jkeras_home"])
def test_a_saved_backend_op_runs_only_the_functions_ops_are_recorded_under(tmp_path, function):
    """A file naming any other function (one with side effects) is refused, and it does not run."""
    inp = jkeras.Input((4,))
    jkeras.Model(inp, K.mean(inp, axis=1)).save(str(tmp_path / "op.h5"))
    with h5py.File(tmp_path / "op.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        op = config["config"]["layers"][1]["config"]
        assert op["function"] == "mean"
        op["function"], op["arguments"] = function, [["float16"], {}]
        f.attrs["model_config"] = json.dumps(config)
    with pytest.raises(ValueError, match=f"'{function}' is not a K function or operator that symbolic"):
        jkeras.models.load_model(str(tmp_path / "op.h5"))
    assert K.floatx() == "float32"


def test_function_updates_assign_after_each_call():
    x = jkeras.Input((2,))
    total = K.variable(np.zeros(2))
    f = K.function([x], [K.sum(x)], updates=[(total, K.sum(x, axis=0))])
    f([np.ones((3, 2), "float32")])
    np.testing.assert_array_equal(K.get_value(total), [3.0, 3.0])

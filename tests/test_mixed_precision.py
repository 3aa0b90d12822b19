"""Mixed precision: dtype policies against Keras 3, training under mixed_bfloat16, float32 losses,
policies in configs and `.h5` files, and dynamic loss scaling."""
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jkeras
from jkeras import layers, losses, mixed_precision
from jkeras.optimizers import loss_scale
from jkeras.models import compile_utils

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

NAMES = ("float32", "float16", "bfloat16", "float64", "mixed_float16", "mixed_bfloat16")


@pytest.fixture(autouse=True)
def _reset_policy():
    """Each test leaves the global policy (jkeras's and Keras's) as it found it: floatx's."""
    yield
    mixed_precision.set_global_policy(None)
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", NAMES)
def test_policy_dtypes_match_keras(name):
    ours, theirs = mixed_precision.Policy(name), keras.mixed_precision.Policy(name)
    assert (ours.name, ours.compute_dtype, ours.variable_dtype) == \
        (theirs.name, theirs.compute_dtype, theirs.variable_dtype)
    mixed_precision.set_global_policy(name)
    keras.mixed_precision.set_global_policy(name)
    for ours, theirs in ((layers.Dense(2), keras.layers.Dense(2)),
                         (layers.Dense(2, dtype="float32"), keras.layers.Dense(2, dtype="float32"))):
        assert (ours.dtype, ours.compute_dtype, ours.variable_dtype, ours.dtype_policy.name) == \
            (theirs.dtype, theirs.compute_dtype, theirs.variable_dtype, theirs.dtype_policy.name)
    assert mixed_precision.global_policy() == mixed_precision.DTypePolicy(name)


def test_bad_policy_names():
    with pytest.raises(ValueError, match="'mixed_float16', 'mixed_bfloat16'"):
        mixed_precision.Policy("mixed_int8")
    with pytest.raises(ValueError, match="'float32'"):
        layers.Dense(2, dtype="floaty")
    with pytest.raises(ValueError, match="floating-point policy"):
        mixed_precision.set_global_policy("int32")
    assert mixed_precision.global_policy().name == "float32"


def test_layer_reads_keras_2_and_3_policy_configs():
    keras2 = {"class_name": "Policy", "config": {"name": "mixed_float16"}}
    keras3 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_bfloat16"},
              "registered_name": None}
    assert layers.Dense(2, dtype=keras2).compute_dtype == "float16"
    dense = layers.Dense.from_config({"name": "d", "units": 2, "dtype": keras3})
    assert (dense.dtype, dense.compute_dtype, dense.get_config()["dtype"]) == \
        ("float32", "bfloat16", "mixed_bfloat16")
    assert layers.Dense(2, dtype=jnp.bfloat16).dtype_policy.name == "bfloat16"


def _regression_model(float32_head):
    x = layers.Input((4,))
    y = layers.Dense(1)(layers.Dense(16, activation="relu")(x))
    if float32_head:
        y = layers.Activation("linear", dtype="float32")(y)
    return jkeras.Model(x, y)


@pytest.mark.parametrize("float32_head", [False, True])
def test_mixed_bfloat16_model_trains_with_float32_weights(float32_head):
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _regression_model(float32_head)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (128, 4)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5], [3.0]], "float32")
    model.compile("adam", "mse")
    history = model.fit(x, y, epochs=4, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < history[0]
    assert all(w.dtype == "float32" for w in model.weights)
    out_dtype = "float32" if float32_head else "bfloat16"
    assert model.predict(x[:4], verbose=0).dtype == out_dtype
    assert model.output.dtype == out_dtype
    assert model.layers[1].compute_dtype == "bfloat16"


def test_keras_style_layer_computes_in_compute_dtype():
    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            assert inputs.dtype == self.w.dtype == jnp.bfloat16
            return inputs * self.w

    layer = Scale(dtype="mixed_bfloat16")
    out = layer(np.ones((2, 3), "float32"))
    assert out.dtype == jnp.bfloat16 and layer.w.dtype == "float32"


def test_float16_predictions_give_float32_losses():
    y_true = np.zeros((4, 3), "float32")
    y_pred = np.full((4, 3), 300.0, "float16")  # 300 ** 2 = 90000 > float16's max, 65504
    expected = float(np.mean((y_pred.astype("float32") - y_true) ** 2))
    for loss in (losses.mean_squared_error, losses.MeanSquaredError(), "mse", "huber", "log_cosh"):
        fn = losses.get(loss)
        value = compile_utils.weighted_mean(compile_utils.per_sample_loss(fn, y_true, y_pred), None)
        assert np.isfinite(value)
    assert float(losses.MeanSquaredError()(y_true, y_pred)) == pytest.approx(expected, rel=1e-3)
    assert losses.mean_squared_error(y_true, y_pred.astype(jnp.bfloat16)).dtype == jnp.float32
    compiled = compile_utils.CompiledLoss("mse", None, ["out"])
    total, _ = compiled([y_true], [jnp.asarray(y_pred)], [None])
    assert float(total) == pytest.approx(expected, rel=1e-3)


def test_mixed_float16_model_evaluates_a_large_loss():
    mixed_precision.set_global_policy("mixed_float16")
    model = jkeras.Sequential([layers.Dense(1, use_bias=False, kernel_initializer="ones",
                                            input_shape=(1,))])
    model.compile("sgd", "mse", metrics=["mae"])
    x, y = np.full((8, 1), 300.0, "float32"), np.zeros((8, 1), "float32")
    assert model.predict(x, verbose=0).dtype == "float16"
    loss, mae = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(90000.0, rel=1e-3) and mae == pytest.approx(300.0, rel=1e-3)


def test_policy_survives_json_and_h5(tmp_path):
    mixed_precision.set_global_policy("mixed_bfloat16")
    model = _regression_model(float32_head=True)
    x = np.random.default_rng(1).uniform(-1, 1, (4, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    mixed_precision.set_global_policy(None)  # what is loaded must not depend on the global policy
    from_json = jkeras.models.model_from_json(model.to_json())
    path = str(tmp_path / "m.h5")
    model.save(path)
    from_h5 = jkeras.models.load_model(path)
    for loaded in (from_json, from_h5):
        assert [layer.dtype_policy.name for layer in loaded.layers] == \
            ["float32", "mixed_bfloat16", "mixed_bfloat16", "float32"]
    np.testing.assert_array_equal(from_h5.predict(x, verbose=0), expected)
    theirs = keras.models.load_model(path, compile=False)  # Keras 3 reads the policy names
    assert [layer.dtype_policy.name for layer in theirs.layers[1:]] == \
        ["mixed_bfloat16", "mixed_bfloat16", "float32"]


def test_dynamic_loss_scale_unscales_skips_and_adjusts():
    tx = loss_scale.dynamic_loss_scale(optax.sgd(1.0), initial_scale=8.0, dynamic_growth_steps=2)
    params = {"w": jnp.ones(2)}
    state = tx.init(params)
    updates, state = tx.update({"w": jnp.full(2, 8.0)}, state, params)  # 8 = 1 * scale 8
    np.testing.assert_allclose(updates["w"], -1.0)
    updates, state = tx.update({"w": jnp.array([jnp.inf, 1.0])}, state, params)
    np.testing.assert_array_equal(updates["w"], 0.0)
    assert float(loss_scale.current_scale(state)) == 4.0 and int(state.good_steps) == 0
    for _ in range(2):
        _, state = tx.update({"w": jnp.ones(2)}, state, params)
    assert float(loss_scale.current_scale(state)) == 8.0 and int(state.good_steps) == 0
    assert float(loss_scale.current_scale(optax.sgd(1.0).init(params))) == 1.0


def test_scaled_gradients_through_the_jkeras_optimizer():
    opt = mixed_precision.LossScaleOptimizer(jkeras.optimizers.SGD(0.5), initial_scale=1024.0)
    tx = opt.make_transform()
    params = {"w": jnp.ones(3)}
    state = tx.init(params)

    def loss_fn(p):
        return jnp.sum(p["w"].astype(jnp.float16) ** 2).astype(jnp.float32), None

    (loss, _), grads = loss_scale.value_and_grad(loss_fn, loss_scale.current_scale(state))(params)
    assert float(loss) == 3.0
    np.testing.assert_allclose(grads["w"], 2048.0)
    updates, state = jax.jit(tx.update)(grads, state, params)
    np.testing.assert_allclose(updates["w"], -1.0)
    assert int(jkeras.optimizers.iterations(state)) == 1
    assert opt.learning_rate == pytest.approx(0.5)
    keras.backend.clear_session()  # Keras numbers its optimizer names per session ("sgd_5")
    theirs = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.5), initial_scale=1024.0)
    assert opt.get_config() == keras.optimizers.serialize(theirs)["config"]
    loaded = mixed_precision.LossScaleOptimizer.from_config(keras.optimizers.serialize(theirs)["config"])
    assert loaded.get_config() == opt.get_config()


def test_fit_under_mixed_float16_scales_the_loss_and_skips_overflowing_steps():
    """As Keras: compile() wraps the optimizer in a LossScaleOptimizer under mixed_float16; a
    step whose float16 gradients overflow leaves the weights alone and halves the scale."""
    mixed_precision.set_global_policy("mixed_float16")
    model = _regression_model(float32_head=True)
    model.compile(jkeras.optimizers.SGD(0.01), "mse")
    assert isinstance(model.optimizer, mixed_precision.LossScaleOptimizer)
    x = np.random.default_rng(0).uniform(-1, 1, (32, 4)).astype("float32")
    model.fit(x, x[:, :1], batch_size=32, verbose=0)
    assert float(loss_scale.current_scale(model._opt_state)) == 2.0 ** 15
    before = [w.copy() for w in model.get_weights()]
    model.fit(x * 1e4, x[:, :1] * 1e4, batch_size=32, verbose=0)   # float16 gradients overflow
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert float(loss_scale.current_scale(model._opt_state)) == 2.0 ** 14
    mixed_precision.set_global_policy("float32")
    plain = _regression_model(float32_head=False)
    plain.compile(jkeras.optimizers.SGD(0.01), "mse", auto_scale_loss=True)
    assert isinstance(plain.optimizer, jkeras.optimizers.SGD)


def test_loss_scale_factor_scales_the_loss_and_unscales_the_gradients():
    x = np.random.default_rng(0).uniform(-1, 1, (16, 4)).astype("float32")
    results = []
    for factor in (None, 64.0):
        jkeras.backend.set_random_seed(3)
        model = _regression_model(float32_head=False)
        model.compile(jkeras.optimizers.SGD(0.1, loss_scale_factor=factor), "mse")
        model.fit(x, x[:, :1], batch_size=16, epochs=2, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

"""Adafactor, Ftrl, Lion against Keras 3; Keras 2's `lr=`, `decay=`, `epsilon=None` and the
settable `optimizer.lr` against tf.keras 2.21 (numbers committed below); `optimizers.legacy`."""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jkeras
from jkeras import backend as K
from jkeras import optimizers

keras = pytest.importorskip("keras")

STEPS = 4
_rng = np.random.default_rng(3)
# A matrix, a vector and a 3-D weight: Adafactor factors the last two axes of the 2-D+ ones.
PARAMS = {"w0": _rng.normal(size=(3, 4)).astype("float32"), "w1": _rng.normal(size=(4,)).astype("float32"),
          "w2": _rng.normal(size=(2, 3, 2)).astype("float32")}
GRADS = [{k: (2.0 * _rng.normal(size=v.shape)).astype("float32") for k, v in PARAMS.items()}
         for _ in range(STEPS)]

CASES = [
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1,
              "l2_shrinkage_regularization_strength": 0.01, "beta": 0.2, "learning_rate_power": -0.3}),
    ("Lion", {"learning_rate": 0.05}),
    ("Lion", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Adafactor", {"learning_rate": 0.1}),
    ("Adafactor", {"learning_rate": 0.5, "relative_step": False, "clip_threshold": 0.5}),
]


def _run_keras(name, kwargs):
    opt = getattr(keras.optimizers, name)(**kwargs)
    variables = [keras.Variable(PARAMS[k], name=k) for k in sorted(PARAMS)]
    for grads in GRADS:
        opt.apply_gradients(zip([grads[k] for k in sorted(PARAMS)], variables))
    return ({v.name: np.asarray(v.value) for v in variables},
            [np.asarray(v.value) for v in opt.variables[2:]])


def _run_ours(opt):
    tx = opt.make_transform()

    @jax.jit
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.asarray, PARAMS)
    state = tx.init(params)
    for grads in GRADS:
        params, state = step(params, state, grads)
    return params, state


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{len(k)}" for n, k in CASES])
def test_new_optimizers_match_keras3(name, kwargs):
    expected, keras_slots = _run_keras(name, kwargs)
    opt = getattr(optimizers, name)(**kwargs)
    params, state = _run_ours(opt)
    for k in PARAMS:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-6, atol=1e-6, err_msg=k)
    assert int(optimizers.iterations(state)) == STEPS
    # Keras's optimizer variables after iterations/learning_rate: per weight (sorted names,
    # as built), its slots in order; Adafactor's `r`, `c` of a vector are one-number dummies.
    slots = optimizers.slots(state)
    ours = [np.asarray(slots[s][k]) for k in sorted(PARAMS) for s in opt.slot_names()]
    assert [a.shape for a in ours] == [a.shape for a in keras_slots]
    for a, b in zip(ours, keras_slots):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert opt.get_config() == {**keras.optimizers.get(name).__class__(**kwargs).get_config(),
                                "name": opt.name}


def test_new_optimizers_by_name_and_config():
    for name in ("ftrl", "lion", "adafactor"):
        opt = optimizers.get(name)
        assert type(opt).__name__.lower() == name
        again = optimizers.deserialize(optimizers.serialize(opt))
        assert again.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="beta_1"):
        optimizers.Lion(beta_1=0.0)
    with pytest.raises(ValueError, match="learning_rate_power"):
        optimizers.Ftrl(learning_rate_power=0.5)


# tf.keras 2.21 (`tf_keras.optimizers.legacy`, TensorFlow 2.21): 4 steps on w = [1, -2, 3] with
# the loss sum(w * c) + 0.5 * sum(w ** 2), c = [0.5, -1, 2]; printed by
# scripts/fixtures/make_legacy_fixtures.py.
TF_KERAS_LEGACY = [
    ("SGD", {"learning_rate": 0.1, "decay": 0.5, "momentum": 0.9}, [0.09872502, -0.19745004, -0.00424987]),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, [-0.3591681, 0.7183362, -1.5305604]),
    ("Adam", {"learning_rate": 0.1, "decay": 0.5}, [0.74409187, -1.7436591, 2.743517]),
    ("Adam", {"learning_rate": 0.1, "amsgrad": True}, [0.60219985, -1.6009141, 2.6005082]),
    ("RMSprop", {"learning_rate": 0.01, "decay": 0.25}, [0.9280029, -1.9277356, 2.9276302]),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}, [0.8402583, -1.8391554, 2.8387253]),
    ("Adagrad", {"learning_rate": 0.1}, [0.7345696, -1.7270638, 2.7246096]),
    ("Adadelta", {"learning_rate": 1.0}, [0.9942602, -1.9942578, 2.994257]),
    ("Adamax", {"learning_rate": 0.1, "decay": 0.1}, [0.6649569, -1.6567115, 2.6533797]),
    ("Nadam", {"learning_rate": 0.1}, [0.68125045, -1.6752385, 2.6729562]),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.01}, [0.53996885, -1.522502, 2.5378141]),
]


def _steps(opt, n=4):
    c = jnp.asarray([0.5, -1.0, 2.0], jnp.float32)
    params = {"w": jnp.asarray([1.0, -2.0, 3.0], jnp.float32)}
    tx = opt.make_transform()
    state = tx.init(params)
    for _ in range(n):
        updates, state = tx.update({"w": c + params["w"]}, state, params)
        params = optax.apply_updates(params, updates)
    return np.asarray(params["w"]), state


@pytest.mark.parametrize("name,kwargs,expected", TF_KERAS_LEGACY,
                         ids=[f"{n}-{'-'.join(k)}" for n, k, _ in TF_KERAS_LEGACY])
def test_legacy_optimizers_match_tf_keras_2(name, kwargs, expected):
    """Keras 2's rules, `decay` (`lr / (1 + decay * iterations)`) included. TensorFlow's fused
    kernels round differently from XLA: AMSGrad differs by 4e-6 relative after 4 steps."""
    w, _ = _steps(getattr(optimizers.legacy, name)(**kwargs))
    np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)  # TF kernels vs XLA


def test_decay_in_the_keras3_classes_and_in_h5_files(tmp_path):
    """`Adam(lr=, decay=)` decays as Keras 2 did, and the `.h5` keeps it (as the
    InverseTimeDecay it means, which tf.keras and Keras 3 read too)."""
    opt = optimizers.Adam(lr=0.1, decay=0.5)
    assert float(opt.lr) == pytest.approx(0.1) and opt.decay == 0.5
    w, _ = _steps(opt)
    np.testing.assert_allclose(w, TF_KERAS_LEGACY[2][2], rtol=1e-5)  # tf.keras 2's Adam(decay=0.5)
    model = jkeras.Sequential([jkeras.layers.Dense(2, input_shape=(3,))])
    model.compile(optimizers.SGD(lr=0.1, decay=0.25), "mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), verbose=0, epochs=2)
    model.save(tmp_path / "m.h5")
    loaded = jkeras.models.load_model(tmp_path / "m.h5")
    assert loaded.optimizer.decay == 0.25 and float(loaded.optimizer.lr) == pytest.approx(0.1)
    assert loaded.optimizer.iterations == 2
    # The file says it as the InverseTimeDecay it means, which tf.keras and Keras 3 read.
    schedule = loaded.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "InverseTimeDecay"
    assert schedule["config"]["decay_steps"] == 1 and schedule["config"]["decay_rate"] == 0.25


def test_epsilon_none_is_the_backend_epsilon():
    assert optimizers.Adam(epsilon=None).epsilon == K.epsilon()
    assert optimizers.legacy.RMSprop(epsilon=None).epsilon == K.epsilon()
    K.set_epsilon(1e-5)
    try:
        assert optimizers.Adagrad(epsilon=None).epsilon == 1e-5
    finally:
        K.set_epsilon(1e-7)


def test_lr_is_read_and_set_with_get_value_and_set_value_without_recompiling():
    x = np.ones((8, 3), "float32")
    y = np.zeros((8, 1), "float32")
    model = jkeras.Sequential([jkeras.layers.Dense(1, input_shape=(3,), kernel_initializer="ones")])
    model.compile(optimizers.SGD(lr=0.1), "mse")
    assert K.get_value(model.optimizer.lr) == pytest.approx(0.1)
    model.fit(x, y, batch_size=8, verbose=0)
    K.set_value(model.optimizer.lr, 0.0)
    assert K.get_value(model.optimizer.learning_rate) == 0.0
    assert float(model.optimizer.lr) == 0.0 and model.optimizer.lr.numpy() == 0.0
    before = model.get_weights()
    model.fit(x, y, batch_size=8, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # lr 0: nothing moved
    model.optimizer.lr.assign(0.5)
    assert np.asarray(model.optimizer.lr) == np.float32(0.5)
    assert model._trace_counts["train"] == 1  # the rate is a traced value: no recompile


def test_legacy_names_and_configs():
    """`optimizers.legacy` holds the classes tf.keras 2.11+ code imports, with Keras 2's
    configs (`decay`, no Keras 3 keys) and Keras 2's Adagrad/RMSprop epsilon placement."""
    for name in ("SGD", "RMSprop", "Adam", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl",
                 "Optimizer"):
        assert hasattr(optimizers.legacy, name)
    config = optimizers.legacy.Adam(learning_rate=0.01, decay=0.1).get_config()
    assert config == {"name": "Adam", "learning_rate": float(np.float32(0.01)), "decay": 0.1, "beta_1": 0.9,
                      "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": False}
    assert optimizers.legacy.SGD(lr=0.5).get_config()["learning_rate"] == 0.5  # exact in float32


def test_set_value_on_a_decayed_lr_sets_keras2s_undecayed_rate_live():
    """Keras 2: with `decay`, `K.set_value(opt.lr, x)` sets the rate that decay divides."""
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    model = jkeras.Sequential([jkeras.layers.Dense(1, use_bias=False, kernel_initializer="ones",
                                                   input_shape=(3,))])
    model.compile(optimizers.SGD(lr=0.1, decay=0.5), "mse")
    model.fit(x, y, batch_size=8, verbose=0)  # gradient 2 * 3 = 6: w = 1 - 0.1 * 6
    np.testing.assert_allclose(model.get_weights()[0], np.full((3, 1), 0.4), rtol=1e-6)
    K.set_value(model.optimizer.lr, 0.2)
    assert K.get_value(model.optimizer.lr) == pytest.approx(0.2)
    model.fit(x, y, batch_size=8, verbose=0)  # gradient 2.4, rate 0.2 / (1 + 0.5 * 1)
    np.testing.assert_allclose(model.get_weights()[0], np.full((3, 1), 0.4 - 0.2 / 1.5 * 2.4), rtol=1e-6)

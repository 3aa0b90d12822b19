"""jkeras.optimizers against real Keras 3: update rules, slots, learning rates and configs."""
import os
import re

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jkeras import optimizers
from jkeras.optimizers import schedules
from jkeras.optimizers.base import flatten_slots, unflatten_slots

keras = pytest.importorskip("keras")

STEPS = 5
_rng = np.random.default_rng(0)
PARAMS = {"w0": _rng.normal(size=(3, 4)).astype("float32"), "w1": _rng.normal(size=(4,)).astype("float32")}
# Large enough for clipnorm=1 and clipvalue=0.5 to bite; one step with a zero gradient.
GRADS = [{k: (2.0 * _rng.normal(size=v.shape)).astype("float32") for k, v in PARAMS.items()}
         for _ in range(STEPS)]
GRADS[2]["w1"] = np.zeros(4, "float32")


def _exp_decay(m):
    return m.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, staircase=True)


CASES = [
    ("SGD", {}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    ("Adam", {"learning_rate": 0.1}),
    ("Adam", {"learning_rate": 0.1, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.1, "clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.1, "clipvalue": 0.5}),
    ("SGD", {"learning_rate": 0.1, "global_clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.1, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": _exp_decay}),
    ("Adam", {"learning_rate": 0.1, "loss_scale_factor": 4.0}),
    ("Adam", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 2}),
    ("Adam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.1}),
    ("AdamW", {"learning_rate": 0.1, "weight_decay": 0.1, "amsgrad": True}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("Adadelta", {"learning_rate": 1.0}),
    ("Adamax", {"learning_rate": 0.1}),
    ("Nadam", {"learning_rate": 0.1}),
    ("Nadam", {"learning_rate": 0.1, "gradient_accumulation_steps": 2, "clipnorm": 1.0}),
]


def _build(module, schedule_module, kwargs):
    kwargs = dict(kwargs)
    if callable(kwargs.get("learning_rate")):
        kwargs["learning_rate"] = kwargs["learning_rate"](schedule_module)
    return module(**kwargs)


def _run_keras(name, kwargs):
    opt = _build(getattr(keras.optimizers, name), keras.optimizers.schedules, kwargs)
    variables = [keras.Variable(PARAMS[k], name=k) for k in sorted(PARAMS)]
    for grads in GRADS:
        opt.apply_gradients(zip([grads[k] for k in sorted(PARAMS)], variables))
    by_name = {v.name: np.asarray(v.value) for v in opt.variables}
    return {v.name: np.asarray(v.value) for v in variables}, by_name, int(opt._iterations.value)


def _run_ours(opt, params=PARAMS, grads_seq=GRADS):
    tx = opt.make_transform()

    @jax.jit
    def step(params, state, grads):
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.asarray, params)
    state = tx.init(params)
    for grads in grads_seq:
        params, state = step(params, state, grads)
    return params, state


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_matches_keras(name, kwargs):
    expected, keras_vars, keras_iterations = _run_keras(name, kwargs)
    opt = _build(getattr(optimizers, name), schedules, kwargs)
    params, state = _run_ours(opt)
    for k in PARAMS:
        np.testing.assert_allclose(params[k], expected[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert int(optimizers.iterations(state)) == keras_iterations == STEPS
    # Every Keras slot variable `<var>_<slot>` matches ours, and we have no others.
    ours = optimizers.slots(state)
    assert set(ours) == set(opt.slot_names()) | ({"u_product"} if name == "Nadam" else set())
    for slot in opt.slot_names():
        for k in PARAMS:
            np.testing.assert_allclose(ours[slot][k], keras_vars[f"{k}_{slot}"], rtol=1e-6, atol=1e-7,
                                       err_msg=f"{k}_{slot}")
    slot_vars = {n for n in keras_vars if n.startswith(("w0_", "w1_"))}
    assert slot_vars == {f"{k}_{s}" for k in PARAMS for s in opt.slot_names()}
    if name == "Nadam":
        (u_product,) = [v for n, v in keras_vars.items()
                        if n not in slot_vars | {"iteration", "learning_rate"}]
        np.testing.assert_allclose(ours["u_product"], u_product, rtol=1e-6)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k)}" for n, k in CASES])
def test_flat_slots_give_the_per_weight_results(name, kwargs):
    """A scan of train steps holds the rule's slots flat (`flatten_slots`): every optimizer
    option must give the same weights and slots as the per-weight trees, to rounding (XLA
    fuses a flat vector's ops differently, so a few options differ in the last bit)."""
    opt = _build(getattr(optimizers, name), schedules, kwargs)
    flat = opt.flat_slots(PARAMS)
    assert flat == opt._slots   # all of them (plain SGD has none)
    tx = opt.make_transform()

    @jax.jit
    def steps(params, state, grads_seq):
        state = flatten_slots(state, flat)
        for grads in grads_seq:
            updates, state = tx.update(grads, state, params)
            params = optax.apply_updates(params, updates)
        return params, unflatten_slots(state, flat, params)

    params = jax.tree.map(jnp.asarray, PARAMS)
    got_params, got_state = steps(params, tx.init(params), GRADS)
    want_params, want_state = _run_ours(opt)
    for k in PARAMS:
        np.testing.assert_allclose(got_params[k], want_params[k], rtol=1e-6, atol=1e-7, err_msg=k)
    assert jax.tree.structure(got_state) == jax.tree.structure(want_state)
    for a, b in zip(jax.tree.leaves(got_state), jax.tree.leaves(want_state)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_flat_slots_only_for_elementwise_rules_on_one_dtype():
    assert optimizers.Adam().flat_slots({"a": jnp.zeros(2), "b": jnp.zeros((2, 2), jnp.bfloat16)}) == ()
    assert optimizers.Adam().flat_slots({"a": jnp.zeros(2)}) == ()

    class PerMatrix(optimizers.SGD):
        elementwise = False
    assert PerMatrix(momentum=0.9).flat_slots(PARAMS) == ()


SCHEDULES = [
    ("ExponentialDecay", (0.1, 3, 0.5), {}),
    ("ExponentialDecay", (0.1, 3, 0.5), {"staircase": True}),
    ("PiecewiseConstantDecay", ([2, 5], [0.1, 0.05, 0.01]), {}),
    ("InverseTimeDecay", (0.1, 2, 0.5), {"staircase": True}),
    ("PolynomialDecay", (0.1, 4), {"end_learning_rate": 0.01, "power": 2.0}),
    ("PolynomialDecay", (0.1, 4), {"cycle": True}),
    ("CosineDecay", (0.1, 6), {"alpha": 0.1}),
    ("CosineDecay", (0.0, 6), {"warmup_target": 0.2, "warmup_steps": 3}),
    ("CosineDecayRestarts", (0.1, 3), {"m_mul": 0.5}),
    ("CosineDecayRestarts", (0.1, 3), {"t_mul": 1.0}),
]


@pytest.mark.parametrize("name,args,kwargs", SCHEDULES)
def test_schedules_match_keras(name, args, kwargs):
    ours = getattr(schedules, name)(*args, **kwargs)
    theirs = getattr(keras.optimizers.schedules, name)(*args, **kwargs)
    expected = [float(theirs(s)) for s in range(15)]
    np.testing.assert_allclose([float(ours(s)) for s in range(15)], expected, rtol=1e-6, atol=1e-8)
    # Compiled, XLA may fuse differently (Keras's own compiled step does too).
    np.testing.assert_allclose(jax.jit(jax.vmap(ours))(jnp.arange(15)), expected, rtol=1e-5, atol=1e-8)
    config = schedules.serialize(ours)
    assert config == keras.optimizers.schedules.serialize(theirs)
    assert schedules.deserialize(config).get_config() == ours.get_config()


def test_schedule_drives_learning_rate():
    schedule = schedules.PiecewiseConstantDecay([1, 3], [0.1, 0.05, 0.01])
    opt = optimizers.SGD(schedule)
    tx = opt.make_transform()
    state = tx.init(PARAMS)
    assert float(optimizers.get_learning_rate(state)) == pytest.approx(0.1)
    for n, grads in enumerate(GRADS):
        updates, state = tx.update(grads, state, PARAMS)
        np.testing.assert_allclose(updates["w0"], -float(schedule(n)) * grads["w0"], rtol=1e-6)
        # Like Keras's `optimizer.learning_rate`: the rate of the next update.
        assert float(optimizers.get_learning_rate(state)) == pytest.approx(float(schedule(n + 1)))
    with pytest.raises(TypeError, match="schedule"):
        opt.set_learning_rate(state, 0.5)


def test_keras2_decay_is_inverse_time_decay():
    opt = optimizers.SGD(lr=0.1, decay=0.5)
    assert isinstance(opt.learning_rate, schedules.InverseTimeDecay)
    _, state = _run_ours(opt)
    assert float(optimizers.get_learning_rate(state)) == pytest.approx(0.1 / (1 + 0.5 * STEPS))


def test_set_learning_rate_without_retracing():
    opt = optimizers.SGD(0.1)
    tx = opt.make_transform()
    traces = 0

    @jax.jit
    def step(params, state, grads):
        nonlocal traces
        traces += 1
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    params = jax.tree.map(jnp.asarray, PARAMS)
    state = tx.init(params)
    assert optimizers.iterations(state).dtype == jnp.int32 and int(optimizers.iterations(state)) == 0
    for n, lr in enumerate([0.1, 0.05, 0.01, 0.2]):
        state = opt.set_learning_rate(state, lr)
        assert optimizers.get_learning_rate(state) == np.float32(lr)
        new_params, state = step(params, state, GRADS[n])
        np.testing.assert_allclose(new_params["w0"], params["w0"] - np.float32(lr) * GRADS[n]["w0"], rtol=1e-6)
        params = new_params
        assert int(optimizers.iterations(state)) == n + 1
    assert traces == 1


def test_with_slots_rebuilds_state():
    opt = optimizers.Nadam(0.1)
    tx = opt.make_transform()
    _, state = _run_ours(opt, grads_seq=GRADS[:3])
    rebuilt = optimizers.with_slots(tx.init(PARAMS), optimizers.slots(state),
                                    int(optimizers.iterations(state)))
    a, _ = tx.update(GRADS[3], state, PARAMS)
    b, _ = tx.update(GRADS[3], rebuilt, PARAMS)
    jax.tree.map(np.testing.assert_array_equal, a, b)
    with pytest.raises(ValueError, match="Unknown optimizer slot"):
        optimizers.with_slots(state, {"velocity_hat": PARAMS})
    with pytest.raises(ValueError, match="shapes"):
        optimizers.with_slots(state, {"momentum": {"w0": np.zeros((4, 3)), "w1": np.zeros(4)}})


def test_slot_names_follow_keras():
    assert optimizers.SGD().slot_names() == ()
    assert optimizers.SGD(momentum=0.9).slot_names() == ("momentum",)
    assert optimizers.RMSprop(momentum=0.9, centered=True).slot_names() == (
        "velocity", "momentum", "average_gradient")
    assert optimizers.Adam(amsgrad=True, use_ema=True, gradient_accumulation_steps=2).slot_names() == (
        "average", "gradient_accumulator", "momentum", "velocity", "velocity_hat")
    assert optimizers.Adamax().slot_names() == ("momentum", "norm")


OPTIMIZER_NAMES = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam"]


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_config_matches_keras(name):
    ours = getattr(optimizers, name)(learning_rate=0.05, clipnorm=2.0)
    theirs = getattr(keras.optimizers, name)(learning_rate=0.05, clipnorm=2.0)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert list(config) == list(keras_config)
    assert re.sub(r"_\d+$", "", config["name"]) == re.sub(r"_\d+$", "", keras_config["name"])
    for key, value in keras_config.items():
        if key not in ("name", "learning_rate"):
            assert config[key] == value, key
    assert config["learning_rate"] == pytest.approx(keras_config["learning_rate"])
    assert type(ours).from_config(config).get_config() == config
    assert getattr(keras.optimizers, name).from_config(config).get_config()["clipnorm"] == 2.0


def test_schedule_config_round_trips_through_keras():
    opt = optimizers.Adam(schedules.ExponentialDecay(0.1, 10, 0.9), weight_decay=0.01)
    config = optimizers.serialize(opt)
    assert config["module"] == "keras.optimizers" and config["class_name"] == "Adam"
    assert config["config"]["learning_rate"] == {
        "module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
        "config": {"initial_learning_rate": 0.1, "decay_steps": 10, "decay_rate": 0.9,
                   "staircase": False, "name": "ExponentialDecay"},
        "registered_name": None}
    theirs = keras.optimizers.deserialize(config)
    assert isinstance(theirs.learning_rate, jax.Array) and theirs.weight_decay == 0.01
    back = optimizers.get(keras.optimizers.serialize(theirs))
    assert back.get_config() == {**opt.get_config(), "name": theirs.name}


def test_tf_keras_configs_parse():
    legacy = {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.002, "decay": 0.0,
                                               "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-07,
                                               "amsgrad": False}}
    opt = optimizers.get(legacy)
    assert isinstance(opt, optimizers.Adam) and opt.learning_rate == 0.002 and opt.beta_1 == 0.8
    new = {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None, "jit_compile": True,
        "is_legacy_optimizer": False, "learning_rate": {"class_name": "ExponentialDecay", "config": {
            "initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.5, "staircase": False,
            "name": None}},
        "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07, "amsgrad": True}}
    opt = optimizers.get(new)
    assert isinstance(opt.learning_rate, schedules.ExponentialDecay) and opt.amsgrad
    keras2 = {"class_name": "SGD", "config": {"lr": 0.01, "momentum": 0.9, "decay": 1e-6, "nesterov": True}}
    opt = optimizers.get(keras2)
    assert opt.nesterov and opt.learning_rate.get_config()["decay_rate"] == 1e-6


@pytest.mark.parametrize("name", ["sgd", "Adam", "RMSPROP", "adagrad", "adadelta", "adamax", "nadam", "AdamW"])
def test_get_by_name(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name.lower()
    assert optimizers.get(opt) is opt


def test_get_errors_are_clear():
    with pytest.raises(ValueError, match="adamz.*adam, adamax"):
        optimizers.get("adamz")
    with pytest.raises(ValueError, match="Known names"):
        optimizers.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="optimizer identifier"):
        optimizers.get(42)
    with pytest.raises(ValueError, match="not recognized"):
        optimizers.Adam(betas=0.9)
    with pytest.raises(ValueError, match="Only one of"):
        optimizers.SGD(clipnorm=1.0, clipvalue=1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.AdamW(weight_decay=None)
    assert optimizers.get(None) is None


def test_raw_optax_transformation():
    opt = optimizers.get(optax.sgd(0.1))
    assert opt.slot_names() == ()
    _, state = _run_ours(opt)
    assert int(optimizers.iterations(state)) == STEPS and optimizers.slots(state) == {}
    with pytest.raises(ValueError, match="inject_hyperparams"):
        optimizers.get_learning_rate(state)
    with pytest.raises(ValueError, match="no Keras config"):
        opt.get_config()

    opt = optimizers.get(optax.inject_hyperparams(optax.adam)(learning_rate=0.1))
    tx = opt.make_transform()
    state = opt.set_learning_rate(tx.init(PARAMS), 0.02)
    assert optimizers.get_learning_rate(state) == np.float32(0.02)
    _, state = tx.update(GRADS[0], state, PARAMS)
    assert optimizers.get_learning_rate(state) == np.float32(0.02)
    assert int(optimizers.iterations(optimizers.with_slots(state, {}, 7))) == 7

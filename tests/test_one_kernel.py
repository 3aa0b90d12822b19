"""`backend.one_kernel.joined`: an optimizer step's weight and slots written by one XLA:CPU
kernel, with the bits the separate kernels give; and a cold `fit` compiles its step alone."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras.backend import one_kernel
from jkeras.optimizers import state as optimizer_state

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3.4e38, -1.5, 2.0 ** -126]


def _bits(x):
    x = np.asarray(x)
    return x.view({2: np.uint16, 4: np.uint32}[x.dtype.itemsize])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
def test_joined_gives_back_every_bit(dtype):
    """Signed zeros, infinities, NaN and the extremes come out as the separate kernels give them."""
    a = jnp.asarray(SPECIAL, dtype)
    b = jnp.asarray(SPECIAL[::-1], dtype)
    step = lambda x, y: [x * 3, y / 7, x - y]  # noqa: E731
    got = jax.jit(lambda x, y: one_kernel.joined(step(x, y)))(a, b)
    for want, value in zip(jax.jit(step)(a, b), got):
        np.testing.assert_array_equal(_bits(value), _bits(want))


def test_joined_outputs_come_from_one_kernel():
    def step(m, v, w, g):
        m2, v2 = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        return one_kernel.joined([w - 0.01 * m2 / (jnp.sqrt(v2) + 1e-7), m2, v2])
    x = jnp.ones((3, 3, 8, 16))
    entry = jax.jit(step).lower(x, x, x, x).compile().as_text().split("\nENTRY")[1]
    assert entry.count(" fusion(") == (1 if jax.default_backend() == "cpu" else entry.count(" fusion("))


def test_large_or_single_arrays_are_left_as_they_are():
    big = jnp.zeros(one_kernel.MAX_SIZE + 1)
    pair = [big, big + 1]
    assert all(a is b for a, b in zip(one_kernel.joined(pair), pair))
    [alone] = one_kernel.joined([big])
    assert alone is big


def _trained(monkeypatch, join):
    if not join:
        monkeypatch.setattr(optimizer_state, "joined_with_slots", lambda params, opt_state: (params, opt_state))
    jkeras.backend.clear_session()  # the same layer names, so the same initial weights
    jkeras.utils.set_random_seed(3)
    model = jkeras.Sequential([
        jkeras.layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)),
        jkeras.layers.BatchNormalization(),
        jkeras.layers.Flatten(),
        jkeras.layers.Dense(3, kernel_constraint=jkeras.constraints.max_norm(1.0))])
    model.compile(optimizer=jkeras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 8, 8, 2)).astype("float32"), rng.normal(size=(24, 3)).astype("float32")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    return model.get_weights(), jkeras.optimizers.slots(model._opt_state)


def test_training_with_joined_kernels_equals_separate_kernels(monkeypatch):
    """Equal to rounding: the joined kernel gives back its inputs' bits, but XLA may fuse a
    gradient's last elementwise operations into it and contract them differently (one BN
    slot value 1 ulp apart here)."""
    joined = _trained(monkeypatch, True)
    with monkeypatch.context() as patch:
        separate = _trained(patch, False)
    for got, want in zip(jax.tree.leaves(joined), jax.tree.leaves(separate)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-7)


def test_a_cold_fit_compiles_its_train_step_alone():
    """The metrics' results come out of the step's program and the carry's copy is the
    runtime's: no program of their own (each costs 20-60 ms of compile on a cold cache)."""
    names = []

    def listen(event, duration, **kwargs):
        if event.endswith("backend_compile_duration"):
            names.append(kwargs.get("fun_name"))
    model = jkeras.Sequential([jkeras.layers.Dense(5, input_shape=(13,), activation="tanh"),
                               jkeras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.ones((40, 13), np.float32), np.arange(40) % 2
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert names == ["jit(run)"], names
    assert sorted(history.history) == ["accuracy", "loss"]
    assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == pytest.approx(0.5)

"""Building a model compiles as little as it can, with the bits `jax.random` gives: block
draws, host key derivation, and host-made optimizer states (against JAX itself)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import initializers
from jkeras.backend import block_draws, threefry_host
from jkeras.backend import random as jk_random
from jkeras.models import host_constants

DIRECT = {
    "uniform": lambda key, n: jax.random.uniform(key, (n,)),
    "normal": lambda key, n: jax.random.normal(key, (n,)),
    "truncated_normal": lambda key, n: jax.random.truncated_normal(key, -2.0, 2.0, (n,)),
}


@pytest.mark.parametrize("kind, on_host", [("uniform", True)] + [(kind, False) for kind in sorted(DIRECT)])
@pytest.mark.parametrize("size", [0, 1, 7, block_draws.BLOCK, block_draws.BLOCK + 3, 3 * block_draws.BLOCK - 1])
def test_block_draws_equal_direct_draws(kind, size, on_host, monkeypatch):
    """The same bits for uniform draws (from the program or numpy); normal ones pass the same
    bits through erf_inv, which XLA may compile with another fused multiply-add per program:
    equal to an ulp."""
    monkeypatch.setattr(block_draws, "_on_host", lambda kind, size: on_host)
    key = jax.random.fold_in(jax.random.key(11), 5)
    got, want = block_draws.draw(key, kind, size), np.asarray(DIRECT[kind](key, size))
    if kind == "uniform":
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=3e-7, atol=3e-7)


def test_block_draws_of_a_raw_key_and_the_refused_ones():
    raw = jax.random.PRNGKey(3)
    np.testing.assert_allclose(block_draws.draw(raw, "normal", 9), np.asarray(jax.random.normal(raw, (9,))), rtol=3e-7)
    assert block_draws.supports(raw) and block_draws.supports(jax.random.key(1))
    assert not block_draws.supports(jax.random.key(1, impl="rbg"))
    with pytest.raises(ValueError, match="fewer than 2\\*\\*32"):
        block_draws.draw(raw, "uniform", 1 << 32)


@pytest.mark.parametrize("init", ["glorot_uniform", "he_normal", "lecun_normal", "orthogonal", "random_normal",
                                  "truncated_normal", "random_uniform", "variance_scaling"])
def test_initializers_equal_their_jax_random_formula(init):
    """Each initializer draws the values its jitted form (a direct `jax.random` draw) gives."""
    fn = initializers.get(init)
    key = jax.random.key(4)
    eager = np.asarray(fn(key, (33, 70)))
    traced = np.asarray(jax.jit(lambda k: fn(k, (33, 70)))(key))
    np.testing.assert_allclose(eager, traced, rtol=1e-6, atol=1e-7)
    if init in ("glorot_uniform", "random_uniform"):  # pure draws scaled in float32: equal bits
        np.testing.assert_array_equal(eager, traced)


def test_host_threefry_equals_jax():
    data = jax.random.key_data
    for seed in (0, 1, 42, 2 ** 31 - 1):
        for value in (0, 1, 123456, 2 ** 32 - 1):
            np.testing.assert_array_equal(
                data(threefry_host.seeded_fold_in(seed, np.uint32(value))),
                data(jax.random.fold_in(jax.random.key(seed), np.uint32(value))))
    key = jax.random.key(9)
    np.testing.assert_array_equal(data(threefry_host.fold_in(key, np.uint32(77))),
                                  data(jax.random.fold_in(key, np.uint32(77))))
    for num in (1, 2, 3, 17):
        np.testing.assert_array_equal(np.stack([data(k) for k in threefry_host.split(key, num)]),
                                      data(jax.random.split(key, num)))
    assert threefry_host.is_host_key(key) and not threefry_host.is_host_key(jax.random.PRNGKey(0))


def test_key_helpers_keep_their_fallbacks():
    """Seeds outside the host range and traced keys still go through JAX."""
    big = jk_random._seeded_fold_in(2 ** 40, np.uint32(3))
    np.testing.assert_array_equal(jax.random.key_data(big),
                                  jax.random.key_data(jax.random.fold_in(jax.random.key(2 ** 40), np.uint32(3))))
    traced = jax.jit(lambda k: jax.random.key_data(jk_random.split_keys(k, 2)[1]))(jax.random.key(5))
    np.testing.assert_array_equal(traced, jax.random.key_data(jax.random.split(jax.random.key(5))[1]))


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adagrad", "rmsprop", "nadam", "adamax", "ftrl", "adadelta",
                                       "adamw", "lion", "adafactor"])
def test_host_optimizer_state_equals_the_compiled_one(optimizer):
    model = jkeras.Sequential([jkeras.layers.Dense(5, input_shape=(3,)), jkeras.layers.Dense(2)])
    model.compile(optimizer=optimizer, loss="mse")
    params = {path: leaf for path, leaf in enumerate(model.trainable_weights)}
    params = {str(k): jnp.asarray(v) for k, v in params.items()}
    compiled = jax.jit(model.init_opt_state)(params)
    host = host_constants.constant_outputs(model.init_opt_state, params)
    assert host is not None
    assert jax.tree.structure(host) == jax.tree.structure(compiled)
    for got, want in zip(jax.tree.leaves(host), jax.tree.leaves(compiled)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, np.asarray(want))


def test_constant_outputs_refuses_what_reads_its_inputs():
    assert host_constants.constant_outputs(lambda p: {"copy": p * 1.0}, jnp.ones(3)) is None
    assert host_constants.constant_outputs(lambda p: jax.random.key(0), jnp.ones(3)) is None
    out = host_constants.constant_outputs(lambda p: (jnp.zeros_like(p), 3, jnp.full((2,), 0.5)), jnp.ones(3))
    np.testing.assert_array_equal(out[0], np.zeros(3, np.float32))
    np.testing.assert_array_equal(out[2], np.full(2, 0.5, np.float32))


def test_first_fit_compiles_no_init_programs():
    """Building and fitting a Dense model compiles one block draw and no optimizer init."""
    names = []

    def listen(event, duration, **kwargs):
        if event.endswith("backend_compile_duration"):
            names.append(kwargs.get("fun_name"))
    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        model = jkeras.Sequential([jkeras.layers.Dense(7, input_shape=(6,), name="blocks_probe"),
                                   jkeras.layers.Dense(3)])
        model.compile(optimizer="adam", loss="mse")
        model.fit(np.ones((8, 6), np.float32), np.ones((8, 3), np.float32), verbose=0)
    finally:
        jax.monitoring.unregister_event_duration_listener(listen)
    assert not [n for n in names if n and ("init_opt_state" in n or "fold_in" in n or "split" in n)], names

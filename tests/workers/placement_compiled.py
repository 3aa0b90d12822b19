"""Device-placed models compiled by device segment, on 2 host CPU devices: `python
placement_compiled.py CHECK` runs one check and prints `OK CHECK`."""
import contextlib
import os
import sys

# after the flags the tests run with (conftest.py's fast-compiling ones)
os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers  # noqa: E402
from jkeras.models import placed  # noqa: E402

D0, D1 = jax.devices()
rng = np.random.default_rng(0)


def on(device_index, really):
    """`jkeras.device('cpu:i')`, or no scope for the unplaced reference."""
    return jkeras.device(f"cpu:{device_index}") if really else contextlib.nullcontext()


def devices_of(tree):
    return {d.id for x in jax.tree.leaves(tree) for d in x.devices()}


def close(a, b, tol=1e-6):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def train_program(model):
    """The one plan of the model's single-step train program (fit on arrays)."""
    (fn,) = [f for k, f in model._jitted.items() if k[0] == "train"]
    (plan,) = fn.plans.values()
    return plan


def function_segments():
    """A two-device function: values and gradients as numpy computes them, outputs where the
    placements put them, and the forward and backward as one program per device segment."""
    w0, w1 = rng.normal(size=(4, 5)).astype("float32"), rng.normal(size=(5, 3)).astype("float32")
    x = rng.normal(size=(6, 4)).astype("float32")

    def loss(ws, x):
        h = jnp.tanh(x @ ws[0])
        y = jax.device_put(jax.device_put(h, D1) @ jax.device_put(ws[1], D1), D0)
        return jnp.sum(y ** 2)

    def step(ws, x):
        value, grads = jax.value_and_grad(loss)(ws, x)
        return value, [w - 0.1 * g for w, g in zip(ws, grads)], jax.device_put(grads[1], D1)

    fn = placed.compile_placed(step, D0)
    value, new, g1 = fn([jax.device_put(w0, D0), jax.device_put(w1, D1)], x)
    h = np.tanh(x @ w0)
    y = h @ w1
    dy = 2 * y
    dw1 = h.T @ dy
    dw0 = x.T @ ((dy @ w1.T) * (1 - h ** 2))
    close(value, np.sum(y ** 2), 1e-5)
    close(new, [w0 - 0.1 * dw0, w1 - 0.1 * dw1], 1e-5)
    close(g1, dw1, 1e-5)
    assert devices_of(value) == {0} and devices_of(new[0]) == {0} and devices_of(new[1]) == {1}
    assert devices_of(g1) == {1}
    (plan,) = fn.plans.values()
    assert [d.id for d, *_ in plan.segments] == [0, 1, 0, 1, 0], plan.segments  # fwd, fwd, loss, bwd, bwd
    fn([jax.device_put(w0, D0), jax.device_put(w1, D1)], x)
    assert len(fn.plans) == 1  # the same signature runs the same programs


def mlp(really):
    jkeras.utils.set_random_seed(0)
    inp = layers.Input((10,))
    with on(0, really):
        h = layers.Dense(16, activation="relu", name="a")(inp)
    with on(1, really):
        h = layers.Dense(16, activation="tanh", name="b")(h)
    out = layers.Dense(3, activation="softmax", name="c")(h)
    model = jkeras.Model(inp, out)
    model.compile(jkeras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model


def mlp_like_unplaced():
    """A Dense model over two devices trains like the unplaced one: same losses and weights
    after 3 epochs of fit and a train_on_batch, same evaluate; each layer's weights and
    optimizer slots on its device, one trace, and a handful of compiled programs per step."""
    x = rng.normal(size=(64, 10)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    runs = {}
    for really in (False, True):
        model = mlp(really)
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0)
        runs[really] = (history.history, model.train_on_batch(x[:16], y[:16]),
                        model.evaluate(x, y, batch_size=32, verbose=0), model.get_weights(), model)
    close(runs[False][:4], runs[True][:4])
    model = runs[True][4]
    state = model.get_train_state()
    assert {name: devices_of(state.trainable[name]) for name in "abc"} == {"a": {0}, "b": {1}, "c": {0}}
    slots = jkeras.optimizers.slots(state.opt_state)
    assert {name: devices_of(slots["momentum"][name]) for name in "abc"} == {"a": {0}, "b": {1}, "c": {0}}
    assert dict(model._trace_counts) == {"train": 1, "train_batch": 1, "test": 1}
    segments = train_program(model).segments
    assert 3 <= len(segments) <= 6 and {d.id for d, *_ in segments} == {0, 1}, segments


def conv_bn_dropout():
    """Conv, BatchNormalization and Dropout on their devices, with steps_per_execution=2:
    fit and predict give the unplaced model's numbers (the same dropout bits), and the
    moving statistics stay on their device."""
    x = rng.normal(size=(32, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, 32)
    runs = {}
    for really in (False, True):
        jkeras.utils.set_random_seed(0)
        inp = layers.Input((6, 6, 1))
        with on(1, really):
            h = layers.Conv2D(4, 3, activation="relu", name="conv")(inp)
            h = layers.Flatten()(layers.BatchNormalization(name="bn")(h))
        with on(0, really):
            h = layers.Dropout(0.3, name="drop")(h)
        model = jkeras.Model(inp, layers.Dense(3, activation="softmax", name="head")(h))
        model.compile(jkeras.optimizers.RMSprop(0.01), "sparse_categorical_crossentropy",
                      metrics=["accuracy"], steps_per_execution=2)
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
        runs[really] = (history.history, model.predict(x, batch_size=16, verbose=0), model.get_weights(),
                        model)
    close(runs[False][:3], runs[True][:3], 1e-5)  # RMSprop amplifies the convolution's rounding
    model = runs[True][3]
    state = model.get_train_state()
    assert devices_of(state.state["bn"]) == {1} and devices_of(state.trainable["conv"]) == {1}
    assert devices_of(state.trainable["head"]) == {0}
    assert dict(model._trace_counts) == {"train": 1, "predict": 1}


def shared_layer():
    """The Keras FAQ's device parallelism: one Dense encodes two inputs, each call on its own
    device, merged on the first; trains like the unplaced model."""
    xa, xb = rng.normal(size=(32, 6)).astype("float32"), rng.normal(size=(32, 6)).astype("float32")
    target = (xa[:, :1] > xb[:, :1]).astype("float32")
    runs = {}
    for really in (False, True):
        jkeras.utils.set_random_seed(1)
        input_a, input_b = layers.Input((6,)), layers.Input((6,))
        shared = layers.Dense(4, activation="tanh", name="shared")
        with on(1, really):
            encoded_a = shared(input_a)
        with on(0, really):
            encoded_b = shared(input_b)
            merged = layers.concatenate([encoded_a, encoded_b])
        model = jkeras.Model([input_a, input_b], layers.Dense(1, activation="sigmoid", name="head")(merged))
        model.compile("sgd", "binary_crossentropy")
        history = model.fit([xa, xb], target, batch_size=8, epochs=2, verbose=0)
        runs[really] = history.history, model.get_weights(), model
    close(runs[False][:2], runs[True][:2])
    assert devices_of(runs[True][2].get_train_state().trainable["shared"]) == {1}  # its first call's


if __name__ == "__main__":
    check = sys.argv[1]
    {"function_segments": function_segments, "mlp_like_unplaced": mlp_like_unplaced,
     "conv_bn_dropout": conv_bn_dropout, "shared_layer": shared_layer}[check]()
    print("OK", check)

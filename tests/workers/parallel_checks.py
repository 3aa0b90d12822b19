"""Multi-device checks, run in a subprocess with 8 host CPU devices; prints `OK <name>` lines."""
import os

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
os.environ["JAX_PLATFORMS"] = "cpu"

import jax  # noqa: E402
import numpy as np  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers  # noqa: E402
from jkeras.distribution import DataParallel, ModelParallel  # noqa: E402

rng = np.random.default_rng(0)
X = rng.normal(size=(64, 10)).astype("float32")
Y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]


def build():
    jkeras.utils.set_random_seed(0)
    return jkeras.Sequential([layers.Dense(32, activation="relu", input_shape=(10,), name="h"),
                              layers.BatchNormalization(name="bn"),
                              layers.Dense(3, activation="softmax", name="out")])


def train(model, **fit):
    model.compile(jkeras.optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=16, epochs=3, shuffle=True, verbose=0, **fit)
    return history.history["loss"], model.get_weights()


def close(a, b):
    return all(np.allclose(x, y, rtol=1e-5, atol=1e-5) for x, y in zip(a, b))


reference_loss, reference = train(build())

for n in (2, 4, 8):
    template = build()
    parallel = jkeras.utils.multi_gpu_model(template, gpus=n)
    loss, weights = train(parallel)
    assert np.allclose(loss, reference_loss, rtol=1e-5), (n, loss, reference_loss)
    assert close(weights, reference), n
    assert close(template.get_weights(), reference), "template shares the weights"
    kernel = template.get_layer("h").kernel.value
    print("OK multi_gpu_model", n, len(kernel.sharding.device_set))
    preds = parallel.predict(X[:50], batch_size=16)
    assert np.allclose(preds, template.predict(X[:50]), rtol=1e-5, atol=1e-6)

with DataParallel(devices=jax.devices()[:4]).scope():
    loss, weights = train(build())
assert close(weights, reference)
print("OK DataParallel scope")

layout = {"h/kernel": (None, "model"), "out/kernel": ("model", None)}
jkeras.distribution.set_distribution(ModelParallel(layout, mesh_shape=(2, 4)))
model = build()
loss, weights = train(model)
jkeras.distribution.set_distribution(None)
assert close(weights, reference)
spec = model.get_layer("h").kernel.value.sharding.spec
assert tuple(spec) == (None, "model"), spec
print("OK ModelParallel", spec)

try:
    jkeras.distribution.set_distribution(ModelParallel({"nothing_like_this": (None, "model")}))
    train(build())
except ValueError as error:
    jkeras.distribution.set_distribution(None)
    assert "matches no weight" in str(error)
    print("OK layout error")
try:
    jkeras.utils.multi_gpu_model(build(), gpus=16)
except ValueError as error:
    assert "8 are visible" in str(error)
    print("OK too many devices")
try:
    jkeras.device("gpu:3")
except ValueError as error:
    assert "does not exist" in str(error)
    print("OK bad device string")

# The FAQ's device parallelism: a shared layer encodes two inputs, each on its own device.
jkeras.utils.set_random_seed(1)
input_a, input_b = layers.Input((6,)), layers.Input((6,))
shared = layers.Dense(4, activation="tanh", name="shared")
with jkeras.device("cpu:1"):
    encoded_a = shared(input_a)
with jkeras.device("cpu:2"):
    encoded_b = shared(input_b)
with jkeras.device("cpu:0"):
    merged = layers.concatenate([encoded_a, encoded_b], axis=-1)
out = layers.Dense(1, name="head")(merged)
model = jkeras.Model([input_a, input_b], out)
branch = jkeras.Model([input_a, input_b], [encoded_a, encoded_b])
xa, xb = X[:, :6], X[:, 4:]
ea, eb = branch._run(branch._own_tree(True), {}, [xa, xb])[0]
assert ea.devices() == {jax.devices()[1]} and eb.devices() == {jax.devices()[2]}, (ea.devices(), eb.devices())
model.compile("sgd", "mse")
before = shared.get_weights()[0].copy()
model.fit([xa, xb], Y[:, :1], epochs=1, batch_size=16, verbose=0)
assert not np.array_equal(before, shared.get_weights()[0])
print("OK device placement", sorted(d.id for d in ea.devices() | eb.devices()))

"""Data-parallel training on every local device (GPUs, TPU cores, or CPU devices).

Data parallelism splits each batch over the devices, keeps a replicated copy of the
weights on each, and lets XLA sum the gradients. As in Keras 3, build and compile the
model inside a `jkeras.distribution.DataParallel` scope and train as usual. The
script then trains the same model on one device and checks that both runs end with
the same weights, up to floating-point rounding (the gradient sums are added in
another order).

It runs on any number of devices. Without GPUs, let XLA split the CPU into several
devices:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 JAX_PLATFORMS=cpu \
        python examples/data_parallel.py

or simply `python examples/data_parallel.py` (one device: nothing is split, and the
same code still runs). With `JKERAS_EXAMPLES_SMALL=1` it trains on 256 samples for
one epoch (how the tests run it, with 4 CPU devices).
"""
# docs-test: devices=4
import os

import jax
import numpy as np

import jkeras
from jkeras import layers
from jkeras.distribution import DataParallel

SMALL = os.environ.get("JKERAS_EXAMPLES_SMALL") == "1"
SAMPLES = 256 if SMALL else 8192
EPOCHS = 1 if SMALL else 5


def build():
    jkeras.utils.set_random_seed(0)          # the same initial weights for every run
    model = jkeras.Sequential([layers.Dense(64, activation="relu", input_shape=(20,), name="hidden"),
                               layers.Dense(3, activation="softmax", name="out")])
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def main():
    devices = jax.local_devices()
    print(len(devices), "device(s):", jkeras.distribution.list_devices())
    batch_size = 16 * len(devices)           # the global batch; it must divide by the device count

    rng = np.random.default_rng(0)
    x = rng.normal(size=(SAMPLES, 20)).astype("float32")
    y = jkeras.utils.to_categorical((x[:, :3].argmax(axis=1)), 3)

    with DataParallel(devices=devices).scope():
        model = build()
    model.fit(x, y, batch_size=batch_size, epochs=EPOCHS, verbose=2)
    kernel = model.get_layer("hidden").kernel.value                 # a jax.Array
    print("the hidden kernel lives on", len(kernel.sharding.device_set), "device(s)")

    single = build()                                                 # no scope: one device
    single.fit(x, y, batch_size=batch_size, epochs=EPOCHS, verbose=0)
    for a, b in zip(model.get_weights(), single.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    print("same weights as one-device training (to rounding)")

    loss, accuracy = model.evaluate(x, y, batch_size=batch_size, verbose=0)
    print(f"loss {loss:.3f}, accuracy {accuracy:.3f}")
    model.save("data_parallel.h5")          # an ordinary Keras .h5; loads on any device count
    restored = jkeras.models.load_model("data_parallel.h5")
    np.testing.assert_allclose(restored.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0),
                               rtol=1e-6, atol=1e-6)


if __name__ == "__main__":
    main()

"""Training speed of a model split over two devices: `python scripts/bench_placed.py [--steps N]`.

Runs on 2 XLA host CPU devices. For an MLP and a small CNN, each split in two halves by
`with jkeras.device(...)`, prints train steps/s of: the placed model run op by op
(`run_eagerly=True`, how placed models trained before `models.placed`), the placed model
compiled one program per device segment (the default), and the same model unplaced (one
jitted program, for reference); each the median of 3 timed epochs after a warm-up epoch.
"""
import argparse
import contextlib
import os
import statistics
import time

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["JAX_PLATFORMS"] = "cpu"

import numpy as np  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers  # noqa: E402


def mlp(scope):
    """784-256-256-10 MLP: the first half on the first scope's device, the rest on the second's."""
    inp = layers.Input((784,))
    with scope(0):
        h = layers.Dense(256, activation="relu")(inp)
    with scope(1):
        h = layers.Dense(256, activation="relu")(h)
        out = layers.Dense(10, activation="softmax")(h)
    return jkeras.Model(inp, out), (784,)


def cnn(scope):
    """Two conv blocks on the first device, the classifier on the second."""
    inp = layers.Input((28, 28, 1))
    with scope(0):
        h = layers.Conv2D(16, 3, activation="relu")(inp)
        h = layers.MaxPooling2D()(h)
        h = layers.Conv2D(32, 3, activation="relu")(h)
    with scope(1):
        h = layers.Flatten()(layers.MaxPooling2D()(h))
        out = layers.Dense(10, activation="softmax")(layers.Dense(64, activation="relu")(h))
    return jkeras.Model(inp, out), (28, 28, 1)


def steps_per_second(build, placed, eager, steps, batch_size=32):
    """Median train steps/s over 3 epochs of `steps` batches, after one warm-up epoch."""
    jkeras.utils.set_random_seed(0)
    model, shape = build(lambda i: jkeras.device(f"cpu:{i}") if placed else contextlib.nullcontext())
    model.compile(jkeras.optimizers.Adam(1e-3), "categorical_crossentropy", run_eagerly=eager)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * batch_size,) + shape).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, len(x))]
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    times = []
    for _ in range(3):
        began = time.perf_counter()
        model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        times.append(time.perf_counter() - began)
    return steps / statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20, help="train steps per timed epoch")
    args = parser.parse_args()
    print(f"{'model':6} {'op by op':>10} {'segments':>10} {'unplaced':>10}   (train steps/s, batch 32)")
    for name, build in (("mlp", mlp), ("cnn", cnn)):
        eager = steps_per_second(build, True, True, args.steps)
        compiled = steps_per_second(build, True, False, args.steps)
        plain = steps_per_second(build, False, False, args.steps)
        print(f"{name:6} {eager:10.1f} {compiled:10.1f} {plain:10.1f}   segments {compiled / eager:.1f}x op by op")


if __name__ == "__main__":
    main()

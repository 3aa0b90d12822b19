"""Data-parallel throughput on 1, 2, 4 and 8 devices: `python scripts/bench_parallel.py [--quick]`.

Each device count runs in its own process. On CPU the devices are XLA host devices
sharing the same cores, so this measures the overhead of splitting batches; on a GPU/TPU
machine it measures scaling. On a CPU with fewer cores than devices, XLA's collectives
can stall (its host devices need a thread each); such a run is reported as `stalled`.
"""
import argparse
import os
import subprocess
import sys
import time


def worker(n, samples, batch_size):
    import jax
    import numpy as np

    import jkeras
    from jkeras import layers
    from jkeras.distribution import DataParallel

    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, 784)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, samples)]
    jkeras.utils.set_random_seed(0)
    model = jkeras.Sequential([layers.Dense(512, activation="relu", input_shape=(784,)),
                               layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    with DataParallel(devices=jax.devices()[:n]).scope():
        model.compile("adam", "categorical_crossentropy")
    model.fit(x[:batch_size * 2], y[:batch_size * 2], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
    print("RATE", samples / (time.perf_counter() - start), jax.devices()[0].platform)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--worker", type=int)
    parser.add_argument("--samples", type=int)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.samples, args.batch_size)
    samples = 8192 if args.quick else 65536
    print(f"{samples} samples, batch {args.batch_size}, MLP 784-512-512-10, one process per row")
    print(f"{'devices':>8} | {'samples/s':>10} | {'vs 1 device':>11}")
    base = None
    for n in (1, 2, 4, 8):
        env = dict(os.environ)
        if "cuda" not in env.get("JAX_PLATFORMS", "") and "gpu" not in env.get("JAX_PLATFORMS", ""):
            env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n}"
        try:
            proc = subprocess.run([sys.executable, __file__, "--worker", str(n), "--samples", str(samples),
                                   "--batch-size", str(args.batch_size)], capture_output=True, text=True,
                                  env=env, timeout=300)
            lines = [line for line in proc.stdout.splitlines() if line.startswith("RATE")]
        except subprocess.TimeoutExpired:
            lines = []
        if not lines:
            print(f"{n:>8} | {'stalled':>10} |")
            continue
        rate = float(lines[0].split()[1])
        base = base or rate
        print(f"{n:>8} | {rate:>10.0f} | {rate / base:>10.2f}x")


if __name__ == "__main__":
    main()

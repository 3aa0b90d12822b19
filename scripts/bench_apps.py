"""Applications inference: ResNet50 and MobileNetV2, jkeras vs Keras 3 (JAX backend).

`python scripts/bench_apps.py [--batch 8] [--size 224] [--repeats 5]` builds each model with
`weights=None` in its own process, times the first `predict` (compile included) and the
median of the next calls, and prints images/s and the jkeras/Keras 3 ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

MODELS = ("ResNet50", "MobileNetV2")


def worker(library, name, batch, size, repeats):
    import numpy as np
    if library == "keras":
        os.environ["KERAS_BACKEND"] = "jax"
        import keras as lib
    else:
        import jkeras as lib
    start = time.perf_counter()
    model = getattr(lib.applications, name)(weights=None, input_shape=(size, size, 3))
    built = time.perf_counter() - start
    x = np.random.default_rng(0).uniform(0, 255, (batch, size, size, 3)).astype("float32")
    start = time.perf_counter()
    model.predict(x, batch_size=batch, verbose=0)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(x, batch_size=batch, verbose=0)
        times.append(time.perf_counter() - start)
    print(json.dumps({"build": built, "first": first, "steady": statistics.median(times)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--worker", nargs=2)
    args = parser.parse_args()
    if args.worker:
        return worker(*args.worker, args.batch, args.size, args.repeats)
    print(f"batch {args.batch}, {args.size}x{args.size}x3, weights=None, {os.cpu_count()} CPUs")
    print(f"{'model':<12} | {'library':<7} | {'build s':>7} | {'first predict s':>15} | {'images/s':>8}")
    for name in MODELS:
        results = {}
        for library in ("jkeras", "keras"):
            proc = subprocess.run([sys.executable, __file__, "--worker", library, name, "--batch",
                                   str(args.batch), "--size", str(args.size), "--repeats",
                                   str(args.repeats)], capture_output=True, text=True, timeout=1800)
            if proc.returncode:
                print(f"{name:<12} | {library:<7} | failed: {proc.stderr.strip().splitlines()[-1]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results[library] = r
            print(f"{name:<12} | {library:<7} | {r['build']:>7.1f} | {r['first']:>15.2f} | "
                  f"{args.batch / r['steady']:>8.1f}")
        if len(results) == 2:
            j, k = results["jkeras"], results["keras"]
            print(f"{name}: images/s jkeras/keras3 {k['steady'] / j['steady']:.2f}x, "
                  f"first predict jkeras/keras3 {j['first'] / k['first']:.2f}x (lower is better)")


if __name__ == "__main__":
    main()

"""ImageDataGenerator throughput: augmented images per second, jkeras against tf.keras 2.

    python scripts/bench_augment.py                       # jkeras, then tf.keras in its own venv
    python scripts/bench_augment.py --tf-python /opt/tfref/bin/python --tf-path /tmp/tfextra
    python scripts/bench_augment.py --side jkeras         # one side only

tf.keras's image module needs scipy (and Pillow); `--tf-path` is put on its PYTHONPATH for them.
Both sides flow the same arrays with the same generator arguments and seed, and draw the same
transforms (the tests check the pixels agree); the sides alternate `--rounds` times and the
median of each side's images/s is reported, since these machines are shared and noisy.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = {  # name -> (image shape, batch size, batches per timing, generator arguments)
    "cifar_typical_32px": ((32, 32, 3), 32, 40, dict(rotation_range=15, width_shift_range=0.1,
                                                      height_shift_range=0.1, zoom_range=0.1,
                                                      horizontal_flip=True)),
    "heavy_96px": ((96, 96, 3), 32, 10, dict(rotation_range=30, width_shift_range=0.2,
                                              height_shift_range=0.2, shear_range=10,
                                              zoom_range=0.2, channel_shift_range=20.0,
                                              horizontal_flip=True, fill_mode="reflect",
                                              samplewise_center=True)),
    "flips_only_32px": ((32, 32, 3), 64, 40, dict(horizontal_flip=True, vertical_flip=True)),
}


def measure(side):
    """`{workload: images per second}` for one side, in this process."""
    import numpy as np
    if side == "jkeras":
        from jkeras.preprocessing.image import ImageDataGenerator
    else:
        from tf_keras.preprocessing.image import ImageDataGenerator
    out = {}
    for name, (shape, batch, batches, kwargs) in WORKLOADS.items():
        x = np.random.RandomState(0).uniform(0, 255, (batch * 4,) + shape).astype("float32")
        it = ImageDataGenerator(**kwargs).flow(x, batch_size=batch, seed=1)
        next(it)  # warm-up
        start = time.perf_counter()
        for _ in range(batches):
            next(it)
        out[name] = batch * batches / (time.perf_counter() - start)
    return out


def run_side(side, python, extra_path):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [extra_path, env.get("PYTHONPATH")]))
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([python, os.path.abspath(__file__), "--side", side, "--json"],
                          capture_output=True, text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", choices=("jkeras", "tf_keras"))
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--tf-python", default="/opt/tfref/bin/python")
    parser.add_argument("--tf-path", default="/tmp/tfextra")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.side:
        result = measure(args.side)
        print(json.dumps(result) if args.json else result)
        return
    runs = {"jkeras": [], "tf_keras": []}
    for _ in range(args.rounds):
        runs["jkeras"].append(run_side("jkeras", sys.executable, None))
        if os.path.exists(args.tf_python):
            runs["tf_keras"].append(run_side("tf_keras", args.tf_python, args.tf_path))
    print(f"{'workload':<22}{'jkeras img/s':>14}{'tf.keras img/s':>16}{'ratio':>8}")
    for name in WORKLOADS:
        ours = statistics.median(r[name] for r in runs["jkeras"])
        theirs = statistics.median(r[name] for r in runs["tf_keras"]) if runs["tf_keras"] else float("nan")
        print(f"{name:<22}{ours:>14.0f}{theirs:>16.0f}{ours / theirs:>7.2f}x")


if __name__ == "__main__":
    main()

"""Application training (ResNet50 unless `--model` says): jkeras against Keras 3 (JAX backend)
and tf.keras 2, one process each.

    python scripts/bench_resnet_train.py [--model MobileNetV2] [--size 96] [--batch 8] [--samples 32]
        [--epochs 3] [--tf-python /opt/tfref/bin/python]

Each library builds `applications.<model>(weights=None, input_shape=(size, size, 3),
classes=10)`, compiles SGD with sparse categorical cross-entropy and fits the same random
data (numpy seed 0); printed: the first epoch (compile included), and the steady epochs'
images per second and per CPU-second (median over the epochs after the first).
"""
import argparse
import json
import os
import subprocess
import sys
import time


def worker(library, name, size, batch, samples, epochs):
    import numpy as np
    if library == "keras3":
        os.environ["KERAS_BACKEND"] = "jax"
        import keras as lib
    elif library == "tfkeras":
        import tf_keras as lib
    else:
        import jkeras as lib
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, size, size, 3), dtype=np.float32)
    y = rng.integers(0, 10, samples).astype(np.int32)
    model = getattr(lib.applications, name)(weights=None, input_shape=(size, size, 3), classes=10)
    model.compile(optimizer=lib.optimizers.SGD(learning_rate=0.01), loss="sparse_categorical_crossentropy")
    ends = []

    class Timer(lib.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            ends.append((time.perf_counter(), time.process_time()))

    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, callbacks=[Timer()])
    walls = [b[0] - a[0] for a, b in zip(ends, ends[1:])]
    cpus = [b[1] - a[1] for a, b in zip(ends, ends[1:])]
    return {"library": library, "first_epoch_s": ends[0][0] - start,
            "images_per_s": samples / sorted(walls)[len(walls) // 2],
            "images_per_cpu_s": samples / sorted(cpus)[len(cpus) // 2]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ResNet50", help="an application's name, e.g. MobileNetV2")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tf-python", default=None, help="python with tf_keras (no tf.keras row without it)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = worker(args.worker, args.model, args.size, args.batch, args.samples, args.epochs)
        print("RESULT " + json.dumps(result))
        return
    rows = [("jkeras", sys.executable), ("keras3", sys.executable)]
    if args.tf_python:
        rows.append(("tfkeras", args.tf_python))
    for library, python in rows:
        out = subprocess.run([python, os.path.abspath(__file__), "--worker", library, "--model", args.model,
                              "--size", str(args.size), "--batch", str(args.batch), "--samples", str(args.samples),
                              "--epochs", str(args.epochs)], capture_output=True, text=True)
        line = [text for text in out.stdout.splitlines() if text.startswith("RESULT ")]
        if not line:
            print(f"{library}: failed\n{out.stderr[-2000:]}")
            continue
        result = json.loads(line[0][7:])
        print(f"{library:8s} first epoch {result['first_epoch_s']:6.1f} s, steady {result['images_per_s']:6.2f} "
              f"images/s, {result['images_per_cpu_s']:6.2f} per CPU-s")


if __name__ == "__main__":
    main()

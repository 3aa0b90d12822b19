"""Train one epoch from an on-disk HDF5 file (`HDF5Matrix`) and from the same data in memory.

Writes an HDF5 dataset (default 2 GB; `--quick`: 200 MB) to a temporary folder, then runs each
contender in a fresh process, so that its peak RSS is its own, and prints samples/s, peak RSS
and the RSS growth during the timed epoch (the compile happens before, in a warm-up). The file
was just written, so it is likely in the OS page cache: this measures jkeras's reading and
memory, not the disk. Linux only (RSS from /proc/self/statm).

    python scripts/bench_data.py [--size-gb 2] [--quick] [--batch-size 1024] [--features 256]
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_dataset(path, rows, features, chunk=16384):
    """`x` (rows, features) and `y = x @ w` (rows, 1), float32, written chunk by chunk."""
    rng = np.random.default_rng(0)
    w = rng.normal(size=(features, 1)).astype("float32") / np.sqrt(features)
    with h5py.File(path, "w") as f:
        xs = f.create_dataset("x", (rows, features), "float32")
        ys = f.create_dataset("y", (rows, 1), "float32")
        for start in range(0, rows, chunk):
            x = rng.standard_normal((min(chunk, rows - start), features), dtype=np.float32)
            xs[start:start + len(x)], ys[start:start + len(x)] = x, x @ w


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_growth(fn):
    """Peak RSS above the start while `fn()` runs, sampled every 2 ms."""
    done, start = threading.Event(), rss()
    peak = [start]

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    return max(peak[0], rss()) - start


def run_contender(kind, path, rows, batch_size):
    """One contender in this process; prints its numbers as one JSON line."""
    import jax
    import jkeras
    from jkeras import layers
    from jkeras.utils import HDF5Matrix

    if kind == "hdf5":
        x, y = HDF5Matrix(path, "x", end=rows), HDF5Matrix(path, "y", end=rows)
        warm = dict(x=HDF5Matrix(path, "x", end=4 * batch_size),
                    y=HDF5Matrix(path, "y", end=4 * batch_size))
        shuffle = "batch"
    else:
        with h5py.File(path, "r") as f:
            x, y = f["x"][:rows], f["y"][:rows]
        warm = dict(x=x, y=y, steps_per_epoch=2)  # the same shapes, so the timed fit reuses it
        shuffle = True
    jkeras.utils.set_random_seed(0)
    model = jkeras.Sequential([layers.Dense(256, activation="relu", input_shape=(x.shape[1],)),
                               layers.Dense(1)])
    model.compile("adam", "mse")
    model.fit(batch_size=batch_size, epochs=1, verbose=0, **warm)
    before = rss()
    timer = {}

    def epoch():
        start = time.perf_counter()
        timer["loss"] = model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=shuffle,
                                  verbose=0).history["loss"][-1]
        timer["seconds"] = time.perf_counter() - start
    growth = peak_rss_growth(epoch)
    print(json.dumps({"kind": kind, "rows": rows, "samples_per_s": rows / timer["seconds"],
                      "seconds": timer["seconds"], "loss": timer["loss"], "shuffle": shuffle,
                      "rss_before_mb": before / 1e6, "growth_mb": growth / 1e6,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
                      "backend": jax.default_backend()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=2.0, help="HDF5 file size (default 2)")
    parser.add_argument("--quick", action="store_true", help="a 0.2 GB file")
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--features", type=int, default=256)
    parser.add_argument("--dir", help="where to write the file (default: a temporary folder)")
    parser.add_argument("--contender", choices=["hdf5", "memory"], help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.contender:
        return run_contender(args.contender, args.path, args.rows, args.batch_size)

    size = 0.2e9 if args.quick else args.size_gb * 1e9
    row_bytes = 4 * (args.features + 1)
    rows = int(size // row_bytes) // args.batch_size * args.batch_size
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    memory_rows = min(rows, int(ram / 8 // row_bytes) // args.batch_size * args.batch_size)
    folder = args.dir or tempfile.mkdtemp(prefix="jkeras_bench_data_")
    path = os.path.join(folder, "bench_data.h5")
    try:
        start = time.perf_counter()
        write_dataset(path, rows, args.features)
        print(f"wrote {os.path.getsize(path) / 1e9:.2f} GB to {path} ({rows:,} rows x "
              f"{args.features} float32 + 1 target) in {time.perf_counter() - start:.1f} s")
        results = {}
        for kind, n in (("hdf5", rows), ("memory", memory_rows)):
            out = subprocess.run([sys.executable, os.path.abspath(__file__), "--contender", kind,
                                  "--path", path, "--rows", str(n), "--batch-size",
                                  str(args.batch_size)], check=True, capture_output=True, text=True)
            results[kind] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    hdf5, memory = results["hdf5"], results["memory"]
    print(f"backend {hdf5['backend']}, batch {args.batch_size}, one epoch after a compile warm-up")
    print(f"{'source':<22}{'rows':>12}{'samples/s':>12}{'peak RSS MB':>13}{'RSS before MB':>15}"
          f"{'growth in epoch MB':>20}")
    for name, r in ((f"HDF5Matrix ({hdf5['shuffle']!r})", hdf5),
                    (f"in memory ({memory['shuffle']!r})", memory)):
        print(f"{name:<22}{r['rows']:>12,}{r['samples_per_s']:>12,.0f}{r['peak_rss_mb']:>13,.0f}"
              f"{r['rss_before_mb']:>15,.0f}{r['growth_mb']:>20,.1f}")
    file_mb = rows * row_bytes / 1e6
    print(f"HDF5 / in memory: samples/s x{hdf5['samples_per_s'] / memory['samples_per_s']:.2f}, "
          f"peak RSS x{hdf5['peak_rss_mb'] / memory['peak_rss_mb']:.2f}; the HDF5 epoch grew RSS "
          f"by {hdf5['growth_mb']:.1f} MB while reading a {file_mb:,.0f} MB file "
          f"({100 * hdf5['growth_mb'] / file_mb:.1f}% of it)")


if __name__ == "__main__":
    main()

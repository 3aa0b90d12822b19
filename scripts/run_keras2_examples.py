"""Run Keras 2.3.1's own example scripts, unedited, on jkeras (imported as `keras`), and tally them.

    pip download keras==2.3.1 --no-deps --no-binary :all: -d /tmp/k23 && tar xzf /tmp/k23/Keras-2.3.1.tar.gz -C /tmp/k23
    python scripts/run_keras2_examples.py /tmp/k23/Keras-2.3.1/examples [--timeout 300] [names...]

The machine has no network, so each script runs with the Keras datasets replaced by random arrays
of the real sizes, shapes and dtypes, and with every `fit`/`fit_generator` capped at one epoch
(the scripts train for hundreds); nothing else is changed. A script that needs another download
(`get_file` of a text corpus or of pretrained weights) is reported as such.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

PRELUDE = r'''
import sys, runpy
import numpy as np
import jkeras
jkeras.install_as_keras()
rng = np.random.default_rng(0)

def _images(n, shape, classes, label_shape):
    x = rng.integers(0, 256, (n,) + shape, dtype=np.uint8)
    return x, rng.integers(0, classes, (n,) + label_shape).astype(np.uint8)

def _sequences(n, num_words, maxlen):
    top = num_words or 5000
    data = np.empty(n, dtype=object)
    for i in range(n):
        data[i] = [1] + list(rng.integers(2, top, rng.integers(5, maxlen or 120)))
    return data

def _patch_datasets():
    from jkeras.datasets import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
    for module, shape in ((mnist, (28, 28)), (fashion_mnist, (28, 28))):
        module.load_data = lambda *a, shape=shape, **k: (_images(60000, shape, 10, ()), _images(10000, shape, 10, ()))
    cifar10.load_data = lambda *a, **k: (_images(50000, (32, 32, 3), 10, (1,)), _images(10000, (32, 32, 3), 10, (1,)))
    cifar100.load_data = lambda *a, **k: (_images(50000, (32, 32, 3), 100, (1,)), _images(10000, (32, 32, 3), 100, (1,)))
    def text(classes, sizes):
        def load_data(path=None, num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113, **kwargs):
            train, test = sizes
            return ((_sequences(train, num_words, maxlen), rng.integers(0, classes, train)),
                    (_sequences(test, num_words, maxlen), rng.integers(0, classes, test)))
        return load_data
    imdb.load_data, reuters.load_data = text(2, (25000, 25000)), text(46, (8982, 2246))
    imdb.get_word_index = reuters.get_word_index = lambda *a, **k: {f"w{i}": i for i in range(1, 5000)}
    boston_housing.load_data = lambda *a, **k: ((rng.normal(size=(404, 13)), rng.normal(size=404) + 20),
                                                (rng.normal(size=(102, 13)), rng.normal(size=102) + 20))

def _cap_epochs():
    from jkeras.models.model import Model
    for name in ("fit", "fit_generator"):
        original = getattr(Model, name, None)
        if original is None:
            continue
        def capped(self, *args, __original=original, **kwargs):
            kwargs["epochs"] = min(int(kwargs.get("epochs", 1)), 1)
            kwargs.pop("nb_epoch", None)
            if kwargs.get("initial_epoch", 0) >= kwargs["epochs"]:
                kwargs["initial_epoch"] = 0
            return __original(self, *args, **kwargs)
        setattr(Model, name, capped)

_patch_datasets()
_cap_epochs()
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def run_one(path, timeout, workdir):
    start = time.perf_counter()
    env = dict(os.environ, MPLBACKEND="Agg")
    try:
        result = subprocess.run([sys.executable, "-c", PRELUDE, path], cwd=workdir, env=env,
                                capture_output=True, text=True, timeout=timeout)
        code, tail = result.returncode, (result.stderr or result.stdout).strip().splitlines()[-1:]
    except subprocess.TimeoutExpired:
        code, tail = "timeout", [f"still running after {timeout} s"]
    seconds = time.perf_counter() - start
    last = tail[0] if tail else ""
    verdict = "ok" if code == 0 else ("needs download" if "URL fetch failure" in last or "urlopen" in last
                                      or "Name or service not known" in last else "FAIL")
    return verdict, seconds, last


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--timeout", type=int, default=300)
    args = parser.parse_args()
    names = args.names or sorted(n for n in os.listdir(args.examples) if n.endswith(".py"))
    tally = {}
    for name in names:
        with tempfile.TemporaryDirectory() as workdir:
            verdict, seconds, last = run_one(os.path.join(args.examples, name), args.timeout, workdir)
        tally[verdict] = tally.get(verdict, 0) + 1
        print(f"{verdict:15s} {seconds:6.1f} s  {name:40s} {'' if verdict == 'ok' else last[:150]}", flush=True)
    print(", ".join(f"{count} {verdict}" for verdict, count in sorted(tally.items())))


if __name__ == "__main__":
    main()

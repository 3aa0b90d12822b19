"""Run Keras 2.3.1's own example scripts, unedited, on jkeras (imported as `keras`), and tally them.

    pip download keras==2.3.1 --no-deps --no-binary :all: -d /tmp/k23 && tar xzf /tmp/k23/Keras-2.3.1.tar.gz -C /tmp/k23
    python scripts/run_keras2_examples.py /tmp/k23/Keras-2.3.1/examples [--timeout 300] [--steps 4] [names...]
    /opt/tfref/bin/python scripts/run_keras2_examples.py --tf-keras /tmp/k23/Keras-2.3.1/examples

The machine has no network, so each script runs with the Keras datasets replaced by random arrays
of the real sizes, shapes and dtypes, and with every `fit`/`fit_generator` capped at one epoch of
`--steps` batches and every `evaluate` at `--steps` batches (the scripts train for hundreds of
epochs); nothing else is changed. The text data the scripts download or expect by hand is written
as random text of its real format (bAbI's tar.gz, nietzsche.txt, fra-eng/fra.txt, GloVe vectors and 20 Newsgroups posts, fewer of
them); all scripts run in
one working folder, in name order, so lstm_seq2seq_restore.py finds the s2s.h5 that lstm_seq2seq.py
saved; the scripts that take image paths get small random images (ARGS), and the ImageNet
applications are built with random weights (`weights=None`): nothing can be downloaded. numpy 1's
`np.float` alias is restored for conv_lstm.py. A script needing anything else from the network
(image_ocr's word lists) or a module that is not installed is reported as such. `--tf-keras` runs the
same scripts on tf.keras 2 (`tf_keras`: its public `tf_keras.X` modules, else `tf_keras.src.X`).
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import time

JKERAS = r'''
import jkeras
jkeras.install_as_keras()
from jkeras.models.model import Model as _Model
'''

TF_KERAS = r'''
import importlib, importlib.abc, importlib.util, sys
import tf_keras

class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def _target(self, fullname):
        for prefix in ("tf_keras", "tf_keras.src"):
            name = prefix + fullname[len("keras"):]
            try:
                if importlib.util.find_spec(name) is not None:
                    return name
            except ModuleNotFoundError:
                pass
        return None
    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith("keras."):
            return None
        name = self._target(fullname)
        return None if name is None else importlib.util.spec_from_loader(fullname, self, is_package=True)
    def create_module(self, spec):
        return importlib.import_module(self._target(spec.name))
    def exec_module(self, module):
        pass

for _name in [n for n in sys.modules if n == "keras" or n.startswith("keras.")]:
    del sys.modules[_name]  # TensorFlow's import may have loaded Keras 3 under these names
sys.meta_path.insert(0, _Alias())
sys.modules["keras"] = tf_keras
_Model = tf_keras.Model
'''

PRELUDE = r'''
import functools, os, sys, runpy
import numpy as np
rng = np.random.default_rng(0)
STEPS = int(os.environ["KERAS2_EXAMPLES_STEPS"])

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
    from keras.datasets import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, reuters
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

def _head(value, n):
    """The first n samples of an array, or of each array in a list/tuple/dict of them."""
    if isinstance(value, dict):
        return {k: _head(v, n) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and value and all(hasattr(v, "shape") for v in value):
        return type(value)(_head(v, n) for v in value)
    return value[:n] if getattr(value, "ndim", 0) else value

def _is_arrays(x):
    return hasattr(x, "shape") or (isinstance(x, (list, tuple, dict)) and bool(x)
                                   and all(hasattr(v, "shape") for v in (x.values() if isinstance(x, dict) else x)))

def _cap(name, original):
    @functools.wraps(original)  # keeps the signature, which the scikit-learn wrapper reads
    def capped(self, *args, **kwargs):
        names = {"fit": ("x", "y", "batch_size", "epochs"), "evaluate": ("x", "y", "batch_size")}.get(name, ("generator",))
        kwargs.update(zip(names, args))
        args = ()
        if name.startswith("fit"):
            kwargs["epochs"] = min(int(kwargs.get("epochs", 1)), 1)
            kwargs.pop("nb_epoch", None)
            if kwargs.get("initial_epoch", 0) >= kwargs["epochs"]:
                kwargs["initial_epoch"] = 0
        n = STEPS * (kwargs.get("batch_size") or 32)
        step_key = "steps_per_epoch" if name.startswith("fit") else "steps"
        if name in ("fit", "evaluate") and _is_arrays(kwargs.get("x")) and kwargs.get(step_key) is None:
            kwargs["x"], kwargs["y"] = _head(kwargs["x"], n), _head(kwargs.get("y"), n)
            for key in ("sample_weight",):
                if kwargs.get(key) is not None:
                    kwargs[key] = _head(kwargs[key], n)
        else:
            kwargs[step_key] = min(kwargs.get(step_key) or STEPS, STEPS)
        validation = kwargs.get("validation_data")
        if isinstance(validation, (tuple, list)) and validation and _is_arrays(validation[0]):
            kwargs["validation_data"] = type(validation)(_head(v, n) for v in validation)
        elif validation is not None:
            kwargs["validation_steps"] = min(kwargs.get("validation_steps") or STEPS, STEPS)
        return original(self, *args, **kwargs)
    return capped

def _cap_work():
    for name in ("fit", "fit_generator", "evaluate", "evaluate_generator"):
        original = _Model.__dict__.get(name) or getattr(_Model, name, None)
        if original is not None:
            setattr(_Model, name, _cap(name, original))

_WORDS = ("Mary", "John", "Sandra", "Daniel"), ("bathroom", "hallway", "garden", "office", "kitchen")

def _babi_task(stories):
    lines = []
    for _ in range(stories):
        for block in range(5):
            person, place = rng.choice(_WORDS[0]), rng.choice(_WORDS[1])
            lines += [f"{3 * block + 1} {person} moved to the {place}.",
                      f"{3 * block + 2} {rng.choice(_WORDS[0])} went to the {rng.choice(_WORDS[1])}.",
                      f"{3 * block + 3} Where is {person}? \t{place}\t{3 * block + 1}"]
    return ("\n".join(lines) + "\n").encode()

def _synthetic_file(fname, origin=None, **kwargs):
    """Stand-ins, of the real format, for the text corpora the scripts download (no network here)."""
    import io, tarfile
    path = os.path.abspath(fname)
    if fname == "nietzsche.txt":
        words = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), rng.integers(1, 9))) for _ in range(3000)]
        text = " ".join(rng.choice(words, 20000)).replace(" e ", ". ")
        open(path, "w", encoding="utf-8").write(text)
    elif fname == "babi-tasks-v1-2.tar.gz":
        with tarfile.open(path, "w:gz") as tar:
            for folder, stories in (("en-10k", 2000), ("en", 200)):
                for task in ("qa1_single-supporting-fact", "qa2_two-supporting-facts"):
                    for split in ("train", "test"):
                        data = _babi_task(stories if split == "train" else stories // 10)
                        info = tarfile.TarInfo(f"tasks_1-20_v1-2/{folder}/{task}_{split}.txt")
                        info.size = len(data)
                        tar.addfile(info, io.BytesIO(data))
    else:
        return _real_get_file(fname, origin=origin, **kwargs)
    return path

def _patch_downloads():
    global _real_get_file
    import importlib
    data_utils, utils = importlib.import_module("keras.utils.data_utils"), importlib.import_module("keras.utils")
    _real_get_file = data_utils.get_file
    data_utils.get_file = utils.get_file = _synthetic_file

def _random_weights():
    """ImageNet weights cannot be downloaded here: the applications are built with random weights."""
    import importlib
    for module_name, names in (("vgg16", ("VGG16",)), ("vgg19", ("VGG19",)), ("inception_v3", ("InceptionV3",)),
                               ("resnet50", ("ResNet50",))):
        module = importlib.import_module("keras.applications." + module_name)
        for name in names:
            def build(*args, __original=getattr(module, name), **kwargs):
                if kwargs.get("weights", "imagenet") == "imagenet":
                    kwargs["weights"] = None
                return __original(*args, **kwargs)
            setattr(module, name, build)

if not hasattr(np, "float"):
    np.float = float  # numpy 1's alias of float (removed in numpy 1.24), which conv_lstm.py uses
_patch_datasets()
_patch_downloads()
_random_weights()
_cap_work()
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
'''


# Command lines for the scripts that need arguments: small synthetic images (see write_inputs).
ARGS = {
    "deep_dream.py": ["photo.png", "dream"],
    "neural_style_transfer.py": ["tall.png", "photo.png", "styled", "--iter", "1"],
    "neural_doodle.py": ["--nlabels", "2", "--style-image", "photo.png", "--style-mask", "mask.png",
                         "--target-mask", "mask.png", "--target-image-prefix", "doodle"],
    "class_activation_maps.py": ["photo.png"],
}


def write_inputs(workdir, lines=12000):
    """fra-eng/fra.txt as the seq2seq scripts read it (`english<TAB>french`), and the images of ARGS."""
    from PIL import Image
    import numpy as np
    pixels = np.random.default_rng(0).integers(0, 256, (400, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels[:96]).save(os.path.join(workdir, "photo.png"))
    Image.fromarray(pixels[:, :48]).save(os.path.join(workdir, "tall.png"))
    two_regions = np.repeat(np.where(pixels[:64, :64, :1] > 127, 255, 0).astype(np.uint8), 3, axis=-1)
    Image.fromarray(two_regions).save(os.path.join(workdir, "mask.png"))
    rng = random.Random(0)
    os.makedirs(os.path.join(workdir, "fra-eng"))
    with open(os.path.join(workdir, "fra-eng", "fra.txt"), "w", encoding="utf-8") as f:
        for _ in range(lines):
            english = " ".join(rng.choice(["go", "run", "we", "see", "it", "now", "who", "wait"]) for _ in range(3))
            french = " ".join(rng.choice(["va", "cours", "nous", "voir", "ça", "où", "été", "qui"]) for _ in range(4))
            f.write(f"{english.capitalize()}.\t{french.capitalize()} !\n")
    write_text_corpora(workdir, rng)


def write_text_corpora(workdir, rng):
    """pretrained_word_embeddings.py's inputs: GloVe vectors and 20 Newsgroups folders (fewer posts)."""
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 8))) for _ in range(2000)]
    os.makedirs(os.path.join(workdir, "glove.6B"))
    with open(os.path.join(workdir, "glove.6B", "glove.6B.100d.txt"), "w") as f:
        for word in words:
            f.write(word + " " + " ".join(f"{rng.gauss(0, 0.4):.5f}" for _ in range(100)) + "\n")
    for group in range(20):
        folder = os.path.join(workdir, "20_newsgroup", f"group.{group}")
        os.makedirs(folder)
        for post in range(100):
            with open(os.path.join(folder, str(50000 + post)), "w", encoding="latin-1") as f:
                f.write("From: someone\nSubject: post\n\n" + " ".join(rng.choices(words, k=200)))


def run_one(path, timeout, workdir, backend, steps):
    start = time.perf_counter()
    env = dict(os.environ, MPLBACKEND="Agg", KERAS2_EXAMPLES_STEPS=str(steps), TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONUNBUFFERED="1")
    try:
        result = subprocess.run(["nice", "-n", "5", sys.executable, "-c", backend + PRELUDE, path] + ARGS.get(os.path.basename(path), []), cwd=workdir,
                                env=env, capture_output=True, text=True, timeout=timeout)
        lines = (result.stderr or result.stdout).strip().splitlines()
        errors = [line for line in lines if re.match(r"[\w.]*(Error|Exception|Exit)\b", line)]
        code, tail = result.returncode, (errors or lines)[-1:]
    except subprocess.TimeoutExpired as stopped:  # its last line so far shows how far it got
        so_far = [(out.decode(errors="replace") if isinstance(out, bytes) else out or "").strip()
                  for out in (stopped.stdout, stopped.stderr)]
        printed = [line for line in "\n".join(so_far).splitlines() if line.strip()]
        code, tail = "timeout", [f"still running after {timeout} s" + (f"; last printed: {printed[-1]}"
                                                                        if printed else "")]
    seconds = time.perf_counter() - start
    last = tail[0] if tail else ""
    verdict = "ok" if code == 0 else ("needs download" if "URL fetch failure" in last or "urlopen" in last
                                      or "Name or service not known" in last else
                                      "needs module" if "ModuleNotFoundError" in last else
                                      "timeout" if code == "timeout" else "FAIL")
    return verdict, seconds, last


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples")
    parser.add_argument("names", nargs="*")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("--steps", type=int, default=4, help="batches per fit epoch and per evaluate")
    parser.add_argument("--tf-keras", action="store_true", help="run on tf.keras 2 (tf_keras) instead of jkeras")
    args = parser.parse_intermixed_args()
    names = args.names or sorted(n for n in os.listdir(args.examples) if n.endswith(".py"))
    backend = TF_KERAS if args.tf_keras else JKERAS
    tally = {}
    with tempfile.TemporaryDirectory() as workdir:
        write_inputs(workdir)
        for name in names:
            verdict, seconds, last = run_one(os.path.join(os.path.abspath(args.examples), name), args.timeout,
                                             workdir, backend, args.steps)
            tally[verdict] = tally.get(verdict, 0) + 1
            print(f"{verdict:15s} {seconds:6.1f} s  {name:40s} {'' if verdict == 'ok' else last[:150]}", flush=True)
    print(", ".join(f"{count} {verdict}" for verdict, count in sorted(tally.items())))


if __name__ == "__main__":
    main()

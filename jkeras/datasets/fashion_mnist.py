"""Fashion-MNIST: 60,000 training and 10,000 test 28x28 grey images of 10 kinds of clothing."""
import gzip
import os

import numpy as np

from jkeras.datasets._files import ORIGIN, locate

FILES = ("train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
         "t10k-images-idx3-ubyte.gz")


def _read(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset).copy()


def load_data(cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28), uint8 labels 0..9.

    The four gzipped IDX files are read from `<jkeras home>/datasets/fashion-mnist/` (or
    `~/.keras/datasets/fashion-mnist/`), downloaded when absent.
    """
    subdir = os.path.join("datasets", "fashion-mnist")
    paths = [locate(name, ORIGIN + name, cache_dir=cache_dir, cache_subdir=subdir) for name in FILES]
    y_train, y_test = _read(paths[0], 8), _read(paths[2], 8)
    x_train = _read(paths[1], 16).reshape(len(y_train), 28, 28)
    x_test = _read(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)

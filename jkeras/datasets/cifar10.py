"""CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes."""
import os

import numpy as np

from jkeras.datasets._files import locate
from jkeras.datasets.cifar import as_data_format, load_batch

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"


def load_data(cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 32, 32, 3) (channels first when so
    configured), uint8 labels (N, 1) in 0..9. Read from `<jkeras home>/datasets/cifar-10-batches-py`
    (or Keras's copy), downloaded and extracted when absent."""
    path = locate("cifar-10-batches-py", ORIGIN, SHA256, cache_dir, untar=True)
    parts = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in parts]).astype("uint8")
    y_train = np.concatenate([np.asarray(y) for _, y in parts]).astype("uint8").reshape(-1, 1)
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_test = np.asarray(y_test).astype("uint8").reshape(-1, 1)
    return (as_data_format(x_train), y_train), (as_data_format(x_test).astype("uint8"), y_test)

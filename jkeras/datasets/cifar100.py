"""CIFAR-100: 50,000 training and 10,000 test 32x32 colour images, 100 fine / 20 coarse classes."""
import os

import numpy as np

from jkeras.datasets._files import locate
from jkeras.datasets.cifar import as_data_format, load_batch

ORIGIN = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
SHA256 = "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"


def load_data(label_mode="fine", cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 32, 32, 3), labels (N, 1) of the
    'fine' (0..99) or 'coarse' (0..19) classes."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. '
                         f"Received: label_mode={label_mode}.")
    path = locate("cifar-100-python", ORIGIN, SHA256, cache_dir, untar=True)
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=label_mode + "_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=label_mode + "_labels")
    y_train, y_test = (np.reshape(np.asarray(y), (len(y), 1)) for y in (y_train, y_test))
    return (as_data_format(x_train), y_train), (as_data_format(x_test), y_test)

"""MNIST: 60,000 training and 10,000 test 28x28 grey images of handwritten digits (Keras's file)."""
from jkeras.datasets._files import ORIGIN, load_npz, locate

SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path="mnist.npz", cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 28, 28) in 0..255, uint8 labels 0..9.

    Read from `<jkeras home>/datasets/<path>` (or `~/.keras/datasets/<path>`), downloaded from
    Keras's origin when absent.
    """
    f = load_npz(locate(path, ORIGIN + "mnist.npz", SHA256, cache_dir))
    return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])

"""The UCI optical-recognition handwritten digits: 1,797 8x8 grey images, 10 classes.

The data (CC BY 4.0, Alpaydin & Kaynak, UCI ML Repository) ships in
`digits.npz` beside this file, as the copy scikit-learn distributes.
"""
import os

import numpy as np

_PATH = os.path.join(os.path.dirname(__file__), "digits.npz")


def load_data(test_split=0.2):
    """`(x_train, y_train), (x_test, y_test)`: uint8 images (N, 8, 8) in 0..16, labels 0..9.

    The split is fixed (the last `test_split` of the file), like Keras's data sets.
    """
    if not 0.0 < test_split < 1.0:
        raise ValueError(f"test_split must be in (0, 1); received {test_split}.")
    with np.load(_PATH) as f:
        x, y = f["x"], f["y"]
    cut = int(round(len(x) * (1.0 - test_split)))
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])

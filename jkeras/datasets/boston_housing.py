"""Boston housing prices: 13 features of 506 suburbs and their median house value (regression)."""
import numpy as np

from jkeras.datasets._files import ORIGIN, load_npz, locate, shuffled

SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"


def load_data(path="boston_housing.npz", test_split=0.2, seed=113, cache_dir=None):
    """`(x_train, y_train), (x_test, y_test)`, shuffled with `seed` then split as Keras does."""
    if not 0 <= test_split < 1:
        raise ValueError(f"test_split must be in [0, 1); received {test_split}.")
    f = load_npz(locate(path, ORIGIN + "boston_housing.npz", SHA256, cache_dir))
    x, y = shuffled(np.random.RandomState(seed), f["x"], f["y"])
    cut = int(len(x) * (1 - test_split))
    return (np.array(x[:cut]), np.array(y[:cut])), (np.array(x[cut:]), np.array(y[cut:]))

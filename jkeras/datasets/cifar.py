"""Reading CIFAR's pickled batches (shared by cifar10 and cifar100)."""
import numpy as np

from jkeras.backend.config import image_data_format
from jkeras.datasets._files import load_pickle


def load_batch(fpath, label_key="labels"):
    """`(data, labels)` of one CIFAR batch file: uint8 images (N, 3, 32, 32) and a label list."""
    batch = {k.decode("utf8") if isinstance(k, bytes) else k: v for k, v in load_pickle(fpath).items()}
    data = np.asarray(batch["data"])
    return data.reshape(data.shape[0], 3, 32, 32), batch[label_key]


def as_data_format(x):
    """CIFAR's channels-first images in the configured `image_data_format`."""
    return x.transpose(0, 2, 3, 1) if image_data_format() == "channels_last" else x

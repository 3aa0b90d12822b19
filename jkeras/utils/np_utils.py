"""Array helpers from Keras's `utils`: one-hot and ordinal labels, and normalisation."""
import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer labels: shape `y.shape + (num_classes,)` (a trailing 1 dropped)."""
    y = np.asarray(y, dtype="int64")
    shape = y.shape
    if shape and shape[-1] == 1 and len(shape) > 1:
        shape = shape[:-1]
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_categorical expects non-negative labels; found {y.min()}.")
    num_classes = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"Label {y.max()} is out of range for num_classes={num_classes}.")
    out = np.zeros((y.size, num_classes), dtype=dtype)
    out[np.arange(y.size), y] = 1
    return out.reshape(shape + (num_classes,))


def to_ordinal(y, num_classes=None, dtype="float32"):
    """Ordinal (cumulative) encoding of integer labels: label k becomes k ones, then zeros,
    over `num_classes - 1` columns (shape `y.shape + (num_classes - 1,)`, a trailing 1 dropped)."""
    y = np.asarray(y, dtype="int64")
    shape = y.shape[:-1] if len(y.shape) > 1 and y.shape[-1] == 1 else y.shape
    y = y.reshape(-1)
    if y.size and y.min() < 0:
        raise ValueError(f"to_ordinal expects non-negative labels; found {y.min()}.")
    num_classes = int(y.max()) + 1 if not num_classes else int(num_classes)
    if y.size and y.max() >= num_classes:
        raise ValueError(f"Label {y.max()} is out of range for num_classes={num_classes}.")
    out = (np.arange(num_classes - 1)[None, :] < y[:, None]).astype(dtype)
    return out.reshape(shape + (num_classes - 1,))


def normalize(x, axis=-1, order=2):
    """`x` scaled to unit `order`-norm along `axis` (zero vectors stay zero)."""
    x = np.asarray(x)
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)

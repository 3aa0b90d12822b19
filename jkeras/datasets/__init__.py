"""Keras's data sets: `load_data()` reads Keras's own files from `<jkeras home>/datasets/` (or a
Keras user's `~/.keras/datasets/`), downloading them with `jkeras.utils.get_file` when absent;
`digits` is small and ships inside the package."""
from jkeras.datasets import (boston_housing, cifar10, cifar100, digits, fashion_mnist, imdb, mnist,
                             reuters)

__all__ = ["boston_housing", "cifar10", "cifar100", "digits", "fashion_mnist", "imdb", "mnist",
           "reuters"]

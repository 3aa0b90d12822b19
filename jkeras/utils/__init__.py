"""Helpers shared across jkeras: the identifier registry, seeds and array utilities."""
from jkeras.backend.determinism import enable_determinism
from jkeras.backend.random import set_random_seed
from jkeras.utils.io_utils import HDF5Matrix
from jkeras.utils.np_utils import normalize, to_categorical
from jkeras.utils.registry import get_custom_objects
from jkeras.utils.sequence import Sequence

__all__ = ["HDF5Matrix", "Sequence", "get_custom_objects", "normalize", "set_random_seed",
           "to_categorical"]

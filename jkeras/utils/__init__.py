"""Helpers shared across jkeras: the identifier registry, seeds and array utilities."""
from jkeras.backend.random import set_random_seed
from jkeras.utils.np_utils import normalize, to_categorical
from jkeras.utils.registry import get_custom_objects
from jkeras.utils.sequence import Sequence

__all__ = ["Sequence", "get_custom_objects", "normalize", "set_random_seed", "to_categorical"]

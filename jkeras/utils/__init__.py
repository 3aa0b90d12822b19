"""Helpers shared across jkeras: the identifier registry, seeds and array utilities."""
from jkeras.backend.random import set_random_seed
from jkeras.utils.np_utils import normalize, to_categorical
from jkeras.utils.registry import get_custom_objects

__all__ = ["set_random_seed", "to_categorical", "normalize", "get_custom_objects"]

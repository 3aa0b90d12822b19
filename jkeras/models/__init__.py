"""Models: functional, Sequential and subclassed, with the training API."""
from jkeras.models.functional import Functional
from jkeras.models.model import Model
from jkeras.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]

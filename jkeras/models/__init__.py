"""Models: functional, Sequential and subclassed, with the training API."""
from jkeras.models.functional import Functional
from jkeras.models.model import Model
from jkeras.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential"]

from jkeras.saving import (load_model, model_from_config, model_from_json,  # noqa: E402
                           model_from_yaml)

__all__ += ["load_model", "model_from_config", "model_from_json", "model_from_yaml"]

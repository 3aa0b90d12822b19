"""Models: functional, Sequential and subclassed, with the training API."""
from jkeras.models import backend_function  # noqa: F401  (registers K.function)
from jkeras.layers.core import Input, InputLayer  # noqa: F401  (Keras 2's keras.models had them too)
from jkeras.models.functional import Functional
from jkeras.models.model import Model, save_model
from jkeras.models.sequential import Sequential
from jkeras.models.cloning import clone_model
from jkeras.models.train_state import TrainState

__all__ = ["Functional", "Model", "Sequential", "TrainState", "clone_model", "save_model"]

from jkeras.saving import (load_model, model_from_config, model_from_json,  # noqa: E402
                           model_from_yaml)

__all__ += ["load_model", "model_from_config", "model_from_json", "model_from_yaml"]

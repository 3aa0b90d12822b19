"""jkeras: the Keras 2 API on JAX, compiled with XLA."""
__version__ = "0.1.0"

from jkeras import (activations, backend, callbacks, constraints, initializers, layers, losses,
                    metrics, models, optimizers, regularizers, utils)
from jkeras import distribution
from jkeras.distribution import device
from jkeras.layers import Input
from jkeras.models import Model, Sequential

__all__ = ["device", "distribution", "Input", "Model", "Sequential", "activations", "backend", "callbacks", "constraints",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "regularizers",
           "utils"]

"""jkeras: the Keras 2 API on JAX, compiled with XLA."""
from jkeras import (activations, backend, callbacks, constraints, initializers, layers, losses,
                    metrics, models, optimizers, regularizers, utils)
from jkeras.layers import Input
from jkeras.models import Model, Sequential

__version__ = "0.1.0"
__all__ = ["Input", "Model", "Sequential", "activations", "backend", "callbacks", "constraints",
           "initializers", "layers", "losses", "metrics", "models", "optimizers", "regularizers",
           "utils"]

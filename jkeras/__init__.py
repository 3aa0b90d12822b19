"""jkeras: the Keras 2 API on JAX, compiled with XLA."""
from jkeras.version import __version__

from jkeras.backend import config as _config, xla_flags as _xla_flags

_xla_flags.apply_default(_config.default_xla_flags())   # before anything starts jax's backends

from jkeras import (activations, backend, callbacks, constraints, initializers, layers, losses,
                    metrics, mixed_precision, models, optimizers, regularizers, utils)
from jkeras import distribution
from jkeras.backend import config
from jkeras.distribution import device
from jkeras.keras_alias import install_as_keras
from jkeras.layers import Input
from jkeras.models import Model, Sequential

__all__ = ["config", "device", "distribution", "Input", "install_as_keras", "Model", "Sequential", "activations", "backend", "callbacks", "constraints",
           "initializers", "layers", "losses", "metrics", "mixed_precision", "models", "optimizers", "regularizers",
           "utils"]


_LAZY_SUBMODULES = ("applications", "datasets", "preprocessing", "wrappers", "engine", "legacy",
                    "saving", "objectives")


def __getattr__(name):
    """Heavier submodules on first use, as `keras.applications` is there after `import keras`."""
    if name in _LAZY_SUBMODULES:
        import importlib
        return importlib.import_module(f"jkeras.{name}")
    raise AttributeError(f"module 'jkeras' has no attribute '{name}'")

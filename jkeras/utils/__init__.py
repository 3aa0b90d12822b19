"""Helpers shared across jkeras: the identifier registry, seeds and array utilities."""
from jkeras.backend.determinism import enable_determinism
from jkeras.backend.random import set_random_seed
from jkeras.utils.io_utils import HDF5Matrix
from jkeras.utils.np_utils import normalize, to_categorical
from jkeras.utils.registry import get_custom_objects
from jkeras.utils.sequence import Sequence
from jkeras.utils.vis_utils import model_to_dot_text, plot_model


def multi_gpu_model(model, gpus=None, cpu_merge=True, cpu_relocation=False):
    """Keras 2's data-parallel wrapper; see `jkeras.distribution.multi_gpu_model`."""
    from jkeras.distribution import multi_gpu_model as wrap  # distribution sits above utils
    return wrap(model, gpus, cpu_merge, cpu_relocation)


_SAVING_NAMES = ("CustomObjectScope", "custom_object_scope", "register_keras_serializable",
                 "get_registered_name", "get_registered_object")


def __getattr__(name):
    """Keras 2 keeps these in `keras.utils`; they live in jkeras.saving, which sits above utils."""
    if name in _SAVING_NAMES:
        from jkeras.saving import serialization
        return getattr(serialization, name)
    raise AttributeError(f"module 'jkeras.utils' has no attribute {name!r}")


__all__ = ["HDF5Matrix", "Sequence", "enable_determinism", "get_custom_objects", "model_to_dot_text",
           "multi_gpu_model", "normalize", "plot_model", "set_random_seed", "to_categorical"]

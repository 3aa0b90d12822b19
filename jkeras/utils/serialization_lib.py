"""tf.keras 2.13+'s `keras.utils.serialize_keras_object` / `deserialize_keras_object`: the Keras 3
dict form (`module`, `class_name`, `config`, `registered_name`), read back by its module name.

Keras 2's older `{'class_name', 'config'}` form is in `jkeras.utils.generic_utils`; both forms
are read here.
"""
import importlib

from jkeras.backend import registry

# The Keras module a config names -> the jkeras module that holds its classes (floors below utils).
_MODULES = {"keras.layers": "jkeras.layers", "keras.activations": "jkeras.activations",
            "keras.initializers": "jkeras.initializers", "keras.regularizers": "jkeras.regularizers",
            "keras.constraints": "jkeras.constraints", "keras.losses": "jkeras.losses",
            "keras.metrics": "jkeras.metrics", "keras.optimizers": "jkeras.optimizers"}


def _keras_module(cls):
    """'keras.<family>' for a jkeras class (`jkeras.layers.core.Dense` -> 'keras.layers')."""
    parts = cls.__module__.split(".")
    return f"keras.{parts[1]}" if parts[0] == "jkeras" and len(parts) > 1 else None


def serialize_keras_object(obj):
    """`obj` as Keras 3's dict; None for None; plain values (numbers, strings, lists) as they are."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    return registry.serialize_keras_object(obj, _keras_module(type(obj)))


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, **kwargs):
    """The object a Keras 3 or Keras 2 config (or a name) describes.

    Names are looked up in `custom_objects`, the registered custom objects, then the jkeras
    module the config's `module` names (`module_objects=` and `printable_module_name=` as Keras
    passes them are accepted).
    """
    module_objects = dict(kwargs.pop("module_objects", None) or {})
    kind = kwargs.pop("printable_module_name", "object")
    if kwargs:
        raise TypeError(f"Unknown keyword arguments: {sorted(kwargs)}")
    if isinstance(config, dict) and config.get("module") in _MODULES:
        module = importlib.import_module(_MODULES[config["module"]])
        module_objects = {**vars(module), **module_objects}
    return registry.deserialize_keras_object(config, module_objects, kind, custom_objects)

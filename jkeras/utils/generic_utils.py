"""Keras 2's `keras.utils.generic_utils`: custom objects, (de)serialization and `Progbar`.

The custom-object scopes and `Progbar` live above this floor (jkeras.saving, jkeras.callbacks)
and are found here on first use, so importing this module pulls in neither.
"""
from jkeras.utils import registry
from jkeras.utils.registry import get_custom_objects

_ABOVE = {"CustomObjectScope": "jkeras.saving.serialization",
          "custom_object_scope": "jkeras.saving.serialization",
          "register_keras_serializable": "jkeras.saving.serialization",
          "get_registered_name": "jkeras.saving.serialization",
          "get_registered_object": "jkeras.saving.serialization",
          "Progbar": "jkeras.callbacks"}


def serialize_keras_object(instance):
    """Keras 2's form: `{'class_name', 'config'}` for an object with `get_config`, a function's name."""
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        return {"class_name": type(instance).__name__, "config": instance.get_config()}
    if hasattr(instance, "__name__"):
        return instance.__name__
    raise ValueError(f"Cannot serialize {instance!r}: it has neither get_config() nor a __name__.")


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """The object a name or `{'class_name', 'config'}` (Keras 2 or Keras 3 dict) names.

    Looked up in `custom_objects`, then the global custom objects, then `module_objects`, as in
    Keras 2; a class named by a dict is built with `from_config(config)`.
    """
    return registry.deserialize_keras_object(identifier, module_objects or {}, printable_module_name,
                                             custom_objects)


def __getattr__(name):
    if name in _ABOVE:
        import importlib
        return getattr(importlib.import_module(_ABOVE[name]), name)
    raise AttributeError(f"module 'jkeras.utils.generic_utils' has no attribute {name!r}")


__all__ = ["CustomObjectScope", "Progbar", "custom_object_scope", "deserialize_keras_object",
           "get_custom_objects", "serialize_keras_object"]

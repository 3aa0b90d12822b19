"""Keras 2's `keras.utils.generic_utils`: custom objects, (de)serialization, `Progbar`, and the
small list and signature helpers that Keras 2 custom layers import from it.

The custom-object scopes and `Progbar` live above this floor (jkeras.saving, jkeras.callbacks)
and are found here on first use, so importing this module pulls in neither.
"""
import base64
import inspect
import marshal

from jkeras.backend import registry
from jkeras.backend.registry import get_custom_objects

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


def has_arg(fn, name, accept_all=False):
    """Whether `fn` can be called with the keyword `name` (`accept_all`: a `**kwargs` counts)."""
    parameters = inspect.signature(fn).parameters
    parameter = parameters.get(name)
    if parameter is None:
        return accept_all and any(p.kind == p.VAR_KEYWORD for p in parameters.values())
    return parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)


def to_list(x, allow_tuple=False):
    """`x` as a list: a list as it is, a tuple's items when `allow_tuple`, else `[x]`."""
    if isinstance(x, list):
        return x
    if allow_tuple and isinstance(x, tuple):
        return list(x)
    return [x]


def unpack_singleton(x):
    """The only item of a one-item list or tuple, else `x`."""
    return x[0] if len(x) == 1 else x


def object_list_uid(object_list):
    """A string naming the objects by `id` (Keras 2's cache key for lists of tensors)."""
    return ", ".join(str(abs(id(x))) for x in to_list(object_list))


def is_all_none(iterable_or_element):
    """Whether every item (or the one element) is None."""
    return all(x is None for x in to_list(iterable_or_element, allow_tuple=True))


def slice_arrays(arrays, start=None, stop=None):
    """`arrays[start:stop]` (or `arrays[indices]` when `start` is a list/array), per array of a list."""
    if arrays is None:
        return [None]
    if hasattr(start, "__len__"):
        rows = start.tolist() if hasattr(start, "shape") else start
        return [None if a is None else a[rows] for a in arrays] if isinstance(arrays, list) else arrays[rows]
    if isinstance(arrays, list):
        return [None if a is None else a[start:stop] for a in arrays]
    return arrays[start:stop]


def transpose_shape(shape, target_format, spatial_axes):
    """A channels-last `shape` (tuple or list) reordered for `target_format`."""
    if target_format == "channels_last":
        return shape
    if target_format != "channels_first":
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {target_format!r}')
    values = tuple(shape[:spatial_axes[0]]) + (shape[-1],) + tuple(shape[a] for a in spatial_axes)
    return list(values) if isinstance(shape, list) else values


getargspec = inspect.getfullargspec  # Keras 2.3's name (its Python 3 branch)


def check_for_unexpected_keys(name, input_dict, expected_values):
    """Raise a ValueError naming the keys of `input_dict` not among `expected_values` (Keras 2.3)."""
    unknown = set(input_dict.keys()).difference(expected_values)
    if unknown:
        raise ValueError(f"Unknown entries in {name} dictionary: {sorted(unknown)}. Only expected "
                         f"following keys: {list(expected_values)}")


def func_dump(func):
    """`(code, defaults, closure)` of a Python function, its bytecode marshalled and base64-encoded:
    Keras 2's form for a function inside a config (`Lambda`, custom layers' `get_config`). The
    bytecode loads only in the same Python version."""
    code = base64.encodebytes(marshal.dumps(func.__code__)).decode("ascii")
    closure = tuple(c.cell_contents for c in func.__closure__) if func.__closure__ else None
    return code, func.__defaults__, closure


def func_load(code, defaults=None, closure=None, globs=None):
    """The function `func_dump` gave (`code` may be its whole tuple), with `globs` (and jax, jnp,
    np) as its globals. This runs the stored code, as Keras 2's did: call it only on what you
    trust, where a model loader would need `safe_mode=False`."""
    from jkeras.layers.lambda_layer import _load_lambda
    stored = list(code) if isinstance(code, (tuple, list)) else [code, defaults, closure]
    return _load_lambda(stored, globs)


def __getattr__(name):
    if name in _ABOVE:
        import importlib
        return getattr(importlib.import_module(_ABOVE[name]), name)
    raise AttributeError(f"module 'jkeras.utils.generic_utils' has no attribute {name!r}")


__all__ = ["CustomObjectScope", "Progbar", "custom_object_scope", "deserialize_keras_object", "func_dump",
           "func_load", "check_for_unexpected_keys", "get_custom_objects", "getargspec", "has_arg", "is_all_none", "object_list_uid", "serialize_keras_object",
           "slice_arrays", "to_list", "transpose_shape", "unpack_singleton"]

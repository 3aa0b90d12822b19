"""Turn Keras identifiers into objects and objects back into Keras configs.

Every Keras-named family (activations, initializers, regularizers,
constraints, losses, metrics, optimizers, layers) resolves `get(identifier)`
and `serialize(obj)` here, so all of them read the same spellings:

- a name: `"relu"`, `"glorot_uniform"`, `"L1L2"`;
- a Keras 3 dict: `{"module": ..., "class_name": ..., "config": ...,
  "registered_name": ...}`, where a plain function is
  `{"class_name": "function", "config": "<name>", ...}`;
- a tf.keras 2 dict: `{"class_name": ..., "config": {...}}`;
- a class (instantiated with its defaults), an instance or a function (kept);

and write the Keras 3 dict form.

Names are looked up in the call's `custom_objects`, then in the global
`get_custom_objects()` dict, then in the family's own `module_objects`.
"""
import inspect
import types

_CUSTOM_OBJECTS = {}


def get_custom_objects():
    """The global name -> class/function dict that every lookup consults (Keras's `get_custom_objects`)."""
    return _CUSTOM_OBJECTS


def deserialize_keras_object(identifier, module_objects, kind, custom_objects=None):
    """The object `identifier` names, or None for None.

    Args:
        identifier: a name, a Keras 3 or tf.keras 2 config dict, a class,
            an instance or a function.
        module_objects: the family's own `{name: class or function}`.
        kind: what the family calls its objects in error messages,
            e.g. `"initializer"`.
        custom_objects: optional `{name: class or function}` taking precedence.

    A class found by name, or passed directly, is instantiated with its
    defaults; a class named by a config dict is built with
    `from_config(config)` (or `cls(**config)`); functions and instances come
    back as they are.

    Raises:
        ValueError: the name is unknown (the message lists the known names),
            the dict has no `class_name`, or the identifier is not callable.
    """
    if identifier is None:
        return None
    objects = {**module_objects, **_CUSTOM_OBJECTS, **(custom_objects or {})}
    if isinstance(identifier, str):
        return _instantiate(_lookup([identifier], objects, kind), None)
    if isinstance(identifier, dict):
        return _from_dict(identifier, objects, kind)
    if inspect.isclass(identifier):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}. "
                     "Expected a name, a config dict, a class or a callable.")


def serialize_keras_object(obj, module):
    """The Keras 3 dict for `obj` (None for None).

    Args:
        obj: a plain function or an object with `get_config()`.
        module: the Keras module written for jkeras's own classes,
            e.g. `"keras.initializers"`.

    Functions get Keras's function form (`class_name "function"`, the name as
    config); classes from outside jkeras are written as Keras writes custom
    objects (`module` None, `registered_name` the class name), so loading
    them needs `custom_objects`.
    """
    if obj is None:
        return None
    if isinstance(obj, types.FunctionType):
        return {"module": "builtins", "class_name": "function", "config": obj.__name__,
                "registered_name": "function"}
    if not hasattr(obj, "get_config"):
        raise ValueError(f"Cannot serialize {obj!r}: it is neither a named function "
                         "nor an object with a get_config() method.")
    cls = type(obj)
    own = cls.__module__.split(".")[0] == "jkeras"
    return {"module": module if own else None, "class_name": cls.__name__,
            "config": obj.get_config(), "registered_name": None if own else cls.__name__}


def _from_dict(identifier, objects, kind):
    if "class_name" not in identifier:
        raise ValueError(f"A {kind} config dict needs a 'class_name' key; received {identifier!r}.")
    config = identifier.get("config")
    registered = identifier.get("registered_name")
    if identifier["class_name"] == "function":
        # Keras 3 writes a plain function as its name in `config`.
        return _lookup([config, registered], objects, kind)
    obj = _lookup([identifier["class_name"], registered], objects, kind)
    return _instantiate(obj, config)


def _lookup(names, objects, kind):
    """The object under the first of `names` that is known; the error names the first."""
    for name in names:
        if isinstance(name, str) and name in objects:
            return objects[name]
    raise ValueError(f"Unknown {kind} {names[0]!r}. Known names: {', '.join(sorted(objects))}. "
                     "Pass custom ones with `custom_objects={name: object}`.")


def _instantiate(obj, config):
    """Build a class from `config` (None means its defaults); functions pass through."""
    if not inspect.isclass(obj):
        return obj
    config = config or {}
    return obj.from_config(config) if hasattr(obj, "from_config") else obj(**config)

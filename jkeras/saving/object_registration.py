"""Custom objects by name: `register_keras_serializable`, the registered names classes are
written under, and the scopes that make `{name: object}` dicts visible to a load (Keras 3's
`keras.saving` names)."""
import contextlib
import inspect

from jkeras.backend import registry

_REGISTERED_NAMES = {}


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable by name without `custom_objects`.

    Registers it in `jkeras.utils.get_custom_objects()` under `"package>name"`
    (Keras 3's registered name) and under the plain name (how Keras 2 configs
    and jkeras's own configs spell `class_name`).
    """
    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        store = registry.get_custom_objects()
        store[registered_name] = arg
        store[class_name] = arg
        _REGISTERED_NAMES[arg] = registered_name
        return arg
    return decorator


def get_registered_name(obj):
    """`"package>name"` for a registered object, else its Python name (as in Keras)."""
    return _REGISTERED_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered (or passed in `custom_objects`/`module_objects`) under `name`, else None."""
    for source in (custom_objects, registry.get_custom_objects(), module_objects):
        if source and name in source:
            return source[name]
    return None


@contextlib.contextmanager
def custom_object_scope(*scopes):
    """Make `{name: object}` dicts visible to every load inside the block."""
    store = registry.get_custom_objects()
    saved = dict(store)
    for scope in scopes:
        store.update(scope)
    try:
        yield store
    finally:
        store.clear()
        store.update(saved)


class CustomObjectScope:
    """`with CustomObjectScope({'MyLayer': MyLayer}): load_model(...)`, as in Keras."""

    def __init__(self, *scopes):
        self._scopes = scopes
        self._context = None

    def __enter__(self):
        self._context = custom_object_scope(*self._scopes)
        return self._context.__enter__()

    def __exit__(self, *exc):
        return self._context.__exit__(*exc)

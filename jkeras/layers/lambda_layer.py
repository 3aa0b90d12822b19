"""Lambda: wraps a jax function of the inputs as a layer without weights."""
import base64
import binascii
import inspect
import marshal
import sys
import types

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.errors import ConfigError, UnsafeLoadError
from jkeras.layers.base import Layer
from jkeras.backend import registry

_LAMBDA = "__lambda__"


class Lambda(Layer):
    """Runs `function(inputs, **arguments)`; the function must be pure jax (it is traced and jitted).

    Args:
        function: the function; it also gets `mask=` and `training=` if its
            signature names them.
        output_shape: optional; the output shape is inferred by tracing, so
            it is only kept for the config.
        mask: the output mask: a fixed mask, or `mask(inputs, input_mask)`.
        arguments: extra keyword arguments for `function`.

    The config names a named function by its module and name, as Keras 3 does;
    loading finds it in `custom_objects`, or else in its module once that module
    is imported (also in safe mode, for a package that uses jkeras: see
    `_named_function`). A Python lambda is stored as its marshalled bytecode, as
    Keras does, which loads only with `safe_mode=False` and in the same Python version.
    """

    _mixes_rows = True  # see Layer._mixes_rows

    def __init__(self, function, output_shape=None, mask=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise ValueError(f"Lambda needs a callable `function`; received {function!r}.")
        self.function = function
        self.arguments = dict(arguments or {})
        self.mask = mask
        self.supports_masking = mask is not None
        self._output_shape = output_shape
        params = inspect.signature(function).parameters
        self._fn_takes_mask = "mask" in params
        self._fn_takes_training = "training" in params

    def apply(self, params, state, inputs, *, training=False, key=None, mask=None):
        kwargs = dict(self.arguments)
        if self._fn_takes_mask:
            kwargs["mask"] = mask
        if self._fn_takes_training:
            kwargs["training"] = training
        return self.function(inputs, **kwargs), state

    def compute_mask(self, inputs, mask=None):
        return self.mask(inputs, mask) if callable(self.mask) else self.mask

    def get_config(self):
        config_ = {**super().get_config(), "function": _serialize_function(self.function)}
        if self._output_shape is not None:
            config_["output_shape"] = (_serialize_function(self._output_shape)
                                       if callable(self._output_shape) else self._output_shape)
        if self.mask is not None:
            config_["mask"] = _serialize_function(self.mask) if callable(self.mask) else self.mask
        config_["arguments"] = self.arguments
        return config_

    @classmethod
    def from_config(cls, config_, custom_objects=None, safe_mode=True):
        config_ = dict(config_)
        # tf.keras 2 wrote `<field>_type` and `<field>_module` beside the value
        modules = {"function": config_.pop("module", None),
                   "output_shape": config_.pop("output_shape_module", None),
                   "mask": config_.pop("mask_module", None)}
        for field in ("function", "output_shape", "mask"):
            kind = config_.pop(f"{field}_type", None)
            if isinstance(config_.get(field), dict):  # Keras 3's form (jkeras writes it with the type)
                continue
            if kind in ("function", "lambda"):
                config_[field] = {"class_name": "function" if kind == "function" else _LAMBDA,
                                  "config": config_[field], "module": modules[field]}
        for field in ("function", "output_shape", "mask"):
            value = config_.get(field)
            if isinstance(value, dict) and "class_name" in value:
                config_[field] = _deserialize_function(value, custom_objects, safe_mode)
        if isinstance(config_.get("output_shape"), list):
            config_["output_shape"] = tuple(config_["output_shape"])
        return cls(**config_)


def keras2_config(config):
    """A Lambda's `get_config()` in a form tf.keras 2 and Keras 3's `.h5` reader both load:
    tf.keras 2's `<field>_type` and `<field>_module` beside each function (it requires
    `function_type` and `output_shape_type`; Keras 3 drops them), a Python lambda as tf.keras
    2's `[code, defaults, closure]` (Keras 3 rebuilds its own form from the list). A named
    function keeps Keras 3's `{"class_name": "function", "config": name}`, which tf.keras 2
    reads too, where a bare name, as tf.keras 2 writes it, would reach Keras 3's Lambda as
    the function object itself and fail. `from_config` reads every form."""
    config = dict(config)
    for field, module_key in (("function", "module"), ("output_shape", "output_shape_module"),
                              ("mask", "mask_module")):
        if field == "mask" and config.get("mask") is None:
            config.pop("mask", None)
            continue
        value, kind, module = config.get(field), "raw", None
        if isinstance(value, dict) and value.get("class_name") == _LAMBDA:
            stored = value["config"]
            value, kind = [stored["code"], stored["defaults"], stored["closure"]], "lambda"
            module = stored.get("module")
        elif isinstance(value, dict) and value.get("class_name") == "function":
            kind, module = "function", value.get("module")
        config.update({field: value, f"{field}_type": kind, module_key: module})
    return config


def _serialize_function(fn):
    """Keras 3's form: a named function by name, a Python lambda as its bytecode (with the
    module it was defined in, whose globals tf.keras 2 gives it when loading)."""
    name = getattr(fn, "__name__", None)
    if name == "<lambda>":
        closure = None if fn.__closure__ is None else [c.cell_contents for c in fn.__closure__]
        return {"class_name": _LAMBDA,
                "config": {"code": base64.b64encode(marshal.dumps(fn.__code__)).decode("ascii"),
                           "defaults": fn.__defaults__, "closure": closure,
                           "module": getattr(fn, "__module__", None)}}
    if name is None:
        raise ValueError(f"Cannot serialize the Lambda function {fn!r}: it has no name.")
    return {"module": getattr(fn, "__module__", None), "class_name": "function", "config": name,
            "registered_name": "function"}


def _deserialize_function(config_, custom_objects, safe_mode):
    if config_["class_name"] != _LAMBDA:
        return _named_function(config_, custom_objects, safe_mode)
    if safe_mode:
        raise UnsafeLoadError("Requested the deserialization of a `Lambda` layer whose `function` is a Python "
                              "lambda. This carries a potential risk of arbitrary code execution and thus it "
                              "is disallowed by default (`safe_mode=True`). Pass `safe_mode=False` if you "
                              "trust the file, or define the function with `def` and pass it by name "
                              "through `custom_objects`.")
    stored = config_["config"]
    module = config_.get("module") or (stored.get("module") if isinstance(stored, dict) else None)
    return _load_lambda(stored, custom_objects, module)


def _named_function(config_, custom_objects, safe_mode):
    """The function a config names: from `custom_objects` (or the registry), else from its
    module when that module is imported. Nothing is imported and no code runs, so this holds
    in safe mode too; there only a package that uses jkeras is searched (`_uses_jkeras`),
    since a file could otherwise name any function of the standard library."""
    name, module = config_.get("config"), config_.get("module")
    try:
        return registry.deserialize_keras_object(config_, {}, "Lambda function", custom_objects)
    except ValueError:
        pass
    loaded = sys.modules.get(module) if isinstance(module, str) else None
    found = getattr(loaded, name, None) if loaded is not None and isinstance(name, str) else None
    if inspect.isfunction(found) and (not safe_mode or _uses_jkeras(module)):
        return found
    where = f"in module {module!r}" if isinstance(module, str) else "(the file names no module)"
    if loaded is None and isinstance(module, str):
        why = f"that module is not imported: import {module} before loading"
    elif loaded is not None and found is None:
        why = "that module has no such name"
    elif loaded is not None and not inspect.isfunction(found):
        why = f"it is a {type(found).__name__}, not a function"
    elif loaded is not None:
        why = ("safe mode looks names up only in packages that use jkeras (or keras under "
               "`jkeras.install_as_keras()`); pass `safe_mode=False` if you trust the file")
    else:
        why = "there is no module to look it up in"
    raise ConfigError(f"Cannot find the Lambda layer's function {name!r} {where}: {why}, or pass "
                      f"it as custom_objects={{{name!r}: <the function>}}.")


def _uses_jkeras(module):
    """Whether `module`'s top-level package is jkeras or one that uses it: one of its loaded
    modules holds a jkeras module or object (`import keras` after `install_as_keras()` too)."""
    top = module.split(".")[0]
    if top == "jkeras":
        return True
    for name, loaded in list(sys.modules.items()):
        if name.split(".")[0] != top or loaded is None:
            continue
        for value in list(vars(loaded).values()):
            owner = (value.__name__ if isinstance(value, types.ModuleType)
                     else value.__module__ if isinstance(value, (type, types.FunctionType)) else None)
            if isinstance(owner, str) and owner.split(".")[0] == "jkeras":
                return True
    return False


def _load_lambda(stored, custom_objects, module=None):
    """The Python lambda from Keras's `{code, defaults, closure}` (tf.keras: a list of the three);
    its globals are jax, jnp, np, those of its module when imported (as tf.keras gives it) and
    `custom_objects`. Only reached with `safe_mode=False`."""
    code, defaults, closure = ((stored.get("code"), stored.get("defaults"), stored.get("closure"))
                               if isinstance(stored, dict) else (list(stored) + [None] * 3)[:3])
    if not isinstance(code, str):
        raise ConfigError("This `Lambda` layer's config holds no code for its Python lambda (older "
                          "jkeras files stored none); define the function with `def` and pass it "
                          "through `custom_objects`.")
    try:
        raw = base64.decodebytes(code.encode("ascii"))   # Keras writes base64 in 76-char lines
    except (UnicodeEncodeError, binascii.Error):
        raw = code.encode("raw_unicode_escape")
    try:
        function_code = marshal.loads(raw)
        if not isinstance(function_code, types.CodeType):
            raise TypeError(f"the stored object is a {type(function_code).__name__}, not code")
        cells = None if closure is None else tuple(types.CellType(v) for v in closure)
        home = vars(sys.modules[module]) if isinstance(module, str) and module in sys.modules else {}
        return types.FunctionType(function_code, {"jax": jax, "jnp": jnp, "np": np, **home,
                                                  **(custom_objects or {})},
                                  function_code.co_name, None if defaults is None else tuple(defaults),
                                  cells)
    except (ValueError, EOFError, TypeError) as error:
        raise ConfigError(f"Cannot rebuild the `Lambda` layer's Python lambda in Python "
                          f"{sys.version_info.major}.{sys.version_info.minor} (its bytecode is "
                          f"version-specific): {error}") from error

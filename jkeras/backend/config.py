"""The jkeras config file (`jkeras.json`) and the global settings it holds.

The home folder is `$JKERAS_HOME`, else `~/.jkeras`, else `/tmp/.jkeras` when
the user's home is not writable, as Keras does with `~/.keras`.
"""
import json
import numbers
import os

_DEFAULTS = {"floatx": "float32", "epsilon": 1e-7, "image_data_format": "channels_last", "backend": "jax",
             "compilation_cache": True, "check_finite_inputs": False, "default_xla_flags": True,
             "onednn_convolutions": True}
_SWITCHES = ("compilation_cache", "check_finite_inputs", "default_xla_flags", "onednn_convolutions")
_FLOATX = ("float16", "bfloat16", "float32", "float64")
_FORMATS = ("channels_last", "channels_first")
_settings = dict(_DEFAULTS)


def _writable(path):
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def jkeras_home():
    """The folder that holds `jkeras.json` and `models/` (weight files)."""
    if os.environ.get("JKERAS_HOME"):
        return os.path.expanduser(os.environ["JKERAS_HOME"])
    home = os.path.join(os.path.expanduser("~"), ".jkeras")
    return home if _writable(home) else os.path.join("/tmp", ".jkeras")


def config_path():
    return os.path.join(jkeras_home(), "jkeras.json")


def _load():
    """Read the config file, writing the defaults there if it does not exist yet."""
    path = config_path()
    try:
        with open(path) as f:
            stored = json.load(f)
    except (OSError, ValueError):
        stored = {}
    if isinstance(stored, dict):
        if stored.get("floatx") in _FLOATX:
            _settings["floatx"] = stored["floatx"]
        if isinstance(stored.get("epsilon"), (int, float)):
            _settings["epsilon"] = float(stored["epsilon"])
        if stored.get("image_data_format") in _FORMATS:
            _settings["image_data_format"] = stored["image_data_format"]
        for key in _SWITCHES:
            if isinstance(stored.get(key), bool):
                _settings[key] = stored[key]
    if not os.path.exists(path) and _writable(os.path.dirname(path)):
        try:
            with open(path, "w") as f:
                json.dump(_settings, f, indent=4)
        except OSError:
            pass


def floatx():
    return _settings["floatx"]


def set_floatx(value):
    if value not in _FLOATX:
        raise ValueError(f"Unknown floatx type: {value!r}; expected one of {_FLOATX}.")
    _settings["floatx"] = value


def epsilon():
    return _settings["epsilon"]


def set_epsilon(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= 0:
        raise ValueError(f"epsilon must be a float >= 0; received {value!r}.")
    _settings["epsilon"] = float(value)


def image_data_format():
    return _settings["image_data_format"]


def set_image_data_format(data_format):
    """'channels_last' or 'channels_first', in any case (as Keras accepts it)."""
    value = data_format.lower() if isinstance(data_format, str) else data_format
    if value not in _FORMATS:
        raise ValueError(f"Unknown data_format: {data_format!r}; expected one of {_FORMATS}.")
    _settings["image_data_format"] = value


_DIM_ORDERINGS = {"th": "channels_first", "tf": "channels_last"}


def set_image_dim_ordering(dim_ordering):
    """Keras 2.0-2.2's legacy setter: 'th' is 'channels_first', 'tf' is 'channels_last'."""
    if dim_ordering not in _DIM_ORDERINGS:
        raise ValueError(f"Unknown dim_ordering: {dim_ordering!r}; expected 'th' or 'tf'.")
    set_image_data_format(_DIM_ORDERINGS[dim_ordering])


def image_dim_ordering():
    """Keras 2.0-2.2's legacy getter: 'th' under 'channels_first', else 'tf'."""
    return "th" if image_data_format() == "channels_first" else "tf"


def compilation_cache():
    """Whether compiled XLA programs persist in `<jkeras home>/xla_cache` across processes."""
    return _settings["compilation_cache"]


def default_xla_flags():
    """Whether `import jkeras` may set its CPU `XLA_FLAGS` (see `jkeras.backend.xla_flags`)."""
    return _settings["default_xla_flags"]


def onednn_convolutions():
    """Whether training passes run channels-last float32 convolutions on oneDNN on the CPU
    (`layers.onednn_conv`); read when a step is traced, so programs compiled before keep theirs."""
    return _settings["onednn_convolutions"]


def set_onednn_convolutions(value):
    if not isinstance(value, bool):
        raise TypeError(f"set_onednn_convolutions expects True or False; received {value!r}.")
    _settings["onednn_convolutions"] = value


def check_finite_inputs():
    """Whether `fit` checks its array inputs for NaN/Inf first and names the first bad batch."""
    return _settings["check_finite_inputs"]


def set_check_finite_inputs(value):
    if not isinstance(value, bool):
        raise TypeError(f"set_check_finite_inputs expects True or False; received {value!r}.")
    _settings["check_finite_inputs"] = value


def backend():
    return "jax"


def standardize_data_format(data_format):
    """`None` means the configured format; anything else must be a known one."""
    if data_format is None:
        return image_data_format()
    data_format = str(data_format).lower()
    if data_format not in _FORMATS:
        raise ValueError(f"data_format must be one of {_FORMATS}; received {data_format!r}.")
    return data_format


_load()

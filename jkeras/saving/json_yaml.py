"""A model's config as JSON or YAML text, and a model from that text (`to_json`,
`model_from_json`, `to_yaml`, `model_from_yaml`); failures are `ConfigError`s, and YAML is read
in its safe subset only."""
import json

import yaml

from jkeras.errors import ConfigError, UnsafeLoadError
from jkeras.saving.config_safety import check_config_tree
from jkeras.saving.serialization import model_config, model_from_config
from jkeras.version import __version__


def to_json(model, **kwargs):
    """The model's `{"class_name", "config"}` with `keras_version` and `backend`, as JSON
    (`kwargs` go to `json.dumps`)."""
    return json.dumps({**model_config(model), "keras_version": __version__, "backend": "jax"}, **kwargs)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model from `to_json()`'s text; a bad text or config raises `ConfigError`."""
    config = parse_json(json_string, "model_from_json")
    check_config_tree(config, "model_from_json")
    return model_from_config(config, custom_objects, safe_mode, "model_from_json")


def parse_json(text, what):
    """`json.loads` whose failures (bad JSON, too deep, huge numbers) are `ConfigError`s."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf8")
        except UnicodeDecodeError as error:
            raise ConfigError(f"{what}: the text is not UTF-8 ({error}).") from error
    if not isinstance(text, str):
        raise ConfigError(f"{what}: expected a JSON string; received {type(text).__name__}.")
    try:
        return json.loads(text)
    except RecursionError as error:
        raise ConfigError(f"{what}: the JSON is nested too deeply.") from error
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{what}: not valid JSON ({error}).") from error


def to_yaml(model, **kwargs):
    """The model's `{"class_name", "config"}` as YAML (`kwargs` go to `yaml.safe_dump`)."""
    return yaml.safe_dump(model_config(model), **kwargs)


def model_from_yaml(yaml_string, custom_objects=None, safe_mode=True):
    """Only YAML's safe subset is read: a file cannot construct Python objects.

    A Python tag (`!!python/object/apply:os.system`) raises `UnsafeLoadError`; bad YAML or
    config `ConfigError`.
    """
    if not isinstance(yaml_string, (str, bytes)) and not hasattr(yaml_string, "read"):
        raise ConfigError(f"model_from_yaml: expected a YAML string; received "
                          f"{type(yaml_string).__name__}.")
    try:
        config = yaml.safe_load(yaml_string)
    except yaml.constructor.ConstructorError as error:
        raise UnsafeLoadError("model_from_yaml reads only safe YAML: the text asks to construct a "
                              f"Python object ({error.problem}), which could run code, so it is "
                              "refused.") from error
    except yaml.YAMLError as error:
        raise ConfigError(f"model_from_yaml: not valid (safe) YAML ({error}).") from error
    except RecursionError as error:
        raise ConfigError("model_from_yaml: the YAML is nested too deeply.") from error
    except (ValueError, TypeError, OverflowError) as error:  # e.g. a huge int, a bad timestamp
        raise ConfigError(f"model_from_yaml: a value cannot be read ({error}).") from error
    check_config_tree(config, "model_from_yaml")
    return model_from_config(config, custom_objects, safe_mode, "model_from_yaml")

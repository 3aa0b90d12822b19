"""Reading a config from a file safely: limits checked before anything walks it
(`check_config_tree`), Python bytecode refused under `safe_mode` (`refuse_code`), and every
failure while building from a config turned into a `ConfigError` that names where it sits
(`converting`). The weight limits checked while the layers are built
(`serialization.MAX_LAYER_WEIGHTS`, `MAX_MODEL_WEIGHTS`) stay beside that build, in
jkeras.saving.serialization.
"""
import contextlib

from jkeras.errors import ConfigError, JkerasError, UnsafeLoadError

# Limits on what a config may declare, checked before anything is built.
MAX_CONFIG_DEPTH = 200          # nesting of dicts/lists
MAX_CONFIG_NODES = 2_000_000    # dicts, lists and values, aliases (YAML) counted each time


def check_config_tree(config, root="config"):
    """Refuse a config that is nested too deeply, too large (YAML aliases expanded), or that
    contains itself (a YAML anchor inside its own value), before anything walks it."""
    count = 0
    stack = [(config, root, 0, ())]
    while stack:
        value, path, depth, parents = stack.pop()
        count += 1
        if count > MAX_CONFIG_NODES:
            raise ConfigError(f"{root}: the config has more than {MAX_CONFIG_NODES} values "
                              "(expanded), too large to be a model config.")
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{path}: the config is nested more than {MAX_CONFIG_DEPTH} levels deep.")
        if isinstance(value, (dict, list, tuple)):
            if id(value) in parents:
                raise ConfigError(f"{path}: the config contains itself (a reference cycle).")
            inner = parents + (id(value),)
            if isinstance(value, dict):
                for k, v in value.items():
                    if not isinstance(k, str):
                        raise ConfigError(f"{path}: config keys must be strings; found {short(k)}.")
                    stack.append((v, f"{path}.{k}", depth + 1, inner))
            else:
                for i, v in enumerate(value):
                    stack.append((v, f"{path}[{i}]", depth + 1, inner))
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            raise ConfigError(f"{path}: a config holds only strings, numbers, booleans, null, "
                              f"lists and dicts; found {type(value).__name__}.")


def short(value, limit=200):
    """`repr(value)`, cut to `limit` characters, for error messages."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def config_where(path, entry):
    """`path (layer 'name', class 'Dense')` for messages."""
    config = entry.get("config") if isinstance(entry, dict) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    if name is None and isinstance(config, dict):
        name = config.get("name")
    cls = entry.get("class_name") if isinstance(entry, dict) else None
    parts = [f"layer {name!r}" if isinstance(name, str) else None,
             f"class {cls!r}" if isinstance(cls, str) else None]
    parts = [p for p in parts if p]
    return f"{path} ({', '.join(parts)})" if parts else path


class PassesConversion(Exception):
    """An exception `converting` lets through as it is: one its caller handles."""


@contextlib.contextmanager
def converting(where):
    """Turn any failure while building from a config into a `ConfigError` naming `where`."""
    try:
        yield
    except (JkerasError, PassesConversion):
        raise
    except RecursionError as error:
        raise ConfigError(f"{where}: the config is nested too deeply to build.") from error
    except (KeyError, IndexError) as error:
        raise ConfigError(f"{where}: the config lacks an entry the layer needs: "
                          f"{type(error).__name__} {error}.") from error
    except MemoryError as error:
        raise ConfigError(f"{where}: building this layer ran out of memory (a declared size is "
                          "too large).") from error
    except Exception as error:  # noqa: BLE001 - any failure of a layer built from file data
        raise ConfigError(f"{where}: {error}") from error


def refuse_code(cls, config, where):
    """Under safe_mode, a Lambda (or any layer) holding Python bytecode is refused before it is built."""
    from jkeras.layers import Lambda
    if not (isinstance(cls, type) and issubclass(cls, Lambda)):
        return
    for field in ("function", "output_shape", "mask"):
        value = config.get(field)
        lambda_dict = isinstance(value, dict) and value.get("class_name") == "__lambda__"
        if lambda_dict or config.get(f"{field}_type") == "lambda":
            module = config.get({"function": "module"}.get(field, f"{field}_module"))
            tf_keras = (f" (tf.keras 2 writes every Python function as bytecode, named ones too; "
                        f"this one comes from module {module!r})" if isinstance(module, str) else "")
            raise UnsafeLoadError(
                f"{where}: requested the deserialization of a `Lambda` layer whose `{field}` is a "
                f"Python lambda{tf_keras}. This carries a potential risk of arbitrary code "
                "execution and thus it is disallowed by default (`safe_mode=True`). Pass "
                "`safe_mode=False` if you trust the file (the bytecode then runs, in the same "
                "Python version only), or define the function with `def` and pass it by name "
                "through `custom_objects`.")

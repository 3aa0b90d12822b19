"""`install_as_keras()`: make `import keras` (and every `keras.X` import) give jkeras's own modules.

For Keras 2 code that cannot be edited (a published library, an old script): after the call,
`keras.layers.Dense is jkeras.layers.Dense` — one module object under two names, no copies, so
`isinstance` holds across both. Limits: it must run before anything imports a real `keras`
(objects already taken from it would keep pointing there), and `tensorflow.keras` is left alone.
"""
import importlib
import importlib.abc
import importlib.util
import sys

_ALIAS, _TARGET = "keras", "jkeras"


class _KerasAliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers `keras` and `keras.*` imports with the matching, already-importable jkeras module."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        target_name = _TARGET + fullname[len(_ALIAS):]
        try:
            found = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=found.submodule_search_locations is not None)

    def create_module(self, spec):
        return importlib.import_module(_TARGET + spec.name[len(_ALIAS):])

    def exec_module(self, module):
        """The jkeras module is already executed; nothing more to run."""


def _real_keras_modules():
    jkeras_modules = {id(m) for name, m in sys.modules.items() if name.split(".")[0] == _TARGET}
    return sorted(name for name, module in sys.modules.items()
                  if (name == _ALIAS or name.startswith(_ALIAS + ".")) and id(module) not in jkeras_modules)


def install_as_keras():
    """Route `import keras` / `from keras.X import Y` to jkeras for the rest of this process."""
    already = _real_keras_modules()
    if already:
        raise RuntimeError(
            f"install_as_keras() must run before a real Keras is imported; already imported: "
            f"{', '.join(already[:5])}{' ...' if len(already) > 5 else ''}. Call it first thing in the "
            f"program (or start a fresh process).")
    if not any(isinstance(finder, _KerasAliasFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _KerasAliasFinder())
    sys.modules[_ALIAS] = importlib.import_module(_TARGET)


def main(argv=None):
    """`python -m jkeras.keras_alias script.py [args...]`: run an unedited Keras 2 script on jkeras."""
    import runpy
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit("usage: python -m jkeras.keras_alias script.py [args...]")
    install_as_keras()
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main()

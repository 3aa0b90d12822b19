"""Old module paths as the same objects: a module `__getattr__` that lends a module names living
elsewhere, resolved on first use (so importing the old path loads nothing, and no cycle forms)."""
import importlib


def keras2_names(module_name, names, package="jkeras.layers"):
    """A `__getattr__` for `module_name` answering each of `names` with `package`'s object of that
    name; `names` may also map an old name to the name it has now (`{"Deconv3D": "Conv3DTranspose"}`)."""
    names = dict(names) if isinstance(names, dict) else {name: name for name in names}

    def __getattr__(name):
        target = importlib.import_module(package) if name in names else None
        if target is not None and hasattr(target, names[name]):
            return getattr(target, names[name])
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__

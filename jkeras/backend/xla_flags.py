"""The XLA flags jkeras sets by default on CPU, before jax starts its backends.

With jaxlib 0.10, XLA:CPU hands convolutions to YNNPACK, whose kernel gradients (the
convolutions that contract over the batch) run several times slower than XLA's own convolution
emitter (docs/performance.md has the measurements). One flag takes convolutions out of YNNPACK and
keeps matrix products there. It is set only when the user has not set `XLA_FLAGS`, the
backend will be the CPU, jax has not started yet, and the jaxlib is one it was tested
on (XLA aborts the process on a flag it does not know). `"default_xla_flags": false` in
`jkeras.json`, or `JKERAS_DEFAULT_XLA_FLAGS=0`, turns it off.
"""
import importlib.metadata
import importlib.util
import os
import sys

CPU_FLAGS = "--xla_cpu_experimental_ynn_fusion_type=-individual_convolution"
TESTED_JAXLIB = ((0, 10),)     # (major, minor) series with the flag and its measured effect
OFF_VARIABLE = "JKERAS_DEFAULT_XLA_FLAGS"

applied = None    # what `apply_default` did in this process: (flags or None, reason)


def _jaxlib_series():
    try:
        version = importlib.metadata.version("jaxlib")
    except importlib.metadata.PackageNotFoundError:
        return None
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def _accelerator_plugin():
    """Whether a GPU/TPU plugin is installed, so that jax's default backend may not be the CPU."""
    if importlib.util.find_spec("libtpu") or importlib.util.find_spec("jax_plugins"):
        return True
    return bool(importlib.metadata.entry_points(group="jax_plugins"))


def backends_started():
    """Whether jax has started its backends (after which XLA's flags are read and fixed)."""
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge
    return xla_bridge.backends_are_initialized()


def _platforms(environ):
    """The platforms asked for: `$JAX_PLATFORMS`, else `jax_platforms` if jax is imported."""
    if environ.get("JAX_PLATFORMS"):
        return environ["JAX_PLATFORMS"]
    jax = sys.modules.get("jax")
    return (getattr(jax.config, "jax_platforms", None) or "") if jax is not None else ""


def choose(environ, enabled, jaxlib_series, backends_started, platforms, accelerator_plugin):
    """`(flags, reason)`: the `XLA_FLAGS` value to set, or `None` and why nothing is set."""
    if not enabled or environ.get(OFF_VARIABLE, "").strip().lower() in ("0", "false", "no", "off"):
        return None, "turned off (jkeras.json 'default_xla_flags' or $JKERAS_DEFAULT_XLA_FLAGS)"
    if "XLA_FLAGS" in environ:
        return None, "XLA_FLAGS is set by the user"
    if jaxlib_series not in TESTED_JAXLIB:
        return None, f"jaxlib {jaxlib_series} is not a tested series {TESTED_JAXLIB}"
    if backends_started:
        return None, "jax's backends had started before jkeras was imported"
    platforms = platforms.strip().lower()
    if platforms:
        if platforms.split(",")[0] != "cpu":
            return None, f"JAX_PLATFORMS={platforms!r} does not start with cpu"
    elif accelerator_plugin:
        return None, "an accelerator plugin is installed"
    return CPU_FLAGS, "cpu defaults"


def apply_default(enabled):
    """Set `XLA_FLAGS` to `CPU_FLAGS` where `choose` says so; records the decision in `applied`."""
    global applied
    flags, reason = choose(os.environ, enabled, _jaxlib_series(), backends_started(),
                           _platforms(os.environ), _accelerator_plugin())
    if flags is not None:
        os.environ["XLA_FLAGS"] = flags
    applied = (flags, reason)
    return applied

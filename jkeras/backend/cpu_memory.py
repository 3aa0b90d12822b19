"""glibc malloc settings that keep freed memory for reuse: opt-in, set at import on the CPU.

XLA:CPU allocates a program's working buffer afresh at every call and frees it after. Past
glibc's 32 MiB mmap ceiling that is a new mapping each time, so every page of it faults in
again at every step of a large model (docs/performance.md has ResNet50's figures). Served
from the main heap and kept there once freed, the buffer is reused with no faults. That
needs all threads on the main arena (a thread arena maps anything over 64 MiB itself), no
mmap for large blocks, and a trim threshold of 2 GiB. The one arena's lock slows small
models' steps, so it is off by default: `"reuse_freed_memory": true` in `jkeras.json`, or
`JKERAS_REUSE_FREED_MEMORY=1`, turns it on (`=0` off). It is set only on Linux with glibc,
when the backend will be the CPU, jax has not started yet (its threads would keep their
arenas), and the user has not tuned malloc through the environment; the process then keeps
up to 2 GiB of freed memory.
"""
import ctypes
import os
import platform
import sys

from jkeras.backend import xla_flags

SWITCH_VARIABLE = "JKERAS_REUSE_FREED_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_MAX, _M_ARENA_MAX = -1, -4, -8     # mallopt parameters, <malloc.h>
SETTINGS = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, 2 ** 31 - 1))
_USER_TUNING = ("MALLOC_ARENA_MAX", "MALLOC_MMAP_MAX_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_",
                "MALLOC_TOP_PAD_", "LD_PRELOAD")

applied = None    # what `apply_default` did in this process: (settings or None, reason)


def choose(environ, enabled, system, libc, backends_started, platforms, accelerator_plugin):
    """`(settings, reason)`: the mallopt `(parameter, value)` pairs to set, or `None` and why not."""
    switch = environ.get(SWITCH_VARIABLE, "").strip().lower()
    if switch in ("0", "false", "no", "off") or (not enabled and switch not in ("1", "true", "yes", "on")):
        return None, "off (jkeras.json 'reuse_freed_memory' or $JKERAS_REUSE_FREED_MEMORY)"
    if system != "linux" or libc != "glibc":
        return None, f"not Linux with glibc ({system}, {libc or 'unknown libc'})"
    tuned = [name for name in _USER_TUNING if environ.get(name)]
    if "glibc.malloc" in environ.get("GLIBC_TUNABLES", ""):
        tuned.append("GLIBC_TUNABLES")
    if tuned:
        return None, f"the user set {', '.join(tuned)}"
    reason = xla_flags.not_a_fresh_cpu(backends_started, platforms, accelerator_plugin)
    if reason:
        return None, reason
    return SETTINGS, "set"


def apply_default(enabled):
    """Call glibc's `mallopt` with `SETTINGS` where `choose` says so; records the decision in `applied`."""
    global applied
    settings, reason = choose(os.environ, enabled, sys.platform, platform.libc_ver()[0],
                              xla_flags.backends_started(), xla_flags.platforms(os.environ),
                              xla_flags.accelerator_plugin())
    if settings is not None:
        mallopt = ctypes.CDLL(None).mallopt
        if not all(mallopt(parameter, value) == 1 for parameter, value in settings):
            settings, reason = None, "glibc refused a mallopt setting"
    applied = (settings, reason)
    return applied

"""jkeras's opt-in glibc malloc settings: set only when asked and allowed, and they stop XLA's
per-call working buffers from faulting in afresh at every call."""
import json
import os
import platform
import subprocess
import sys

import pytest

from jkeras.backend.cpu_memory import SETTINGS, choose


def _choice(environ=None, enabled=True, system="linux", libc="glibc", started=False, platforms="", plugin=False):
    return choose(environ or {}, enabled, system, libc, started, platforms, plugin)[0]


def test_off_by_default_and_on_when_asked():
    assert _choice(enabled=False) is None
    assert _choice(environ={"JKERAS_REUSE_FREED_MEMORY": "1"}, enabled=False) == SETTINGS
    assert _choice() == SETTINGS
    assert _choice(platforms="cpu") == SETTINGS
    assert _choice(environ={"GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=2048"}) == SETTINGS


@pytest.mark.parametrize("case", [
    dict(environ={"JKERAS_REUSE_FREED_MEMORY": "0"}),
    dict(enabled=False),                                       # "reuse_freed_memory": false in jkeras.json
    dict(system="darwin", libc=""), dict(libc="musl"),
    dict(environ={"MALLOC_ARENA_MAX": "4"}),                   # the user tuned malloc already
    dict(environ={"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}),
    dict(environ={"LD_PRELOAD": "/usr/lib/libjemalloc.so"}),   # another allocator
    dict(started=True),                                        # jax's threads have their arenas
    dict(platforms="cuda"), dict(plugin=True),
])
def test_left_alone(case):
    assert _choice(**case) is None


_PROBE = """
import ctypes, json, resource, threading
import jkeras, jax, jax.numpy as jnp
from jkeras.backend import cpu_memory


def faults(run):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    run()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


libc = ctypes.CDLL(None)
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]


def on_a_new_thread():                    # as XLA's worker threads allocate: 96 MiB, touched, freed
    def work():
        block = libc.malloc(96 << 20)
        ctypes.memset(block, 1, 96 << 20)
        libc.free(block)
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


step = jax.jit(lambda x: jnp.cumsum(x * 2.0) * 3.0)       # a working buffer of 96 MiB per call
x = jnp.ones(24 << 20)
malloc = [faults(on_a_new_thread) for _ in range(4)]
calls = [faults(lambda: step(x).block_until_ready()) for _ in range(16)]
print(json.dumps({"applied": cpu_memory.applied, "malloc": malloc, "calls": calls}))
"""


def _probe(tmp_path, reuse):
    home = tmp_path / ("on" if reuse else "off")
    home.mkdir()
    (home / "jkeras.json").write_text(json.dumps({"reuse_freed_memory": reuse}))
    env = {k: v for k, v in os.environ.items() if k not in ("JKERAS_REUSE_FREED_MEMORY", "JAX_PLATFORMS")}
    env.update(JKERAS_HOME=str(home), JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not (sys.platform == "linux" and platform.libc_ver()[0] == "glibc"),
                    reason="the settings are glibc's")
@pytest.mark.skipif(any(os.environ.get(v) for v in ("MALLOC_ARENA_MAX", "LD_PRELOAD")),
                    reason="this environment tunes malloc itself")
def test_the_switch_keeps_freed_memory_for_the_next_allocation(tmp_path):
    pages = (96 << 20) // 4096
    on = _probe(tmp_path, True)
    assert on["applied"][1] == "set"
    assert max(on["malloc"][1:]) < pages // 10, on      # the second thread reuses the first's block
    off = _probe(tmp_path, False)
    assert off["applied"][0] is None and "off" in off["applied"][1]
    assert min(off["malloc"][1:]) > pages // 2, off     # without it, every block is a new mapping
    # jax's calls: without the settings each faults its buffers in afresh; with them only the
    # calls that grow the heap (a few, as frees from XLA's threads fragment it) fault at all.
    assert sum(on["calls"]) < sum(off["calls"]) / 2, (on, off)

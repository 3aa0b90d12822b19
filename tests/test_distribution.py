"""Many devices: data parallel (multi_gpu_model, DataParallel), ModelParallel, device placement,
and two processes on the loopback address. Multi-device runs happen in subprocesses with
8 host CPU devices, since XLA's device count is fixed when jax starts."""
import os
import socket
import subprocess
import sys

import pytest

WORKERS = os.path.join(os.path.dirname(__file__), "workers")
pytestmark = pytest.mark.slow


def _env(**extra):
    return dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(WORKERS, "..", "..", ".jax_cache"),
                **extra)


def test_parallel_checks_on_eight_cpu_devices():
    proc = subprocess.run([sys.executable, os.path.join(WORKERS, "parallel_checks.py")],
                          capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    for expected in ("OK multi_gpu_model 2 2", "OK multi_gpu_model 4 4", "OK multi_gpu_model 8 8",
                     "OK DataParallel scope", "OK ModelParallel P(None, 'model')", "OK layout error",
                     "OK too many devices", "OK bad device string", "OK device placement [1, 2]"):
        assert expected in lines, (expected, proc.stdout, proc.stderr[-2000:])

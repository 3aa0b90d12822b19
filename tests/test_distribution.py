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


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one_process_with_eight_devices(tmp_path):
    import numpy as np
    worker = os.path.join(WORKERS, "multiprocess_train.py")
    single = subprocess.run([sys.executable, worker, "single"], capture_output=True, text=True,
                            timeout=300, env=_env(OUT=str(tmp_path / "single.npz")))
    assert single.returncode == 0, single.stderr[-3000:]
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, worker, port, "2", str(pid)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=_env(OUT=str(tmp_path / "multi.npz")))
             for pid in (0, 1)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-3000:] for o in outs]
    assert "SAVED" in outs[0][0] and "SAVED" not in outs[1][0]  # only process 0 writes
    a, b = np.load(tmp_path / "single.npz"), np.load(tmp_path / "multi.npz")
    for key in a.files:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)

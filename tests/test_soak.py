"""The crash-safety soak (scripts/soak_kill.py) with two SIGKILLs."""
import os
import subprocess
import sys

import pytest

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "scripts", "soak_kill.py")


@pytest.mark.slow
def test_soak_with_two_kills():
    env = dict(os.environ, JAX_COMPILATION_CACHE_DIR=os.path.join(os.path.dirname(__file__), "..",
                                                                  ".jax_cache"))
    proc = subprocess.run([sys.executable, SCRIPT, "--n", "2", "--epochs", "3", "--max-delay", "8"],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert "SOAK OK" in proc.stdout

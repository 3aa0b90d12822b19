"""Device-placed models run as compiled programs, one per device segment (`jkeras/models/placed.py`):
the same numbers as numpy and as the unplaced model, each layer's values on its device. Each
check runs in a subprocess with 2 host CPU devices (`workers/placement_compiled.py`), since
XLA's device count is fixed when jax starts."""
import os
import subprocess
import sys

import pytest

WORKER = os.path.join(os.path.dirname(__file__), "workers", "placement_compiled.py")


@pytest.mark.parametrize("check", ["function_segments", "mlp_like_unplaced", "conv_bn_dropout",
                                   "shared_layer"])
def test_placed_check(check):
    proc = subprocess.run([sys.executable, WORKER, check], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert f"OK {check}" in proc.stdout.splitlines(), (proc.stdout, proc.stderr[-2000:])

"""`import jkeras` leaves the process's garbage collector, recursion limit and warning filters as it found them.

jkeras used to call `gc.freeze()` at import, which also froze every object the user's program
had built before the import (issue 24; the measurement that removed it is in
scripts/BENCH_RESULTS.md). Each case runs in a fresh interpreter, since a module imports once.
"""
import json
import subprocess
import sys

import pytest

_PROBE = """
import gc, json, sys, warnings
import numpy, jax, jax.numpy          # what jkeras imports first: only jkeras's own changes count
if {disabled}:
    gc.disable()
gc.set_threshold(555, 7, 3)           # a user's own setting, unlike Python's default
made_before = [[] for _ in range(1000)]


def state():
    return dict(enabled=gc.isenabled(), threshold=list(gc.get_threshold()),
                frozen=gc.get_freeze_count(), recursion=sys.getrecursionlimit(),
                filters=[repr(f) for f in warnings.filters])


before = state()
import jkeras
print(json.dumps(dict(before=before, after=state())))
"""


@pytest.mark.parametrize("disabled", [False, True], ids=["gc-enabled", "gc-disabled"])
def test_import_jkeras_leaves_the_process_state_alone(disabled):
    done = subprocess.run([sys.executable, "-c", _PROBE.format(disabled=disabled)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = seen["before"], seen["after"]
    assert after["frozen"] == 0
    assert after["enabled"] is (not disabled)
    assert after["threshold"] == [555, 7, 3]
    assert after == before

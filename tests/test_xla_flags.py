"""jkeras's default CPU XLA flags: set only when they should be, and they reach XLA."""
import json
import os
import subprocess
import sys

import pytest

from jkeras.backend import xla_flags
from jkeras.backend.xla_flags import CPU_FLAGS, choose

TESTED = xla_flags.TESTED_JAXLIB[0]


def _choice(environ=None, enabled=True, series=TESTED, started=False, platforms="", plugin=False):
    return choose(environ or {}, enabled, series, started, platforms, plugin)[0]


def test_set_on_a_plain_cpu_start():
    assert _choice() == CPU_FLAGS
    assert _choice(platforms="cpu") == CPU_FLAGS
    assert _choice(platforms="cpu,cuda", plugin=True) == CPU_FLAGS     # the user asked for the CPU


@pytest.mark.parametrize("case", [
    dict(environ={"XLA_FLAGS": ""}),                      # set by the user, even to nothing
    dict(environ={"XLA_FLAGS": "--xla_cpu_enable_fast_math=false"}),
    dict(environ={"JKERAS_DEFAULT_XLA_FLAGS": "0"}),
    dict(environ={"JKERAS_DEFAULT_XLA_FLAGS": "off"}),
    dict(enabled=False),                                  # "default_xla_flags": false in jkeras.json
    dict(series=(0, 4)), dict(series=None),               # a jaxlib that may not know the flag
    dict(started=True),                                   # too late: XLA has read its flags
    dict(platforms="cuda"), dict(platforms="tpu,cpu"),
    dict(plugin=True),                                    # a GPU/TPU plugin may be the default
])
def test_left_alone(case):
    assert _choice(**case) is None


_PROBE = """
import json, os, jax
import jkeras
from jkeras.backend import xla_flags
conv = lambda x, k: jax.lax.conv_general_dilated(x, k, (1, 1), "VALID",
                                                 dimension_numbers=("NHWC", "HWIO", "NHWC"))
x, k = jax.ShapeDtypeStruct((16, 28, 28, 1), "float32"), jax.ShapeDtypeStruct((3, 3, 1, 32), "float32")
hlo = jax.jit(conv).lower(x, k).compile().as_text()     # the cnn's first conv, as YNNPACK takes it
print(json.dumps({"env": os.environ.get("XLA_FLAGS"), "applied": xla_flags.applied,
                  "ynn_conv": "__ynn_fusion" in hlo}))
"""


def _probe(tmp_path, stored=None, env_extra=None):
    home = tmp_path / ("off" if stored else "on")
    home.mkdir()
    if stored:
        (home / "jkeras.json").write_text(json.dumps(stored))
    env = {k: v for k, v in os.environ.items()
           if k not in ("XLA_FLAGS", "JKERAS_DEFAULT_XLA_FLAGS", "JAX_PLATFORMS")}
    env.update(JKERAS_HOME=str(home), JAX_PLATFORMS="cpu", **(env_extra or {}))
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(xla_flags._jaxlib_series() not in xla_flags.TESTED_JAXLIB,
                    reason="the flag is applied only on the tested jaxlib series")
def test_import_sets_the_flag_and_xla_takes_convolutions_out_of_ynnpack(tmp_path):
    on = _probe(tmp_path)
    assert on["env"] == CPU_FLAGS and on["applied"] == [CPU_FLAGS, "cpu defaults"]
    assert not on["ynn_conv"]
    off = _probe(tmp_path, stored={"default_xla_flags": False})
    assert off["env"] is None and off["applied"][0] is None and "turned off" in off["applied"][1]
    assert off["ynn_conv"]       # what the flag changes: without it YNNPACK runs the convolution

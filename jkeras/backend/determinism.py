"""Bitwise determinism: the XLA flags that make GPU kernels reproducible.

On CPU jkeras is bitwise reproducible as it is (same jax version, device
topology, ISA and core count). On GPU some XLA kernels (scatter-adds,
autotuned convolutions, reductions with atomics) may differ from run to run;
these flags make XLA choose deterministic ones, at some cost in speed.
"""
import logging
import os

from jkeras.backend import xla_flags

GPU_DETERMINISM_FLAGS = (
    "--xla_gpu_deterministic_ops=true",
    "--xla_gpu_exclude_nondeterministic_ops=true",
    "--xla_gpu_enable_scatter_determinism_expander=true",
)


def enable_determinism():
    """Add the deterministic-kernel flags to `XLA_FLAGS`; call it before the first computation.

    Returns the resulting `XLA_FLAGS`. Flags are read when JAX starts its backends, so a call
    after that has no effect on the running process (a warning says so).
    """
    current = os.environ.get("XLA_FLAGS", "").split()
    names = {flag.split("=")[0] for flag in current}
    added = [flag for flag in GPU_DETERMINISM_FLAGS if flag.split("=")[0] not in names]
    os.environ["XLA_FLAGS"] = " ".join(current + added)
    if added and xla_flags.backends_started():
        logging.getLogger("jkeras").warning(
            "enable_determinism() was called after JAX started; the XLA flags apply to new "
            "processes only. Call it at the top of the script.")
    return os.environ["XLA_FLAGS"]

"""Mixed precision: dtype policies (`Policy`, `set_global_policy`) and dynamic loss scaling.

    from jkeras import mixed_precision
    mixed_precision.set_global_policy("mixed_bfloat16")
"""
from jkeras.mixed_precision.policy import (DTypePolicy, Policy, dtype_policy, global_policy,
                                           set_dtype_policy, set_global_policy)

__all__ = ["DTypePolicy", "LossScaleOptimizer", "Policy", "dtype_policy", "global_policy",
           "set_dtype_policy", "set_global_policy"]


def __getattr__(name):
    """`LossScaleOptimizer` lives with the optimizers (a floor above the policies); Keras's
    `mixed_precision.LossScaleOptimizer` path re-exports it on first use."""
    if name == "LossScaleOptimizer":
        from jkeras.optimizers.loss_scale import LossScaleOptimizer
        return LossScaleOptimizer
    raise AttributeError(f"module 'jkeras.mixed_precision' has no attribute '{name}'")

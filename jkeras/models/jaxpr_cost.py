"""What a traced function costs, read from its jaxpr: matmul FLOPs and whether it convolves.

The trainer reads them from one abstract trace of the forward pass to decide, without
timing anything, whether steps run in one compiled loop (see `steps.Steps._loop_pays`).
"""
import math

import jax

from jkeras.layers import onednn_conv


def uses_convolution(fn, *args):
    """Whether `fn(*args)` runs a convolution."""
    return has_convolution(jax.make_jaxpr(fn)(*args).jaxpr)


def dot_flops(jaxpr):
    """Multiply-add FLOPs of the matmuls in `jaxpr`, those of scanned bodies times their length."""
    total = 0.0
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "dot_general":
            (contract, _), _ = eqn.params["dimension_numbers"]
            lhs = eqn.invars[0].aval.shape
            total += 2.0 * math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in contract)
        times = eqn.params.get("length", 1) if eqn.primitive.name == "scan" else 1
        for inner in _sub_jaxprs(eqn):
            total += times * dot_flops(inner)
    return total


def _sub_jaxprs(eqn):
    for value in eqn.params.values():
        for inner in value if isinstance(value, (tuple, list)) else (value,):  # cond's branches
            inner = getattr(inner, "jaxpr", inner)
            if hasattr(inner, "eqns"):
                yield inner


_CONVOLUTIONS = ("conv_general_dilated",) + onednn_conv.CONVOLUTIONS


def has_convolution(jaxpr):
    """Whether `jaxpr`, sub-jaxprs included, has a convolution."""
    return any(eqn.primitive.name in _CONVOLUTIONS or any(map(has_convolution, _sub_jaxprs(eqn)))
               for eqn in jaxpr.eqns)

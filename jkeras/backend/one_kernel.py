"""Small arrays of one shape computed in one XLA:CPU kernel, values unchanged.

XLA:CPU fuses elementwise work into loops with a single output, so an optimizer step writes
each weight and each of its slots in a kernel of its own (Adam: three per weight), and each
kernel adds to the step's compile time (docs/performance.md). A variadic reduction is one
kernel with several outputs: reducing `[x, -0.0]` over a leading axis of length two gives back `x` bit
for bit, since `x + -0.0 == x` for every float, signed zeros and infinities included. (XLA:CPU
flushes subnormal results to zero, so a subnormal input passed through unchanged may come out
as zero where the addition is not folded away, at `xla_backend_optimization_level=0`.) XLA
may fuse the last elementwise operations of a gradient into the joined kernel and contract
them otherwise than in separate ones, so a step's results can move by an ulp.

That kernel cannot write in place: where its inputs are donated (a train step's carry), XLA
copies each output back into the donated buffer. For arrays that stay in cache the copy is
cheap; for larger ones it costs more than the separate kernels, so those are left as they are.
"""
import math

import jax
import jax.numpy as jnp
from jax import lax

MAX_SIZE = 65536  # values per array: up to here Adam's joined update kept the separate kernels' pace


def joined(arrays):
    """`arrays` (floats of one shape and dtype) as the outputs of one kernel, on the CPU and
    up to `MAX_SIZE` values each; else as they are (GPUs fuse several outputs themselves)."""
    arrays = list(arrays)
    if len(arrays) < 2 or jax.default_backend() != "cpu" or math.prod(jnp.shape(arrays[0])) > MAX_SIZE:
        return arrays
    zero = jnp.array(-0.0, arrays[0].dtype)
    rows = [lax.pad(a[None], zero, [(0, 1, 0)] + [(0, 0, 0)] * a.ndim) for a in arrays]  # [a, -0.0]
    return list(lax.reduce(rows, [zero] * len(rows), _sums, (0,)))


def _sums(xs, ys):
    return [x + y for x, y in zip(xs, ys)]

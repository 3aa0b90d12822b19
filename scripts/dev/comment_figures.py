"""The figures jkeras's comments quoted, measured again (issue 24; scripts/comment_audit.py).

    python scripts/dev/comment_figures.py            # about a minute on 2 shared cores

Each line names the comment it backs (file and the constant or function it sits by) and
prints what this machine measures now: a median over repeated warm calls, in the process's
wall clock, with the persistent compilation cache off so compile times are real. The
results, with the date and the machine's load, go into scripts/BENCH_RESULTS.md; the
comments then say what was measured and point there.
"""
import os
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from jkeras import layers

jax.config.update("jax_enable_compilation_cache", False)


def per_call(fn, *args, seconds=0.3):
    """Median seconds of one warm `fn(*args)` (blocked until ready), over `seconds` of calls."""
    return interleaved([(fn, args)], seconds)[0]


def interleaved(calls, seconds=0.6):
    """Median seconds of each warm `(fn, args)` of `calls`, called in turn (A B A B ...) for
    `seconds`, so that a change in the machine's load falls on all of them alike."""
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    times, stop = [[] for _ in calls], time.perf_counter() + seconds
    while time.perf_counter() < stop or len(times[0]) < 3:
        for (fn, args), seen in zip(calls, times):
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            seen.append(time.perf_counter() - start)
    return [statistics.median(seen) for seen in times]


def compile_s(fn, *args):
    """Seconds to lower and compile `jax.jit(fn)` for `args`."""
    start = time.perf_counter()
    jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start


def show(where, text):
    """One result line: where the comment is, then the figures."""
    print(f"{where:44s} {text}", flush=True)


def draws():
    """initializers.py `_MIN_BUCKET`: one normal draw of 16k values; QR on device vs the host."""
    key = jax.random.key(0)
    normal = jax.jit(lambda k: jax.random.normal(k, (1 << 14,)))
    show("initializers.py _MIN_BUCKET",
         f"normal draw of 16,384 values: {1e6 * per_call(normal, key):.0f} us")
    compile_s(lambda a: a + 1, np.ones(3, "float32"))    # the process's first compile, not counted
    a = np.random.default_rng(0).standard_normal((256, 128)).astype("float32")
    show("initializers.py Orthogonal (QR)",
         f"compile jnp.linalg.qr (256x128): {compile_s(jnp.linalg.qr, a):.2f} s; "
         f"np.linalg.qr on the host: {1e3 * per_call(np.linalg.qr, a):.2f} ms")


def epoch_order():
    """data/adapters.py `epoch_order`: a host permutation of 100k against a device one."""
    rng = np.random.Generator(np.random.PCG64(0))
    key = jax.random.key(0)
    built = compile_s(lambda k: jax.random.permutation(k, 100_000), key)
    device = jax.jit(lambda k: jax.random.permutation(k, 100_000))
    host, device = interleaved([(lambda: rng.permutation(100_000), ()), (device, (key,))])
    show("data/adapters.py epoch_order",
         f"100k samples: host {1e3 * host:.2f} ms; device {1e3 * device:.2f} ms "
         f"(+ {built:.2f} s compile)")


def pool_gradients():
    """layers/pooling.py `_tiled_max`, `_window_max`: max-pool gradients vs select-and-scatter."""
    for name, shape, pool, strides in (("cnn 2x2 over 128x26x26x32", (128, 26, 26, 32), 2, 2),
                                       ("3x3/2 over 8x114x114x64", (8, 114, 114, 64), 3, 2)):
        x = np.random.default_rng(0).standard_normal(shape).astype("float32")
        layer = layers.MaxPooling2D(pool, strides)
        pooled = lambda v: layer.apply({}, {}, jax.nn.relu(v), training=True)[0]
        ours = jax.jit(jax.grad(lambda v: pooled(v).sum()))
        dims, steps = (1, pool, pool, 1), (1, strides, strides, 1)
        scatter = jax.jit(jax.grad(lambda v: lax.reduce_window(
            jax.nn.relu(v), -np.inf, lax.max, dims, steps, "VALID").sum()))
        t_ours, t_scatter = interleaved([(ours, (x,)), (scatter, (x,))])
        show("layers/pooling.py max-pool gradient",
             f"{name}: select-and-scatter {1e3 * t_scatter:.1f} ms, jkeras {1e3 * t_ours:.1f} ms "
             f"({t_scatter / t_ours:.1f}x)")


def _conv_step(params, x):
    """One SGD step of two 3x3 convolutions (1 -> 32 -> 64 channels, 28x28, batch 8), a read-out."""
    def loss(p):
        h = x
        for k in (p["k1"], p["k2"]):
            h = jax.nn.relu(lax.conv_general_dilated(h, k, (1, 1), "VALID",
                                                     dimension_numbers=("NHWC", "HWIO", "NHWC")))
        return (h.mean((1, 2)) @ p["w"]).sum()
    grads = jax.grad(loss)(params)
    return jax.tree.map(lambda p, g: p - 1e-3 * g, params, grads)


def conv_in_a_loop(steps=4):
    """models/steps.py `_train_fn`: conv train steps in a `lax.scan` against unrolled."""
    rng = np.random.default_rng(0)
    params = {"k1": rng.standard_normal((3, 3, 1, 32)).astype("float32") * 0.1,
              "k2": rng.standard_normal((3, 3, 32, 64)).astype("float32") * 0.1,
              "w": rng.standard_normal((64, 10)).astype("float32")}
    x = rng.standard_normal((8, 28, 28, 1)).astype("float32")

    def unrolled(p, x):
        for _ in range(steps):
            p = _conv_step(p, x)
        return p

    def scanned(p, x):
        return lax.scan(lambda c, _: (_conv_step(c, x), None), p, None, steps)[0]
    t_scan, t_unrolled = interleaved([(jax.jit(scanned), (params, x)),
                                       (jax.jit(unrolled), (params, x))])
    show("models/steps.py _train_fn (convs)",
         f"{steps} conv steps: unrolled {1e3 * t_unrolled:.2f} ms, lax.scan {1e3 * t_scan:.2f} ms "
         f"({t_scan / t_unrolled:.1f}x)")


def mlp_in_a_loop(steps=8):
    """models/steps.py `_auto_train_fn`: 670k-weight MLP Adam steps, looped or one per call."""
    rng = np.random.default_rng(0)
    sizes = (784, 512, 512, 10)
    params = [(rng.standard_normal((m, n)).astype("float32") * 0.05, np.zeros(n, "float32"))
              for m, n in zip(sizes, sizes[1:])]
    x = rng.standard_normal((128, 784)).astype("float32")
    y = rng.integers(0, 10, 128)
    opt = optax.adam(1e-3)

    def step(carry):
        p, s = carry
        def loss(p):
            h = x
            for i, (w, b) in enumerate(p):
                h = h @ w + b
                h = jax.nn.relu(h) if i < len(p) - 1 else h
            return optax.softmax_cross_entropy_with_integer_labels(h, y).mean()
        updates, s = opt.update(jax.grad(loss)(p), s, p)
        return optax.apply_updates(p, updates), s

    carry = (params, opt.init(params))
    one = jax.jit(step)
    loop = jax.jit(lambda c, n: lax.fori_loop(0, n, lambda i, c: step(c), c))

    def per_step_calls(c):
        for _ in range(steps):
            c = one(c)
        return c
    t_calls, t_loop = interleaved([(per_step_calls, (carry,)), (loop, (carry, steps))])
    show("models/steps.py _auto_train_fn (MLP)",
         f"{steps} steps, 784-512-512-10, batch 128: one call per step {1e3 * t_calls:.1f} ms, "
         f"fori_loop {1e3 * t_loop:.1f} ms ({t_loop / t_calls:.2f}x)")


def matmul_and_dispatch():
    """models/steps.py `_LOOP_MAX_FLOPS`: a 16 MFLOP matmul against an empty call's dispatch."""
    a = np.ones((200, 200), "float32")       # 2 * 200**3 = 16e6 flops
    matmul = jax.jit(lambda a: a @ a)
    empty = jax.jit(lambda a: a)
    t_matmul, t_empty = interleaved([(matmul, (a,)), (empty, (a,))])
    show("models/steps.py _LOOP_MAX_FLOPS",
         f"16 MFLOP matmul: {1e6 * t_matmul:.0f} us; an empty jitted call: {1e6 * t_empty:.0f} us")


def h5py_import(rounds=3):
    """saving/h5_probe.py `_Child`: what importing h5py costs a fresh interpreter."""
    def run(code):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start
    bare = statistics.median(run("pass") for _ in range(rounds))
    h5 = statistics.median(run("import h5py") for _ in range(rounds))
    show("saving/h5_probe.py _Child", f"importing h5py: {h5 - bare:.2f} s over a bare interpreter")


if __name__ == "__main__":
    print(f"# {os.uname().machine}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}, "
          f"jax {jax.__version__}")
    for measure in (draws, epoch_order, pool_gradients, conv_in_a_loop, mlp_in_a_loop,
                    matmul_and_dispatch, h5py_import):
        measure()

"""Two versions of one train step in one process, their calls alternated.

    python scripts/dev/ab_step.py resnet50 --size 224 --options '{"xla_cpu_prefer_vector_width": 512}'
    python scripts/dev/ab_step.py cnn --patch my_lowering.py --rounds 40
    python scripts/dev/ab_step.py cnn --patch my_lowering.py --compiles 4   # compile times instead

A is the workload's train step as jkeras compiles it. B is the same lowered program compiled
with XLA `--options` (a JSON dict of compile options), or the step of a second model built
after running the Python file `--patch` (which changes a lowering, e.g. by monkeypatching a
layer). Each round calls A and B once on the same data, in alternating order, and the line
printed gives B - A per round. On a shared machine a step's time varies 5-10% between
processes, more than most lowering changes; within one process both programs see the same
load, so a 1% difference shows (docs/performance.md). With `--compiles N`, A's and B's lowered
steps are compiled N times each, alternated, past every cache, and the compile times are
printed instead. Workloads: those of
scripts/bench_workloads.py, and the applications in `APPLICATIONS` (batch 8, SGD, like
scripts/bench_resnet_train.py): resnet50, and mobilenetv2 and efficientnetb0 for depthwise convolutions.
"""
import argparse
import json
import os
import runpy
import sys
import tempfile
import time

os.environ.setdefault("JKERAS_HOME", tempfile.mkdtemp())
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_workloads as workloads  # noqa: E402
import jkeras  # noqa: E402


APPLICATIONS = {"resnet50": "ResNet50", "mobilenetv2": "MobileNetV2", "efficientnetb0": "EfficientNetB0"}


def build(workload, size):
    """The workload's compiled model, its data and batch size."""
    jkeras.utils.set_random_seed(0)
    if workload in APPLICATIONS:
        x, y = workloads.make_data("resnet50", 16, size)
        application = getattr(jkeras.applications, APPLICATIONS[workload])
        model = application(weights=None, input_shape=(size, size, 3), classes=10)
        model.compile(optimizer=jkeras.optimizers.SGD(learning_rate=0.01), loss="sparse_categorical_crossentropy")
        return model, x, y, 8
    shape, batch = workloads.WORKLOADS[workload]
    x, y = workloads.make_data(workload, 8 * batch)
    model = workloads.build_model(jkeras, workload, shape, False)
    model.compile(optimizer=jkeras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    return model, x, y, batch


def copies(tree):
    """New buffers for the arrays in `tree` (a step donates its carry)."""
    return jax.tree.map(lambda v: jnp.copy(v) if isinstance(v, jax.Array) else v, tree)


def captured_step(model, x, y, batch):
    """`(jitted step, its first call's arguments)`, from one epoch of `fit`."""
    seen = {}
    make = model._train_fn

    def recording(*key):
        step = make(*key)

        def call(*args):
            if not seen:
                seen["step"], seen["args"] = step, copies(args)
            return step(*args)
        return call
    model._train_fn = recording
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    model._train_fn = make
    return seen["step"], seen["args"]


def lowered(step, args):
    return step.lower(*jax.tree.map(lambda v: jax.ShapeDtypeStruct(np.shape(v), jnp.asarray(v).dtype), args))


def compile_times(lowerings, count):
    """Seconds of `count` backend compiles of each `(label, lowered, options)`, alternated,
    past jax's caches (a fresh compile each time, as in a cold process)."""
    from jax._src import compiler, xla_bridge
    backend = xla_bridge.get_backend()
    devices = jax._src.lib._jax.DeviceList(tuple(backend.devices()[:1]))
    times = {label: [] for label, _, _ in lowerings}
    for _ in range(count):
        for label, low, options in lowerings:
            opts = compiler.get_compile_options(num_replicas=1, num_partitions=1)
            opts.env_option_overrides = list(options.items())
            module = low.compiler_ir("stablehlo")
            start = time.perf_counter()
            compiler.backend_compile_and_load(backend, module, devices, opts, [])
            times[label].append(time.perf_counter() - start)
    return times


def alternate(a, b, args_a, args_b, rounds):
    """Times (ms) of A and B over `rounds` rounds, each calling both, the first alternating."""
    carries, rest = {"a": args_a[0], "b": args_b[0]}, {"a": args_a[1:], "b": args_b[1:]}
    programs, times = {"a": a, "b": b}, {"a": [], "b": []}

    def call(name):
        start = time.perf_counter()
        carries[name], _ = programs[name](carries[name], *rest[name])
        jax.block_until_ready(carries[name])
        return (time.perf_counter() - start) * 1e3
    for name in "abab":        # warm both
        call(name)
    for r in range(rounds):
        for name in ("ab" if r % 2 == 0 else "ba"):
            times[name].append(call(name))
    return np.array(times["a"]), np.array(times["b"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=sorted(set(workloads.WORKLOADS) | set(APPLICATIONS)))
    p.add_argument("--size", type=int, default=224, help="an application's input side")
    p.add_argument("--options", default=None, help="JSON dict of XLA compile options for B")
    p.add_argument("--patch", default=None, help="Python file run before B's model is built")
    p.add_argument("--rounds", type=int, default=12)
    p.add_argument("--compiles", type=int, default=0, help="time N compiles of A and B instead of steps")
    args = p.parse_args(argv)
    if (args.options is None) == (args.patch is None):
        p.error("give exactly one of --options and --patch")

    model, x, y, batch = build(args.workload, args.size)
    step, step_args = captured_step(model, x, y, batch)
    lowered_a = lowered(step, step_args)       # before the patch: lowering may trace the step again
    if args.patch:
        runpy.run_path(args.patch)
        step_b, b_args = captured_step(build(args.workload, args.size)[0], x, y, batch)
        options_b, label = {}, args.patch
    else:
        step_b, b_args = step, copies(step_args)
        options_b, label = json.loads(args.options), args.options
    if args.compiles:
        times = compile_times([("A", lowered_a, {}), ("B", lowered(step_b, b_args), options_b)],
                              args.compiles)
        for name, ts in times.items():
            print(f"{args.workload} compile {name}{'=' + label if name == 'B' else ''}: min {min(ts) * 1e3:.0f} "
                  f"median {np.median(ts) * 1e3:.0f} ms ({', '.join(f'{t * 1e3:.0f}' for t in ts)})")
        return
    a, b = lowered_a.compile(), lowered(step_b, b_args).compile(options_b)
    ta, tb = alternate(a, b, step_args, b_args, args.rounds)
    diff = tb - ta
    print(f"{args.workload} B={label}: A min {ta.min():.1f} median {np.median(ta):.1f} ms | B min {tb.min():.1f} "
          f"median {np.median(tb):.1f} ms | B - A per round: median {np.median(diff):+.1f} ms "
          f"({np.median(diff) / np.median(ta) * 100:+.1f}%), B faster in {int((diff < 0).sum())}/{len(diff)}")


if __name__ == "__main__":
    main()

"""What a cold first `fit` compiles, and how long each program takes.

    python scripts/dev/cold_compiles.py cnn 1000      # workload of scripts/bench_workloads.py, samples
    python scripts/dev/cold_compiles.py cnn 1000 --home /tmp/h   # twice: the second run is warm

Runs in a fresh jkeras home (an empty compilation cache) or in `--home`, builds the workload's model,
fits one epoch twice and prints the build time, the first epoch, the second (steady) one,
and each XLA compilation of the process with its duration.
"""
import os
import sys
import tempfile
import time

_ARGS = [a for a in sys.argv[1:] if a != "--home"]
_HOME = sys.argv[sys.argv.index("--home") + 1] if "--home" in sys.argv else None
if _HOME:
    _ARGS.remove(_HOME)
os.environ["JKERAS_HOME"] = _HOME or tempfile.mkdtemp()
import jax  # noqa: E402

_COMPILES = []
jax.monitoring.register_event_duration_secs_listener(
    lambda event, seconds, **kw: _COMPILES.append((kw.get("fun_name", "?"), seconds))
    if event.endswith("backend_compile_duration") else None)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import bench_workloads as workloads  # noqa: E402
import jkeras  # noqa: E402


def main(workload="cnn", samples=1000):
    shape, batch = workloads.WORKLOADS[workload]
    x, y = workloads.make_data(workload, samples)
    jkeras.utils.set_random_seed(0)
    start = time.perf_counter()
    model = workloads.build_model(jkeras, workload, shape, False)
    model.compile(optimizer=jkeras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy")
    built = time.perf_counter() - start
    epochs = []
    for _ in range(2):
        start = time.perf_counter()
        model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        epochs.append(time.perf_counter() - start)
    print(f"{workload}, {samples} samples, batch {batch}: build + compile() {built:.2f} s, first epoch "
          f"{epochs[0]:.2f} s, second {epochs[1]:.2f} s, first-epoch overhead {built + epochs[0] - epochs[1]:.2f} s")
    for name, seconds in _COMPILES:
        print(f"  compiled {name:28s} {seconds * 1e3:7.1f} ms")


if __name__ == "__main__":
    main(_ARGS[0] if _ARGS else "cnn", int(_ARGS[1]) if len(_ARGS) > 1 else 1000)

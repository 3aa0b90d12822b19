"""Import + build + first fit of a small model in a fresh process, under one gc policy (issue 24).

    python scripts/dev/gc_bench.py VARIANT [MODEL] [EPOCHS]

VARIANT, applied by this script around `import jkeras` (any `gc.freeze()` jkeras itself
would call during the import is made a no-op, so each variant means the same before and
after jkeras stopped freezing at import):
   freeze  - `gc.freeze()` right after `import jkeras` (what `import jkeras` did before #24)
   none    - nothing: the gc as Python starts it
   disable - gc disabled during `import jkeras` only, enabled again after it
   compile - `gc.freeze()` right before the first fit (where the first compile starts)
MODEL: `dense` (Dense(64)-Dense(10) on 512x20, batch 32; default) or `cnn` (Conv2D(8)-Conv2D(8)-
Dense(10) on 256x16x16x1, batch 32). EPOCHS: of the fit, default 2.

Prints one line: import, build and fit seconds, then the garbage collections that ran during
build + fit (count and ms for each generation), the frozen object count, the generation-2
collections of the process up to then, and last the seconds and generation-2 collections of
making 300,000 small lists afterwards (a program's own objects, which trigger full collections
that scan whatever is not frozen). Interleave the variants over a few rounds (shared machines
are noisy): `for i in 1 2 3; do for v in freeze none compile disable; do python
scripts/dev/gc_bench.py $v; done; done`. Results: scripts/BENCH_RESULTS.md (issue 24).
"""
import gc
import sys
import time

variant = sys.argv[1]
model_kind = sys.argv[2] if len(sys.argv) > 2 else "dense"
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 2
assert variant in ("freeze", "none", "disable", "compile"), variant

t0 = time.perf_counter()
process_gen2 = {"n": 0, "ms": 0.0}
phase_gc = {g: {"n": 0, "ms": 0.0} for g in range(3)}
record = {"on": False, "start": 0.0}


def on_gc(phase, info):
    """Counts generation-2 passes of the whole process, and every pass during build + fit."""
    if phase == "start":
        record["start"] = time.perf_counter()
        return
    ms = 1e3 * (time.perf_counter() - record["start"])
    if info["generation"] == 2:
        process_gen2["n"] += 1
        process_gen2["ms"] += ms
    if record["on"]:
        phase_gc[info["generation"]]["n"] += 1
        phase_gc[info["generation"]]["ms"] += ms


gc.callbacks.append(on_gc)
real_freeze = gc.freeze
gc.freeze = lambda: None
if variant == "disable":
    gc.disable()
import numpy as np
import jkeras
from jkeras import layers
if variant == "disable":
    gc.enable()
gc.freeze = real_freeze
if variant == "freeze":
    gc.freeze()
t1 = time.perf_counter()

record["on"] = True
rng = np.random.default_rng(0)
if model_kind == "dense":
    model = jkeras.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)),
                               layers.Dense(10, activation="softmax")])
    x = rng.random((512, 20), dtype="float32")
    y = rng.integers(0, 10, 512)
else:
    model = jkeras.Sequential([layers.Conv2D(8, 3, activation="relu", input_shape=(16, 16, 1)),
                               layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    x = rng.random((256, 16, 16, 1), dtype="float32")
    y = rng.integers(0, 10, 256)
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
t2 = time.perf_counter()
if variant == "compile":
    gc.freeze()
model.fit(x, y, batch_size=32, epochs=epochs, verbose=0)
t3 = time.perf_counter()
record["on"] = False
before = dict(process_gen2)
keep = [[i] for i in range(300_000)]       # a program's own long-lived objects, made after
t4 = time.perf_counter()
after = {k: process_gen2[k] - before[k] for k in before}

cols = " ".join(f"gen{g}={phase_gc[g]['n']}/{phase_gc[g]['ms']:.0f}ms" for g in range(3))
print(f"{variant:8s} {model_kind} import={t1 - t0:.2f} build={t2 - t1:.2f} fit={t3 - t2:.3f} "
      f"[build+fit gc: {cols}] frozen={gc.get_freeze_count()} "
      f"process_gen2={before['n']}/{before['ms']:.0f}ms "
      f"then 300k lists={t4 - t3:.2f}s gen2={after['n']}/{after['ms']:.0f}ms")

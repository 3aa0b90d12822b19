"""import + build + first fit of a small model; variant via argv[1]:
   import  - as today (gc.freeze() inside `import jkeras`)
   none    - gc.freeze made a no-op for the import
   disable - no freeze; gc disabled during `import jkeras` only, re-enabled after
   compile - no freeze at import; one gc.freeze() right before the first fit (where a compile starts)
Prints: variant, import s, build s, first fit s, total s, gen-2 collections and their ms during fit."""
import gc, sys, time
variant = sys.argv[1]
t0 = time.perf_counter()
allg = {"n": 0, "ms": 0.0, "s": 0}
def allcb(phase, info):
    if info["generation"] != 2: return
    if phase == "start": allg["s"] = time.perf_counter()
    else: allg["n"] += 1; allg["ms"] += 1e3 * (time.perf_counter() - allg["s"])
gc.callbacks.append(allcb)
real_freeze = gc.freeze
if variant != "import":
    gc.freeze = lambda: None
if variant == "disable":
    gc.disable()
import numpy as np
import jkeras
if variant == "disable":
    gc.enable()
from jkeras import layers
gc.freeze = real_freeze
t1 = time.perf_counter()
model = jkeras.Sequential([layers.Dense(64, activation="relu", input_shape=(20,)), layers.Dense(10, activation="softmax")])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
x = np.random.rand(512, 20).astype("float32"); y = np.random.randint(0, 10, 512)
t2 = time.perf_counter()
stats = {"n": 0, "ms": 0.0}
start = {}
def cb(phase, info):
    if info["generation"] != 2: return
    if phase == "start": start["t"] = time.perf_counter()
    else: stats["n"] += 1; stats["ms"] += 1e3 * (time.perf_counter() - start["t"])
if variant == "compile":
    gc.freeze()
gc.callbacks.append(cb)
model.fit(x, y, batch_size=32, epochs=2, verbose=0)
t3 = time.perf_counter()
gc.callbacks.remove(cb)
print(f"{variant:8s} import={t1-t0:.2f} build={t2-t1:.2f} fit={t3-t2:.3f} total={t3-t0:.2f} gen2={stats['n']} gen2_ms={stats['ms']:.0f} frozen={gc.get_freeze_count()} process_gen2={allg['n']} process_gen2_ms={allg['ms']:.0f}")

"""Data-parallel training over processes: `multiprocess_train.py PORT NPROC PID` (or `single`).

Each process has 8/NPROC CPU devices; prints `WEIGHTS <path of an .npz>` from process 0.
"""
import os
import sys

mode = sys.argv[1]
nproc = 1 if mode == "single" else int(sys.argv[2])
os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={8 // nproc}"
os.environ["JAX_PLATFORMS"] = "cpu"

import numpy as np  # noqa: E402

import jkeras  # noqa: E402
from jkeras import layers  # noqa: E402

if mode != "single":
    jkeras.distribution.initialize(f"127.0.0.1:{mode}", nproc, int(sys.argv[3]))

jkeras.distribution.set_distribution(jkeras.distribution.DataParallel())
jkeras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(64, 10)).astype("float32")
y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
model = jkeras.Sequential([layers.Dense(16, activation="relu", input_shape=(10,)), layers.Dropout(0.2),
                           layers.Dense(3, activation="softmax")])
model.compile("adam", "categorical_crossentropy")
history = model.fit(x, y, batch_size=16, epochs=3, shuffle=True, verbose=0)
out = os.environ["OUT"]
if jkeras.distribution.is_chief():
    np.savez(out, *model.get_weights(), loss=np.asarray(history.history["loss"]))
    print("SAVED", out, flush=True)

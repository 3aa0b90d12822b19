"""Keras 2-era optimizer libraries, installed as published by the `test` extra, run unedited on
jkeras imported as `keras`: keras-rectified-adam 0.15.0's `RAdam` (a `get_updates` optimizer)
and keras-lookahead 0.9.0's `Lookahead` (which swaps `K.update` for its own while the inner
optimizer's `get_updates` runs), over RAdam and over jkeras's own Adam. The weights after 12 and
16 steps equal numpy reimplementations of the papers' rules as the libraries write them; a
model saved to `.h5` after 12 steps and loaded with the libraries' custom objects goes on as the
original. Also segmentation-models' metric names in History (Keras 2's: `f1-score` as the
library names it). The libraries run in a fresh process, where `keras` can still be made to
mean jkeras (tests/workers/keras2_optimizer_libraries.py)."""
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np

from optimizer_rules import adam_rule, linear_mse_run, lookahead_rule, radam_rule

HERE = os.path.dirname(__file__)
WORKER = os.path.join(HERE, "workers", "keras2_optimizer_libraries.py")
LIBRARIES = ("keras_radam", "keras_lookahead", "segmentation_models")
_spec = importlib.util.spec_from_file_location("keras2_optimizer_libraries_worker", WORKER)
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)  # its top level imports numpy only; the libraries load in the worker


def _run_worker():
    missing = [name for name in LIBRARIES if importlib.util.find_spec(name) is None]
    assert not missing, f"install the test extra (pip install -e '.[test]'); missing {missing}"
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "SM_FRAMEWORK", "TF_KERAS")}
    proc = subprocess.run([sys.executable, WORKER, *worker.CASES], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    found = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    return {r["case"]: r for r in found}


RULES = {
    "radam": lambda: radam_rule(0.05, beta_2=0.99),
    "radam_options": lambda: radam_rule(0.05, beta_2=0.99, amsgrad=True, weight_decay=0.01, decay=0.05,
                                        total_steps=16, warmup_proportion=0.25, min_lr=0.005),
    "lookahead_radam": lambda: lookahead_rule(radam_rule(0.05, beta_2=0.99), 5, 0.4),
    "lookahead_adam": lambda: lookahead_rule(adam_rule(0.001), 7, 0.5),
}


def numpy_run(rule, initial, steps):
    """A `Dense(1)` under MSE trained by `rule(params, grads, t)` on the worker's batches in order."""
    return linear_mse_run(rule, initial, *worker.data(), worker.BATCH, steps)


def test_published_radam_and_lookahead_train_as_their_rules_and_survive_h5():
    """One test, one process: under pytest-xdist a module fixture would start it once per worker."""
    results, problems = _run_worker(), []
    steps = worker.FIRST_EPOCHS * len(worker.data()[0]) // worker.BATCH
    for case, make_rule in RULES.items():
        r = results[case]
        for at, key in ((steps, "trained"), (steps + 4, "continued")):
            want = numpy_run(make_rule(), r["initial"], at)
            for got, ref in zip(r[key], want):
                if not np.allclose(got, ref, rtol=1e-4, atol=1e-6):
                    problems.append(f"{case} after {at} steps: {np.ravel(got)} != numpy's {np.ravel(ref)}")
        if r["reloaded_continued"] != r["continued"] or not r["same_config"] or r["iterations"] != steps + 4:
            problems.append(f"{case}: the model loaded from .h5 did not go on as the original: {r}")
    assert results["lookahead_radam"]["inner"] == "RAdam" and results["lookahead_adam"]["inner"] == "Adam"
    assert not problems, "\n".join(problems)

    sm = results["segmentation_metrics"]
    names = ["loss", "iou_score", "f1-score"]
    assert sm["metrics_names"] == sm["metric_objects"] == sm["reloaded_logs"] == names
    assert sm["history_keys"] == names + ["val_" + n for n in names]
    assert sm["reload_gap"] <= 1e-6

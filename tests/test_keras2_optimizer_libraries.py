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


def radam_rule(lr, beta_1=0.9, beta_2=0.999, eps=1e-7, decay=0.0, weight_decay=0.0, amsgrad=False,
               total_steps=0, warmup_proportion=0.1, min_lr=0.0):
    """keras-radam 0.15.0's update (Liu et al. 2019, with its warm-up and decay options), float64."""
    m, v, vhat = {}, {}, {}
    sma_inf = 2 / (1 - beta_2) - 1

    def rule(params, grads, t):
        rate = lr / (1 + decay * (t - 1)) if decay else lr
        if total_steps:
            warmup = total_steps * warmup_proportion
            decay_steps = max(total_steps - warmup, 1)
            rate = (rate * t / warmup if t <= warmup
                    else rate + (min_lr - rate) / decay_steps * min(t - warmup, decay_steps))
        sma_t = sma_inf - 2 * t * beta_2 ** t / (1 - beta_2 ** t)
        out = []
        for j, (p, g) in enumerate(zip(params, grads)):
            m[j] = beta_1 * m.get(j, 0) + (1 - beta_1) * g
            v[j] = beta_2 * v.get(j, 0) + (1 - beta_2) * g * g
            vhat[j] = np.maximum(vhat.get(j, 0), v[j]) if amsgrad else v[j]
            m_corr, v_corr = m[j] / (1 - beta_1 ** t), np.sqrt(vhat[j] / (1 - beta_2 ** t))
            if sma_t >= 5:
                r_t = np.sqrt((sma_t - 4) / (sma_inf - 4) * (sma_t - 2) / (sma_inf - 2) * sma_inf / sma_t)
                step = r_t * m_corr / (v_corr + eps)
            else:
                step = m_corr
            out.append(p - rate * (step + weight_decay * p))
        return out
    return rule


def adam_rule(lr=0.001, beta_1=0.9, beta_2=0.999, eps=1e-7):
    """Keras's Adam (the bias corrections folded into the rate)."""
    m, v = {}, {}

    def rule(params, grads, t):
        rate = lr * np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
        out = []
        for j, (p, g) in enumerate(zip(params, grads)):
            m[j] = beta_1 * m.get(j, 0) + (1 - beta_1) * g
            v[j] = beta_2 * v.get(j, 0) + (1 - beta_2) * g * g
            out.append(p - rate * m[j] / (np.sqrt(v[j]) + eps))
        return out
    return rule


def lookahead_rule(inner, sync_period, slow_step):
    """Lookahead (Zhang et al. 2019): every `sync_period` steps the slow weights move `slow_step`
    towards the fast ones, and the fast ones start again from there."""
    slow = []

    def rule(params, grads, t):
        slow[:] = slow or [p.copy() for p in params]
        fast = inner(params, grads, t)
        if t % sync_period:
            return fast
        slow[:] = [s + slow_step * (f - s) for s, f in zip(slow, fast)]
        return [s.copy() for s in slow]
    return rule


RULES = {
    "radam": lambda: radam_rule(0.05, beta_2=0.99),
    "radam_options": lambda: radam_rule(0.05, beta_2=0.99, amsgrad=True, weight_decay=0.01, decay=0.05,
                                        total_steps=16, warmup_proportion=0.25, min_lr=0.005),
    "lookahead_radam": lambda: lookahead_rule(radam_rule(0.05, beta_2=0.99), 5, 0.4),
    "lookahead_adam": lambda: lookahead_rule(adam_rule(), 7, 0.5),
}


def numpy_run(rule, initial, steps):
    """A `Dense(1)` under MSE trained by `rule(params, grads, t)` on the worker's batches in order."""
    x, y = (a.astype(np.float64) for a in worker.data())
    params = [np.asarray(w, np.float64) for w in initial]
    for t in range(1, steps + 1):
        i = (t - 1) * worker.BATCH % len(x)
        xb, yb = x[i:i + worker.BATCH], y[i:i + worker.BATCH]
        dpred = 2 * (xb @ params[0] + params[1] - yb) / yb.size
        params = rule(params, [xb.T @ dpred, dpred.sum(0)], t)
    return params


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

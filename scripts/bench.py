"""jkeras against Keras 3 (JAX backend), tf.keras 2 and a hand-written jax + optax loop.

    python scripts/bench.py --quick                      # < 2 min on 2 quiet cores, 1 round
    python scripts/bench.py                              # 3 rounds, more samples, + resnet50
    python scripts/bench.py --workloads tiny,mlp --rounds 5
    python scripts/bench.py --steps-per-execution 8      # jkeras spe=8 on every workload
    python scripts/bench.py --tf-python /opt/tfref/bin/python   # + tf.keras 2 from that venv

Each (workload, contender) run is its own process (`scripts/bench_workloads.py`), so that
compile time and peak RSS are the process's own; the contenders run interleaved
(A B C, A B C, ... with the starting contender rotated each round) and the table shows
medians over rounds, with the range (min-max) over rounds beside them. The same model, synthetic data (numpy seed 0), Adam(1e-3), sparse
categorical cross-entropy and per-epoch shuffling for everyone; see bench_workloads.py.

Contenders: `jkeras` (its default configuration: `compile()` given no steps_per_execution),
`jkeras spe=N` (N from --steps-per-execution, default 32; on `tiny` only unless the flag is
given), `keras3`, `tfkeras` (tf.keras 2 with TensorFlow, when `tf_keras` imports in this
interpreter or in the one --tf-python names; an optional extra, never a test dependency),
`hand` (a jitted, donated step called per batch; the epoch shuffled on the host).
Each process gets an empty JKERAS_HOME, so jkeras's first step is measured cold;
`--cache` adds a second jkeras process that reuses the first one's home (warm cache).

Columns: steady-state training samples/s (median over the epochs after the first of one
`fit`; resnet50: inference samples/s of `predict`), per CPU-s (the same per second of the
process's CPU time, all threads: on an oversubscribed machine a process's share of the wall
clock grows with its thread count, so this is the fairer figure there), first step s (build + compile() +
first training dispatch, imports excluded), first epoch s (build + compile() + one whole
`fit` epoch, in a process of its own, imports excluded: what a script's first run waits
for), first-epoch overhead s (first epoch minus a steady epoch), predict 1 ms (`predict` on one sample),
predict_on_batch ms (one batch of the workload's batch size), peak RSS MB (ru_maxrss).
Nothing here asserts on timings: read the ratio lines. Machines are shared and noisy:
rerun before believing a difference under ~20%.
"""
import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "bench_workloads.py")

# workload: (samples quick, samples full, batch)
SIZES = {
    "tiny": (32768, 131072, 32),
    "mlp": (8192, 32768, 128),
    "cnn": (1024, 8192, 128),
    "lstm": (2048, 8192, 64),
    "resnet50": (64, 128, 32),
    "resblocks": (512, 2048, 32),
}
QUICK_DEFAULT = "tiny,mlp,cnn,lstm"
FULL_DEFAULT = "tiny,mlp,cnn,lstm,resblocks,resnet50"
METRICS = ("train_sps", "train_cpu_sps", "first_step_s", "first_epoch_s", "overhead_s", "predict1_ms", "pob_ms",
           "peak_rss_mb")


def contenders_for(workload, spe, spe_everywhere, tf_python):
    names = [("jkeras", 0)]
    if workload != "resnet50" and spe > 1 and (workload == "tiny" or spe_everywhere):
        names.append(("jkeras", spe))
    names += [("keras3", 0)] + ([("tfkeras", 0)] if tf_python else []) + [("hand", 0)]
    return names


def label(contender, spe):
    return contender if spe == 0 else f"{contender} spe={spe}"


def find_tf_python(given):
    """The interpreter for the tf.keras contender: --tf-python, else this one if it has tf_keras."""
    if given:
        return given
    return sys.executable if importlib.util.find_spec("tf_keras") else None


def run_both(workload, contender, spe, args, home=None):
    """The steady-state run, then (except resnet50) a first-epoch run in a fresh process: with
    a fresh home (cold), or in `home` when one is given (the warm second jkeras process)."""
    warm = home is not None
    result, home = run_one(workload, contender, spe, args, home)
    if workload != "resnet50" and "error" not in result and "skipped" not in result:
        first, _ = run_one(workload, contender, spe, args, home=home if warm else None,
                           first_epoch=True)
        if "first_epoch_s" in first:
            result["first_epoch_s"] = first["first_epoch_s"]
            epochs = result.get("epoch_s") or []
            if epochs:
                result["overhead_s"] = first["first_epoch_s"] - statistics.median(epochs)
    return result, home


def run_one(workload, contender, spe, args, home=None, first_epoch=False):
    samples = SIZES[workload][0 if args.quick else 1]
    if args.samples_scale != 1.0:
        samples = max(int(samples * args.samples_scale), SIZES[workload][2] * max(spe, 1) * 2)
    batch = SIZES[workload][2]
    samples -= samples % (batch * max(spe, 1))    # whole dispatches only: no partial batch
    python = args.tf_python if contender == "tfkeras" else sys.executable
    cmd = [python, WORKER, "--contender", contender, "--workload", workload,
           "--samples", str(samples), "--epochs", str(args.epochs), "--spe", str(spe),
           "--repeats", str(args.repeats)] + (["--first-epoch"] if first_epoch else [])
    if workload == "resnet50" and args.image_size:
        cmd += ["--image-size", str(args.image_size)]
    env = dict(os.environ)
    env["KERAS_BACKEND"] = "jax"
    for var in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"):
        env.pop(var, None)
    own_home = home is None
    home = home or tempfile.mkdtemp(prefix="jkeras_bench_home_")
    env["JKERAS_HOME"] = home
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}, home
    finally:
        keep = args.cache and contender == "jkeras" and spe == 0 and not first_epoch  # 2nd process
        if own_home and not keep:
            shutil.rmtree(home, ignore_errors=True)
    wall = time.perf_counter() - t
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT "):])
            result["wall_s"] = wall
            return result, home
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}, home


def fmt(value, digits):
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def cell(runs, key, digits, spread):
    """`median [min-max]` of `key` over the runs (the median alone for one run)."""
    values = [r[key] for r in runs if r.get(key) is not None and r[key] == r[key]]
    if not values:
        return "-"
    text = fmt(statistics.median(values), digits)
    if spread and len(values) > 1:
        text += f" [{fmt(min(values), digits)}-{fmt(max(values), digits)}]"
    return text


def median(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None and r[key] == r[key]]
    return statistics.median(values) if values else None


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def rtxt(r):
    return "n/a" if r is None else f"{r:.2f}x"


def verdict(r, target, higher_is_better):
    if r is None:
        return ""
    ok = r >= target if higher_is_better else r <= target
    return "meets" if ok else "MISSES"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="fewer samples, 1 round, 3 epochs, 30 predict calls (< 2 min, 2 quiet cores)")
    p.add_argument("--workloads", default=None,
                   help=f"comma list from {','.join(SIZES)}; default {QUICK_DEFAULT} with --quick, "
                        f"else {FULL_DEFAULT}")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (1 quick, 3 full)")
    p.add_argument("--epochs", type=int, default=None, help="epochs per fit (3 quick, 6 full)")
    p.add_argument("--repeats", type=int, default=None, help="timed predict calls (30 quick, 200)")
    p.add_argument("--steps-per-execution", type=int, default=None,
                   help="jkeras steps_per_execution of the extra jkeras contender (default 32, "
                        "tiny only); given explicitly, it runs on every training workload")
    p.add_argument("--samples-scale", type=float, default=1.0, help="multiply sample counts")
    p.add_argument("--image-size", type=int, default=0, help="resnet50 input side (224)")
    p.add_argument("--cache", action="store_true",
                   help="also time jkeras's first step in a second process sharing its home")
    p.add_argument("--tf-python", default=None,
                   help="python with tf_keras for the tf.keras 2 contender (e.g. /opt/tfref/bin/python); "
                        "default: this interpreter if it imports tf_keras, else no tf.keras contender")
    p.add_argument("--timeout", type=int, default=600, help="seconds per process")
    p.add_argument("--json", default=None, help="write every run's raw result to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="print each run as it finishes")
    args = p.parse_args(argv)

    args.rounds = args.rounds or (1 if args.quick else 3)
    args.epochs = args.epochs or (3 if args.quick else 6)
    args.repeats = args.repeats or (30 if args.quick else 200)
    spe_everywhere = args.steps_per_execution is not None
    spe = args.steps_per_execution or 32
    args.tf_python = find_tf_python(args.tf_python)
    workloads = (args.workloads or (QUICK_DEFAULT if args.quick else FULL_DEFAULT)).split(",")
    for w in workloads:
        if w not in SIZES:
            p.error(f"unknown workload {w!r}; choose from {','.join(SIZES)}")

    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"# jkeras bench: {platform.machine()}, {os.cpu_count()} CPUs, python "
          f"{platform.python_version()}, load average at start "
          f"{', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}", flush=True)
    print(f"# rounds={args.rounds} epochs={args.epochs} predict repeats={args.repeats} "
          f"workloads={','.join(workloads)}", flush=True)

    runs = {}          # (workload, label) -> [result, ...]
    skipped = {}       # workload -> reason
    left_out = set()   # (workload, contender) that skipped itself
    errors = []
    t_start = time.perf_counter()
    for rnd in range(args.rounds):
        for w in workloads:
            if w in skipped:
                continue
            cands = contenders_for(w, spe, spe_everywhere, args.tf_python)
            shift = rnd % len(cands)
            for contender, s in cands[shift:] + cands[:shift]:
                if (w, contender) in left_out:
                    continue
                name = label(contender, s)
                result, home = run_both(w, contender, s, args)
                if "skipped" in result:
                    skipped[w] = f"{name}: {result['skipped']}"
                    print(f"# skip {w}: {skipped[w]}", flush=True)
                    if contender != "jkeras":    # e.g. no tf.keras there: the others still run
                        del skipped[w]
                        left_out.add((w, contender))
                        continue
                    break
                if "error" in result:
                    errors.append(f"{w} {name} round {rnd + 1}: {result['error']}")
                    print(f"# error {errors[-1]}", flush=True)
                    continue
                result["round"] = rnd
                runs.setdefault((w, name), []).append(result)
                if args.verbose:
                    print(f"# round {rnd + 1} {w:8s} {name:14s} "
                          + " ".join(f"{k}={result[k]:.4g}" for k in METRICS if k in result)
                          + f" loss={result.get('final_loss', float('nan')):.4f}"
                          + f" wall={result['wall_s']:.1f}s", flush=True)
                if args.cache and contender == "jkeras" and s == 0:
                    warm, _ = run_both(w, contender, s, args, home=home)
                    shutil.rmtree(home, ignore_errors=True)
                    if "error" not in warm and "skipped" not in warm:
                        runs.setdefault((w, "jkeras 2nd proc"), []).append(warm)
            if args.verbose:
                print(f"# elapsed {time.perf_counter() - t_start:.0f} s", flush=True)

    columns = (("train samples/s", "train_sps", 0), ("per CPU-s", "train_cpu_sps", 0),
               ("first step s", "first_step_s", 2),
               ("first epoch s", "first_epoch_s", 2), ("1st-epoch overhead s", "overhead_s", 2),
               ("predict 1 ms", "predict1_ms", 3), ("predict_on_batch ms", "pob_ms", 3),
               ("peak RSS MB", "peak_rss_mb", 0))
    header = "workload | contender | " + " | ".join(c[0] for c in columns)
    print()
    print("(each cell: median over rounds [min-max])" if args.rounds > 1 else "")
    print(header)
    print("|".join("-" * len(c) for c in header.split("|")))
    med = {}
    for (w, name), rs in runs.items():
        med[(w, name)] = {k: median(rs, k) for k in METRICS}
    for w in workloads:
        for key in [k for k in med if k[0] == w]:
            cells = [cell(runs[key], k, d, args.rounds > 1) for _, k, d in columns]
            print(f"{w} | {key[1]} | " + " | ".join(cells))
    if "resnet50" in workloads and any(k[0] == "resnet50" for k in med):
        print("(resnet50: the samples/s column is inference, `predict`)")

    print()
    for w in workloads:
        if w in skipped:
            print(f"{w}: skipped ({skipped[w]})")
            continue
        j, k3, hd = (med.get((w, n)) for n in ("jkeras", "keras3", "hand"))
        if not (j and k3):
            print(f"{w}: incomplete (see errors)")
            continue
        g = lambda m, key: m[key] if m else None  # noqa: E731
        if w == "resnet50":
            print(f"{w}: predict samples/s jkeras/keras3 {rtxt(ratio(g(j, 'train_sps'), g(k3, 'train_sps')))}, "
                  f"jkeras/hand {rtxt(ratio(g(j, 'train_sps'), g(hd, 'train_sps')))} (higher is better)")
        else:
            best_other = max(g(k3, "train_sps") or 0, g(hd, "train_sps") or 0)  # hand may be absent
            line = (f"{w}: train samples/s jkeras/keras3 {rtxt(ratio(g(j, 'train_sps'), g(k3, 'train_sps')))}, "
                    f"jkeras/hand {rtxt(ratio(g(j, 'train_sps'), g(hd, 'train_sps')))}")
            spe_m = med.get((w, label("jkeras", spe)))
            if spe_m:
                line += (f"; spe={spe}: jkeras/keras3 {rtxt(ratio(g(spe_m, 'train_sps'), g(k3, 'train_sps')))}, "
                         f"jkeras/hand {rtxt(ratio(g(spe_m, 'train_sps'), g(hd, 'train_sps')))}")
            print(line + "  (higher is better)")
            if w == "tiny":
                best_j = spe_m or j
                r = ratio(g(best_j, "train_sps"), best_other)
                print(f"  target tiny >= 2x both (with spe): {rtxt(r)} of the faster -> "
                      f"{verdict(r, 2.0, True)}")
            else:
                best_j = max(g(j, "train_sps"), g(spe_m, "train_sps") if spe_m else 0)
                r = ratio(best_j, best_other)
                print(f"  target >= 1.0x the faster of keras3/hand: {rtxt(r)} -> {verdict(r, 1.0, True)}")
        r = ratio(g(j, "predict1_ms"), g(hd, "predict1_ms"))
        print(f"  predict 1 time jkeras/hand {rtxt(r)} (target <= 1.5x: {verdict(r, 1.5, False)}); "
              f"jkeras/keras3 {rtxt(ratio(g(j, 'predict1_ms'), g(k3, 'predict1_ms')))}")
        r = ratio(g(j, "pob_ms"), g(hd, "pob_ms"))
        print(f"  predict_on_batch time jkeras/hand {rtxt(r)} (target <= 1.2x: {verdict(r, 1.2, False)}); "
              f"jkeras/keras3 {rtxt(ratio(g(j, 'pob_ms'), g(k3, 'pob_ms')))}")
        r = ratio(g(j, "first_step_s"), g(k3, "first_step_s"))
        line = (f"  first step time jkeras/keras3 {rtxt(r)} (target <= 1.0x: {verdict(r, 1.0, False)}); "
                f"jkeras/hand {rtxt(ratio(g(j, 'first_step_s'), g(hd, 'first_step_s')))}")
        warm = med.get((w, "jkeras 2nd proc"))
        if warm:
            r2 = ratio(g(j, "first_step_s"), g(warm, "first_step_s"))
            line += f"; cold/warm-cache {rtxt(r2)} (target >= 3x: {verdict(r2, 3.0, True)})"
        print(line)
        tf = med.get((w, "tfkeras"))
        if tf and w != "resnet50":
            r = ratio(g(j, "train_sps"), g(tf, "train_sps"))
            print(f"  train samples/s jkeras/tfkeras {rtxt(r)} (target >= 1.0x: {verdict(r, 1.0, True)}); "
                  f"per CPU-s {rtxt(ratio(g(j, 'train_cpu_sps'), g(tf, 'train_cpu_sps')))}")
            r = ratio(g(j, "overhead_s"), g(tf, "overhead_s"))
            print(f"  first-epoch overhead jkeras/tfkeras {rtxt(r)} (target <= 1.0x: "
                  f"{verdict(r, 1.0, False)}); first epoch jkeras/tfkeras "
                  f"{rtxt(ratio(g(j, 'first_epoch_s'), g(tf, 'first_epoch_s')))}")
        r = ratio(g(j, "peak_rss_mb"), g(k3, "peak_rss_mb"))
        print(f"  peak RSS jkeras/keras3 {rtxt(r)} (target <= 1.0x: {verdict(r, 1.0, False)})")
    for e in errors:
        print(f"error: {e}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"\n# total {time.perf_counter() - t_start:.0f} s; load average at end "
          f"{', '.join(f'{x:.2f}' for x in load) if load else 'n/a'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({f"{w}|{n}": rs for (w, n), rs in runs.items()}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

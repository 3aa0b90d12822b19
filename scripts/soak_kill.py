"""Crash-safety soak: SIGKILL a training run at random moments, restart it, check nothing is lost.

`python scripts/soak_kill.py --n 20` trains a small model with `BackupAndRestore` (every few
batches) and `ModelCheckpoint` (an Orbax folder per epoch), kills the process N times at
random moments (saves included), restarts it each time, and checks that
- every checkpoint folder on disk loads, or is an incomplete one Orbax skips;
- no checkpoint that was complete before a kill is gone after it;
- the final weights are bit-identical (sha256) to an uninterrupted run.
"""
import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def worker(backup, checkpoints, epochs):
    import numpy as np

    import jkeras
    from jkeras import callbacks, layers
    jkeras.utils.set_random_seed(7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 16)).astype("float32")
    y = np.eye(4, dtype="float32")[rng.integers(0, 4, 256)]
    model = jkeras.Sequential([layers.Dense(64, activation="relu", input_shape=(16,)), layers.Dropout(0.3),
                               layers.Dense(4, activation="softmax")])
    model.compile("adam", "categorical_crossentropy")
    cbs = [callbacks.BackupAndRestore(backup, save_freq=3, delete_checkpoint=False)]
    if checkpoints:
        cbs.append(callbacks.ModelCheckpoint(os.path.join(checkpoints, "epoch_{epoch:02d}")))
    model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, callbacks=cbs)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
    print("HASH", digest, flush=True)


def complete_checkpoints(folder):
    """Checkpoint folders with a committed Orbax step (what a reader would use)."""
    if not os.path.isdir(folder):
        return set()
    done = set()
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isdir(path) and any(step.isdigit() for step in os.listdir(path)):
            done.add(name)
    return done


def launch(args, backup, checkpoints):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.Popen([sys.executable, __file__, "--worker", backup, checkpoints or "",
                             "--epochs", str(args.epochs)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def run_to_end(args, backup, checkpoints):
    proc = launch(args, backup, checkpoints)
    out, err = proc.communicate(timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed:\n{err[-3000:]}")
    return [line.split()[1] for line in out.splitlines() if line.startswith("HASH")][0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="number of SIGKILLs")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--max-delay", type=float, default=12.0, help="seconds before a kill, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker[0], args.worker[1], args.epochs)

    chance = random.Random(args.seed)
    root = tempfile.mkdtemp(prefix="jkeras-soak-")
    try:
        reference = run_to_end(args, os.path.join(root, "reference"), None)
        backup, checkpoints = os.path.join(root, "backup"), os.path.join(root, "checkpoints")
        kills, lost = 0, []
        while kills < args.n:
            before = complete_checkpoints(checkpoints)
            proc = launch(args, backup, checkpoints)
            time.sleep(chance.uniform(0.5, args.max_delay))
            if proc.poll() is not None:  # it finished before the kill: start over from scratch
                proc.communicate()
                shutil.rmtree(backup, ignore_errors=True)
                shutil.rmtree(checkpoints, ignore_errors=True)
                continue
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            kills += 1
            lost += sorted(before - complete_checkpoints(checkpoints))
        final = run_to_end(args, backup, checkpoints)

        import jkeras
        unreadable = []
        for name in sorted(os.listdir(checkpoints)):
            try:
                jkeras.models.load_model(os.path.join(checkpoints, name))
            except jkeras.saving.CheckpointError:
                if name in complete_checkpoints(checkpoints):
                    unreadable.append(name)
        print(f"kills: {kills}; checkpoints on disk: {sorted(os.listdir(checkpoints))}")
        print(f"complete checkpoints lost after a kill: {lost or 'none'}")
        print(f"complete checkpoints that do not load: {unreadable or 'none'}")
        print(f"final weights equal an uninterrupted run: {final == reference}")
        ok = final == reference and not lost and not unreadable
        print("SOAK OK" if ok else "SOAK FAILED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

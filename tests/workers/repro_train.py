"""A training run for the reproducibility tests, driven by command-line flags.

Prints `HASH <sha256 of the final weights>` and, with --kill-at E:B, kills itself with
SIGKILL after batch B of epoch E (the checkpoint of that batch is already written).
"""
import argparse
import hashlib
import os
import signal

import numpy as np

import jkeras
from jkeras import callbacks, layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--save-to")
parser.add_argument("--resume-from")
parser.add_argument("--backup")
parser.add_argument("--save-freq", default="epoch")
parser.add_argument("--kill-at")
args = parser.parse_args()

jkeras.utils.set_random_seed(42)
rng = np.random.default_rng(0)
x = rng.normal(size=(96, 12)).astype("float32")
y = np.eye(4, dtype="float32")[rng.integers(0, 4, 96)]

if args.resume_from:
    model = jkeras.models.load_model(args.resume_from)
    initial_epoch = 3
else:
    model = jkeras.Sequential([layers.Dense(32, activation="relu", input_shape=(12,)), layers.Dropout(0.3),
                               layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                               layers.Dense(4, activation="softmax")])
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    initial_epoch = 0

cbs = []
if args.backup:
    freq = "epoch" if args.save_freq == "epoch" else int(args.save_freq)
    cbs.append(callbacks.BackupAndRestore(args.backup, save_freq=freq, delete_checkpoint=False))
if args.kill_at:
    kill_epoch, kill_batch = map(int, args.kill_at.split(":"))

    class Kill(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == kill_epoch and batch == kill_batch:
                os.kill(os.getpid(), signal.SIGKILL)
    cbs.append(Kill())

model.fit(x, y, batch_size=8, epochs=args.epochs, initial_epoch=initial_epoch, shuffle=True, verbose=0,
          callbacks=cbs)
if args.save_to:
    model.save(args.save_to)
digest = hashlib.sha256(b"".join(w.tobytes() for w in model.get_weights())).hexdigest()
print("HASH", digest, flush=True)

"""Keras callbacks: hooks the training loop calls at batch and epoch boundaries.

Batch hooks receive lazy logs: reading one copies the running metrics off the
device (a host sync), so the callbacks here read batch logs only when they act
on them (a progress bar at most every `interval` seconds, a checkpoint when it
saves). Epoch logs are plain floats, `val_*` included, and are one dict shared
by every callback in turn, so a callback that adds `learning_rate` to them is
seen by the ones after it (History, the progress bar), as in Keras.

One module per job: `base` (the protocol, lists, lazy logs, History), `progbar`, `fit` (the
lists `fit`/`evaluate`/`predict` run), `monitor` (EarlyStopping), `lr`, `checkpoints`
(ModelCheckpoint, BackupAndRestore), `loggers` (CSV, TensorBoard, ...). Every public name is here too.
"""
from jkeras.callbacks.base import BaseLogger, BatchLogs, Callback, CallbackList, History
from jkeras.callbacks.checkpoints import BackupAndRestore, ModelCheckpoint
from jkeras.callbacks.fit import callback_list, configure
from jkeras.callbacks.loggers import CSVLogger, LambdaCallback, RemoteMonitor, TensorBoard, TerminateOnNaN
from jkeras.callbacks.lr import LearningRateScheduler, ReduceLROnPlateau
from jkeras.callbacks.monitor import EarlyStopping, MonitorCallback
from jkeras.callbacks.progbar import Progbar, ProgbarLogger

__all__ = ["BackupAndRestore", "BaseLogger", "BatchLogs", "CSVLogger", "Callback", "CallbackList",
           "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler", "ModelCheckpoint",
           "MonitorCallback", "Progbar", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
           "TensorBoard", "TerminateOnNaN", "callback_list", "configure"]

"""Keras callbacks: hooks the training loop calls at batch and epoch boundaries.

Batch hooks receive lazy logs: reading one copies the running metrics off the
device (a host sync), so the callbacks here read batch logs only when they act
on them (a progress bar at most every `interval` seconds, a checkpoint when it
saves). Epoch logs are plain floats, `val_*` included, and are one dict shared
by every callback in turn, so a callback that adds `learning_rate` to them is
seen by the ones after it (History, the progress bar), as in Keras.

One module per job: `base` (the protocol, lists, lazy logs, History), `progbar`, `fit` (the
lists `fit`/`evaluate`/`predict` run), `monitor` (EarlyStopping), `lr`, `checkpoints`
(ModelCheckpoint, BackupAndRestore), `loggers` (CSV, TensorBoard, ...). Every name is here too.
"""
from jkeras.callbacks.base import (  # noqa: F401
    Callback, _path, _number, CallbackList, BatchLogs, _values, _BATCH_HOOKS,
    _overridden_batch_hooks, _needs_every_batch, History, BaseLogger)
from jkeras.callbacks.progbar import (  # noqa: F401
    _Everything, _dynamic_display, Progbar, _digits, _format_eta, _format_per_step, _format_value,
    ProgbarLogger)
from jkeras.callbacks.fit import (  # noqa: F401
    configure, callback_list, _checked)
from jkeras.callbacks.monitor import (  # noqa: F401
    _UP, _DOWN, _metric_direction, _model_metrics, MonitorCallback, EarlyStopping)
from jkeras.callbacks.lr import (  # noqa: F401
    _current_lr, _is_real_scalar, _log_lr, LearningRateScheduler, ReduceLROnPlateau)
from jkeras.callbacks.checkpoints import (  # noqa: F401
    _MODEL_EXTENSIONS, ModelCheckpoint, _format_check, BackupAndRestore)
from jkeras.callbacks.loggers import (  # noqa: F401
    CSVLogger, TerminateOnNaN, _TB_DEPRECATED, TensorBoard, _profile_range, LambdaCallback,
    RemoteMonitor)

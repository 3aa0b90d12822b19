"""Callbacks that report training: `CSVLogger`, `TerminateOnNaN`, `TensorBoard`, `LambdaCallback`,
`RemoteMonitor`."""
import collections
import csv
import os
import time
import warnings

import numpy as np

from jkeras.callbacks.base import Callback, _number, _path, _values
from jkeras.callbacks.lr import _log_lr


class CSVLogger(Callback):
    """Stream each epoch's logs to a CSV file, as Keras 3 writes it.

    The columns are `epoch` and the first epoch's log names, sorted; when that
    epoch had no `val_*` entries, a `val_` column is added for each (written
    `NA` until validation runs). `append=True` continues an existing file
    without a second header.
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger `separator` must be a one-character string; received "
                             f"separator={separator!r}.")
        self.sep = separator
        self.filename = _path("CSVLogger", "filename", filename)
        self.append = append
        self.writer, self.keys, self.csv_file = None, None, None
        self.append_header = True

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode)
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            is_zero_dim_ndarray = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim_ndarray:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys.extend([f"val_{k}" for k in self.keys])
        if not self.writer:
            class CustomDialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + (self.keys or []),
                                         dialect=CustomDialect)
            if self.append_header:
                self.writer.writeheader()
        row = collections.OrderedDict({"epoch": epoch})
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite.

    This reads every batch's loss, which waits for the device each dispatch;
    `steps_per_execution` makes that once per several steps.
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: "
                                   f"{loss}. Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


_TB_DEPRECATED = ("batch_size", "write_grads", "embeddings_layer_names", "embeddings_data")


class TensorBoard(Callback):
    """Write TensorBoard event files: epoch scalars, weight histograms, profiles.

    Needs the optional package `tensorboardX` (`pip install tensorboardX`).
    Layout as in Keras: `log_dir/train` holds `epoch_loss`, `epoch_<metric>`,
    `epoch_learning_rate`; `log_dir/validation` holds the `val_*` logs under
    the same tags. `update_freq="batch"` or an int also writes `batch_<name>`
    every that many batches (each such write waits for the device).

    Args:
        log_dir: the directory to write under.
        histogram_freq: every this many epochs, a histogram of each weight.
        write_graph: write the model's JSON config as the `keras` text summary.
        write_steps_per_second: add `steps_per_second` to the scalars.
        update_freq: `"epoch"`, `"batch"`, or an int number of batches.
        profile_batch: a batch number, or `(start, stop)`, to trace with the
            JAX profiler into `log_dir/train`; 0 turns it off.
        write_images, embeddings_freq, embeddings_metadata: accepted for
            Keras scripts; images and embeddings are not written.
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        try:
            from tensorboardX import SummaryWriter
        except ImportError as e:
            raise ImportError("jkeras.callbacks.TensorBoard writes event files with the optional "
                              "package tensorboardX, which is not installed. Install it with: "
                              "pip install tensorboardX") from e
        for key in _TB_DEPRECATED:
            if kwargs.pop(key, None) is not None:
                warnings.warn(f"TensorBoard: `{key}` is deprecated and ignored.", stacklevel=2)
        if kwargs:
            raise TypeError(f"TensorBoard got unexpected keyword arguments {sorted(kwargs)}.")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and not (isinstance(update_freq, int) and update_freq >= 1):
            raise ValueError(f"update_freq must be 'epoch', 'batch' or a positive int; received "
                             f"{update_freq!r}.")
        if write_images or embeddings_freq:
            warnings.warn("TensorBoard: jkeras does not write weight images or embeddings; "
                          "`write_images` and `embeddings_freq` are ignored.", stacklevel=2)
        _number("TensorBoard", "histogram_freq", histogram_freq, minimum=0)
        self._writer_cls = SummaryWriter
        self.log_dir = _path("TensorBoard", "log_dir", log_dir)
        self.histogram_freq, self.write_graph = histogram_freq, write_graph
        self.write_images, self.write_steps_per_second = write_images, write_steps_per_second
        self.update_freq = update_freq
        self.embeddings_freq, self.embeddings_metadata = embeddings_freq, embeddings_metadata
        self._start_batch, self._stop_batch = _profile_range(profile_batch)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._last_record = self._epoch_start = (time.time(), 0)
        self._is_tracing = False
        self._graph_written = False

    def _writer(self, path):
        if path not in self._writers:
            self._writers[path] = self._writer_cls(path)
        return self._writers[path]

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._last_record = (time.time(), 0)
        if self.write_graph and not self._graph_written:
            self._graph_written = True
            try:
                config = self.model.to_json()
            except Exception:  # a model without a config (subclassed) has no graph to show
                config = None
            if config is not None:
                self._writer(self._train_dir).add_text("keras", config, 0)

    def on_train_end(self, logs=None):
        if self._is_tracing:
            self._stop_trace()
        self._close_writers()

    def on_train_batch_begin(self, batch, logs=None):
        super().on_train_batch_begin(batch, logs)
        self._global_train_batch += 1
        if self._start_batch and self._global_train_batch == self._start_batch:
            import jax
            jax.profiler.start_trace(self._train_dir)
            self._is_tracing = True

    def on_train_batch_end(self, batch, logs=None):
        super().on_train_batch_end(batch, logs)
        step = self._global_train_batch
        if self.update_freq != "epoch" and step % self.update_freq == 0:
            writer = self._writer(self._train_dir)
            for name, value in _values(logs).items():
                writer.add_scalar(f"batch_{name}", float(value), step)
            if self.write_steps_per_second:
                then, then_step = self._last_record
                now = time.time()
                rate = (step - then_step) / max(now - then, 1e-9)
                writer.add_scalar("batch_steps_per_second", rate, step)
                self._last_record = (now, step)
        if self._is_tracing and step >= self._stop_batch:
            self._stop_trace()

    def _stop_trace(self):
        import jax
        jax.profiler.stop_trace()
        self._is_tracing = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = (time.time(), self._global_train_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        _log_lr(getattr(self.model, "optimizer", None), train)
        if self.write_steps_per_second:
            start, start_step = self._epoch_start
            train["steps_per_second"] = ((self._global_train_batch - start_step)
                                         / max(time.time() - start, 1e-9))
        for path, values in ((self._train_dir, train), (self._val_dir, val)):
            if values:
                writer = self._writer(path)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", float(value), epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer(self._train_dir)
            for layer in self.model.layers:
                for weight in layer.weights:
                    tag = f"{weight.path.replace(':', '_')}/histogram"
                    writer.add_histogram(tag, np.asarray(weight), epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        if logs:
            writer = self._writer(self._val_dir)
            step = getattr(self.model, "steps_trained", 0)
            for name, value in logs.items():
                writer.add_scalar(f"evaluation_{name}_vs_iterations", float(value), step)
            writer.flush()


def _profile_range(profile_batch):
    """`(start, stop)` global batch numbers from Keras's `profile_batch`; `(0, 0)` is off."""
    parts = profile_batch.split(",") if isinstance(profile_batch, str) else profile_batch
    start = stop = -1
    if isinstance(parts, int) and not isinstance(parts, bool):
        start = stop = parts
    elif isinstance(parts, (list, tuple)) and len(parts) == 2:
        try:
            start, stop = (int(p) for p in parts)
        except (TypeError, ValueError):
            pass
    if start < 0 or stop < start:
        raise ValueError("profile_batch must be a non-negative integer or 2-tuple of positive "
                         f"integers. A pair of positive integers signifies a range of batches to "
                         f"profile. Found: {profile_batch}")
    return start, stop


class LambdaCallback(Callback):
    """A callback from plain functions: `LambdaCallback(on_epoch_end=lambda epoch, logs: ...)`."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if not name.startswith("on_") or not hasattr(Callback, name):
                raise ValueError(f"Unknown callback hook {name!r}.")
            if fn is not None and not callable(fn):
                raise TypeError(f"LambdaCallback `{name}` must be a function; received {fn!r}.")
            if fn is not None:
                setattr(self, name, fn)


class RemoteMonitor(Callback):
    """POST each epoch's logs to a server: `root + path`, as a form field `field` holding JSON, or
    as a JSON body with `send_as_json=True` (standard library HTTP; an unreachable server warns)."""

    timeout = 10.0  # seconds per request, so a silent server cannot stall training

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import json
        import urllib.error
        import urllib.parse
        import urllib.request
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode("utf8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode("utf8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as error:
            warnings.warn(f"RemoteMonitor: the server at {self.root} answered HTTP {error.code}.")
        except (OSError, ValueError):
            warnings.warn("Warning: could not reach RemoteMonitor root server at " + str(self.root))

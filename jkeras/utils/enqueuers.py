"""Keras 2's enqueuers: read a `Sequence` or a generator ahead of the consumer, in worker threads
(or, for a `Sequence`, worker processes), into a bounded queue.

`enqueuer.start(workers, max_queue_size)`, then `for batch in enqueuer.get(): ...`, then
`enqueuer.stop()`, as in Keras 2. Worker processes are spawned (never forked: a fork of a process
running JAX's threads can hang), so a `Sequence` read by processes must be picklable.
"""
import collections
import multiprocessing
import pickle
import queue
import random
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

_DONE = object()
_held = None  # a worker process's copy of the Sequence


def _hold(sequence):
    global _held
    _held = sequence


def _held_item(index):
    return _held[index]


class SequenceEnqueuer:
    """Base class: runs `_run` in a daemon thread that fills `self.queue` until `stop()`."""

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence = sequence
        self.use_multiprocessing = bool(use_multiprocessing)
        self.workers = 0
        self.queue = None
        self.run_thread = None
        self.stop_signal = None

    def is_running(self):
        signal = getattr(self, "stop_signal", None)  # None also when __init__ failed
        return signal is not None and not signal.is_set()

    def start(self, workers=1, max_queue_size=10):
        """Start reading ahead with `workers` workers, at most `max_queue_size` items ahead."""
        if self.is_running():
            raise RuntimeError(f"This {type(self).__name__} is already running; stop() it first.")
        self.workers = max(int(workers), 1)
        self.queue = queue.Queue(max(int(max_queue_size), 1))
        self.stop_signal = threading.Event()
        self.run_thread = threading.Thread(target=self._guarded_run, daemon=True)
        self.run_thread.start()

    def _guarded_run(self):
        try:
            self._run()
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised in get()
            self._put(("error", error))
        self._put(("done", None))

    def _put(self, item):
        """Queue `item`, giving up when stop() is called; False once stopped."""
        while not self.stop_signal.is_set():
            try:
                self.queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def stop(self, timeout=None):
        """Stop the workers and drop what is queued."""
        if self.stop_signal is None:
            return
        self.stop_signal.set()
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                break
        self.run_thread.join(timeout)

    def __del__(self):
        if self.is_running():
            self.stop_signal.set()

    def get(self):
        """Yield the queued items until the source ends or `stop()`; a worker's error is raised."""
        while self.is_running() or not self.queue.empty():
            try:
                kind, value = self.queue.get(timeout=0.1)
            except queue.Empty:
                if self.run_thread is not None and not self.run_thread.is_alive():
                    return
                continue
            if kind == "item":
                yield value
            elif kind == "error":
                self.stop()
                raise value
            else:
                return

    def _run(self):
        raise NotImplementedError


class OrderedEnqueuer(SequenceEnqueuer):
    """Reads a `Sequence` epoch after epoch, in order (`shuffle=True`: a new order each epoch).

    `on_epoch_end()` runs after each epoch; items keep their order whatever the worker count.
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        self.shuffle = shuffle
        if self.use_multiprocessing:
            try:
                pickle.dumps(sequence)
            except Exception as error:
                raise ValueError(f"use_multiprocessing=True sends the Sequence to worker "
                                 f"processes, but this {type(sequence).__name__} cannot be pickled "
                                 f"({error}). Use threads (use_multiprocessing=False) or make it "
                                 "picklable.") from error

    def _pool(self):
        if self.use_multiprocessing:
            return (ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_hold, initargs=(self.sequence,)), _held_item)
        return ThreadPoolExecutor(self.workers), self.sequence.__getitem__

    def _run(self):
        while not self.stop_signal.is_set():
            order = list(range(len(self.sequence)))
            if self.shuffle:
                random.shuffle(order)
            pool, fetch = self._pool()
            try:
                pending = collections.deque()
                for index in order:
                    pending.append(pool.submit(fetch, index))
                    if len(pending) >= self.workers and not self._put(("item", pending.popleft().result())):
                        return
                while pending:
                    if not self._put(("item", pending.popleft().result())):
                        return
            finally:
                pool.shutdown(cancel_futures=True)
            self.sequence.on_epoch_end()


class GeneratorEnqueuer(SequenceEnqueuer):
    """Reads a generator ahead in `workers` threads (they share it under a lock) until it ends.

    `use_multiprocessing=True` is refused: a generator cannot be sent to another process
    (Keras 2 forked the process, which a process running JAX must not do); use a `Sequence`
    with `OrderedEnqueuer` for worker processes.
    """

    def __init__(self, generator, use_multiprocessing=False, random_seed=None):
        if use_multiprocessing:
            raise ValueError("GeneratorEnqueuer cannot read a generator in worker processes: a "
                             "generator cannot be sent to another process. Use "
                             "use_multiprocessing=False (threads), or write the data as a "
                             "jkeras.utils.Sequence and read it with OrderedEnqueuer.")
        super().__init__(generator, False)
        self.random_seed = random_seed
        self._lock = threading.Lock()
        self._iterator = iter(generator)

    def _next(self):
        with self._lock:
            try:
                return next(self._iterator)
            except StopIteration:
                return _DONE

    def _run(self):
        if self.random_seed is not None:
            random.seed(self.random_seed)
        with ThreadPoolExecutor(self.workers) as pool:
            pending = collections.deque(pool.submit(self._next) for _ in range(self.workers))
            while pending and not self.stop_signal.is_set():
                item = pending.popleft().result()
                if item is _DONE:
                    continue
                if not self._put(("item", item)):
                    return
                pending.append(pool.submit(self._next))

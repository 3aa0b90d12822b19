"""`TimedThread`: run `on_interval()` every `interval` seconds in a background thread."""
import logging
import threading


class TimedThread:
    """Subclass it and implement `on_interval`; `start()`/`stop()`, or use it as a context manager.

    Extra keyword arguments go to `threading.Thread` (`daemon` defaults to True).
    """

    def __init__(self, interval, **kwargs):
        self.interval = interval
        self.daemon = kwargs.pop("daemon", True)
        self.thread_kwargs = kwargs
        self.thread = None
        self.thread_stop_event = None

    def _call_on_interval(self):
        while not self.thread_stop_event.is_set():
            self.on_interval()
            self.thread_stop_event.wait(self.interval)

    def start(self):
        if self.thread is not None and self.thread.is_alive():
            logging.getLogger("jkeras").warning("Thread is already running.")
            return
        self.thread_stop_event = threading.Event()
        self.thread = threading.Thread(target=self._call_on_interval, daemon=self.daemon,
                                       **self.thread_kwargs)
        self.thread.start()

    def stop(self):
        if self.thread_stop_event is not None:
            self.thread_stop_event.set()

    def is_alive(self):
        return self.thread is not None and self.thread.is_alive()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def on_interval(self):
        raise NotImplementedError("Runs every `interval` seconds. Needs to be implemented in "
                                  "subclasses of `TimedThread`")

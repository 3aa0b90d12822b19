"""The device scope: layers created or called inside `with device(...)` run on that device."""
import contextlib
import threading


class _Stack(threading.local):
    def __init__(self):
        self.devices = []


_stack = _Stack()


def current_device():
    """The innermost scoped `jax.Device`, or None outside any scope."""
    return _stack.devices[-1] if _stack.devices else None


@contextlib.contextmanager
def device_scope(device):
    _stack.devices.append(device)
    try:
        yield device
    finally:
        _stack.devices.pop()

"""Where a model's arrays live: the device scope (layers created or called inside `with device(...)`
run on that device) and the slot for the current distribution, which the distribution floor fills
and the trainer reads, so the trainer imports nothing above it."""
import contextlib
import threading

import jax


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


_distribution = {"current": None}


def current_distribution():
    """The distribution set by `jkeras.distribution` (`set_distribution` or a scope), or None."""
    return _distribution["current"]


def set_current_distribution(value):
    _distribution["current"] = value


def to_local(tree):
    """Arrays this process can read: replicated ones as their local copy, split ones gathered."""
    from jax.experimental import multihost_utils

    def local(x):
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return x
        if x.sharding.is_fully_replicated:
            return x.addressable_data(0)
        return jax.numpy.asarray(multihost_utils.process_allgather(x, tiled=True))
    return jax.tree.map(local, tree)

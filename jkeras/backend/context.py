"""What a layer call being run tells the `K` functions: the training flag, the step's key,
and the layer's bound weights (so `K.update` of one becomes the layer's new state).

Layers push a `CallContext` around each `apply`; the innermost one wins. Outside any
call the learning phase is `K.set_learning_phase`'s and random ops draw from the
seeded stream (`jkeras.backend.random_ops`).
"""
import contextlib
import threading


class CallContext:
    """One layer call: `training` (a Python bool), `key` (or None), the weights bound by id."""

    def __init__(self, training, key, bound=None):
        self.training = training
        self.key = key
        self.draws = 0  # random ops folded into `key` so far, in trace order
        self.bound = bound or {}  # id(bound value) -> weight name
        self.updates = {}  # weight name -> new value, from `K.update` of a bound weight

    def next_draw(self):
        self.draws += 1
        return self.draws


class _Stack(threading.local):
    def __init__(self):
        self.contexts = []


_stack = _Stack()


@contextlib.contextmanager
def call_context(training, key, bound=None):
    """Run the block as one layer call; yields its `CallContext`."""
    ctx = CallContext(bool(training), key, bound)
    _stack.contexts.append(ctx)
    try:
        yield ctx
    finally:
        _stack.contexts.pop()


def current():
    """The innermost `CallContext`, or None outside layer calls."""
    return _stack.contexts[-1] if _stack.contexts else None


def owner_of(value):
    """`(context, weight name)` of the innermost call that bound `value`, else `(None, None)`."""
    for ctx in reversed(_stack.contexts):
        name = ctx.bound.get(id(value))
        if name is not None:
            return ctx, name
    return None, None

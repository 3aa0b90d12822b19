"""What a traced step gathers besides its outputs: `add_loss` terms, `add_metric` values, and
the padding rows of an evaluate batch (`padded_rows`), each in a thread-local stack of blocks."""
import contextlib
import threading

import jax.numpy as jnp


class TraceStack(threading.local):
    """Lists that values met while a step traces are gathered into, innermost block last:
    extra loss terms (`add_loss`), the outputs' masks of a model call."""

    def __init__(self):
        self.stack = []

    @contextlib.contextmanager
    def gather(self):
        """Yield a list that gathers what is put here while the block runs."""
        found = []
        self.stack.append(found)
        try:
            yield found
        finally:
            self.stack.pop()


_losses = TraceStack()
collect_losses = _losses.gather  # every `add_loss` made while the block runs


def add_loss(value):
    """Add `value` to the loss of the step being traced; outside a step it is dropped."""
    if _losses.stack:
        _losses.stack[-1].append(value)


def losses_wanted():
    """Whether a step is gathering `add_loss` values (a train or test step, not `predict`)."""
    return bool(_losses.stack)


_padding = TraceStack()


@contextlib.contextmanager
def padded_rows(mask):
    """Within the block the step's batch ends in padding rows, where `mask` (batch,) is 0 (an
    evaluate batch filled up to the compiled size): losses taken per row leave them out."""
    with _padding.gather() as found:
        found.append(mask)
        yield


def row_mask(rows):
    """The padding mask (rows,) of the current step's batch, or None where no padding applies
    (outside `padded_rows`, or for a value with another number of rows)."""
    mask = _padding.stack[-1][0] if _padding.stack else None
    return mask if mask is not None and mask.shape[0] == rows else None


def real_rows(value):
    """`(value, rows)`: a batch-first `value` with its padding rows zeroed and the number of
    real rows; other values (or outside `padded_rows`) as they are, with their first dim."""
    rows = value.shape[0] if value.ndim else 1
    mask = _padding.stack[-1][0] if _padding.stack else None
    if mask is None or not value.ndim or value.shape[0] != mask.shape[0]:
        return value, rows
    keep = mask.reshape(mask.shape + (1,) * (value.ndim - 1)).astype(value.dtype)
    return value * keep, jnp.sum(mask).astype(value.dtype)


def row_mean(value):
    """The mean of `value` over its real rows (`jnp.mean` where no padding applies)."""
    kept, rows = real_rows(value)
    if kept is value:
        return jnp.mean(value)
    return jnp.sum(kept) / (rows * (value.size // value.shape[0]))


_metrics = TraceStack()
collect_metrics = _metrics.gather  # every `add_metric` made while the block runs: {name: value}


def add_metric(name, value):
    """Log `value` under `name` in the step being traced (the first value of a name in a step
    counts, as Keras 2 keeps the first metric of a name); outside a step it is dropped."""
    if _metrics.stack:
        found = _metrics.stack[-1]
        if all(name != n for n, _ in found):
            found.append((name, value))

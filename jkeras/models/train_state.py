"""The named train state: everything a train step reads and returns, in one pytree."""
from typing import Any, NamedTuple


class TrainState(NamedTuple):
    """What changes during training, as the train step carries it.

    `trainable` and `frozen` are the model's parameter tree split by what `compile()` found
    trainable; `state` holds the non-trainable values layers update (BatchNorm statistics,
    stateful RNN carries); `opt_state` is the optimizer's (optax) state, or what a custom
    `init_opt_state` returns; `metrics` the running metric state of the epoch; `step` the
    number of train steps taken (the step's PRNG key is `fold_in(root key, step)`).
    A NamedTuple is a pytree, so the state can be donated, scanned over and placed on devices
    as a whole; the field order is the positional carry's, so `TrainState(*carry)` holds.
    """

    trainable: Any
    frozen: Any
    state: Any
    opt_state: Any
    metrics: Any
    step: Any

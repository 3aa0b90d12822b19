"""The state of a Keras-named optimizer, shared by its built-in rule and Keras 2 `get_updates`."""
from typing import NamedTuple

import jax


class OptimizerState(NamedTuple):
    """A Keras optimizer's state.

    Attributes:
        iterations: updates applied so far, an int32 scalar (Keras's `iterations`).
        learning_rate: the rate the next update uses; with a schedule,
            `schedule(iterations)`.
        slots: slot name -> tree shaped like the params (Nadam's `u_product`
            is one scalar).
    """
    iterations: jax.Array
    learning_rate: jax.Array
    slots: dict

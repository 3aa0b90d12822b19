"""The callback lists `fit`, `evaluate` and `predict` run: the user's callbacks, checked, with
History and a progress bar added as Keras adds them."""
from jkeras.callbacks.base import Callback, CallbackList, History
from jkeras.callbacks.progbar import ProgbarLogger


def configure(callbacks, model, verbose, epochs, steps, samples=None, batch_size=None,
              do_validation=False, metrics=None):
    """The CallbackList `fit` uses: the user's callbacks, then History, then a progress bar.

    As in Keras, a `History` or `ProgbarLogger` the user passes is used instead
    of a new one, and the progress bar comes last so it shows what the other
    callbacks added to the epoch logs (`learning_rate`). `params` are Keras 2's
    (`batch_size`, `epochs`, `steps`, `samples`, `verbose`, `do_validation`, `metrics`),
    but `steps` is the number of steps per epoch also for array data (as in tf.keras 2).
    """
    callbacks = _checked(callbacks)
    history = next((cb for cb in callbacks if isinstance(cb, History)), None)
    if history is None:
        history = History()
        callbacks.append(history)
    if verbose and not any(isinstance(cb, ProgbarLogger) for cb in callbacks):
        callbacks.append(ProgbarLogger())
    model.history = history
    return CallbackList(callbacks, model, {
        "batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": samples,
        "verbose": verbose, "do_validation": do_validation, "metrics": list(metrics or [])})


def callback_list(callbacks, model, params):
    """The user's callbacks for `evaluate` or `predict`, with Keras 2's `params` for them."""
    return CallbackList(_checked(callbacks), model, params)


def _checked(callbacks):
    """`callbacks` as a new list of Callback instances; a TypeError naming what came instead."""
    if isinstance(callbacks, CallbackList):
        callbacks = callbacks.callbacks
    if isinstance(callbacks, Callback):
        callbacks = [callbacks]
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"callbacks must be a list of jkeras.callbacks.Callback instances; received "
                        f"{type(callbacks).__name__}.")
    callbacks = list(callbacks or [])
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks must be jkeras.callbacks.Callback instances; received "
                            f"{type(cb).__name__}.")
    return callbacks

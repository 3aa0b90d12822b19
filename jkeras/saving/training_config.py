"""A compiled model's `training_config` as Keras spells it in an `.h5` (and jkeras in a
checkpoint's record): losses and metrics by name (`serialize_loss`, `serialize_metrics`), the
optimizer as tf.keras 2.11+ writes it (`optimizer_config`) and its one-number state
(`optimizer_scalars`), and a file's spellings as `compile()` takes them (`plain_loss`,
`plain_metrics`). The model assembles its config from them (`model.get_compile_config()`,
`jkeras.models.compile_config`); `compile_checked` compiles a model back from one.
"""
import numpy as np

from jkeras import losses, optimizers
from jkeras.errors import ConfigError, JkerasError
from jkeras.saving import serialization


def serialize_loss(loss):
    """`compile`'s `loss` as a file names it: full names for strings, configs for objects."""
    if isinstance(loss, str):
        # Keras 3 cannot load its own files that name a loss by alias ("mse":
        # "Could not deserialize 'keras.metrics.mse'"); full names load in both Kerases.
        try:
            canonical = losses.serialize(losses.get(loss))
        except ValueError:
            return loss
        return canonical if isinstance(canonical, str) else loss
    if loss is None:
        return loss
    if isinstance(loss, dict):
        return {k: serialize_loss(v) for k, v in loss.items()}
    if isinstance(loss, (list, tuple)):
        return [serialize_loss(v) for v in loss]
    return losses.serialize(loss)


def serialize_metrics(metrics):
    """`compile`'s `metrics` as a file names them: each metric by its name."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict):
        return {k: serialize_metrics(v) for k, v in metrics.items()}
    if isinstance(metrics, (list, tuple)):
        return [serialize_metrics(v) for v in metrics]
    return getattr(metrics, "name", None) or getattr(metrics, "__name__", str(metrics))


def optimizer_scalars(optimizer, opt_state):
    """The optimizer's one-number state (Nadam's `u_product`), which tf.keras's layout has no
    place for; a float32 written as JSON reads back to the same bits."""
    if opt_state is None:
        return {}
    per_weight = set(getattr(optimizer, "slot_names", lambda: ())())
    return {k: float(np.asarray(v)) for k, v in optimizers.slots(opt_state).items()
            if k not in per_weight and np.ndim(v) == 0}


# Keys only Keras 3's optimizers know, at their defaults. tf.keras reads an `.h5` optimizer
# config as a legacy optimizer, which rejects them, so they are left out when unset.
_NEW_OPTIMIZER_DEFAULTS = {"weight_decay": None, "use_ema": False, "ema_momentum": 0.99,
                           "ema_overwrite_frequency": None, "loss_scale_factor": None,
                           "gradient_accumulation_steps": None}


def _portable(config):
    """An optimizer config both tf.keras 2 and Keras 3 build (unset Keras-3-only keys dropped)."""
    return {k: v for k, v in config.items()
            if not (k in _NEW_OPTIMIZER_DEFAULTS and v == _NEW_OPTIMIZER_DEFAULTS[k])}


# tf.keras 2.11+'s optimizers, which it names `Custom>Adam` in files, with `is_legacy_optimizer: false`.
_TF_KERAS_NEW = ("Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "Ftrl", "Lion", "Nadam",
                 "RMSprop", "SGD")


def optimizer_config(opt):
    """The optimizer as tf.keras 2.11+ writes it (`Custom>Adam`, `is_legacy_optimizer: false`),
    so tf.keras builds the same optimizer with its settings; Keras 3 builds the class with its
    defaults, as it does for tf.keras's own files. `optimizers.legacy` ones are written in
    Keras 2's form, which tf.keras (as a legacy optimizer) and Keras 3 both build in full."""
    name = type(opt).__name__
    if getattr(opt, "is_legacy", False):
        return {"class_name": name, "config": opt.get_config()}
    if name in _TF_KERAS_NEW:
        # Keras 3 builds `Custom>X` as `optimizers.get(config["name"])`: the name must be the class's
        # (the optimizer's own name travels in the "jkeras" section).
        return {"class_name": f"Custom>{name}",
                "config": {**_portable(opt.get_config()), "name": name, "is_legacy_optimizer": False}}
    return {"class_name": name, "config": _portable(opt.get_config())}


def compile_checked(model, training, custom_objects, where):
    """`model.compile_from_config(training)` in `custom_objects`' scope, where any failure but a
    jkeras error (a `training` that is not a JSON object, a loss or optimizer config that does not
    build) is a ConfigError naming `where`."""
    try:
        if not isinstance(training, dict):
            raise TypeError(f"a {type(training).__name__}, not a JSON object")
        with serialization.custom_object_scope(custom_objects or {}):  # a checkpoint's load has none open
            model.compile_from_config(training)
    except JkerasError:
        raise
    except Exception as error:  # noqa: BLE001 - a training config from a file
        raise ConfigError(f"{where} cannot be compiled ({type(error).__name__}: {error}).") from error


def plain_loss(loss):
    """A loss config as `compile` takes it (tf.keras wraps functions in a `fn` key)."""
    if isinstance(loss, dict) and "class_name" in loss:
        config = dict(loss.get("config") or {})
        config.pop("fn", None)
        config.pop("reduction", None) if config.get("reduction") == "auto" else None
        return {**loss, "config": config}
    if isinstance(loss, dict):
        return {k: plain_loss(v) for k, v in loss.items()}
    if isinstance(loss, list):
        return [plain_loss(v) for v in loss]
    return loss


def plain_metrics(metrics):
    """tf.keras writes `[[{MeanMetricWrapper: {name, fn}}]]`; compile takes names."""
    if metrics is None or isinstance(metrics, str):
        return metrics
    if isinstance(metrics, dict) and "class_name" in metrics:
        config = metrics.get("config") or {}
        if metrics["class_name"] == "MeanMetricWrapper":
            return config.get("name") or config.get("fn")
        return metrics
    if isinstance(metrics, dict):
        return {k: plain_metrics(v) for k, v in metrics.items()}
    flat = []
    for m in metrics:
        item = plain_metrics(m)
        flat.extend(item if isinstance(item, list) else [item])
    return flat

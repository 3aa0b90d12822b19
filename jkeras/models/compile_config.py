"""A model's compile config (Keras 3's `get_compile_config`/`compile_from_config`): the
`training_config` object Keras writes into an `.h5` (and jkeras into a checkpoint's record),
read from what `compile()` recorded, and the model compiled back from one written by jkeras,
tf.keras 2 or Keras 3. The file's spellings of losses, metrics and optimizers are
`jkeras.saving.training_config`'s.
"""
from jkeras import optimizers
from jkeras.metrics import resolve_custom
from jkeras.saving.training_config import (optimizer_config, optimizer_scalars, plain_loss, plain_metrics,
                                           serialize_loss, serialize_metrics)


def get_compile_config(model):
    """The compile settings of the compiled `model`, as the JSON object an `.h5` file's
    `training_config` attribute holds (tf.keras 2 and Keras 3 read it too)."""
    cfg = model._compile_config
    opt = model.optimizer
    return {"loss": serialize_loss(cfg["loss"]), "metrics": serialize_metrics(cfg["metrics"]),
            "weighted_metrics": serialize_metrics(cfg["weighted_metrics"]),
            "loss_weights": cfg["loss_weights"],
            "optimizer_config": optimizer_config(opt),
            "jkeras": {"seed": model._seed, "step": int(model._step),
                       "steps_per_execution": model._steps_per_execution,
                       "optimizer_name": getattr(opt, "name", None),
                       "optimizer_scalars": optimizer_scalars(opt, model._opt_state)}}


def compile_from_config(model, config):
    """Compile `model` as `config` (a `training_config` object from a file) says, at its step.
    Custom losses, metrics and optimizers it names resolve in the custom object scope open."""
    opt_cfg = config.get("optimizer_config")
    optimizer = optimizers.get(opt_cfg) if opt_cfg else "rmsprop"
    extra = config.get("jkeras", {})
    if isinstance(extra.get("optimizer_name"), str) and hasattr(optimizer, "name"):
        optimizer.name = extra["optimizer_name"]
    model.compile(optimizer=optimizer, loss=plain_loss(config.get("loss")),
                  metrics=resolve_custom(plain_metrics(config.get("metrics"))),
                  weighted_metrics=resolve_custom(plain_metrics(config.get("weighted_metrics"))),
                  loss_weights=config.get("loss_weights"), seed=extra.get("seed"),
                  steps_per_execution=extra.get("steps_per_execution", "auto"))
    model._step = int(extra.get("step", 0))

"""Orbax checkpoints: everything that changes in training, for exact resume.

A checkpoint folder holds one Orbax step per save: the `params`, `state` and
`opt_state` pytrees, and a JSON record with the training position (`step`,
`epoch`, `batch` within the epoch, `seed`), the epoch's metric sums, the
model's architecture and training config. Orbax writes each step to a
temporary folder and renames it when complete, so a crash mid-save leaves the
previous steps whole; the last `max_to_keep` are kept.
"""
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from jkeras.models.compile_utils import merge_params, split_params
from jkeras.saving import serialization

_log = logging.getLogger("jkeras")


class CheckpointError(ValueError):
    """A checkpoint folder is missing, unreadable, or does not fit the model."""


def _manager(directory, max_to_keep=None, create=True):
    directory = os.path.abspath(os.fspath(directory))
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create,
                                           enable_async_checkpointing=False)
    return ocp.CheckpointManager(directory, options=options)


def _shapes(tree):
    """`{"path/to/leaf": [shape]}` for naming the first leaf that does not fit."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): list(np.shape(leaf)) for path, leaf in flat}


def training_tree(model, carry=None):
    """The pytrees a checkpoint stores, from a live train carry or from the model's values."""
    if carry is not None:
        trainable, frozen, state, opt_state, _, _ = carry
        params = merge_params(trainable, frozen)
    else:
        params, state, opt_state = model._own_tree(True), model._own_tree(False), model._opt_state
    tree = {"params": params, "state": state}
    if opt_state is not None:
        tree["opt_state"] = opt_state
    return jax.tree.map(jnp.copy, tree)


def save_checkpoint(directory, model, carry=None, epoch=0, batch=0, max_to_keep=None):
    """Write one checkpoint of `model` (or of a live train `carry`) into `directory`."""
    tree = training_tree(model, carry)
    step = int(carry[5]) if carry is not None else int(model._step)
    meta = {"step": step, "epoch": int(epoch), "batch": int(batch),
            "seed": getattr(model, "_seed", None), "shapes": _shapes(tree),
            "has_opt_state": "opt_state" in tree,
            "metrics": None if carry is None else jax.tree.map(lambda a: np.asarray(a).tolist(), carry[4])}
    try:
        meta["model_config"] = serialization.model_config(model)
    except NotImplementedError:
        meta["model_config"] = None
    if getattr(model, "compiled", False):
        from jkeras.saving.hdf5 import _training_config
        meta["training_config"] = _training_config(model)
    manager = _manager(directory, max_to_keep)
    existing = manager.all_steps()
    save_id = (max(existing) + 1) if existing else 0
    manager.save(save_id, args=ocp.args.Composite(state=ocp.args.StandardSave(tree),
                                                  meta=ocp.args.JsonSave(meta)))
    manager.wait_until_finished()
    manager.close()


def latest_meta(directory):
    """The JSON record of the newest complete checkpoint, or None when there is none."""
    manager = _open(directory)
    if manager is None:
        return None
    step = manager.latest_step()
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    manager.close()
    return meta


def _open(directory):
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        return None
    if not os.access(directory, os.R_OK | os.X_OK):
        raise CheckpointError(f"Checkpoint folder {directory} is not readable.")
    partial = [name for name in os.listdir(directory) if "tmp" in name]
    if partial:
        _log.warning("Skipping incomplete checkpoint(s) %s in %s; using the last complete one.",
                     partial, directory)
    manager = _manager(directory, create=False)
    if manager.latest_step() is None:
        manager.close()
        return None
    return manager


def restore_checkpoint(directory, model):
    """Load the newest complete checkpoint into `model`; returns its JSON record.

    Every leaf is checked against the model before anything is assigned.
    """
    manager = _open(directory)
    if manager is None:
        raise CheckpointError(f"No complete checkpoint in {os.fspath(directory)}.")
    step = manager.latest_step()
    meta = manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
    if getattr(model, "compiled", False) and meta.get("has_opt_state"):
        model._prepare_optimizer()
    target = training_tree(model)
    if not meta.get("has_opt_state"):
        target.pop("opt_state", None)
    mine = _shapes(target)
    for path, shape in meta["shapes"].items():
        if path not in mine:
            raise CheckpointError(f"The checkpoint has leaf {path} that the model lacks: it was "
                                  "written by a model of another architecture.")
        if mine[path] != shape:
            raise CheckpointError(f"Checkpoint leaf {path} has shape {tuple(shape)}; the model's "
                                  f"has {tuple(mine[path])}.")
    missing = sorted(set(mine) - set(meta["shapes"]))
    if missing:
        raise CheckpointError(f"The checkpoint lacks leaf {missing[0]} that the model has.")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    restored = manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract)))["state"]
    manager.close()
    model._assign_tree(restored["params"], params=True)
    model._assign_tree(restored["state"], params=False)
    if "opt_state" in restored:
        model._opt_state = restored["opt_state"]
    model._step = int(meta["step"])
    if meta.get("seed") is not None:
        model._seed = int(meta["seed"])
    return meta


def is_checkpoint_path(path):
    """Paths without an HDF5 suffix are Orbax checkpoint folders."""
    return not str(path).endswith((".h5", ".hdf5", ".keras"))


def load_model(directory, custom_objects=None, compile=True, safe_mode=True):
    """A model rebuilt from a checkpoint folder's config, with its newest saved values."""
    meta = latest_meta(directory)
    if meta is None:
        raise CheckpointError(f"No complete checkpoint in {os.fspath(directory)}.")
    if meta.get("model_config") is None:
        raise CheckpointError("This checkpoint is of a subclassed model, whose architecture is code: "
                              "build the model, then call jkeras.saving.restore_checkpoint(dir, model).")
    model = serialization.model_from_config(meta["model_config"], custom_objects, safe_mode)
    if compile and meta.get("training_config"):
        from jkeras.saving.hdf5 import _compile_from
        _compile_from(model, meta["training_config"], custom_objects)
    restore_checkpoint(directory, model)
    return model


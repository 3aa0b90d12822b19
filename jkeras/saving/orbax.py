"""Orbax checkpoints: everything that changes in training, for exact resume.

A checkpoint folder holds one Orbax step per save: the `params`, `state` and
`opt_state` pytrees, and a JSON record with the training position (`step`,
`epoch`, `batch` within the epoch, `seed`), the epoch's metric sums, the
model's architecture and training config. Orbax writes each step to a
temporary folder and renames it when complete, so a crash mid-save leaves the
previous steps whole; the last `max_to_keep` are kept.

The JSON record also holds a sha256 of every leaf. Reading takes the newest step
that is whole: a step whose files are missing or damaged, or whose values do not
match their digests, is skipped with a warning naming it and why, and the next
older one is used. `CheckpointError` is raised when no step is readable, or when
the checkpoint does not fit the model (which no older step would fix either).
"""
import hashlib
import logging
import os

import jax
import jax.numpy as jnp
import numpy as np

from jkeras.errors import CheckpointError, ConfigError
from jkeras.layers import paths
from jkeras.saving import serialization
from jkeras.saving.training_config import compile_checked

_log = logging.getLogger("jkeras")

__all__ = ["CheckpointError", "latest_meta", "load_model", "restore_checkpoint", "save_checkpoint"]


def _ocp():
    """`orbax.checkpoint`, imported on first use: `import jkeras` does not pay for Orbax."""
    import orbax.checkpoint
    return orbax.checkpoint


def _manager(directory, max_to_keep=None, create=True):
    directory = os.path.abspath(os.fspath(directory))
    ocp = _ocp()
    options = ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create,
                                           enable_async_checkpointing=False)
    return ocp.CheckpointManager(directory, options=options)


def _shapes(tree):
    """`{"path/to/leaf": [shape]}` for naming the first leaf that does not fit."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    return {jax.tree_util.keystr(path): list(np.shape(leaf)) for path, leaf in flat}


def _digests(tree):
    """`{"path/to/leaf": sha256 of dtype, shape and bytes}`: what a restore is checked against."""
    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    out = {}
    for path, leaf in flat:
        value = np.asarray(jax.device_get(leaf))
        digest = hashlib.sha256(f"{value.dtype.str}{value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
        out[jax.tree_util.keystr(path)] = digest.hexdigest()
    return out


def training_tree(model, carry=None):
    """The pytrees a checkpoint stores (`params`, `state`, `opt_state` where there is one), from
    a live train state `carry` or from the model's `get_train_state()`."""
    ts = model.get_train_state() if carry is None else carry
    tree = {"params": paths.merge(ts.trainable, ts.frozen), "state": ts.state}
    if ts.opt_state is not None:
        tree["opt_state"] = ts.opt_state
    return jax.tree.map(jnp.copy, tree)


def save_checkpoint(directory, model, carry=None, epoch=0, batch=0, max_to_keep=None):
    """Write one checkpoint of `model` (or of a live train state `carry`, a `TrainState`) into
    `directory`."""
    tree = training_tree(model, carry)
    step = int(carry.step) if carry is not None else model.steps_trained
    meta = {"step": step, "epoch": int(epoch), "batch": int(batch),
            "seed": model.seed, "shapes": _shapes(tree),
            "digests": _digests(tree),
            "has_opt_state": "opt_state" in tree,
            "metrics": None if carry is None else jax.tree.map(lambda a: np.asarray(a).tolist(), carry.metrics)}
    try:
        meta["model_config"] = serialization.model_config(model)
    except NotImplementedError:
        meta["model_config"] = None
    if getattr(model, "compiled", False):
        meta["training_config"] = model.get_compile_config()
    manager = _manager(directory, max_to_keep)
    existing = manager.all_steps()
    save_id = (max(existing) + 1) if existing else 0
    args = _ocp().args
    manager.save(save_id, args=args.Composite(state=args.StandardSave(tree), meta=args.JsonSave(meta)))
    manager.wait_until_finished()
    manager.close()


def latest_meta(directory):
    """The JSON record of the newest readable checkpoint, or None when there is none.

    Damaged steps are skipped (with a warning); CheckpointError if every step is damaged."""
    manager = _open(directory)
    if manager is None:
        return None
    try:
        problems = []
        for step in _steps(manager):
            try:
                return _read_meta(manager, step)
            except _Damaged as error:
                problems.append(f"step {step}: {error}")
                _log.warning("Skipping damaged checkpoint step %s in %s: %s", step,
                             os.fspath(directory), error)
        raise CheckpointError(f"No readable checkpoint in {os.fspath(directory)}: "
                              + "; ".join(problems))
    finally:
        manager.close()


class _Damaged(Exception):
    """One checkpoint step cannot be read; an older one may still be."""


def _steps(manager):
    try:
        return sorted(manager.all_steps(), reverse=True)
    except Exception as error:  # noqa: BLE001 - orbax on a damaged folder
        raise CheckpointError(f"Cannot list the checkpoint steps in {manager.directory}: "
                              f"{error}") from error


def _read_meta(manager, step):
    """The step's JSON record, its fields checked; `_Damaged` when unreadable or malformed."""
    try:
        meta = manager.restore(step, args=_ocp().args.Composite(meta=_ocp().args.JsonRestore()))["meta"]
    except Exception as error:  # noqa: BLE001 - missing or damaged files: orbax raises many kinds
        raise _Damaged(f"its record ('meta') cannot be read ({type(error).__name__}: "
                       f"{str(error)[:300]})") from error
    if not isinstance(meta, dict):
        raise _Damaged(f"its record ('meta') is a {type(meta).__name__}, not a JSON object")
    for key, kind in (("step", int), ("epoch", int), ("batch", int), ("shapes", dict)):
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise _Damaged(f"its record ('meta') has no valid '{key}' (expected {kind.__name__}, "
                           f"found {type(meta.get(key)).__name__})")
    if min(meta["step"], meta["epoch"], meta["batch"]) < 0:
        raise _Damaged("its record ('meta') holds a negative step, epoch or batch")
    for path, shape in meta["shapes"].items():
        if not (isinstance(shape, list) and all(isinstance(d, int) and not isinstance(d, bool)
                                                and d >= 0 for d in shape)):
            raise _Damaged(f"its record ('meta') gives leaf {path} the shape {str(shape)[:80]}")
    digests = meta.get("digests")
    if digests is not None and not (isinstance(digests, dict)
                                    and all(isinstance(v, str) for v in digests.values())):
        raise _Damaged("its record ('meta') has malformed 'digests'")
    seed = meta.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise _Damaged(f"its record ('meta') has seed {str(seed)[:40]!r}, not an integer")
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
    try:
        manager = _manager(directory, create=False)
    except Exception as error:  # noqa: BLE001 - orbax on a damaged folder
        raise CheckpointError(f"{directory} is not a readable checkpoint folder "
                              f"({type(error).__name__}: {error}).") from error
    if not _steps(manager):
        manager.close()
        return None
    return manager


def restore_checkpoint(directory, model):
    """Load the newest readable checkpoint into `model`; returns its JSON record.

    Every leaf is checked against the model before anything is assigned; a damaged
    step is skipped for the next older one. On any error the model is unchanged.
    """
    manager = _open(directory)
    if manager is None:
        raise CheckpointError(f"No complete checkpoint in {os.fspath(directory)}.")
    problems = []
    try:
        for step in _steps(manager):
            try:
                meta = _read_meta(manager, step)
                restored = _restore_state(manager, step, meta, model)
            except _Damaged as error:
                problems.append(f"step {step}: {error}")
                _log.warning("Skipping damaged checkpoint step %s in %s: %s", step,
                             os.fspath(directory), error)
                continue
            _assign(model, restored, meta)
            return meta
    finally:
        manager.close()
    raise CheckpointError(f"No readable checkpoint in {os.fspath(directory)}: " + "; ".join(problems))


def _restore_state(manager, step, meta, model):
    """The step's pytrees, checked against the model's shapes and the record's digests."""
    ts = model.get_train_state()
    if getattr(model, "compiled", False) and meta.get("has_opt_state") and ts.opt_state is None:
        ts = ts._replace(opt_state=jax.jit(model.init_opt_state)(ts.trainable))
    target = training_tree(model, ts)
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
    ocp = _ocp()
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, target)
    try:
        restored = manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract)))["state"]
    except Exception as error:  # noqa: BLE001 - missing or damaged array files
        raise _Damaged(f"its arrays ('state') cannot be read ({type(error).__name__}: "
                       f"{str(error)[:300]})") from error
    if _shapes(restored) != mine:
        raise _Damaged("its arrays ('state') do not have the shapes its record lists")
    digests = meta.get("digests")
    if digests is not None:
        got = _digests(restored)
        bad = sorted(p for p in got if digests.get(p) != got[p])
        if bad:
            raise _Damaged(f"leaf {bad[0]} (and {len(bad) - 1} more) does not match its sha256 "
                           "digest: the array files are damaged")
    return restored


def _assign(model, restored, meta):
    """Make the restored trees the model's train state (its `params` split as the model's
    trainable tree is), at the record's step and seed."""
    ts = model.get_train_state()
    trainable, frozen = paths.split(restored["params"], paths.map_with_path(lambda p, _: True, ts.trainable))
    model.set_train_state(ts._replace(trainable=trainable, frozen=frozen, state=restored["state"],
                                      opt_state=restored.get("opt_state", ts.opt_state), metrics=None,
                                      step=np.int32(meta["step"])))
    if meta.get("seed") is not None:
        model.seed = int(meta["seed"])


def load_model(directory, custom_objects=None, compile=True, safe_mode=True):
    """A model rebuilt from a checkpoint folder's config, with its newest readable values."""
    meta = latest_meta(directory)
    if meta is None:
        raise CheckpointError(f"No complete checkpoint in {os.fspath(directory)}.")
    if meta.get("model_config") is None:
        raise CheckpointError("This checkpoint is of a subclassed model, whose architecture is code: "
                              "build the model, then call jkeras.saving.restore_checkpoint(dir, model).")
    where = f"{os.fspath(directory)}: model_config (checkpoint step {meta['step']})"
    try:
        serialization.check_config_tree(meta["model_config"], "model_config")
        model = serialization.model_from_config(meta["model_config"], custom_objects, safe_mode,
                                                "model_config")
    except ConfigError as error:
        raise type(error)(f"{os.fspath(directory)}: {error}") from error
    training = meta.get("training_config")
    if compile and training:
        compile_checked(model, training, custom_objects, where.replace("model_config", "training_config"))
    restore_checkpoint(directory, model)
    return model

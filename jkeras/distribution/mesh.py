"""Data and model parallelism over a `jax.sharding.Mesh`, as Keras 3's distribution API.

A distribution says where arrays live: `place(tree, role)` puts weights
(replicated, or split by a layout rule) and batches (split on the `batch`
axis) on the mesh; the trainer's jitted steps then run as one SPMD program
and XLA inserts the collectives (gradient all-reduce, model-axis gathers).
Arrays are made with `jax.make_array_from_callback`, so the same code builds
global arrays when several processes share the mesh.
"""
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from jkeras.backend import placement
from jkeras.layers import paths



def list_devices(device_type=None):
    """Visible devices, e.g. `['cpu:0', 'cpu:1']`, optionally only of one type."""
    devices = jax.devices(device_type) if device_type else jax.devices()
    return [f"{d.platform}:{d.id}" for d in devices]


def resolve_devices(devices):
    """`jax.Device`s from None (all), a count, device objects or strings like `'gpu:1'`."""
    visible = jax.devices()
    if devices is None:
        return visible
    if isinstance(devices, int):
        if not 1 <= devices <= len(visible):
            raise ValueError(f"Asked for {devices} devices; {len(visible)} are visible "
                             f"({list_devices()}).")
        return visible[:devices]
    return [device_from_string(d) if isinstance(d, str) else d for d in devices]


def device_from_string(name):
    """The device `'gpu:1'`/`'cpu:0'`/`'/gpu:1'`/`'/device:GPU:1'` names; a clear error otherwise."""
    text = name.lower().replace("/device:", "").lstrip("/")
    match = re.fullmatch(r"(cpu|gpu|tpu|cuda|rocm)(?::(\d+))?", text)
    if not match:
        raise ValueError(f"Device string {name!r} names no device; use forms like 'cpu:0' or 'gpu:1'. "
                         f"Visible: {list_devices()}.")
    kind, index = match.group(1), int(match.group(2) or 0)
    kind = "gpu" if kind in ("cuda", "rocm") else kind
    candidates = [d for d in jax.devices() if d.platform == kind or (kind == "gpu" and d.platform in
                                                                     ("cuda", "rocm"))]
    if index >= len(candidates):
        raise ValueError(f"Device {name!r} does not exist: {len(candidates)} {kind} device(s) are "
                         f"visible ({list_devices()}).")
    return candidates[index]


class Distribution:
    """Base: a mesh with a `batch` axis; weights replicated unless a subclass lays them out."""

    def __init__(self, mesh, batch_dim_name="batch", auto_shard_dataset=True):
        self.mesh = mesh
        self.batch_dim_name = batch_dim_name
        self.auto_shard_dataset = auto_shard_dataset

    @property
    def num_batch_shards(self):
        return self.mesh.shape[self.batch_dim_name]

    def weight_spec(self, path):
        return P()

    def sharding_for(self, path, value):
        spec = P(self.batch_dim_name) if path == "batch" else self.weight_spec(path)
        if path == "batch" and (np.ndim(value) == 0 or value.shape[0] % self.num_batch_shards):
            spec = P()  # a batch the devices cannot split evenly is computed replicated
        return NamedSharding(self.mesh, spec)

    def place(self, tree, batch=False):
        """`tree` as global arrays on the mesh: weights by layout, batches split on `batch`."""
        def put(path, value):
            value = np.asarray(value) if not isinstance(value, jax.Array) else value
            name = "batch" if batch else _path_name(path)
            sharding = self.sharding_for(name, value)
            if isinstance(value, jax.Array) and value.is_fully_addressable is False:
                return value
            host = np.asarray(value)
            return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])
        return jax.tree_util.tree_map_with_path(put, tree)

    def place_data(self, tree):
        """Sample arrays as global arrays: replicated in one process; with several processes each
        contributes its own block of rows (by process index), split on the `batch` axis."""
        if jax.process_count() == 1:
            return self.place(tree)
        count, index = jax.process_count(), jax.process_index()
        sharding = NamedSharding(self.mesh, P(self.batch_dim_name))

        def put(value):
            value = np.asarray(value)
            rows = value.shape[0]
            if rows % self.num_batch_shards:
                raise ValueError(f"{rows} samples do not split evenly over the {self.num_batch_shards} "
                                 f"devices of {count} processes; use a multiple of {self.num_batch_shards}.")
            local = value[index * rows // count:(index + 1) * rows // count] if self.auto_shard_dataset \
                else value
            return jax.make_array_from_process_local_data(sharding, local)
        return jax.tree.map(put, tree)

    def batch_constraint(self, tree):
        """Inside a jitted step: ask XLA to split `tree`'s rows over the `batch` axis."""
        return jax.tree.map(lambda a: jax.lax.with_sharding_constraint(a, self.sharding_for("batch", a)),
                            tree)

    def check_layout(self, params):
        """Hook: a distribution with layout rules checks them against the model's weights."""

    def check_batch_size(self, batch_size):
        if batch_size % self.num_batch_shards:
            raise ValueError(f"batch_size={batch_size} does not divide over the {self.num_batch_shards} "
                             f"devices of the '{self.batch_dim_name}' axis; use a multiple of "
                             f"{self.num_batch_shards}.")

    def scope(self):
        return _Scope(self)


class DataParallel(Distribution):
    """Split each batch over `devices` (all visible by default); weights replicated."""

    def __init__(self, devices=None, auto_shard_dataset=True):
        devices = resolve_devices(devices)
        super().__init__(Mesh(np.asarray(devices), ("batch",)), "batch", auto_shard_dataset)


class LayoutMap(dict):
    """`{regex over 'layer/weight' paths: partition spec tuple}`, e.g. `{'dense.*/kernel': (None, 'model')}`."""

    def matching(self, path):
        for pattern, spec in self.items():
            if re.search(pattern, path):
                return spec
        return None


class ModelParallel(Distribution):
    """Weights split by `layout_map` over a `model` axis, batches over a `batch` axis.

    `mesh_shape=(data, model)` (default: all devices on the model axis) and axis names
    follow Keras 3. Every rule must match at least one weight (checked when placing).
    """

    def __init__(self, layout_map, devices=None, mesh_shape=None, axis_names=("batch", "model"),
                 batch_dim_name="batch", auto_shard_dataset=True):
        devices = resolve_devices(devices)
        mesh_shape = mesh_shape or (1, len(devices))
        if int(np.prod(mesh_shape)) != len(devices):
            raise ValueError(f"mesh_shape {tuple(mesh_shape)} needs {int(np.prod(mesh_shape))} devices; "
                             f"{len(devices)} were given.")
        mesh = Mesh(np.asarray(devices).reshape(mesh_shape), tuple(axis_names))
        super().__init__(mesh, batch_dim_name, auto_shard_dataset)
        self.layout_map = LayoutMap(layout_map)

    def weight_spec(self, path):
        spec = self.layout_map.matching(path)
        return P() if spec is None else P(*spec)

    def check_layout(self, params):
        """Every rule must match some weight of `params`: a rule that matches nothing is a typo."""
        flat, _ = jax.tree_util.tree_flatten_with_path(params)
        weight_paths = [_path_name(path) for path, _ in flat]
        for pattern in self.layout_map:
            if not any(re.search(pattern, p) for p in weight_paths):
                raise ValueError(f"Layout rule {pattern!r} matches no weight; weights are "
                                 f"{sorted(weight_paths)[:20]}.")


def _path_name(path):
    """`'layer/weight'` from a pytree path (dict keys only; optimizer slots end the same way)."""
    return paths.path_str(paths.key_path(path))


class _Scope:
    def __init__(self, distribution):
        self.distribution, self.previous = distribution, None

    def __enter__(self):
        self.previous = placement.current_distribution()
        placement.set_current_distribution(self.distribution)
        return self.distribution

    def __exit__(self, *exc):
        placement.set_current_distribution(self.previous)


def set_distribution(value):
    """Make `value` (or None) the distribution every model trains under."""
    if value is not None and not isinstance(value, Distribution):
        raise TypeError(f"set_distribution expects a Distribution or None; received {type(value).__name__}.")
    placement.set_current_distribution(value)


def distribution():
    """The distribution models train under now (`set_distribution` or the innermost `scope()`), or None."""
    return placement.current_distribution()

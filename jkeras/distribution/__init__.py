"""Many devices and many hosts: data parallel, model parallel, device placement, processes."""
import os

import jax

from jkeras.distribution.mesh import (DataParallel, Distribution, LayoutMap, ModelParallel,
                                      device_from_string, distribution, list_devices,
                                      set_distribution)
from jkeras.distribution.multi_gpu import multi_gpu_model
from jkeras.distribution.placement import device


def initialize(coordinator_address=None, num_processes=None, process_id=None, local_device_ids=None):
    """Start JAX's multi-process runtime (one call per process, before any computation).

    Arguments default to the usual environment variables (`JAX_COORDINATOR_ADDRESS`,
    `JAX_NUM_PROCESSES`, `JAX_PROCESS_ID`), else to JAX's cluster auto-detection.
    """
    coordinator_address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if num_processes is None and os.environ.get("JAX_NUM_PROCESSES"):
        num_processes = int(os.environ["JAX_NUM_PROCESSES"])
    if process_id is None and os.environ.get("JAX_PROCESS_ID"):
        process_id = int(os.environ["JAX_PROCESS_ID"])
    kwargs = {}
    if coordinator_address is not None:
        kwargs["cluster_detection_method"] = "deactivate"
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id, local_device_ids=local_device_ids, **kwargs)


def is_chief():
    """Whether this process writes files (process 0), as Keras's multi-worker convention."""
    return jax.process_index() == 0


__all__ = ["DataParallel", "Distribution", "LayoutMap", "ModelParallel", "device", "device_from_string",
           "distribution", "initialize", "is_chief", "list_devices", "multi_gpu_model",
           "set_distribution"]

"""`multi_gpu_model`: Keras 2's data-parallel wrapper, on a jkeras `DataParallel` mesh."""
from jkeras.distribution.mesh import DataParallel, resolve_devices


def multi_gpu_model(model, gpus=None, cpu_merge=True, cpu_relocation=False):
    """A model sharing `model`'s layers whose `fit`/`predict` split each batch over `gpus` devices.

    `gpus` is a count or a list of devices/ids; the weights stay shared with `model`, so saving
    `model` saves what the parallel model trained (the FAQ's recipe).
    """
    from jkeras.layers import Input
    from jkeras.models import Functional
    if isinstance(gpus, (list, tuple)) and gpus and isinstance(gpus[0], int):
        import jax
        visible = jax.devices()
        if max(gpus) >= len(visible):
            raise ValueError(f"Asked for device ids {list(gpus)}; {len(visible)} devices are visible.")
        gpus = [visible[i] for i in gpus]
    devices = resolve_devices(gpus)
    if len(devices) < 2:
        raise ValueError(f"multi_gpu_model splits batches over at least 2 devices; got {len(devices)} "
                         f"(visible: {len(resolve_devices(None))}).")
    if hasattr(model, "_nodes") and model.built:
        parallel = Functional(model.input, model.output, name=f"{model.name}_parallel")
    else:
        inputs = Input(batch_shape=model._build_input_shape)
        parallel = Functional(inputs, model(inputs), name=f"{model.name}_parallel")
    parallel._own_distribution = DataParallel(devices)
    parallel._key_name = model.name
    return parallel

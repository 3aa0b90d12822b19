"""Device (model) parallelism by placement, as the Keras FAQ's `tf.device` example does it."""
from jkeras.backend.placement import device_scope
from jkeras.distribution.mesh import device_from_string


def device(name):
    """`with jkeras.device('gpu:1'):` places the layers created or called inside on that device.

    One XLA program runs on one set of devices, so a model with placed layers cannot train as
    one `jax.jit`: its steps are traced once and cut into segments by device, each segment a
    jitted program on its device (`jkeras.models.placed`): each layer's forward, backward and
    optimizer update run compiled where it sits, its weights, state and optimizer slots live
    there, and unplaced layers, the loss and the metrics run on the first device.
    """
    return device_scope(device_from_string(name) if isinstance(name, str) else name)

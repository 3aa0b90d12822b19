"""Device (model) parallelism by placement, as the Keras FAQ's `tf.device` example does it."""
from jkeras.backend.placement import device_scope
from jkeras.distribution.mesh import device_from_string


def device(name):
    """`with jkeras.device('gpu:1'):` places the layers created or called inside on that device.

    A model with placed layers trains op by op rather than as one compiled step, because
    one XLA program runs on one device set; each layer's work still runs on its device.
    """
    return device_scope(device_from_string(name) if isinstance(name, str) else name)

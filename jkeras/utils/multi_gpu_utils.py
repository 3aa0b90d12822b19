"""Keras 2's `keras.utils.multi_gpu_utils`: `multi_gpu_model`, which lives with jkeras.distribution."""


def __getattr__(name):
    if name == "multi_gpu_model":
        from jkeras.distribution.multi_gpu import multi_gpu_model  # distribution sits above utils
        return multi_gpu_model
    raise AttributeError(f"module 'jkeras.utils.multi_gpu_utils' has no attribute {name!r}")

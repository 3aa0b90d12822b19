"""What a layer accepts as input (`InputSpec`), checked on every call (`check_input_spec`)."""
import jax
import numpy as np

from jkeras.backend import config
from jkeras.backend.keras_tensor import KerasTensor


class InputSpec:
    """What a layer accepts as input: dtype, rank (`ndim`, `min_ndim`, `max_ndim`), fixed axes or
    a whole shape (None for a free dim). A layer sets `self.input_spec`; every call checks it."""

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        self.dtype = None if dtype is None else _dtype_name(dtype)
        self.shape = None if shape is None else tuple(None if d is None else int(d) for d in shape)
        self.ndim = len(self.shape) if self.shape is not None else ndim
        self.max_ndim, self.min_ndim = max_ndim, min_ndim
        self.name, self.allow_last_axis_squeeze, self.optional = name, allow_last_axis_squeeze, optional
        try:
            self.axes = {int(k): v for k, v in (axes or {}).items()}
        except (ValueError, TypeError, AttributeError):
            raise TypeError(f"Argument `axes` must be a dict with integer keys. Received: axes={axes}") from None
        if self.axes and (self.ndim is not None or self.max_ndim is not None):
            max_dim = (self.ndim if self.ndim else self.max_ndim) - 1
            if max(self.axes) > max_dim:
                raise ValueError(f"Axis {max(self.axes)} is greater than the maximum allowed value: {max_dim}")

    def __repr__(self):
        parts = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                          ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                          ("axes", self.axes)) if v]
        return f"InputSpec({', '.join(parts)})"

    def get_config(self):
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)


def check_input_spec(input_spec, inputs, layer_name):
    """Raise Keras's ValueError if `inputs` do not match `input_spec` (one spec or a list)."""
    if not input_spec:
        return
    specs = list(input_spec) if isinstance(input_spec, (list, tuple)) else [input_spec]
    if isinstance(inputs, dict) and all(spec is not None and spec.name for spec in specs):
        inputs = [inputs[spec.name] for spec in specs if spec.name in inputs]
    flat = jax.tree.leaves(inputs, is_leaf=_is_kt)
    for x in flat:
        if not hasattr(x, "shape"):
            raise TypeError(f"Inputs to a layer should be tensors. Got '{x}' (of type {type(x)}) as input for "
                            f"layer '{layer_name}'.")
    if len(flat) != len(specs):
        raise ValueError(f'Layer "{layer_name}" expects {len(specs)} input(s), but it received {len(flat)} input '
                         f"tensors. Inputs received: {flat}")
    for index, (x, spec) in enumerate(zip(flat, specs)):
        if spec is None:
            continue
        shape = tuple(x.shape)
        where = f'Input {index} of layer "{layer_name}" is incompatible with the layer:'
        if spec.ndim is not None and not spec.allow_last_axis_squeeze and len(shape) != spec.ndim:
            raise ValueError(f"{where} expected ndim={spec.ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.max_ndim is not None and len(shape) > spec.max_ndim:
            raise ValueError(f"{where} expected max_ndim={spec.max_ndim}, found ndim={len(shape)}")
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ValueError(f"{where} expected min_ndim={spec.min_ndim}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")
        if spec.dtype is not None and np.dtype(x.dtype).name != spec.dtype:
            raise ValueError(f"{where} expected dtype={spec.dtype}, found dtype={np.dtype(x.dtype).name}")
        for axis, value in spec.axes.items():
            if value is not None and -len(shape) <= axis < len(shape) and shape[axis] not in (value, None):
                raise ValueError(f"{where} expected axis {axis} of input shape to have value {value}, but "
                                 f"received input with shape {shape}")
        if spec.shape is not None:
            spec_shape = spec.shape
            if spec.allow_last_axis_squeeze:
                shape = shape[:-1] if shape and shape[-1] == 1 else shape
                spec_shape = spec_shape[:-1] if spec_shape and spec_shape[-1] == 1 else spec_shape
            for spec_dim, dim in zip(spec_shape, shape):
                if spec_dim is not None and dim is not None and spec_dim != dim:
                    raise ValueError(f"{where} expected shape={spec.shape}, found shape={tuple(x.shape)}")


def _is_kt(x):
    return isinstance(x, KerasTensor)


def _dtype_name(dtype):
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, dict):  # Keras 3 DTypePolicy config
        dtype = dtype.get("config", {}).get("name", config.floatx())
    dtype = str(getattr(dtype, "name", dtype))
    if dtype.startswith("mixed_"):
        dtype = "float32"
    if dtype == "bfloat16":
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        raise ValueError(f"Invalid dtype: {dtype!r}; expected a dtype name such as 'float32'.") from None

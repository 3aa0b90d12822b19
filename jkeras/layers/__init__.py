"""Keras layers, one module per family; every public name of each family is exported here."""
import importlib

from jkeras.layers import _utils
from jkeras.layers._utils import deserialize, serialize  # noqa: F401  (exported)
from jkeras.layers.backend_op import BackendOp  # noqa: F401  (exported)
from jkeras.layers.base import InputSpec, Layer, Variable, add_loss  # noqa: F401  (exported)

_FAMILIES = ("core", "activation", "regularization", "normalization", "merge", "embeddings",
             "convolutional", "pooling", "reshaping", "wrappers", "lambda_layer", "flax_layer",
             "recurrent_cells", "recurrent", "bidirectional", "attention", "locally_connected",
             "convolutional_recurrent", "cudnn_recurrent", "preprocessing_numeric", "preprocessing_image",
             "preprocessing_categorical", "preprocessing_hashing", "preprocessing_lookup",
             "preprocessing_text", "einsum_dense", "group_normalization", "unit_normalization",
             "spectral_normalization", "identity")


def _export(module):
    for name, obj in vars(module).items():
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__:
            globals()[name] = obj


for _family in _FAMILIES:
    try:
        _export(importlib.import_module(f"jkeras.layers.{_family}"))
    except ModuleNotFoundError as error:
        if error.name != f"jkeras.layers.{_family}":
            raise

# Keras 2.0-2.2's deprecated layers, as keras.layers exported them; their `merge` function stays in
# jkeras.layers.legacy, since `jkeras.layers.merge` is the merge family's module.
from jkeras.layers.legacy import (AtrousConvolution1D, AtrousConvolution2D, ConvRecurrent2D,  # noqa: E402,F401
                                  Highway, MaxoutDense, Merge, Recurrent)

# Keras 2's keras.layers also had Conv3DTranspose under its Keras 1 names.
Deconvolution3D = Deconv3D = Conv3DTranspose  # noqa: F821 (exported by the loop above)

# `deserialize` finds a layer class by any name it is exported under here.
_utils.register_layer_classes({n: c for n, c in globals().items()
                               if isinstance(c, type) and issubclass(c, Layer)})

"""Keras's `keras.utils`: data files and batches, array helpers, images, logging, serialization.

Keras 2's module paths are here too (`jkeras.utils.data_utils`, `generic_utils`, `np_utils`,
`vis_utils`, `conv_utils`, `layer_utils`, `io_utils`), holding the same objects. Names that live
on a higher floor (the custom-object scopes in jkeras.saving, `Progbar` in jkeras.callbacks,
`print_summary` with the models) are found on first use, so importing this pulls in none of them;
so are the download, enqueuer and directory helpers.
"""
from jkeras.backend.determinism import enable_determinism
from jkeras.backend.random import set_random_seed
from jkeras.utils import conv_utils, generic_utils, io_utils, layer_utils, np_utils, vis_utils
from jkeras.utils.dataset_utils import (pack_x_y_sample_weight, split_dataset,
                                        timeseries_dataset_from_array, unpack_x_y_sample_weight,
                                        warmstart_embedding_matrix)
from jkeras.utils.image_utils import array_to_img, img_to_array, load_img, save_img
from jkeras.utils.io_utils import HDF5Matrix
from jkeras.utils.layer_utils import (convert_all_kernels_in_model, count_params,
                                      get_source_inputs)
from jkeras.utils.logging_utils import (disable_interactive_logging, enable_interactive_logging,
                                        is_interactive_logging_enabled)
from jkeras.utils.np_utils import normalize, to_categorical, to_ordinal
from jkeras.backend.registry import get_custom_objects
from jkeras.utils.sequence import Sequence
from jkeras.utils.sequence_utils import pad_sequences
from jkeras.utils.serialization_lib import deserialize_keras_object, serialize_keras_object
from jkeras.utils.timed_threads import TimedThread
from jkeras.utils.vis_utils import model_to_dot, model_to_dot_text, plot_model


class FeatureSpace:
    """tf.keras's FeatureSpace builds a `tf.data` preprocessing graph; it has no numpy meaning."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            "jkeras.utils.FeatureSpace is not available: tf.keras's FeatureSpace composes "
            "TensorFlow preprocessing layers over a tf.data.Dataset. Use the preprocessing layers "
            "(jkeras.layers.Normalization, Discretization, StringLookup, IntegerLookup, "
            "CategoryEncoding, Hashing, HashedCrossing) on numpy features, then Concatenate.")


_ABOVE = {"CustomObjectScope": "jkeras.saving.serialization",
          "custom_object_scope": "jkeras.saving.serialization",
          "register_keras_serializable": "jkeras.saving.serialization",
          "get_registered_name": "jkeras.saving.serialization",
          "get_registered_object": "jkeras.saving.serialization",
          "Progbar": "jkeras.callbacks",
          "multi_gpu_model": "jkeras.distribution.multi_gpu",
          "print_summary": "jkeras.models.summary",
          # on this floor, but loaded on first use: downloads, archives, worker pools, WAV files
          "get_file": "jkeras.utils.data_utils", "validate_file": "jkeras.utils.data_utils",
          "GeneratorEnqueuer": "jkeras.utils.enqueuers", "OrderedEnqueuer": "jkeras.utils.enqueuers",
          "SequenceEnqueuer": "jkeras.utils.enqueuers",
          "audio_dataset_from_directory": "jkeras.utils.directory_datasets",
          "image_dataset_from_directory": "jkeras.utils.directory_datasets",
          "text_dataset_from_directory": "jkeras.utils.directory_datasets"}
_LAZY_MODULES = ("data_utils", "directory_datasets", "enqueuers")


def __getattr__(name):
    """Keras keeps these in `keras.utils`; some live above utils (saving, callbacks, models), and
    the download and directory helpers load what they need only when first used."""
    import importlib
    if name in _ABOVE:
        return getattr(importlib.import_module(_ABOVE[name]), name)
    if name in _LAZY_MODULES:
        return importlib.import_module(f"jkeras.utils.{name}")
    raise AttributeError(f"module 'jkeras.utils' has no attribute {name!r}")


__all__ = ["CustomObjectScope", "FeatureSpace", "GeneratorEnqueuer", "HDF5Matrix", "OrderedEnqueuer",
           "Progbar", "Sequence", "SequenceEnqueuer", "TimedThread", "array_to_img",
           "audio_dataset_from_directory", "convert_all_kernels_in_model", "count_params",
           "custom_object_scope", "deserialize_keras_object", "disable_interactive_logging",
           "enable_determinism", "enable_interactive_logging", "get_custom_objects", "get_file",
           "get_registered_name", "get_registered_object", "get_source_inputs",
           "image_dataset_from_directory", "img_to_array", "is_interactive_logging_enabled",
           "load_img", "model_to_dot", "model_to_dot_text", "multi_gpu_model", "normalize",
           "pack_x_y_sample_weight", "pad_sequences", "plot_model", "print_summary",
           "register_keras_serializable", "save_img", "serialize_keras_object", "set_random_seed",
           "split_dataset", "text_dataset_from_directory", "timeseries_dataset_from_array",
           "to_categorical", "to_ordinal", "unpack_x_y_sample_weight", "validate_file",
           "warmstart_embedding_matrix"]

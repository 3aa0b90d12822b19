"""Keras 2's `keras.preprocessing`: `image` (ImageDataGenerator and image transforms), `sequence`
(padding, skip-grams, TimeseriesGenerator) and `text` (Tokenizer), on numpy.

The preprocessing *layers* (Rescaling, Normalization, TextVectorization, ...) are in
`jkeras.layers`, as in Keras. The `*_dataset_from_*` functions return a `jkeras.utils.Sequence`
of numpy batches where tf.keras returns a `tf.data.Dataset`.
"""
from jkeras.preprocessing import image, sequence, text
from jkeras.utils.dataset_utils import timeseries_dataset_from_array
from jkeras.utils.directory_datasets import image_dataset_from_directory, text_dataset_from_directory

__all__ = ["image", "image_dataset_from_directory", "sequence", "text", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]

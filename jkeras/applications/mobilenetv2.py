"""Keras 2.2's `keras.applications.mobilenetv2`: the old name of `mobilenet_v2` (its same objects)."""
from jkeras.applications.mobilenet_v2 import MobileNetV2, decode_predictions, preprocess_input

__all__ = ["MobileNetV2", "decode_predictions", "preprocess_input"]

"""Keras 2.2-2.3's `keras.engine.saving`: saving and loading whole models and architectures."""
from jkeras.models import load_model, model_from_config, model_from_json, model_from_yaml, save_model

__all__ = ["load_model", "model_from_config", "model_from_json", "model_from_yaml", "save_model"]

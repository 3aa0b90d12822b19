"""Keras 2's `keras.engine.network`: `Network`, the graph of layer calls that `Model` trains (jkeras's
`Functional`), and `get_source_inputs`."""
from jkeras.models.functional import Functional as Network
from jkeras.utils import get_source_inputs

__all__ = ["Network", "get_source_inputs"]

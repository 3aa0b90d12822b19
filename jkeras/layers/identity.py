"""Identity: a placeholder layer that returns its inputs unchanged (Keras 3's `keras.layers.Identity`)."""
from jkeras.layers.base import Layer


class Identity(Layer):
    """Returns its inputs (a tensor or a nest of them) unchanged, masks included.

    Input shape: any. Output shape: same as input.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def init(self, key, input_shape):
        return {}, {}

    def apply(self, params, state, inputs, *, training=False, key=None):
        return inputs, state

"""VGG19 (Simonyan & Zisserman, ICLR 2015): VGG16 with a fourth conv in blocks 3-5.

Keras's weight files: `vgg19_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
"""
from jkeras.applications.vgg16 import _vgg, decode_predictions, preprocess_input

__all__ = ["VGG19", "preprocess_input", "decode_predictions"]


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg19"):
    """The VGG19 model; the arguments are VGG16's (see `jkeras.applications.vgg16.VGG16`)."""
    return _vgg((2, 2, 4, 4, 4), "vgg19", include_top, weights, input_tensor, input_shape,
                pooling, classes, classifier_activation, name)

"""VGG16 (Simonyan & Zisserman, ICLR 2015), layer for layer as Keras builds it.

Keras's weight files: `vgg16_weights_tf_dim_ordering_tf_kernels[_notop].h5`.
Inputs are preprocessed in "caffe" mode (RGB->BGR, ImageNet mean subtracted).
"""
from jkeras import layers
from jkeras.applications import imagenet_utils


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax", name="vgg16"):
    """The VGG16 model: 13 3x3 convolutions in 5 blocks, then (with the top) 3 dense layers.

    Args:
        include_top: whether to add the Flatten + fc1/fc2/predictions head.
        weights: None (random), "imagenet" (Keras's file, from disk) or a path to an `.h5`.
        input_tensor: a symbolic tensor to use as the image input.
        input_shape: (H, W, 3) when `include_top=False` (at least 32x32);
            with the top it must be (224, 224, 3).
        pooling: None, "avg" or "max": global pooling of the last block when
            `include_top=False`.
        classes: number of classes of the top layer.
        classifier_activation: the top layer's activation (None gives logits).
        name: the model's name.

    Returns:
        A functional `Model`.
    """
    return _vgg((2, 2, 3, 3, 3), "vgg16", include_top, weights, input_tensor, input_shape,
                pooling, classes, classifier_activation, name)


def _vgg(convs_per_block, stem, include_top, weights, input_tensor, input_shape, pooling,
         classes, classifier_activation, name):
    """VGG with `convs_per_block[i]` convolutions in block i+1 (VGG16 and VGG19 differ only there)."""
    file_name = imagenet_utils.weights_file_name(stem, include_top)
    img_input = imagenet_utils.model_input(
        input_tensor, input_shape, include_top, weights, classes, file_name, default_size=224,
        min_size=32)

    x = img_input
    for block, (filters, convs) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), 1):
        for i in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)

    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = imagenet_utils.pool_features(x, pooling)
    return imagenet_utils.finish_model(img_input, input_tensor, x, name, weights, file_name)


def preprocess_input(x, data_format=None):
    """"caffe" mode: RGB->BGR, then the ImageNet mean pixel subtracted, no scaling."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


decode_predictions = imagenet_utils.decode_predictions

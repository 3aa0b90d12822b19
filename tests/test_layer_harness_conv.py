"""Convolution, pooling and spatial reshaping layers through the layer harness: forward, one
training step (the gradient passes through the layer), config, `.h5` and policies against Keras 3."""
import pytest

from layer_harness import run_layer_test

pytestmark = pytest.mark.usefixtures("cheap_keras_init")
CF = dict(data_format="channels_first")

CASES = [
    ("Conv1D", dict(filters=2, kernel_size=3), (2, 6, 3)),
    ("Conv1D", dict(filters=2, kernel_size=3, padding="same", strides=2), (2, 7, 3)),
    ("Conv1D", dict(filters=2, kernel_size=2, padding="causal", dilation_rate=2), (2, 6, 3)),
    ("Conv1D", dict(filters=4, kernel_size=2, groups=2, **CF), (2, 4, 5)),
    ("Conv2D", dict(filters=2, kernel_size=3), (2, 5, 5, 3)),
    ("Conv2D", dict(filters=2, kernel_size=(3, 2), strides=(2, 1), padding="same"), (2, 5, 4, 3)),
    ("Conv2D", dict(filters=2, kernel_size=2, dilation_rate=2, activation="relu", **CF), (2, 3, 5, 5)),
    ("Conv2D", dict(filters=2, kernel_size=1, use_bias=False), (2, 3, 3, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2), (1, 3, 3, 3, 2)),
    ("Conv3D", dict(filters=2, kernel_size=2, strides=2, padding="same", **CF), (1, 2, 3, 3, 3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 4, 3)),
    ("Conv1DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (2, 4, 3)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2), (2, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=1),
     (2, 3, 3, 2)),
    ("Conv2DTranspose", dict(filters=2, kernel_size=2, dilation_rate=2, **CF), (2, 2, 3, 3)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=2, strides=2), (1, 2, 2, 2, 2)),
    ("DepthwiseConv1D", dict(kernel_size=3), (2, 6, 3)),
    ("DepthwiseConv1D", dict(kernel_size=2, depth_multiplier=2, padding="same", strides=2), (2, 6, 3)),
    ("DepthwiseConv2D", dict(kernel_size=3), (2, 5, 5, 2)),
    ("DepthwiseConv2D", dict(kernel_size=2, depth_multiplier=2, dilation_rate=2, **CF), (2, 2, 5, 5)),
    ("DepthwiseConv2D", dict(kernel_size=3, strides=2, padding="same"), (2, 5, 5, 2)),
    ("SeparableConv1D", dict(filters=2, kernel_size=3), (2, 6, 3)),
    ("SeparableConv1D", dict(filters=2, kernel_size=2, depth_multiplier=2, padding="same", **CF),
     (2, 3, 6)),
    ("SeparableConv2D", dict(filters=2, kernel_size=3), (2, 5, 5, 2)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, strides=2, padding="same", depth_multiplier=2),
     (2, 5, 5, 2)),
    ("SeparableConv2D", dict(filters=2, kernel_size=2, dilation_rate=2, **CF), (2, 2, 5, 5)),
    ("MaxPooling1D", dict(pool_size=2), (2, 6, 3)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (2, 7, 3)),
    ("MaxPooling2D", dict(pool_size=2), (2, 4, 4, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2), (2, 5, 5, 2)),
    ("MaxPooling2D", dict(pool_size=2, padding="same", **CF), (2, 2, 5, 5)),
    ("MaxPooling3D", dict(pool_size=2), (1, 4, 4, 4, 2)),
    ("MaxPooling3D", dict(pool_size=2, strides=1, padding="same", **CF), (1, 2, 3, 3, 3)),
    ("AveragePooling1D", dict(pool_size=2), (2, 6, 3)),
    ("AveragePooling1D", dict(pool_size=3, strides=2, padding="same", **CF), (2, 3, 7)),
    ("AveragePooling2D", dict(pool_size=2), (2, 4, 4, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (2, 5, 5, 2)),
    ("AveragePooling2D", dict(pool_size=(2, 3), strides=1, **CF), (2, 2, 4, 5)),
    ("AveragePooling3D", dict(pool_size=2), (1, 4, 4, 4, 2)),
    ("AveragePooling3D", dict(pool_size=2, strides=1, padding="same", **CF), (1, 2, 3, 3, 3)),
    ("GlobalMaxPooling1D", {}, (2, 5, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True, **CF), (2, 3, 5)),
    ("GlobalAveragePooling1D", {}, (2, 5, 3)),
    ("GlobalAveragePooling1D", dict(keepdims=True, **CF), (2, 3, 5)),
    ("GlobalMaxPooling2D", {}, (2, 4, 4, 3)),
    ("GlobalMaxPooling2D", dict(**CF), (2, 3, 4, 4)),
    ("GlobalAveragePooling2D", {}, (2, 4, 4, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True, **CF), (2, 3, 4, 4)),
    ("GlobalMaxPooling3D", {}, (1, 3, 3, 3, 2)),
    ("GlobalAveragePooling3D", dict(**CF), (1, 2, 3, 3, 3)),
    ("ZeroPadding1D", dict(padding=(1, 2)), (2, 4, 3)),
    ("ZeroPadding2D", dict(padding=((1, 0), (2, 1))), (2, 3, 3, 2)),
    ("ZeroPadding2D", dict(padding=1, **CF), (2, 2, 3, 3)),
    ("ZeroPadding3D", dict(padding=1), (1, 2, 2, 2, 2)),
    ("Cropping1D", dict(cropping=(1, 2)), (2, 6, 3)),
    ("Cropping2D", dict(cropping=((1, 0), (0, 2))), (2, 4, 5, 2)),
    ("Cropping2D", dict(cropping=1, **CF), (2, 2, 4, 4)),
    ("Cropping3D", dict(cropping=1), (1, 4, 4, 4, 2)),
    ("UpSampling1D", dict(size=3), (2, 3, 2)),
    ("UpSampling2D", dict(size=(2, 3)), (2, 3, 3, 2)),
    ("UpSampling2D", dict(size=2, **CF), (2, 2, 3, 3)),
    ("UpSampling2D", dict(size=2, interpolation="bilinear"), (2, 3, 3, 2)),
    ("UpSampling2D", dict(size=(3, 2), interpolation="bilinear", **CF), (2, 2, 3, 4)),
    ("UpSampling3D", dict(size=2), (1, 2, 2, 2, 2)),
    ("UpSampling3D", dict(size=(1, 2, 2), **CF), (1, 2, 2, 2, 2)),
]


def _id(case):
    return case[0] + "-" + "-".join(f"{k}={v}" for k, v in case[1].items())


def _options(index):
    """The first case of each layer runs every check; its variants skip `.h5` and the policies."""
    first = [c[0] for c in CASES].index(CASES[index][0]) == index
    return {} if first else dict(check_h5=False, policies=())


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_id(c) for c in CASES])
def test_layer_matches_keras(index):
    name, kwargs, shape = CASES[index]
    run_layer_test(name, kwargs, shape, **_options(index))

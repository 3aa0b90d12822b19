"""Helpers every application shares: preprocessing, decoding, input shapes, weight files,
and the input and classifier head that open and close most models.

Nothing here touches the network: weight files and the ImageNet class index are
looked up in `<jkeras home>/models/` and then in Keras's `~/.keras/models/`.
"""
import json
import os
import warnings

import jax.numpy as jnp
import numpy as np

from jkeras import activations
from jkeras import backend

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_PATH = ("https://s3.amazonaws.com/deep-learning-models/image-models/"  # Keras 2.0-2.1's
                    "imagenet_class_index.json")
_CLASS_INDEX = None

_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


# ---------------------------------------------------------------- preprocessing

def preprocess_input(x, data_format=None, mode="caffe"):
    """Preprocess a batch of images (values in [0, 255]) as the ImageNet weights expect.

    Args:
        x: a float numpy array (changed in place when its dtype allows, as in
            Keras), a JAX array, or a symbolic tensor; 3D or 4D with 3 channels.
        data_format: "channels_last" or "channels_first"; None means
            `jkeras.backend.image_data_format()`.
        mode: "caffe" (RGB->BGR, subtract the ImageNet mean), "tf" (scale to
            [-1, 1]) or "torch" (scale to [0, 1], then normalise per channel).

    Returns:
        The preprocessed images, same kind of array as `x`.
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode}")
    if data_format is None:
        data_format = backend.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    if backend.is_keras_tensor(x):
        from jkeras.layers import Lambda
        return Lambda(lambda t: _preprocess_array(t, data_format, mode))(x)
    return _preprocess_array(jnp.asarray(x), data_format, mode)


def _channel_axis(ndim, data_format):
    if data_format == "channels_last":
        return ndim - 1
    return 0 if ndim == 3 else 1


def _preprocess_numpy(x, data_format, mode):
    if not issubclass(x.dtype.type, np.floating):
        x = x.astype(backend.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    axis = _channel_axis(x.ndim, data_format)
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        x /= 255.0
        x -= np.reshape(np.asarray(_TORCH_MEAN, x.dtype), shape)
        x /= np.reshape(np.asarray(_TORCH_STD, x.dtype), shape)
        return x
    x = np.flip(x, axis=axis)  # RGB -> BGR (a view, as Keras's slicing is)
    x -= np.reshape(np.asarray(_CAFFE_MEAN, x.dtype), shape)
    return x


def _preprocess_array(x, data_format, mode):
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(backend.floatx())
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = _channel_axis(x.ndim, data_format)
    shape = [1] * x.ndim
    shape[axis] = 3
    if mode == "torch":
        mean = jnp.reshape(jnp.asarray(_TORCH_MEAN, x.dtype), shape)
        std = jnp.reshape(jnp.asarray(_TORCH_STD, x.dtype), shape)
        return (x / 255.0 - mean) / std
    return jnp.flip(x, axis=axis) - jnp.reshape(jnp.asarray(_CAFFE_MEAN, x.dtype), shape)


# ---------------------------------------------------------------- files on disk

def model_dirs():
    """Where weight files and the class index are looked for, in order."""
    return [os.path.join(backend.jkeras_home(), "models"),
            os.path.join(os.path.expanduser("~"), ".keras", "models")]


def find_model_file(file_name):
    """The first existing `<dir>/file_name` among `model_dirs()`, else None."""
    for folder in model_dirs():
        path = os.path.join(folder, file_name)
        if os.path.isfile(path):
            return path
    return None


def _missing_file_error(file_name, what):
    first, second = model_dirs()
    return FileNotFoundError(
        f"{what} file '{file_name}' was not found. jkeras never downloads: put Keras's "
        f"'{file_name}' in '{first}' (or in Keras's '{second}') and try again.")


def decode_predictions(preds, top=5):
    """The `top` ImageNet classes of each prediction, as `(class_id, name, score)` tuples.

    Reads Keras's `imagenet_class_index.json` from `model_dirs()`.
    """
    global _CLASS_INDEX
    preds = np.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Received array with shape: {preds.shape}")
    if _CLASS_INDEX is None:
        path = find_model_file(CLASS_INDEX_FILE)
        if path is None:
            raise _missing_file_error(CLASS_INDEX_FILE, "The ImageNet class index")
        with open(path) as f:
            _CLASS_INDEX = json.load(f)
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(_CLASS_INDEX[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda r: r[2], reverse=True)
        results.append(result)
    return results


def weights_file_name(stem, include_top):
    """Keras's file name: `<stem>_weights_tf_dim_ordering_tf_kernels[_notop].h5`."""
    return f"{stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"


def validate_weights(weights, include_top, classes, file_name=None):
    """Keras's checks on `weights` before a model is built.

    With `weights="imagenet"` and Keras's `file_name` given, a missing file is
    reported here, before any layer is built.
    """
    if not (weights in {"imagenet", None} or (isinstance(weights, (str, os.PathLike))
                                              and os.path.exists(weights))):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path "
                         f"to the weights file to be loaded.  Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights='imagenet'` with `include_top=True`, `classes` "
                         f"should be 1000.  Received classes={classes}")
    if weights == "imagenet" and file_name is not None and find_model_file(file_name) is None:
        raise _missing_file_error(file_name, "The ImageNet weights")


def load_weights(model, weights, file_name, origin=None, file_hash=None):
    """Load `weights` into `model`: None (nothing), a path, or "imagenet" (Keras's `file_name`,
    from the model folders, else fetched by `utils.get_file` from `origin` when given)."""
    if weights is None:
        return model
    if weights == "imagenet":
        if file_name is None:
            raise ValueError(f"Model '{model.name}' has no ImageNet weight file; use "
                             "weights=None or the path to a weights file.")
        path = find_model_file(file_name)
        if path is None and origin is not None:
            from jkeras.utils.data_utils import get_file
            path = get_file(file_name, origin, cache_subdir="models", file_hash=file_hash)
        if path is None:
            raise _missing_file_error(file_name, "The ImageNet weights")
        model.load_weights(path)
        return model
    if isinstance(weights, (str, os.PathLike)) and os.path.exists(weights):
        model.load_weights(weights)
        return model
    raise ValueError("The `weights` argument should be either `None` (random initialization), "
                     "`imagenet` (pre-training on ImageNet), or the path to the weights file "
                     f"to be loaded.  Received: weights={weights}")


# ---------------------------------------------------------------- model building

def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten,
                       weights=None):
    """The model's input shape (no batch dim): the default, or `input_shape` checked as Keras does."""
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        if data_format == "channels_first":
            if input_shape[0] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                              f"passed an input_shape with {input_shape[0]} input channels.",
                              stacklevel=2)
            default_shape = (input_shape[0], default_size, default_size)
        else:
            if input_shape[-1] not in {1, 3}:
                warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                              f"passed an input_shape with {input_shape[-1]} input channels.",
                              stacklevel=2)
            default_shape = (default_size, default_size, input_shape[-1])
    elif data_format == "channels_first":
        default_shape = (3, default_size, default_size)
    else:
        default_shape = (default_size, default_size, 3)

    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default_shape}.  "
                             f"Received: input_shape={input_shape}")
        return default_shape

    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels, spatial = ((input_shape[0], input_shape[1:]) if data_format == "channels_first"
                             else (input_shape[-1], input_shape[:2]))
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(d is not None and d < min_size for d in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if data_format == "channels_first" else (None, None, 3)

    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return tuple(input_shape)


def validate_activation(classifier_activation, weights):
    """With pretrained weights only `None` and "softmax" are allowed as the top activation."""
    if weights is None:
        return
    activation = activations.get(classifier_activation)
    if activation not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: classifier_activation={activation}")


def model_input(input_tensor, input_shape, include_top, weights, classes, file_name, default_size,
                min_size):
    """Keras's checks on the arguments, then the model's input tensor (see `obtain_input_shape`)."""
    validate_weights(weights, include_top, classes, file_name)
    input_shape = obtain_input_shape(
        input_shape, default_size=default_size, min_size=min_size,
        data_format=backend.image_data_format(), require_flatten=include_top, weights=weights)
    return input_tensor_or_new(input_tensor, input_shape)


def input_tensor_or_new(input_tensor, shape):
    """The model's input: `Input(shape)` when `input_tensor` is None; `input_tensor` itself when a
    layer made it; else (an array, a variable, a `K` op's result such as `K.concatenate` of a
    variable and a placeholder) a new `Input(tensor=input_tensor)` that starts the model, as
    Keras 2's applications did for a tensor that was not a Keras tensor."""
    from jkeras.layers import Input
    from jkeras.layers.backend_op import BackendOp
    if input_tensor is None:
        return Input(shape=shape)
    if backend.is_keras_tensor(input_tensor) and not isinstance(input_tensor._keras_history[0], BackendOp):
        return input_tensor
    return Input(tensor=input_tensor, shape=shape)


def source_inputs(tensor):
    """The `Input` tensors `tensor` was computed from (Keras's `get_source_inputs`)."""
    from jkeras.layers.core import InputLayer
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        layer, node_index, _ = t._keras_history
        if isinstance(layer, InputLayer):
            found.append(t)
            continue
        stack.extend(reversed(layer._inbound_nodes[node_index].parent_tensors))
    return found


def correct_pad(inputs, kernel_size):
    """Zero-padding `((top, bottom), (left, right))` for a strided 'valid' conv, as Keras pads."""
    img_dim = 2 if backend.image_data_format() == "channels_first" else 1
    input_size = inputs.shape[img_dim:img_dim + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def pool_features(x, pooling, named=False):
    """Global "avg" or "max" `pooling` of the features (`include_top=False`); None keeps `x`."""
    from jkeras import layers
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named else None)(x)
    return x


def classifier_head(x, include_top, pooling, classes, classifier_activation, weights,
                    top_pool_name="avg_pool", top_name="predictions", named_pooling=False):
    """Global average pooling + the Dense classifier with the top, else `pool_features`."""
    from jkeras import layers
    if not include_top:
        return pool_features(x, pooling, named_pooling)
    x = layers.GlobalAveragePooling2D(name=top_pool_name)(x)
    validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name=top_name)(x)


def finish_model(img_input, input_tensor, outputs, name, weights, file_name, origin=None,
                 file_hash=None):
    """The `Model` from the input (`img_input`'s source inputs when `input_tensor` was given),
    `weights` loaded."""
    from jkeras.models import Model
    inputs = img_input if input_tensor is None else source_inputs(img_input)
    return load_weights(Model(inputs, outputs, name=name), weights, file_name, origin, file_hash)


def get_uid(prefix):
    """Keras 2's `backend.get_uid`: 1, 2, 3, ... per `prefix` in a session (for names like `stem_1`)."""
    from jkeras.backend.naming import unique_name
    key = f"{prefix}\0uid"
    name = unique_name(key)
    return 1 if name == key else int(name.rsplit("_", 1)[1]) + 1


def classifier_doc(min_size, top_size):
    """The Args/Returns docstring of an application with a global-pool + Dense head."""
    return f"""

    Args:
        include_top: whether to add the global-average-pool + Dense head.
        weights: None (random), "imagenet" (Keras's file, from disk) or a path to an `.h5`.
        input_tensor: a symbolic tensor to use as the image input.
        input_shape: (H, W, 3) when `include_top=False` (at least {min_size}x{min_size});
            with the top and ImageNet weights it must be ({top_size}, {top_size}, 3).
        pooling: None, "avg" or "max" when `include_top=False`.
        classes: number of classes of the top layer.
        classifier_activation: the top layer's activation (None gives logits).
        name: the model's name.

    Returns:
        A functional `Model`.
"""


_obtain_input_shape = obtain_input_shape  # Keras 2's name; keras_applications-era code imports it

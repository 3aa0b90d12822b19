"""Keras 2 code on jkeras: the Keras 2.0-2.3 module paths (the same objects), the methods and arguments
later versions dropped, Keras 1 arguments through `legacy.interfaces`, clone_model/save_model,
BaseLogger/RemoteMonitor, losses.Reduction, OrthogonalRegularizer and RadialConstraint."""
import http.server
import importlib
import json
import os
import threading
import urllib.parse
import warnings

import numpy as np
import pytest

import jkeras
from jkeras import callbacks, constraints, layers, losses, models, regularizers
from jkeras.legacy import interfaces

with open(os.path.join(os.path.dirname(__file__), "fixtures", "keras2_compat_tf_keras.json")) as _f:
    TF_KERAS = json.load(_f)

# What Keras 2.3.1's keras/layers/*.py and keras/engine/*.py define (classes, functions, aliases).
KERAS23_LAYER_PATHS = {
    "advanced_activations": ["LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU"],
    "convolutional": [
        "Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "Conv3DTranspose", "SeparableConv1D",
        "SeparableConv2D", "DepthwiseConv2D", "UpSampling1D", "UpSampling2D", "UpSampling3D",
        "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D",
        "Convolution1D", "Convolution2D", "Convolution3D", "SeparableConvolution1D",
        "SeparableConvolution2D", "Convolution2DTranspose", "Deconvolution2D", "Deconv2D",
        "Deconvolution3D", "Deconv3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D",
        "MaxPooling1D", "MaxPooling2D", "MaxPooling3D"],
    "convolutional_recurrent": ["ConvLSTM2D", "ConvLSTM2DCell", "ConvRNN2D"],
    "core": ["Masking", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Activation",
             "Reshape", "Permute", "Flatten", "RepeatVector", "Lambda", "Dense", "ActivityRegularization"],
    "cudnn_recurrent": ["CuDNNGRU", "CuDNNLSTM"],
    "embeddings": ["Embedding"],
    "local": ["LocallyConnected1D", "LocallyConnected2D"],
    "merge": ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot", "add",
              "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"],
    "noise": ["GaussianNoise", "GaussianDropout", "AlphaDropout"],
    "normalization": ["BatchNormalization"],
    "pooling": [
        "MaxPooling1D", "AveragePooling1D", "MaxPooling2D", "AveragePooling2D", "MaxPooling3D",
        "AveragePooling3D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling2D",
        "GlobalMaxPooling2D", "GlobalAveragePooling3D", "GlobalMaxPooling3D", "AvgPool1D", "MaxPool1D",
        "AvgPool2D", "MaxPool2D", "AvgPool3D", "MaxPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D",
        "GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D"],
    "recurrent": ["StackedRNNCells", "RNN", "SimpleRNNCell", "SimpleRNN", "GRUCell", "GRU", "LSTMCell",
                  "LSTM"],
    "wrappers": ["Wrapper", "TimeDistributed", "Bidirectional"],
}
# Keras 2.3.1 names that jkeras does not have yet (asserted both ways, so the set only shrinks).
# Keras 2's legacy layers (AtrousConvolution*, Recurrent, ConvRecurrent2D, Highway, MaxoutDense) are in
# jkeras.layers.legacy (keras.legacy.layers), tested in test_keras2_paths.py.
LAYER_PATHS_NOT_YET = {("convolutional_recurrent", "ConvLSTM2DCell"), ("convolutional_recurrent", "ConvRNN2D")}

KERAS23_ENGINE_PATHS = {
    "": ["Input", "InputLayer", "InputSpec", "Layer", "get_source_inputs", "Model"],
    "base_layer": ["Layer", "InputSpec", "Node"],
    "input_layer": ["InputLayer", "Input"],
    "network": ["Network", "get_source_inputs"],
    "sequential": ["Sequential"],
    "topology": ["Layer", "Node", "InputSpec", "Input", "InputLayer", "Network", "get_source_inputs"],
    "training": ["Model"],
    "saving": ["save_model", "load_model", "model_from_config", "model_from_yaml", "model_from_json"],
}
_ENGINE_HOMES = {"Layer": "jkeras.layers.base", "InputSpec": "jkeras.layers.base", "Node": "jkeras.layers.base",
                 "Input": "jkeras.layers.core", "InputLayer": "jkeras.layers.core", "Model": "jkeras.models",
                 "Network": "jkeras.models.functional:Functional", "Sequential": "jkeras.models",
                 "get_source_inputs": "jkeras.utils"}


def _lookup(where):
    module, _, name = where.partition(":")
    return module, name


@pytest.mark.parametrize("module, name", [(m, n) for m, names in KERAS23_LAYER_PATHS.items() for n in names])
def test_keras2_layer_paths_are_the_same_objects(module, name):
    old = importlib.import_module(f"jkeras.layers.{module}")
    if (module, name) in LAYER_PATHS_NOT_YET:
        assert not hasattr(old, name), f"{module}.{name} exists now: take it out of LAYER_PATHS_NOT_YET"
        return
    assert getattr(old, name) is getattr(jkeras.layers, name)


@pytest.mark.parametrize("module, name", [(m, n) for m, names in KERAS23_ENGINE_PATHS.items() for n in names])
def test_keras2_engine_paths(module, name):
    old = importlib.import_module("jkeras.engine" + ("." + module if module else ""))
    home, real = _lookup(_ENGINE_HOMES.get(name, "jkeras.models"))
    assert getattr(old, name) is getattr(importlib.import_module(home), real or name)


def test_old_initializer_names():
    from jkeras import activations, initializers
    assert (initializers.zero, initializers.one) == (initializers.Zeros, initializers.Ones)
    assert (initializers.normal, initializers.uniform) == (initializers.RandomNormal, initializers.RandomUniform)
    assert np.all(np.asarray(initializers.get("one")(None, (2,))) == 1.0)
    np.testing.assert_allclose(activations.exponential(np.array([0.0, 1.0])), [1.0, np.e], rtol=1e-6)


def test_keras2_names_outside_layers():
    from jkeras import metrics
    assert losses.cosine is losses.cosine_proximity is metrics.cosine_proximity is losses.cosine_similarity
    y_true, y_pred = np.array([[1.0, 0.0]]), np.array([[3.0, 4.0]])
    np.testing.assert_allclose(losses.cosine_proximity(y_true, y_pred), [-0.6], rtol=1e-6)  # Keras 2's sign
    assert losses.get("cosine_proximity") is losses.cosine_similarity
    assert (constraints.maxnorm, constraints.nonneg, constraints.unitnorm) == (
        constraints.MaxNorm, constraints.NonNeg, constraints.UnitNorm)
    assert models.Input is layers.Input and models.InputLayer is layers.InputLayer
    auc = metrics.AUC(num_thresholds=7)
    auc.update_state([0, 1], [0.2, 0.9])
    cloned = metrics.clone_metric(auc)
    assert cloned is not auc and cloned.get_config() == auc.get_config() and float(cloned.result()) == 0.0
    assert metrics.clone_metric(losses.mse) is losses.mse
    assert list(metrics.clone_metrics({"out": auc})) == ["out"] and metrics.clone_metrics(None) is None


def test_keras2_top_level_aliases():
    """Keras 2.3.1's keras.layers also exported these Keras 1 names."""
    assert layers.Deconvolution3D is layers.Deconv3D is layers.Conv3DTranspose
    assert layers.Deconvolution2D is layers.Deconv2D is layers.Convolution2DTranspose is layers.Conv2DTranspose
    assert (layers.Convolution1D, layers.Convolution2D, layers.Convolution3D) == (layers.Conv1D, layers.Conv2D,
                                                                                   layers.Conv3D)


def test_unknown_old_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="jkeras.layers.core.*Convolution9D"):
        importlib.import_module("jkeras.layers.core").Convolution9D


# ---------------------------------------------------------------- methods Keras 2 had

def _classifier(units, activation):
    model = jkeras.Sequential([layers.Dense(units, activation=activation, input_shape=(3,))])
    model.compile("sgd", "binary_crossentropy" if units == 1 else "categorical_crossentropy")
    return model


X = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)


def test_predict_classes_and_proba():
    softmax = _classifier(4, "softmax")
    np.testing.assert_array_equal(softmax.predict_classes(X), np.argmax(softmax.predict(X), axis=-1))
    sigmoid = _classifier(1, "sigmoid")
    classes = sigmoid.predict_classes(X)
    assert classes.dtype == np.int32 and classes.shape == (10, 1)
    np.testing.assert_array_equal(classes, (sigmoid.predict(X) > 0.5).astype("int32"))
    np.testing.assert_array_equal(softmax.predict_proba(X), softmax.predict(X))
    with pytest.warns(UserWarning, match="invalid probability values"):
        _classifier(2, None).predict_proba(X * 100)


def test_fit_nb_epoch():
    model = _classifier(2, "softmax")
    y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]
    with pytest.warns(UserWarning, match=r"The `nb_epoch` argument in `fit` has been renamed `epochs`\."):
        history = model.fit(X, y, nb_epoch=3, verbose=0)
    assert history.epoch == [0, 1, 2]


class _Batches(jkeras.utils.Sequence):
    """Five batches of two rows; `batch_size` lets Keras 1's samples_per_epoch become steps."""
    batch_size = 2

    def __len__(self):
        return 5

    def __getitem__(self, i):
        return X[2 * i:2 * i + 2], np.eye(2, dtype=np.float32)[[0, 1]]


def test_generator_methods_take_keras1_arguments():
    model = _classifier(2, "softmax")
    with pytest.warns(UserWarning) as record:
        history = model.fit_generator(_Batches(), samples_per_epoch=6, nb_epoch=2, nb_worker=1,
                                      pickle_safe=False, max_q_size=4, validation_data=_Batches(),
                                      nb_val_samples=2, verbose=0)
    messages = [str(w.message) for w in record]
    assert any(m.startswith("The semantics of the Keras 2 argument `steps_per_epoch`") for m in messages)
    update = [m for m in messages if m.startswith("Update your `fit_generator` call")]
    assert update and "steps_per_epoch=3" in update[0] and "epochs=2" in update[0]  # 6 samples / 2
    assert "use_multiprocessing=False" in update[0] and "validation_steps=2" in update[0]
    assert len(history.history["loss"]) == 2
    with pytest.warns(UserWarning, match="Update your `evaluate_generator` call"):
        loss = model.evaluate_generator(_Batches(), val_samples=2)
    assert loss == pytest.approx(model.evaluate(X[:4], np.eye(2, dtype=np.float32)[[0, 1, 0, 1]], verbose=0),
                                 rel=1e-5)
    with pytest.warns(UserWarning, match="Update your `predict_generator` call"):
        assert model.predict_generator(_Batches(), val_samples=3).shape == (6, 2)
    def plain():  # no batch_size: Keras 2 took samples_per_epoch as the number of steps
        while True:
            yield X[:2], np.eye(2, dtype=np.float32)[[0, 1]]

    steps = []
    count = callbacks.LambdaCallback(on_batch_end=lambda batch, logs: steps.append(batch))
    with pytest.warns(UserWarning, match="steps_per_epoch=3"):
        model.fit_generator(plain(), samples_per_epoch=3, verbose=0, callbacks=[count])
    assert steps == [0, 1, 2]


def test_custom_loss_and_metric_get_float_targets():
    seen = []

    def loss(y_true, y_pred):
        seen.append(y_true.dtype)
        return jkeras.losses.mean_squared_error(y_true, y_pred)

    def metric(y_true, y_pred):
        seen.append(y_true.dtype)
        return jkeras.metrics.mean_absolute_error(y_true, y_pred)

    model = jkeras.Sequential([layers.Dense(1, input_shape=(3,))])
    model.compile("sgd", loss, metrics=[metric])
    model.fit(X, np.arange(10) % 2, verbose=0)  # integer labels
    assert len(seen) >= 2 and all(d == np.float32 for d in seen)


def test_model_keras1_constructor():
    a = jkeras.Input((3,))
    with pytest.warns(UserWarning, match=r"Keras 2 API: `Functional\(inputs=.*outputs="):
        model = jkeras.Model(input=a, output=layers.Dense(2)(a))
    assert model.predict(X).shape == (10, 2)


# ---------------------------------------------------------------- Keras 1 arguments

class _Legacy(layers.Layer):
    """A custom layer written for Keras 2 with its legacy decorator."""

    @interfaces.legacy_conv2d_support
    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 kernel_initializer="glorot_uniform", use_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.args = dict(filters=filters, kernel_size=kernel_size, strides=strides, padding=padding,
                         data_format=data_format, kernel_initializer=kernel_initializer, use_bias=use_bias)


def test_custom_layer_with_keras2_legacy_decorator():
    with pytest.warns(UserWarning) as record:
        layer = _Legacy(8, 3, 3, border_mode="same", subsample=(2, 2), dim_ordering="th", init="he_normal",
                        bias=False)
    assert str(record[0].message) == (
        'Update your `_Legacy` call to the Keras 2 API: `_Legacy(8, (3, 3), strides=(2, 2), '
        'padding="same", data_format="channels_first", kernel_initializer="he_normal", use_bias=False)`')
    assert layer.args == dict(filters=8, kernel_size=(3, 3), strides=(2, 2), padding="same",
                              data_format="channels_first", kernel_initializer="he_normal", use_bias=False)
    with pytest.warns(UserWarning):
        assert _Legacy(4, nb_row=2, nb_col=5).args["kernel_size"] == (2, 5)
    with pytest.raises(TypeError, match="received both the legacy keyword argument `border_mode`"):
        _Legacy(4, 3, border_mode="same", padding="valid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tf.keras 2's positional strides, where Keras 2 raised
        assert _Legacy(4, 3, 2, padding="same").args["strides"] == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras 2 arguments: no warning
        assert _Legacy(4, (3, 3), padding="same").args["padding"] == "same"


def _config_without_name(layer):
    config = layer.get_config()
    config.pop("name")
    return config


KERAS1_CALLS = [
    (lambda: layers.Convolution2D(8, 3, 3, border_mode="same", subsample=(2, 2), init="he_normal",
                                  W_regularizer=regularizers.l2(0.01), dim_ordering="tf"),
     lambda: layers.Conv2D(8, (3, 3), padding="same", strides=(2, 2), kernel_initializer="he_normal",
                           kernel_regularizer=regularizers.l2(0.01), data_format="channels_last"), "Conv2D"),
    (lambda: layers.Convolution1D(nb_filter=4, filter_length=3, subsample_length=2, border_mode="same"),
     lambda: layers.Conv1D(4, 3, strides=2, padding="same"), "Conv1D"),
    (lambda: layers.Convolution3D(2, 3, 3, 3, border_mode="same"),
     lambda: layers.Conv3D(2, (3, 3, 3), padding="same"), "Conv3D"),
    (lambda: layers.Dense(output_dim=5, init="zeros", W_regularizer=regularizers.l1(0.1),
                          b_constraint=constraints.NonNeg(), bias=False),
     lambda: layers.Dense(5, kernel_initializer="zeros", kernel_regularizer=regularizers.l1(0.1),
                          bias_constraint=constraints.NonNeg(), use_bias=False), "Dense"),
    (lambda: layers.LSTM(output_dim=4, inner_activation="sigmoid", consume_less="gpu", dropout_W=0.1,
                         dropout_U=0.2, forget_bias_init="one"),
     lambda: layers.LSTM(4, recurrent_activation="sigmoid", implementation=2, dropout=0.1,
                         recurrent_dropout=0.2, unit_forget_bias=True), "LSTM"),
    (lambda: layers.GRU(3, init="he_uniform", inner_init="orthogonal"),
     lambda: layers.GRU(3, kernel_initializer="he_uniform", recurrent_initializer="orthogonal"), "GRU"),
    (lambda: layers.SimpleRNN(output_dim=3, U_regularizer=regularizers.l2(0.1)),
     lambda: layers.SimpleRNN(3, recurrent_regularizer=regularizers.l2(0.1)), "SimpleRNN"),
    (lambda: layers.Embedding(10, 4, init="uniform", W_regularizer=regularizers.l2(0.1)),
     lambda: layers.Embedding(10, 4, embeddings_initializer="uniform",
                              embeddings_regularizer=regularizers.l2(0.1)), "Embedding"),
    (lambda: layers.MaxPooling2D((2, 2), border_mode="same", dim_ordering="th"),
     lambda: layers.MaxPooling2D((2, 2), padding="same", data_format="channels_first"), "MaxPooling2D"),
    (lambda: layers.AveragePooling1D(pool_length=3, stride=1),
     lambda: layers.AveragePooling1D(pool_size=3, strides=1), "AveragePooling1D"),
    (lambda: layers.GlobalAveragePooling2D(dim_ordering="th"),
     lambda: layers.GlobalAveragePooling2D(data_format="channels_first"), "GlobalAveragePooling2D"),
    (lambda: layers.Dropout(p=0.3), lambda: layers.Dropout(0.3), "Dropout"),
    (lambda: layers.SpatialDropout2D(p=0.3, dim_ordering="th"),
     lambda: layers.SpatialDropout2D(0.3, data_format="channels_first"), "SpatialDropout2D"),
    (lambda: layers.GaussianNoise(sigma=0.2), lambda: layers.GaussianNoise(0.2), "GaussianNoise"),
    (lambda: layers.GaussianDropout(p=0.2), lambda: layers.GaussianDropout(0.2), "GaussianDropout"),
    (lambda: layers.BatchNormalization(mode=0, beta_init="ones", gamma_init="zeros"),
     lambda: layers.BatchNormalization(beta_initializer="ones", gamma_initializer="zeros"),
     "BatchNormalization"),
    (lambda: layers.PReLU(init="ones"), lambda: layers.PReLU(alpha_initializer="ones"), "PReLU"),
    (lambda: layers.UpSampling1D(length=3), lambda: layers.UpSampling1D(size=3), "UpSampling1D"),
    (lambda: layers.UpSampling2D((2, 2), dim_ordering="th"),
     lambda: layers.UpSampling2D((2, 2), data_format="channels_first"), "UpSampling2D"),
    (lambda: layers.ZeroPadding2D(padding={"top_pad": 1, "right_pad": 2}),
     lambda: layers.ZeroPadding2D(((1, 0), (0, 2))), "ZeroPadding2D"),
    (lambda: layers.Cropping2D(((1, 1), (2, 2)), dim_ordering="tf"),
     lambda: layers.Cropping2D(((1, 1), (2, 2)), data_format="channels_last"), "Cropping2D"),
    (lambda: layers.Deconvolution2D(3, 3, 3, output_shape=(None, 8, 8, 3), border_mode="same"),
     lambda: layers.Conv2DTranspose(3, (3, 3), padding="same"), "Conv2DTranspose"),
    (lambda: layers.SeparableConv2D(4, 3, 3, init="ones"),
     lambda: layers.SeparableConv2D(4, (3, 3), depthwise_initializer="ones", pointwise_initializer="ones"),
     "SeparableConv2D"),
    (lambda: layers.LocallyConnected2D(2, 3, 3, subsample=(1, 1)),
     lambda: layers.LocallyConnected2D(2, (3, 3), strides=(1, 1)), "LocallyConnected2D"),
    (lambda: layers.InputLayer(input_shape=(3,), input_dtype="int32"),
     lambda: layers.InputLayer(input_shape=(3,), dtype="int32"), "InputLayer"),
    (lambda: layers.LocallyConnected1D(2, 3, subsample_length=2, init="ones"),
     lambda: layers.LocallyConnected1D(2, 3, strides=2, kernel_initializer="ones"), "LocallyConnected1D"),
    (lambda: layers.ConvLSTM2D(2, 3, 3, border_mode="same", inner_activation="sigmoid"),
     lambda: layers.ConvLSTM2D(2, (3, 3), padding="same", recurrent_activation="sigmoid"), "ConvLSTM2D"),
]


@pytest.mark.parametrize("old, new, name", KERAS1_CALLS, ids=[c[2] for c in KERAS1_CALLS])
def test_keras1_arguments_of_the_layers(old, new, name):
    # Keras 2 said only this for ZeroPadding2D's padding dict
    expected = ("`padding` argument in the Keras 2 API no longer accepts dict types" if name == "ZeroPadding2D"
                else f"Update your `{name}` call to the Keras 2 API: `{name}\\(")
    with pytest.warns(UserWarning, match=expected):
        converted = old()
    assert _config_without_name(converted) == _config_without_name(new())


def test_keras1_recurrent_input_dim():
    with pytest.warns(UserWarning, match="`input_dim` and `input_length` arguments in recurrent layers"):
        layer = layers.LSTM(3, input_dim=4, input_length=5)
    assert tuple(layer.get_config()["batch_input_shape"]) == (None, 5, 4)


@pytest.mark.parametrize("name", ["SimpleRNN", "GRU", "LSTM"])
def test_keras2_rnn_configs_keep_their_implementation(name):
    """Keras 2 wrote `implementation` 1 or 2 (2.0 also 0) into RNN configs: the value loads, the
    numbers are the same (1 is per-gate matmuls, 2 one matmul)."""
    x = np.random.default_rng(2).normal(size=(2, 5, 3)).astype(np.float32)
    outputs = []
    for implementation in (1, 2):
        layer = layers.deserialize({"class_name": name, "config": {"units": 4, "implementation": implementation}})
        assert layer.implementation == implementation
        model = jkeras.Sequential([jkeras.Input((5, 3)), layer])
        if outputs:
            model.set_weights(weights)
        weights = model.get_weights()
        outputs.append(model.predict(x, verbose=0))
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-6, atol=1e-6)


def test_old_blog_post_script_runs():
    """A Keras 1 era script (Keras 1 names and arguments), as Keras 2 still ran it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = jkeras.models.Sequential()
        model.add(layers.Convolution2D(4, 3, 3, border_mode="same", input_shape=(6, 6, 1), init="he_normal"))
        model.add(layers.Activation("relu"))
        model.add(layers.MaxPooling2D(pool_size=(2, 2), dim_ordering="tf"))
        model.add(layers.Dropout(p=0.25))
        model.add(layers.Flatten())
        model.add(layers.Dense(output_dim=3, init="glorot_uniform", W_regularizer=regularizers.l2(0.01)))
        model.add(layers.Activation("softmax"))
        model.compile(loss="categorical_crossentropy", optimizer="adadelta", metrics=["accuracy"])
        x = np.random.default_rng(1).normal(size=(8, 6, 6, 1)).astype(np.float32)
        y = np.eye(3, dtype=np.float32)[np.arange(8) % 3]
        history = model.fit(x, y, batch_size=4, nb_epoch=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict_classes(x).shape == (8,)


# ---------------------------------------------------------------- clone_model / save_model

def _functional():
    a, b = jkeras.Input((3,), name="a"), jkeras.Input((3,), name="b")
    shared = layers.Dense(4, name="shared")
    merged = layers.concatenate([shared(a), shared(b)])
    return jkeras.Model([a, b], layers.Dense(2, name="head")(layers.Dropout(0.5)(merged)))


def test_clone_functional_model():
    model = _functional()
    clone = models.clone_model(model)
    assert clone.get_config() == model.get_config()
    assert len(clone.weights) == len(model.weights) == 4  # the shared layer stays shared
    assert all(a is not b for a, b in zip(clone.layers, model.layers))
    clone.set_weights([w + 1.0 for w in model.get_weights()])
    for ours, theirs in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, theirs + 1.0)  # new weights: setting the clone leaves the original
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict([X, X]), model.predict([X, X]), rtol=1e-6)


def test_clone_sequential_and_input_tensors_and_clone_function():
    model = jkeras.Sequential([layers.Dense(4, input_shape=(3,), name="one"), layers.Dense(2, name="two")])
    clone = models.clone_model(model)
    assert clone.get_config() == model.get_config() and clone.layers[0] is not model.layers[0]
    renamed = models.clone_model(model, clone_function=lambda layer: layer.__class__.from_config(
        {**layer.get_config(), "name": layer.name + "_copy"}))
    assert [layer.name for layer in renamed.layers] == ["one_copy", "two_copy"]
    given = jkeras.Input((3,), name="given")
    on_given = models.clone_model(model, input_tensors=given)
    assert on_given.input_names == ["given"] and on_given.predict(X).shape == (10, 2)
    functional = models.clone_model(_functional(), input_tensors=[jkeras.Input((3,), name="x1"),
                                                                  jkeras.Input((3,), name="x2")])
    assert functional.input_names == ["x1", "x2"]
    unbuilt = models.clone_model(jkeras.Sequential([layers.Dense(2)]))
    assert unbuilt.predict(X).shape == (10, 2)


def test_clone_refuses_what_it_cannot_copy():
    class Sub(jkeras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="functional `Model` instance, but got a subclass model"):
        models.clone_model(Sub())
    with pytest.raises(TypeError, match="must be symbolic tensors from `jkeras.Input`"):
        models.clone_model(_functional(), input_tensors=[X, X])
    sequential = jkeras.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ValueError, match="give a tensor from `jkeras.Input`"):
        models.clone_model(sequential, input_tensors=layers.Dense(3)(jkeras.Input((3,))))
    with pytest.raises(ValueError, match="has 2 input"):
        models.clone_model(_functional(), input_tensors=[jkeras.Input((3,))])


def test_save_model(tmp_path):
    model = _functional()
    model.compile("adam", "mse")
    path = str(tmp_path / "m.h5")
    models.save_model(model, path)
    loaded = models.load_model(path)
    np.testing.assert_allclose(loaded.predict([X, X]), model.predict([X, X]), rtol=1e-6)
    assert loaded.optimizer is not None
    with pytest.raises(TypeError, match="saves a jkeras Model"):
        models.save_model(object(), path)


# ---------------------------------------------------------------- callbacks

def test_base_logger_keras2_batch_logs():
    logger = callbacks.BaseLogger(stateful_metrics=["auc"])
    logger.on_epoch_begin(0)
    logger.on_batch_end(0, {"batch": 0, "size": 4, "loss": 1.0, "auc": 0.5})
    logger.on_batch_end(1, {"batch": 1, "size": 2, "loss": 4.0, "auc": 0.7})
    logs = {}
    logger.on_epoch_end(0, logs)
    assert logs == {"loss": pytest.approx((4 * 1.0 + 2 * 4.0) / 6), "auc": 0.7}


def test_base_logger_in_fit_keeps_the_epoch_averages():
    model = _classifier(2, "softmax")
    y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]
    logged = []
    record = callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logged.append(dict(logs)))
    history = model.fit(X, y, batch_size=4, epochs=2, verbose=0, callbacks=[callbacks.BaseLogger(), record])
    assert [entry["loss"] for entry in logged] == pytest.approx(history.history["loss"], rel=1e-6)


class _Collect(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, self.headers["Content-Type"], self.headers.get("X-Run"), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server():
    _Collect.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Collect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_remote_monitor_posts_each_epoch(local_server):
    form = callbacks.RemoteMonitor(root=local_server, headers={"X-Run": "7"})
    form.on_epoch_end(0, {"loss": np.float32(0.5), "acc": 1.0})
    as_json = callbacks.RemoteMonitor(root=local_server, path="/json/", send_as_json=True)
    as_json.on_epoch_end(3, {"loss": np.array(0.25)})
    (path, kind, run, body), (path2, kind2, _, body2) = _Collect.received
    assert (path, kind, run) == ("/publish/epoch/end/", "application/x-www-form-urlencoded", "7")
    assert json.loads(urllib.parse.parse_qs(body.decode())["data"][0]) == {"epoch": 0, "loss": 0.5, "acc": 1.0}
    assert (path2, kind2) == ("/json/", "application/json")
    assert json.loads(body2) == {"epoch": 3, "loss": 0.25}


def test_remote_monitor_unreachable_server_warns(local_server):
    closed = callbacks.RemoteMonitor(root="http://127.0.0.1:1")
    with pytest.warns(UserWarning, match="could not reach RemoteMonitor root server at http://127.0.0.1:1"):
        closed.on_epoch_end(0, {"loss": 1.0})


def test_remote_monitor_in_fit(local_server):
    model = _classifier(2, "softmax")
    y = np.eye(2, dtype=np.float32)[np.arange(10) % 2]
    history = model.fit(X, y, epochs=2, verbose=0, callbacks=[callbacks.RemoteMonitor(root=local_server)])
    sent = [json.loads(urllib.parse.parse_qs(r[3].decode())["data"][0]) for r in _Collect.received]
    assert [s["epoch"] for s in sent] == [0, 1]
    assert [s["loss"] for s in sent] == pytest.approx(history.history["loss"])


# ---------------------------------------------------------------- losses, regularizers, constraints

def test_loss_reduction_names():
    R = losses.Reduction
    assert (R.AUTO, R.NONE, R.SUM, R.SUM_OVER_BATCH_SIZE) == ("auto", "none", "sum", "sum_over_batch_size")
    assert R.all() == ("auto", "none", "sum", "sum_over_batch_size")
    R.validate("sum")
    with pytest.raises(ValueError, match="Invalid Reduction Key: mean_all"):
        R.validate("mean_all")
    y_true, y_pred = np.array([[1.0], [0.0]]), np.array([[0.5], [0.5]])
    assert float(losses.MeanSquaredError(reduction=R.SUM)(y_true, y_pred)) == pytest.approx(0.5)
    assert float(losses.MeanSquaredError(reduction=R.AUTO)(y_true, y_pred)) == pytest.approx(0.25)


def test_orthogonal_regularizer_equals_tf_keras():
    case = TF_KERAS["orthogonal"]
    x = np.asarray(case["x"], np.float32)
    for mode in ("rows", "columns"):
        reg = regularizers.OrthogonalRegularizer(case[mode]["factor"], mode=mode)
        assert float(reg(x)) == pytest.approx(case[mode]["expected"], rel=1e-5)
    assert regularizers.orthogonal_regularizer is regularizers.OrthogonalRegularizer
    again = regularizers.deserialize(regularizers.serialize(regularizers.OrthogonalRegularizer(0.1, "columns")))
    assert again.get_config() == {"factor": 0.1, "mode": "columns"}
    with pytest.raises(ValueError, match="must have rank 2"):
        regularizers.OrthogonalRegularizer()(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="Invalid value for argument `mode`"):
        regularizers.OrthogonalRegularizer(mode="diagonal")


@pytest.mark.parametrize("case", TF_KERAS["radial"], ids=lambda c: f"size{len(c['w'])}")
def test_radial_constraint_equals_tf_keras(case):
    np.testing.assert_array_equal(constraints.RadialConstraint()(np.asarray(case["w"], np.float32)),
                                  np.asarray(case["expected"], np.float32))


def test_radial_constraint_in_a_layer_and_its_errors():
    assert constraints.get("radial_constraint").__class__ is constraints.RadialConstraint
    assert constraints.radial_constraint is constraints.RadialConstraint
    conv = layers.Conv2D(2, 3, kernel_constraint="radial_constraint")
    assert isinstance(layers.Conv2D.from_config(conv.get_config()).kernel_constraint, constraints.RadialConstraint)
    dense = layers.Dense(3, kernel_regularizer="orthogonal_regularizer")
    assert isinstance(layers.Dense.from_config(dense.get_config()).kernel_regularizer,
                      regularizers.OrthogonalRegularizer)
    with pytest.raises(ValueError, match="must have rank 4"):
        constraints.RadialConstraint()(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="square kernels"):
        constraints.RadialConstraint()(np.zeros((3, 2, 1, 1)))

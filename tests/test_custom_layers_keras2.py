"""Keras 2-style custom code on jkeras: layers, losses and metrics written with `K`.

Each model is written once, over a library and its `K`: jkeras with `jkeras.backend`, and
Keras 3 (JAX) with `K3`, which maps the same names onto `keras.ops`. Both start from the
same weights, train one epoch on the same batches, and must agree; the model then goes
through an `.h5` file and loads with `custom_objects`.
"""
import types

import numpy as np
import pytest

import jkeras
from jkeras import backend as K

keras = pytest.importorskip("keras")
ops = keras.ops

# Keras 3 has no `keras.backend` of functions: the names these models use, on keras.ops
K3 = types.SimpleNamespace(
    dot=ops.dot, reshape=ops.reshape, shape=ops.shape, int_shape=lambda x: tuple(x.shape), exp=ops.exp,
    max=ops.max, sum=ops.sum, mean=ops.mean, cast=ops.cast, floatx=keras.config.floatx,
    epsilon=keras.config.epsilon, expand_dims=lambda x, axis=-1: ops.expand_dims(x, axis), relu=ops.relu, square=ops.square,
    sqrt=ops.sqrt, maximum=ops.maximum, equal=ops.equal, concatenate=lambda xs, axis=-1: ops.concatenate(xs, axis),
    l2_normalize=lambda x, axis: ops.normalize(x, axis=axis))


def _attention_layer(lib, K):
    """textgenrnn's AttentionWeightedAverage, as Keras 2 code writes it."""
    class AttentionWeightedAverage(lib.layers.Layer):
        def __init__(self, return_attention=False, **kwargs):
            self.init = lib.initializers.get("uniform")
            self.return_attention = return_attention
            super().__init__(**kwargs)
            self.supports_masking = True

        def build(self, input_shape):
            self.input_spec = [lib.layers.InputSpec(ndim=3)]
            assert len(input_shape) == 3
            self.W = self.add_weight(shape=(input_shape[2], 1), name="{}_W".format(self.name),
                                     initializer=self.init)
            super().build(input_shape)

        def call(self, x, mask=None):
            logits = K.dot(x, self.W)
            x_shape = K.shape(x)
            logits = K.reshape(logits, (x_shape[0], x_shape[1]))
            ai = K.exp(logits - K.max(logits, axis=-1, keepdims=True))
            if mask is not None:
                ai = ai * K.cast(mask, K.floatx())
            att_weights = ai / (K.sum(ai, axis=1, keepdims=True) + K.epsilon())
            result = K.sum(x * K.expand_dims(att_weights), axis=1)
            return [result, att_weights] if self.return_attention else result

        def compute_output_shape(self, input_shape):
            if self.return_attention:
                return [(input_shape[0], input_shape[2]), (input_shape[0], input_shape[1])]
            return (input_shape[0], input_shape[2])

        def compute_mask(self, inputs, input_mask=None):
            return [None, None] if self.return_attention else None

        def get_config(self):
            config = {"return_attention": self.return_attention}
            return dict(list(super().get_config().items()) + list(config.items()))
    return AttentionWeightedAverage


def _antirectifier_layer(lib, K):
    """Keras 2's examples/antirectifier.py layer."""
    class Antirectifier(lib.layers.Layer):
        def compute_output_shape(self, input_shape):
            shape = list(input_shape)
            shape[-1] *= 2
            return tuple(shape)

        def call(self, inputs):
            inputs -= K.mean(inputs, axis=1, keepdims=True)
            inputs = K.l2_normalize(inputs, axis=1)
            pos = K.relu(inputs)
            neg = K.relu(-inputs)
            return K.concatenate([pos, neg], axis=1)
    return Antirectifier


def _sampling_layer(lib, K, noise):
    """A VAE's reparametrisation layer that adds its KL term with `add_loss`."""
    class Sampling(lib.layers.Layer):
        def __init__(self, stddev=1.0, **kwargs):
            super().__init__(**kwargs)
            self.stddev = stddev
            if lib is keras:
                self.seed_generator = keras.random.SeedGenerator(1)

        def call(self, inputs):
            z_mean, z_log_var = inputs
            kl = -0.5 * K.mean(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var))
            self.add_loss(kl)
            batch, dim = K.shape(z_mean)[0], K.int_shape(z_mean)[1]
            eps = noise(self, (batch, dim))
            return z_mean + K.exp(0.5 * z_log_var) * eps

        def get_config(self):
            return {**super().get_config(), "stddev": self.stddev}
    return Sampling


def _jkeras_noise(layer, shape):
    return K.random_normal(shape=shape, stddev=layer.stddev)


def _keras3_noise(layer, shape):
    if layer.stddev == 0:  # the noise-free run compared below; cheap_keras_init replaces keras.random
        return ops.zeros(shape)
    return keras.random.normal(shape, stddev=layer.stddev, seed=layer.seed_generator)


def _contrastive(K):
    """Keras 2's examples/mnist_siamese.py loss, distance and metric."""
    def contrastive_loss(y_true, y_pred):
        margin = 1
        return K.mean(y_true * K.square(y_pred) + (1 - y_true) * K.square(K.maximum(margin - y_pred, 0)))

    def euclidean_distance(vects):
        x, y = vects
        return K.sqrt(K.maximum(K.sum(K.square(x - y), axis=1, keepdims=True), K.epsilon()))

    def siamese_accuracy(y_true, y_pred):
        return K.mean(K.equal(y_true, K.cast(y_pred < 0.5, y_true.dtype)))
    return contrastive_loss, euclidean_distance, siamese_accuracy


# ---- the models, over a library ----
def attention_model(lib, K):
    layer = _attention_layer(lib, K)
    inp = lib.layers.Input((6,), dtype="int32")
    h = lib.layers.Embedding(12, 5, mask_zero=True)(inp)
    h = layer(name="attn")(h)
    model = lib.Model(inp, lib.layers.Dense(3, activation="softmax")(h))
    model.compile(lib.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    x = rng.integers(1, 12, size=(32, 6)).astype("int32")
    x[:, 4:] *= rng.integers(0, 2, size=(32, 1))  # some rows padded with 0 at the end
    return model, x, rng.integers(0, 3, size=(32,)), {"AttentionWeightedAverage": layer}


def antirectifier_model(lib, K):
    layer = _antirectifier_layer(lib, K)
    model = lib.Sequential([lib.layers.Input((8,)), lib.layers.Dense(16), layer(), lib.layers.Dense(12),
                            layer(), lib.layers.Dense(3, activation="softmax")])
    model.compile(lib.optimizers.RMSprop(0.01), "categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(1)
    x = rng.normal(size=(32, 8)).astype("float32")
    return model, x, np.eye(3, dtype="float32")[rng.integers(0, 3, 32)], {"Antirectifier": layer}


def vae_model(lib, K, stddev=0.0):
    layer = _sampling_layer(lib, K, _keras3_noise if lib is keras else _jkeras_noise)
    inp = lib.layers.Input((8,))
    h = lib.layers.Dense(6, activation="relu")(inp)
    z = layer(stddev=stddev, name="sampling")([lib.layers.Dense(3)(h), lib.layers.Dense(3)(h)])
    model = lib.Model(inp, lib.layers.Dense(8)(lib.layers.Dense(6, activation="relu")(z)))
    model.compile(lib.optimizers.Adam(0.01), "mse")
    x = np.random.default_rng(2).normal(size=(32, 8)).astype("float32")
    return model, x, x, {"Sampling": layer}


def siamese_model(lib, K):
    loss, distance, metric = _contrastive(K)
    base = lib.Sequential([lib.layers.Input((6,)), lib.layers.Dense(8, activation="relu"), lib.layers.Dense(4)])
    a, b = lib.layers.Input((6,)), lib.layers.Input((6,))
    out = lib.layers.Lambda(distance, output_shape=lambda shapes: (shapes[0][0], 1))([base(a), base(b)])
    model = lib.Model([a, b], out)
    model.compile(lib.optimizers.RMSprop(0.01), loss=loss, metrics=[metric])
    rng = np.random.default_rng(3)
    x = [rng.normal(size=(32, 6)).astype("float32") for _ in range(2)]
    y = rng.integers(0, 2, size=(32, 1)).astype("float32")
    return model, x, y, {"contrastive_loss": loss, "euclidean_distance": distance, "siamese_accuracy": metric}


MODELS = {"attention": attention_model, "antirectifier": antirectifier_model, "vae": vae_model,
          "siamese": siamese_model}


@pytest.mark.slow  # four models trained in both libraries: about 30 s on 2 cores
@pytest.mark.parametrize("name", sorted(MODELS))
def test_one_epoch_matches_keras3_and_survives_h5(name, tmp_path, cheap_keras_init):
    theirs, x, y, _ = MODELS[name](keras, K3)
    ours, _, _, custom = MODELS[name](jkeras, K)
    ours.set_weights(theirs.get_weights())
    h_theirs = theirs.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    h_ours = ours.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history
    assert sorted(h_ours) == sorted(h_theirs)
    for key in h_theirs:
        np.testing.assert_allclose(h_ours[key], h_theirs[key], rtol=1e-4, atol=1e-6, err_msg=key)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)
    path = str(tmp_path / f"{name}.h5")
    ours.save(path)
    loaded = jkeras.models.load_model(path, custom_objects=custom, safe_mode=False)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), ours.predict(x, verbose=0), rtol=1e-6, atol=1e-7)


@pytest.mark.slow
def test_vae_noise_comes_from_the_step_key(cheap_keras_init):
    """With noise on, the same seed gives the same run, another seed another run."""
    runs = []
    for seed in (5, 5, 6):
        K.clear_session()
        jkeras.utils.set_random_seed(seed)
        model, x, y, _ = vae_model(jkeras, K, stddev=1.0)
        runs.append(model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"][0])
    assert runs[0] == runs[1] and runs[0] != runs[2]
    K.clear_session()
    jkeras.utils.set_random_seed(5)
    quiet, x, y, _ = vae_model(jkeras, K, stddev=0.0)
    assert quiet.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0).history["loss"][0] != runs[0]


def test_attention_masks_padding_and_returns_attention():
    layer_cls = _attention_layer(jkeras, K)
    inp = jkeras.layers.Input((4,), dtype="int32")
    emb = jkeras.layers.Embedding(5, 3, mask_zero=True)(inp)
    out, weights = layer_cls(return_attention=True)(emb)
    assert out.shape == (None, 3) and weights.shape == (None, 4)
    probs = jkeras.Model(inp, weights).predict(np.array([[1, 2, 0, 0], [3, 1, 4, 2]]), verbose=0)
    np.testing.assert_allclose(probs[0, 2:], 0.0)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)


def test_input_spec_errors_are_keras_wording():
    layer_cls = _attention_layer(jkeras, K)
    layer = layer_cls()
    layer(np.zeros((2, 4, 3), "float32"))
    with pytest.raises(ValueError, match=r'Input 0 of layer "attention_weighted_average" is incompatible with the '
                                         r"layer: expected ndim=3, found ndim=2. Full shape received: \(None, 3\)"):
        layer(jkeras.Input((3,)))
    spec = jkeras.layers.InputSpec(min_ndim=2, axes={-1: 4}, dtype="float32")
    assert repr(spec) == "InputSpec(dtype=float32, min_ndim=2, axes={-1: 4})"
    assert jkeras.layers.InputSpec.from_config(spec.get_config()).axes == {-1: 4}

    class Fixed(jkeras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = spec

        def call(self, x):
            return x
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 4"):
        Fixed()(jkeras.Input((3,)))
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        Fixed()(np.zeros((4,), "float32"))
    with pytest.raises(ValueError, match="expected dtype=float32, found dtype=int32"):
        Fixed()(np.zeros((2, 4), "int32"))
    with pytest.raises(ValueError, match="expected shape=\\(None, 5\\), found shape=\\(None, 4\\)"):
        layer = Fixed()
        layer.input_spec = jkeras.layers.InputSpec(shape=(None, 5))
        layer(jkeras.Input((4,)))
    with pytest.raises(TypeError, match="must be an instance of InputSpec"):
        Fixed().input_spec = [{"ndim": 2}]


class Scale(jkeras.layers.Layer):
    """Keras 2's contract in one layer: positional add_weight, a running mean via add_update,
    a K-function initializer, config."""

    def __init__(self, momentum=0.5, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.offset = self.add_weight("offset", (1,), initializer="zeros")  # made in __init__

    def build(self, input_shape):
        self.kernel = self.add_weight(self.name + "_kernel", (input_shape[-1],),
                                      initializer=lambda shape, dtype=None: K.ones(shape, dtype=dtype) * 2)
        self.running = self.add_weight(name="running", shape=(input_shape[-1],), initializer="zeros",
                                       trainable=False)
        self.built = True

    def call(self, x, training=None):
        if training:
            self.add_update([K.moving_average_update(self.running, K.mean(x, axis=0), self.momentum)], x)
        return x * self.kernel + self.offset

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum}


def test_keras2_layer_contract_in_fit_and_h5(tmp_path):
    model = jkeras.Sequential([jkeras.layers.Input((3,)), Scale(name="scale")])
    layer = model.layers[0]
    assert [w.name for w in layer.weights] == ["offset", "scale_kernel", "running"]
    np.testing.assert_array_equal(K.get_value(layer.kernel), [2.0, 2.0, 2.0])
    x = np.arange(12, dtype="float32").reshape(4, 3)
    model.compile("sgd", "mse")
    model.fit(x, x, batch_size=4, epochs=2, verbose=0)
    # two steps of x - (x - batch mean) * (1 - momentum) from 0, on the same batch
    np.testing.assert_allclose(K.get_value(layer.running), x.mean(0) * 0.75, rtol=1e-6)
    model.predict(x, verbose=0)  # inference leaves the statistic alone
    np.testing.assert_allclose(K.get_value(layer.running), x.mean(0) * 0.75, rtol=1e-6)
    path = str(tmp_path / "scale.h5")
    model.save(path)
    loaded = jkeras.models.load_model(path, custom_objects={"Scale": Scale})
    assert loaded.layers[0].momentum == 0.5
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_add_weight_forms_and_errors():
    layer = jkeras.layers.Layer(name="holder")
    w = layer.add_weight((2, 3), initializer="ones", name="keras3_order")
    assert w.shape == (2, 3) and w.name == "keras3_order"
    assert layer.add_weight("prefixed_holder_W", (4,)).name == "prefixed_holder_W"
    with pytest.raises(ValueError, match="fully known shape"):
        layer.add_weight("bad", (None, 2))
    with pytest.raises(ValueError, match="already has a weight named 'keras3_order'"):
        layer.add_weight("keras3_order", (1,))


def test_update_of_a_trainable_weight_in_call_is_refused():
    class Bad(jkeras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (1,))

        def call(self, x):
            K.update_add(self.w, 1.0)
            return x
    with pytest.raises(ValueError, match="trainable weight 'w' with K.update"):
        Bad()(np.zeros((1, 1), "float32"))


def test_lambda_with_k_and_learning_phase():
    inp = jkeras.Input((4,))
    out = jkeras.layers.Lambda(lambda t: K.in_train_phase(t * 0.0, t))(inp)
    model = jkeras.Model(inp, out)
    x = np.ones((2, 4), "float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    np.testing.assert_array_equal(model(x, training=True), np.zeros_like(x))


def test_listing_trainable_weights_and_refusals():
    class Listed(jkeras.layers.Layer):
        def build(self, input_shape):
            self.W = self.add_weight(name="W", shape=(input_shape[-1], 2))
            self.b = self.add_weight(name="b", shape=(2,))
            self.trainable_weights = [self.W]  # Keras 2 code lists what trains
            super().build(input_shape)

        def call(self, x):
            self.add_metric(K.mean(x), name="mean_input")
            return K.dot(x, self.W) + self.b
    layer = Listed()
    layer.build((None, 3))
    assert [w.name for w in layer.trainable_weights] == ["W"]
    assert [w.name for w in layer.non_trainable_weights] == ["b"]
    with pytest.raises(ValueError, match="its own weights"):
        layer.trainable_weights = [K.variable(1.0)]
    assert layer(np.zeros((1, 3), "float32")).shape == (1, 2)  # add_metric outside a step: dropped
    with pytest.raises(TypeError, match="cannot be iterated"):
        list(jkeras.Input((3,)))

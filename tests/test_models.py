"""Model kinds and the layer protocol: Sequential, functional, nested, subclassed, custom layers."""
import io
import os
import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jkeras
from jkeras import backend as K
from jkeras import layers


def test_auto_names_restart_with_clear_session():
    assert layers.Dense(2).name == "dense"
    assert layers.Dense(2).name == "dense_1"
    assert layers.Conv2DTranspose(2, 3).name == "conv2d_transpose"
    K.clear_session()
    assert layers.Dense(2).name == "dense"


def test_same_seed_same_initial_weights_in_one_process():
    def build():
        K.set_random_seed(11)
        return jkeras.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)]).get_weights()
    for a, b in zip(build(), build()):
        np.testing.assert_array_equal(a, b)


def test_inserting_a_named_layer_keeps_the_others_initial_weights():
    K.set_random_seed(2)
    a = jkeras.Sequential([layers.Dense(4, input_shape=(3,), name="first"), layers.Dense(2, name="last")])
    K.set_random_seed(2)
    b = jkeras.Sequential([layers.Dense(4, input_shape=(3,), name="first"), layers.Dense(4, name="extra"),
                           layers.Dense(2, name="last")])
    np.testing.assert_array_equal(a.get_layer("first").get_weights()[0], b.get_layer("first").get_weights()[0])


def test_sequential_deferred_build_and_layer_access():
    model = jkeras.Sequential()
    model.add(layers.Dense(4, activation="relu"))
    model.add(layers.Dense(2))
    assert not model.built
    out = model.predict(np.ones((3, 5), "float32"))
    assert out.shape == (3, 2) and model.built
    assert model.get_layer(index=0) is model.layers[0]
    assert model.count_params() == 5 * 4 + 4 + 4 * 2 + 2
    with pytest.raises(ValueError, match="No such layer"):
        model.get_layer("nope")


def test_nested_models_are_layers():
    inner = jkeras.Sequential([layers.Dense(4, activation="relu", input_shape=(3,)), layers.Dense(2)],
                              name="inner")
    inp = layers.Input((3,))
    outer = jkeras.Model(inp, layers.Dense(1, name="head")(inner(inp)))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    np.testing.assert_allclose(outer.predict(x), outer.get_layer("head")(inner(x)), rtol=1e-5)
    assert len(outer.weights) == 6
    outer.compile("sgd", "mse")
    before = inner.get_weights()[0].copy()
    outer.fit(x, np.ones((5, 1)), epochs=1, verbose=0)
    assert not np.array_equal(before, inner.get_weights()[0])  # shared with the outer model


class TwoLayer(jkeras.Model):
    """A subclassed model: layers as attributes, `call` written in plain Python."""

    def __init__(self):
        super().__init__(name="two_layer")
        self.hidden = layers.Dense(8, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(2)

    def call(self, inputs, training=None):
        return self.out(self.dropout(self.hidden(inputs), training=training))


def test_subclassed_model_trains_and_saves_weights(tmp_path):
    model = TwoLayer()
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.random.default_rng(1).normal(size=(32, 2)).astype("float32")
    before = model.evaluate(x, y, verbose=0)     # inference mode: no dropout noise
    model.fit(x, y, epochs=20, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0) < 0.9 * before
    assert [w.path for w in model.weights] == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
    np.testing.assert_allclose(model.predict(x), model.out(model.hidden(x)), rtol=1e-5)
    model.save_weights(tmp_path / "w.h5")
    other = TwoLayer()
    other.predict(x[:1])
    other.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(NotImplementedError, match="subclassed"):
        model.to_json()


class PureScale(layers.Layer):
    """A layer written in the native pure protocol: `init` and `apply` over pytrees."""

    def init(self, key, input_shape):
        return {"scale": jnp.ones(input_shape[-1:])}, {"calls": jnp.zeros(())}

    def apply(self, params, state, inputs, *, training=False, key=None):
        new_state = {"calls": state["calls"] + 1} if training else state
        return inputs * params["scale"], new_state


def test_native_pure_layers_are_jittable_and_train():
    layer = PureScale(name="pure")
    params, state = layer.init(jax.random.key(0), (None, 3))
    out, new_state = jax.jit(lambda p, s, x: layer.apply(p, s, x, training=True))(params, state, jnp.ones((2, 3)))
    assert out.shape == (2, 3) and float(new_state["calls"]) == 1.0
    inp = layers.Input((3,))
    model = jkeras.Model(inp, layers.Dense(1)(PureScale(name="scale")(inp)))
    model.compile("sgd", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 1)), epochs=2, batch_size=4, verbose=0)
    assert float(model.get_layer("scale").non_trainable_weights[0].numpy()) == 4.0  # 2 epochs x 2 steps
    assert not np.array_equal(model.get_layer("scale").get_weights()[0], np.ones(3))


def test_flax_module_inside_a_model():
    import flax.linen as nn
    inp = layers.Input((4,))
    model = jkeras.Model(inp, layers.FlaxLayer(nn.Dense(3), name="flax")(inp))
    model.compile("sgd", "mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(np.ones((8, 4)), np.zeros((8, 3)), epochs=1, verbose=0)
    assert len(before) == 2 and not np.array_equal(before[0], model.get_weights()[0])


def test_summary_prints_keras_table():
    model = jkeras.Sequential([layers.Dense(4, input_shape=(3,), name="d1"), layers.Dense(2, name="d2")],
                              name="seq")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        model.summary()
    text = buffer.getvalue()
    assert 'Model: "seq"' in text
    assert "d1 (Dense)" in text and "(None, 4)" in text
    assert "Total params: 26" in text and "Trainable params: 26" in text


def test_summary_rows_match_keras3():
    """Keras 3 draws its table with box characters and tf.keras 2 with underscores (as jkeras
    does); the rows, shapes, counts and totals must be Keras's."""
    import re
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")

    def stack(L, first):
        return [L.Conv2D(8, 3, activation="relu", name="conv", **first), L.MaxPooling2D(2, name="pool"),
                L.BatchNormalization(name="bn"), L.Flatten(name="flat"), L.Dropout(0.5, name="drop"),
                L.Dense(10, activation="softmax", name="out")]

    theirs = keras.Sequential([keras.Input((28, 28, 1))] + stack(keras.layers, {}), name="net")
    ours = jkeras.Sequential(stack(layers, {"input_shape": (28, 28, 1)}), name="net")
    lines = []
    theirs.summary(print_fn=lambda line, *a, **k: lines.append(line))
    keras_text = "\n".join(lines)
    keras_rows = [[c.strip() for c in row.split("│")[1:-1]] for row in keras_text.splitlines()
                  if row.startswith("│")]
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        ours.summary()
    text = buffer.getvalue()
    our_rows = [re.split(r"\s{2,}", row.strip()) for row in text.splitlines()
                if row.endswith(tuple("0123456789")) and "(" in row]
    # Keras 3 writes 13,530 in its rows, tf.keras 2 (and jkeras) 13530
    assert our_rows == [[name, shape, count.replace(",", "")] for name, shape, count in keras_rows]
    for what in ("Total params", "Trainable params", "Non-trainable params"):
        count = re.search("^ *" + what + r": ([\d,]+)", keras_text, re.M).group(1)
        assert re.search("^" + what + ": " + count + "$", text, re.M), (what, count, text)


def test_layer_weights_api():
    dense = layers.Dense(3, name="d")
    dense(np.ones((1, 2), "float32"))
    assert [w.name for w in dense.weights] == ["kernel", "bias"]
    with pytest.raises(ValueError, match="expects 2 weight arrays"):
        dense.set_weights([np.ones((2, 3))])
    with pytest.raises(ValueError, match="has shape"):
        dense.set_weights([np.ones((3, 3)), np.ones(3)])
    config = dense.get_config()
    clone = layers.Dense.from_config(config)
    assert clone.units == 3 and clone.get_config()["units"] == 3
    assert dense.count_params() == 9


def test_plot_model_writes_the_graph(tmp_path):
    a, b = layers.Input((3,), name="a"), layers.Input((2,), name="b")
    merged = layers.Concatenate(name="merge")([layers.Dense(4, name="da")(a), b])
    model = jkeras.Model([a, b], layers.Dense(1, name="out")(merged))
    dot = jkeras.utils.model_to_dot_text(model, show_shapes=True)
    assert "da: Dense" in dot and "output: (None, 4)" in dot
    ids = {name: line.split()[0] for line in dot.splitlines() for name in ("da", "merge", "out", "b")
           if f'"{name}:' in line}
    assert f"{ids['da']} -> {ids['merge']};" in dot and f"{ids['b']} -> {ids['merge']};" in dot
    written = jkeras.utils.plot_model(model, to_file=str(tmp_path / "m.png"), show_shapes=True)
    assert os.path.exists(written)


def test_build_creates_the_weights_as_keras_build_does(tmp_path):
    """`model.build(shape)` / `layer.build(shape)` leave the model or layer built, nested layers
    included, so `load_weights` works on a fresh subclassed model."""
    seq = jkeras.Sequential([layers.Dense(3)])
    seq.build((None, 4))
    assert seq.built and [tuple(w.shape) for w in seq.weights] == [(4, 3), (3,)]
    dense = layers.Dense(3)
    dense.build((None, 5))
    assert dense.built and dense.kernel.shape == (5, 3)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    trained = TwoLayer()
    trained.build((None, 4))
    trained.save_weights(tmp_path / "w.h5")
    fresh = TwoLayer()
    fresh.build((None, 4))
    fresh.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(fresh.predict(x), trained.predict(x))

    class WithOwnBuild(jkeras.Model):
        def __init__(self):
            super().__init__()
            self.head = layers.Dense(2)

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return self.head(inputs * self.scale)

    own = WithOwnBuild()
    own.build((None, 4))
    assert own.built and len(own.weights) == 3 and own.predict(x).shape == (2, 2)


def test_predict_sees_every_change_of_weights_and_layers(tmp_path):
    """Inference reuses the gathered weight trees until a weight or the layer structure
    changes; every way of changing them shows in the next predict."""
    x = np.ones((2, 3), "float32")
    model = jkeras.Sequential([layers.Dense(2, input_shape=(3,), name="a"), layers.Dense(2, name="b")])
    first = model.predict(x)
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    np.testing.assert_array_equal(model.predict(x), 0.0)
    model.get_layer("b").bias.assign(np.ones(2))
    np.testing.assert_array_equal(model.predict(x), 1.0)
    model.save_weights(tmp_path / "ones.h5")
    model.compile("sgd", "mse")
    model.fit(x, np.full((2, 2), 5.0, "float32"), epochs=1, verbose=0)
    assert not np.allclose(model.predict(x), 1.0)
    model.load_weights(tmp_path / "ones.h5")
    np.testing.assert_array_equal(model.predict(x), 1.0)
    model.pop()
    assert model.predict(x).shape == (2, 2) and not np.allclose(model.predict(x), 1.0)
    model.add(layers.Dense(4, name="c"))
    assert model.predict(x).shape == (2, 4)
    assert first.shape == (2, 2)

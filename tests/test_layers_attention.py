"""Attention, AdditiveAttention and MultiHeadAttention against Keras 3 (JAX backend): the layer
harness (forward, one SGD step, config, `.h5`, masks, policies), masks through a model graph,
tf.keras 2 configs, and a short fit."""
import os

import numpy as np
import pytest

import jkeras
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.usefixtures("cheap_keras_init")

RNG = np.random.default_rng(3)
FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "tf_keras_layers")
Q_MASK = np.array([[True, False, True], [True, True, True]])
V_MASK = np.array([[True, True, True, False, False], [True, True, True, True, True]])


class _KerasListMHA(keras.layers.MultiHeadAttention):
    """Keras's MultiHeadAttention called on a list `[query, value(, key)]`, as the harness calls
    a multi-input layer (jkeras's takes both forms)."""

    def __call__(self, inputs, *args, **kwargs):
        if args or not isinstance(inputs, (list, tuple)):  # Keras's own replay of the node
            return super().__call__(inputs, *args, **kwargs)
        return super().__call__(*inputs, **kwargs)


def mha(lib, **kwargs):
    if lib is jkeras:
        return jkeras.layers.MultiHeadAttention(**kwargs)
    return _KerasListMHA(**kwargs)


QV = [(2, 3, 4), (2, 5, 4)]
QVK = [(2, 3, 4), (2, 5, 3), (2, 5, 4)]

NO_POLICIES = dict(policies=())  # each class runs the float16/bfloat16 policies in one case

CASES = [
    ("Attention", {}, QV, {}),
    ("Attention", dict(use_scale=True), QVK, dict(call_kwargs=dict(use_causal_mask=True), **NO_POLICIES)),
    ("Attention", dict(use_scale=True, score_mode="concat"), QV,
     dict(call_kwargs=dict(return_attention_scores=True), mask=[Q_MASK, V_MASK], **NO_POLICIES)),
    ("Attention", dict(score_mode="concat"), QV, dict(mask=[None, V_MASK], **NO_POLICIES)),
    ("AdditiveAttention", {}, QVK, dict(mask=[Q_MASK, V_MASK])),
    ("AdditiveAttention", dict(use_scale=False), QV,
     dict(call_kwargs=dict(use_causal_mask=True), **NO_POLICIES)),
    (mha, dict(num_heads=2, key_dim=3), QV, {}),
    (mha, dict(num_heads=2, key_dim=2, output_shape=(3,), use_bias=False), QVK,
     dict(call_kwargs=dict(use_causal_mask=True), **NO_POLICIES)),
    (mha, dict(num_heads=3, key_dim=2, use_gate=True, sliding_window=2), [(2, 4, 4), (2, 4, 4)],
     dict(call_kwargs=dict(return_attention_scores=True), **NO_POLICIES)),
]


@pytest.mark.parametrize("layer, kwargs, shapes, options", CASES)
def test_matches_keras(layer, kwargs, shapes, options):
    run_layer_test(layer, kwargs, shapes, **options)


@pytest.mark.parametrize("layer, kwargs", [("Attention", dict(dropout=0.4)),
                                           (mha, dict(num_heads=2, key_dim=2, dropout=0.5))])
def test_dropout_is_stochastic_in_training_only(layer, kwargs):
    run_layer_test(layer, kwargs, QV, stochastic=True, policies=())


def test_mha_value_dim_and_attention_axes_forward():
    """`value_dim != key_dim` and attention over two axes; Keras 3 computes these only on its
    explicit-scores path (its fused path rejects value_dim != key_dim), so scores are asked for."""
    q, v = RNG.normal(size=(2, 3, 4)).astype("float32"), RNG.normal(size=(2, 5, 4)).astype("float32")
    attention_mask = RNG.random((2, 3, 5)) > 0.3
    for kwargs, inputs, call in [
            (dict(num_heads=2, key_dim=3, value_dim=2), (q, v), dict(attention_mask=attention_mask)),
            (dict(num_heads=2, key_dim=2, attention_axes=(1, 2)),
             (RNG.normal(size=(2, 3, 4, 5)).astype("float32"),) * 2, {})]:
        theirs = keras.layers.MultiHeadAttention(**kwargs)
        ours = jkeras.layers.MultiHeadAttention(**kwargs)
        expected = theirs(*inputs, return_attention_scores=True, **call)
        ours(*inputs)
        ours.set_weights([0.5 * RNG.normal(size=w.shape) for w in theirs.weights])
        theirs.set_weights(ours.get_weights())
        expected = theirs(*inputs, return_attention_scores=True, **call)
        got = ours(*inputs, return_attention_scores=True, **call)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)
        assert ours.get_config()["attention_axes"] == tuple(theirs.get_config()["attention_axes"])


def _masked_model(lib, make):
    """Two inputs, each through `Masking`, into an attention layer: the masks come from the graph."""
    q, v = lib.Input((3, 4)), lib.Input((5, 4))
    mq, mv = lib.layers.Masking()(q), lib.layers.Masking()(v)
    out = make(lib, mq, mv)
    return lib.Model([q, v], lib.layers.Dense(2)(lib.layers.Flatten()(out)))


@pytest.mark.parametrize("make", [
    lambda lib, q, v: lib.layers.Attention()([q, v]),
    lambda lib, q, v: lib.layers.MultiHeadAttention(2, 2)(q, v),
], ids=["Attention", "MultiHeadAttention"])
def test_graph_masks_match_keras(make):
    q = RNG.normal(size=(2, 3, 4)).astype("float32")
    v = RNG.normal(size=(2, 5, 4)).astype("float32")
    q[0, 1], v[0, 3:] = 0.0, 0.0  # masked steps
    theirs, ours = _masked_model(keras, make), _masked_model(jkeras, make)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    np.testing.assert_allclose(ours.predict([q, v], verbose=0), theirs.predict([q, v], verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_loads_tf_keras2_configs():
    """tf.keras 2 writes `causal` (Attention) and the build shapes (MultiHeadAttention)."""
    att = jkeras.layers.Attention.from_config({"name": "att", "trainable": True, "dtype": "float32",
                                               "use_scale": False, "score_mode": "dot",
                                               "dropout": 0.0, "causal": True})
    q = RNG.normal(size=(1, 3, 2)).astype("float32")
    _, scores = att([q, q], return_attention_scores=True)
    assert np.all(np.triu(np.asarray(scores)[0], 1) == 0)
    layer = jkeras.layers.MultiHeadAttention.from_config(
        {"name": "mha", "trainable": True, "dtype": "float32", "num_heads": 2, "key_dim": 3,
         "value_dim": 3, "dropout": 0.0, "use_bias": True, "output_shape": None,
         "attention_axes": [1], "query_shape": [None, 3, 2], "key_shape": [None, 3, 2],
         "value_shape": [None, 3, 2], "softmax_robust_masking": False})
    assert np.asarray(layer(q, q)).shape == (1, 3, 2)


def test_loads_keras3_h5(tmp_path):
    """A Keras 3 `.h5` of MultiHeadAttention -> Attention -> AdditiveAttention loads and predicts the same."""
    q, v = keras.Input((3, 4)), keras.Input((5, 4))
    h = keras.layers.MultiHeadAttention(2, 3)(q, v)
    h = keras.layers.AdditiveAttention()([keras.layers.Attention(use_scale=True)([h, v]), v])
    theirs = keras.Model([q, v], h)
    theirs.set_weights([0.5 * RNG.normal(size=w.shape) for w in theirs.weights])
    theirs.save(tmp_path / "k.h5")
    xs = [RNG.normal(size=(2, 3, 4)).astype("float32"), RNG.normal(size=(2, 5, 4)).astype("float32")]
    ours = jkeras.models.load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(ours.predict(xs, verbose=0), theirs.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-5)


# tf.keras 2 records `mha(q, v)` as the node `[["q", 0, 0, {"value": ["v", 0, 0]}]]`: a tensor
# among the call's kwargs as its reference.
def test_loads_tf_keras2_h5():
    arrays = np.load(os.path.join(FIXTURES, "tf_attention.npz"))
    model = jkeras.models.load_model(os.path.join(FIXTURES, "tf_attention.h5"))
    np.testing.assert_allclose(model.predict([arrays["x0"], arrays["x1"]], verbose=0), arrays["out"],
                               rtol=1e-5, atol=1e-5)


def test_symbolic_attention_mask_matches_keras():
    theirs, ours = _attention_mask_model(keras), _attention_mask_model(jkeras)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    xs = _attention_mask_inputs()
    np.testing.assert_allclose(ours.predict(xs, verbose=0), theirs.predict(xs, verbose=0),
                               rtol=1e-5, atol=1e-5)


def test_symbolic_attention_mask_survives_h5(tmp_path):
    model = _attention_mask_model(jkeras)
    model.save(tmp_path / "m.h5")
    xs = _attention_mask_inputs()
    np.testing.assert_allclose(jkeras.models.load_model(tmp_path / "m.h5").predict(xs, verbose=0),
                               model.predict(xs, verbose=0), rtol=1e-6, atol=1e-6)


def _attention_mask_model(lib):
    q, v, m = lib.Input((3, 4)), lib.Input((5, 4)), lib.Input((3, 5), dtype="bool")
    return lib.Model([q, v, m], lib.layers.MultiHeadAttention(2, 2)(q, v, attention_mask=m))


def _attention_mask_inputs():
    rng = np.random.default_rng(4)
    return [rng.normal(size=(2, 3, 4)).astype("float32"), rng.normal(size=(2, 5, 4)).astype("float32"),
            rng.random((2, 3, 5)) > 0.3]


def test_weight_paths_in_h5_are_keras_names(tmp_path):
    q = jkeras.Input((3, 4))
    model = jkeras.Model(q, jkeras.layers.MultiHeadAttention(2, 3, name="mha")(q, q))
    model.save(tmp_path / "m.h5")
    import h5py
    with h5py.File(tmp_path / "m.h5") as f:
        names = [n.decode() if isinstance(n, bytes) else n
                 for n in f["model_weights/mha"].attrs["weight_names"]]
    assert names == [f"mha/{p}/{w}:0" for p in ("query", "key", "value", "attention_output")
                     for w in ("kernel", "bias")]


def test_bad_inputs_raise_clear_errors():
    q = np.zeros((2, 3, 4), "float32")
    with pytest.raises(ValueError, match="list of inputs"):
        jkeras.layers.Attention()(q)
    with pytest.raises(ValueError, match="length 2 or 3"):
        jkeras.layers.Attention()([q])
    with pytest.raises(ValueError, match="same last dim"):
        jkeras.layers.Attention()([q, np.zeros((2, 5, 3), "float32")])
    with pytest.raises(ValueError, match="score_mode"):
        jkeras.layers.Attention(score_mode="bilinear")
    with pytest.raises(ValueError, match="num_heads"):
        jkeras.layers.MultiHeadAttention(0, 2)
    with pytest.raises(ValueError, match="needs a `value`"):
        jkeras.layers.MultiHeadAttention(2, 2)(q)
    with pytest.raises(ValueError, match="except the last one"):
        jkeras.layers.MultiHeadAttention(2, 2)(q, q, np.zeros((2, 4, 4), "float32"))


def test_fit_decreases_loss():
    x = RNG.normal(size=(16, 4, 3)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    inp = jkeras.Input((4, 3))
    h = jkeras.layers.MultiHeadAttention(2, 2)(inp, inp)
    h = jkeras.layers.Attention(use_scale=True)([h, inp])
    model = jkeras.Model(inp, jkeras.layers.Dense(1)(jkeras.layers.Flatten()(h)))
    model.compile(jkeras.optimizers.Adam(0.05), "mse")
    losses = model.fit(x, y, epochs=3, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < losses[0]

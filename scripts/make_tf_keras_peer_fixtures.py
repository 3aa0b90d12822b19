"""Write `tests/fixtures/tf_keras_peers/`: a small model saved by tf.keras 2 (`tf_keras`) that
holds the layers whose written form jkeras matches to tf.keras 2's (Lambda, MultiHeadAttention,
Attention, LeakyReLU, ZeroPadding1D, ConvLSTM1D), with its inputs and predictions.

    /opt/tfref/bin/python scripts/make_tf_keras_peer_fixtures.py

`tests/test_saving_peers.py` reads them: jkeras loads the file and predicts as tf.keras did, and
writes each of these layers' configs and call nodes in the form this file holds.
"""
import json
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "fixtures",
                   "tf_keras_peers")


def twice(x):
    """The named function of the `twice` Lambda (tf.keras 2 writes its bytecode)."""
    return x * 2.0


def build(K):
    """The fixture's model; `K` is `tf_keras` (jkeras's tests build the same with jkeras)."""
    L = K.layers
    q, v, c = L.Input((3, 4), name="q"), L.Input((5, 4), name="v"), L.Input((4, 5, 2), name="c")
    a = L.Lambda(twice, name="twice")(q)
    b = L.Lambda(lambda t: t + 1.0, name="plus_one", output_shape=(3, 4))(a)
    outputs = [L.MultiHeadAttention(2, 3, name="mha")(b, v), L.Attention(name="att")([q, v]),
               L.LeakyReLU(0.2, name="leaky")(q), L.ZeroPadding1D(1, name="pad")(q),
               L.ConvLSTM1D(2, 2, name="convlstm")(c)]
    return K.Model([q, v, c], outputs, name="peers")


def main():
    import tf_keras
    tf_keras.utils.set_random_seed(42)
    os.makedirs(OUT, exist_ok=True)
    model = build(tf_keras)
    rng = np.random.default_rng(42)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    xs = [rng.normal(size=(2,) + tuple(t.shape[1:])).astype("float32") for t in model.inputs]
    model.save(os.path.join(OUT, "layers.h5"))
    ys = model.predict(xs, verbose=0)
    np.savez(os.path.join(OUT, "layers.npz"), **{f"x{i}": x for i, x in enumerate(xs)},
             **{f"y{i}": y for i, y in enumerate(ys)})
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(f"Written by `scripts/make_tf_keras_peer_fixtures.py` with tf_keras {tf_keras.__version__} "
                f"(Python {sys.version.split()[0]}): `layers.h5` (`model.save`), `layers.npz` (inputs "
                "`x0..x2`, tf.keras's predictions `y0..y4`).\n")
    print(json.dumps([l["class_name"] for l in model.get_config()["layers"]]))


if __name__ == "__main__":
    main()

"""Do `.h5` files written by jkeras load in tf.keras 2 (`tf_keras`) and predict the same?

For each architecture below, jkeras builds the model, randomises its weights, compiles
and trains it one step, and saves it with `model.save('<name>.h5')`. tf.keras then
(1) loads the whole file, compiled, and compares predictions and weights, then trains one
more step on the loaded model (the training config and optimizer state must be usable);
(2) builds the same architecture itself and `load_weights` the file, by order and by name,
and `<name>.weights.h5` (jkeras writes Keras 3's layout under that name, which tf.keras 2.13+
reads too); (3) writes its own `.h5` of that model, which jkeras loads and compares.

Needs `tf_keras` (pip install tf-keras, which pulls in TensorFlow); without it the script
says so and exits 0. The files can also be written here and checked elsewhere:

    python scripts/check_tf_keras.py                 # write to a temp folder and check
    python scripts/check_tf_keras.py --write DIR     # only write DIR/<name>.h5 + inputs (no TF)
    python scripts/check_tf_keras.py --check DIR     # only check files written earlier
"""
import argparse
import importlib
import json
import os
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-5  # TF's kernels against XLA's: ~3e-7 observed for these float32 models


def double(x):
    return x * 2.0


def mlp(K):
    L = K.layers
    return K.Sequential([L.Dense(16, activation="relu", input_shape=(8,), name="hidden"),
                         L.Dropout(0.3), L.BatchNormalization(), L.Dense(3, activation="softmax")],
                        name="mlp"), ("categorical_crossentropy", ["accuracy"])


def cnn(K):
    L = K.layers
    x = L.Input((8, 8, 3), name="image")
    h = L.Conv2D(4, 3, padding="same", activation="relu")(x)
    h = L.SeparableConv2D(4, 3, depth_multiplier=2)(L.MaxPooling2D(2)(h))
    h = L.DepthwiseConv2D(2)(L.ZeroPadding2D(1)(h))
    h = L.Conv2DTranspose(2, 2, strides=2)(h)
    h = L.GlobalAveragePooling2D()(L.UpSampling2D(2)(L.Cropping2D(1)(h)))
    return K.Model(x, L.Dense(3, activation="softmax")(h), name="cnn"), ("categorical_crossentropy", ["accuracy"])


def rnn(K):
    L = K.layers
    x = L.Input((6, 4), name="seq")
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(L.Masking(0.0)(x))
    h = L.GRU(3, return_sequences=True)(h)
    h = L.SimpleRNN(3, return_sequences=True)(h)
    h = L.TimeDistributed(L.Dense(2))(h)
    h = L.Conv1D(2, 2)(h)
    return K.Model(x, L.Dense(1)(L.GlobalMaxPooling1D()(h)), name="rnn"), ("mse", ["mae"])


def multi_io(K):
    L = K.layers
    a, b = L.Input((8,), name="a"), L.Input((5,), dtype="int32", name="b")
    shared = L.Dense(5, name="shared")
    h1, h2 = shared(a), shared(L.Dense(8, name="proj")(a))
    e = L.LSTM(5)(L.Embedding(10, 4, mask_zero=True)(b))
    m = L.Concatenate()([h1, h2, e])
    return K.Model([a, b], [L.Dense(2, activation="softmax", name="o1")(m),
                            L.Dense(1, name="o2")(L.Add()([h1, e]))], name="multi_io"), \
        (["categorical_crossentropy", "mse"], None)


def nested(K):
    L = K.layers
    inner_seq = K.Sequential([L.Dense(6, activation="relu", name="s1"), L.LayerNormalization(name="ln")],
                             name="inner_seq")
    ii = L.Input((6,), name="ii")
    inner_fun = K.Model(ii, L.Dense(4, name="f1")(ii), name="inner_fun")
    x = L.Input((8,), name="x")
    h = inner_seq(L.Dense(6, name="pre")(x))
    out = L.Add()([inner_fun(h), L.Lambda(double, name="dbl")(inner_fun(h))])
    return K.Model(x, out, name="nested"), ("mse", None)


def stacked(K):
    L = K.layers
    ii = L.Input((8,), name="ii")
    base = K.Model(ii, L.PReLU()(L.Dense(6, name="b1")(ii)), name="base")
    return K.Sequential([L.Input((8,)), base, L.Dense(3, activation="softmax", name="head")],
                        name="stacked"), ("sparse_categorical_crossentropy", ["accuracy"])


MODELS = {"mlp": mlp, "cnn": cnn, "rnn": rnn, "multi_io": multi_io, "nested": nested, "stacked": stacked}
CUSTOM = {"double": double}


def _data(name, model):
    rng = np.random.default_rng(0)
    xs = []
    for t in model.inputs:
        shape = (8,) + tuple(t.shape[1:])
        if "int" in str(t.dtype):
            x = rng.integers(1, 10, shape).astype("int32")
            x[:, -2:] = 0
        else:
            x = rng.normal(size=shape).astype("float32")
            if name == "rnn":
                x[:, -2:] = 0.0
        xs.append(x)
    ys = []
    for t in model.outputs:
        k = t.shape[-1]
        if name == "stacked":
            ys.append(rng.integers(0, k, (8,)).astype("int32"))
        elif k > 1:
            ys.append(np.eye(k, dtype="float32")[rng.integers(0, k, 8)])
        else:
            ys.append(rng.normal(size=(8, 1)).astype("float32"))
    return xs, ys


def _as_list(y):
    return [np.asarray(v) for v in y] if isinstance(y, (list, tuple)) else [np.asarray(y)]


def _feed(values):
    return values[0] if len(values) == 1 else values


def write(folder):
    """jkeras writes `<name>.h5` and `<name>.npz` (inputs, targets, jkeras's predictions)."""
    import jkeras
    for name, build in MODELS.items():
        jkeras.backend.clear_session()
        jkeras.utils.set_random_seed(0)
        model, (loss, metrics) = build(jkeras)
        rng = np.random.default_rng(1)
        model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype("float32") if "variance" in w.name
                           else rng.normal(0, 0.5, w.shape).astype("float32") for w in model.weights])
        xs, ys = _data(name, model)
        model.compile("adam", loss, metrics=metrics)
        model.fit(_feed(xs), _feed(ys), batch_size=8, epochs=1, verbose=0)
        model.save(os.path.join(folder, f"{name}.h5"))
        model.save_weights(os.path.join(folder, f"{name}.weights.h5"))  # Keras 3's layout
        y = _as_list(model.predict(_feed(xs), verbose=0))
        np.savez(os.path.join(folder, f"{name}.npz"), **{f"x{i}": v for i, v in enumerate(xs)},
                 **{f"t{i}": v for i, v in enumerate(ys)}, **{f"y{i}": v for i, v in enumerate(y)})
        print(f"wrote {name}.h5")


def _load_npz(folder, name):
    data = np.load(os.path.join(folder, f"{name}.npz"))
    pick = lambda p: [data[k] for k in sorted((k for k in data if k[0] == p), key=lambda k: int(k[1:]))]
    return pick("x"), pick("t"), pick("y")


def _maxdiff(a, b):
    return max(float(np.abs(np.asarray(u, "float64") - np.asarray(v, "float64")).max()) for u, v in zip(a, b))


def check(folder, tfk):
    """Every check for every model; returns `{name: {check: result}}`."""
    import jkeras
    results = {}
    for name, build in MODELS.items():
        path = os.path.join(folder, f"{name}.h5")
        xs, ys, expected = _load_npz(folder, name)
        res = results[name] = {}

        def attempt(what, fn):
            try:
                res[what] = fn()
            except Exception as error:  # noqa: BLE001 - report every failure, keep going
                res[what] = f"FAIL {type(error).__name__}: {str(error)[:300]}"
                traceback.print_exc(limit=2)

        def whole_model():
            tfk.backend.clear_session()
            theirs = tfk.models.load_model(path, custom_objects=CUSTOM)
            diff = _maxdiff(_as_list(theirs.predict(_feed(xs), verbose=0)), expected)
            assert diff <= TOLERANCE, f"predictions differ by {diff}"
            ours = jkeras.models.load_model(path, custom_objects=CUSTOM)
            for a, b in zip(ours.get_weights(), theirs.get_weights()):
                np.testing.assert_array_equal(a, b)
            restored = len(theirs.optimizer.variables()) if callable(getattr(theirs.optimizer, "variables", None)) \
                else len(theirs.optimizer.variables)
            theirs.fit(_feed(xs), _feed(ys), batch_size=8, epochs=1, verbose=0)
            return f"ok (maxdiff {diff:.1e}, {restored} optimizer variables, fit ok)"

        def weights(by_name):
            def run():
                tfk.backend.clear_session()
                theirs, _ = build(tfk)
                theirs.load_weights(path, by_name=by_name)
                diff = _maxdiff(_as_list(theirs.predict(_feed(xs), verbose=0)), expected)
                assert diff <= TOLERANCE, f"predictions differ by {diff}"
                return f"ok (maxdiff {diff:.1e})"
            return run

        def reverse():
            tfk.backend.clear_session()
            theirs, _ = build(tfk)
            theirs.load_weights(path)
            back = os.path.join(folder, f"{name}.tf_keras.h5")
            theirs.save(back)
            ours = jkeras.models.load_model(back, custom_objects=CUSTOM, compile=False)
            diff = _maxdiff(_as_list(ours.predict(_feed(xs), verbose=0)),
                            _as_list(theirs.predict(_feed(xs), verbose=0)))
            assert diff <= TOLERANCE, f"predictions differ by {diff}"
            return f"ok (maxdiff {diff:.1e})"

        def keras3_layout():
            tfk.backend.clear_session()
            theirs, _ = build(tfk)
            theirs.load_weights(os.path.join(folder, f"{name}.weights.h5"))
            diff = _maxdiff(_as_list(theirs.predict(_feed(xs), verbose=0)), expected)
            assert diff <= TOLERANCE, f"predictions differ by {diff}"
            return f"ok (maxdiff {diff:.1e})"

        attempt("load_model", whole_model)
        attempt("load_weights", weights(False))
        attempt("load_weights(by_name=True)", weights(True))
        attempt("load_weights(.weights.h5)", keras3_layout)
        attempt("tf.keras writes, jkeras loads", reverse)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="DIR", help="only write the jkeras files to DIR")
    parser.add_argument("--check", metavar="DIR", help="only check files written earlier to DIR")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.write:
        os.makedirs(args.write, exist_ok=True)
        write(args.write)
        return 0
    try:
        tfk = importlib.import_module("tf_keras")
    except ImportError:
        print("SKIPPED: tf_keras is not importable here, so there is nothing to check against. "
              "Install it (pip install tf-keras) in a separate environment, or write the files with "
              "--write DIR here and run --check DIR where tf_keras is installed.")
        return 0
    folder = args.check
    if folder is None:
        folder = tempfile.mkdtemp(prefix="jkeras_tf_keras_")
        write(folder)
    results = check(folder, tfk)
    print(f"\njkeras-written .h5 files in tf_keras {tfk.__version__} ({folder}):")
    failures = 0
    for name, checks in results.items():
        for what, result in checks.items():
            failures += str(result).startswith("FAIL")
            print(f"  {name:10s} {what:32s} {result}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"tf_keras": tfk.__version__, "results": results}, f, indent=1)
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

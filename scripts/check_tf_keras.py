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
    python scripts/check_tf_keras.py --verify DIR    # jkeras loads what --check had tf.keras write

(4) For every optimizer (the 11 Keras 3 ones and `optimizers.legacy`), jkeras trains a small
model two steps and saves it; tf.keras loads it compiled (class, settings, iteration,
predictions) and trains on; tf.keras then saves its own run, which jkeras loads (--verify),
restoring every optimizer variable exactly. (5) jkeras's cuDNN <-> LSTM/GRU weight
conversions equal tf.keras's own (Keras 2's `_convert_rnn_weights`).
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


def _jkeras_or_none():
    try:
        return importlib.import_module("jkeras")
    except ImportError:  # the TensorFlow environment may lack jax; --verify runs those parts
        return None


def check(folder, tfk):
    """Every check for every model; returns `{name: {check: result}}`."""
    jkeras = _jkeras_or_none()
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
            if jkeras is not None:
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
            if jkeras is None:
                return "written (jkeras loads it with --verify)"
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


# ---- every optimizer, both ways ----
OPTIMIZERS = {  # name: (jkeras / tf.keras class path, arguments), the same in both
    "SGD": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "RMSprop": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    "Adam": ("Adam", {"learning_rate": 0.02, "amsgrad": True}),
    "AdamW": ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.01}),
    "Adagrad": ("Adagrad", {"learning_rate": 0.05}),
    "Adadelta": ("Adadelta", {"learning_rate": 0.5}),
    "Adamax": ("Adamax", {"learning_rate": 0.02}),
    "Nadam": ("Nadam", {"learning_rate": 0.02}),
    "Ftrl": ("Ftrl", {"learning_rate": 0.05, "l1_regularization_strength": 0.01}),
    "Lion": ("Lion", {"learning_rate": 0.01}),
    "Adafactor": ("Adafactor", {"learning_rate": 0.05}),
    "legacy.SGD": ("legacy.SGD", {"learning_rate": 0.05, "momentum": 0.9, "decay": 0.01}),
    "legacy.RMSprop": ("legacy.RMSprop", {"learning_rate": 0.01, "decay": 0.01}),
    "legacy.Adam": ("legacy.Adam", {"learning_rate": 0.02, "decay": 0.01}),
    "legacy.Adagrad": ("legacy.Adagrad", {"learning_rate": 0.05}),
    "legacy.Nadam": ("legacy.Nadam", {"learning_rate": 0.02}),
}


def _optimizer(module, path, kwargs):
    obj = module.optimizers
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj(**kwargs)


def _opt_model(K):
    L = K.layers
    return K.Sequential([L.Dense(4, activation="tanh", input_shape=(3,), name="h"),
                         L.Dense(2, name="o")], name="opt_mlp")


def _opt_data():
    rng = np.random.default_rng(2)
    return rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")


def _fixed_weights(model):
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])


def _tf_slots(optimizer):
    """tf.keras's optimizer variables as numpy, iteration first."""
    variables = optimizer.variables() if callable(optimizer.variables) else optimizer.variables
    return [np.asarray(v.numpy()) for v in variables]


def write_optimizers(folder):
    """jkeras trains a small model two steps with each optimizer and saves `opt_<name>.h5`."""
    import jkeras
    x, y = _opt_data()
    for name, (path, kwargs) in OPTIMIZERS.items():
        jkeras.backend.clear_session()
        model = _opt_model(jkeras)
        _fixed_weights(model)
        model.compile(_optimizer(jkeras, path, kwargs), "mse")
        model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
        model.save(os.path.join(folder, f"opt_{name}.h5"))
        np.save(os.path.join(folder, f"opt_{name}.y.npy"), model.predict(x, verbose=0))


def check_optimizers(folder, tfk):
    """tf.keras loads each jkeras file compiled (class, settings, state) and trains on; then it
    writes the same run itself (`tf_opt_<name>.h5` and its optimizer variables) for --verify."""
    x, y = _opt_data()
    results = {}
    for name, (path, kwargs) in OPTIMIZERS.items():
        res = results[name] = {}
        try:
            tfk.backend.clear_session()
            theirs = tfk.models.load_model(os.path.join(folder, f"opt_{name}.h5"))
            expected = np.load(os.path.join(folder, f"opt_{name}.y.npy"))
            diff = float(np.abs(theirs.predict(x, verbose=0) - expected).max())
            config = theirs.optimizer.get_config()
            want = _optimizer(tfk, path, kwargs).get_config()
            differs = {k: (config.get(k), v) for k, v in want.items()
                       if k != "name" and not np.allclose(np.float64(config.get(k, np.nan) if
                                                                     isinstance(v, (int, float)) else 0),
                                                          np.float64(v if isinstance(v, (int, float)) else 0))}
            state = _tf_slots(theirs.optimizer)
            iteration = int(state[0]) if state else -1
            theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
            res["tf.keras loads jkeras's"] = (
                f"{'ok' if not differs and iteration == 2 and diff < TOLERANCE else 'FAIL'} "
                f"({type(theirs.optimizer).__module__.split('.')[-2]}.{type(theirs.optimizer).__name__}, "
                f"iteration {iteration}, predictions {diff:.1e}"
                f"{', settings differ ' + str(differs) if differs else ''})")
        except Exception as error:  # noqa: BLE001 - report and go on
            res["tf.keras loads jkeras's"] = f"FAIL {type(error).__name__}: {str(error)[:300]}"
        try:
            tfk.backend.clear_session()
            model = _opt_model(tfk)
            _fixed_weights(model)
            model.compile(_optimizer(tfk, path, kwargs), "mse")
            model.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
            model.save(os.path.join(folder, f"tf_opt_{name}.h5"))
            np.savez(os.path.join(folder, f"tf_opt_{name}.npz"), y=model.predict(x, verbose=0),
                     *_tf_slots(model.optimizer))
            res["tf.keras writes"] = "written (jkeras loads it with --verify)"
        except Exception as error:  # noqa: BLE001
            res["tf.keras writes"] = f"FAIL {type(error).__name__}: {str(error)[:300]}"
    return results


def verify_optimizers(folder):
    """jkeras loads each `tf_opt_<name>.h5` compiled: same class and settings, every optimizer
    variable tf.keras had (iteration, slots) restored exactly, the same predictions."""
    import jkeras
    x, _ = _opt_data()
    results = {}
    for name in OPTIMIZERS:
        file = os.path.join(folder, f"tf_opt_{name}.h5")
        if not os.path.exists(file):
            continue
        try:
            data = np.load(os.path.join(folder, f"tf_opt_{name}.npz"))
            tf_vars = [data[f"arr_{i}"] for i in range(len(data.files) - 1)]
            ours = jkeras.models.load_model(file)
            diff = float(np.abs(ours.predict(x, verbose=0) - data["y"]).max())
            state = ours._opt_state
            slots = jkeras.optimizers.slots(state)
            ours_flat = [np.asarray(jkeras.optimizers.iterations(state))]
            for tree in slots.values():
                ours_flat += [np.asarray(v) for v in jax_leaves(tree)]
            matched = sum(any(a.shape == b.shape and np.allclose(a, b, rtol=0, atol=0) for b in ours_flat)
                          for a in tf_vars)
            results[name] = (f"{'ok' if matched == len(tf_vars) and diff < TOLERANCE else 'FAIL'} "
                             f"({type(ours.optimizer).__module__.split('.')[-1]}.{type(ours.optimizer).__name__}, "
                             f"{matched} of tf.keras's {len(tf_vars)} optimizer variables restored exactly, "
                             f"predictions {diff:.1e})")
        except Exception as error:  # noqa: BLE001
            results[name] = f"FAIL {type(error).__name__}: {str(error)[:300]}"
    return results


# ---- Keras 2's weight conversions on load ----
CONVERSIONS = [  # (name, source kind, target layer builder, jkeras target layer builder)
    ("CuDNNLSTM -> LSTM", "cudnn_lstm", lambda K: K.layers.LSTM(3), lambda J: J.layers.LSTM(3)),
    ("LSTM -> CuDNNLSTM", "lstm", None, lambda J: J.layers.CuDNNLSTM(3)),
    ("CuDNNGRU -> GRU", "cudnn_gru", lambda K: K.layers.GRU(3), lambda J: J.layers.GRU(3)),
    ("GRU -> CuDNNGRU", "gru", None, lambda J: J.layers.CuDNNGRU(3)),
]
_SOURCE_SHAPES = {"cudnn_lstm": [(2, 12), (3, 12), (24,)], "lstm": [(2, 12), (3, 12), (12,)],
                  "cudnn_gru": [(2, 9), (3, 9), (18,)], "gru": [(2, 9), (3, 9), (2, 9)]}


def write_conversions(folder):
    """jkeras converts random source weights as it does on load (`legacy_weights.preprocess`)."""
    import jkeras
    from jkeras.saving import legacy_weights
    rng = np.random.default_rng(4)
    out = {}
    for i, (name, source, _, ours) in enumerate(CONVERSIONS):
        values = [rng.normal(size=s).astype("float32") for s in _SOURCE_SHAPES[source]]
        layer = ours(jkeras)
        jkeras.Sequential([jkeras.Input((4, 2)), layer])
        converted = legacy_weights.preprocess(layer, values, "2.3.1", "tensorflow")
        out.update({f"{i}_in{k}": v for k, v in enumerate(values)})
        out.update({f"{i}_out{k}": np.asarray(v) for k, v in enumerate(converted)})
    np.savez(os.path.join(folder, "conversions.npz"), **out)


def check_conversions(folder, tfk):
    """tf.keras's own `_convert_rnn_weights` (Keras 2's) gives jkeras's arrays. tf.keras 2 has
    no CuDNN layer classes, so only the conversions into LSTM/GRU run there; the other
    direction is checked by converting back."""
    from tf_keras.src.saving.legacy import hdf5_format
    data = np.load(os.path.join(folder, "conversions.npz"))
    results = {}
    for i, (name, source, theirs, _) in enumerate(CONVERSIONS):
        inputs = [data[f"{i}_in{k}"] for k in range(3)]
        ours = [data[f"{i}_out{k}"] for k in range(3)]
        try:
            if theirs is not None:  # tf.keras converts the same source weights
                layer = theirs(tfk)
                layer.build((None, 4, 2))
                expected, got = hdf5_format._convert_rnn_weights(layer, inputs), ours
            else:  # into cuDNN's layout: tf.keras converting jkeras's result back gives the source
                layer = (tfk.layers.LSTM if source == "lstm" else tfk.layers.GRU)(3)
                layer.build((None, 4, 2))
                expected, got = inputs, hdf5_format._convert_rnn_weights(layer, ours)
            diff = max(float(np.abs(np.asarray(a) - np.asarray(b)).max()) for a, b in zip(expected, got))
            results[name] = f"{'ok' if diff <= 1e-6 else 'FAIL'} (maxdiff {diff:.1e})"
        except Exception as error:  # noqa: BLE001
            results[name] = f"FAIL {type(error).__name__}: {str(error)[:300]}"
    return results


def jax_leaves(tree):
    import jax
    return jax.tree.leaves(tree)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="DIR", help="only write the jkeras files to DIR")
    parser.add_argument("--check", metavar="DIR", help="only check files written earlier to DIR")
    parser.add_argument("--verify", metavar="DIR", help="jkeras loads what tf.keras wrote in DIR "
                        "(after --check DIR)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    if args.write:
        os.makedirs(args.write, exist_ok=True)
        write(args.write)
        write_optimizers(args.write)
        write_conversions(args.write)
        return 0
    if args.verify:
        return _report_verify(args.verify)
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
        write_optimizers(folder)
        write_conversions(folder)
    results = check(folder, tfk)
    results.update({f"optimizer {k}": v for k, v in check_optimizers(folder, tfk).items()})
    results["conversions"] = check_conversions(folder, tfk)
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


def _report_verify(folder):
    import jkeras
    failures = 0
    print(f"\ntf.keras-written files in jkeras {jkeras.__version__} ({folder}):")
    for name in MODELS:
        back = os.path.join(folder, f"{name}.tf_keras.h5")
        if os.path.exists(back):
            try:
                xs, _, _ = _load_npz(folder, name)
                # written by tf.keras in this run: trusted, so its Lambda's bytecode may load
                jkeras.models.load_model(back, custom_objects=CUSTOM, compile=False,
                                         safe_mode=False).predict(_feed(xs), verbose=0)
                result = "ok (loads and predicts)"
            except Exception as error:  # noqa: BLE001
                result = f"FAIL {type(error).__name__}: {str(error)[:300]}"
            failures += result.startswith("FAIL")
            print(f"  {name:10s} {'jkeras loads tf.keras model':32s} {result}")
    for name, result in verify_optimizers(folder).items():
        failures += result.startswith("FAIL")
        print(f"  optimizer {name:16s} jkeras loads tf.keras's: {result}")
    print(f"\n{failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""A canonical dump of the files jkeras writes, to compare two trees byte for byte.

Builds a dozen small models (trained two steps with a fixed seed), writes each as a whole-model
`.h5`, legacy `save_weights` `.h5`, Keras 3 `.weights.h5` and an Orbax checkpoint, and prints every
HDF5 group, attribute (with its value) and dataset (dtype, shape, sha256 of its bytes), and each
checkpoint's leaf names, shapes and digests; then each compiled model loaded back from its `.h5` and
its checkpoint, trained one more epoch and written again. Run it under two trees and diff the outputs:

    PYTHONPATH=/path/to/other/tree python scripts/dev/h5_snapshot.py > a.txt
    python scripts/dev/h5_snapshot.py > b.txt && diff a.txt b.txt
"""
import hashlib
import json
import os
import sys
import tempfile

import h5py
import numpy as np

import jkeras
from jkeras import layers as L


def _seq_bn():
    return jkeras.Sequential([L.Dense(4, input_shape=(3,)), L.BatchNormalization(), L.Dense(2)])


def _nested():
    inner = jkeras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(3)], name="inner")
    x = L.Input((3,))
    return jkeras.Model(x, L.Dense(2)(inner(x)))


def _nested_functional():
    a = L.Input((3,))
    inner = jkeras.Model(a, L.Dense(3)(L.Dense(4)(a)), name="inner_fn")
    x = L.Input((3,))
    return jkeras.Model(x, L.Dense(2)(inner(x)))


def _frozen_functional():
    model = _nested_functional()
    model.layers[1].layers[1].trainable = False
    return model


def _shared():
    a, b = L.Input((3,)), L.Input((3,))
    dense = L.Dense(2)
    return jkeras.Model([a, b], L.Add()([dense(a), dense(b)]))


def _recurrent(cell):
    def build():
        x = L.Input((5, 3))
        return jkeras.Model(x, L.Dense(2)(cell(x)))
    return build


def _embedding():
    return jkeras.Sequential([L.Embedding(10, 4, input_length=5), L.GlobalAveragePooling1D(), L.Dense(2)])


def _frozen():
    model = _nested()
    model.layers[1].layers[0].trainable = False
    return model


def _multi_output():
    x = L.Input((3,))
    h = L.Dense(4, activation="relu")(x)
    return jkeras.Model(x, [L.Dense(2, name="a")(h), L.Dense(2, name="b")(h)])


def _optimizers():
    return {
        "adam": lambda: jkeras.optimizers.Adam(1e-3),
        "sgd": lambda: jkeras.optimizers.SGD(1e-2, momentum=0.9, nesterov=True),
        "rmsprop": lambda: jkeras.optimizers.RMSprop(1e-3),
        "lso": lambda: jkeras.mixed_precision.LossScaleOptimizer(jkeras.optimizers.Adam(1e-3)),
    }


MODELS = [
    ("seq_bn", _seq_bn, "adam", "x"),
    ("seq_bn_sgd", _seq_bn, "sgd", "x"),
    ("nested", _nested, "rmsprop", "x"),
    ("shared", _shared, "adam", "xx"),
    ("lstm", _recurrent(lambda x: L.LSTM(4)(x)), "adam", "seq"),
    ("gru", _recurrent(lambda x: L.GRU(4)(x)), "sgd", "seq"),
    ("bidir", _recurrent(lambda x: L.Bidirectional(L.LSTM(3))(x)), "rmsprop", "seq"),
    ("embedding", _embedding, "adam", "ids"),
    ("multi_output", _multi_output, "sgd", "x"),
    ("lso", _seq_bn, "lso", "x"),
    ("frozen", _frozen, "adam", "x"),
    ("nested_fn", _nested_functional, "sgd", "x"),
    ("frozen_fn", _frozen_functional, "adam", "x"),
    ("uncompiled", _nested, None, "x"),
]


def _data(kind, outputs):
    rng = np.random.default_rng(0)
    x = {"x": rng.normal(size=(8, 3)), "seq": rng.normal(size=(8, 5, 3)),
         "ids": rng.integers(0, 10, size=(8, 5))}.get(kind)
    if kind == "xx":
        x = [rng.normal(size=(8, 3)), rng.normal(size=(8, 3))]
    y = rng.normal(size=(8, 2)).astype("float32")
    return x, ([y] * outputs if outputs > 1 else y)


def _dump_h5(path, out):
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            kind = "G" if isinstance(obj, h5py.Group) else "D"
            line = f"{kind} /{name}"
            if kind == "D":
                data = obj[()]
                line += f" {obj.dtype} {obj.shape} {hashlib.sha256(np.asarray(data).tobytes()).hexdigest()[:16]}"
            out.append(line)
            for key in obj.attrs:
                out.append(f"  @{key} = {_attr(obj.attrs[key])}")
        out.append("G /")
        for key in f.attrs:
            out.append(f"  @{key} = {_attr(f.attrs[key])}")
        f.visititems(visit)


def _attr(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {value.tolist()!r}"
    return f"{type(value).__name__} {value!r}"


def _dump_orbax(directory, out):
    from jkeras.saving import checkpoint
    meta = checkpoint.latest_meta(directory)
    out.append(json.dumps(meta, sort_keys=True, default=str))


def _resumed(name, kind, paths, tmp, out):
    """Each saved model loaded back and trained one more epoch, then written again: what loading
    restores (weights, optimizer state, step, seed) shows in the file."""
    for path in paths:
        try:
            model = jkeras.models.load_model(path)
        except ValueError as error:  # the dump records a failing load too
            out.append(f"=== {name} load {os.path.basename(path)}: {type(error).__name__}: "
                       f"{str(error).replace(tmp, '<tmp>')}")
            continue
        x, y = _data(kind, len(model.outputs))
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
        again = os.path.join(tmp, f"{name}_again.h5")
        model.save(again)
        out.append(f"=== {name} resumed from {os.path.basename(path)}")
        _dump_h5(again, out)


def main():
    print(f"# jkeras from {os.path.dirname(jkeras.__file__)}", file=sys.stderr)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, build, opt, kind in MODELS:
            jkeras.utils.set_random_seed(1)
            model = build()
            if opt is not None:
                loss = "mse" if len(model.outputs) == 1 else ["mse", "mae"]
                model.compile(_optimizers()[opt](), loss, metrics=["mae"])
                x, y = _data(kind, len(model.outputs))
                model.fit(x, y, batch_size=4, epochs=1, verbose=0, shuffle=False)
            for suffix, write in [("model.h5", model.save), ("weights.h5", model.save_weights),
                                  ("w.weights.h5", model.save_weights)]:
                path = os.path.join(tmp, f"{name}_{suffix}")
                write(path)
                out.append(f"=== {name} {suffix}")
                _dump_h5(path, out)
            ckpt = os.path.join(tmp, f"{name}_ckpt")
            model.save(ckpt)
            out.append(f"=== {name} orbax")
            _dump_orbax(ckpt, out)
            if opt is not None:
                _resumed(name, kind, [os.path.join(tmp, f"{name}_model.h5"), ckpt], tmp, out)
    print("\n".join(out))


if __name__ == "__main__":
    main()

"""Does a full-model `.h5` that jkeras writes load in tf.keras 2 and Keras 3, for every layer?

For each layer case of the layer harness (`tests/layer_harness.py`; the cases of every test
file that calls `run_layer_test`), jkeras builds the harness's model
(`Input -> pre -> layer -> Flatten -> Dense(2)`), draws its weights at random, and writes
`<case>.h5` with `model.save` plus `<case>.npz` (the inputs and jkeras's predictions). Keras 3
(`KERAS_BACKEND=jax`) and tf.keras 2 (`tf_keras`) then load each file with `load_model` and
predict the same inputs; a case passes when the predictions agree to 1e-4.

    python scripts/check_layers_peers.py                # write, Keras 3 here, tf.keras in /opt/tfref
    python scripts/check_layers_peers.py --all          # every harness case, not one per class
    python scripts/check_layers_peers.py --write DIR    # only write DIR (jkeras)
    python scripts/check_layers_peers.py --keras3 DIR   # only Keras 3 loads DIR's files
    /opt/tfref/bin/python scripts/check_layers_peers.py --tf-keras DIR   # only tf.keras loads

tf.keras runs in its own environment (`--tf-python`, default `/opt/tfref/bin/python`), which
needs no jax: what it needs is in `DIR/cases.json` (the custom functions as source). Layers a
peer lacks are reported as `absent`, not as failures; a custom class (not a function) cannot
travel to the other library and is reported as `custom class`.
"""
import argparse
import importlib
import inspect
import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOLERANCE = 1e-4
TF_PYTHON = "/opt/tfref/bin/python"


# ---- the cases (jkeras side) ----
class _Recorded(Exception):
    """Stops a harness test once its `run_layer_test` call is recorded."""


def harness_cases():
    """Every `run_layer_test(...)` call the harness test files make, as `(test id, args, kwargs)`:
    each test function that calls it runs with `run_layer_test` replaced by a recorder."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    os.environ.setdefault("KERAS_BACKEND", "jax")
    import layer_harness
    calls = []

    def record(*args, **kwargs):
        calls.append((args, kwargs))
        raise _Recorded

    layer_harness.run_layer_test = record
    cases = []
    for name in sorted(os.listdir(os.path.join(ROOT, "tests"))):
        if not (name.startswith("test_") and name.endswith(".py")):
            continue
        with open(os.path.join(ROOT, "tests", name)) as f:
            if "run_layer_test" not in f.read():
                continue
        module = importlib.import_module(name[:-3])
        module.run_layer_test = record
        for fname, fn in list(vars(module).items()):
            if not (fname.startswith("test_") and inspect.isfunction(fn)
                    and "run_layer_test" in inspect.getsource(fn)):
                continue
            for i, params in enumerate(_parameter_sets(fn)):
                del calls[:]
                try:
                    fn(**params)
                except _Recorded:
                    pass
                except Exception:  # noqa: BLE001 - a test that needs fixtures or more: not a case
                    continue
                cases += [(f"{name[5:-3]}.{fname[5:]}[{i}]", a, k) for a, k in calls]
    return cases


def _parameter_sets(fn):
    """The keyword sets pytest would call `fn` with (stacked `parametrize` marks multiply);
    `cheap_keras_init` (it only speeds up Keras) is given None; a function that needs another
    fixture gives none."""
    marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
    grids = []
    for mark in marks:
        names = [n.strip() for n in mark.args[0].split(",")] if isinstance(mark.args[0], str) \
            else list(mark.args[0])
        rows = []
        for values in mark.args[1]:
            values = getattr(values, "values", values)
            rows.append(dict(zip(names, values if len(names) > 1 else [values])))
        grids.append(rows)
    wanted = set(inspect.signature(fn).parameters)
    for combo in itertools.product(*grids):
        params = {k: v for row in combo for k, v in row.items()}
        if "cheap_keras_init" in wanted:
            params["cheap_keras_init"] = None
        if set(params) == wanted:
            yield params


IMAGES = (2, 4, 4, 3)
EXTRA_CASES = [  # public layers no harness test covers: `run_layer_test`'s (args, kwargs)
    (("CuDNNLSTM", dict(units=2), (2, 4, 3)), {}),
    (("CuDNNGRU", dict(units=2), (2, 4, 3)), {}),
    (("IntegerLookup", dict(vocabulary=[1, 2, 3]), (2, 4)), dict(input_dtype="int32")),
    (("RandomFlip", {}, IMAGES), {}),
    (("RandomContrast", dict(factor=0.2), IMAGES), {}),
    (("RandomBrightness", dict(factor=0.2), IMAGES), {}),
    (("RandomCrop", dict(height=2, width=3), IMAGES), {}),
    (("RandomHeight", dict(factor=0.2), IMAGES), {}),
    (("RandomWidth", dict(factor=0.2), IMAGES), {}),
    (("RandomTranslation", dict(height_factor=0.1, width_factor=0.1), IMAGES), {}),
    (("RandomZoom", dict(height_factor=0.1), IMAGES), {}),
    ((lambda lib, **kw: lib.layers.SpectralNormalization(lib.layers.Dense(2), **kw), {}, (2, 4)), {}),
    (("Lambda", dict(function=lambda x: x * 2.0), (2, 4)), {}),  # a Python lambda: its bytecode
]


def write(folder, every=False):
    """jkeras writes `<case>.h5` and `<case>.npz` per case, and `cases.json` describing them."""
    import jkeras
    cases = harness_cases() + [(f"extra[{i}]", a, k) for i, (a, k) in enumerate(EXTRA_CASES)]
    import layer_harness as H
    from jkeras.saving import serialization
    manifest, seen = [], set()
    for test_id, args, kwargs in cases:
        layer, layer_kwargs = args[0], (args[1] if len(args) > 1 else kwargs.get("kwargs"))
        shape = args[2] if len(args) > 2 else kwargs.get("input_shape", (2, 3))
        entry = {"case": test_id}
        try:
            jkeras.backend.clear_session()
            rng = np.random.default_rng(0)
            shapes = shape if isinstance(shape, list) else [shape]
            dtype = kwargs.get("input_dtype", "float32")
            xs = H._as_list(kwargs["input_data"]) if kwargs.get("input_data") is not None else [
                H._random_input(rng, s, dtype, kwargs.get("input_range", (0, 5))) for s in shapes]
            fixed = bool(H._resolve(layer_kwargs, jkeras).get("stateful"))
            model, built, _ = H._model(jkeras, H._maker(jkeras, layer), H._resolve(layer_kwargs, jkeras),
                                       shapes=shapes, dtype=dtype, pre=kwargs.get("pre"), fixed_batch=fixed)
            cls = type(built).__name__
            entry.update(layer=cls, peer_class=_peer_class(kwargs, cls), config=_short(built.get_config()))
            classes = _class_names(serialization.model_config(model))
            if not every and classes <= seen and not test_id.startswith("extra"):
                # one model per class: a harness case that adds none is left out
                continue
            seen |= classes
            model.set_weights([H._random_weight(rng, w.name, w.shape) for w in model.weights])
            custom = dict(kwargs.get("custom_objects") or {})
            entry["functions"] = {k: textwrap.dedent(inspect.getsource(v)) for k, v in custom.items()
                                  if inspect.isfunction(v)}
            entry["classes"] = sorted(k for k, v in custom.items() if inspect.isclass(v))
            name = f"{len(manifest):03d}_{cls}"
            model.save(os.path.join(folder, f"{name}.h5"))
            y = H._as_list(model.predict(H._one(xs), verbose=0))
            np.savez(os.path.join(folder, f"{name}.npz"), **{f"x{i}": v for i, v in enumerate(xs)},
                     **{f"y{i}": np.asarray(v) for i, v in enumerate(y)})
            entry["file"] = name
        except Exception as error:  # noqa: BLE001 - a case jkeras cannot write is a result too
            if not every and entry.get("layer") in seen:
                continue
            seen.add(entry.get("layer"))
            entry["write_error"] = f"{type(error).__name__}: {str(error)[:300]}"
        manifest.append(entry)
    untested = _untested(jkeras, seen)
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump({"cases": manifest, "no_case": untested}, f, indent=1)
    print(f"wrote {sum('file' in e for e in manifest)} models to {folder}; "
          f"{len(untested)} public layer classes have no harness case")


def _class_names(config):
    """Every `class_name` in a config tree (nested layers, cells and wrapped layers too)."""
    if isinstance(config, list):
        return set().union(*map(_class_names, config)) if config else set()
    if not isinstance(config, dict):
        return set()
    own = {config["class_name"]} if isinstance(config.get("class_name"), str) else set()
    return own.union(*map(_class_names, config.values()))


def _untested(jkeras, written):
    """Public layer classes (aliases counted once) no written model holds, abstract bases aside."""
    abstract = {jkeras.layers.Layer, jkeras.layers.Wrapper, jkeras.layers.InputLayer,
                jkeras.layers.AbstractRNNCell, getattr(jkeras.layers, "BackendOp", None)}
    done = {getattr(jkeras.layers, n, None) for n in written}
    names = {}
    for n, c in sorted(vars(jkeras.layers).items()):
        if isinstance(c, type) and issubclass(c, jkeras.layers.Layer) and not n.startswith("_") \
                and c not in abstract and c not in done:
            names.setdefault(c, n)
    return sorted(names.values())


def _peer_class(kwargs, cls):
    """The peers' class name: `keras_layer=False` marks a layer Keras 3 lacks."""
    if kwargs.get("keras_layer") is False:
        return None
    return cls


def _short(config):
    text = json.dumps(config, default=str)
    return text if len(text) < 300 else text[:297] + "..."


# ---- loading in a peer ----
def _cases(folder):
    with open(os.path.join(folder, "cases.json")) as f:
        return json.load(f)


def _inputs_outputs(folder, name):
    data = np.load(os.path.join(folder, f"{name}.npz"))
    pick = lambda p: [data[k] for k in sorted((k for k in data if k[0] == p), key=lambda k: int(k[1:]))]
    return pick("x"), pick("y")


def check_peer(folder, peer):
    """`{file: result}` for every written case, loaded by `peer` ("keras3" or "tf_keras")."""
    if peer == "keras3":
        os.environ.setdefault("KERAS_BACKEND", "jax")
        lib = importlib.import_module("keras")
        load = lambda path, custom: lib.models.load_model(path, custom_objects=custom, compile=False,
                                                            safe_mode=False)
    else:
        lib = importlib.import_module("tf_keras")
        load = lambda path, custom: lib.models.load_model(path, custom_objects=custom, compile=False)
    results = {}
    for entry in _cases(folder)["cases"]:
        if "file" not in entry:
            continue
        name = entry["file"]
        results[name] = _check_one(lib, load, folder, entry)
    return results


def _check_one(lib, load, folder, entry):
    cls = entry["peer_class"]
    if cls is None or not hasattr(lib.layers, cls):
        return "absent (the peer has no such layer)"
    if entry["classes"]:
        return f"custom class {entry['classes']} (not portable)"
    custom = {}
    for fname, source in entry["functions"].items():
        scope = {}
        exec(source, scope)  # noqa: S102 - the harness's own plain functions, written by --write
        custom[fname] = scope[fname]
    xs, expected = _inputs_outputs(folder, entry["file"])
    try:
        lib.backend.clear_session()
        model = load(os.path.join(folder, f"{entry['file']}.h5"), custom)
        got = model.predict(xs[0] if len(xs) == 1 else xs, verbose=0)
        got = [np.asarray(g) for g in (got if isinstance(got, (list, tuple)) else [got])]
        diff = max(float(np.abs(a.astype("float64") - b.astype("float64")).max()) for a, b in zip(got, expected))
        if len(got) != len(expected) or not diff <= TOLERANCE:
            return f"FAIL predictions differ by {diff:.1e}"
        return f"ok ({diff:.0e})"
    except Exception as error:  # noqa: BLE001 - every failure is a result
        traceback.print_exc(limit=1)
        return f"FAIL {type(error).__name__}: {' '.join(str(error).split())[:240]}"


# ---- driver ----
def _run_tf_keras(folder, python):
    """tf.keras's results, from `python --tf-keras folder` in tf.keras's own environment."""
    out = os.path.join(folder, "tf_keras.json")
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    proc = subprocess.run([python, os.path.abspath(__file__), "--tf-keras", folder, "--json", out],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not os.path.exists(out):
        raise RuntimeError(f"tf.keras run failed:\n{proc.stderr[-2000:]}")
    with open(out) as f:
        return json.load(f)


def report(folder, columns):
    """The table: one row per case, one column per peer; returns the number of failures."""
    cases = _cases(folder)
    print(f"\n| layer | case | {' | '.join(columns)} |\n|---|---|{'---|' * len(columns)}")
    failures = 0
    for entry in cases["cases"]:
        if "file" not in entry:
            print(f"| {entry.get('layer', '?')} | {entry['case']} | jkeras cannot write: "
                  f"{entry['write_error']} |")
            failures += 1
            continue
        row = [columns[c].get(entry["file"], "-") for c in columns]
        failures += sum(r.startswith("FAIL") for r in row)
        print(f"| {entry['layer']} | {entry['case']} | {' | '.join(row)} |")
    for peer, results in columns.items():
        bad = sum(r.startswith("FAIL") for r in results.values())
        print(f"\n{peer}: {len(results) - bad} of {len(results)} load and predict (or are absent there), "
              f"{bad} fail")
    if cases["no_case"]:
        print(f"\npublic layer classes with no harness case: {', '.join(cases['no_case'])}")
    return failures


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="DIR", help="only write the jkeras files to DIR")
    parser.add_argument("--keras3", metavar="DIR", help="only load DIR's files in Keras 3")
    parser.add_argument("--tf-keras", metavar="DIR", help="only load DIR's files in tf.keras 2")
    parser.add_argument("--all", action="store_true", help="every harness case, not one per class")
    parser.add_argument("--tf-python", default=TF_PYTHON, help="the Python that has tf_keras")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    args = parser.parse_args(argv)
    if args.write:
        os.makedirs(args.write, exist_ok=True)
        write(args.write, args.all)
        return 0
    if args.keras3 or args.tf_keras:
        folder, peer = (args.keras3, "keras3") if args.keras3 else (args.tf_keras, "tf_keras")
        results = check_peer(folder, peer)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        else:
            report(folder, {peer: results})
        return 0
    folder = tempfile.mkdtemp(prefix="jkeras_layers_peers_")
    write(folder, args.all)
    columns = {"Keras 3": check_peer(folder, "keras3")}
    if os.path.exists(args.tf_python):
        columns["tf.keras 2"] = _run_tf_keras(folder, args.tf_python)
    else:
        print(f"tf.keras 2 skipped: {args.tf_python} does not exist (see --tf-python)")
    failures = report(folder, columns)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"folder": folder, "results": columns}, f, indent=1)
    print(f"\n{failures} failure(s); files in {folder}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

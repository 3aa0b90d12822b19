"""Fuzz jkeras's loaders: damaged `.h5` files, model configs (JSON, YAML), Orbax folders.

    python scripts/fuzz.py --cases 5000 [--seed 0] [--kinds h5_flip,json,...] [--timeout 60]

Every case starts from a valid file written by jkeras, damages it (flipped bytes,
truncation, wrong dtypes/shapes, huge declared shapes, missing or extra
attributes, chunked names with gaps, non-UTF-8 names, links to other files;
configs with unknown classes, wrong types, deep nesting, cycles, huge numbers,
YAML tags and aliases; checkpoint files deleted, truncated, overwritten) and
loads it. A case passes when the load succeeds or raises a `jkeras.errors.JkerasError`,
and a failed `load_weights`/`restore_checkpoint` leaves the model's values as they
were. Anything else is a finding: another exception type escaping, a crash of the
process (segfault, abort), a hang (no result within --timeout seconds), memory growth
beyond --max-rss-mb, or a half-loaded model.

Cases run in a worker process; when it dies or hangs the parent records the case
and starts a new worker. The report lists counts per outcome (exception type) and
per case kind, and every finding with the seed that reproduces it
(`--replay KIND:SEED`).

tests/test_fuzz.py drives the same mutators from hypothesis (the quick profile).
"""
import argparse
import base64
import collections
import json
import marshal
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import types

KINDS = ("h5_flip", "h5_truncate", "h5_struct", "json", "yaml", "ckpt")
LAYER_FIELDS = ("units", "filters", "rate", "axis", "kernel_size", "strides", "activation", "name",
                "batch_input_shape", "use_bias", "dtype", "epsilon", "momentum", "trainable")


# ---- where the randomness comes from: random.Random here, hypothesis in the tests ----
class RandomSource:
    def __init__(self, rng):
        self.rng = rng

    def integer(self, lo, hi):
        return self.rng.randint(lo, hi)

    def choice(self, options):
        return options[self.rng.randrange(len(options))]

    def boolean(self):
        return self.rng.random() < 0.5

    def raw(self, n):
        return bytes(self.rng.randrange(256) for _ in range(n))


# ---- the valid files every case starts from ----
def _xy():
    import numpy as np
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    return x, np.eye(3, dtype="float32")[rng.integers(0, 3, 16)]


def build_model():
    import jkeras
    from jkeras import layers
    return jkeras.Sequential([layers.Dense(5, activation="relu", input_shape=(6,), name="d1"),
                              layers.BatchNormalization(name="bn"),
                              layers.Dense(3, activation="softmax", name="d2")], name="fuzz")


def build_functional():
    import jkeras
    from jkeras import layers
    a, b = layers.Input((6,), name="a"), layers.Input((4,), name="b")
    shared = layers.Dense(4, name="shared")
    h = layers.Concatenate(name="cat")([shared(a), layers.Dense(4, name="db")(b)])
    h = layers.Dropout(0.1, name="drop")(h)
    out = layers.Dense(2, activation="softmax", name="out")(h)
    return jkeras.Model([a, b], out, name="fun")


def make_seeds(folder):
    """Write the valid files; returns `{name: path}` and the JSON configs."""
    import jkeras
    x, y = _xy()
    jkeras.utils.set_random_seed(0)
    model = build_model()
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    paths = {"model.h5": os.path.join(folder, "model.h5"), "w.h5": os.path.join(folder, "w.h5"),
             "w.weights.h5": os.path.join(folder, "w.weights.h5"),
             "fun.h5": os.path.join(folder, "fun.h5"), "ckpt": os.path.join(folder, "ckpt")}
    model.save(paths["model.h5"])
    model.save_weights(paths["w.h5"])
    model.save_weights(paths["w.weights.h5"])
    model.save(paths["ckpt"])
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    model.save(paths["ckpt"])
    fun = build_functional()
    fun.compile("sgd", "mse")
    fun.save(paths["fun.h5"])
    configs = {"seq": json.loads(model.to_json()), "fun": json.loads(fun.to_json())}
    return paths, configs


# ---- config mutators ----
def _containers(value, path=()):
    """`[(path, container)]` of every dict and list in `value`."""
    out = []
    if isinstance(value, (dict, list)):
        out.append((path, value))
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            out += _containers(v, path + (k,))
    return out


def _odd_value(src):
    return src.choice([
        None, True, -1, 0, 2 ** 31, 2 ** 63, 10 ** 30, -10 ** 30, 1e308, float("inf"), float("nan"),
        -0.5, "", "relu", "\udcff", "x" * 5000, [], {}, [None], {"class_name": "Dense"},
        {"class_name": "NoSuchLayer", "config": {}}, [[["nowhere", 0, 0, {}]]],
        {"class_name": "__lambda__", "config": {"code": "AAAA", "defaults": None, "closure": None}},
        {"class_name": "function", "config": "print"}, {"class_name": "os.system", "config": "ls"},
        [1, 2, 3], [None, 10 ** 9], [None, -3], "eval", "__import__('os').system('ls')"])


def _payload(marker):
    module = compile(f"lambda x: (open({marker!r}, 'w').close(), x)[1]", "<payload>", "eval")
    code = next(c for c in module.co_consts if isinstance(c, types.CodeType))
    return base64.b64encode(marshal.dumps(code)).decode("ascii")


def _layer_entries(config):
    layers = config.get("config", {}).get("layers") if isinstance(config.get("config"), dict) else None
    return layers if isinstance(layers, list) else []


def mutate_config(src, config, marker="/nonexistent/jkeras-fuzz-marker"):
    """A damaged copy of `config` (a `{"class_name", "config"}` dict) and what was done."""
    config = json.loads(json.dumps(config))
    layers = _layer_entries(config)
    op = src.choice(["set", "delete", "unknown_class", "deep", "cycle", "huge", "swap", "dup_name",
                     "lambda", "refs", "set", "layer_field"])
    if op in ("cycle", "refs", "dup_name", "unknown_class", "layer_field", "lambda", "huge") and not layers:
        op = "set"
    if op == "set":
        spots = _containers(config)
        path, target = src.choice(spots)
        if isinstance(target, dict) and target:
            target[src.choice(sorted(target))] = _odd_value(src)
        elif isinstance(target, list) and target:
            target[src.integer(0, len(target) - 1)] = _odd_value(src)
        else:
            config["config"] = _odd_value(src)
    elif op == "delete":
        spots = [(p, c) for p, c in _containers(config) if c]
        path, target = src.choice(spots)
        if isinstance(target, dict):
            del target[src.choice(sorted(target))]
        else:
            del target[src.integer(0, len(target) - 1)]
    elif op == "unknown_class":
        entry = src.choice(layers)
        entry["class_name"] = src.choice(["NoSuchLayer", "os.system", "eval", "", "Functional",
                                          "Sequential", "Lambda", "InputLayer", "Model"])
    elif op == "deep":
        depth = src.integer(150, 600)
        value = 1
        for _ in range(depth):
            value = [value] if src.boolean() else {"config": value}
        spots = [c for _, c in _containers(config) if isinstance(c, dict)]
        target = src.choice(spots)
        target[src.choice(sorted(target) or ["x"])] = value
    elif op == "cycle":
        named = [e for e in layers if isinstance(e, dict) and isinstance(e.get("name"), str)]
        if len(named) >= 2:
            a, b = src.choice(named), src.choice(named)
            a["inbound_nodes"] = [[[b["name"], 0, 0, {}]]]
            b["inbound_nodes"] = [[[a["name"], src.integer(0, 2), 0, {}]]]
        elif named:
            named[0]["inbound_nodes"] = [[[named[0]["name"], 0, 0, {}]]]
    elif op == "huge":
        entry = src.choice(layers)
        cfg = entry.setdefault("config", {}) if isinstance(entry, dict) else {}
        if isinstance(cfg, dict):
            cfg[src.choice(["units", "filters", "input_dim", "output_dim", "rate", "axis"])] = src.choice(
                [10 ** 7, 10 ** 9, 10 ** 12, 2 ** 62, 10 ** 40, -10 ** 9, 1e300])
            if src.boolean():
                cfg["batch_input_shape"] = [None, src.choice([10 ** 6, 10 ** 9, 10 ** 13, -5])]
    elif op == "swap":
        spots = [(p, c) for p, c in _containers(config) if p]
        if spots:
            path, target = src.choice(spots)
            parent = config
            for k in path[:-1]:
                parent = parent[k]
            parent[path[-1]] = (list(target.values()) if isinstance(target, dict)
                                else {str(i): v for i, v in enumerate(target)})
    elif op == "dup_name":
        a, b = src.choice(layers), src.choice(layers)
        if isinstance(a, dict) and isinstance(b, dict):
            a["name"] = b.get("name")
            if isinstance(a.get("config"), dict):
                a["config"]["name"] = b.get("name")
    elif op == "lambda":
        entry = src.choice(layers)
        entry["class_name"] = "Lambda"
        code = _payload(marker)
        entry["config"] = (
            {"name": "pwn", "function": {"class_name": "__lambda__",
                                         "config": {"code": code, "defaults": None, "closure": None}},
             "arguments": {}}
            if src.boolean() else
            {"name": "pwn", "function": [code, None, None], "function_type": "lambda", "arguments": {}})
    elif op == "refs":
        entry = src.choice(layers)
        entry["inbound_nodes"] = src.choice([
            [[["a", 5, 0, {}]]], [[["a", 0, 7, {}]]], [[["a", -1, 0, {}]]], [[["a", "0", 0, {}]]],
            [[["a"]]], [[[None, 0, 0, {}]]], [["a", 0, 0]], {"args": 1}, [{"args": [{"class_name":
             "__keras_tensor__", "config": {"keras_history": ["zz", 0, 0]}}], "kwargs": {}}],
            [[["a", 0, 0, []]]], "a", [[["a", 0, 0, {"training": "yes", "mask": 3}]]]])
        if src.boolean() and isinstance(config.get("config"), dict):
            config["config"][src.choice(["input_layers", "output_layers"])] = src.choice(
                [[], [["zz", 0, 0]], ["a", 9, 0], [["a", 0, 0, 0]], 5, [["a", 0, -2]]])
    elif op == "layer_field":
        entry = src.choice(layers)
        if isinstance(entry, dict) and isinstance(entry.get("config"), dict):
            entry["config"][src.choice(LAYER_FIELDS)] = _odd_value(src)
    return config, op


def mutate_json_text(src, text):
    """Character-level damage to a JSON text."""
    chars = list(text)
    for _ in range(src.integer(1, 6)):
        i = src.integer(0, max(len(chars) - 1, 0))
        op = src.integer(0, 3)
        if op == 0 and chars:
            del chars[i]
        elif op == 1:
            chars.insert(i, src.choice(list('{}[]",:0-e9\\\x00\udcff') + ["1" * 5000, "NaN"]))
        elif chars:
            chars[i] = src.choice(list('{}[]",:0a '))
    return "".join(chars)


def yaml_attack(src, marker):
    return src.choice([
        f"!!python/object/apply:os.system ['touch {marker}']",
        f"class_name: Sequential\nconfig:\n  name: !!python/object/apply:os.system ['touch {marker}']\n"
        "  layers: []\n",
        f"!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/module:os",
        # billion laughs: aliases expand exponentially when walked
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nclass_name: Sequential\nconfig: {layers: *g}\n",
        "&a [*a]",
        "class_name: &c {x: *c}\n",
        "class_name: Sequential\nconfig: !!binary aGVsbG8=\n",
        "class_name: Sequential\nconfig: {name: 2001-12-14, layers: []}\n",
        "class_name: Sequential\nconfig: {name: x, layers: !!set {a: null}}\n",
        "[" * 5000,
        "class_name: Sequential\n  bad indent: [\n",
        "\xff\xfe",
        "class_name: Sequential\nconfig: {name: s, layers: [{class_name: Dense, config: {units: "
        + "9" * 5000 + "}}]}\n",
    ])


# ---- h5 mutators ----
def flip_bytes(src, data):
    data = bytearray(data)
    for _ in range(src.integer(1, 8)):
        if src.boolean():
            i = src.integer(0, min(len(data), 4096) - 1)  # superblock and root headers
        else:
            i = src.integer(0, len(data) - 1)
        data[i] ^= src.integer(1, 255)
    return bytes(data)


def _objects(f):
    import h5py
    out = [f]

    def visit(name, obj):
        out.append(obj)
    f.visititems(visit)
    return [o for o in out if isinstance(o, (h5py.Group, h5py.Dataset))]


def mutate_h5_struct(src, path, other_file, marker):
    """Damage the structure of the `.h5` at `path` in place with h5py; returns what was done."""
    import h5py
    import numpy as np
    with h5py.File(path, "r+") as f:
        objects = _objects(f)
        groups = [o for o in objects if isinstance(o, h5py.Group)]
        datasets = [o for o in objects if isinstance(o, h5py.Dataset)]
        with_attrs = [o for o in objects if len(o.attrs)]
        op = src.choice(["del_attr", "add_attr", "bad_attr", "chunk_names", "dtype", "shape", "huge",
                         "scalar", "delete", "group_for_dataset", "dataset_for_group", "link",
                         "bad_name", "config", "bad_attr", "huge", "dtype", "empty_names"])
        if op == "del_attr" and with_attrs:
            obj = src.choice(with_attrs)
            del obj.attrs[src.choice(sorted(obj.attrs))]
        elif op == "add_attr":
            obj = src.choice(objects)
            name = src.choice(["layer_names", "weight_names", "layer_names0", "layer_names1",
                               "weight_names2", "model_config", "training_config", "backend", "zz"])
            obj.attrs[name] = src.choice([np.asarray([b"d1", b"zz"]), np.int64(3), b"{}",
                                          np.zeros((4, 4)), b"\xff\xfe"])
        elif op == "bad_attr" and with_attrs:
            obj = src.choice(with_attrs)
            name = src.choice(sorted(obj.attrs))
            obj.attrs[name] = src.choice([
                np.int64(7), np.zeros(3), b"\xff\xfe\xfd", np.asarray([b"ok", b"\xff\xfe"]),
                b"", np.asarray([]), b"not json {", b"[]", b"null", b"1e999",
                json.dumps({"class_name": "Sequential", "config": {"layers": 5}}).encode(),
                np.asarray([1.5, 2.5]), np.asarray([b"a" * 300] * 3), "unicode \u00e9 text",
                np.asarray(["x", "y"], dtype=h5py.string_dtype()), b"x" * 70000])
        elif op in ("chunk_names", "empty_names"):
            holders = [o for o in objects if "layer_names" in o.attrs or "weight_names" in o.attrs]
            if holders:
                obj = src.choice(holders)
                attr = "layer_names" if "layer_names" in obj.attrs else "weight_names"
                names = list(np.asarray(obj.attrs[attr]).reshape(-1))
                del obj.attrs[attr]
                if op == "empty_names":
                    obj.attrs[attr] = np.asarray([])
                else:
                    pattern = src.choice([(0, 2), (1, 2), (0, 0), (0, 1, 3), (5,), (0, 1)])
                    for k, index in enumerate(pattern):
                        chunk = names[k::len(pattern)] if names else [b"x"]
                        obj.attrs[f"{attr}{index}"] = np.asarray(chunk or [b"x"])
        elif op in ("dtype", "shape", "huge", "scalar") and datasets:
            ds = src.choice(datasets)
            parent, name, shape = ds.parent, ds.name.rsplit("/", 1)[-1], ds.shape
            del parent[name]
            if op == "dtype":
                kind = src.choice(["S5", "c8", "bool", "i8", "f2", "vlen", "compound", "u1"])
                if kind == "vlen":
                    parent.create_dataset(name, shape=shape, dtype=h5py.string_dtype())
                elif kind == "compound":
                    parent.create_dataset(name, shape=shape, dtype=np.dtype([("a", "f4"), ("b", "i4")]))
                else:
                    parent.create_dataset(name, data=np.ones(shape, dtype=kind))
            elif op == "shape":
                new = tuple(src.integer(0, 7) for _ in range(src.integer(0, 3)))
                parent.create_dataset(name, data=np.zeros(new, "float32"))
            elif op == "huge":
                new = src.choice([(2 ** 40,), (2 ** 20, 2 ** 20), (2 ** 31, 2 ** 31),
                                  tuple(s * 2 ** 16 for s in shape) or (2 ** 40,),
                                  (shape[0] if shape else 1, 2 ** 40)])
                parent.create_dataset(name, shape=new, dtype="float32", chunks=tuple(1 for _ in new))
            else:
                parent.create_dataset(name, data=np.float32(1.0))
        elif op == "delete":
            obj = src.choice(objects[1:] or objects)
            if obj.name != "/":
                del obj.parent[obj.name.rsplit("/", 1)[-1]]
        elif op == "group_for_dataset" and datasets:
            ds = src.choice(datasets)
            parent, name = ds.parent, ds.name.rsplit("/", 1)[-1]
            del parent[name]
            parent.create_group(name).attrs["weight_names"] = np.asarray([b"x"])
        elif op == "dataset_for_group" and len(groups) > 1:
            g = src.choice(groups[1:])
            parent, name = g.parent, g.name.rsplit("/", 1)[-1]
            del parent[name]
            parent.create_dataset(name, data=np.zeros(3))
        elif op == "link" and objects[1:]:
            obj = src.choice(objects[1:])
            parent, name, full = obj.parent, obj.name.rsplit("/", 1)[-1], obj.name
            link = src.choice([h5py.ExternalLink(other_file, full),
                               h5py.ExternalLink("/etc/passwd", "/x"),
                               h5py.ExternalLink(marker, "/x"),
                               h5py.SoftLink("/"), h5py.SoftLink("/nowhere"),
                               h5py.SoftLink(parent.name)])
            del parent[name]
            parent[name] = link
        elif op == "bad_name" and len(groups) > 1:
            g = src.choice(groups[1:])
            parent, name = g.parent, g.name.rsplit("/", 1)[-1]
            bad = src.choice([b"\xff\xfe", b"d1\xc3", b"\x80abc"])
            parent.move(name, bad)
            holder = parent if "layer_names" in parent.attrs else None
            if holder is not None and src.boolean():
                names = [bad if n == name.encode() else n
                         for n in np.asarray(holder.attrs["layer_names"]).reshape(-1)]
                holder.attrs["layer_names"] = np.asarray(names)
        elif op == "config" and "model_config" in f.attrs:
            config = json.loads(f.attrs["model_config"])
            config, _ = mutate_config(src, config, marker)
            f.attrs["model_config"] = json.dumps(config).encode("utf8", "surrogatepass")
        else:
            op = "noop"
    return op


# ---- checkpoint mutators ----
def mutate_checkpoint(src, folder):
    files, dirs = [], []
    for root, subdirs, names in os.walk(folder):
        files += [os.path.join(root, n) for n in names]
        dirs += [os.path.join(root, d) for d in subdirs]
    files.sort()
    dirs.sort()
    ops = []
    for _ in range(src.integer(1, 3)):
        op = src.choice(["delete", "truncate", "flip", "garbage", "rmdir", "empty", "json"])
        live = [p for p in files if os.path.exists(p)]
        if op == "rmdir" and dirs:
            d = src.choice(dirs)
            shutil.rmtree(d, ignore_errors=True)
        elif live:
            path = src.choice(live)
            data = open(path, "rb").read()
            if op == "delete":
                os.unlink(path)
            elif op == "truncate":
                open(path, "wb").write(data[:src.integer(0, max(len(data) - 1, 0))])
            elif op == "flip" and data:
                open(path, "wb").write(flip_bytes(src, data))
            elif op == "empty":
                open(path, "wb").close()
            elif op == "json":
                open(path, "w").write(src.choice(['{"step": -1}', "[]", "null", '{"shapes": 5}',
                                                  '{"step": 0, "epoch": 0, "batch": 0, "shapes": {}}']))
            else:
                open(path, "wb").write(src.raw(src.integer(0, 64)))
        ops.append(op)
    return "+".join(ops)


# ---- running one case ----
class Harness:
    """The seed files and a target model to load weights into, for one process."""

    def __init__(self, folder):
        import numpy as np
        from jkeras.saving import h5_probe, serialization
        serialization.MAX_LAYER_WEIGHTS = 2 ** 24  # a declared size above this is refused unbuilt
        h5_probe.TIMEOUT_S = 10.0  # well under a case's timeout: libhdf5 looping is an error, not a HANG
        self.folder = folder
        self.paths, self.configs = make_seeds(folder)
        self.target = build_model()
        self.target.compile("adam", "categorical_crossentropy")
        self.target.predict(np.zeros((1, 6), "float32"), verbose=0)
        self.marker = os.path.join(folder, "PWNED")
        self.work = os.path.join(folder, "work")
        self.blobs = {k: open(v, "rb").read() for k, v in self.paths.items() if k.endswith(".h5")}

    def _snapshot(self):
        import numpy as np
        return [np.array(w) for w in self.target.get_weights()]

    def _unchanged(self, before):
        import numpy as np
        after = self.target.get_weights()
        return all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after))

    def _load_all(self, path, is_model):
        """Load `path` every way that applies; returns the outcome names."""
        from jkeras.errors import JkerasError
        import jkeras
        outcomes = []
        attempts = [("load_weights", lambda: self.target.load_weights(path))]
        if is_model:
            attempts.insert(0, ("load_model", lambda: jkeras.models.load_model(path)))
        for what, fn in attempts:
            before = self._snapshot() if what == "load_weights" else None
            try:
                fn()
                outcomes.append("ok")
            except JkerasError as error:
                outcomes.append(_outcome(error))
                if before is not None and not self._unchanged(before):
                    outcomes.append(f"HALF_LOADED({what})")
            except FileNotFoundError as error:
                outcomes.append(f"ESCAPED:FileNotFoundError({what}: {error})")
            except Exception as error:  # noqa: BLE001 - this is what the fuzzer looks for
                outcomes.append(f"ESCAPED:{type(error).__name__}({what}: {str(error)[:200]})")
            if before is not None:
                self.target.set_weights(before)
        return outcomes

    def run(self, kind, src):
        """`(detail, [outcome, ...])` for one case of `kind`."""
        import jkeras
        from jkeras.errors import JkerasError
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        if kind in ("h5_flip", "h5_truncate", "h5_struct"):
            name = src.choice(["model.h5", "w.h5", "w.weights.h5", "model.h5", "fun.h5"])
            path = os.path.join(self.work, "case.h5")
            data = self.blobs[name]
            if kind == "h5_flip":
                open(path, "wb").write(flip_bytes(src, data))
                detail = name
            elif kind == "h5_truncate":
                cut = src.integer(0, len(data) - 1)
                open(path, "wb").write(data[:cut])
                detail = f"{name}[:{cut}]"
            else:
                open(path, "wb").write(data)
                detail = f"{name}:{mutate_h5_struct(src, path, self.paths['w.h5'], self.marker)}"
            if name == "fun.h5":
                return detail, self._load_fun(path)
            return detail, self._load_all(path, name in ("model.h5",))
        if kind in ("json", "yaml"):
            import yaml
            base = self.configs[src.choice(["seq", "fun"])]
            how = src.integer(0, 9)
            if kind == "yaml" and how <= 2:
                text, detail = yaml_attack(src, self.marker), "attack"
            else:
                config, detail = mutate_config(src, base, self.marker)
                if kind == "json" and how == 3:
                    n = src.integer(1000, 200000)
                    text, detail = ('{"class_name": "Sequential", "config": {"layers": '
                                    + "[" * n + "]" * n + "}}"), f"deep_text({n})"
                elif kind == "json":
                    text = json.dumps(config)
                    if how <= 2:
                        text, detail = mutate_json_text(src, text), detail + "+text"
                else:
                    try:
                        text = yaml.safe_dump(config)
                    except (yaml.YAMLError, RecursionError):
                        text = json.dumps(config)  # JSON is YAML too
            fn = jkeras.models.model_from_json if kind == "json" else jkeras.models.model_from_yaml
            try:
                fn(text)
                outcome = "ok"
            except JkerasError as error:
                outcome = type(error).__name__
            except Exception as error:  # noqa: BLE001
                outcome = f"ESCAPED:{type(error).__name__}({str(error)[:200]})"
            return detail, [outcome] + (["CODE_RAN"] if os.path.exists(self.marker) else [])
        if kind == "ckpt":
            folder = os.path.join(self.work, "ckpt")
            shutil.copytree(self.paths["ckpt"], folder)
            detail = mutate_checkpoint(src, folder)
            return detail, self._load_ckpt(folder)
        raise ValueError(kind)

    def _load_fun(self, path):
        import jkeras
        from jkeras.errors import JkerasError
        try:
            jkeras.models.load_model(path)
            return ["ok"]
        except JkerasError as error:
            return [_outcome(error)]
        except Exception as error:  # noqa: BLE001
            return [f"ESCAPED:{type(error).__name__}({str(error)[:200]})"]

    def _load_ckpt(self, folder):
        import logging
        import jkeras
        from jkeras.errors import JkerasError
        from jkeras.saving import restore_checkpoint
        logging.getLogger("jkeras").setLevel(logging.ERROR)
        outcomes = []
        for what in ("load_model", "restore"):
            before = self._snapshot()
            try:
                if what == "load_model":
                    jkeras.models.load_model(folder)
                else:
                    restore_checkpoint(folder, self.target)
                outcomes.append("ok")
            except JkerasError as error:
                outcomes.append(type(error).__name__)
                if not self._unchanged(before):
                    outcomes.append(f"HALF_LOADED({what})")
            except Exception as error:  # noqa: BLE001
                outcomes.append(f"ESCAPED:{type(error).__name__}({what}: {str(error)[:200]})")
            self.target.set_weights(before)
        return outcomes


def _outcome(error):
    """The error's class name; `[libhdf5 crash]`/`[libhdf5 hang]` when h5_probe caught libhdf5
    itself crashing or looping (in its child process)."""
    text = str(error)
    for marker, label in (("libhdf5 crashed", "crash"), ("did not finish within", "hang")):
        if marker in text:
            return f"{type(error).__name__}[libhdf5 {label}]"
    return type(error).__name__


def is_finding(outcome):
    return outcome.startswith(("ESCAPED", "HALF_LOADED", "CODE_RAN", "CRASH", "HANG", "MEMORY"))


# ---- worker and parent ----
def _worker(args):
    import resource
    import warnings
    warnings.simplefilter("ignore")
    folder = tempfile.mkdtemp(prefix="jkeras-fuzz-")
    harness = Harness(folder)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print("READY", flush=True)
    for line in sys.stdin:
        kind, seed = line.split()
        src = RandomSource(random.Random(f"{kind}:{seed}"))
        try:
            detail, outcomes = harness.run(kind, src)
        except Exception as error:  # noqa: BLE001 - the harness itself (mutators) failed
            detail, outcomes = "harness", [f"HARNESS:{type(error).__name__}({error})"]
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        if rss - base_rss > args.max_rss_mb:
            outcomes.append(f"MEMORY({rss - base_rss} MB)")
            base_rss = rss
        print("RESULT", json.dumps([kind, seed, detail, outcomes]), flush=True)
    shutil.rmtree(folder, ignore_errors=True)


class _Worker:
    def __init__(self, args):
        env = dict(os.environ, PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--worker", "--max-rss-mb", str(args.max_rss_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        line = self.lines.get(timeout=600)
        if line != "READY":
            raise RuntimeError(f"fuzz worker failed to start: {line!r}")

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def case(self, kind, seed, timeout):
        self.proc.stdin.write(f"{kind} {seed}\n")
        self.proc.stdin.flush()
        deadline = time.time() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.time(), 0.01))
            except queue.Empty:
                self.kill()
                return [kind, seed, "?", [f"HANG(>{timeout}s)"]]
            if line is None:
                code = self.proc.wait()
                return [kind, seed, "?", [f"CRASH(exit {code})"]]
            if line.startswith("RESULT "):
                return json.loads(line[len("RESULT "):])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:  # noqa: BLE001
            self.kill()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one case may take")
    parser.add_argument("--max-rss-mb", type=int, default=1024)
    parser.add_argument("--replay", help="KIND:SEED: run one case in this process and print it")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        _worker(args)
        return 0
    if args.replay:
        kind, seed = args.replay.split(":", 1)
        folder = tempfile.mkdtemp(prefix="jkeras-fuzz-")
        print(Harness(folder).run(kind, RandomSource(random.Random(f"{kind}:{seed}"))))
        return 0
    kinds = args.kinds.split(",")
    start = time.time()
    outcomes, by_kind, findings = collections.Counter(), collections.defaultdict(collections.Counter), []
    worker = _Worker(args)
    for i in range(args.cases):
        kind = kinds[i % len(kinds)]
        seed = args.seed * 1_000_000 + i
        result = worker.case(kind, seed, args.timeout)
        for outcome in result[3]:
            name = outcome.split("(")[0]
            outcomes[name] += 1
            by_kind[kind][name] += 1
            if is_finding(outcome) or outcome.startswith("HARNESS"):
                findings.append(result)
        if worker.proc.poll() is not None:
            worker = _Worker(args)
        if (i + 1) % 100 == 0:
            print(f"... {i + 1} cases, {len(findings)} findings, {time.time() - start:.0f}s", flush=True)
    worker.close()
    print(f"\n{args.cases} cases in {time.time() - start:.0f}s (seed {args.seed})")
    print("outcomes (one case loads a file one to three ways):")
    for name, count in outcomes.most_common():
        print(f"  {name:24s} {count}")
    print("by case kind:")
    for kind in kinds:
        print(f"  {kind:12s} " + ", ".join(f"{n}={c}" for n, c in by_kind[kind].most_common()))
    print(f"findings: {len(findings)}")
    for kind, seed, detail, result in findings[:50]:
        print(f"  --replay {kind}:{seed}  {detail}  {result}")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())

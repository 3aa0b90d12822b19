"""Fuzzing the loaders: every damaged `.h5`, config or checkpoint ends in a jkeras error.

The mutators live in scripts/fuzz.py (which also runs long campaigns in a worker
process: `python scripts/fuzz.py --cases 10000`); here hypothesis drives them, a
few hundred cases in all (the quick profile; JKERAS_FUZZ_SCALE=10 for ten times as
many). A case passes when loading succeeds or raises a `jkeras.errors.JkerasError`
and a failed `load_weights`/`restore_checkpoint` leaves the model's values as they
were. A hang would trip the faulthandler watchdog (the test process exits with a
traceback), a crash takes the test process down: both fail the run.
"""
import faulthandler
import random
import importlib.util
import json
import logging
import os
import resource
import shutil
import tracemalloc
import warnings

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jkeras
from jkeras import errors, layers
from jkeras.saving import h5_probe, serialization

_spec = importlib.util.spec_from_file_location(
    "jkeras_fuzz", os.path.join(os.path.dirname(__file__), "..", "scripts", "fuzz.py"))
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

SCALE = float(os.environ.get("JKERAS_FUZZ_SCALE", "1"))
CASE_TIMEOUT_S = 60


def _settings(n):
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large, HealthCheck.filter_too_much])


class HypothesisSource:
    """The mutators' source of choices, drawn by hypothesis (so failures shrink)."""

    def __init__(self, data):
        self.data = data

    def integer(self, lo, hi):
        return self.data.draw(st.integers(lo, hi))

    def choice(self, options):
        return options[self.data.draw(st.integers(0, len(options) - 1))]

    def boolean(self):
        return self.data.draw(st.booleans())

    def raw(self, n):
        return self.data.draw(st.binary(min_size=n, max_size=n))


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    warnings.simplefilter("ignore")
    logging.getLogger("jkeras").setLevel(logging.ERROR)
    saved = serialization.MAX_LAYER_WEIGHTS, h5_probe.TIMEOUT_S
    h = fuzz.Harness(str(tmp_path_factory.mktemp("fuzz")))
    yield h
    serialization.MAX_LAYER_WEIGHTS, h5_probe.TIMEOUT_S = saved


@pytest.fixture(scope="module")
def rss_budget():
    """All fuzz cases together may grow the process by at most 1 GiB (no declared size is allocated)."""
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    yield
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
    assert grown_mb < 1024, f"fuzzing grew the process by {grown_mb:.0f} MB"


def _check(harness, kind, data):
    faulthandler.dump_traceback_later(CASE_TIMEOUT_S, exit=True)
    try:
        detail, outcomes = harness.run(kind, HypothesisSource(data))
    finally:
        faulthandler.cancel_dump_traceback_later()
    findings = [o for o in outcomes if fuzz.is_finding(o)]
    assert not findings, f"{kind} case {detail}: {findings}"
    assert not os.path.exists(harness.marker), "a file made the loader run code"


@_settings(30)
@given(data=st.data())
def test_h5_flipped_bytes(harness, rss_budget, data):
    _check(harness, "h5_flip", data)


@_settings(25)
@given(data=st.data())
def test_h5_truncated(harness, rss_budget, data):
    _check(harness, "h5_truncate", data)


@_settings(40)
@given(data=st.data())
def test_h5_damaged_structure(harness, rss_budget, data):
    _check(harness, "h5_struct", data)


@_settings(50)
@given(data=st.data())
def test_json_configs(harness, rss_budget, data):
    _check(harness, "json", data)


@_settings(30)
@given(data=st.data())
def test_yaml_configs(harness, rss_budget, data):
    _check(harness, "yaml", data)


@_settings(25)
@given(data=st.data())
def test_orbax_checkpoint_folders(harness, rss_budget, data):
    _check(harness, "ckpt", data)


# ---- the cases above, written out: each names the part at fault ----
def _weights_file(tmp_path):
    model = fuzz.build_model()
    model.predict(np.zeros((1, 6), "float32"), verbose=0)
    path = tmp_path / "w.h5"
    model.save_weights(path)
    return model, path


def _assert_fails_unchanged(model, path, match, error=errors.FileFormatError):
    before = model.get_weights()
    with pytest.raises(error, match=match):
        model.load_weights(path)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_huge_declared_shape_is_refused_unread(tmp_path):
    model, path = _weights_file(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["d2"]["d2/kernel:0"]
        f["d2"].create_dataset("d2/kernel:0", shape=(2 ** 31, 2 ** 31), dtype="float32", chunks=(1, 1))
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _assert_fails_unchanged(model, path, r"Layer 'd2' expects .*\(2147483648, 2147483648\).* group '/d2'")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start < 200 * 1024


def test_a_bad_dataset_in_a_later_layer_leaves_earlier_layers_unloaded(tmp_path):
    model, path = _weights_file(tmp_path)
    with h5py.File(path, "r+") as f:
        for g in ("d1", "bn"):  # the file's first layers differ from the model's
            f[g].visititems(lambda name, obj: obj.__setitem__(Ellipsis, 7.0)
                            if isinstance(obj, h5py.Dataset) else None)
        del f["d2"]["d2/bias:0"]
        f["d2"].create_dataset("d2/bias:0", data=np.asarray([b"a", b"b", b"c"]))
    _assert_fails_unchanged(model, path, r"dataset '/d2/d2/bias:0' holds \|S1 values")


def test_links_to_other_files_are_refused(tmp_path):
    model, path = _weights_file(tmp_path)
    with h5py.File(path, "r+") as f:
        del f["d1"]
        f["d1"] = h5py.ExternalLink("/etc/passwd", "/x")
    _assert_fails_unchanged(model, path, "holds 'd1' as a ExternalLink")


def test_chunked_names_with_a_gap_and_non_utf8_names(tmp_path):
    model, path = _weights_file(tmp_path)
    with h5py.File(path, "r+") as f:
        del f.attrs["layer_names"]
        f.attrs["layer_names0"] = np.asarray([b"d1", b"bn"])
        f.attrs["layer_names2"] = np.asarray([b"d2"])
    _assert_fails_unchanged(model, path, r"'layer_names' in chunks \[0, 2\]")
    with h5py.File(path, "r+") as f:
        del f.attrs["layer_names2"]
        f.attrs["layer_names1"] = np.asarray([b"d\xff2"])
    _assert_fails_unchanged(model, path, r"attributes 'layer_names0'..'layer_names1' of '/'\[2\] is not UTF-8")


def test_model_config_damage_names_the_attribute(tmp_path):
    model = fuzz.build_model()
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = b"\xff\xfe{"
    with pytest.raises(errors.FileFormatError, match="attribute 'model_config' is not UTF-8"):
        jkeras.models.load_model(path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = b'{"class_name": "Sequential", "config": {"layers": [{"class_name": "Nope"}]}}'
    with pytest.raises(errors.ConfigError, match=r"Unknown layer class 'Nope' \(model_config.config.layers\[0\]"):
        jkeras.models.load_model(path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = json.dumps(json.loads(model.to_json())).encode()
        f.attrs["training_config"] = b"{not json"
    with pytest.raises(errors.FileFormatError, match="attribute 'training_config' is not valid JSON"):
        jkeras.models.load_model(path)


def test_configs_with_cycles_depth_and_huge_sizes():
    config = json.loads(fuzz.build_functional().to_json())
    entries = {e["name"]: e for e in config["config"]["layers"]}
    entries["shared"]["inbound_nodes"] = [[["out", 0, 0, {}]]]
    with pytest.raises(errors.ConfigError, match="cycle"):
        jkeras.models.model_from_json(json.dumps(config))
    deep = '{"class_name": "Sequential", "config": {"layers": ' + "[" * 50000 + "]" * 50000 + "}}"
    with pytest.raises(errors.ConfigError, match="nested too deeply"):
        jkeras.models.model_from_json(deep)
    huge = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Dense", "config": {"name": "big", "units": 10 ** 12, "batch_input_shape": [None, 6]}}]}}
    with pytest.raises(errors.ConfigError, match=r"layers\[0\] \(layer 'big', class 'Dense'\).*(limit|memory)"):
        jkeras.models.model_from_json(json.dumps(huge))
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")) + \
        "class_name: Sequential\nconfig: {layers: *h}\n"
    with pytest.raises(errors.ConfigError, match="too large"):
        jkeras.models.model_from_yaml(laughs)
    with pytest.raises(errors.ConfigError, match="contains itself"):
        jkeras.models.model_from_yaml("class_name: &c {x: *c}\nconfig: {}\n")


def test_a_damaged_newest_checkpoint_falls_back_and_all_damaged_is_an_error(tmp_path, caplog):
    x, y = fuzz._xy()
    model = fuzz.build_model()
    model.compile("adam", "categorical_crossentropy")
    model.save(tmp_path / "ck")
    first = model.get_weights()
    model.fit(x, y, verbose=0)
    model.save(tmp_path / "ck")
    for root, _, names in os.walk(tmp_path / "ck" / "1" / "state"):
        for name in names:
            if root.endswith(os.path.join("state", "d")):  # the arrays Orbax reads back
                data = bytearray(open(os.path.join(root, name), "rb").read())
                data[-5] ^= 0xFF
                open(os.path.join(root, name), "wb").write(bytes(data))
    fresh = fuzz.build_model()
    fresh.compile("adam", "categorical_crossentropy")
    with caplog.at_level(logging.WARNING, logger="jkeras"):
        meta = jkeras.saving.restore_checkpoint(tmp_path / "ck", fresh)
    assert meta["step"] == 0 and "Skipping damaged checkpoint step 1" in caplog.text
    for a, b in zip(first, fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    shutil.rmtree(tmp_path / "ck" / "0" / "meta")
    shutil.rmtree(tmp_path / "ck" / "1" / "state")
    before = fresh.get_weights()
    with pytest.raises(errors.CheckpointError, match=r"No readable checkpoint .*step 1: .*'state'.*step 0: .*'meta'"):
        jkeras.saving.restore_checkpoint(tmp_path / "ck", fresh)
    for a, b in zip(before, fresh.get_weights()):
        np.testing.assert_array_equal(a, b)


# ---- libhdf5 itself crashing or looping: the probe (a child process) meets it first ----
def _model_file(tmp_path, damage):
    model = fuzz.build_model()
    model.compile("adam", "categorical_crossentropy")
    model.fit(*fuzz._xy(), verbose=0)  # as the fuzzer's seed file: optimizer slots make it 32 KB
    path = tmp_path / "m.h5"
    model.save(path)
    data = bytearray(path.read_bytes())
    damage(data)
    path.write_bytes(bytes(data))
    return model, path


def _vlen_string_type_flipped(data):
    """`training_config`'s datatype: a variable-length string -> an unknown variable-length
    kind, which makes libhdf5 segfault reading the value (fuzz replay h5_flip:2001176)."""
    name = data.index(b"training_config\x00")
    data[data.index(b"\x19\x01", name) + 1] = 22


def _global_heap_size_grown(data):
    """The global heap collection (where vlen strings live) declares 26624 bytes instead of
    4096: libhdf5 loops reading `backend` (fuzz replay h5_flip:2001182)."""
    collection = data.index(b"GCOL")
    assert collection + 0x6800 < len(data)  # the grown collection still ends inside the file
    data[collection + 9] = 0x68


def test_a_libhdf5_crash_in_a_vlen_attribute_is_a_file_format_error(tmp_path):
    model, path = _model_file(tmp_path, _vlen_string_type_flipped)
    where = r"libhdf5 crashed \(SIG\w+\) reading attribute 'training_config' of group '/'"
    with pytest.raises(errors.FileFormatError, match=rf"m.h5: {where}; the file is damaged"):
        jkeras.models.load_model(path)
    _assert_fails_unchanged(model, path, where)


def test_libhdf5_looping_on_a_damaged_heap_is_a_file_format_error(tmp_path, monkeypatch):
    monkeypatch.setattr(h5_probe, "TIMEOUT_S", 6.0)
    model, path = _model_file(tmp_path, _global_heap_size_grown)
    with pytest.raises(errors.FileFormatError, match=r"m.h5: reading attribute 'backend' of group '/' "
                                                     r"did not finish within 6 s"):
        jkeras.models.load_model(path)


@pytest.mark.parametrize("seed, what", [(2001176, "crash"), (2001182, "hang")])
def test_fuzz_replays_that_crashed_or_hung_libhdf5(harness, seed, what, monkeypatch):
    """The cases as the fuzzer found them (`scripts/fuzz.py --replay h5_flip:SEED`): load_model
    and load_weights each raise FileFormatError, from the probe."""
    monkeypatch.setattr(h5_probe, "TIMEOUT_S", 3.0)
    detail, outcomes = harness.run("h5_flip", fuzz.RandomSource(random.Random(f"h5_flip:{seed}")))
    assert outcomes == [f"FileFormatError[libhdf5 {what}]"] * 2, (detail, outcomes)


def test_the_probe_walks_a_good_file_once_and_fails_on_sizes_it_cannot_read(tmp_path, monkeypatch, capsys):
    _, path = _weights_file(tmp_path)
    monkeypatch.setattr(h5_probe, "_PASSED", {})  # forget that this process wrote it
    assert h5_probe.probe(path) is None
    monkeypatch.setattr(h5_probe, "_walk_in_child", lambda *a: pytest.fail("walked twice"))
    assert h5_probe.probe(path) is None  # the same bytes passed before
    with h5py.File(path, "r") as f:  # libhdf5 checks this on open too; the probe does not rely on it
        ds = f["d1"]["d1/kernel:0"]
        walk = h5_probe._Walk(h5py, str(path))
        walk.size = ds.id.get_offset() + 10
        with pytest.raises(SystemExit):
            walk.contiguous(ds, "dataset 'k'", ds.shape, ds.dtype)
    assert "dataset 'k' declares its data at bytes" in capsys.readouterr().out
    for failure in (MemoryError(), OSError("Can't read data (memory allocation failed for x)")):
        with pytest.raises(SystemExit):
            walk.step("attribute 'a' of group '/'", _raise, failure)
        assert "reading attribute 'a' of group '/' needs more than" in capsys.readouterr().out
    assert walk.step("attribute 'b'", _raise, OSError("Can't read data")) is None  # the loader says why


def test_a_file_this_process_wrote_is_not_walked_until_its_bytes_change(tmp_path, monkeypatch):
    model, path = _weights_file(tmp_path)
    walks = []
    real_walk = h5_probe._walk_in_child
    monkeypatch.setattr(h5_probe, "_walk_in_child", lambda *a: walks.append(a) or real_walk(*a))
    model.load_weights(path)
    assert walks == []
    with h5py.File(path, "a") as f:  # changed by someone else: walked again
        f.attrs["note"] = "edited"
    model.load_weights(path)
    assert len(walks) == 1


def test_one_child_walks_file_after_file_and_a_fresh_one_follows_damage(tmp_path, monkeypatch):
    _, path = _model_file(tmp_path, _vlen_string_type_flipped)
    _, good = _weights_file(tmp_path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f.attrs["a"] = 1
    monkeypatch.setattr(h5_probe, "_PASSED", {})
    assert h5_probe.probe(good) is None
    child = h5_probe._CHILD
    assert h5_probe.probe(other) is None
    assert h5_probe._CHILD is child and child.alive()  # the same interpreter walked both
    assert "libhdf5 crashed" in h5_probe.probe(path)
    assert not child.alive()
    monkeypatch.setattr(h5_probe, "_PASSED", {})
    assert h5_probe.probe(other) is None and h5_probe._CHILD is not child


def _raise(error):
    raise error


def test_without_a_child_interpreter_the_file_is_read_with_a_warning(tmp_path, monkeypatch):
    _, path = _weights_file(tmp_path)
    monkeypatch.setattr(h5_probe, "_PASSED", {})
    monkeypatch.setattr(h5_probe, "_CHILD", None)  # the running one would walk it
    monkeypatch.setattr(h5_probe.sys, "executable", str(tmp_path / "no-python"))
    with pytest.warns(RuntimeWarning, match="could not start its h5 probe"):
        assert h5_probe.probe(path) is None


def test_a_huge_declared_size_is_refused_before_initializers_allocate():
    """BatchNormalization's Ones/Zeros over 10**9 features: sized abstractly, never filled."""
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "BatchNormalization", "config": {"name": "bn", "batch_input_shape": [None, 10 ** 9]}}]}}
    tracemalloc.start()
    try:
        with pytest.raises(errors.ConfigError, match=r"layers\[0\] \(layer 'bn'.*4000000000 weight elements"):
            jkeras.models.model_from_json(json.dumps(config))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2 ** 20, f"{peak >> 20} MiB allocated"


def test_many_layers_each_under_the_layer_limit_are_refused_past_the_model_limit(monkeypatch):
    monkeypatch.setattr(serialization, "MAX_LAYER_WEIGHTS", 500)
    monkeypatch.setattr(serialization, "MAX_MODEL_WEIGHTS", 1000)
    dense = [{"class_name": "Dense", "config": {"name": f"d{i}", "units": 20}} for i in range(3)]
    dense[0]["config"]["batch_input_shape"] = [None, 20]
    config = {"class_name": "Sequential", "config": {"name": "s", "layers": dense}}  # 420 each
    with pytest.raises(errors.ConfigError, match=r"layers\[2\] \(layer 'd2'.* 1260 weight elements, "
                                                 r"more than .*MAX_MODEL_WEIGHTS = 1000"):
        jkeras.models.model_from_json(json.dumps(config))
    dense.pop()
    assert len(jkeras.models.model_from_json(json.dumps(config)).weights) == 4  # the count restarts


def test_the_hierarchy():
    assert issubclass(errors.FileFormatError, errors.JkerasError) and issubclass(errors.FileFormatError, ValueError)
    assert issubclass(errors.UnsafeLoadError, errors.ConfigError)
    assert issubclass(errors.CheckpointError, errors.JkerasError) and issubclass(errors.CheckpointError, ValueError)
    from jkeras.saving import checkpoint, hdf5
    assert jkeras.saving.FileFormatError is hdf5.FileFormatError is errors.FileFormatError
    assert jkeras.saving.CheckpointError is checkpoint.CheckpointError is errors.CheckpointError
    inp = layers.Input((2,))
    assert inp is not None


def test_code_in_files_is_refused_as_unsafe_load(tmp_path):
    """The payloads of test_saving.py's safe_mode tests, by class: UnsafeLoadError, no marker file."""
    marker = tmp_path / "pwned"
    code = fuzz._payload(str(marker))
    config = {"class_name": "Sequential", "config": {"name": "evil", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 2], "name": "x"}},
        {"class_name": "Lambda", "config": {"name": "pwn", "arguments": {}, "function": {
            "class_name": "__lambda__", "config": {"code": code, "defaults": None, "closure": None}}}}]}}
    with pytest.raises(errors.UnsafeLoadError, match=r"model_from_json.config.layers\[1\] \(layer 'pwn'"):
        jkeras.models.model_from_json(json.dumps(config))
    path = tmp_path / "evil.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config).encode()
    with pytest.raises(errors.UnsafeLoadError, match="arbitrary code execution"):
        jkeras.models.load_model(path)
    with pytest.raises(errors.UnsafeLoadError, match="only safe YAML"):
        jkeras.models.model_from_yaml(f"!!python/object/apply:os.system ['touch {marker}']")
    assert not marker.exists()

"""HDF5 input, Sequence workers and background prefetch: same numbers as arrays, bounded memory."""
import pickle
import resource
import threading
import time

import h5py
import jax
import numpy as np
import pytest

import jkeras
from jkeras import layers
from jkeras.data import sources
from jkeras.utils import HDF5Matrix


def _data(n=100, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    return x, (x @ rng.normal(size=(d, 1))).astype("float32")


def _h5(path, **arrays):
    with h5py.File(path, "w") as f:
        for name, a in arrays.items():
            f[name] = a
    return h5py.File(path, "r")


def _model(d=6, seed=3):
    jkeras.utils.set_random_seed(seed)
    model = jkeras.Sequential([layers.Dense(8, activation="relu", input_shape=(d,)),
                               layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


def _losses(x, y=None, sample_weight=None, **kwargs):
    kwargs = {"batch_size": 16, "epochs": 2, "verbose": 0, **kwargs}
    return _model().fit(x, y, sample_weight=sample_weight, **kwargs).history


class _Batches(jkeras.utils.Sequence):
    """Eight batches of eight rows, rotated each epoch; module level, so workers can unpickle it."""

    def __init__(self, x, y):
        self.x, self.y, self.epoch = x, y, 0

    def __len__(self):
        return 8

    def __getitem__(self, i):
        i = (i + self.epoch) % 8
        return self.x[i * 8:(i + 1) * 8], self.y[i * 8:(i + 1) * 8]

    def on_epoch_end(self):
        self.epoch += 1


def _prefetch_threads():
    return [t for t in threading.enumerate() if t.name == "jkeras-prefetch"]


def test_hdf5matrix_reads_only_the_rows_asked_for(tmp_path):
    x = np.arange(40, dtype="float32").reshape(20, 2)
    _h5(tmp_path / "m.h5", x=x).close()
    reads = []
    m = HDF5Matrix(tmp_path / "m.h5", "x", start=5, end=15,
                   normalizer=lambda a: reads.append(a.shape) or a * 2)
    assert (m.shape, m.ndim, m.dtype, len(m), m.size) == ((10, 2), 2, np.float32, 10, 20)
    reads.clear()
    np.testing.assert_array_equal(m[0], 2 * x[5])
    np.testing.assert_array_equal(m[-1], 2 * x[14])
    np.testing.assert_array_equal(m[2:4], 2 * x[7:9])
    np.testing.assert_array_equal(m[8:], 2 * x[13:15])
    np.testing.assert_array_equal(m[::3], 2 * x[5:15:3])
    np.testing.assert_array_equal(m[[1, 3]], 2 * x[[6, 8]])
    np.testing.assert_array_equal(m[np.array([4, 0, 4])], 2 * x[[9, 5, 9]])
    assert reads == [(2,), (2,), (2, 2), (2, 2), (4, 2), (2, 2), (2, 2)]
    np.testing.assert_array_equal(np.asarray(m), 2 * x[5:15])
    plain = pickle.loads(pickle.dumps(HDF5Matrix(str(tmp_path / "m.h5"), "x", end=3)))
    np.testing.assert_array_equal(plain[:], x[:3])
    with pytest.raises(IndexError):
        m[10]
    with pytest.raises(IndexError):
        m[[0, 10]]
    with pytest.raises(ValueError, match="'nope'"):
        HDF5Matrix(tmp_path / "m.h5", "nope")
    with pytest.raises(ValueError, match="start <= end"):
        HDF5Matrix(tmp_path / "m.h5", "x", start=5, end=30)


def test_fit_evaluate_predict_from_hdf5_match_arrays(tmp_path):
    x, y = _data()
    w = np.linspace(0.5, 1.5, len(x)).astype("float32")
    f = _h5(tmp_path / "d.h5", x=x, y=y, w=w)
    hx, hy, hw = (HDF5Matrix(tmp_path / "d.h5", name) for name in "xyw")
    expected = _losses(x, y, sample_weight=w, shuffle=False, validation_data=(x, y))
    for data in ((f["x"], f["y"], f["w"]), (hx, hy, hw), (f["x"], y, w)):
        got = _losses(*data, shuffle=False, validation_data=(f["x"], f["y"]))
        np.testing.assert_allclose(got["loss"], expected["loss"], rtol=1e-6)
        np.testing.assert_allclose(got["val_loss"], expected["val_loss"], rtol=1e-6)
    model = _model()
    model.fit(hx, hy, batch_size=16, epochs=1, verbose=0)
    assert model.evaluate(f["x"], f["y"], batch_size=32, verbose=0) == pytest.approx(
        model.evaluate(x, y, batch_size=32, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict(hx, batch_size=32), model.predict(x), rtol=1e-6)


def test_hdf5_lists_of_inputs(tmp_path):
    x, y = _data()
    f = _h5(tmp_path / "d.h5", a=x[:, :4], b=x[:, 4:], y=y)

    def run(inputs):
        jkeras.utils.set_random_seed(3)
        a, b = layers.Input((4,)), layers.Input((2,))
        model = jkeras.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
        model.compile("sgd", "mse")
        history = model.fit(inputs, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        return history.history["loss"]
    np.testing.assert_allclose(run([f["a"], f["b"]]), run([x[:, :4], x[:, 4:]]), rtol=1e-6)


def test_shuffle_visits_every_sample_once_per_epoch_and_is_seeded(tmp_path):
    rows = np.arange(50, dtype="float32")[:, None]
    f = _h5(tmp_path / "r.h5", r=rows)
    key = jax.random.key(7)

    def epochs(shuffle, key=key):
        source = sources.make_source(f["r"], batch_size=8, shuffle=shuffle, seed_key=key)
        return [[b[0][:, 0].astype(int).tolist() for b in source.batches(e)] for e in range(2)]
    for shuffle in (True, "batch"):
        first, second = epochs(shuffle)
        assert sorted(sum(first, [])) == sorted(sum(second, [])) == list(range(50))
        assert first != second
        assert epochs(shuffle) == [first, second]
        assert epochs(shuffle, jax.random.key(8)) != [first, second]
    for batch in first:  # shuffle='batch' keeps batches contiguous, the short one last
        assert batch == list(range(batch[0], batch[0] + len(batch)))
    assert first[-1] == second[-1] == list(range(48, 50))
    x, y = _data()
    g = _h5(tmp_path / "d.h5", x=x, y=y)
    np.testing.assert_allclose(_losses(g["x"], g["y"], shuffle=True)["loss"],
                               _losses(x, y, shuffle=True)["loss"], rtol=1e-5)


def test_steps_and_hdf5_errors(tmp_path):
    x, y = _data()
    f = _h5(tmp_path / "d.h5", x=x, y=y)
    np.testing.assert_allclose(_losses(f["x"], f["y"], steps_per_epoch=3, shuffle=False)["loss"],
                               _losses(x[:48], y[:48], shuffle=False)["loss"], rtol=1e-6)
    model = _model()
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(f["x"], f["y"], validation_split=0.2, verbose=0)
    with pytest.raises(ValueError, match="steps=20"):
        model.fit(f["x"], f["y"], batch_size=16, steps_per_epoch=20, verbose=0)
    with pytest.raises(ValueError, match=r"\[50, 100\]"):
        model.fit(f["x"], y[:50], verbose=0)
    with pytest.raises(ValueError, match="shuffle"):
        model.fit(f["x"], f["y"], shuffle="rows", verbose=0)


def test_sequence_workers_and_processes_match_one_worker():
    x, y = _data(n=64)
    expected = _losses(_Batches(x, y), shuffle=False)["loss"]
    for kwargs in (dict(workers=2), dict(workers=2, use_multiprocessing=True)):
        got = _losses(_Batches(x, y), shuffle=False, **kwargs)["loss"]
        np.testing.assert_allclose(got, expected, rtol=1e-6)

    class Local(_Batches):
        pass
    with pytest.raises(ValueError, match="cannot be pickled"):
        _model().fit(Local(x, y), workers=2, use_multiprocessing=True, verbose=0)


def test_sequence_workers_read_at_most_max_queue_size_ahead():
    asked = []

    class Recording(jkeras.utils.Sequence):
        def __len__(self):
            return 20

        def __getitem__(self, i):
            asked.append(i)
            return np.full((2, 1), i, "float32")
    source = sources.make_source(Recording(), workers=2, max_queue_size=3)
    for k, (x, _, _) in enumerate(source.batches(0)):
        assert x[0, 0] == k and max(asked) < k + 3


def test_generator_errors_propagate_and_stop_the_prefetch_thread():
    x, y = _data()

    def generator():
        yield x[:16], y[:16]
        raise RuntimeError("disk went away")
    with pytest.raises(RuntimeError, match="disk went away"):
        _model().fit(generator(), steps_per_epoch=5, verbose=0)
    assert not _prefetch_threads()


def test_early_stop_leaves_no_thread_alive():
    x, y = _data()

    def endless():
        while True:
            yield x[:16], y[:16]

    class StopAtThree(jkeras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.stop_training = batch == 2
    before = threading.active_count()
    model = _model()
    model.fit(endless(), steps_per_epoch=100, epochs=3, callbacks=[StopAtThree()], verbose=0)
    assert model._step == 3
    model.fit(_Batches(x[:64], y[:64]), workers=2, callbacks=[StopAtThree()], verbose=0)
    assert threading.active_count() == before and not _prefetch_threads()

    class Crash(jkeras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise KeyError("callback failed")
    with pytest.raises(KeyError):
        model.fit(endless(), steps_per_epoch=100, callbacks=[Crash()], verbose=0)
    assert threading.active_count() == before and not _prefetch_threads()


def _peak_rss_growth(fn):
    """Peak resident memory above the start while `fn()` runs: psutil sampled, else ru_maxrss."""
    try:
        import psutil
    except ImportError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        fn()
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    process, done = psutil.Process(), threading.Event()
    start = peak = process.memory_info().rss

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.002)
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        fn()
    finally:
        done.set()
        sampler.join()
    return max(peak, process.memory_info().rss) - start


def test_training_from_a_100_mb_file_keeps_memory_bounded(tmp_path):
    rows, d, chunk = 102_400, 256, 10_240
    with h5py.File(tmp_path / "big.h5", "w") as f:
        xs, ys = f.create_dataset("x", (rows, d), "f4"), f.create_dataset("y", (rows, 1), "f4")
        rng = np.random.default_rng(0)
        for start in range(0, rows, chunk):
            xs[start:start + chunk] = rng.standard_normal((chunk, d), dtype=np.float32)
            ys[start:start + chunk] = rng.standard_normal((chunk, 1), dtype=np.float32)
    x, y = (HDF5Matrix(tmp_path / "big.h5", name) for name in "xy")
    model = _model(d=d)
    warm = (HDF5Matrix(tmp_path / "big.h5", name, end=1024) for name in "xy")
    model.fit(*warm, batch_size=256, verbose=0)  # compiles, so only reading is measured below
    growth = _peak_rss_growth(lambda: model.fit(x, y, batch_size=256, shuffle="batch", verbose=0))
    assert model._step == 4 + rows // 256
    assert growth < 60e6, f"RSS grew by {growth / 1e6:.0f} MB while reading a 105 MB file"

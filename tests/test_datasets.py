"""jkeras.datasets: each loader reads small files written here in Keras's real formats (npz, gzipped
IDX, CIFAR's pickled batches in a tar.gz, the word-index JSON) from a temporary home, and is
checked against what Keras's loader does with them (the same shuffles, re-indexing and splits,
written out in numpy). Nothing is downloaded: fetching goes through `file://` URLs."""
import gzip
import hashlib
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from jkeras import datasets


def _objects(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def _datasets_dir(home):
    folder = home / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_mnist_reads_the_jkeras_home_then_a_keras_users_copy(homes):
    jhome, uhome = homes
    rng = np.random.RandomState(0)
    arrays = dict(x_train=rng.randint(0, 256, (5, 28, 28)).astype("uint8"),
                  y_train=np.arange(5, dtype="uint8"),
                  x_test=rng.randint(0, 256, (2, 28, 28)).astype("uint8"), y_test=np.array([7, 1], "uint8"))
    keras_dir = uhome / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    np.savez(keras_dir / "mnist.npz", **arrays)
    (x_train, y_train), (x_test, y_test) = datasets.mnist.load_data()
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    assert x_train.dtype == np.uint8 and x_train.flags.writeable
    np.savez(_datasets_dir(jhome) / "mnist.npz", **{**arrays, "y_test": np.array([3, 3], "uint8")})
    assert datasets.mnist.load_data()[1][1].tolist() == [3, 3]  # the jkeras home comes first


def test_fashion_mnist_reads_gzipped_idx_files(homes):
    jhome, _ = homes
    folder = _datasets_dir(jhome) / "fashion-mnist"
    folder.mkdir()
    rng = np.random.RandomState(1)
    x_train, x_test = rng.randint(0, 256, (3, 28, 28)).astype("uint8"), rng.randint(0, 256, (2, 28, 28)).astype("uint8")
    y_train, y_test = np.array([1, 2, 3], "uint8"), np.array([9, 0], "uint8")
    for name, header, data in (("train-labels-idx1-ubyte.gz", 8, y_train), ("train-images-idx3-ubyte.gz", 16, x_train),
                               ("t10k-labels-idx1-ubyte.gz", 8, y_test), ("t10k-images-idx3-ubyte.gz", 16, x_test)):
        with gzip.open(folder / name, "wb") as f:
            f.write(b"\0" * header + data.tobytes())
    (a, b), (c, d) = datasets.fashion_mnist.load_data()
    for got, want in ((a, x_train), (b, y_train), (c, x_test), (d, y_test)):
        np.testing.assert_array_equal(got, want)


def _cifar_batch(path, n, rng, labels):
    batch = {b"batch_label": b"test", b"data": rng.randint(0, 256, (n, 3072)).astype("uint8"),
             b"filenames": [b"f%d" % i for i in range(n)]}
    batch.update(labels)
    with open(path, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    return batch


def test_cifar10_downloads_checks_the_hash_and_extracts(homes, tmp_path, monkeypatch):
    jhome, _ = homes
    rng = np.random.RandomState(2)
    source = tmp_path / "src" / "cifar-10-batches-py"
    source.mkdir(parents=True)
    batches = [_cifar_batch(source / f"data_batch_{i}", 2, rng, {b"labels": [i, i + 1]}) for i in range(1, 6)]
    test = _cifar_batch(source / "test_batch", 3, rng, {b"labels": [0, 5, 9]})
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setattr(datasets.cifar10, "ORIGIN", archive.as_uri())
    monkeypatch.setattr(datasets.cifar10, "SHA256", "0" * 64)
    with pytest.raises(ValueError, match="hash does not match"):
        datasets.cifar10.load_data()
    assert not (jhome / "datasets" / "cifar-10-python.tar.gz").exists()  # a bad file is not kept
    monkeypatch.setattr(datasets.cifar10, "SHA256", digest)
    (x_train, y_train), (x_test, y_test) = datasets.cifar10.load_data()
    assert (jhome / "datasets" / "cifar-10-batches-py" / "test_batch").is_file()
    want = np.concatenate([b[b"data"] for b in batches]).reshape(10, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, want)
    assert y_train.shape == (10, 1) and y_train[:, 0].tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    np.testing.assert_array_equal(x_test, test[b"data"].reshape(3, 3, 32, 32).transpose(0, 2, 3, 1))
    assert y_test.dtype == np.uint8 and y_test[:, 0].tolist() == [0, 5, 9]


def test_cifar100_fine_and_coarse_labels(homes):
    jhome, _ = homes
    folder = _datasets_dir(jhome) / "cifar-100-python"
    folder.mkdir()
    rng = np.random.RandomState(3)
    train = _cifar_batch(folder / "train", 4, rng, {b"fine_labels": [10, 20, 30, 99], b"coarse_labels": [1, 2, 3, 19]})
    _cifar_batch(folder / "test", 2, rng, {b"fine_labels": [5, 6], b"coarse_labels": [0, 0]})
    (x, y), (_, y_test) = datasets.cifar100.load_data()
    np.testing.assert_array_equal(x, train[b"data"].reshape(4, 3, 32, 32).transpose(0, 2, 3, 1))
    assert y[:, 0].tolist() == [10, 20, 30, 99] and y_test.shape == (2, 1)
    assert datasets.cifar100.load_data("coarse")[0][1][:, 0].tolist() == [1, 2, 3, 19]
    with pytest.raises(ValueError, match="label_mode"):
        datasets.cifar100.load_data("medium")


def test_cifar_pickle_that_runs_code_is_refused(homes):
    jhome, _ = homes
    folder = _datasets_dir(jhome) / "cifar-100-python"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo owned",))

    for name in ("train", "test"):
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        datasets.cifar100.load_data()


def _keras_reindex(xs, labels, seed_rng, start_char=1, index_from=3):
    """What Keras's loaders do before filtering: shuffle with the shared rng, then re-index."""
    idx = np.arange(len(xs))
    seed_rng.shuffle(idx)
    xs, labels = xs[idx], labels[idx]
    return [[start_char] + [w + index_from for w in x] for x in xs], labels


def test_imdb_load_data_and_word_index(homes):
    jhome, _ = homes
    folder = _datasets_dir(jhome)
    x_train = _objects([[1, 2, 3], [4, 5], [6, 1, 1, 1, 1], [2]])
    x_test = _objects([[3, 3], [9, 8, 7]])
    y_train, y_test = np.array([1, 0, 1, 0]), np.array([0, 1])
    np.savez(folder / "imdb.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    (xa, ya), (xb, yb) = datasets.imdb.load_data(num_words=8, skip_top=4)
    rng = np.random.RandomState(113)
    tr, ltr = _keras_reindex(x_train, y_train, rng)
    te, lte = _keras_reindex(x_test, y_test, rng)
    limited = [[w if 4 <= w < 8 else 2 for w in x] for x in tr + te]
    assert [list(x) for x in xa] == limited[:4] and [list(x) for x in xb] == limited[4:]
    np.testing.assert_array_equal(ya, ltr)
    np.testing.assert_array_equal(yb, lte)
    (xa, _), (xb, _) = datasets.imdb.load_data(maxlen=4, oov_char=None, start_char=None, index_from=0)
    assert sorted(map(list, xa)) == [[1, 2, 3], [2], [4, 5]] and len(xb) == 2
    with pytest.raises(ValueError, match="maxlen"):
        datasets.imdb.load_data(maxlen=1)
    assert len(datasets.imdb.load_data(nb_words=5)[0][0]) == 4  # Keras 1's spelling, with a warning
    with pytest.raises(TypeError, match="Unrecognized"):
        datasets.imdb.load_data(num_wrds=5)
    with open(folder / "imdb_word_index.json", "w") as f:
        json.dump({"the": 1, "and": 2}, f)
    assert datasets.imdb.get_word_index() == {"the": 1, "and": 2}


def test_reuters_split_and_label_names(homes):
    jhome, _ = homes
    xs = _objects([[1, 2], [3], [4, 5, 6], [7], [8, 9], [1]])
    ys = np.array([0, 1, 2, 3, 4, 45])
    np.savez(_datasets_dir(jhome) / "reuters.npz", x=xs, y=ys)
    (xa, ya), (xb, yb) = datasets.reuters.load_data(test_split=0.5, seed=7)
    shuffled, labels = _keras_reindex(xs, ys, np.random.RandomState(7))
    top = max(max(x) for x in shuffled)  # Keras's num_words=None keeps words below the largest
    assert [list(x) for x in xa] + [list(x) for x in xb] == [[w if w < top else 2 for w in x]
                                                               for x in shuffled]
    assert ya.tolist() + yb.tolist() == labels.tolist() and len(xa) == 3
    assert len(datasets.reuters.get_label_names()) == 46


def test_boston_housing_shuffle_and_split(homes):
    jhome, _ = homes
    x, y = np.arange(26.0).reshape(13, 2), np.arange(13.0)
    np.savez(_datasets_dir(jhome) / "boston_housing.npz", x=x, y=y)
    (xa, ya), (xb, yb) = datasets.boston_housing.load_data(test_split=0.25, seed=3)
    idx = np.arange(13)
    np.random.RandomState(3).shuffle(idx)
    np.testing.assert_array_equal(xa, x[idx][:9])
    np.testing.assert_array_equal(yb, y[idx][9:])
    with pytest.raises(ValueError, match="test_split"):
        datasets.boston_housing.load_data(test_split=1.0)


def test_digits_still_ships_with_the_package():
    (x, y), (xt, yt) = datasets.digits.load_data()
    assert x.shape[1:] == (8, 8) and len(x) + len(xt) == 1797


def test_tf_keras_dataset_names_are_there():
    names = ["boston_housing", "cifar10", "cifar100", "fashion_mnist", "imdb", "mnist", "reuters"]
    reference = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "reference", "tf_keras_names.json")
    if os.path.exists(reference):
        with open(reference) as f:
            assert sorted(json.load(f)["names"]["datasets"]) == names
    for name in names:
        assert callable(getattr(datasets, name).load_data)
    assert callable(datasets.imdb.get_word_index) and callable(datasets.reuters.get_word_index)

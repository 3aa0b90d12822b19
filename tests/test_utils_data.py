"""`jkeras.utils.get_file` against a local HTTP server on 127.0.0.1 and `file://` URLs (hash checks,
caching, extraction, a Keras user's `~/.keras` copy), and the enqueuers that read ahead."""
import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import numpy as np
import pytest

from jkeras import utils
from jkeras.utils import data_utils


@pytest.fixture
def server(tmp_path):
    """`(base URL, served folder, request log)` of a local HTTP server."""
    folder = tmp_path / "served"
    folder.mkdir()
    log = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            log.append(self.path)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                            functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", folder, log
    httpd.shutdown()
    httpd.server_close()


def test_get_file_downloads_checks_hashes_and_caches(homes, server):
    jhome, _ = homes
    url, folder, log = server
    (folder / "data.bin").write_bytes(b"jkeras" * 1000)
    sha = hashlib.sha256((folder / "data.bin").read_bytes()).hexdigest()
    md5 = hashlib.md5((folder / "data.bin").read_bytes()).hexdigest()
    path = utils.get_file("data.bin", url + "data.bin", file_hash=sha)
    assert path == str(jhome / "datasets" / "data.bin") and open(path, "rb").read() == b"jkeras" * 1000
    assert utils.get_file("data.bin", url + "data.bin", md5_hash=md5) == path
    assert len([p for p in log if "data.bin" in p]) == 1  # the second call used the cache
    with open(path, "wb") as f:  # a damaged cached copy is fetched again
        f.write(b"broken")
    utils.get_file("data.bin", url + "data.bin", file_hash=sha, cache_subdir="datasets")
    assert data_utils.validate_file(path, sha) and len([p for p in log if "data.bin" in p]) == 2
    other = utils.get_file(origin=url + "data.bin", cache_subdir="models", cache_dir=str(jhome / "c"))
    assert other == str(jhome / "c" / "models" / "data.bin")
    with pytest.raises(ValueError, match="hash does not match"):
        utils.get_file("bad.bin", url + "data.bin", file_hash="0" * 64)
    assert not (jhome / "datasets" / "bad.bin").exists()
    with pytest.raises(OSError, match="404"):
        utils.get_file("missing.bin", url + "missing.bin")
    assert [n for n in os.listdir(jhome / "datasets") if n.startswith(".download")] == []
    with pytest.raises(ValueError, match="origin"):
        utils.get_file("x.bin")
    with pytest.raises(ValueError, match="hash_algorithm"):
        utils.get_file("x.bin", url + "data.bin", hash_algorithm="sha1")


def test_get_file_extracts_tar_and_zip_and_untars(homes, tmp_path):
    jhome, _ = homes
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    with tarfile.open(tmp_path / "pack.tar.gz", "w:gz") as tar:
        tar.add(src, arcname="pack")
    with zipfile.ZipFile(tmp_path / "zipped.zip", "w") as z:
        z.writestr("zipped/b.txt", "beta")
    path = utils.get_file("pack.tar.gz", (tmp_path / "pack.tar.gz").as_uri(), extract=True)
    assert path.endswith("pack.tar.gz") and (jhome / "datasets" / "pack" / "a.txt").read_text() == "alpha"
    folder = utils.get_file("untarred.tar.gz", (tmp_path / "pack.tar.gz").as_uri(), untar=True)
    assert folder == str(jhome / "datasets" / "untarred")
    utils.get_file("zipped.zip", (tmp_path / "zipped.zip").as_uri(), extract=True, archive_format="zip")
    assert (jhome / "datasets" / "zipped" / "b.txt").read_text() == "beta"


def test_archives_cannot_write_outside_the_cache(homes, tmp_path):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as z:
        z.writestr("../../escaped.txt", "no")
    with pytest.raises(ValueError, match="outside"):
        utils.get_file("evil.zip", (tmp_path / "evil.zip").as_uri(), extract=True)
    info = tarfile.TarInfo("../escaped.txt")
    info.size = 2
    with tarfile.open(tmp_path / "evil.tar", "w") as tar:
        tar.addfile(info, io.BytesIO(b"no"))
    with pytest.raises(tarfile.TarError):
        utils.get_file("evil.tar", (tmp_path / "evil.tar").as_uri(), extract=True)
    assert not (tmp_path / "escaped.txt").exists()


def test_a_keras_users_copy_is_used_when_whole(homes, server):
    jhome, uhome = homes
    url, folder, log = server
    keras_dir = uhome / ".keras" / "datasets"
    keras_dir.mkdir(parents=True)
    (keras_dir / "k.bin").write_bytes(b"from keras")
    sha = hashlib.sha256(b"from keras").hexdigest()
    assert utils.get_file("k.bin", url + "k.bin", file_hash=sha) == str(keras_dir / "k.bin")
    (folder / "k.bin").write_bytes(b"served")
    served = hashlib.sha256(b"served").hexdigest()
    assert utils.get_file("k.bin", url + "k.bin", file_hash=served) == str(jhome / "datasets" / "k.bin")
    assert log  # the stale Keras copy was not used


class Squares(utils.Sequence):
    def __init__(self, n):
        self.n, self.epochs = n, 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.full((2,), i * i)

    def on_epoch_end(self):
        self.epochs += 1


def test_ordered_enqueuer_keeps_order_across_epochs():
    seq = Squares(5)
    enqueuer = utils.OrderedEnqueuer(seq, shuffle=False)
    enqueuer.start(workers=3, max_queue_size=2)
    stream = enqueuer.get()
    got = [int(next(stream)[0]) for _ in range(12)]
    enqueuer.stop()
    assert got == [0, 1, 4, 9, 16] * 2 + [0, 1] and seq.epochs >= 2
    assert not enqueuer.is_running()
    shuffled = utils.OrderedEnqueuer(Squares(6), shuffle=True)
    shuffled.start(workers=2)
    stream = shuffled.get()
    assert sorted(int(next(stream)[0]) for _ in range(6)) == [0, 1, 4, 9, 16, 25]
    shuffled.stop()


def test_generator_enqueuer_reads_to_the_end_and_raises_worker_errors():
    enqueuer = utils.GeneratorEnqueuer(iter(range(7)))
    enqueuer.start(workers=2, max_queue_size=3)
    assert sorted(enqueuer.get()) == list(range(7))

    def failing():
        yield 1
        raise RuntimeError("bad batch")

    enqueuer = utils.GeneratorEnqueuer(failing())
    enqueuer.start()
    with pytest.raises(RuntimeError, match="bad batch"):
        list(enqueuer.get())
    with pytest.raises(ValueError, match="worker processes"):
        utils.GeneratorEnqueuer(iter([]), use_multiprocessing=True)
    with pytest.raises(ValueError, match="pickled"):
        seq = Squares(2)
        seq.transform = lambda v: v  # a lambda cannot be pickled
        utils.OrderedEnqueuer(seq, use_multiprocessing=True)

"""Keras 2's `keras.utils.data_utils`: `get_file` (download, hash check, extract, cache), `Sequence`
and the enqueuers that read one ahead of training.

`get_file` keeps its files under `<jkeras home>/<cache_subdir>` (`cache_dir` overrides the home);
a file that a Keras user already has under `~/.keras/<cache_subdir>` is used where it is, so a
data set downloaded once by Keras is not fetched again.
"""
import hashlib
import os
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from jkeras.backend.config import jkeras_home
from jkeras.utils.enqueuers import GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer
from jkeras.utils.logging_utils import print_msg
from jkeras.utils.sequence import Sequence

_CHUNK = 1 << 16


def _hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The hex digest of `fpath` with `algorithm` ('sha256', 'md5', or a hashlib object)."""
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _hasher(algorithm, file_hash=None):
    """sha256 when asked, or for 'auto' with a 64-digit hash; md5 otherwise (Keras's rule)."""
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"hash_algorithm must be 'auto', 'sha256' or 'md5'; received {algorithm!r}.")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether `fpath`'s md5/sha256 digest equals `file_hash`."""
    return _hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == str(file_hash)


def _extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar or zip archive into `path`; True when `file_path` was one of `archive_format`.

    Members that would land outside `path` (absolute names, `..`, links out) are refused: a
    downloaded archive cannot write elsewhere on the disk.
    """
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else (
        [archive_format] if isinstance(archive_format, str) else list(archive_format))
    for kind in formats:
        if kind not in ("tar", "zip"):
            raise ValueError(f"archive_format must be 'auto', 'tar', 'zip' or a list of them; "
                             f"received {archive_format!r}.")
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                archive.extractall(path, filter="data")
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                root = os.path.realpath(path)
                for name in archive.namelist():
                    target = os.path.realpath(os.path.join(root, name))
                    if os.path.commonpath([root, target]) != root:
                        raise ValueError(f"The zip archive {file_path!r} holds {name!r}, which would "
                                         f"be written outside {path!r}; refused.")
                archive.extractall(path)
            return True
    return False


def _download(origin, fpath):
    """Fetch `origin` into `fpath` through a temporary file, so a broken download leaves nothing."""
    print_msg(f"Downloading data from {origin}")
    folder = os.path.dirname(fpath)
    handle, partial = tempfile.mkstemp(dir=folder, prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(origin) as response:
            total = response.headers.get("Content-Length")
            got = 0
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                out.write(chunk)
                got += len(chunk)
        if total is not None and got != int(total):
            raise OSError(f"URL fetch failure on {origin}: received {got} of {total} bytes.")
        os.replace(partial, fpath)
    except urllib.error.HTTPError as error:
        raise OSError(f"URL fetch failure on {origin}: {error.code} -- {error.msg}") from error
    except urllib.error.URLError as error:
        raise OSError(f"URL fetch failure on {origin}: {error.errno} -- {error.reason}") from error
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def _keras_copy(cache_subdir, name, untar, file_hash, hash_algorithm):
    """The path of a Keras user's own copy under `~/.keras/<cache_subdir>`, when it is whole."""
    folder = os.path.join(os.path.expanduser("~"), ".keras", cache_subdir)
    target = os.path.join(folder, name)
    if untar:
        return target if os.path.isdir(target) else None
    if not os.path.isfile(target):
        return None
    if file_hash is not None and not validate_file(target, file_hash, hash_algorithm):
        return None
    return target


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False, archive_format="auto",
             cache_dir=None):
    """The local path of `fname`, downloaded from `origin` first unless it is already cached.

    Args:
        fname: the file's name in the cache (absolute: that path); None takes the origin's.
        origin: the URL (http, https, ftp or file) to fetch it from.
        untar: Keras 1 style: `origin` is a `.tar.gz`, extracted beside it; returns the folder.
        md5_hash: deprecated spelling of `file_hash` with `hash_algorithm='md5'`.
        file_hash: the expected md5 or sha256 digest; a cached file that does not match is
            fetched again, a fetched one that does not match raises ValueError.
        cache_subdir: the folder under the cache where the file is kept.
        hash_algorithm: 'md5', 'sha256' or 'auto' (by the digest's length).
        extract: extract the (tar or zip) archive beside it.
        archive_format: 'auto', 'tar', 'zip' or a list of these (None: never extract).
        cache_dir: the cache; default the jkeras home (`$JKERAS_HOME`, else `~/.jkeras`).
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm)  # an unknown algorithm fails before anything is fetched
    fname = os.fspath(fname) if fname is not None else ""
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'. "
                             "Please specify the `fname` argument.")
    if untar and fname.endswith(".tar.gz"):
        fname = fname[:-len(".tar.gz")]
    if cache_dir is None:
        own = _keras_copy(cache_subdir, fname, untar, file_hash, hash_algorithm)
        if own is not None:
            return own
    base = os.path.expanduser(cache_dir) if cache_dir is not None else jkeras_home()
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    target = os.path.join(datadir, fname)
    fpath = target + ".tar.gz" if untar else target
    if untar and os.path.isdir(target):
        return target
    fetch = not os.path.exists(fpath)
    if not fetch and file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
        print_msg(f"A local file was found, but it seems to be incomplete or outdated because the "
                  f"{hash_algorithm} file hash does not match the original value of {file_hash} "
                  "so we will re-download the data.")
        fetch = True
    if fetch:
        _download(origin, fpath)
        if file_hash is not None and not validate_file(fpath, file_hash, hash_algorithm):
            os.remove(fpath)
            raise ValueError(f"Incomplete or corrupted file detected. The {hash_algorithm} file "
                             f"hash does not match the provided value of {file_hash}.")
    if untar:
        _extract_archive(fpath, datadir, archive_format="tar")
        return target
    if extract:
        _extract_archive(fpath, datadir, archive_format)
    return fpath


__all__ = ["GeneratorEnqueuer", "OrderedEnqueuer", "Sequence", "SequenceEnqueuer", "get_file",
           "validate_file"]

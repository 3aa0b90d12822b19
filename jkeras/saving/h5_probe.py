"""Walk an `.h5` file in a child process first, because libhdf5 can crash or loop on damaged bytes.

Some damage is beyond what h5py can turn into an exception: a flipped byte in a
variable-length string's heap, a B-tree or an object header makes libhdf5 itself
segfault, abort or loop forever. So before the loaders open a file, `probe` has
this module, run as a script in a separate interpreter (h5py and numpy only, never
the JAX process forked, kept for the next file until a walk fails), touch every
part of the file the loaders could: the
superblock, every group's member list and links, every object header, every
attribute (values too, variable-length strings included), every dataset's shape,
dtype and layout, the data of chunked and compact datasets (through the filter
pipeline) and one element of contiguous ones, whose byte range is checked
against the file's size instead of read. The child prints each part before it
touches it; when it dies, runs past its time or runs out of memory, `probe`
returns what went wrong and the last part reached, and the loader raises
`FileFormatError` without touching the file itself.

A part that fails cleanly (h5py raises) is skipped: the loader meets the same
exception and reports it with its own checks. This module imports nothing from
jkeras (the child runs it as a plain file), so it returns problems as text.
"""
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

# A walk may take TIMEOUT_S seconds plus one second per BYTES_PER_S bytes of file; starting the
# child (importing h5py) may take START_S.
TIMEOUT_S = 30.0
START_S = 60.0
BYTES_PER_S = 20e6
MEMORY_BUDGET = 2 * 2 ** 30  # bytes the child may allocate beyond its imports (RLIMIT_AS)
_MAX_READ = 256 * 2 ** 20    # a value (attribute, chunk) declaring more is not read: loaders refuse it
# Names the loaders look up in groups, held or not: a lookup walks the group's index (the
# B-tree keys, which listing does not read).
_ATTR_NAMES = (b"model_config", b"training_config", b"keras_version", b"backend", b"layer_names",
               b"layer_names0", b"weight_names", b"weight_names0", b"name")
_LINK_NAMES = (b"model_weights", b"optimizer_weights", b"layers", b"vars", b"top_level_model_weights")
_PASSED = {}  # digests of files whose walk passed, oldest first
_PASSED_LIMIT = 256
_PASSED_LOCK = threading.Lock()
# Runs this file as `__main__` with `sys.argv = [this file, "--serve"]`: jkeras is not imported,
# and the working folder ('' in `sys.path` under -c) is dropped so it cannot shadow h5py.
_BOOT = ("import sys; sys.path[:1] = [p for p in sys.path[:1] if p]; sys.argv = sys.argv[1:]; "
         "import runpy; runpy.run_path(sys.argv[0], run_name='__main__')")


# ---- the parent's side ----
def probe(path, timeout=None):
    """None if the child walked all of `path`, else a sentence saying what happened where.

    A file whose exact bytes passed before is not walked again. A child that cannot start
    (no Python executable, h5py missing there) is not the file's fault: that returns None
    too, after a warning."""
    digest = _digest(path)
    if digest in _PASSED:
        return None
    try:
        problem = _walk_in_child(path, timeout)
    except _NoChild as why:
        warnings.warn(f"jkeras could not start its h5 probe ({why}); the file is read without it, "
                      "so a damaged file could crash this process.", RuntimeWarning, stacklevel=4)
        return None
    if problem is None:
        _remember(digest)
    return problem


def trust(path):
    """Mark the file this process just wrote at `path` as walked: reading it back (save, then
    load, in one program) needs no child. Any later change to its bytes changes the digest."""
    _remember(_digest(path))


def _remember(digest):
    with _PASSED_LOCK:
        _PASSED[digest] = True
        while len(_PASSED) > _PASSED_LIMIT:
            del _PASSED[next(iter(_PASSED))]


def _digest(path):
    """A hash of the file's bytes: the key of files that passed."""
    h = hashlib.blake2b(digest_size=20)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(2 ** 20), b""):
            h.update(block)
    return h.digest()


class _NoChild(Exception):
    """The child could not run at all (before it looked at the file)."""


def _walk_in_child(path, timeout):
    """Run the walk in the probe's interpreter; None if it passed, else what went wrong where."""
    if timeout is None:
        timeout = TIMEOUT_S + os.path.getsize(path) / BYTES_PER_S
    with _CHILD_LOCK:
        return _child().walk(os.path.abspath(os.fspath(path)), timeout)


class _Child:
    """One interpreter that walks file after file (h5py imported once, not once per file).

    It is started on first use and again after a walk that failed, crashed or ran past its
    time: a child that met damage is never reused."""

    def __init__(self):
        command = [sys.executable, "-c", _BOOT, os.path.abspath(__file__), "--serve"]
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=subprocess.DEVNULL, env=_child_env())
        except OSError as error:
            raise _NoChild(error) from error
        self.pid = os.getpid()
        self.lines, self.cond = [], threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        if self._wait_for("READY", START_S) != "READY":
            self.stop()
            raise _NoChild(f"exit status {self.process.poll()} before it imported h5py")

    def _read(self):
        """Collect the child's lines; wake the waiter at a verdict line or at the end."""
        for raw in self.process.stdout:
            line = raw.decode("utf8", "replace").rstrip("\n")
            with self.cond:
                self.lines.append(line)
                if line in ("READY", "OK"):
                    self.cond.notify()
        with self.cond:
            self.lines.append(None)  # end of output: the child exited
            self.cond.notify()

    def _wait_for(self, verdict, timeout):
        """`verdict` once the child printed it, None when it exited first, _TIMED_OUT when
        neither happened in time; the lines it printed before are left in `self.lines`."""
        with self.cond:
            done = self.cond.wait_for(lambda: self.lines and self.lines[-1] in (verdict, None),
                                      timeout=max(timeout, 0.0))
            if not done:
                return _TIMED_OUT
            last = self.lines.pop()
            return last

    def alive(self):
        return self.pid == os.getpid() and self.process.poll() is None

    def walk(self, path, timeout):
        """None if the child walked all of `path`, else what went wrong where."""
        with self.cond:
            self.lines.clear()
        try:
            self.process.stdin.write(json.dumps(path).encode() + b"\n")
            self.process.stdin.flush()
        except OSError as error:  # it exited since `alive()`: not the file's fault
            self.stop()
            raise _NoChild(error) from error
        verdict = self._wait_for("OK", timeout)
        if verdict == "OK":
            return None
        if verdict is _TIMED_OUT:
            with self.cond:
                where = _last_part(self.lines)
            self.stop()
            return (f"reading {where} did not finish within {timeout:.0f} s "
                    "(libhdf5 loops on some damaged files)")
        return _verdict(self.process.wait(), self.lines)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


_TIMED_OUT = object()
_CHILD = None
_CHILD_LOCK = threading.Lock()


def _child():
    """The running probe interpreter of this process, started when there is none."""
    global _CHILD
    if _CHILD is None or not _CHILD.alive():
        _CHILD = _Child()
    return _CHILD


def _child_env():
    """The parent's environment, with one thread per math library (the child only reads)."""
    return dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                PYTHONWARNINGS="ignore")


def _last_part(lines):
    parts = [json.loads(line[3:]) for line in lines if line.startswith("AT ")]
    return parts[-1] if parts else "the file's superblock (opening it)"


def _verdict(returncode, lines):
    """What a child that exited in the middle of a walk met, from the lines it printed."""
    failed = [json.loads(line[5:]) for line in lines if line.startswith("FAIL ")]
    if failed:
        return failed[0]
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"libhdf5 crashed ({name}) reading {_last_part(lines)}"
    return f"the probe stopped (exit status {returncode}) reading {_last_part(lines)}"


# ---- the child's side ----
def _say(tag, text):
    sys.stdout.write(f"{tag} {json.dumps(text)}\n")
    sys.stdout.flush()


def _text(name):
    return name.decode("utf8", "backslashreplace") if isinstance(name, bytes) else str(name)


class _Walk:
    """The child's walk: every part is announced, then touched; a clean h5py error skips it."""

    def __init__(self, h5py, path):
        self.h5py, self.path = h5py, path
        self.size = os.path.getsize(path)
        self.seen = set()
        self.file = None

    def close(self):
        if self.file is not None:
            self.file.close()

    def step(self, part, fn, *args):
        """`fn(*args)` after announcing `part`; None when it raised (the loader will too)."""
        _say("AT", part)
        try:
            return fn(*args)
        except Exception as error:  # noqa: BLE001 - a clean failure: the loader raises its own there
            if isinstance(error, MemoryError) or "memory allocation failed" in str(error):
                _say("FAIL", f"reading {part} needs more than {MEMORY_BUDGET >> 20} MiB of memory "
                             "(a damaged size)")
                raise SystemExit(0) from error
            return None

    def run(self):
        f = self.file = self.step("the file's superblock and root group (opening it)",
                                  self.h5py.File, self.path, "r")
        if f is None:
            return
        stack = [f]
        while stack:
            stack.extend(self.group(stack.pop()))

    def fresh(self, obj):
        """False for an object already walked (hard links can make cycles)."""
        key = self.step(f"the header of '{_text(obj.name)}'",
                        lambda: (obj.id.fileno, self.h5py.h5o.get_info(obj.id).addr))
        if key is None or key in self.seen:
            return False
        self.seen.add(key)
        return True

    def group(self, group):
        """Walk `group`'s attributes and members; returns its sub-groups still to walk."""
        where = f"group '{_text(group.name)}'"
        for name in _ATTR_NAMES:
            self.step(f"a lookup of attribute '{_text(name)}' of {where}", group.attrs.__contains__, name)
        self.attributes(group, where)
        for name in _LINK_NAMES:
            self.step(f"a lookup of '{_text(name)}' in {where}", group.__contains__, name)
        names = self.step(f"the member list of {where}", lambda: list(group.id.__iter__())) or []
        subgroups = []
        for name in names:
            obj = self.member(group, name, where)
            if isinstance(obj, self.h5py.Group) and self.fresh(obj):
                subgroups.append(obj)
            elif isinstance(obj, self.h5py.Dataset) and self.fresh(obj):
                self.dataset(obj)
            elif obj is not None and self.fresh(obj):
                self.attributes(obj, f"object '{_text(obj.name)}'")
        return subgroups

    def member(self, group, name, where):
        """The object a hard link `name` points to (others are never followed), or None."""
        part = f"link '{_text(name)}' in {where}"
        link = self.step(part, lambda: (name in group, group.get(name, getlink=True))[1])
        if not isinstance(link, self.h5py.HardLink):
            return None
        return self.step(f"the object at {part}", group.__getitem__, name)

    def attributes(self, obj, where):
        """Every attribute of `obj`: listed, sized, then read unless it declares too much."""
        names = []
        self.step(f"the attribute list of {where}", self.h5py.h5a.iterate, obj.id, names.append)
        for name in names:
            part = f"attribute '{_text(name)}' of {where}"
            declared = self.step(part, self.declared_attr, obj, name)
            if declared is not None and declared <= _MAX_READ:
                self.step(part, obj.attrs.__getitem__, name)

    @staticmethod
    def declared_attr(obj, name):
        """The bytes an attribute declares (a variable-length value's heap not counted)."""
        if name not in obj.attrs:
            return None
        aid = obj.attrs.get_id(name)
        return _nbytes(aid.shape or (), aid.dtype)

    def dataset(self, ds):
        where = f"dataset '{_text(ds.name)}'"
        self.attributes(ds, where)
        info = self.step(f"the shape, dtype and layout of {where}",
                         lambda: (ds.shape, ds.dtype, ds.id.get_create_plist().get_layout()))
        if info is None or info[0] is None:
            return
        shape, dtype, layout = info
        if layout == self.h5py.h5d.CHUNKED:
            self.chunks(ds, where, dtype)
        elif layout == self.h5py.h5d.CONTIGUOUS:
            self.contiguous(ds, where, shape, dtype)
        elif _nbytes(shape, dtype) <= _MAX_READ:
            self.step(f"the data of {where}", ds.__getitem__, ())

    def contiguous(self, ds, where, shape, dtype):
        """Data stored in one run: its byte range must lie in the file; one element is read."""
        span = self.step(f"the storage of {where}",
                         lambda: (ds.id.get_offset(), ds.id.get_storage_size()))
        if span is None or span[0] is None:
            return
        offset, size = span
        if offset + size > self.size:
            _say("FAIL", f"{where} declares its data at bytes {offset}..{offset + size}, beyond the "
                         f"end of the file ({self.size} bytes): the file is truncated or damaged")
            raise SystemExit(0)
        if dtype.kind in "biufc" and all(shape):
            self.step(f"the data of {where}", ds.__getitem__, tuple(0 for _ in shape))

    def chunks(self, ds, where, dtype):
        """Every stored chunk, read through the filter pipeline (decompression included)."""
        chunk_shape = self.step(f"the chunk layout of {where}", lambda: ds.chunks)
        if not chunk_shape or _nbytes(chunk_shape, dtype) > _MAX_READ:
            return
        offsets = []
        self.step(f"the chunk index of {where}", ds.id.chunk_iter,
                  lambda info: offsets.append(info.chunk_offset))
        for offset in offsets:
            box = tuple(slice(o, o + c) for o, c in zip(offset, chunk_shape))
            self.step(f"the chunk at {tuple(offset)} of {where}", ds.__getitem__, box)


def _nbytes(shape, dtype):
    count = 1
    for n in shape:
        count *= n
    return count * max(dtype.itemsize, 1)


def _limit_resources():
    """No core dumps (a crash is expected, not a bug to debug) and at most MEMORY_BUDGET more
    address space, so that a damaged size fails an allocation instead of eating the machine."""
    try:
        import resource
    except ImportError:  # not on POSIX: no limits
        return
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with open("/proc/self/statm") as statm:
        used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = used + MEMORY_BUDGET
    if hard == resource.RLIM_INFINITY or wanted < hard:
        resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _serve():
    """The child's loop: one JSON path per line in; "AT"/"FAIL" lines and "OK" per file out.
    A walk that fails exits the child (SystemExit): the parent starts a fresh one."""
    import h5py
    import numpy  # noqa: F401 - imported before the limit is set, with h5py
    try:
        _limit_resources()
    except (OSError, ValueError):  # no /proc (macOS): the timeout still bounds the walk
        pass
    print("READY", flush=True)
    for line in sys.stdin:
        walk = _Walk(h5py, json.loads(line))
        try:
            walk.run()
        finally:
            walk.close()
        print("OK", flush=True)


if __name__ == "__main__":
    _serve()

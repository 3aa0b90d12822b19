"""Every ```python block in docs/**/*.md, and every examples/*.py script, runs, so the docs cannot drift.

Each page runs in a fresh Python process, as a reader on a fresh machine would run it: its
blocks in order in one namespace (later blocks use earlier names), in an empty temporary
working folder, with a temporary jkeras home (`$JKERAS_HOME`) and user home (`$HOME`).
Every page under docs/ is run except index pages (`README.md`, `index.md`) without code;
every other page must have at least one ```python block. A new page is picked up by
its being there.

Each script in examples/ runs whole (`python examples/<name>.py`), the same way, with
`JKERAS_EXAMPLES_SMALL=1` in its environment (pages get it too): a script reads it to
shrink its data and epochs, so that the tests stay fast while the script by default
trains for real.

Markers on a block's first line:

- `# no-run: <reason>`: shown to readers, never run (many hosts, real GPUs, downloads);
- `# requires: <module>[, <module>...]`: run only when those modules import (e.g. keras).

A page may ask for several (CPU) devices with a line `<!-- docs-test: devices=N -->`, a
script with a line `# docs-test: devices=N`; its process then starts with
`XLA_FLAGS=--xla_force_host_platform_device_count=N` and `JAX_PLATFORMS=cpu`, so the
multi-device code really uses several devices.

Without pytest-xdist, the selected pages and scripts run up to `JKERAS_DOCS_JOBS`
(default: the CPU count, at most 4) processes at a time, started when the first of
these tests runs; each test then reports its own file.

A failing block fails the test with the file name, the block number, its line and the
traceback. To run one page by hand, from an empty folder (its blocks write files there):
`python /path/to/tests/test_docs.py /path/to/docs/faq.md`; a script runs as itself:
`JKERAS_EXAMPLES_SMALL=1 python /path/to/examples/convnet_digits.py`.
"""
import concurrent.futures
import glob
import importlib
import os
import re
import runpy
import subprocess
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
EXAMPLES = os.path.join(ROOT, "examples")
INDEX_PAGES = ("README.md", "index.md")
SMALL_ENV = "JKERAS_EXAMPLES_SMALL"
TIMEOUT_S = 600

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_DEVICES = re.compile(r"^\s*(?:<!--|#)\s*docs-test:\s*devices=(\d+)\s*(?:-->)?\s*$", re.MULTILINE)
FAILED, SKIPPED, RAN = "DOCS-BLOCK-FAILED", "DOCS-BLOCK-SKIPPED", "DOCS-BLOCK-RAN"


def python_blocks(path):
    """`(number, first line in the file, source)` for each ```python block, numbered from 1."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [(number, text.count("\n", 0, match.start(1)) + 1, match.group(1))
            for number, match in enumerate(_FENCE.finditer(text), 1)]


def doc_pages():
    """Every `docs/**/*.md` but index pages (README.md, index.md) that hold no code."""
    pages = sorted(glob.glob(os.path.join(DOCS, "**", "*.md"), recursive=True))
    return [p for p in pages if os.path.basename(p) not in INDEX_PAGES or python_blocks(p)]


FILES = doc_pages()
SCRIPTS = sorted(glob.glob(os.path.join(EXAMPLES, "*.py")))


def marker(source, name):
    """The text after `# <name>:` on the block's first line, else None."""
    lines = source.strip().splitlines()
    match = re.match(rf"#\s*{name}:\s*(.*)", lines[0]) if lines else None
    return match.group(1).strip() if match else None


def missing_modules(source):
    missing = []
    for module in filter(None, (m.strip() for m in (marker(source, "requires") or "").split(","))):
        try:
            importlib.import_module(module)
        except Exception:  # noqa: BLE001 (not installed, or installed without what it needs)
            missing.append(module)
    return missing


def run_file(path):
    """Run `path`'s blocks here, in order, in one namespace; exit 1 at the first failure."""
    namespace = {"__name__": "__main__", "__file__": os.path.join(os.getcwd(), os.path.basename(path))}
    for number, line, source in python_blocks(path):
        reason = marker(source, "no-run")
        missing = [] if reason is not None else missing_modules(source)
        if reason is not None or missing:
            why = reason if reason is not None else f"missing {', '.join(missing)}"
            print(f"{SKIPPED} {number} line {line}: {why}", flush=True)
            continue
        start = time.perf_counter()
        try:
            # Padded so that tracebacks name the .md file and its own line numbers.
            code = compile("\n" * (line - 1) + source, path, "exec")
            exec(code, namespace)  # noqa: S102
        except BaseException as error:  # SystemExit too: a block must not exit
            if isinstance(error, KeyboardInterrupt):
                raise
            first = source.strip().splitlines()[0]
            print(f"\n{FAILED} {number} line {line} `{first}`: {type(error).__name__}: {error}",
                  flush=True)
            traceback.print_exc()
            return 1
        print(f"{RAN} {number} line {line} in {time.perf_counter() - start:.1f} s", flush=True)
    return 0


def run_script(path):
    """Run an examples/ script here as `__main__`, as `python <path>` would."""
    sys.argv = [path]
    sys.path.insert(0, os.path.dirname(path))
    runpy.run_path(path, run_name="__main__")
    return 0


def process_env(path, jkeras_home, user_home):
    """The environment a page or script runs in: temporary homes, small sizes, jkeras on the
    path, the repository's XLA cache, and forced CPU devices when the file asks for them."""
    env = dict(os.environ, JKERAS_HOME=str(jkeras_home), HOME=str(user_home), KERAS_BACKEND="jax",
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
               JAX_COMPILATION_CACHE_DIR=os.path.join(ROOT, ".jax_cache"),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
               JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
    env[SMALL_ENV] = "1"
    with open(path, encoding="utf-8") as f:
        devices = _DEVICES.search(f.read())
    if devices:
        env["XLA_FLAGS"] = " ".join(filter(None, [env.get("XLA_FLAGS", ""),
                                                  f"--xla_force_host_platform_device_count={devices.group(1)}"]))
        env["JAX_PLATFORMS"] = "cpu"
    return env


def run_in_fresh_process(path, folder):
    """Run a page (block by block, through this file) or a script (whole) in a new process, in
    `folder/work` with homes under `folder`. Returns `(returncode, stdout, stderr, seconds)`."""
    work, jhome, uhome = (os.path.join(folder, name) for name in ("work", "jkeras_home", "user_home"))
    for each in (work, jhome, uhome):
        os.makedirs(each, exist_ok=True)
    command = ([sys.executable, path] if path.endswith(".py")
               else [sys.executable, os.path.abspath(__file__), path])
    start = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=work, env=process_env(path, jhome, uhome),
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        result = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as error:
        def text(out):
            return out.decode(errors="replace") if isinstance(out, bytes) else (out or "")
        result = -1, text(error.stdout), text(error.stderr) + f"\n(killed after {TIMEOUT_S} s)"
    return (*result, time.perf_counter() - start)


# ------------------------------------------------------------------ the tests
try:
    import pytest
except ImportError:  # run as a script in an environment without pytest
    pytest = None

if pytest is not None:
    pytestmark = pytest.mark.slow

    def test_docs_exist_and_have_code():
        names = {os.path.relpath(p, DOCS) for p in FILES}
        assert len(FILES) >= 6 and "faq.md" in names, sorted(names)
        for path in FILES:
            assert python_blocks(path), f"{path} has no ```python block"

    def test_examples_exist_and_say_how_to_run():
        names = {os.path.basename(p) for p in SCRIPTS}
        for name in ("convnet_digits.py", "stateful_lstm_chunks.py", "fine_tune_frozen_base.py",
                     "data_parallel.py", "export_to_keras3.py"):
            assert name in names, (name, sorted(names))
        for path in SCRIPTS:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            assert re.match(r'\s*"""', text), f"{path}: start with a docstring saying what it shows"
            assert f"python examples/{os.path.basename(path)}" in text, f"{path}: say how to run it"
            assert SMALL_ENV in text, f"{path}: read {SMALL_ENV} to shrink data and epochs"

    def test_no_run_blocks_say_why():
        for path in FILES:
            for number, line, source in python_blocks(path):
                assert marker(source, "no-run") != "", f"{path} block {number} (line {line}): say why"

    def test_faq_answers_the_twenty_questions_in_order():
        with open(os.path.join(DOCS, "faq.md"), encoding="utf-8") as f:
            headings = [line[3:].strip().lower() for line in f if line.startswith("## ")]
        expected = ["cite", "gpu", "multiple gpus", "sample", "save", "training loss",
                    "intermediate", "don't fit in memory", "interrupt training",
                    "validation split", "shuffled", "record", "freeze", "stateful",
                    "remove a layer", "pre-trained", "hdf5 inputs", "configuration file",
                    "reproducible", "install hdf5"]
        assert len(headings) == len(expected), headings
        for heading, word in zip(headings, expected):
            assert word in heading, (word, heading)

    _RUN_TESTS = ("test_doc_blocks_run", "test_example_runs")

    @pytest.fixture(scope="session")
    def fresh_runs(request, tmp_path_factory):
        """`{path: Future}` of the selected pages and scripts, run a few at a time.

        Started once, for every page and script the session selected, so that on a machine
        with several cores the processes overlap; under pytest-xdist each test runs its own."""
        if os.environ.get("PYTEST_XDIST_WORKER"):
            return None
        selected = [item.callspec.params["path"] for item in request.session.items
                    if getattr(item, "originalname", None) in _RUN_TESTS and hasattr(item, "callspec")]
        jobs = int(os.environ.get("JKERAS_DOCS_JOBS") or min(os.cpu_count() or 1, 4))
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
        request.addfinalizer(lambda: pool.shutdown(wait=False, cancel_futures=True))
        base = tmp_path_factory.mktemp("docs_runs")
        return {path: pool.submit(run_in_fresh_process, path, tempfile.mkdtemp(dir=base))
                for path in dict.fromkeys(selected)}

    def _run(path, fresh_runs, tmp_path):
        if fresh_runs is not None and path in fresh_runs:
            return fresh_runs[path].result()
        return run_in_fresh_process(path, str(tmp_path))

    @pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(p, DOCS) for p in FILES])
    def test_doc_blocks_run(path, fresh_runs, tmp_path):
        returncode, stdout, stderr, _ = _run(path, fresh_runs, tmp_path)
        name = os.path.relpath(path, ROOT)
        if returncode != 0:
            failed = [line for line in stdout.splitlines() if line.startswith(FAILED)]
            what = failed[0][len(FAILED):].strip() if failed else f"exit status {returncode}"
            pytest.fail(f"{name}: block {what}\n\n--- stderr (end) ---\n{stderr[-6000:]}"
                        f"\n--- stdout (end) ---\n{stdout[-3000:]}", pytrace=False)
        ran = [line for line in stdout.splitlines() if line.startswith(RAN)]
        assert ran, f"{name}: no block ran\n{stdout[-3000:]}"

    @pytest.mark.parametrize("path", SCRIPTS, ids=[os.path.basename(p) for p in SCRIPTS])
    def test_example_runs(path, fresh_runs, tmp_path):
        returncode, stdout, stderr, _ = _run(path, fresh_runs, tmp_path)
        if returncode != 0:
            pytest.fail(f"{os.path.relpath(path, ROOT)} (with {SMALL_ENV}=1): exit status {returncode}"
                        f"\n\n--- stderr (end) ---\n{stderr[-6000:]}\n--- stdout (end) ---\n"
                        f"{stdout[-3000:]}", pytrace=False)


if __name__ == "__main__":
    target = os.path.abspath(sys.argv[1])
    sys.exit(run_script(target) if target.endswith(".py") else run_file(target))

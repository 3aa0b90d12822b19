"""Every ```python block in docs/faq.md and docs/examples/*.md runs, so the docs cannot drift.

Each file runs in a fresh Python process, as a reader on a fresh machine would run it: its
blocks in order in one namespace (later blocks use earlier names), in an empty temporary
working folder, with a temporary jkeras home (`$JKERAS_HOME`) and user home (`$HOME`).

Markers on a block's first line:

- `# no-run: <reason>`: shown to readers, never run (many hosts, real GPUs, downloads);
- `# requires: <module>[, <module>...]`: run only when those modules import (e.g. keras).

A file may ask for several (CPU) devices with a line `<!-- docs-test: devices=N -->`; its
process then starts with `XLA_FLAGS=--xla_force_host_platform_device_count=N` and
`JAX_PLATFORMS=cpu`, so the multi-device answers really use several devices.

A failing block fails the test with the file name, the block number, its line and the
traceback. To run one file by hand, from an empty folder (its blocks write files there):
`python /path/to/tests/test_docs.py /path/to/docs/faq.md`.
"""
import glob
import importlib
import os
import re
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
FILES = sorted([os.path.join(DOCS, "faq.md")] +
               [p for p in glob.glob(os.path.join(DOCS, "examples", "*.md"))
                if os.path.basename(p) != "README.md"])  # the examples' index has no code

_FENCE = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)
_DEVICES = re.compile(r"<!--\s*docs-test:\s*devices=(\d+)\s*-->")
FAILED, SKIPPED, RAN = "DOCS-BLOCK-FAILED", "DOCS-BLOCK-SKIPPED", "DOCS-BLOCK-RAN"


def python_blocks(path):
    """`(number, first line in the file, source)` for each ```python block, numbered from 1."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return [(number, text.count("\n", 0, match.start(1)) + 1, match.group(1))
            for number, match in enumerate(_FENCE.finditer(text), 1)]


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


# ------------------------------------------------------------------ the tests
try:
    import pytest
except ImportError:  # run as a script in an environment without pytest
    pytest = None

if pytest is not None:
    pytestmark = pytest.mark.slow

    def test_docs_exist_and_have_code():
        assert len(FILES) >= 6, FILES
        for path in FILES:
            assert python_blocks(path), f"{path} has no ```python block"

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

    @pytest.mark.parametrize("path", FILES, ids=[os.path.relpath(p, DOCS) for p in FILES])
    def test_doc_blocks_run(path, tmp_path):
        work, jhome, uhome = tmp_path / "work", tmp_path / "jkeras_home", tmp_path / "user_home"
        for folder in (work, jhome, uhome):
            folder.mkdir()
        env = dict(os.environ, JKERAS_HOME=str(jhome), HOME=str(uhome), KERAS_BACKEND="jax",
                   PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])),
                   JAX_COMPILATION_CACHE_DIR=os.path.join(ROOT, ".jax_cache"),
                   JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                   JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0")
        with open(path, encoding="utf-8") as f:
            devices = _DEVICES.search(f.read())
        if devices:
            env["XLA_FLAGS"] = " ".join([env.get("XLA_FLAGS", ""),
                                         f"--xla_force_host_platform_device_count={devices.group(1)}"])
            env["JAX_PLATFORMS"] = "cpu"
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), path], cwd=work, env=env,
                              capture_output=True, text=True, timeout=600, check=False)
        name = os.path.relpath(path, ROOT)
        if proc.returncode != 0:
            failed = [line for line in proc.stdout.splitlines() if line.startswith(FAILED)]
            what = failed[0][len(FAILED):].strip() if failed else f"exit status {proc.returncode}"
            pytest.fail(f"{name}: block {what}\n\n--- stderr (end) ---\n{proc.stderr[-6000:]}"
                        f"\n--- stdout (end) ---\n{proc.stdout[-3000:]}", pytrace=False)
        ran = [line for line in proc.stdout.splitlines() if line.startswith(RAN)]
        assert ran, f"{name}: no block ran\n{proc.stdout[-3000:]}"


if __name__ == "__main__":
    sys.exit(run_file(os.path.abspath(sys.argv[1])))

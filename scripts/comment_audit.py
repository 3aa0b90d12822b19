"""Comments and docstrings in jkeras/ that point outside the repository or quote timings (issue 24).

    python scripts/comment_audit.py [ROOT]      # ROOT: the repository (default: cwd)

Two kinds of text are listed, one `path:line: kind: text` per finding:

- `outside-path`: a path on some machine rather than in this repository: an absolute path
  under /tmp, /work, /home, /root, /opt, /usr, /var, /mnt, a `site-packages` or
  `dist-packages` path, or a relative path that climbs out (`../shared/...`). A comment should
  name a file of the repository (`jkeras/layers/base.py`) or a public source by name.
- `timing`: a measurement (`120 ms`, `0.3 s`, `2.5x faster`, `~30% slower`, `measured 1.4x`,
  `samples/s`, `took 3 s`). Figures move with the machine and the code; they belong in
  scripts/BENCH_RESULTS.md with the command that measures them, and the comment says what
  was measured, or where. Text in backquotes (quoted code or output, a progress bar's
  `0s 2ms/step`) is not read for timings.

Paths the code itself uses and settings that are not measurements are in `ALLOWED`.

Comments come from `tokenize`, docstrings (module, class, function) from `ast`. Other string
constants (error messages) are not read. Exit status 1 when anything is listed.
"""
import ast
import io
import os
import re
import sys
import tokenize

PACKAGE = "jkeras"

_OUTSIDE = re.compile(
    r"(?<![\w.])/(?:tmp|work|home|root|opt|usr|var|mnt)/\S*"
    r"|\S*(?:site|dist)-packages\S*"
    r"|(?<![\w.])\.\./\S+")
_NUMBER = r"(?<![\w.])\d+(?:,\d{3})*(?:\.\d+)?"
_TIMING = re.compile(
    rf"{_NUMBER}\s*(?:ms|us|µs|ns)\b|{_NUMBER}\s+(?:s|sec|secs|seconds?|min|minutes?)\b(?!-)"
    r"|(?<![\w.])\d+\.\d+s\b"
    rf"|{_NUMBER}\s*[x%]\s+(?:faster|slower|speed-?up)|~{_NUMBER}\s*x\b"
    rf"|\bmeasured:?\s+~?{_NUMBER}\s*[x%]"
    rf"|\b(?:faster|slower) by ~?{_NUMBER}"
    r"|samples/s|steps/s|img/s|\btook\s+(?:~|about\s+)?\d|\bspeed-?up\b")
_CODE = re.compile(r"`[^`]*`")     # quoted code or output (a progress bar's "0s 2ms/step")

# Text that is no finding: (file, a part of the line) -> why it stays.
ALLOWED = {
    ("jkeras/backend/config.py", "/tmp/.jkeras"): "a path the code uses: the fallback home folder",
    ("jkeras/callbacks.py", "at most every 0.05 s"): "a setting the code uses, not a measurement",
}


def comments(source):
    """`(line, text)` of every `#` comment of a module's source."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]


def docstrings(source):
    """`(line, text)` of each docstring line (module, classes, functions), numbered in the file."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            first = body[0].value.lineno
            found += [(first + i, line) for i, line in enumerate(body[0].value.value.split("\n"))]
    return found


def findings(path, source):
    """`(line, kind, text)` for each comment or docstring line of one module that is listed."""
    out = []
    for line, text in sorted(comments(source) + docstrings(source)):
        if any(part in text for (where, part) in ALLOWED if where == path):
            continue
        if _OUTSIDE.search(text):
            out.append((line, "outside-path", text.strip()))
        if _TIMING.search(_CODE.sub("", text)):
            out.append((line, "timing", text.strip()))
    return out


def audit(root):
    """`(relative path, line, kind, text)` over every module of the package, in path order."""
    rows = []
    for folder, dirs, files in os.walk(os.path.join(root, PACKAGE)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                source = f.read()
            rel = os.path.relpath(path, root)
            rows += [(rel, line, kind, text) for line, kind, text in findings(rel, source)]
    return rows


def main(argv):
    """Prints the findings under ROOT (argv[1], default: the current folder); 1 if any."""
    root = argv[1] if len(argv) > 1 else "."
    rows = audit(root)
    for rel, line, kind, text in rows:
        print(f"{rel}:{line}: {kind}: {text}")
    print(f"{len(rows)} finding(s)", file=sys.stderr)
    return 1 if rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Imports run one way, down DESIGN's floor table, and form no cycle, lazy imports included.

The graph is parsed from the sources (scripts/import_graph.py), so a lazy import inside a function
counts as much as one at the top; only a module `__getattr__`'s re-exports are exempt. The floor
order is written once, in `import_graph.FLOORS`; docs/architecture.md shows the same table.
"""
import os
import re
import sys

import pytest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import import_graph as graph  # noqa: E402

MODULES, EDGES = graph.collect(ROOT)


def _named(edges):
    return sorted({f"{e.path}:{e.line} {e.src} -> {e.dst}" for e in edges})


def test_every_module_has_a_floor():
    assert [m for m in MODULES if graph.floor_of(m) is None] == []


@pytest.mark.parametrize("implicit", [True, False], ids=["with-package-inits", "explicit"])
def test_no_upward_import(implicit):
    _, edges = graph.collect(ROOT, implicit=implicit)
    assert _named(graph.upward(edges)) == []


@pytest.mark.parametrize("implicit", [True, False], ids=["with-package-inits", "explicit"])
def test_no_cycle(implicit):
    mods, edges = graph.collect(ROOT, implicit=implicit)
    assert graph.cycles(mods, edges) == []


def test_checker_sees_lazy_and_upward_imports(tmp_path):
    """The checker itself: a lazy upward import and a two-module circle are found."""
    pkg = tmp_path / "jkeras"
    (pkg / "backend").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "backend" / "__init__.py").write_text("def f():\n    from jkeras import models\n")
    (pkg / "models.py").write_text("")
    (pkg / "layers").mkdir()
    (pkg / "layers" / "__init__.py").write_text("")
    (pkg / "layers" / "a.py").write_text("from jkeras.layers import b\n")
    (pkg / "layers" / "b.py").write_text("def g():\n    import jkeras.layers.a\n")
    mods, edges = graph.collect(str(tmp_path))
    assert [(e.src, e.dst, e.lazy) for e in graph.upward(edges)] == [("jkeras.backend", "jkeras.models", True)]
    assert graph.cycles(mods, edges) == [["jkeras.layers.a", "jkeras.layers.b"]]


def test_architecture_page_shows_the_floor_table():
    """docs/architecture.md's table lists each floor's packages as FLOORS does."""
    with open(os.path.join(ROOT, "docs", "architecture.md"), encoding="utf-8") as fh:
        text = fh.read()
    rows = {}
    for floor, cell in re.findall(r"^\| (\d+) \| ([^|]+) \|", text, flags=re.M):
        rows[int(floor)] = sorted(re.findall(r"`(jkeras[\w.]*)`", cell))
    assert rows == {floor: sorted(prefixes) for floor, prefixes in graph.FLOORS}

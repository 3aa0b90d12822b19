"""The import graph of the jkeras package, checked against the floor order of DESIGN.md.

Every module under jkeras/ is parsed with `ast`; every import is collected (module level,
inside functions and classes, under `if TYPE_CHECKING`, and `importlib.import_module` with a
constant or f-string name). Each module is given a floor; an import from a lower floor to a
higher one is "upward"; strongly connected components of size > 1 are cycles.

    python scripts/import_graph.py [ROOT] [--explicit]   # ROOT: the repository (default: cwd)

--explicit leaves out the implicit edge to a package whose `__init__` runs first when one of
its submodules is imported (`from jkeras.utils.registry import x` runs jkeras/utils/__init__.py).

Imports inside a module-level `__getattr__` are DESIGN's sanctioned re-exports (a namespace
that Keras fills from several floors) and are exempt from both rules.

Exit status 1 if there is a cycle or an upward import (so the same code can become
tests/test_import_layers.py).
"""
import ast
import os
import sys
from collections import defaultdict
from typing import NamedTuple

PACKAGE = "jkeras"

# The floor order, written once (lowest first). A module takes the floor of the longest
# prefix that names it. Floors 1-10 are DESIGN.md's table (docs/architecture.md shows them).
FLOORS = [
    # 0: leaves that import nothing from jkeras (the version, errors, old-path helpers)
    (0, ["jkeras.version", "jkeras.errors", "jkeras.legacy"]),
    # 1: the backend, with the object registry and the slots higher floors fill
    (1, ["jkeras.backend"]),
    # 2: Keras-named objects and the dtype policies (`mixed_precision` re-exports the loss-scale
    #    optimizer from floor 4 through its module `__getattr__`)
    (2, ["jkeras.activations", "jkeras.initializers", "jkeras.regularizers",
         "jkeras.constraints", "jkeras.mixed_precision"]),
    (3, ["jkeras.layers"]),
    (4, ["jkeras.losses", "jkeras.losses_reduction", "jkeras.objectives", "jkeras.metrics",
         "jkeras.optimizers"]),
    (5, ["jkeras.data", "jkeras.utils", "jkeras.preprocessing", "jkeras.datasets"]),
    (6, ["jkeras.saving"]),
    (7, ["jkeras.callbacks"]),
    (8, ["jkeras.models"]),
    (9, ["jkeras.distribution"]),
    # 10: families built from public layers, and Keras 2's old import paths (engine.*)
    (10, ["jkeras.applications", "jkeras.wrappers", "jkeras.engine"]),
    # 11: the facade: the package root, `install_as_keras`, the demo script
    (11, ["jkeras", "jkeras.keras_alias", "jkeras.demo"]),
]


def floor_of(module):
    best, best_len = None, -1
    for floor, prefixes in FLOORS:
        for p in prefixes:
            if (module == p or module.startswith(p + ".")) and len(p) > best_len:
                best, best_len = floor, len(p)
    return best


class Edge(NamedTuple):
    src: str
    dst: str
    path: str
    line: int
    lazy: bool        # inside a function/class body, not run at import
    dynamic: bool     # importlib.import_module
    implicit: bool = False   # a package __init__ that importing a submodule runs first
    reexport: bool = False   # inside a module-level `__getattr__`: DESIGN's sanctioned re-export


def module_files(root):
    """{module name: path relative to root} for every .py under root/jkeras."""
    mods = {}
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, PACKAGE)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            rel = os.path.relpath(os.path.join(dirpath, fn), root)
            parts = rel[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = rel
    return mods


def _resolve_relative(module, is_pkg, level, name):
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _known(name, mods):
    """The longest prefix of dotted `name` that is a module of the package, or None."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        cand = ".".join(parts[:i])
        if cand in mods:
            return cand
    return None


class _Collector(ast.NodeVisitor):
    def __init__(self, module, is_pkg, path, mods):
        self.module, self.is_pkg, self.path, self.mods = module, is_pkg, path, mods
        self.depth = 0
        self.in_getattr = False
        self.edges = []

    def _add(self, target, node, dynamic=False):
        dst = _known(target, self.mods)
        if dst is not None and dst != self.module:
            self.edges.append(Edge(self.module, dst, self.path, node.lineno, self.depth > 0, dynamic,
                                   reexport=self.in_getattr))

    def _scoped(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_FunctionDef(self, node):
        outer = self.in_getattr
        self.in_getattr = outer or (self.depth == 0 and node.name == "__getattr__")
        self._scoped(node)
        self.in_getattr = outer

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = _scoped
    visit_ClassDef = _scoped   # a class body runs at import, but its methods are scoped anyway

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node):
        base = (_resolve_relative(self.module, self.is_pkg, node.level, node.module)
                if node.level else node.module)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            # `from pkg import sub` imports the submodule; `from mod import name` imports mod
            self._add(sub if sub in self.mods else base, node)

    def visit_Call(self, node):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
        if name == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                self._add(arg.value, node, dynamic=True)
            elif isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                self._add(arg.values[0].value.rstrip("."), node, dynamic=True)
        self.generic_visit(node)


def _ancestors(module):
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def collect(root, implicit=True):
    """(modules, edges). One edge per (importer, imported, line). With `implicit`, importing
    `jkeras.a.b` also counts as importing package `jkeras.a` (its `__init__` runs first), unless
    that package is the root or an ancestor of the importer (already running)."""
    mods = module_files(root)
    edges, seen = [], set()
    for module, rel in mods.items():
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), rel)
        c = _Collector(module, rel.endswith("__init__.py"), rel, mods)
        c.visit(tree)
        for e in c.edges:
            found = [e]
            if implicit:
                mine = _ancestors(e.src) | {e.src, PACKAGE}
                found += [e._replace(dst=p, implicit=True) for p in sorted(_ancestors(e.dst))
                          if p not in mine and p in mods]
            for f in found:
                if (f.src, f.dst, f.line) not in seen:
                    seen.add((f.src, f.dst, f.line))
                    edges.append(f)
    return mods, edges


def checked(edges):
    """The edges the rules apply to: all but the re-exports of a module `__getattr__`."""
    return [e for e in edges if not e.reexport]


def cycles(mods, edges):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    graph = defaultdict(set)
    for e in checked(edges):
        graph[e.src].add(e.dst)
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for start in sorted(mods):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]; counter[0] += 1
        stack.append(start); on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return sorted(out, key=len, reverse=True)


def upward(edges):
    return [e for e in checked(edges) if floor_of(e.dst) is not None and floor_of(e.src) is not None
            and floor_of(e.dst) > floor_of(e.src)]


def _tag(e):
    return ("dynamic" if e.dynamic else "lazy" if e.lazy else "top") + (", via package" if e.implicit else "")


def main(*argv):
    root = next((a for a in argv if not a.startswith("--")), ".")
    mods, edges = collect(root, implicit="--explicit" not in argv)
    unplaced = sorted(m for m in mods if floor_of(m) is None)
    comps = cycles(mods, edges)
    up = upward(edges)
    print(f"{len(mods)} modules, {len(edges)} import edges "
          f"({sum(not e.lazy for e in edges)} at import time, {sum(e.lazy for e in edges)} lazy)")
    rex = [e for e in edges if e.reexport]
    print(f"{len(rex)} re-export(s) in a module __getattr__ (exempt): "
          + ", ".join(f"{e.path}:{e.line}->{e.dst}" for e in rex if not e.implicit))
    if unplaced:
        print("modules with no floor:", ", ".join(unplaced))
    print(f"\n== {len(comps)} cycle(s) (strongly connected components)")
    for comp in comps:
        members = set(comp)
        inner = [e for e in checked(edges) if e.src in members and e.dst in members]
        print(f"-- {len(comp)} modules, {len(inner)} edges inside, "
              f"{sum(not e.lazy for e in inner)} of them at import time:")
        print("   " + ", ".join(comp))
        for e in sorted(inner, key=lambda e: (e.path, e.line)):
            print(f"   {e.path}:{e.line}  {e.src} -> {e.dst}  [{_tag(e)}]")
    eager = [e for e in edges if not e.lazy]
    print(f"\n== {len(cycles(mods, eager))} cycle(s) among import-time edges alone: "
          + "; ".join(f"{len(c)} modules" for c in cycles(mods, eager)))
    print(f"\n== {len(up)} upward import(s) (src floor < dst floor), "
          f"{len({(e.src, e.dst) for e in up})} distinct module pairs")
    for e in sorted(up, key=lambda e: (e.path, e.line)):
        print(f"   {e.path}:{e.line}  {e.src} ({floor_of(e.src)}) -> {e.dst} ({floor_of(e.dst)})  [{_tag(e)}]")
    return 1 if comps or up else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

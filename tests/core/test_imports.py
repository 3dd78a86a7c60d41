"""The package's imports point one way: no module imports one that imports it back (directly or
round a longer loop), and no module imports one of a higher layer.

The layers, lowest first; a module may import modules of its own layer or of lower ones:

- base: errors, rulekinds (the rule-kind registry and the Finding every check returns), files
  (the atomic writer), units (the named float tolerances)
- config: the design models a config builds (design, config, pads)
- pdk: the process design kit, loaded from TOML
- io: the in-memory layout and its GDS / layer-properties writers, and the GDS reader with its
  polygon arrays and their graph labelling (drc/read.py, drc/geometry.py, drc/graph.py: reading a GDS is I/O, which the wafer checks
  need as much as the DRC does)
- checks: the DRC's geometric checks (drc/merge, morph, space, width, angle, violation), which
  the RDL router runs on its final polygons
- cells, route, families: parametric cells, the routers, one package per process family
- wafer: die map, plating network and their checks (places a family's die)
- masks: masks derived from the drawn layers, tone inversion included (needs the wafer's die sites)
- drc: the DRC engine (runs the wafer checks for the plating and isolation rules)
- view: previews and the HTML report of a built design (reads what was written)
- pipeline: config -> design folder; then the command line on top

Imports are read from the source (ast), those inside functions included; imports under
`if TYPE_CHECKING:` (annotations only, never executed) are not counted. Module names in
`importlib.import_module` strings (the lazy package exports, the registry's checks) are not
imports of the module that holds them.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import layoutgen

PACKAGE = Path(layoutgen.__file__).parent

LAYERS: list[tuple[str, ...]] = [
    ("errors", "rulekinds", "files", "units"),
    ("design", "config", "pads", "diein"),
    ("pdk", "pdk_check"),
    ("layout", "gdsio", "lyp", "lyt", "drc.read", "drc.geometry", "drc.graph"),
    # the DRC's geometric checks (merge, morphology, space, width, angle): pure functions on
    # polygons that the RDL router runs on its final metal, so it passes only what the DRC passes
    ("drc.violation", "drc.merge", "drc.morph", "drc.space", "drc.width", "drc.angle"),
    ("cells",),
    ("route",),
    ("families",),
    ("wafer",),
    ("masks",),
    ("drc",),
    ("view", "pinout"),
    ("pipeline",),
    ("cli", "__main__", ""),
]

# Cycles another helper is removing (route/rdl belongs to the router's issue): reported, not failed.
KNOWN_CYCLES: list[set[str]] = []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_only(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def statements(nodes: list[ast.AST]):
    """Every statement in `nodes` and in the bodies nested in them (functions, classes, if/try/with/for, match
    cases), except the body of an `if TYPE_CHECKING:`. An import is a statement, so expressions need no walk."""
    for node in nodes:
        if isinstance(node, ast.If) and _type_only(node):
            yield from statements(node.orelse)
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            sub = getattr(node, field, None)
            if isinstance(sub, list):
                yield from statements(sub)


def imports_of(path: Path, name: str, modules: set[str]) -> set[str]:
    """The package's modules `path` imports (a `from pkg import sub` names the submodule)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in statements(tree.body):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "layoutgen"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "layoutgen":
                continue
            for a in node.names:
                sub = f"{target}.{a.name}"
                out.add(sub if sub in modules else target)
    return out - {name}


@lru_cache(maxsize=1)
def import_graph() -> dict[str, frozenset[str]]:
    """Every module of the package and the package modules it imports (read once, shared by the tests)."""
    paths = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    return {m: frozenset(imports_of(p, m, set(paths)) & set(paths)) for m, p in paths.items()}


def layer_of(module: str) -> int:
    """The layer of a module: that of the longest name in LAYERS it is or lies in."""
    rel = module.removeprefix("layoutgen").removeprefix(".")
    best, best_len = None, -1
    for k, names in enumerate(LAYERS):
        for n in names:
            if (rel == n or rel.startswith(n + ".") or n == "") and len(n) > best_len:
                best, best_len = k, len(n)
    assert best is not None, module
    return best


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_reader_sees_imports_of_every_kind():
    g = import_graph()
    assert "layoutgen.drc.cell" in g["layoutgen.drc.engine"]                 # from .cell import ...
    assert "layoutgen.wafer.checks" in g["layoutgen.masks.invert"]           # from ..wafer.checks import ...
    assert "layoutgen.pipeline" in g["layoutgen.cli"]                       # inside a function
    assert "layoutgen.drc.hier.checker" not in g["layoutgen.drc.hier.context"]   # TYPE_CHECKING only
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycles():
    found = [c for c in cycles(import_graph()) if c not in KNOWN_CYCLES]
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_imports_follow_the_layers():
    g = import_graph()
    bad = sorted(f"{a} (layer {layer_of(a)}) imports {b} (layer {layer_of(b)})"
                 for a, targets in g.items() for b in targets if layer_of(b) > layer_of(a))
    assert bad == [], "\n".join(bad)

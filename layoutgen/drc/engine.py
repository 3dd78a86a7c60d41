"""The DRC engine: read a GDS, then check each top cell flat (flattened) or hierarchically.

Flat: the top cell flattened and the whole deck run on it. Hierarchical (`drc/hier`): each
cell the top places checked once, then only what the placements add. `run_drc` picks
hierarchical when the top places its cells by arrays or many references (flattening would
multiply the geometry; a wafer), flat otherwise; `hierarchical=True/False` forces it.

Two things hold in both modes:
- Marks: where the PDK's deck has no rule on the MARK layer (MARK is a marker, not a
  product layer), shapes lying inside MARK shapes (the box around the alignment marks) are
  exempt from every rule except connectivity: marks are drawn on the masks' own layers and
  would break enclosure and spacing rules that are meant for product shapes.
- Wafer checks: connectivity rules with `check = "plating"` / `"isolation"` call
  `layoutgen.wafer.checks` on the hierarchy (the GDS as read, never flattened), once per
  top cell; on a layout without a WAFER outline they report nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from ..errors import DrcError
from ..pdk import Pdk, Rule
from .cell import CellLayers, check_cell, run_rule
from .hier import HierDrcResult, check_hierarchical, prefers_hierarchy
from .read import Layout
from .violation import DrcResult, Violation
from .waivers import Waiver, apply_waivers, load_waivers

__all__ = ["CellLayers", "check_cell", "run_drc", "run_rule", "select_rules"]


def select_rules(pdk: Pdk, names: Iterable[str] | None) -> list[Rule]:
    """The deck's rules, or only those named (a DrcError names an unknown one)."""
    if names is None:
        return list(pdk.rules)
    wanted = list(names)
    known = {r.name: r for r in pdk.rules}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise DrcError(f"PDK {pdk.name!r} has no rule {', '.join(missing)} (rules: {', '.join(known)})")
    return [known[n] for n in wanted]


def run_drc(
    gds_path: str | Path,
    pdk: Pdk,
    top: str | None = None,
    waivers: str | Path | list[Waiver] | None = None,
    rules: Iterable[str] | None = None,
    hierarchical: bool | None = None,
) -> DrcResult:
    """Check a GDS file against the PDK's rule deck (or the `rules` named), each top cell (or
    `top`): flattened, or hierarchically (each placed cell once, then what the placements add)
    when the top places its cells by arrays or many references; `hierarchical` forces one or
    the other. `waivers` is a waivers file or a list of waivers.

    A hierarchical result (`hier.HierDrcResult`) reports a violation inside a placed cell once,
    in the cell's coordinates, saying in how many placements it occurs (`occurrences`,
    `flat_counts()`)."""
    t0 = time.perf_counter()
    deck = select_rules(pdk, rules)
    waiver_list = load_waivers(waivers) if isinstance(waivers, (str, Path)) else list(waivers or [])
    layout = Layout(gds_path)
    cells = layout.pick_tops(top)
    found: list[Violation] = []
    occurrences: list[int] = []
    stats: dict[str, dict] = {}
    attempted = False
    for name in cells:
        hier = prefers_hierarchy(layout, name) if hierarchical is None else hierarchical
        if hier and layout.placements(name):
            vs, occ, st = check_hierarchical(layout, name, pdk, deck)
            stats[name] = st
            attempted = True
        else:
            vs = check_cell(layout.flatten(name), pdk, deck, layout=layout)
            occ = [1] * len(vs)
            stats[name] = {"mode": "flat"}
        found.extend(vs)
        occurrences.extend(occ)
    found, unused = apply_waivers(found, waiver_list)
    common = dict(gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=deck, violations=found,
                  runtime_s=time.perf_counter() - t0, unused_waivers=unused)
    if attempted:
        return HierDrcResult(**common, occurrences=occurrences, stats=stats)
    return DrcResult(**common)

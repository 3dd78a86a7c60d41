"""The DRC engine: read a GDS, then check each top cell flat (flattened) or hierarchically.

Flat: the top cell flattened and the whole deck run on it. Hierarchical (`drc/hier`): each
cell the top places checked once, then only what the placements add. `run_drc` picks
hierarchical when the top places its cells by arrays or many references (flattening would
multiply the geometry) or draws a wafer outline, flat otherwise; `hierarchical=True/False`
forces it. A wafer always goes hierarchical so that its verdict does not depend on the die
size: per die its nets are checked as after dicing, while a flat check of the whole wafer
sees the plating network join every net (one NET.SHORT, by design before dicing).

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
from ..rulekinds import RULE_KINDS, runs_per_top
from .cell import WAFER_LAYER, CellLayers, check_cell, run_rule
from .hier import HierDrcResult, check_hierarchical, prefers_hierarchy
from .read import Layout, layer_key
from .violation import DrcResult, Violation
from .waivers import Waiver, apply_waivers, load_waivers

__all__ = ["CellLayers", "check_cell", "run_drc", "run_rule", "select_rules"]


def select_rules(pdk: Pdk, names: Iterable[str] | None) -> list[Rule]:
    """The deck's rules, or only those named (a DrcError names an unknown one)."""
    if names is None:
        return list(pdk.rules)
    if isinstance(names, str):
        raise DrcError(f"rules={names!r}: give a list of rule names, e.g. [{names!r}], not one string")
    wanted = list(names)
    odd = [n for n in wanted if not isinstance(n, str)]
    if odd:
        raise DrcError(f"rules: {odd[0]!r} is a {type(odd[0]).__name__}, not a rule name; "
                       f"name the deck's rules (rules: {', '.join(r.name for r in pdk.rules)})")
    known = {r.name: r for r in pdk.rules}
    missing = [n for n in wanted if n not in known]
    if missing:
        raise DrcError(f"PDK {pdk.name!r} has no rule {', '.join(missing)} (rules: {', '.join(known)})")
    return [known[n] for n in wanted]


# Kinds that compare two layers and have nothing to compare when either is missing.
_BOTH_LAYERS = {"separation"}


def not_applicable(deck: list[Rule], pdk: Pdk, layout: Layout) -> list[str]:
    """Names of the rules that cannot apply to this layout because it draws nothing on the layer(s)
    they look at (a width rule on a layer the family never draws checks nothing: it is reported
    as not applicable, never counted as clean)."""
    present = set(layout.layer_counts())

    def drawn(name: str | None) -> bool:
        return name is not None and name in pdk.layers and tuple(pdk.layers[name].gds) in present

    labelled = {(k >> 16) for name in layout.cells for k in layout.own(name)[1].key.tolist()}
    out = []
    for r in deck:
        if r.kind == "connectivity":
            if runs_per_top(r):
                ok = drawn(WAFER_LAYER)
            else:
                ok = any(pdk.layers[n].gds[0] in labelled for n in pdk.connectivity.label_layers if n in pdk.layers)
        elif r.layers:
            ok = any(drawn(n) for n in r.layers)
        elif r.layer is not None:
            kind = RULE_KINDS.get(r.kind)
            subject = r.other if kind is not None and kind.applies_with == "other" else r.layer
            ok = drawn(subject) and (r.kind not in _BOTH_LAYERS or drawn(r.other))
        else:
            ok = True   # a family kind that reads no named layer: always run
        if not ok:
            out.append(r.name)
    return out


def unknown_layers(pdk: Pdk, layout: Layout) -> dict[str, int]:
    """"layer/datatype" -> polygon count for shapes on GDS layers the PDK does not define."""
    known = {tuple(layer.gds) for layer in pdk.layers.values()}
    return {f"{lay}/{dt}": n for (lay, dt), n in sorted(layout.layer_counts().items()) if (lay, dt) not in known}


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
    skipped = not_applicable(deck, pdk, layout)
    full_deck, deck = deck, [r for r in deck if r.name not in skipped]
    found: list[Violation] = []
    occurrences: list[int] = []
    stats: dict[str, dict] = {}
    attempted = False
    wafer_key = layer_key(*pdk.layer(WAFER_LAYER).gds) if WAFER_LAYER in pdk.layers else None
    for name in cells:
        hier = prefers_hierarchy(layout, name, wafer_key) if hierarchical is None else hierarchical
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
    common = dict(gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=full_deck, violations=found,
                  runtime_s=time.perf_counter() - t0, unused_waivers=unused, not_applicable=skipped,
                  unknown_layers=unknown_layers(pdk, layout))
    if attempted:
        return HierDrcResult(**common, occurrences=occurrences, stats=stats)
    return DrcResult(**common)

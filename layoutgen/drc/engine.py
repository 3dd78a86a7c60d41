"""The DRC engine: read a GDS, flatten each top cell, run the PDK's rule deck on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely

from ..errors import DrcError
from ..pdk import Pdk, Rule
from ..rulekinds import FAMILY_KINDS, family_check
from .angle import check_angle
from .area import check_area, check_hole_area
from .centres import check_edge_distance, check_pitch
from .connectivity import Pieces, conductor_pieces, find_opens, find_shorts, place_terminals
from .density import check_density
from .enclosure import check_enclosure, check_overlap, check_separation
from .grid import check_grid
from .merge import Shapes, merge
from .geometry import polygons
from .read import Flat, Layout, Polys, layer_key
from .size import check_size
from .space import check_space
from .violation import DrcResult, Finding, Violation
from .waivers import Waiver, apply_waivers, load_waivers
from .width import check_width


class CellLayers:
    """One flattened cell seen through a PDK: raw and merged shapes and labels by layer name,
    each computed once on first use."""

    def __init__(self, flat: Flat, pdk: Pdk) -> None:
        self.flat = flat
        self.pdk = pdk
        self._merged: dict[str, Shapes] = {}

    def raw(self, name: str) -> Polys:
        """The drawn polygons of a layer, unmerged (integer database units)."""
        layer = self.pdk.layer(name)
        return self.flat.polys.select(layer_key(*layer.gds))

    def shapes(self, name: str) -> list[shapely.Geometry]:
        """The drawn polygons of a layer as shapely polygons (µm), unmerged."""
        return list(polygons(self.raw(name), self.flat.dbu_um))

    def texts(self, name: str) -> list[tuple[str, float, float]]:
        """Every text on a layer's GDS number, any texttype: (text, x µm, y µm)."""
        gds_layer = self.pdk.layer(name).gds[0]
        lab = self.flat.labels
        keys = np.asarray(lab.key)
        sel = (keys >> 16) == gds_layer if len(keys) else np.zeros(0, bool)
        xy = np.asarray(lab.xy)[sel] * self.flat.dbu_um
        return [(str(t), float(x), float(y)) for t, (x, y) in zip(np.asarray(lab.text)[sel], xy)]

    def merged(self, name: str) -> Shapes:
        """The layer merged into disjoint shapes (µm)."""
        if name not in self._merged:
            self._merged[name] = merge(self.raw(name), self.flat.dbu_um)
        return self._merged[name]

    def labels(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Net labels on a layer (its GDS layer number, the PDK's label texttype): texts and µm positions."""
        gds_layer = self.pdk.layer(name).gds[0]
        lab = self.flat.labels.select(layer_key(gds_layer, self.pdk.labels.text_datatype))
        return lab.text, lab.xy * self.flat.dbu_um

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """The extent of everything the cell draws (µm), or None if it draws nothing."""
        b = self.flat.bounds_dbu
        return None if b is None else tuple(v * self.flat.dbu_um for v in b)  # type: ignore[return-value]

    @cached_property
    def pieces(self) -> Pieces:
        """The connected pieces of the PDK's conductor stack."""
        stack = self.pdk.connectivity
        names = set(stack.conductors) | {v.via for v in stack.vias}
        return conductor_pieces({n: self.merged(n) for n in names if n in self.pdk.layers}, stack)


def _connectivity(rule: Rule, cl: CellLayers) -> list[Finding]:
    stack = cl.pdk.connectivity
    labels = {n: cl.labels(n) for n in stack.label_layers}
    if not any(len(t) for t, _ in labels.values()):
        return []
    terms = place_terminals(cl.pieces, labels)
    if rule.check == "opens":
        return find_opens(cl.pieces, terms)
    if rule.check == "shorts":
        return find_shorts(cl.pieces, terms)
    raise DrcError(f"rule {rule.name}: connectivity check {rule.check!r} is not implemented yet")


Check = Callable[[Rule, CellLayers], list[Finding]]

CHECKS: dict[str, Check] = {
    "width": lambda r, c: check_width(c.merged(r.layer), r.value),
    "space": lambda r, c: check_space(c.merged(r.layer), r.value),
    "area": lambda r, c: check_area(c.merged(r.layer), r.value),
    "hole_area": lambda r, c: check_hole_area(c.merged(r.layer), r.value),
    "enclosure": lambda r, c: check_enclosure(c.merged(r.layer), c.merged(r.other), r.value),
    "separation": lambda r, c: check_separation(c.merged(r.layer), c.merged(r.other), r.value),
    "overlap": lambda r, c: check_overlap(c.merged(r.layer), c.merged(r.other), r.value),
    "size": lambda r, c: check_size(c.merged(r.layer), r.value, r.tolerance or 0.0),
    "pitch": lambda r, c: check_pitch(c.merged(r.layer), r.value),
    "edge_distance": lambda r, c: check_edge_distance(c.merged(r.layer), c.merged(r.other), r.value),
    "grid": lambda r, c: [f for n in r.layers for f in check_grid(c.raw(n), r.value, c.flat.dbu_um)],
    "angle": lambda r, c: [f for n in r.layers for f in check_angle(c.merged(n), r.value, r.tolerance_um or 0.0)],
    "density": lambda r, c: check_density(c.merged(r.layer), c.extent, r.window, r.step, r.min, r.max),
    "connectivity": _connectivity,
}


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


def check_cell(flat: Flat, pdk: Pdk, rules: list[Rule]) -> list[Violation]:
    """Every violation of `rules` in one flattened cell."""
    cl = CellLayers(flat, pdk)
    out: list[Violation] = []
    for rule in rules:
        try:
            check = CHECKS.get(rule.kind) or (family_check(rule.kind) if rule.kind in FAMILY_KINDS else None)
            if check is None:
                raise DrcError(f"rule {rule.name}: no check for kind {rule.kind!r}")
            found = check(rule, cl)
        except shapely.errors.GEOSException as e:
            raise DrcError(f"rule {rule.name} could not be checked in cell {flat.cell!r}: geometry error {e}") from None
        out.extend(Violation(rule.name, flat.cell, f.message, f.region, f.edges) for f in found)
    return out


def run_drc(
    gds_path: str | Path,
    pdk: Pdk,
    top: str | None = None,
    waivers: str | Path | list[Waiver] | None = None,
    rules: Iterable[str] | None = None,
) -> DrcResult:
    """Check a GDS file against the PDK's rule deck (or the `rules` named): each top cell
    (or `top`) is flattened and checked; `waivers` is a waivers file or a list of waivers."""
    t0 = time.perf_counter()
    deck = select_rules(pdk, rules)
    waiver_list = load_waivers(waivers) if isinstance(waivers, (str, Path)) else list(waivers or [])
    layout = Layout(gds_path)
    cells = layout.pick_tops(top)
    found: list[Violation] = []
    # Plating and isolation look at a wafer's hierarchy (never flattened): run once per top.
    wafer_rules = [r for r in deck if r.kind == "connectivity" and r.check in ("plating", "isolation")]
    cell_rules = [r for r in deck if r not in wafer_rules]
    for name in cells:
        found.extend(check_cell(layout.flatten(name), pdk, cell_rules))
        for rule in wafer_rules:
            from ..wafer.checks import isolation_findings, plating_findings

            check = plating_findings if rule.check == "plating" else isolation_findings
            found.extend(Violation(rule.name, name, f.message, f.region, f.edges) for f in check(layout, pdk, name))
    found, unused = apply_waivers(found, waiver_list)
    return DrcResult(
        gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=deck, violations=found,
        runtime_s=time.perf_counter() - t0, unused_waivers=unused,
    )

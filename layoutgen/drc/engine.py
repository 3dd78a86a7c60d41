"""The DRC engine: read a GDS, then check each top cell flat (flattened) or hierarchically.

Flat: the top cell flattened and the whole deck run on it. Hierarchical (`hier.py`): each
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
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely

from ..errors import DrcError, InternalError
from ..pdk import Pdk, Rule
from ..rulekinds import FAMILY_KINDS, family_check
from .angle import check_angle
from .area import check_area, check_hole_area
from .centres import check_edge_distance, check_pitch
from .connectivity import Pieces, conductor_pieces, find_opens, find_shorts, join_nets, place_terminals
from .density import check_density, clusters
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


MARK_LAYER = "MARK"
WAFER_LAYER = "WAFER"
WAFER_CHECKS = ("plating", "isolation")


def marks_exempt(pdk: Pdk) -> bool:
    """Whether shapes inside MARK shapes are exempt: the PDK has a MARK layer and no rule names it."""
    if MARK_LAYER not in pdk.layers:
        return False
    for r in pdk.rules:
        if MARK_LAYER in (r.layer, r.other) or MARK_LAYER in (r.layers or []):
            return False
    return True


def poly_bounds(polys: Polys) -> np.ndarray:
    """(P, 4) extent of each polygon, integer database units."""
    if len(polys) == 0:
        return np.zeros((0, 4), np.int64)
    starts = polys.offsets[:-1]
    x, y = polys.xy[:, 0], polys.xy[:, 1]
    return np.stack([np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts),
                     np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)], 1)


def take_polys(polys: Polys, keep: np.ndarray) -> Polys:
    """The polygons where `keep` (bool per polygon) is set."""
    counts = np.diff(polys.offsets)
    offsets = np.zeros(int(keep.sum()) + 1, np.int64)
    np.cumsum(counts[keep], out=offsets[1:])
    return Polys(polys.xy[np.repeat(keep, counts)], offsets, polys.key[keep])


class CellLayers:
    """One flattened cell seen through a PDK: raw and merged shapes and labels by layer name,
    each computed once on first use.

    `layout` and `top` (the GDS as read, and the cell this flat view is of) let the wafer
    checks work on the hierarchy. `marks`: exempt shapes inside MARK shapes from the rules
    (None: when the PDK has no rule on MARK, see `marks_exempt`); connectivity (`pieces`)
    always sees every shape."""

    def __init__(self, flat: Flat, pdk: Pdk, layout: Layout | None = None, top: str | None = None,
                 marks: bool | None = None) -> None:
        self.flat = flat
        self.pdk = pdk
        self.layout = layout
        self.top = top if top is not None else flat.cell
        self.exempt = marks_exempt(pdk) if marks is None else marks
        self._merged: dict[str, Shapes] = {}
        self._merged_all: dict[str, Shapes] = {}
        self._raw: dict[str, Polys] = {}

    def raw_all(self, name: str) -> Polys:
        """The drawn polygons of a layer, unmerged, MARK areas included (integer database units)."""
        layer = self.pdk.layer(name)
        return self.flat.polys.select(layer_key(*layer.gds))

    @cached_property
    def mark_area(self) -> tuple[shapely.Geometry, shapely.STRtree] | None:
        """The union of the MARK shapes and a tree of them, when marks are exempt and there are any."""
        if not self.exempt:
            return None
        marks = polygons(self.raw_all(MARK_LAYER), self.flat.dbu_um)
        if len(marks) == 0:
            return None
        area = shapely.union_all(marks)
        shapely.prepare(area)
        return area, shapely.STRtree(marks)

    def raw(self, name: str) -> Polys:
        """The drawn polygons of a layer, unmerged (integer database units); shapes inside MARK
        areas left out when marks are exempt."""
        if name not in self._raw:
            polys = self.raw_all(name)
            if self.mark_area is not None and name != MARK_LAYER and len(polys):
                area, tree = self.mark_area
                b = poly_bounds(polys) * self.flat.dbu_um
                hit, _ = tree.query(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))     # extents meet
                if len(hit):
                    near = np.zeros(len(polys), bool)
                    near[hit] = True
                    inside = np.zeros(len(polys), bool)
                    inside[np.flatnonzero(near)] = shapely.covered_by(polygons(take_polys(polys, near), self.flat.dbu_um), area)
                    polys = take_polys(polys, ~inside)
            self._raw[name] = polys
        return self._raw[name]

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
        """The layer merged into disjoint shapes (µm), MARK areas left out when exempt."""
        if name not in self._merged:
            self._merged[name] = merge(self.raw(name), self.flat.dbu_um)
        return self._merged[name]

    def merged_all(self, name: str) -> Shapes:
        """The layer merged into disjoint shapes (µm), every shape (for connectivity)."""
        if self.mark_area is None or len(self.raw(name)) == len(self.raw_all(name)):
            return self.merged(name)
        if name not in self._merged_all:
            self._merged_all[name] = merge(self.raw_all(name), self.flat.dbu_um)
        return self._merged_all[name]

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

    def clusters(self, gap: float) -> list[tuple[float, float, float, float]]:
        """Extents (µm) of the groups of shapes the cell draws that lie within `gap` of each other:
        where windowed checks need windows."""
        return clusters(poly_bounds(self.flat.polys) * self.flat.dbu_um, gap)

    @cached_property
    def pieces(self) -> Pieces:
        """The connected pieces of the PDK's conductor stack."""
        stack = self.pdk.connectivity
        names = set(stack.conductors) | {v.via for v in stack.vias}
        return conductor_pieces({n: self.merged_all(n) for n in names if n in self.pdk.layers}, stack)

    def has_wafer(self) -> bool:
        """Whether the layout draws anything on the WAFER layer (a wafer outline): any cell of the
        layout when it is known, else this flat view."""
        if WAFER_LAYER not in self.pdk.layers:
            return False
        key = layer_key(*self.pdk.layer(WAFER_LAYER).gds)
        if self.layout is not None:
            return any(bool((self.layout.own(c)[0].key == key).any()) for c in self.layout.cells)
        return bool((self.flat.polys.key == key).any())

    @cached_property
    def wafer_geometry(self):
        """What the wafer checks read from the hierarchy (`layoutgen.wafer.checks.WaferGeometry`), once."""
        from ..wafer.checks import geometry_from_gds

        if self.layout is None:
            raise DrcError(f"cell {self.flat.cell!r} draws a wafer outline: the plating and isolation checks need the "
                           f"layout as read (run_drc passes it; check_cell(..., layout=Layout(path)))")
        return geometry_from_gds(self.layout, self.pdk, self.top)


def wafer_findings(rule: Rule, cl: CellLayers) -> list[Finding]:
    """PLATE.NET / PLATE.ISO style rules: the wafer package's plating or isolation check on the
    hierarchy; nothing on a layout without a WAFER outline."""
    from ..wafer.checks import isolation_findings, plating_findings

    if not cl.has_wafer():
        return []
    run = plating_findings if rule.check == "plating" else isolation_findings
    try:
        found = run(cl.wafer_geometry, cl.pdk, cl.top)
    except (shapely.errors.GEOSException, shapely.errors.ShapelyError) as e:
        # The wafer checks read the WAFER outline, ring and bus as a wafer: a file whose WAFER
        # shapes are no wafer outline (degenerate, self-touching) cannot be checked.
        raise DrcError(f"rule {rule.name}: cell {cl.top!r} draws on the WAFER layer {tuple(cl.pdk.layer(WAFER_LAYER).gds)} "
                       f"something the {rule.check} check cannot read as a wafer outline ({e})") from None
    return [Finding(f.message, f.region, f.edges) for f in found]


def _connectivity(rule: Rule, cl: CellLayers) -> list[Finding]:
    if rule.check in WAFER_CHECKS:
        return wafer_findings(rule, cl)
    stack = cl.pdk.connectivity
    labels = {n: cl.labels(n) for n in stack.label_layers}
    if not any(len(t) for t, _ in labels.values()):
        return []
    joins = [t[len("JOIN:"):].split(",") for t, _, _ in cl.texts("TEXT") if t.startswith("JOIN:")] \
        if "TEXT" in cl.pdk.layers else []
    terms = join_nets(place_terminals(cl.pieces, labels), joins)
    if rule.check == "opens":
        return find_opens(cl.pieces, terms, stack.required_label_layers)
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
    "density": lambda r, c: check_density(c.merged(r.layer), c.clusters(r.window), r.window, r.step, r.min, r.max),
    "connectivity": _connectivity,
}


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
            if r.check in WAFER_CHECKS:
                ok = drawn(WAFER_LAYER)
            else:
                ok = any(pdk.layers[n].gds[0] in labelled for n in pdk.connectivity.label_layers if n in pdk.layers)
        elif r.layers:
            ok = any(drawn(n) for n in r.layers)
        elif r.layer is not None:
            ok = drawn(r.layer) and (r.kind not in _BOTH_LAYERS or drawn(r.other))
        else:
            ok = True   # a family kind that reads no named layer: always run
        if not ok:
            out.append(r.name)
    return out


def unknown_layers(pdk: Pdk, layout: Layout) -> dict[str, int]:
    """"layer/datatype" -> polygon count for shapes on GDS layers the PDK does not define."""
    known = {tuple(layer.gds) for layer in pdk.layers.values()}
    return {f"{lay}/{dt}": n for (lay, dt), n in sorted(layout.layer_counts().items()) if (lay, dt) not in known}


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


def run_rule(rule: Rule, cl: CellLayers) -> list[Finding]:
    """The findings of one rule on one cell view (a DrcError names the rule and cell on a geometry error)."""
    try:
        check = CHECKS.get(rule.kind) or (family_check(rule.kind) if rule.kind in FAMILY_KINDS else None)
        if check is None:
            raise DrcError(f"rule {rule.name}: no check for kind {rule.kind!r}")
        return check(rule, cl)
    except shapely.errors.GEOSException as e:
        # The GDS was read and accepted: a geometry failure here is ours, not the user's input.
        raise InternalError(f"rule {rule.name} could not be checked in cell {cl.flat.cell!r}: geometry error {e}") from e


def check_cell(flat: Flat, pdk: Pdk, rules: list[Rule], layout: Layout | None = None) -> list[Violation]:
    """Every violation of `rules` in one flattened cell (`layout`: the GDS it was read from, which the
    wafer checks need when the cell draws a wafer)."""
    cl = CellLayers(flat, pdk, layout=layout, top=flat.cell)
    out: list[Violation] = []
    for rule in rules:
        found = run_rule(rule, cl)
        out.extend(Violation(rule.name, flat.cell, f.message, f.region, f.edges) for f in found)
    return out


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
    from .hier import HierDrcResult, check_hierarchical, prefers_hierarchy

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
    common = dict(gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=full_deck, violations=found,
                  runtime_s=time.perf_counter() - t0, unused_waivers=unused, not_applicable=skipped,
                  unknown_layers=unknown_layers(pdk, layout))
    if attempted:
        return HierDrcResult(**common, occurrences=occurrences, stats=stats)
    return DrcResult(**common)

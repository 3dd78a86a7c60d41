"""Hierarchical DRC: each cell the top places checked once, then only what the placements add.

A wafer's top cell places the plated die thousands of times by row arrays and draws the
plating bus, the contact ring, the kerf and the fill itself; flattening it multiplies the die's
shapes by the die count (minutes and gigabytes, DRC.md). Here:

1. Cells. Each cell the top places is flattened on its own and checked once with the deck.
   A violation found there is reported once, for the cell, in the cell's coordinates, saying in
   how many placements it occurs (`HierDrcResult.occurrences`, `flat_counts()`).
2. Sites. Each placement owns a site: the placed cell's extent grown by half the gap to the
   next placement of the same cell along x and y (the sites of an array tile its lanes), or by
   the halo (per layer: a rule's reach plus twice its distance, the largest) where there is none; on
   the sides of a site that no other site adjoins (the edge of the die map), it grows further by
   the halo of the layers the top draws, so that where a die's tails meet the outer bus is
   checked with the die. The rest of the plane belongs to the top.
3. Counting point. A violation is counted where its marker's reference point lies: the middle
   of where an edge pair comes closest (of the common stretch of parallel edges), the lower-left
   end of a single edge, the lowest-left vertex of a region; a window that cuts a long marker
   short does not move it. Each point lies in one site (the first, where sites overlap) or in
   the rest, so each violation counts once.
4. Bands and their types. A site is cut into bands: strips as wide as the halo along its sides,
   its corners, its middle. Placements are grouped by site type (`layoutgen.wafer.checks.site_types`,
   the plating check's classification of the top's shapes clipped to the site, plus the
   neighbouring placements: cell, orientation, offset), and each site type's bands by band type
   (the top's shapes around the band, the neighbours near it), across site types: a die at the
   edge of the map shares its inner bands with the inner dies. One band of each type is checked
   in context (a 300 mm wafer of 2,507 dies: 35 site types, 75 band types).
5. Context check of a band, rule by rule. Where shapes of two sources (the placement, a
   neighbour, the top) come within the rule's reach (its value for spacing rules, touching for
   the others; a MARK area of another source touches every rule) is the zone, with the top's own
   shapes. Shapes near the zone (twice the rule's distance; whole merged shapes of the placed
   cells) are checked together and the findings near the zone replace the cell's there: a cell
   finding the context reproduces (same message, marker within the rule's distance) stays, one
   it does not is dropped (the context changed it), a finding that is no placement's own and
   whose point lies in the band is new: reported in the top once per band type with the number
   of placements like it.
6. The rest: the top's shapes outside every site, with placements meeting across it, in tiles
   (so that merged top shapes, ring and fill, stay small).

Rules that never look across sources: grid (per drawn polygon) per placed cell and on the top's
own shapes; a MARK area of another source exempts a cell's grid finding it covers. On a wafer
(a WAFER outline in the layout) density, connectivity opens/shorts and a family's own kinds run
per placed cell and on the top's own shapes: density per die over its extent (the flat check's
windows also cover the blank wafer edge and the corners outside the wafer), opens and shorts
inside each die (before dicing the plating network joins every net of the wafer by design;
PLATE.NET and PLATE.ISO check the wafer). On any other layout they run on the flattened top
(exact). PLATE.NET / PLATE.ISO (`check = "plating"` / `"isolation"`) run once on the hierarchy.
Placements whose cells overlap each other (not an array) make the top be checked flat.

Limits, met in no layout we generate: a top shape is seen clipped to each window (band plus
halo), so whole-shape measures of a top shape larger than that (area, size, centre, a touch
without overlap elsewhere) are taken on the part in the window; a clip point on an off-axis top
edge is rounded to the database unit, which can split or join a marker sliver that pinches to
nothing; an edge-pair marker at a corner lying exactly on a site edge (abutting placements)
can be given to either side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import shapely

from ..pdk import Pdk, Rule
from .engine import (
    MARK_LAYER, WAFER_CHECKS, CellLayers, check_cell, marks_exempt, poly_bounds, run_rule, take_polys, wafer_findings,
)
from .geometry import EPS_UM, polygons, translate
from .merge import move_finding, touching_groups
from .read import Flat, Labels, Layout, Placement, Polys, concat_polys, layer_key, place_polys
from .violation import DrcResult, Finding, Violation

# Rule kinds checked across placements: local ones (a finding depends on the shapes within the
# rule's distance) and those that measure whole merged shapes.
CONTEXT_LOCAL = frozenset({"width", "space", "separation", "overlap", "angle"})
CONTEXT_WHOLE = frozenset({"area", "hole_area", "size", "pitch", "edge_distance", "enclosure"})
_TOUCH_ONLY = frozenset({"angle", "area", "hole_area", "size"})   # interact only by merging

# Auto mode: hierarchical when flattening would place at least this many polygons, and this
# many times more than the unique cells hold.
HIER_MIN_POLYGONS = 20_000
HIER_MIN_RATIO = 4.0
REST_TILE_VERTICES = 1_000 # the rest (outside every site) is checked in tiles of about this many top vertices


@dataclass
class HierDrcResult(DrcResult):
    """A DRC result of a hierarchical check: `occurrences[k]` is how many times violation k
    occurs in the flattened layout (its placements; 1 for a violation of the top cell), and
    `stats` per top cell says how it was checked."""

    occurrences: list[int] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def hierarchical(self) -> bool:
        """Placed cells were checked once each."""
        return True

    def placements(self) -> list[int]:
        """How many times each violation occurs in the flattened layout: its `occurrences`."""
        return list(self.occurrences)


# ---------------------------------------------------------------- rules

_SPACING = frozenset({"space", "separation", "pitch"})     # look across a gap between shapes
_DISTANCE = frozenset({"width", "space", "separation", "overlap", "enclosure", "pitch", "edge_distance"})


def rule_layers(rule: Rule) -> list[str]:
    """The layers a rule reads."""
    if rule.layers:
        return list(rule.layers)
    return [n for n in (rule.layer, rule.other) if n]


def is_context_rule(rule: Rule) -> bool:
    """Whether a rule can see shapes of different placements (or of the top) together."""
    return rule.kind in CONTEXT_LOCAL or rule.kind in CONTEXT_WHOLE


def rule_reach(rule: Rule, grid: float) -> float:
    """How far apart (µm) shapes of two sources can be and still change this rule's result:
    the rule's value for spacing rules (space, separation, pitch); a grid step for the others,
    which see another source's shape only where it touches (merges with, overlaps, encloses) theirs."""
    if rule.kind in _SPACING and rule.value is not None:
        return max(float(rule.value), grid)
    return grid


def rule_local(rule: Rule, grid: float) -> float:
    """How far (µm) from a change a rule's findings can change: its value for the rules that
    measure a distance, the edge tolerance for angle, a grid step for the others."""
    if rule.kind in _DISTANCE and rule.value is not None:
        return max(float(rule.value), grid)
    if rule.kind == "angle":
        return (rule.tolerance_um or 0.0) + grid
    return grid


def prefers_hierarchy(layout: Layout, top: str) -> bool:
    """Whether `top` is better checked hierarchically: it places cells by arrays or many
    references, so that flattening multiplies the geometry (a wafer, a block of dies)."""
    pls = layout.placements(top)
    if not pls:
        return False
    sizes = {c: len(layout.flatten(c).polys) for c in {p.child for p in pls}}
    placed = sum(len(p.offsets) * sizes[p.child] for p in pls)
    unique = sum(sizes.values()) + len(layout.own(top)[0])
    return placed >= HIER_MIN_POLYGONS and placed >= HIER_MIN_RATIO * unique


# ---------------------------------------------------------------- geometry helpers

def shift_polys(polys: Polys, d: np.ndarray) -> Polys:
    """Polygons moved by an integer (dx, dy) in database units."""
    if not d.any() or len(polys) == 0:
        return polys
    return Polys(polys.xy + d.astype(np.int64), polys.offsets, polys.key)


def without_holes(geoms: np.ndarray) -> np.ndarray:
    """Polygons with holes cut into pieces without (a GDS polygon has none): into vertical strips
    at the middle of each hole, so every hole is opened; the merge joins the pieces again."""
    holed = shapely.get_num_interior_rings(geoms) > 0
    if not holed.any():
        return geoms
    out = [geoms[~holed]]
    for g in geoms[holed]:
        xs = sorted({float(shapely.centroid(shapely.polygons(r)).x) for r in g.interiors})
        x0, y0, x1, y1 = g.bounds
        cuts = [x0 - 1.0] + xs + [x1 + 1.0]
        strips = [shapely.clip_by_rect(g, a, y0 - 1.0, b, y1 + 1.0) for a, b in zip(cuts[:-1], cuts[1:])]
        parts = shapely.get_parts(np.asarray(strips, dtype=object))
        parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > 0)]
        still = shapely.get_num_interior_rings(parts) > 0
        if still.any():   # a hole the cuts missed (not expected): triangles
            parts = np.concatenate([parts[~still], shapely.get_parts(shapely.constrained_delaunay_triangles(parts[still]))])
        out.append(parts)
    return np.concatenate(out)


def polys_of(geoms: np.ndarray, key: int, dbu: float) -> Polys:
    """Shapely polygons (µm) as integer polygons on one layer key (holes cut open first)."""
    if len(geoms) == 0:
        return Polys.empty()
    geoms = without_holes(geoms)
    rings = shapely.get_exterior_ring(geoms)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[idx[1:] != idx[:-1], True]          # drop each ring's closing point
    xy, idx = xy[~last], idx[~last]
    counts = np.bincount(idx, minlength=len(geoms))
    keep = counts >= 3
    if not keep.all():
        vkeep = keep[idx]
        xy, idx, counts = xy[vkeep], idx[vkeep], counts[keep]
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Polys(np.rint(xy / dbu).astype(np.int64), offsets, np.full(len(counts), key, np.int64))


def marker_geoms(found: list[Finding]) -> np.ndarray:
    """The marker of each finding as one geometry: its region, else its edges."""
    out = np.empty(len(found), object)
    for k, f in enumerate(found):
        if f.region is not None and not shapely.is_empty(f.region):
            out[k] = f.region
        elif f.edges:
            out[k] = shapely.MultiLineString([[(e[0], e[1]), (e[2], e[3])] for e in f.edges])
        else:
            out[k] = shapely.Point(0.0, 0.0)
    return out


def pair_point(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The middle of where two segments (x0, y0, x1, y1) come closest: for parallel segments that
    face each other along a stretch, the middle of that stretch (not one end of it, which depends
    on the segments' direction), else the middle of their closest points."""
    p, q = a[:2], a[2:]
    u = q - p
    L2 = float(u @ u)
    v = b[2:] - b[:2]
    if L2 > 0 and abs(u[0] * v[1] - u[1] * v[0]) <= 1e-9 * np.sqrt(L2 * float(v @ v) + 1e-30):
        t = sorted(((b[:2] - p) @ u / L2, (b[2:] - p) @ u / L2))
        lo, hi = max(t[0], 0.0), min(t[1], 1.0)
        if hi > lo:                                   # a common stretch
            m = p + u * (lo + hi) / 2
            n = u / np.sqrt(L2)
            foot = b[:2] + n * ((m - b[:2]) @ n)      # its projection on b's line
            return (m + foot) / 2
    line = shapely.shortest_line(shapely.LineString([a[:2], a[2:]]), shapely.LineString([b[:2], b[2:]]))
    return shapely.get_coordinates(line).mean(axis=0)


def ref_points(found: list[Finding], dbu: float) -> np.ndarray:
    """(n, 2) database units: where each finding is counted. The middle of the closest points of
    an edge pair (a spacing marker, a corner); the lower-left end of a single edge and the
    lowest-left vertex of a region, which a window that cuts a long marker short does not move
    (and a marker cut short on that side gets a point at the cut, outside the window's own part)."""
    out = np.zeros((len(found), 2), np.int64)
    for k, f in enumerate(found):
        if f.edges and len(f.edges) >= 2:
            out[k] = np.rint(pair_point(np.asarray(f.edges[0], float), np.asarray(f.edges[1], float)) / dbu)
            continue
        if f.edges:
            c = np.rint(np.array([f.edges[0][:2], f.edges[0][2:]]) / dbu)
        elif f.region is not None and not shapely.is_empty(f.region):
            c = np.rint(shapely.get_coordinates(f.region) / dbu)
        else:
            continue
        out[k] = c[np.lexsort((c[:, 1], c[:, 0]))[0]]
    return out


def in_zone(found: list[Finding], zone: np.ndarray, reach: float) -> np.ndarray:
    """Whether each finding's marker lies within `reach` of a zone geometry."""
    if not found or len(zone) == 0:
        return np.zeros(len(found), bool)
    hit, _ = shapely.STRtree(zone).query(marker_geoms(found), predicate="dwithin", distance=reach + EPS_UM)
    out = np.zeros(len(found), bool)
    out[hit] = True
    return out


def match(a: list[Finding], b: list[Finding], tol: float, rank: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of findings `a` and `b` that say the same (message) with markers within
    `tol` µm of each other, nearest first, ties to the lowest `rank` of `a` (so that every window
    that sees one finding where two placements' findings merged gives it to the same placement):
    matched masks. (The marker of a gap between parallel edges is one end of the gap, which end
    depending on the shapes' vertex order, so markers are compared by distance, not by position.)"""
    ma, mb = np.zeros(len(a), bool), np.zeros(len(b), bool)
    if not a or not b:
        return ma, mb
    ga, gb = marker_geoms(a), marker_geoms(b)
    i, j = shapely.STRtree(gb).query(ga, predicate="dwithin", distance=tol + EPS_UM)
    same = np.array([a[x].message == b[y].message for x, y in zip(i.tolist(), j.tolist())], bool)
    i, j = i[same] if len(same) else i, j[same] if len(same) else j
    d = np.round(shapely.distance(ga[i], gb[j]), 6)
    r = rank[i] if rank is not None else np.zeros(len(i))
    for k in np.lexsort((j, r, d)):
        if not ma[i[k]] and not mb[j[k]]:
            ma[i[k]] = mb[j[k]] = True
    return ma, mb


def union_boxes(lo: np.ndarray, hi: np.ndarray, dbu: float) -> shapely.Geometry:
    """The union of boxes (database units) in µm: boxes of one row (same y range) whose x ranges
    meet are joined first, so that the union of an array's sites is quick."""
    order = np.lexsort((lo[:, 0], hi[:, 1], lo[:, 1]))
    out: list[tuple[int, int, int, int]] = []
    for k in order.tolist():
        x0, y0, x1, y1 = int(lo[k, 0]), int(lo[k, 1]), int(hi[k, 0]), int(hi[k, 1])
        if out and out[-1][1] == y0 and out[-1][3] == y1 and x0 <= out[-1][2]:
            px0, _, px1, _ = out[-1]
            out[-1] = (px0, y0, max(px1, x1), y1)
        else:
            out.append((x0, y0, x1, y1))
    return shapely.union_all(shapely.box(*(np.array(out, np.float64) * dbu).T))


def contacts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where each pair of shapes meets: their common part, or the shortest line between them."""
    if len(a) == 0:
        return np.empty(0, object)
    out = shapely.intersection(a, b)
    empty = shapely.is_empty(out)
    if empty.any():
        out[empty] = shapely.shortest_line(a[empty], b[empty])
    return out


# ---------------------------------------------------------------- placed cells

class LayerShapes:
    """The shapes of one layer of a cell (or of the top's part of a scene): indices into the
    cell's polygons, shapely polygons (µm), integer polygons, extents; tree and touching groups on first use."""

    def __init__(self, idx: np.ndarray, geoms: np.ndarray, polys: Polys, pbounds: np.ndarray) -> None:
        self.idx, self.geoms, self.polys, self.pbounds = idx, geoms, polys, pbounds
        self._tree: shapely.STRtree | None = None
        self._groups: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.geoms)

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.geoms)
        return self._tree

    @property
    def groups(self) -> np.ndarray:
        """Touching-group label of each shape (whole merged shapes)."""
        if self._groups is None:
            self._groups = touching_groups(self.geoms) if len(self.geoms) else np.zeros(0, np.int64)
        return self._groups

    @staticmethod
    def of(polys: Polys, dbu: float) -> "LayerShapes":
        """Integer polygons as layer shapes (the shapely ones derived from them)."""
        return LayerShapes(np.arange(len(polys)), polygons(polys, dbu), polys, poly_bounds(polys))


EMPTY_LAYER = LayerShapes(np.zeros(0, np.int64), np.empty(0, object), Polys.empty(), np.zeros((0, 4), np.int64))


@dataclass
class Variant:
    """A placed cell in one orientation: its shapes on the rule layers (and MARK) in the frame
    of its placement (origin at the placement's origin)."""

    cell: str
    placement: Placement                 # the transform (origin and offsets unused)
    polys: Polys                         # database units, placement frame
    layer: np.ndarray                    # (P,) layer index of each polygon
    geoms: np.ndarray                    # (P,) µm shapely polygons
    pbounds: np.ndarray                  # (P, 4) database units
    bounds: np.ndarray                   # (4,) database units, extent of the rule layers
    margin: np.ndarray = field(default_factory=lambda: np.zeros(4, np.int64))  # site beyond bounds: lo x, lo y, hi x, hi y
    _layers: dict = field(default_factory=dict)

    @property
    def tree(self) -> shapely.STRtree:
        """An STRtree over every shape (all layers)."""
        if "tree" not in self._layers:
            self._layers["tree"] = shapely.STRtree(self.geoms)
        return self._layers["tree"]

    @property
    def pos(self) -> np.ndarray:
        """Position of each shape among the shapes of its layer."""
        if "pos" not in self._layers:
            pos = np.zeros(len(self.layer), np.int64)
            for li in np.unique(self.layer):
                idx = np.flatnonzero(self.layer == li)
                pos[idx] = np.arange(len(idx))
            self._layers["pos"] = pos
        return self._layers["pos"]

    def on(self, li: int) -> LayerShapes:
        """The shapes on layer `li`."""
        if li not in self._layers:
            idx = np.flatnonzero(self.layer == li)
            if len(idx) == 0:
                self._layers[li] = EMPTY_LAYER
            else:
                keep = np.zeros(len(self.layer), bool)
                keep[idx] = True
                self._layers[li] = LayerShapes(idx, self.geoms[idx], take_polys(self.polys, keep), self.pbounds[idx])
        return self._layers[li]

    @property
    def site(self) -> np.ndarray:
        """The site (lo x, lo y, hi x, hi y) in the placement frame, database units."""
        return np.r_[self.bounds[:2] - self.margin[:2], self.bounds[2:] + self.margin[2:]]

    def to_frame(self, f: Finding) -> Finding:
        """A finding of the cell moved into the placement frame (mirror, scale, rotate)."""
        pl = self.placement
        if not pl.x_reflection and pl.rotation == 0.0 and pl.magnification == 1.0:
            return f
        c, s, m = np.cos(pl.rotation), np.sin(pl.rotation), pl.magnification
        mat = np.array([[c * m, s * m], [-s * m, c * m]])

        def move(xy: np.ndarray) -> np.ndarray:
            xy = np.array(xy, float)
            if pl.x_reflection:
                xy[:, 1] = -xy[:, 1]
            return xy @ mat

        region = None if f.region is None else shapely.transform(f.region, move)
        edges = None
        if f.edges is not None:
            edges = tuple(tuple(float(v) for v in move(np.array([e[:2], e[2:]])).ravel()) for e in f.edges)
        return Finding(f.message, region, edges)


# ---------------------------------------------------------------- a scene checked in context

class Context:
    """Shapes of several sources in one frame, checked where they meet: the top's shapes (source
    -1, given per layer in the frame) and placed cells (variant, offset of its frame in database
    units). `pairs` are the source pairs to look at; `region` (frame, µm) is what the scene is
    checked for: only meetings within a rule's halo of it count. `with_top`: the placements'
    shapes near the top's are gathered too (in a type's scene; not in the rest, where the top
    meets no placement: that happens inside the grown sites)."""

    def __init__(self, chk: "HierChecker", top: dict[int, LayerShapes], sources: list[tuple[int, np.ndarray]],
                 pairs: list[tuple[int, int]], region: shapely.Geometry, with_top: bool = True) -> None:
        self.chk, self.top, self.sources, self.pairs = chk, top, sources, pairs
        self.region = region
        self.with_top = with_top     # gather the placements' shapes near the top's too (not in the rest)
        self._near: dict[float, shapely.Geometry] = {}
        self._table: dict[str, np.ndarray] | None = None
        self._top_all: tuple | None = None
        self._layers: set[int] = set(top)
        for vi, _ in sources:
            self._layers |= set(np.unique(chk.variants[vi].layer).tolist())

    def _var(self, s: int) -> tuple[Variant, np.ndarray]:
        vi, d = self.sources[s]
        return self.chk.variants[vi], d

    def near(self, dist: float) -> shapely.Geometry:
        """The region grown by `dist` (µm), prepared."""
        if dist not in self._near:
            g = self.region if self.region.geom_type == "Polygon" and dist == 0 else self.region.buffer(dist, join_style="mitre")
            shapely.prepare(g)
            self._near[dist] = g
        return self._near[dist]

    @property
    def table(self) -> dict[str, np.ndarray]:
        """Every pair of shapes of different sources (of `pairs`) within the largest distance a
        rule of the deck gives their two layers: sources, layers, indices within their layers,
        distance, and where they meet (frame, µm)."""
        if self._table is None:
            cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "t", "la", "lb", "ia", "ib", "dist", "contact")}
            for s, t in self.pairs:
                if s < 0:
                    v, dt = self._var(t)
                    ia, gb, la, lb, dist, c = self.chk.top_var(self, v, dt)
                    ib = v.pos[gb]
                else:
                    (v, ds), (w, dt) = self._var(s), self._var(t)
                    ga, gb, la, lb, dist, c = self.chk.var_var(int(self.sources[s][0]), int(self.sources[t][0]), dt - ds)
                    ia, ib = v.pos[ga], w.pos[gb]
                    if ds.any() and len(c):
                        c = translate(c, np.tile(ds * self.chk.dbu, (len(c), 1)))
                if not len(c):
                    continue
                for k, x in zip(cols, (np.full(len(c), s), np.full(len(c), t), la, lb, ia, ib, dist, c)):
                    cols[k].append(x)
            empty = {"contact": object, "dist": float}
            self._table = {k: (np.concatenate(x) if x else np.zeros(0, empty.get(k, np.int64))) for k, x in cols.items()}
        return self._table

    @property
    def top_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, shapely.STRtree | None]:
        """The top's shapes of every layer together: shapes, layer, index within the layer, tree."""
        if self._top_all is None:
            items = [(li, ls) for li, ls in sorted(self.top.items()) if len(ls)]
            if items:
                g = np.concatenate([ls.geoms for _, ls in items])
                lay = np.concatenate([np.full(len(ls), li) for li, ls in items])
                idx = np.concatenate([np.arange(len(ls)) for _, ls in items])
                self._top_all = (g, lay, idx, shapely.STRtree(g))
            else:
                self._top_all = (np.empty(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64), None)
        return self._top_all

    def findings(self, name: str) -> dict[str, tuple[list[Finding], np.ndarray]]:
        """Per rule whose shapes meet across sources here (or that the top draws): its findings
        near where they meet (and near the top's shapes), and that zone (frame, µm)."""
        chk = self.chk
        active: dict[str, tuple[Rule, list[int], np.ndarray, np.ndarray]] = {}
        seen: dict[tuple, tuple[np.ndarray, np.ndarray, dict] | None] = {}
        for r in chk.context:
            lis = [chk.li[n] for n in rule_layers(r) if chk.li[n] in self._layers]
            if not lis:
                continue
            if chk.mark_li is not None and chk.mark_li in self._layers:
                lis = lis + [chk.mark_li]     # MARK areas of other sources (exemption) change every rule
            d = chk.reach[r.name]
            whole = r.kind in CONTEXT_WHOLE
            halo = d + 2 * chk.local[r.name]
            key = (tuple(lis), d, whole, halo)
            if key not in seen:
                seen[key] = self._zone(lis, d, whole, halo)
            if seen[key] is not None:
                z, zg, _ = seen[key]
                active[r.name] = (r, lis, z, zg)
        if not active:
            return {}
        take: dict[tuple[int, int], np.ndarray] = {}
        for rname, (r, lis, _, z) in active.items():
            if not len(z):
                continue
            whole = r.kind in CONTEXT_WHOLE
            loc = chk.local[rname]
            rho = (loc if whole else 2 * loc) + EPS_UM
            ztree = shapely.STRtree(z)
            for s in range(len(self.sources)):
                v, ds = self._var(s)
                fb = (np.r_[v.bounds[:2] + ds, v.bounds[2:] + ds]) * chk.dbu
                near = ztree.query(shapely.box(fb[0] - rho, fb[1] - rho, fb[2] + rho, fb[3] + rho))
                if not len(near):
                    continue
                zl = z[near]
                if ds.any():
                    zl = translate(zl, np.tile(-ds * chk.dbu, (len(zl), 1)))
                for li in lis:
                    ls = v.on(li)
                    if not len(ls) or li == chk.mark_li:     # MARK areas: all of them, below
                        continue
                    _, got = ls.tree.query(zl, predicate="dwithin", distance=rho)
                    sel = take.setdefault((s, li), np.zeros(len(ls), bool))
                    sel[got] = True
                    if got.size:            # whole merged shapes of the placed cell
                        sel |= np.isin(ls.groups, ls.groups[sel])
        parts = [shift_polys(take_polys(self._var(s)[0].on(li).polys, m), self._var(s)[1])
                 for (s, li), m in take.items() if m.any()]
        lis_all = {li for _, lis, _, _ in active.values() for li in lis} - {chk.mark_li}
        parts += [self.top[li].polys for li in lis_all if li in self.top]
        if chk.mark_li is not None:
            parts += [shift_polys(self._var(s)[0].on(chk.mark_li).polys, self._var(s)[1]) for s in range(len(self.sources))]
            if chk.mark_li in self.top:
                parts.append(self.top[chk.mark_li].polys)
        cl = CellLayers(Flat(name, concat_polys(parts), Labels.empty(), chk.dbu), chk.pdk, marks=chk.exempt)
        out = {}
        for rname, (r, _, z, _) in active.items():
            found = run_rule(r, cl)
            near = in_zone(found, z, chk.local[rname])
            out[rname] = ([f for f, k in zip(found, near) if k], z)
        chk.stats["context_checks"] = chk.stats.get("context_checks", 0) + 1
        chk.stats["context_shapes"] = chk.stats.get("context_shapes", 0) + sum(len(p) for p in parts)
        return out

    def _zone(self, lis: list[int], d: float, whole: bool, halo: float) -> tuple[np.ndarray, np.ndarray, dict] | None:
        """Where shapes of different sources on layers `lis` come within `d` of each other near the
        region (and the top's shapes there); for rules on whole shapes, the shapes themselves.
        Returns the zone, the part of it the placements' shapes are gathered around, and the
        shapes that meet."""
        chk = self.chk
        zone = [self.top[li].geoms for li in lis if li in self.top]
        n_top = sum(len(z) for z in zone)
        hot: dict[tuple[int, int], list[np.ndarray]] = {}
        tb = self.table
        if len(tb["contact"]):
            on = np.zeros(len(chk.names), bool)
            on[lis] = True
            m = on[tb["la"]] & on[tb["lb"]] & (tb["dist"] <= d + EPS_UM)
            if m.any():
                rows = np.flatnonzero(m)
                rows = rows[shapely.intersects(self.near(halo), tb["contact"][rows])]
                zone.append(tb["contact"][rows])
                if whole:
                    for side, lay, idx in (("s", "la", "ia"), ("t", "lb", "ib")):
                        for src, li, k in zip(tb[side][rows].tolist(), tb[lay][rows].tolist(), tb[idx][rows].tolist()):
                            hot.setdefault((int(src), int(li)), []).append(np.array([k]))
        if whole:
            for (src, li), idx in hot.items():
                if src >= 0:
                    v, ds = self._var(src)
                    g = v.on(li).geoms[np.unique(np.concatenate(idx))]
                    zone.append(translate(g, np.tile(ds * chk.dbu, (len(g), 1))) if ds.any() else g)
        z = np.concatenate(zone) if zone else np.empty(0, object)
        if not len(z):
            return None
        return z, (z if self.with_top else z[n_top:]), hot


# ---------------------------------------------------------------- the checker

class HierChecker:
    """Checks one top cell hierarchically (see the module's docstring)."""

    def __init__(self, layout: Layout, top: str, pdk: Pdk, deck: list[Rule]) -> None:
        self.layout, self.top, self.pdk, self.deck = layout, top, pdk, deck
        self.dbu = layout.dbu_um
        self.grid = pdk.grid_um
        self.exempt = marks_exempt(pdk)
        self.context = [r for r in deck if is_context_rule(r)]
        self.wafer_rules = [r for r in deck if r.kind == "connectivity" and r.check in WAFER_CHECKS]
        plain = [r for r in deck if not is_context_rule(r) and r not in self.wafer_rules]
        wafer_layer = layer_key(*pdk.layer("WAFER").gds) if "WAFER" in pdk.layers else None
        self.wafer = wafer_layer is not None and any(bool((layout.own(c)[0].key == wafer_layer).any()) for c in layout.cells)
        # Density, connectivity and a family's own kinds: on a wafer per placed cell and on the top's
        # own shapes; on any other layout on the flattened top (exact, and linear in its size).
        self.flat_rules = [] if self.wafer else [r for r in plain if r.kind != "grid"]
        self.own_rules = [r for r in plain if r not in self.flat_rules]
        self.cell_rules = [r for r in deck if r not in self.wafer_rules and r not in self.flat_rules]
        names = list(dict.fromkeys(n for r in self.context for n in rule_layers(r) if n in pdk.layers))
        self.context = [r for r in self.context if all(n in pdk.layers for n in rule_layers(r))]
        self.mark_li = None
        if self.exempt:
            names.append(MARK_LAYER)
            self.mark_li = len(names) - 1
        self.names = names
        self.keys = np.array([layer_key(*pdk.layer(n).gds) for n in names], np.int64)
        self.li = {n: k for k, n in enumerate(names)}
        self.reach = {r.name: rule_reach(r, self.grid) for r in self.context}
        self.local = {r.name: rule_local(r, self.grid) for r in self.context}
        halo = np.full(len(names), self.grid)
        for r in self.context:
            for n in rule_layers(r):
                halo[self.li[n]] = max(halo[self.li[n]], self.reach[r.name] + 2 * self.local[r.name])
        self.h_max = float(halo.max()) if len(halo) else self.grid
        if self.mark_li is not None:
            halo[self.mark_li] = self.h_max
        self.halo_dbu = np.ceil(halo / self.dbu).astype(np.int64)
        self.h_max_dbu = int(self.halo_dbu.max()) if len(self.halo_dbu) else 1
        self.d_pair = np.full((len(names), len(names)), -1.0)   # largest rule distance between two layers
        for r in self.context:
            lis = [self.li[n] for n in rule_layers(r)]
            for a in lis:
                for b in lis:
                    self.d_pair[a, b] = max(self.d_pair[a, b], self.reach[r.name])
        if self.mark_li is not None:      # a MARK area of another source exempts shapes it covers: it touches them
            self.d_pair[self.mark_li, :] = np.maximum(self.d_pair[self.mark_li, :], self.grid)
            self.d_pair[:, self.mark_li] = np.maximum(self.d_pair[:, self.mark_li], self.grid)
        self.d_all = float(max(self.d_pair.max(), self.grid)) if len(names) else self.grid
        self._vv: dict[tuple, tuple[np.ndarray, ...]] = {}
        self._tv: dict[tuple, tuple] = {}
        self.stats: dict = {"mode": "hierarchical"}

    # ------------------------------------------------------------ reading

    def _variant(self, cell: str, pl: Placement) -> Variant | None:
        flat = self.layout.flatten(cell)
        pos = {int(k): i for i, k in enumerate(self.keys)}
        polys = take_polys(flat.polys, np.isin(flat.polys.key, self.keys))
        if len(polys) == 0:
            return None
        frame = Placement(cell, (0, 0), pl.rotation, pl.magnification, pl.x_reflection, np.zeros((1, 2)))
        if pl.x_reflection or pl.rotation != 0.0 or pl.magnification != 1.0:
            polys = place_polys(polys, frame)
        layer = np.array([pos[int(k)] for k in polys.key], np.int64)
        pb = poly_bounds(polys)
        rule_poly = layer != (self.mark_li if self.mark_li is not None else -1)
        sel = pb[rule_poly] if rule_poly.any() else pb
        bounds = np.array([sel[:, 0].min(), sel[:, 1].min(), sel[:, 2].max(), sel[:, 3].max()], np.int64)
        return Variant(cell, frame, polys, layer, polygons(polys, self.dbu), pb, bounds)

    def read(self) -> None:
        """Placed cells, their variants (orientations), the placements and their sites."""
        t0 = time.perf_counter()
        self._read()
        self.stats["read_s"] = round(time.perf_counter() - t0, 4)

    def _read(self) -> None:
        variants: dict[tuple, int] = {}
        self.variants: list[Variant] = []
        var_of, origins = [], []
        self.placed: dict[str, int] = {}
        for pl in self.layout.placements(self.top):
            self.placed[pl.child] = self.placed.get(pl.child, 0) + len(pl.offsets)
            k = (pl.child, pl.rotation, pl.magnification, pl.x_reflection)
            if k not in variants:
                v = self._variant(pl.child, pl)
                variants[k] = -1 if v is None else len(self.variants)
                if v is not None:
                    self.variants.append(v)
            if variants[k] < 0:
                continue
            o = np.rint(np.asarray(pl.origin, float) + pl.offsets).astype(np.int64)
            origins.append(o)
            var_of.append(np.full(len(o), variants[k], np.int64))
        self.var_of = np.concatenate(var_of) if var_of else np.zeros(0, np.int64)
        self.origin = np.concatenate(origins) if origins else np.zeros((0, 2), np.int64)
        cap = self.h_max_dbu
        for vi, v in enumerate(self.variants):
            o = self.origin[self.var_of == vi]
            m = np.zeros(4, np.int64)
            for axis in (0, 1):
                u = np.unique(o[:, axis])
                size = v.bounds[axis + 2] - v.bounds[axis]
                gap = int(np.diff(u).min() - size) if len(u) > 1 else None
                if gap is None or gap > 2 * cap:
                    m[axis] = m[axis + 2] = cap
                elif gap >= 0:
                    m[axis], m[axis + 2] = gap // 2, gap - gap // 2
            v.margin = m
        own, labels = self.layout.own(self.top)
        self.top_polys = take_polys(own, np.isin(own.key, self.keys))
        pos = {int(k): i for i, k in enumerate(self.keys)}
        self.top_layer = np.array([pos[int(k)] for k in self.top_polys.key], np.int64)
        self.top_geoms = polygons(self.top_polys, self.dbu)
        self.own_flat = Flat(self.top, own, labels, self.dbu)
        sites = np.array([v.site for v in self.variants]).reshape(-1, 4)
        self.site_rel = sites[self.var_of].copy()
        self._extend_sites()

    def _extend_sites(self) -> None:
        """Grow each site, on every side where no other site adjoins it, by the halo of the layers
        the top draws: where a placement's shapes meet the top's at the edge of an array (the
        plating bus in the outer lanes), they are checked with the placement's type, and the rest
        of the plane only holds the top's shapes."""
        drawn = np.unique(self.top_layer[self.top_layer != (self.mark_li if self.mark_li is not None else -1)])
        e = int(self.halo_dbu[drawn].max()) if len(drawn) else 0
        lo, hi = self.origin + self.site_rel[:, :2], self.origin + self.site_rel[:, 2:]
        n = len(self.origin)
        if e and n:
            tree = shapely.STRtree(shapely.box(*(np.c_[lo, hi] * self.dbu).T))
            grow = np.zeros((n, 4), np.int64)
            for side, (ax, sign) in enumerate(((0, -1), (1, -1), (0, 1), (1, 1))):
                a0, a1 = lo.copy(), hi.copy()
                other = 1 - ax
                a0[:, other] += 1
                a1[:, other] -= 1
                if sign < 0:
                    a0[:, ax], a1[:, ax] = lo[:, ax] - 2 * e, lo[:, ax]
                else:
                    a0[:, ax], a1[:, ax] = hi[:, ax], hi[:, ax] + 2 * e
                qi, qj = tree.query(shapely.box(*(np.c_[a0, a1] * self.dbu).T), predicate="intersects")
                blocked = np.zeros(n, bool)
                blocked[qi[qi != qj]] = True
                grow[~blocked, side] = e
            self.site_rel += grow * np.array([-1, -1, 1, 1])
        self.site_lo = self.origin + self.site_rel[:, :2]
        self.site_hi = self.origin + self.site_rel[:, 2:]

    # ------------------------------------------------------------ cells

    def check_cells(self) -> None:
        """Each placed cell flattened and checked once (the wafer rules excepted)."""
        self.cell_found: dict[str, list[Violation]] = {}
        for cell in self.placed:
            self.cell_found[cell] = check_cell(self.layout.flatten(cell), self.pdk, self.cell_rules)
        self.cell_occ = {c: np.zeros(len(vs), np.int64) for c, vs in self.cell_found.items()}
        ctx_names = {r.name for r in self.context}
        self.cell_plain = {c: np.array([v.rule not in ctx_names for v in vs], bool) for c, vs in self.cell_found.items()}
        self.cell_exempt = {c: np.zeros(len(vs), np.int64) for c, vs in self.cell_found.items()}
        grid_rules = {r.name for r in self.deck if r.kind == "grid"}
        self.var_grid: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # per variant: grid findings, regions, refs
        for v in self.variants:
            ks = [k for k, viol in enumerate(self.cell_found[v.cell]) if viol.rule in grid_rules and viol.region is not None]
            fs = [v.to_frame(Finding(self.cell_found[v.cell][k].message, self.cell_found[v.cell][k].region)) for k in ks]
            self.var_grid.append((np.array(ks, np.int64), np.array([f.region for f in fs], dtype=object), ref_points(fs, self.dbu)))
        # per variant, per rule: the cell's context-rule findings in the placement frame
        self.var_found: list[dict[str, tuple[np.ndarray, list[Finding], np.ndarray]]] = []
        for v in self.variants:
            by_rule: dict[str, tuple[list[int], list[Finding]]] = {}
            for k, viol in enumerate(self.cell_found[v.cell]):
                if viol.rule in ctx_names:
                    ks, fs = by_rule.setdefault(viol.rule, ([], []))
                    ks.append(k)
                    fs.append(v.to_frame(Finding(viol.message, viol.region, viol.edges)))
            self.var_found.append({r: (np.array(ks), fs, ref_points(fs, self.dbu))
                                   for r, (ks, fs) in by_rule.items()})

    # ------------------------------------------------------------ pairs of sources

    def var_var(self, vs: int, vt: int, dlt: np.ndarray) -> tuple[np.ndarray, ...]:
        """Shapes of variant `vs` within a rule's distance of those of variant `vt` placed at `dlt`
        (database units) from it: their indices, layers, distance and contacts in `vs`'s frame (memoised)."""
        key = (vs, vt, int(dlt[0]), int(dlt[1]))
        if key not in self._vv:
            v, w = self.variants[vs], self.variants[vt]
            g = int(np.ceil(self.d_all / self.dbu)) + 1
            bb = v.bounds
            pb = w.pbounds + np.r_[dlt, dlt]
            cand = np.flatnonzero((pb[:, 0] <= bb[2] + g) & (pb[:, 2] >= bb[0] - g) & (pb[:, 1] <= bb[3] + g) & (pb[:, 3] >= bb[1] - g))
            moved = translate(w.geoms[cand], np.tile(dlt * self.dbu, (len(cand), 1))) if len(cand) else np.empty(0, object)
            self._vv[key] = self._pairs(v.geoms, v.layer, moved, w.layer[cand], cand, v.tree)
        return self._vv[key]

    def top_var(self, ctx: Context, v: Variant, dt: np.ndarray) -> tuple[np.ndarray, ...]:
        """The scene's top shapes within a rule's distance of variant `v`'s shapes placed at `dt`:
        top index (within its layer), variant index, layers, distance, contacts (frame); memoised
        (the top's shapes around a band recur across band types)."""
        key = (tuple(id(ls) for _, ls in sorted(ctx.top.items())), id(v), int(dt[0]), int(dt[1]))
        if key in self._tv:
            return self._tv[key][1]
        tg, tl, tidx, tree = ctx.top_all
        out = (np.zeros(0, np.int64),) * 2 + (np.zeros(0, np.int64),) * 2 + (np.zeros(0), np.empty(0, object))
        if tree is not None:
            bb = (np.r_[v.bounds[:2] + dt, v.bounds[2:] + dt]) * self.dbu
            dd = self.d_all
            cand = tree.query(shapely.box(bb[0] - dd, bb[1] - dd, bb[2] + dd, bb[3] + dd))
            if len(cand):
                shift = dt * self.dbu
                moved = translate(tg[cand], np.tile(-shift, (len(cand), 1))) if dt.any() else tg[cand]
                gv, gt, lv, lt, dist, c = self._pairs(v.geoms, v.layer, moved, tl[cand], cand, v.tree)
                if dt.any() and len(c):
                    c = translate(c, np.tile(shift, (len(c), 1)))
                out = (tidx[gt], gv, lt, lv, dist, c)
        self._tv[key] = (ctx.top, out)      # keeps the top shapes alive, so their ids stay theirs
        return out

    def _pairs(self, ga: np.ndarray, la: np.ndarray, gb: np.ndarray, lb: np.ndarray, ib: np.ndarray,
               tree: shapely.STRtree) -> tuple[np.ndarray, ...]:
        """Pairs of shapes `ga` (layers `la`, in `tree`) and `gb` (layers `lb`, indices `ib`) within
        the distance a rule gives their layers: indices, layers, distance, contacts."""
        none = (np.zeros(0, np.int64),) * 4 + (np.zeros(0), np.empty(0, object))
        if not len(gb):
            return none
        js, is_ = [], []
        for lay in np.unique(lb):          # each layer of `gb` as far as its rules reach
            d = float(self.d_pair[:, lay].max())
            if d < 0:
                continue
            sel = np.flatnonzero(lb == lay)
            jj, ii = tree.query(gb[sel], predicate="dwithin", distance=d)
            js.append(sel[jj])
            is_.append(ii)
        if not js or not sum(len(x) for x in js):
            return none
        j, i = np.concatenate(js), np.concatenate(is_)
        lim = self.d_pair[la[i], lb[j]]
        keep = lim >= 0
        i, j, lim = i[keep], j[keep], lim[keep]
        dist = shapely.distance(ga[i], gb[j])
        keep = dist <= lim + EPS_UM
        i, j, dist = i[keep], j[keep], dist[keep]
        return i, ib[j], la[i], lb[j], dist, contacts(ga[i], gb[j])

    # ------------------------------------------------------------ types

    def classify(self) -> list[np.ndarray]:
        """Placement types: instances with the same cell variant, the same top shapes around
        their site, and the same neighbours. Returns the instances of each type."""
        from ..wafer.checks import site_types

        n = len(self.origin)
        dbu = self.dbu
        h = self.h_max_dbu
        boxes = shapely.box(*(np.c_[self.site_lo, self.site_hi] * dbu).T)
        self.site_tree = shapely.STRtree(boxes)
        qi, qj = self.site_tree.query(shapely.box(*(np.c_[self.site_lo - h, self.site_hi + h] * dbu).T), predicate="intersects")
        keep = qi != qj
        qi, qj = qi[keep], qj[keep]
        lo, hi = self.site_lo, self.site_hi
        overlap = ((lo[qj] < hi[qi]) & (lo[qi] < hi[qj])).all(axis=1) & (qj < qi)
        d = self.origin[qj] - self.origin[qi]
        rows = np.c_[self.var_of[qj], d, overlap.astype(np.int64)]
        order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0], qi))
        qi, qj, rows = qi[order], qj[order], np.ascontiguousarray(rows[order])
        starts = np.searchsorted(qi, np.arange(n + 1))
        self.neighbours = [qj[starts[i]:starts[i + 1]] for i in range(n)]
        self.overlapping = [qj[starts[i]:starts[i + 1]][rows[starts[i]:starts[i + 1], 3] == 1] for i in range(n)]
        nb_key = [rows[starts[i]:starts[i + 1]].tobytes() for i in range(n)]
        # the top's shapes around each site, per layer, in the site's frame (the plating check's classification)
        codes = np.zeros((n, len(self.names)), np.int64)
        self.patterns: dict[tuple[int, int], list] = {}
        shape_key = np.c_[self.var_of, self.site_rel]
        groups, self.site_group = np.unique(shape_key, axis=0, return_inverse=True)
        self.site_group = self.site_group.ravel()
        for gi, row in enumerate(groups):
            mine = np.flatnonzero(self.site_group == gi)
            for li in range(len(self.names)):
                sel = np.flatnonzero(self.top_layer == li)
                if not len(sel):
                    continue
                g = self.halo_dbu[li]
                rel = row[1:] + np.r_[-g, -g, g, g]
                # only the top's shapes that reach one of these sites (the contact ring mostly does not)
                boxes = shapely.box(*(np.c_[self.origin[mine] + rel[:2], self.origin[mine] + rel[2:]] * dbu).T)
                hit, _ = shapely.STRtree(boxes).query(self.top_geoms[sel], predicate="intersects")
                sel = sel[np.unique(hit)]
                if not len(sel):
                    continue
                site = shapely.box(*(rel * dbu))
                c, pats = site_types(list(self.top_geoms[sel]), site, self.origin[mine] * dbu, dbu)
                codes[mine, li] = c
                self.patterns[(gi, li)] = [LayerShapes.of(polys_of(np.asarray(p, dtype=object), int(self.keys[li]), dbu), dbu)
                                           if len(p) else EMPTY_LAYER for p in pats]
        types: dict[tuple, list[int]] = {}
        for i in range(n):
            types.setdefault((int(self.site_group[i]), codes[i].tobytes(), nb_key[i]), []).append(i)
        self.type_codes = codes
        return [np.array(t) for t in types.values()]

    def bands(self, site: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
        """A site cut into bands (placement frame, database units, half-open): along each axis the
        two outer strips (the halo's width inside the cell's own site `base`, plus what the site
        was grown by) and the middle, when the site is wide enough. Shapes of neighbours and of
        the top near one side of a site meet the placement in the bands of that side only, so
        the bands of an inner placement and of one at the edge of an array are mostly alike."""
        h = self.h_max_dbu
        cuts = []
        for ax in (0, 1):
            lo, hi = int(site[ax]), int(site[ax + 2])
            blo, bhi = int(base[ax]), int(base[ax + 2])
            cuts.append([lo, blo + h, bhi - h, hi] if bhi - blo > 2 * h else [lo, hi])
        return [np.array([x0, y0, x1, y1], np.int64) for x0, x1 in zip(cuts[0][:-1], cuts[0][1:])
                for y0, y1 in zip(cuts[1][:-1], cuts[1][1:])]

    def _band_top(self, gi: int, li: int, code: int, band: np.ndarray) -> tuple[int, LayerShapes]:
        """The top's shapes on layer `li` around a band (the site pattern `code` clipped to the band
        grown by the layer's halo): a code for comparing, and the shapes."""
        key = (gi, li, code, band.tobytes())
        if key not in self._band_pat:
            pat = self.patterns[(gi, li)][code]
            g = self.halo_dbu[li]
            x0, y0, x1, y1 = (band + np.r_[-g, -g, g, g]) * self.dbu
            parts = shapely.get_parts(shapely.clip_by_rect(pat.geoms, x0, y0, x1, y1)) if len(pat) else np.empty(0, object)
            parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > self.dbu ** 2)] if len(parts) else parts
            wkb = tuple(sorted(shapely.to_wkb(shapely.normalize(parts)).tolist())) if len(parts) else ()
            c = self._pat_code.setdefault((li, wkb), len(self._pat_code))
            shapes = LayerShapes.of(polys_of(parts, int(self.keys[li]), self.dbu), self.dbu) if len(parts) else EMPTY_LAYER
            self._band_pat[key] = (c, shapes)
        return self._band_pat[key]

    def band_types(self, types: list[np.ndarray]) -> list[tuple[int, np.ndarray, int, dict, np.ndarray]]:
        """Band types: (placement, band, how many placements have a band like it, the top's shapes
        around it by layer, the neighbours near it), from one placement of each site type."""
        self._band_pat: dict[tuple, tuple[int, LayerShapes]] = {}
        self._pat_code: dict[tuple, int] = {}
        out: dict[tuple, list] = {}
        h = self.h_max_dbu
        for members in types:
            i = int(members[0])
            gi = int(self.site_group[i])
            nbs = self.neighbours[i]
            jlo, jhi = self.site_lo[nbs] - self.origin[i], self.site_hi[nbs] - self.origin[i]
            rows = np.c_[self.var_of[nbs], self.origin[nbs] - self.origin[i], np.isin(nbs, self.overlapping[i])].astype(np.int64)
            for band in self.bands(self.site_rel[i], self.variants[int(self.var_of[i])].site):
                codes, top = [], {}
                for li in range(len(self.names)):
                    if (gi, li) not in self.patterns:
                        continue
                    c, shapes = self._band_top(gi, li, int(self.type_codes[i, li]), band)
                    codes.append(c)
                    if len(shapes):
                        top[li] = shapes
                near = ((jlo < band[2:] + h) & (band[:2] - h < jhi)).all(axis=1)
                key = (int(self.var_of[i]), band.tobytes(), tuple(codes), rows[near].tobytes())
                if key in out:
                    out[key][2] += len(members)
                else:
                    out[key] = [i, band, len(members), top, nbs[near]]
        return [tuple(v) for v in out.values()]

    def band_context(self, i: int, band: np.ndarray, top: dict[int, LayerShapes], nbs: np.ndarray) -> Context:
        """A band of placement `i` in its frame, with the neighbours near it and the top's shapes around it."""
        vi = int(self.var_of[i])
        sources = [(vi, np.zeros(2, np.int64))] + [(int(self.var_of[j]), self.origin[j] - self.origin[i]) for j in nbs]
        pairs = [(-1, s) for s in range(len(sources))] + [(0, s) for s in range(1, len(sources))]
        if len(nbs) > 1:   # neighbours meeting each other near this band
            lo, hi = self.site_lo[nbs], self.site_hi[nbs]
            g = self.h_max_dbu
            for a in range(len(nbs)):
                close = ((lo[a] - g <= hi) & (lo <= hi[a] + g)).all(axis=1)
                pairs += [(a + 1, b + 1) for b in np.flatnonzero(close) if b > a]
        return Context(self, top, sources, pairs, shapely.box(*(band * self.dbu)))

    def check_types(self, types: list[np.ndarray]) -> list[tuple[Violation, int]]:
        """Each band type checked in context once: its new findings reported once with the number
        of placements like it, the cell's findings in the band confirmed for those placements."""
        new: list[tuple[Violation, int]] = []
        active = 0
        bts = self.band_types(types)
        for i, band, m, top, nbs in bts:
            vi = int(self.var_of[i])
            v = self.variants[vi]
            occ = self.cell_occ[v.cell]
            ctx = self.band_context(i, band, top, nbs).findings(v.cell)
            active += bool(ctx)
            confirmed = np.zeros(len(occ), bool)
            for rname in set(self.var_found[vi]) | set(ctx):
                ks, fs, refs = self.var_found[vi].get(rname, (np.zeros(0, np.int64), [], np.zeros((0, 2), np.int64)))
                mine = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1)    # counted in this band
                if rname not in ctx:
                    confirmed[ks[mine]] = True
                    continue
                window, zone = ctx[rname]
                zin = in_zone(fs, zone, self.local[rname])
                confirmed[ks[mine & ~zin]] = True
                # The context's findings that are a placed cell's own (this placement's, any band; or a
                # neighbour's, which its own bands count) are not new; this band's own stay.
                near = np.flatnonzero(zin)
                others, rank = self._neighbour_findings(nbs, i, rname, zone)
                rank = np.r_[np.full(len(near), i), rank]
                mc, mw = match([fs[k] for k in near] + others, window, self.local[rname], rank)
                confirmed[ks[near[mc[:len(near)] & mine[near]]]] = True
                ctx[rname] = ([f for f, k in zip(window, mw) if not k], zone)
            occ[confirmed] += m
            self._exempt_grid(i, band, top, nbs, m)
            for rname, (window, _) in ctx.items():
                if not window:
                    continue
                own = self._owned_by(i, band, ref_points(window, self.dbu))
                shift = self.origin[i] * self.dbu
                for f, ok in zip(window, own):
                    if not ok:
                        continue
                    g = move_finding(f, shift)
                    more = f" (and at {m - 1} more placements of {v.cell} like this one)" if m > 1 else ""
                    new.append((Violation(rname, self.top, g.message + more, g.region, g.edges), m))
        self.stats.update(types=len(types), band_types=len(bts), band_types_in_context=active)
        return new

    def _exempt_grid(self, i: int, band: np.ndarray, top: dict[int, LayerShapes], nbs: np.ndarray, m: int) -> None:
        """Grid findings of the placement in this band that a MARK area of another source (the top, a
        neighbour) covers are exempt at the `m` placements of the band type."""
        if self.mark_li is None:
            return
        ks, regions, refs = self.var_grid[int(self.var_of[i])]
        mine = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1) if len(ks) else np.zeros(0, bool)
        if not mine.any():
            return
        marks = [top[self.mark_li].geoms] if self.mark_li in top else []
        for j in nbs:
            g = self.variants[int(self.var_of[j])].on(self.mark_li).geoms
            if len(g):
                marks.append(translate(g, np.tile((self.origin[j] - self.origin[i]) * self.dbu, (len(g), 1))))
        if not marks:
            return
        area = shapely.union_all(np.concatenate(marks))
        cell = self.variants[int(self.var_of[i])].cell
        covered = shapely.covered_by(regions[mine], area)
        self.cell_exempt[cell][ks[mine][covered]] += m

    def _neighbour_findings(self, nbs: np.ndarray, i: int, rname: str, zone: np.ndarray) -> tuple[list[Finding], np.ndarray]:
        """The cell findings of rule `rname` of the placements `nbs`, in placement `i`'s frame, near
        the zone, and the placement of each."""
        out: list[Finding] = []
        rank: list[int] = []
        for j in nbs:
            got = self.var_found[int(self.var_of[j])].get(rname)
            if got is None:
                continue
            d = (self.origin[j] - self.origin[i]) * self.dbu
            moved = [move_finding(f, d) for f in got[1]]
            near = [f for f, k in zip(moved, in_zone(moved, zone, self.local[rname])) if k]
            out += near
            rank += [int(j)] * len(near)
        return out, np.array(rank, np.int64)

    def _owned_by(self, i: int, band: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Whether each reference point (database units, frame of placement `i`) is in the band
        and in no overlapping site of an earlier placement."""
        ok = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1)
        for j in self.overlapping[i]:
            jlo = self.site_lo[j] - self.origin[i]
            jhi = self.site_hi[j] - self.origin[i]
            ok &= ~((refs >= jlo) & (refs < jhi)).all(axis=1)
        return ok

    # ------------------------------------------------------------ the rest

    def rest_contexts(self) -> list[tuple[Context, np.ndarray]]:
        """The top's shapes outside every site (clipped to that region grown by each layer's halo)
        and the placements whose site is near it (top frame), cut into tiles (each with its box,
        database units, half-open) so that merged top shapes (contact ring, fill, bus) stay small."""
        dbu = self.dbu
        n = len(self.origin)
        sites = union_boxes(self.site_lo, self.site_hi, dbu) if n else shapely.Polygon()
        ext = [] if sites.is_empty else [shapely.bounds(sites)]
        if len(self.top_geoms):
            b = shapely.bounds(self.top_geoms)
            b = b[~np.isnan(b).any(axis=1)]          # zero-area polygons read as empty: no extent
            if len(b):
                ext.append([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        if not ext:
            return []
        e = np.array(ext)
        frame = shapely.box(e[:, 0].min(), e[:, 1].min(), e[:, 2].max(), e[:, 3].max()).buffer(2 * self.h_max, join_style="mitre")
        rest = frame.difference(sites)
        if rest.is_empty:
            return []
        top: dict[int, np.ndarray] = {}
        for li in range(len(self.names)):
            sel = np.flatnonzero(self.top_layer == li)
            if not len(sel):
                continue
            grown = rest.buffer(self.halo_dbu[li] * dbu, join_style="mitre")
            shapely.prepare(grown)
            g = self.top_geoms[sel]
            inside = shapely.covered_by(g, grown)
            parts = list(g[inside])
            cut = np.flatnonzero(~inside & shapely.intersects(g, grown))
            if len(cut):
                parts += [p for p in shapely.get_parts(shapely.intersection(g[cut], grown))
                          if shapely.get_type_id(p) == 3 and p.area > dbu * dbu]
            if parts:
                top[li] = np.asarray(parts, dtype=object)
        if n:
            shapely.prepare(sites)
            h2 = 2 * self.h_max_dbu
            grown_sites = shapely.box(*(np.c_[self.site_lo - h2, self.site_hi + h2] * dbu).T)
            border = np.flatnonzero(~shapely.covered_by(grown_sites, sites))
        else:
            border = np.zeros(0, np.int64)
        self.stats["border_placements"] = int(len(border))
        # tiles: about REST_TILE_VERTICES top vertices each
        verts = sum(int(shapely.get_num_coordinates(g).sum()) for g in top.values())
        k = int(min(16, max(1, np.ceil(np.sqrt(verts / REST_TILE_VERTICES)))))
        fx0, fy0, fx1, fy1 = np.rint(np.asarray(frame.bounds) / dbu).astype(np.int64)
        xs = np.linspace(fx0, fx1 + 1, k + 1).round().astype(np.int64)
        ys = np.linspace(fy0, fy1 + 1, k + 1).round().astype(np.int64)
        g = self.h_max_dbu
        out = []
        for x0, x1 in zip(xs[:-1], xs[1:]):
            for y0, y1 in zip(ys[:-1], ys[1:]):
                tile = np.array([x0, y0, x1, y1], np.int64)
                region = rest.intersection(shapely.box(*(tile * dbu)))
                if region.is_empty:
                    continue
                tops = {}
                for li, geoms in top.items():
                    h = self.halo_dbu[li]
                    bx = (tile + np.r_[-h, -h, h, h]) * dbu
                    parts = shapely.get_parts(shapely.clip_by_rect(geoms, *bx))
                    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > dbu * dbu)]
                    if len(parts):
                        tops[li] = LayerShapes.of(polys_of(parts, int(self.keys[li]), dbu), dbu)
                near = region.buffer(self.h_max, join_style="mitre")
                shapely.prepare(near)
                mine = border[((self.site_lo[border] - g <= tile[2:] + g) & (tile[:2] - g <= self.site_hi[border] + g)).all(axis=1)]
                sources = [(int(self.var_of[i]), self.origin[i]) for i in mine]
                pos = {int(i): q for q, i in enumerate(mine)}
                pairs = []   # the top meets the placements inside their (grown) sites; here only placements across the rest
                for q, i in enumerate(mine):
                    js = np.array([j for j in self.neighbours[i] if int(j) in pos and pos[int(j)] > q], np.int64)
                    if not len(js):
                        continue
                    lo = np.maximum(self.site_lo[js], self.site_lo[i]) - g
                    hi = np.minimum(self.site_hi[js], self.site_hi[i]) + g
                    meet = shapely.intersects(near, shapely.box(*(np.c_[lo, hi] * dbu).T))
                    pairs += [(q, pos[int(j)]) for j in js[meet]]
                if not tops and not pairs:
                    continue
                out.append((Context(self, tops, sources, pairs, region, with_top=False), tile))
        self.stats["rest_tiles"] = len(out)
        return out

    def check_rest(self) -> list[tuple[Violation, int]]:
        """The top's shapes outside every site with the placements' shapes near them, once, tile by tile."""
        out = []
        for ctx, tile in self.rest_contexts():
            for rname, (found, _) in ctx.findings(self.top).items():
                if not found:
                    continue
                own = []                       # the placements' own findings seen here are theirs
                for vi, d in ctx.sources:
                    got = self.var_found[vi].get(rname)
                    if got is not None:
                        own += [move_finding(f, d * self.dbu) for f in got[1]]
                _, seen = match(own, found, self.local[rname])
                found = [f for f, k in zip(found, seen) if not k]
                if not found:
                    continue
                refs = ref_points(found, self.dbu)
                keep = ((refs >= tile[:2]) & (refs < tile[2:])).all(axis=1)
                if len(self.origin):
                    pi, si = self.site_tree.query(shapely.points(refs * self.dbu), predicate="intersects")
                    inside = ((refs[pi] >= self.site_lo[si]) & (refs[pi] < self.site_hi[si])).all(axis=1)
                    keep[pi[inside]] = False
                out += [(Violation(rname, self.top, f.message, f.region, f.edges), 1) for f, k in zip(found, keep) if k]
        return out

    # ------------------------------------------------------------ the top's own

    def check_own(self) -> list[tuple[Violation, int]]:
        """Rules that do not look across sources on the top's own shapes (with the placed MARK
        areas, so exemption holds), and the wafer checks once on the hierarchy."""
        parts = [self.own_flat.polys]
        if self.mark_li is not None:
            for vi, v in enumerate(self.variants):
                mp = v.on(self.mark_li).polys
                if len(mp):
                    parts += [shift_polys(mp, o) for o in self.origin[self.var_of == vi]]
        flat = Flat(self.top, concat_polys(parts), self.own_flat.labels, self.dbu)
        cl = CellLayers(flat, self.pdk, layout=self.layout, top=self.top, marks=self.exempt)
        out = []
        for r in self.own_rules:
            out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in run_rule(r, cl)]
        for r in self.wafer_rules:
            out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in wafer_findings(r, cl)]
        if self.flat_rules:
            whole = CellLayers(self.layout.flatten(self.top), self.pdk, layout=self.layout, top=self.top, marks=self.exempt)
            for r in self.flat_rules:
                out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in run_rule(r, whole)]
        return out

    # ------------------------------------------------------------ all

    def overlapping_placements(self) -> bool:
        """Whether the extents of two placements (their shapes on the rule layers) overlap."""
        if len(self.origin) < 2:
            return False
        b = np.array([v.bounds for v in self.variants])[self.var_of]
        lo, hi = self.origin + b[:, :2], self.origin + b[:, 2:]
        i, j = shapely.STRtree(shapely.box(*(np.c_[lo, hi] * self.dbu).T)).query(
            shapely.box(*(np.c_[lo, hi] * self.dbu).T), predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        return bool(((lo[j] < hi[i]) & (lo[i] < hi[j])).all(axis=1).any())

    def run(self, read: bool = True) -> tuple[list[Violation], list[int], dict]:
        """Every violation, how many times each occurs in the flattened layout, and figures."""
        t: dict[str, float] = {}

        def step(name: str, fn, *args):
            t0 = time.perf_counter()
            out = fn(*args)
            t[name] = round(time.perf_counter() - t0, 4)
            return out

        if read:
            step("read", self.read)
        step("cells", self.check_cells)
        types = step("classify", self.classify) if len(self.origin) else []
        new = step("types", self.check_types, types)
        new += step("rest", self.check_rest)
        new += step("own_and_wafer", self.check_own)
        with_shapes = {v.cell for v in self.variants}
        vs: list[Violation] = []
        occ: list[int] = []
        for cell, found in self.cell_found.items():
            total = self.placed[cell]
            counts = self.cell_occ[cell].copy() if cell in with_shapes else np.full(len(found), total)
            plain = self.cell_plain[cell]
            counts[plain] = total - self.cell_exempt[cell][plain]   # rules not checked across placements
            for viol, k in zip(found, counts):
                if k <= 0:
                    continue
                note = f" (in {k} of {total} placements)" if total > 1 else ""
                vs.append(Violation(viol.rule, cell, viol.message + note, viol.region, viol.edges))
                occ.append(int(k))
        for viol, k in new:
            vs.append(viol)
            occ.append(int(k))
        self.stats.update(cells=dict(self.placed), placements=int(len(self.origin)), times_s=t)
        return vs, occ, self.stats


def check_hierarchical(layout: Layout, top: str, pdk: Pdk, deck: list[Rule]) -> tuple[list[Violation], list[int], dict]:
    """Violations of `deck` in top cell `top` checked hierarchically, how many times each occurs
    in the flattened layout, and how the check went (types, times). Placements whose cells overlap
    each other (not an array: shapes of two placements on top of each other) are checked flat."""
    chk = HierChecker(layout, top, pdk, deck)
    chk.read()
    if chk.overlapping_placements():
        found = check_cell(layout.flatten(top), pdk, deck, layout=layout)
        return found, [1] * len(found), {"mode": "flat", "reason": "placements overlap each other"}
    return chk.run(read=False)

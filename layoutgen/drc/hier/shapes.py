"""Shapes of a placed cell (a variant: one orientation) and of the top, by layer, as integer and shapely polygons."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from ..cell import poly_bounds, take_polys
from ..geometry import polygons
from ..merge import touching_groups
from ..read import Placement, Polys
from ..violation import Finding


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
    def drawn(self) -> np.ndarray:
        """The layer indices the variant draws on."""
        if "drawn" not in self._layers:
            self._layers["drawn"] = np.unique(self.layer)
        return self._layers["drawn"]

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

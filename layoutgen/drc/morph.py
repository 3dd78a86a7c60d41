"""Opening and closing of polygons with mitre joins, exact at the rule value.

Opening (shrink by w/2, grow back) keeps what a w-wide square can sweep: what it loses is
narrower than w. Closing (grow by s/2, shrink back) fills gaps narrower than s. Two GEOS
habits are handled here:

- a negative buffer drops results thinner than about 1e-4 of the buffer distance, so a
  line exactly w wide would vanish. Shrinking goes in two steps: most of the distance,
  then a small last step, which keeps a residue 2·MARGIN_UM thin. Shapes are therefore
  measured against w − 2·MARGIN_UM (1e-4 µm, a tenth of a database unit).
- a closing by square-cornered (mitre) offsets returns a V-shaped notch unchanged: its
  walls move out and back along the bisector. `acute_notches` finds those from the
  vertices instead: wherever a shape's outline turns back by more than 90° (the gap
  outside the vertex is narrower than 90°), the two walls come closer than any space
  near the tip, which KLayout's Euclidean space check reports too (edges at 90° or more
  are not checked, as KLayout's default).
- the difference between a shape and its opening leaves numerical slivers at joints;
  pieces smaller than SLIVER_UM2 are dropped, and a piece only counts when it touches two
  walls of the shape that face each other (normals more than 120° apart): a real neck or
  gap, not the wedge of a corner where a trace meets a polygonal pad at a few degrees
  off square (acute corners are the angle rule's business).
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM, SLIVER_UM2, has_facing_walls

MARGIN_UM = 5e-5
_MITRE = 10.0


def _step(geoms: np.ndarray, distance: float, join: str) -> np.ndarray:
    return shapely.buffer(geoms, distance, join_style=join, mitre_limit=_MITRE, quad_segs=16)


def shrink(geoms: np.ndarray, distance: float, join: str = "mitre") -> np.ndarray:
    """Each geometry shrunk by `distance` µm, in two steps so thin residues survive."""
    last = min(distance, max(0.05, distance * 1e-3))
    return _step(_step(geoms, -(distance - last), join), -last, join)


def grow(geoms: np.ndarray, distance: float, join: str = "mitre") -> np.ndarray:
    """Each geometry grown by `distance` µm, in two steps so thin gaps inside survive."""
    last = min(distance, max(0.05, distance * 1e-3))
    return _step(_step(geoms, distance - last, join), last, join)


def opening(geoms: np.ndarray, width: float) -> np.ndarray:
    """What of each geometry a square of side `width` (less 2·MARGIN_UM) can sweep."""
    r = width / 2 - MARGIN_UM
    return _step(shrink(geoms, r), r, "mitre")


def closing(geoms: np.ndarray, space: float) -> np.ndarray:
    """Each geometry with its gaps narrower than `space` (less 2·MARGIN_UM) filled."""
    r = space / 2 - MARGIN_UM
    return shrink(grow(geoms, r), r)


def narrow_parts(geoms: np.ndarray, width: float) -> list[tuple[int, shapely.Geometry]]:
    """(index, piece) for each part of a geometry that is narrower than `width`."""
    opened = opening(geoms, width)
    lost = shapely.area(geoms) - shapely.area(opened)
    idx = np.flatnonzero(lost > SLIVER_UM2)
    return _pieces(idx, shapely.difference(geoms[idx], opened[idx]), geoms)


def narrow_gaps(geoms: np.ndarray, space: float) -> list[tuple[int, shapely.Geometry]]:
    """(index, piece) for each gap inside a geometry (notch or hole) narrower than `space`;
    convex geometries have no gaps and are skipped."""
    area = shapely.area(geoms)
    concave = np.flatnonzero(shapely.area(shapely.convex_hull(geoms)) - area > SLIVER_UM2)
    closed = closing(geoms[concave], space)
    gained = shapely.area(closed) - area[concave]
    keep = gained > SLIVER_UM2
    idx = concave[keep]
    return _pieces(idx, shapely.difference(closed[keep], geoms[idx]), geoms)


def acute_notches(geoms: np.ndarray, space: float) -> list[tuple[int, shapely.Geometry]]:
    """(index, marker) for each V-shaped notch of a geometry: two walls of one shape that face
    each other across the outside at less than 90° (KLayout's Euclidean space check with its
    default 90° limit) and come closer than `space`. The marker covers the parts of both walls
    within `space` of each other; wall pairs whose markers touch are one notch (a tip cut off
    by a short edge is one notch, not three)."""
    if len(geoms) == 0:
        return []
    rings, owner = shapely.get_rings(shapely.orient_polygons(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]                              # consecutive points of one ring: an edge
    p0, p1, own = xy[:-1][same], xy[1:][same], owner[ring[:-1][same]]
    d = p1 - p0
    length = np.hypot(*d.T)
    keep = length > 0
    p0, p1, own, d, length = p0[keep], p1[keep], own[keep], d[keep], length[keep]
    if len(p0) < 2:
        return []
    normal = np.stack([d[:, 1], -d[:, 0]], 1) / length[:, None]   # outward: shapes lie left of their rings
    segs = shapely.linestrings(np.stack([p0, p1], 1))
    i, j = shapely.STRtree(segs).query(segs, predicate="dwithin", distance=space - EPS_UM)
    pick = (i < j) & (own[i] == own[j])
    i, j = i[pick], j[pick]
    facing = np.einsum("ij,ij->i", normal[i], normal[j]) < -1e-9          # at less than 90° to each other

    def ahead(a: np.ndarray, b: np.ndarray) -> np.ndarray:   # some of wall b lies outside wall a
        return np.maximum(np.einsum("ij,ij->i", p0[b] - p0[a], normal[a]),
                          np.einsum("ij,ij->i", p1[b] - p0[a], normal[a])) > EPS_UM

    pick = facing & ahead(i, j) & ahead(j, i)
    i, j = i[pick], j[pick]
    if len(i) == 0:
        return []
    near_i = shapely.intersection(segs[i], shapely.buffer(segs[j], space - EPS_UM, quad_segs=4))
    near_j = shapely.intersection(segs[j], shapely.buffer(segs[i], space - EPS_UM, quad_segs=4))
    marks = shapely.convex_hull(shapely.union(near_i, near_j))
    out = []
    for k in np.unique(own[i]):  # shapes with a notch only: few
        mine = own[i] == k
        merged = shapely.union_all(shapely.buffer(marks[mine], EPS_UM, quad_segs=1))
        out += [(int(k), part) for part in shapely.get_parts(merged)]
    return out


def _pieces(idx: np.ndarray, diffs: np.ndarray, geoms: np.ndarray) -> list[tuple[int, shapely.Geometry]]:
    """The pieces of each difference that are not slivers and sit between facing walls."""
    if len(idx) == 0:
        return []
    parts, which = shapely.get_parts(diffs, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > SLIVER_UM2)
    out = []
    for part, w in zip(parts[keep], which[keep]):  # candidate pieces only: few
        shape = geoms[idx[w]]
        if has_facing_walls(part, shape):
            out.append((int(idx[w]), part))
    return out

"""Shapely geometry from vertex arrays, and small vectorised helpers on rings and segments.

All lengths in µm. Nothing here loops over shapes in Python except where a docstring says
the loop is over violations (few).
"""

from __future__ import annotations

import numpy as np
import shapely

from .read import Polys

Segment = tuple[float, float, float, float]

# Distances within this of a rule value count as meeting it (float noise, not design).
EPS_UM = 1e-6
# Pieces of a morphological difference smaller than this are numerical slivers.
SLIVER_UM2 = 1e-4


def polygons(polys: Polys, dbu_um: float) -> np.ndarray:
    """One valid shapely geometry per polygon (self-touching GDS outlines repaired)."""
    if len(polys) == 0:
        return np.empty(0, object)
    coords = polys.xy * dbu_um
    geoms = shapely.polygons(shapely.linearrings(coords, indices=polys.polygon_index()))
    bad = ~shapely.is_valid(geoms)
    if bad.any():
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return geoms


def explode(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-empty polygons of each geometry, and the index of the geometry each came from."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[keep], idx[keep]


def translate(geoms: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each geometry moved by its own (dx, dy), in one vectorised call."""
    if len(geoms) == 0:
        return geoms
    per_coord = np.repeat(shifts, shapely.get_num_coordinates(geoms), axis=0)
    return shapely.transform(geoms, lambda c: c + per_coord)


def ring_segments(geom: shapely.Geometry) -> tuple[np.ndarray, np.ndarray]:
    """Every boundary segment (x0, y0, x1, y1) of a polygon, rings oriented interior-left,
    and its unit normal pointing into the polygon."""
    geom = shapely.orient_polygons(geom)
    rings = shapely.get_rings(geom)
    segs = []
    for ring in rings:
        c = shapely.get_coordinates(ring)
        segs.append(np.hstack([c[:-1], c[1:]]))
    s = np.vstack(segs) if segs else np.zeros((0, 4))
    d = s[:, 2:] - s[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1.0
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None]
    return s, normal


def point_segment_distance(p: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """Distance from point p to each segment."""
    a, b = segs[:, :2], segs[:, 2:]
    ab = b - a
    den = np.einsum("ij,ij->i", ab, ab)
    den[den == 0] = 1.0
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / den, 0.0, 1.0)
    q = a + t[:, None] * ab
    return np.hypot(*(p - q).T)


def closest_segments(a: shapely.Geometry, b: shapely.Geometry) -> tuple[Segment, Segment]:
    """The boundary segment of `a` and of `b` that hold their closest points (a marker)."""
    line = shapely.shortest_line(a, b)
    pa, pb = shapely.get_coordinates(line)
    sa, _ = ring_segments(a)
    sb, _ = ring_segments(b)
    ea = sa[int(np.argmin(point_segment_distance(pa, sa)))]
    eb = sb[int(np.argmin(point_segment_distance(pb, sb)))]
    return tuple(float(v) for v in ea), tuple(float(v) for v in eb)  # type: ignore[return-value]


def has_facing_walls(piece: shapely.Geometry, shape: shapely.Geometry, min_angle_deg: float = 120.0) -> bool:
    """Whether `piece` touches two walls of `shape` whose normals differ by more than
    `min_angle_deg`: a gap or a neck between opposite walls, not the wedge of one corner."""
    segs, normal = ring_segments(shape)
    x0, y0, x1, y1 = shapely.bounds(piece)
    tol = 1e-5
    near = (
        (np.maximum(segs[:, 0], segs[:, 2]) >= x0 - tol) & (np.minimum(segs[:, 0], segs[:, 2]) <= x1 + tol)
        & (np.maximum(segs[:, 1], segs[:, 3]) >= y0 - tol) & (np.minimum(segs[:, 1], segs[:, 3]) <= y1 + tol)
    )
    if near.sum() < 2:
        return False
    lines = shapely.linestrings(segs[near].reshape(-1, 2, 2))
    contact = shapely.length(shapely.intersection(lines, shapely.buffer(piece, tol, quad_segs=2)))
    walls = normal[near][contact > 10 * tol]
    if len(walls) < 2:
        return False
    return bool((walls @ walls.T).min() < np.cos(np.radians(min_angle_deg)))


def rings_of(geom: shapely.Geometry) -> list[list[tuple[float, float]]]:
    """The rings of a polygon or multipolygon as coordinate lists (exteriors then holes)."""
    out = []
    for part in shapely.get_parts(geom):
        if shapely.get_type_id(part) != 3:
            continue
        for ring in shapely.get_rings(part):
            c = shapely.get_coordinates(ring)[:-1]
            out.append([(round(float(x), 6), round(float(y), 6)) for x, y in c])
    return out


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

"""Narrow parts and gaps of shapes: measured from facing walls along the axes, else by opening
and closing with mitre joins, exact at the rule value.

Shapes whose walls all run along the axes (most drawn data) are measured from their walls
(`channels`): the rectangle between two walls facing each other closer than the rule, where
they overlap, is the marker, cut by the shape where another wall enters it, and touching
rectangles of a shape are one marker. A shape where a square may miss a point that no such
rectangle holds is opened or closed as below (`channels` says which). The markers are the
union of the rectangles, not the whole difference of the opening: see `channels`.

Opening (shrink by w/2, grow back) keeps what a w-wide square can sweep: what it loses is
narrower than w. Closing (grow by s/2, shrink back) fills gaps narrower than s. Two GEOS
habits are handled here:

- a negative buffer drops results thinner than about 1e-4 of the buffer distance, so a
  line exactly w wide would vanish. Shrinking goes in two steps: most of the distance,
  then a small last step, which keeps a residue 2·MARGIN_UM thin. Shapes are therefore
  measured against w − 2·MARGIN_UM (1e-4 µm, a tenth of a database unit).
- a closing by square-cornered (mitre) offsets returns a V-shaped notch unchanged: its
  walls move out and back along the bisector. `acute_notches` finds those from the
  edges instead (`geometry.acute_notches`): walls of one shape facing each other at
  less than 90° and closer than the space, as KLayout's Euclidean space check reports
  them (edge pairs at 90° or more are not checked, KLayout's default).
- the difference between a shape and its opening leaves numerical slivers at joints;
  pieces smaller than SLIVER_UM2 are dropped, and a piece only counts when it touches two
  walls of the shape that face each other (normals more than 120° apart): a real neck or
  gap, not the wedge of a corner where a trace meets a polygonal pad at a few degrees
  off square (acute corners are the angle rule's business).
"""

from __future__ import annotations

import numpy as np
import shapely

from layoutgen.units import RATIO_EPS

from .graph import components
from .geometry import EPS_UM, SLIVER_UM2, extent_pairs, facing_walls, walls
from .merge import union_groups

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


def narrow_parts(geoms: np.ndarray, width: float, wide: np.ndarray | None = None) -> list[tuple[int, shapely.Geometry]]:
    """(index, piece) for each part of a geometry that is narrower than `width`. Rectangles
    along the axes are measured, not opened: at least `width` wide they lose nothing, narrower
    (by more than the margin) they are wholly the piece (their opening is empty). `wide` (bool
    per geometry, optional): geometries known to lose nothing (`wide_unions`), not opened.
    Other geometries along the axes are measured from their walls (`channels`), the rest opened."""
    side = rectangle_sides(geoms)
    thin = (side < width - 4 * MARGIN_UM) & (shapely.area(geoms) > SLIVER_UM2)
    todo = ~(side >= width + 1e-3) & ~thin
    if wide is not None:
        todo &= ~wide
    todo = np.flatnonzero(todo)
    # Shapes along the axes: their narrow parts measured from their walls (`channels`).
    p0, p1, own, normal = walls(geoms[todo])
    man = axis_parallel(len(todo), p0, p1, own)
    on = man[own]
    p0, p1, own, normal = p0[on], p1[on], own[on], normal[on]
    limit = width - 2 * MARGIN_UM
    i, j = inside_pairs(p0, p1, own, normal, limit)
    ch, unsure = channels(geoms[todo], limit, True, p0, p1, own, normal, i, j)
    found = [(int(todo[k]), q) for k, q in ch]
    # The others opened.
    todo = todo[~man | unsure]
    opened = opening(geoms[todo], width)
    lost = shapely.area(geoms[todo]) - shapely.area(opened)
    keep = lost > SLIVER_UM2
    idx = todo[keep]
    pieces = _pieces(idx, shapely.difference(geoms[idx], opened[keep]), geoms)
    cleaned = without_fingers(np.array([p for _, p in pieces], dtype=object))
    found += [(i, q) for (i, _), q in zip(pieces, cleaned)] + [(int(i), geoms[i]) for i in np.flatnonzero(thin)]
    return sorted(found, key=lambda f: f[0])


def wide_unions(merged: np.ndarray, drawn: np.ndarray, width: float) -> np.ndarray:
    """Whether each merged geometry is made only of drawn rectangles along the axes at least
    `width` wide: such a union loses nothing to an opening by `width` (each rectangle is its own
    opening, and the opening of a union holds the openings of its parts), so it need not be
    opened. A merged geometry that meets any other drawn polygon is not known wide."""
    wide = np.ones(len(merged), bool)
    other = drawn[~(rectangle_sides(drawn) >= width + 1e-3)]
    if len(merged) and len(other):
        o, m = shapely.STRtree(merged).query(other)                # extents meet: then one vectorised test
        wide[m[shapely.intersects(other[o], merged[m])]] = False
    return wide


def rectangle_sides(geoms: np.ndarray) -> np.ndarray:
    """The shorter side of each geometry that is a rectangle along the axes, NaN for the others."""
    b = shapely.bounds(geoms)
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    box = (shapely.get_num_coordinates(geoms) == 5) & (shapely.get_num_interior_rings(geoms) == 0)
    box &= np.abs(shapely.area(geoms) - w * h) < 1e-6
    return np.where(box, np.minimum(w, h), np.nan)


def narrow_gaps(geoms: np.ndarray, space: float, candidates: np.ndarray | None = None) -> list[tuple[int, shapely.Geometry]]:
    """(index, piece) for each gap inside a geometry (notch or hole) narrower than `space`;
    convex geometries have no gaps and are skipped, and so are those not in `candidates`
    (bool per geometry, optional: `gap_candidates`)."""
    area = shapely.area(geoms)
    todo = np.arange(len(geoms)) if candidates is None else np.flatnonzero(candidates)
    concave = todo[shapely.area(shapely.convex_hull(geoms[todo])) - area[todo] > SLIVER_UM2]
    closed = closing(geoms[concave], space)
    gained = shapely.area(closed) - area[concave]
    keep = gained > SLIVER_UM2
    idx = concave[keep]
    return _pieces(idx, shapely.difference(closed[keep], geoms[idx]), geoms)


# How far apart (in spaces) two facing walls may be and still bound a gap the closing fills:
# the offsets of two walls meet within the space; a square corner's reaches √2 of its half.
GAP_REACH = 2.0


def gap_candidates(n: int, own: np.ndarray, i: np.ndarray, dist: np.ndarray, space: float) -> np.ndarray:
    """Whether each of `n` geometries can hold a gap narrower than `space`: it has two walls
    facing each other across the outside (`geometry.facing_pairs`: `own` the shape of each
    wall, pairs from wall `i`, their distances) closer than GAP_REACH spaces. A gap the
    closing fills and `facing_walls` keeps lies between two of the shape's walls whose
    normals are more than 120° apart and whose offsets by space / 2 met; a shape without such
    a pair loses nothing to the filter, and the closing (a polygon overlay) is spared."""
    out = np.zeros(n, bool)
    out[own[i[dist <= GAP_REACH * space]]] = True
    return out


def _pieces(idx: np.ndarray, diffs: np.ndarray, geoms: np.ndarray) -> list[tuple[int, shapely.Geometry]]:
    """The pieces of each difference that are not slivers and sit between facing walls."""
    if len(idx) == 0:
        return []
    parts, which = shapely.get_parts(diffs, return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > SLIVER_UM2)
    parts, which = parts[keep], which[keep]
    facing = facing_walls(parts, geoms[idx], which)
    return [(int(idx[w]), part) for part, w in zip(parts[facing], which[facing])]


def without_fingers(parts: np.ndarray) -> np.ndarray:
    """Each piece without the zero-width fingers a difference can leave along walls that the shape
    and its opening share (a valid polygon whose thin fingers run far from the real piece and would
    move its bounds and its reference vertex): opened by MARGIN_UM where that changes the bounds."""
    if not len(parts):
        return parts
    out = parts.copy()
    # Only a piece with a part narrower than 2·MARGIN_UM (then a vertex lies that close to an
    # edge it does not end: its minimum clearance is small) or with a corner sharp enough for the
    # mitre limit to cut can lose to the opening; the others are their own opening and are spared.
    todo = np.flatnonzero((shapely.minimum_clearance(parts) < _FINGER_CLEARANCE_UM) | sharp_corners(parts, _FINGER_ANGLE_DEG))
    part = parts[todo]
    opened = shapely.buffer(shapely.buffer(part, -MARGIN_UM, join_style="mitre", mitre_limit=_MITRE),
                            MARGIN_UM, join_style="mitre", mitre_limit=_MITRE)
    b0, b1 = shapely.bounds(part), shapely.bounds(opened)
    moved = ~shapely.is_empty(opened) & (np.abs(b1 - b0) > 1e-3).any(axis=1)
    out[todo[moved]] = opened[moved]
    return out


# A piece is opened by MARGIN_UM in `without_fingers` when it has a vertex this close to an edge
# it does not end, or a corner this sharp (a mitre limit of 10 cuts corners under 11.5°).
_FINGER_CLEARANCE_UM = 20 * MARGIN_UM
_FINGER_ANGLE_DEG = 20.0


def sharp_corners(geoms: np.ndarray, angle_deg: float) -> np.ndarray:
    """Whether each polygon has a vertex whose two edges meet at less than `angle_deg` (a spike
    or a crack), measured on every ring at once."""
    out = np.zeros(len(geoms), bool)
    rings, owner = shapely.get_rings(geoms, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    if len(xy) < 3:
        return out
    # Closed rings repeat their first point: each vertex's edges go to the previous and next
    # points of its ring (the closing point stands for the first).
    start = np.flatnonzero(np.r_[True, ring[1:] != ring[:-1]])
    size = np.diff(np.r_[start, len(ring)])
    k = np.arange(len(xy))
    pos = k - np.repeat(start, size)
    n = np.repeat(size - 1, size)                              # distinct vertices of each ring
    real = pos < n
    k, pos, n = k[real], pos[real], n[real]
    base = k - pos
    prev = xy[base + (pos - 1) % n] - xy[k]
    nxt = xy[base + (pos + 1) % n] - xy[k]
    lp, ln = np.hypot(*prev.T), np.hypot(*nxt.T)
    ok = (lp > 0) & (ln > 0)
    cos = np.einsum("ij,ij->i", prev[ok], nxt[ok]) / (lp[ok] * ln[ok])
    sharp = cos > np.cos(np.radians(angle_deg))
    np.logical_or.at(out, owner[ring[k[ok]]][sharp], True)
    return out


def axis_parallel(n: int, p0: np.ndarray, p1: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Whether each of `n` polygons has only walls along the axes (`geometry.walls`: ends and owner)."""
    out = np.ones(n, bool)
    out[own[(p0[:, 0] != p1[:, 0]) & (p0[:, 1] != p1[:, 1])]] = False
    return out


def inside_pairs(p0: np.ndarray, p1: np.ndarray, own: np.ndarray, normal: np.ndarray,
                 reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i, j) of walls of one polygon along the axes that face each other across its inside
    (normals opposite, each behind the other) closer than `reach`: the candidates of `channels`
    for a width check. Candidates from one sweep of the walls' extents (`extent_pairs`)."""
    return extent_pairs(np.minimum(p0, p1), np.maximum(p0, p1), own, reach,
                        lambda i, j: np.einsum("ij,ij->i", normal[i], normal[j]) < -1 + RATIO_EPS)


def channels(geoms: np.ndarray, limit: float, inside: bool, p0: np.ndarray, p1: np.ndarray, own: np.ndarray,
             normal: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[list[tuple[int, shapely.Geometry]], np.ndarray]:
    """(index, marker) for each narrow part (`inside`) or narrow gap (not `inside`: notches and
    holes) of polygons whose walls run along the axes, measured from the walls instead of by
    an opening or a closing (polygon overlays).

    A channel is the rectangle between two opposite walls of one polygon (candidate pairs (i, j)
    of `geometry.walls`, e.g. `inside_pairs` or `geometry.facing_pairs`) that face each other
    across its inside (across its outside), closer than `limit`, over the stretch where the
    walls overlap along their length: every point of it that lies inside (outside) the polygon
    is lost to an opening (filled by a closing) by a square of side `limit`, since such a square
    holding the point would cross one of the two walls where the other side is outside (inside).
    A rectangle no other wall of the polygon enters is wholly inside (outside); the others are
    cut by the polygon (an overlay, rare). The channels of a polygon that touch, at a side or a
    corner, are one marker; pieces of less than SLIVER_UM2 are dropped as the opening drops them.

    Returned with it: whether each polygon is left to the opening (closing) instead, because two
    of its walls face each other closer than `limit` without overlapping in a way that can
    leave a point no channel holds (below); its channels are then not reported.

    The marker is the union of the channels, not the whole residue of the opening: where
    channels meet (the crossing of two narrow arms) the square between them, lost to the
    opening too, is in no channel; the marker then is the arms, touching at corners, one
    marker as before. Pieces the opening leaves thinner than about 1e-4 of the buffer
    distance (GEOS drops them) are found here; the wedges GEOS's offsets leave along a wall
    a few nanometres from another are not. Checked against the opening on random rectilinear
    layouts (tests/drc/test_drc_soundness.py).

    KLayout's projection metric finds the same wall pairs; its Euclidean metric also pairs walls
    that do not overlap (two corners closer than `limit` across a diagonal), which an opening by
    a square need not lose and which this does not report."""
    unsure = np.zeros(len(geoms), bool)
    if len(i) == 0:
        return [], unsure
    anti = np.einsum("ij,ij->i", normal[i], normal[j]) < -1 + RATIO_EPS
    i, j = i[anti], j[anti]
    side = np.einsum("ij,ij->i", p0[j] - p0[i], normal[i])              # > 0: wall j outside wall i
    gap = -side if inside else side
    pick = (gap > EPS_UM) & (gap < limit)
    i, j = i[pick], j[pick]
    along = (np.abs(normal[i, 0]) > 0.5).astype(np.int64)             # 0: walls along x (normal along y)
    k = np.arange(len(i))
    lo = np.maximum(np.minimum(p0[i, along], p1[i, along]), np.minimum(p0[j, along], p1[j, along]))
    hi = np.minimum(np.maximum(p0[i, along], p1[i, along]), np.maximum(p0[j, along], p1[j, along]))
    pick = hi - lo > EPS_UM
    # Walls that face each other closer than `limit` but do not overlap along their length: a
    # square held under the shorter one that cannot slide past the other (the shorter wall
    # and the offset between the two less than `limit` long) may miss a point that lies in
    # no channel (a step cornered on both sides). Their polygon is left to the overlay.
    unsure = np.zeros(len(geoms), bool)
    short = np.minimum(np.abs(p1[i, along] - p0[i, along]), np.abs(p1[j, along] - p0[j, along]))
    unsure[own[i[~pick & (lo - hi + short < limit)]]] = True
    pick &= ~unsure[own[i]]
    i, j, k, lo, hi, along = i[pick], j[pick], k[pick], lo[pick], hi[pick], along[pick]
    if len(i) == 0:
        return [], unsure
    across = 1 - along
    a, b = p0[i, across], p0[j, across]
    c0, c1 = np.minimum(a, b), np.maximum(a, b)
    box = np.where((along == 0)[:, None], np.stack([lo, c0, hi, c1], 1), np.stack([c0, lo, c1, hi], 1))
    shape = own[i]
    rects = shapely.box(box[:, 0], box[:, 1], box[:, 2], box[:, 3])
    # Walls of the same polygon entering a rectangle's open inside (walls along the axes: their
    # extent is the wall, so meeting the rectangle shrunk a little is entering it).
    # One sweep of the extents of the walls (of the polygons holding a rectangle) and of the
    # rectangles shrunk a little, grouped by polygon; the pairs of a wall and a rectangle count.
    t = EPS_UM / 10
    mine = np.zeros(len(geoms), bool)
    mine[shape] = True
    wall = np.flatnonzero(mine[own])
    lo = np.concatenate([np.minimum(p0[wall], p1[wall]), box[:, :2] + t])
    hi = np.concatenate([np.maximum(p0[wall], p1[wall]), box[:, 2:] - t])
    a, b = extent_pairs(lo, hi, np.concatenate([own[wall], shape]), 0.0)
    n_wall = len(wall)
    cut = np.zeros(len(rects), bool)
    cut[b[(a < n_wall) & (b >= n_wall)] - n_wall] = True               # a < b: a wall, then a rectangle
    if cut.any():
        c = np.flatnonzero(cut)
        op = shapely.intersection if inside else shapely.difference
        parts, which = shapely.get_parts(op(rects[c], geoms[shape[c]]), return_index=True)
        poly = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
        parts, which = parts[poly], which[poly]
        rects = np.concatenate([rects[~cut], parts])
        shape = np.concatenate([shape[~cut], shape[c[which]]])
    keep = shapely.area(rects) > SLIVER_UM2
    rects, shape = rects[keep], shape[keep]
    if len(rects) == 0:
        return [], unsure
    # The pieces of one polygon that touch are one marker (sorted by polygon, then first piece).
    left, right = shapely.STRtree(rects).query(rects)
    pick = (left < right) & (shape[left] == shape[right])
    left, right = left[pick], right[pick]
    pick = shapely.intersects(rects[left], rects[right])
    n = len(rects)
    label = components(n, left[pick], right[pick])[1]
    groups = np.unique(label)
    first = np.full(len(groups), n, np.int64)
    np.minimum.at(first, label, np.arange(n))
    order = np.lexsort((first, shape[first]))
    merged = union_groups(rects, label, groups[order])
    return [(int(s), g) for s, g in zip(shape[first[order]].tolist(), merged)], unsure

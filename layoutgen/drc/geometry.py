"""Shapely geometry from vertex arrays, and small vectorised helpers on rings and segments.

All lengths in µm. Nothing here loops over shapes in Python except where a docstring says
the loop is over violations (few).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import shapely

from .read import Polys
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS

Segment = tuple[float, float, float, float]

# Distances within this of a rule value count as meeting it (float noise, not design).
EPS_UM = 1e-6
# Pieces of a morphological difference smaller than this are numerical slivers.
SLIVER_UM2 = 1e-4


def polygons(polys: Polys, dbu_um: float) -> np.ndarray:
    """One valid shapely geometry per polygon (self-touching GDS outlines repaired), normalised
    (each ring from its least vertex, shells clockwise): what is measured on it does not depend
    on the vertex a polygon was drawn from or its direction."""
    if len(polys) == 0:
        return np.empty(0, object)
    # Rings closed where the outline does not repeat its first vertex, then built in one call from
    # the flat coordinates (`from_ragged_array`: about half the time of rings, then polygons).
    first, last = polys.offsets[:-1], polys.offsets[1:] - 1
    open_ = np.flatnonzero((polys.xy[first] != polys.xy[last]).any(axis=1))
    xy = np.insert(polys.xy, last[open_] + 1, polys.xy[first[open_]], axis=0) * dbu_um
    closing = np.zeros(len(polys) + 1, np.int64)
    closing[open_ + 1] = 1
    rings = polys.offsets + np.cumsum(closing)
    geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (rings, np.arange(len(polys) + 1)))
    test = np.flatnonzero(~drawn_rectangles(polys))             # rectangles along the axes are valid
    bad = test[~shapely.is_valid(geoms[test])]
    if len(bad):
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
    return shapely.normalize(geoms)


def drawn_rectangles(polys: Polys) -> np.ndarray:
    """Whether each polygon is four vertices making a rectangle along the axes with sides of
    non-zero length (valid as drawn)."""
    out = np.zeros(len(polys), bool)
    four = np.flatnonzero(np.diff(polys.offsets) == 4)
    if len(four) == 0:
        return out
    v = polys.xy[polys.offsets[four][:, None] + np.arange(4)]            # (n, 4, 2)
    x, y = v[:, :, 0], v[:, :, 1]
    across = (x[:, 0] == x[:, 1]) & (y[:, 1] == y[:, 2]) & (x[:, 2] == x[:, 3]) & (y[:, 3] == y[:, 0])
    along = (y[:, 0] == y[:, 1]) & (x[:, 1] == x[:, 2]) & (y[:, 2] == y[:, 3]) & (x[:, 3] == x[:, 0])
    out[four] = (across | along) & (x.max(1) > x.min(1)) & (y.max(1) > y.min(1))
    return out


def explode(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-empty polygons of each geometry, and the index of the geometry each came from. A
    polygon is its own part (the same object, not a copy: a layer's shapes that merge with nothing
    are not held twice)."""
    single = (shapely.get_type_id(geoms) == 3) & ~shapely.is_empty(geoms)
    own = np.flatnonzero(single)
    if len(own) == len(geoms):
        return geoms.copy(), own
    multi = np.flatnonzero(~single)
    parts, idx = shapely.get_parts(geoms[multi], return_index=True)
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    idx = np.concatenate([own, multi[idx[keep]]])
    order = np.argsort(idx, kind="stable")                   # by geometry, a collection's parts in order
    return np.concatenate([geoms[own], parts[keep]])[order], idx[order]


def translate(geoms: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each geometry moved by its own (dx, dy), in one vectorised call."""
    if len(geoms) == 0:
        return geoms
    per_coord = np.repeat(shifts, shapely.get_num_coordinates(geoms), axis=0)
    return shapely.transform(geoms, lambda c: c + per_coord)


def segment_table(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every boundary segment of many polygons at once, as `ring_segments` gives them for
    each: segments (x0, y0, x1, y1), unit normals into the polygon, and the offsets
    (len(geoms) + 1) of each polygon's run of segments."""
    n = len(geoms)
    if n == 0:
        return np.zeros((0, 4)), np.zeros((0, 2)), np.zeros(1, np.int64)
    rings, owner = shapely.get_rings(shapely.orient_polygons(geoms), return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]                       # consecutive vertices of one ring
    s = np.hstack([coords[:-1][same], coords[1:][same]])
    seg_owner = owner[ring_of[:-1][same]]
    d = s[:, 2:] - s[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1.0
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1) / length[:, None]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(seg_owner, minlength=n), out=offsets[1:])
    return s, normal, offsets


def _runs(offsets: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each entry of `which` (polygon indices into a segment table's `offsets`), the
    indices of that polygon's segments, concatenated, and the entry each belongs to."""
    counts = offsets[which + 1] - offsets[which]
    entry = np.repeat(np.arange(len(which)), counts)
    first = np.repeat(offsets[which] - (np.cumsum(counts) - counts), counts)
    return first + np.arange(int(counts.sum())), entry


def _point_segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from each point p to the segment a–b (rows of (n, 2) arrays)."""
    ab = b - a
    den = np.einsum("ij,ij->i", ab, ab)
    den[den == 0] = 1.0
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / den, 0.0, 1.0)
    q = a + t[:, None] * ab
    return np.hypot(*(p - q).T)


def _least(entry: np.ndarray, d: np.ndarray, tol: float) -> np.ndarray:
    """Per run of equal `entry` (sorted): whether each d is within `tol` of the run's least."""
    if len(d) == 0:
        return np.zeros(0, bool)
    starts = np.flatnonzero(np.r_[True, entry[1:] != entry[:-1]])
    low = np.repeat(np.minimum.reduceat(d, starts), np.diff(np.r_[starts, len(d)]))
    return d <= low + tol


def _nearest_segments(points: np.ndarray, segs: np.ndarray, offsets: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point k, every one of polygon which[k]'s segments nearest to it (within
    _ON_BOUNDARY_UM of the least distance: both segments at a vertex): (k, segment) pairs."""
    idx, entry = _runs(offsets, which)
    d = _point_segment_distance(points[entry], segs[idx, :2], segs[idx, 2:])
    near = _least(entry, d, _ON_BOUNDARY_UM)
    return entry[near], idx[near]


# A point this close to a polygon's boundary (a shortest line's end) is on it.
_ON_BOUNDARY_UM = 1e-6
# Polygons with more segments than this have the segments near each point found by a sweep.
_SWEEP_MIN_SEGMENTS = 64


def _boundary_segments(points: np.ndarray, segs: np.ndarray, offsets: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_nearest_segments` for points that lie on their polygon's boundary (ends of shortest
    lines between polygons apart), sorted by point, without measuring every segment of a large
    polygon: only the segments whose extent comes within _ON_BOUNDARY_UM of the point (one sweep
    of the extents, `extent_pairs`) can hold it. A point farther than that from every segment
    (the shortest line between overlapping polygons can end inside both) is measured against all
    of its polygon's segments."""
    n = len(points)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # Points on small polygons: all their segments measured (cheap); on large ones (a routed net
    # in many pairs): only the segments of large polygons swept against their points.
    counts = np.diff(offsets)
    small = np.flatnonzero(counts[which] <= _SWEEP_MIN_SEGMENTS)
    e, i = _nearest_segments(points[small], segs, offsets, which[small])
    got_e, got_i = [small[e]], [i]
    big = np.flatnonzero(counts[which] > _SWEEP_MIN_SEGMENTS)
    if len(big):
        seg_big = np.flatnonzero(np.repeat(counts > _SWEEP_MIN_SEGMENTS, counts))
        m = len(seg_big)
        seg_owner = np.repeat(np.arange(len(offsets) - 1), counts)[seg_big]
        s = segs[seg_big]
        lo = np.concatenate([np.minimum(s[:, :2], s[:, 2:]), points[big]])
        hi = np.concatenate([np.maximum(s[:, :2], s[:, 2:]), points[big]])
        a, b = extent_pairs(lo, hi, np.concatenate([seg_owner, which[big]]), _ON_BOUNDARY_UM)
        pick = (a < m) & (b >= m)                                 # a < b: a segment, then a point
        idx, entry = seg_big[a[pick]], big[b[pick] - m]
        d = _point_segment_distance(points[entry], segs[idx, :2], segs[idx, 2:])
        near = d <= _ON_BOUNDARY_UM
        got_e.append(entry[near])
        got_i.append(idx[near])
        found = np.zeros(n, bool)
        found[entry[near]] = True
        rest = big[~found[big]]
        if len(rest):
            e, i = _nearest_segments(points[rest], segs, offsets, which[rest])
            got_e.append(rest[e])
            got_i.append(i)
    entry, idx = np.concatenate(got_e), np.concatenate(got_i)
    order = np.lexsort((idx, entry))
    return entry[order], idx[order]


def closest_segments(a: shapely.Geometry, b: shapely.Geometry) -> tuple[Segment, Segment]:
    """The boundary segment of `a` and of `b` that hold their closest points (a marker)."""
    return closest_segments_many(np.array([a], object), np.array([b], object))[0]


def closest_segments_many(a: np.ndarray, b: np.ndarray) -> list[tuple[Segment, Segment]]:
    """`closest_segments(a[k], b[k])` for every k, vectorised over the pairs: each geometry's
    segments listed once however many pairs it is in (`_boundary_segments`), ties settled
    by `_tied_pair`."""
    return closest_segments_measured(a, b)[1]


def _tied_pair(segs: np.ndarray, at_a: tuple[np.ndarray, np.ndarray], at_b: tuple[np.ndarray, np.ndarray],
               n: int) -> tuple[np.ndarray, np.ndarray]:
    """The marker of each of `n` pairs from the segments holding the ends of its shortest line
    (`at_a`, `at_b`: (pair, segment) sorted by pair; two at a vertex): of the segment pairs at
    the least distance, the one facing most squarely (directions most nearly opposite: walls
    facing each other, as KLayout's edge pairs; not a wall meeting the corner of another at a
    right angle), then the least by coordinates (the lesser segment of the pair, then the other;
    segments as the counter-clockwise rings give them). So where several edge pairs are equally
    near at the shortest line, the marker does not depend on where the rings start. Returns the
    two segments (x0, y0, x1, y1) per pair."""
    pa, sa = at_a
    pb, sb = at_b
    out_u, out_v = np.empty((n, 4)), np.empty((n, 4))
    one = (np.bincount(pa, minlength=n) == 1) & (np.bincount(pb, minlength=n) == 1)   # nothing to choose
    ra, rb = one[pa], one[pb]
    out_u[pa[ra]], out_v[pb[rb]] = segs[sa[ra]], segs[sb[rb]]
    pa, sa, pb, sb = pa[~ra], sa[~ra], pb[~rb], sb[~rb]
    nb = np.bincount(pb, minlength=n)
    start_b = np.cumsum(nb) - nb
    rep = nb[pa]
    ia = np.repeat(np.arange(len(pa)), rep)
    pair = pa[ia]
    ib = start_b[pair] + np.arange(len(ia)) - np.repeat(np.cumsum(rep) - rep, rep)
    u, v = segs[sa[ia]], segs[sb[ib]]
    d = segment_distance(u[:, :2], u[:, 2:], v[:, :2], v[:, 2:])
    du, dv = u[:, 2:] - u[:, :2], v[:, 2:] - v[:, :2]
    lu, lv = np.hypot(*du.T), np.hypot(*dv.T)
    cos = np.einsum("ij,ij->i", du, dv) / np.where(lu * lv > 0, lu * lv, 1.0)
    tied = _least(pair, d, _ON_BOUNDARY_UM)
    diff = u - v                                              # each pair's lesser segment first: the
    u_first = diff[np.arange(len(diff)), np.argmax(diff != 0, axis=1)] <= 0  # order of a and b is moot
    lo, hi = np.where(u_first[:, None], u, v), np.where(u_first[:, None], v, u)
    keys = (*hi.T[::-1], *lo.T[::-1], np.round(cos, 9), ~tied, pair)
    order = np.lexsort(keys)
    best = order[np.r_[True, pair[order][1:] != pair[order][:-1]]] if len(order) else order
    out_u[pair[best]], out_v[pair[best]] = u[best], v[best]
    return out_u, out_v


def closest_segments_measured(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, list[tuple[Segment, Segment]]]:
    """`closest_segments_many`, with the distance of each pair (the length of its shortest line,
    which GEOS finds once for both)."""
    if len(a) == 0:
        return np.zeros(0), []
    # Measured from the shape with the lesser extent: where equally near places lie apart, which
    # one GEOS's shortest line takes depends on which shape comes first, not on the pair's order.
    diff = shapely.bounds(a) - shapely.bounds(b)
    swap = diff[np.arange(len(a)), np.argmax(diff != 0, axis=1)] > 0
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    ends = shapely.get_coordinates(shapely.shortest_line(a, b)).reshape(-1, 2, 2)
    both = np.concatenate([a, b])
    _, first, which = np.unique(np.fromiter(map(id, both), np.int64, len(both)), return_index=True, return_inverse=True)
    which = which.ravel()
    segs, _, offsets = segment_table(both[first])
    ea, eb = _tied_pair(segs, _boundary_segments(ends[:, 0], segs, offsets, which[:len(a)]),
                        _boundary_segments(ends[:, 1], segs, offsets, which[len(a):]), len(a))
    dist = np.hypot(ends[:, 1, 0] - ends[:, 0, 0], ends[:, 1, 1] - ends[:, 0, 1])
    ea, eb = np.where(swap[:, None], eb, ea), np.where(swap[:, None], ea, eb)
    return dist, [(tuple(x), tuple(y)) for x, y in zip(ea.tolist(), eb.tolist())]  # type: ignore[misc]


def _own_walls_near(segs: np.ndarray, offsets: np.ndarray, shape_of: np.ndarray, box: np.ndarray,
                    tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Candidate (piece, wall) pairs for `facing_walls`: each piece k with the walls of its own
    shape (shape_of[k], runs of a segment table) whose extents come within `tol` of the piece's
    extent `box[k]`, sorted by piece then wall. When the pieces' shapes hold few walls each, their
    runs are compared directly; when a piece's shape is large (a whole net of a flat wafer), the
    walls' extents go into an STRtree first. Either way the same pairs."""
    counts = offsets[shape_of + 1] - offsets[shape_of]
    if int(counts.sum()) <= 4 * len(segs) + 1_000_000:
        idx, entry = _runs(offsets, shape_of)
        return entry, idx
    tree = shapely.STRtree(shapely.box(*np.minimum(segs[:, :2], segs[:, 2:]).T, *np.maximum(segs[:, :2], segs[:, 2:]).T))
    entry, idx = tree.query(shapely.box(box[:, 0] - tol, box[:, 1] - tol, box[:, 2] + tol, box[:, 3] + tol))
    own = (idx >= offsets[shape_of[entry]]) & (idx < offsets[shape_of[entry] + 1])
    order = np.lexsort((idx[own], entry[own]))
    return entry[own][order], idx[own][order]


def facing_walls(pieces: np.ndarray, shapes: np.ndarray, shape_of: np.ndarray, min_angle_deg: float = 120.0) -> np.ndarray:
    """Whether each piece touches two walls of its shape (shapes[shape_of[k]]) whose normals
    differ by more than `min_angle_deg`: a gap or a neck between opposite walls, not the
    wedge of one corner. Vectorised: each shape's walls listed once, the walls near each
    piece found with one STRtree query, then their normals compared per piece."""
    out = np.zeros(len(pieces), bool)
    if len(pieces) == 0:
        return out
    tol = 1e-5
    segs, normal, offsets = segment_table(shapes)
    # Most pieces (a narrow trace, a slot) run along two opposite axis-parallel walls: those are
    # settled from the coordinates; the rest measure their contact with each wall.
    if min_angle_deg < 180.0:
        out = _along_opposite_walls(pieces, shape_of, segs, normal, offsets, 10 * tol)
    rest = np.flatnonzero(~out)
    out[rest] = _facing_by_contact(pieces[rest], shape_of[rest], segs, normal, offsets, tol, min_angle_deg)
    return out


def _along_opposite_walls(pieces: np.ndarray, shape_of: np.ndarray, segs: np.ndarray, normal: np.ndarray,
                          offsets: np.ndarray, min_len: float) -> np.ndarray:
    """Whether each piece has edges lying on two opposite axis-parallel walls of its shape (same
    line within 1e-6 µm, sharing more than `min_len` each): such walls touch the piece over at
    least that length and their normals are 180° apart, so `facing_walls` holds. False says
    only that this quick test does not settle it."""
    n = len(pieces)
    out = np.zeros(n, bool)
    p0, p1, piece, _ = walls(pieces)
    wall_shape = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    q0, q1 = segs[:, :2], segs[:, 2:]
    flags = np.zeros((n, 4), bool)                            # per piece: walls facing -x, +x, -y, +y
    for axis in (0, 1):                                       # 0: vertical lines (x fixed), 1: horizontal
        along = 1 - axis
        e = np.flatnonzero(np.abs(p1[:, axis] - p0[:, axis]) <= LENGTH_EPS_UM)
        w = np.flatnonzero(np.abs(q1[:, axis] - q0[:, axis]) <= LENGTH_EPS_UM)
        if len(e) == 0 or len(w) == 0:
            continue
        # One key per (shape, line): rows of both tables labelled together.
        keys = np.concatenate([np.stack([shape_of[piece[e]], np.rint(p0[e, axis] * 1e6)], 1),
                               np.stack([wall_shape[w], np.rint(q0[w, axis] * 1e6)], 1)]).astype(np.int64)
        label = row_labels(keys)
        le, lw = label[:len(e)], label[len(e):]
        order = np.argsort(lw, kind="stable")
        lo = np.searchsorted(lw[order], le, "left")
        hi = np.searchsorted(lw[order], le, "right")
        count = hi - lo
        ei = np.repeat(np.arange(len(e)), count)
        wi = order[np.repeat(lo, count) + (np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count))]
        ea, eb = p0[e[ei], along], p1[e[ei], along]
        wa, wb = q0[w[wi], along], q1[w[wi], along]
        shared = np.minimum(np.maximum(ea, eb), np.maximum(wa, wb)) - np.maximum(np.minimum(ea, eb), np.minimum(wa, wb))
        hit = shared > min_len
        side = normal[w[wi[hit]], axis] > 0
        np.logical_or.at(flags, (piece[e[ei[hit]]], 2 * axis + side.astype(np.int64)), True)
    return (flags[:, 0] & flags[:, 1]) | (flags[:, 2] & flags[:, 3])


def row_labels(keys: np.ndarray) -> np.ndarray:
    """The rank of each row of an (n, 2) integer table among its distinct rows (what
    `np.unique(keys, axis=0, return_inverse=True)` numbers them), from one lexsort: several times
    faster than unique's sort of whole rows."""
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    sk = keys[order]
    new = np.r_[True, (sk[1:] != sk[:-1]).any(axis=1)]
    label = np.empty(len(keys), np.int64)
    label[order] = np.cumsum(new) - 1
    return label


def _facing_by_contact(pieces: np.ndarray, shape_of: np.ndarray, segs: np.ndarray, normal: np.ndarray,
                       offsets: np.ndarray, tol: float, min_angle_deg: float) -> np.ndarray:
    """`facing_walls` measured: the length each nearby wall of its shape shares with the piece
    grown by `tol`, walls sharing more than 10·tol kept, their normals compared."""
    n = len(pieces)
    out = np.zeros(n, bool)
    if n == 0:
        return out
    box = shapely.bounds(pieces)
    entry, idx = _own_walls_near(segs, offsets, shape_of, box, tol)
    b = box[entry]
    s = segs[idx]
    near = (
        (np.maximum(s[:, 0], s[:, 2]) >= b[:, 0] - tol) & (np.minimum(s[:, 0], s[:, 2]) <= b[:, 2] + tol)
        & (np.maximum(s[:, 1], s[:, 3]) >= b[:, 1] - tol) & (np.minimum(s[:, 1], s[:, 3]) <= b[:, 3] + tol)
    )
    idx, entry = idx[near], entry[near]
    if len(idx) == 0:
        return out
    lines = shapely.linestrings(segs[idx].reshape(-1, 2, 2))
    grown = shapely.buffer(pieces, tol, quad_segs=2)
    shapely.prepare(grown)
    contact = shapely.length(lines)                         # walls wholly along the piece: their length
    part = ~shapely.covers(grown[entry], lines)             # the others: the length they share (overlay, slower)
    contact[part] = shapely.length(shapely.intersection(lines[part], grown[entry[part]]))
    wall = contact > 10 * tol
    idx, entry = idx[wall], entry[wall]
    # Every ordered pair of one piece's walls: facing when some two normals are far apart.
    counts = np.bincount(entry, minlength=n)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=start[1:])
    many = counts >= 2
    pairs = (counts * counts)[many]
    owner = np.repeat(np.flatnonzero(many), pairs)
    local = np.arange(len(owner)) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    c = counts[owner]
    i, j = start[owner] + local // c, start[owner] + local % c
    nv = normal[idx]
    low = np.full(n, np.inf)
    np.minimum.at(low, owner, np.einsum("ij,ij->i", nv[i], nv[j]))
    return low < np.cos(np.radians(min_angle_deg))


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


def segment_distance(a0: np.ndarray, a1: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Distance between segments a0–a1 and b0–b1 (rows of (n, 2) arrays), vectorised: 0 where they cross."""

    def side(o: np.ndarray, p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (p[:, 0] - o[:, 0]) * (q[:, 1] - o[:, 1]) - (p[:, 1] - o[:, 1]) * (q[:, 0] - o[:, 0])

    def to_segment(p: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
        d = s1 - s0
        den = np.einsum("ij,ij->i", d, d)
        t = np.clip(np.einsum("ij,ij->i", p - s0, d) / np.where(den > 0, den, 1.0), 0.0, 1.0)
        return np.hypot(*(p - s0 - t[:, None] * d).T)

    d1, d2, d3, d4 = side(a0, a1, b0), side(a0, a1, b1), side(b0, b1, a0), side(b0, b1, a1)
    crossing = (d1 * d2 < 0) & (d3 * d4 < 0)
    dist = np.minimum(np.minimum(to_segment(a0, b0, b1), to_segment(a1, b0, b1)),
                      np.minimum(to_segment(b0, a0, a1), to_segment(b1, a0, a1)))
    return np.where(crossing, 0.0, dist)


def extent_pairs(lo: np.ndarray, hi: np.ndarray, group: np.ndarray, reach: float,
                 test: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of boxes (lower-left `lo`, upper-right `hi`, (n, 2)) of one `group`
    whose extents come within `reach` of each other: a sweep along x in numpy (sorted by group,
    then left edge; each box meets the boxes after it that start before its right edge plus
    `reach`), then the y extents compared. `test` (optional, symmetric: a bool per pair): only the
    pairs it keeps, tested chunk by chunk as the sweep lists them."""
    n = len(lo)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort((lo[:, 0], group))
    g, x0, x1 = group[order], lo[order, 0], hi[order, 0]
    # One sorted key: the group, then the left edge (groups spaced further apart than any reach).
    span = float(hi[:, 0].max() - lo[:, 0].min()) + 2 * reach + 1.0
    key = g.astype(np.float64) * span + (x0 - lo[:, 0].min())
    end = np.searchsorted(key, g.astype(np.float64) * span + (x1 - lo[:, 0].min()) + reach * (1 + RATIO_EPS) + LENGTH_EPS_UM, "right")
    count = np.maximum(end - np.arange(n) - 1, 0)
    # The candidates listed and tested a run of boxes at a time (about _SWEEP_CHUNK at once), so
    # memory is bounded by the chunk, not by all candidates; the same pairs in the same order.
    total = np.cumsum(count)
    cuts = np.searchsorted(total, np.arange(_SWEEP_CHUNK, int(total[-1]), _SWEEP_CHUNK), "right")
    out_a, out_b = [], []
    for r0, r1 in zip(np.r_[0, cuts], np.r_[cuts, n]):
        c = count[r0:r1]
        a = np.repeat(np.arange(r0, r1), c)
        b = a + 1 + (np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c))
        a, b = order[a], order[b]
        keep = (group[a] == group[b]) & (lo[a, 1] <= hi[b, 1] + reach) & (lo[b, 1] <= hi[a, 1] + reach) \
            & (lo[a, 0] <= hi[b, 0] + reach) & (lo[b, 0] <= hi[a, 0] + reach)
        a, b = a[keep], b[keep]
        if test is not None:
            keep = test(a, b)
            a, b = a[keep], b[keep]
        out_a.append(np.minimum(a, b))
        out_b.append(np.maximum(a, b))
    return np.concatenate(out_a), np.concatenate(out_b)


# Candidate pairs `extent_pairs` lists at once.
_SWEEP_CHUNK = 1 << 19


def walls(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every wall (boundary edge of non-zero length) of many polygons: its ends p0, p1 ((n, 2)
    each, shapes to the left of p0 → p1), the polygon it belongs to, and its outward unit normal."""
    rings, owner = shapely.get_rings(shapely.orient_polygons(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[1:] == ring[:-1]                              # consecutive points of one ring: an edge
    p0, p1, own = xy[:-1][same], xy[1:][same], owner[ring[:-1][same]]
    d = p1 - p0
    length = np.hypot(*d.T)
    keep = length > 0
    p0, p1, own, d, length = p0[keep], p1[keep], own[keep], d[keep], length[keep]
    normal = np.stack([d[:, 1], -d[:, 0]], 1) / length[:, None]   # outward: shapes lie left of their rings
    return p0, p1, own, normal


def facing_pairs(p0: np.ndarray, p1: np.ndarray, own: np.ndarray, normal: np.ndarray,
                 reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i, j) of walls (`walls`) of one shape that face each other across the outside
    (outward normals more than 90° apart, some of each wall outside the other) and come within
    `reach`, with their distance. Vectorised: candidates from one sweep of the walls' extents
    grown by `reach` (`extent_pairs`), facing and distance tested with numpy."""
    if len(p0) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)

    def ahead(a: np.ndarray, b: np.ndarray) -> np.ndarray:   # some of wall b lies outside wall a
        return np.maximum(np.einsum("ij,ij->i", p0[b] - p0[a], normal[a]),
                          np.einsum("ij,ij->i", p1[b] - p0[a], normal[a])) > EPS_UM

    def facing(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        # Each test on the pairs the cheaper ones before it kept (symmetric in i and j).
        out = np.einsum("ij,ij->i", normal[i], normal[j]) < -RATIO_EPS       # at less than 90° to each other
        k = np.flatnonzero(out)
        out[k] = ahead(i[k], j[k])
        k = k[out[k]]
        out[k] = ahead(j[k], i[k])
        k = k[out[k]]
        out[k] = segment_distance(p0[i[k]], p1[i[k]], p0[j[k]], p1[j[k]]) <= reach
        return out

    # Tested as the sweep lists them, a chunk at a time (`extent_pairs`): memory bounded by the chunk.
    i, j = extent_pairs(np.minimum(p0, p1), np.maximum(p0, p1), own, reach, facing)
    return i, j, segment_distance(p0[i], p1[i], p0[j], p1[j])


# A segment's buffer with quad_segs=4 holds every point within this share of its distance (its
# polygonal caps are inscribed in the round ones, 22.5° a side: cos 11.25° = 0.9808).
_INSCRIBED = 0.98


def _near_part(seg: np.ndarray, a0: np.ndarray, a1: np.ndarray, other: np.ndarray, b0: np.ndarray, b1: np.ndarray,
               reach: float) -> np.ndarray:
    """The part of each segment `seg` (ends a0, a1) within `reach` of `other` (ends b0, b1), as the
    segment's intersection with the other's buffer; a segment whose two ends are well inside
    that buffer lies wholly in it (the distance to a segment is convex along a line) and is its
    own part, without the overlay."""
    inside = _INSCRIBED * reach
    whole = (segment_distance(a0, a0, b0, b1) <= inside) & (segment_distance(a1, a1, b0, b1) <= inside)
    out = seg.copy()
    part = ~whole
    out[part] = shapely.intersection(seg[part], shapely.buffer(other[part], reach, quad_segs=4))
    return out


def acute_notches(geoms: np.ndarray, space: float,
                  pairs: tuple[np.ndarray, ...] | None = None) -> list[tuple[int, shapely.Geometry]]:
    """(index, marker) for each V-shaped notch of a geometry: two walls of one shape that face
    each other across the outside at less than 90° (KLayout's Euclidean space check with its
    default 90° limit) and come closer than `space`. The marker covers the parts of both walls
    within `space` of each other; wall pairs whose markers touch are one notch (a tip cut off
    by a short edge is one notch, not three). `pairs`: the shapes' `walls` and their
    `facing_pairs` (i, j, distance) within some reach of at least `space`, when already found.

    Vectorised: candidate wall pairs from one query of the walls' extents grown by `space`,
    facing and distance tested with numpy, markers unioned per shape in one call."""
    if len(geoms) == 0:
        return []
    reach = space - EPS_UM
    if pairs is None:
        p0, p1, own, normal = walls(geoms)
        i, j, dist = facing_pairs(p0, p1, own, normal, reach)
    else:
        p0, p1, own, normal, i, j, dist = pairs
        pick = dist <= reach
        i, j = i[pick], j[pick]
    if len(i) == 0:
        return []
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    segs_i = shapely.linestrings(np.stack([p0[i], p1[i]], 1))
    segs_j = shapely.linestrings(np.stack([p0[j], p1[j]], 1))
    near_i = _near_part(segs_i, p0[i], p1[i], segs_j, p0[j], p1[j], reach)
    near_j = _near_part(segs_j, p0[j], p1[j], segs_i, p0[i], p1[i], reach)
    marks = shapely.buffer(shapely.convex_hull(shapely.union(near_i, near_j)), EPS_UM, quad_segs=1)
    shape = own[i]                                            # sorted: pairs come in order of their first wall
    shapes, first, count = np.unique(shape, return_index=True, return_counts=True)
    # A shape's one mark is its own union (GEOS's union of one polygon is a copy of it).
    merged = marks[first]
    many = np.flatnonzero(count > 1)
    if len(many):
        table = np.full((len(many), int(count[many].max())), None, object)
        take = np.repeat(first[many], count[many]) + np.arange(int(count[many].sum())) \
            - np.repeat(np.cumsum(count[many]) - count[many], count[many])
        table[np.repeat(np.arange(len(many)), count[many]), take - np.repeat(first[many], count[many])] = marks[take]
        merged[many] = shapely.union_all(table, axis=1)
    parts, which = shapely.get_parts(merged, return_index=True)
    real = ~shapely.is_empty(parts)                           # an empty mark: no part, as its union has none
    return [(int(shapes[w]), part) for w, part in zip(which[real], parts[real])]

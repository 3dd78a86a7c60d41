"""Minimum space: between different shapes of a layer, and inside one shape (notches, holes)."""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM, acute_notches, closest_segments_measured, facing_pairs, walls
from .merge import Shapes
from .morph import GAP_REACH, MARGIN_UM, axis_parallel, channels, gap_candidates, narrow_gaps, rectangle_sides
from .violation import Finding

PREPARE_MIN_COORDS = 32   # shapes with more vertices than this are prepared for the pair test


def close_pairs(a: np.ndarray, b: np.ndarray, distance: float, once: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i in a, j in b) of geometries closer than `distance` (touching included);
    `once` (for `b` the same array as `a`): each pair of different geometries once, i < j."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # The tree's own "dwithin" query tests each candidate as it finds it, several times slower
    # than finding the candidates (extents grown by the distance) and testing them in one
    # vectorised call; the pairs and their order are the same.
    d = max(distance - EPS_UM, 0.0)
    box = shapely.bounds(a)
    i, j = shapely.STRtree(b).query(shapely.box(box[:, 0] - d, box[:, 1] - d, box[:, 2] + d, box[:, 3] + d))
    # A long shape (a routed net) meets many candidates: GEOS's prepared distance test is several
    # times faster on it; a rectangle is not worth preparing. Same pairs either way.
    coords = shapely.get_num_coordinates(a)
    big = coords > PREPARE_MIN_COORDS
    if big.any():
        shapely.prepare(a[big])
    ga, gb = a[i], b[j]
    if once:                                                  # a pair and its mirror: measured once,
        keep = i < j                                          # the longer shape first (the prepared one)
        i, j, ga, gb = i[keep], j[keep], ga[keep], gb[keep]
        swap = coords[j] > coords[i]
        ga[swap], gb[swap] = gb[swap], ga[swap]
    near = shapely.dwithin(ga, gb, d)
    return i[near], j[near]


def pair_findings(a: np.ndarray, b: np.ndarray, i: np.ndarray, j: np.ndarray, what: str, limit: float) -> list[Finding]:
    """A finding per pair (a[i], b[j]) with their closest edges as the marker (loop over violations)."""
    d, edges = closest_segments_measured(a[i], b[j])
    tail = f" µm < {limit:g} µm"
    return [Finding(f"{what} {dd:.4f}{tail}", None, e) for dd, e in zip(d.tolist(), edges)]


def check_space(shapes: Shapes, space: float) -> list[Finding]:
    """One finding per pair of shapes closer than `space`, plus one per notch or hole of a
    shape narrower than `space` (gaps between walls facing each other, and V-shaped notches
    whose walls meet at less than 90°)."""
    g = shapes.geoms
    i, j = close_pairs(g, g, space, once=True)
    found = pair_findings(g, g, i, j, "space", space)

    def per_shape(every: np.ndarray) -> list[tuple[int, Finding]]:
        # Rectangles along the axes have no walls facing across their outside: left out.
        keep = np.flatnonzero(~np.isfinite(rectangle_sides(every)))
        return [(int(keep[k]), f) for k, f in notches_of(every[keep])]

    def notches_of(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        # Walls facing each other across the outside, found once: they bound every gap (only
        # shapes that have a close pair are closed) and every V-shaped notch.
        p0, p1, own, normal = walls(geoms)
        i, j, dist = facing_pairs(p0, p1, own, normal, GAP_REACH * space)
        # Shapes along the axes: gaps measured from their walls (`morph.channels`); the others closed.
        man = axis_parallel(len(geoms), p0, p1, own)
        on = man[own[i]]
        gaps, unsure = channels(geoms, space - 2 * MARGIN_UM, False, p0, p1, own, normal, i[on], j[on])
        gaps += narrow_gaps(geoms, space, gap_candidates(len(geoms), own, i, dist, space) & (~man | unsure))
        gaps.sort(key=lambda g: g[0])
        areas = shapely.area(np.array([p for _, p in gaps], object)).tolist()
        out = [(k, Finding(f"notch narrower than {space:g} µm over {a:.4g} µm²", region=piece))
               for (k, piece), a in zip(gaps, areas)]
        # V-shaped notches, which closing by square-cornered offsets cannot see; one already
        # found as a gap (meeting any gap piece) is not counted twice.
        notches = acute_notches(geoms, space, (p0, p1, own, normal, i, j, dist))
        if not notches:
            return out
        marks = np.array([m for _, m in notches], object)
        seen = np.zeros(len(marks), bool)
        if gaps:
            hit, _ = shapely.STRtree(np.array([p for _, p in gaps], object)).query(marks, predicate="intersects")
            seen[hit] = True
        for (k, mark), dup in zip(notches, seen):
            if not dup:
                out.append((k, Finding(f"acute notch: walls closer than {space:g} µm at less than 90°", region=mark)))
        return out

    return found + shapes.per_class(per_shape)

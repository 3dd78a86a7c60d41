"""Where a finding is counted (its marker's reference point) and which findings of two checks are the same."""

from __future__ import annotations

import numpy as np
import shapely

from ..geometry import EPS_UM
from ..violation import Finding
from ...units import PARALLEL_EPS


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
    if L2 > 0 and abs(u[0] * v[1] - u[1] * v[0]) <= PARALLEL_EPS * np.sqrt(L2 * float(v @ v) + 1e-30):
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

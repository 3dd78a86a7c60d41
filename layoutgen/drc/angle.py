"""Edge angles: edges at multiples of the rule's angle, and no acute corners.

An edge counts when it is at least `tolerance_um` long (shorter ones are merge debris and
are dropped before corners are measured); it is on angle when its far end is within
`tolerance_um` of the nearest allowed direction. Edges of curves drawn as polygons (three or more
edges in a row, each turning by less than half the rule's angle, e.g. a 64-gon pad, even
where a trace joins it) are exempt. A corner is acute when the inside angle is below 90° (a spike) or above 270°
(a slit into the shape) by enough that its shorter edge leans more than `tolerance_um`
past square (a rotated rectangle snapped to the grid keeps its 89.99° corners).
"""

from __future__ import annotations

import numpy as np
import shapely

from .merge import Shapes
from .violation import Finding


def _ring_vertices(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices of every ring (closing point dropped), ring id and owner of each ring (a multipolygon's parts are its own)."""
    parts, part_owner = shapely.get_parts(geoms, return_index=True)
    rings, ring_part = shapely.get_rings(shapely.orient_polygons(parts), return_index=True)
    owner = part_owner[ring_part]
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    last = np.r_[ring[1:] != ring[:-1], True] if len(ring) else np.zeros(0, bool)
    return xy[~last], ring[~last], owner


def _next_in_ring(ring: np.ndarray) -> np.ndarray:
    """Index of the next vertex of the same ring (cyclic)."""
    n = len(ring)
    start = np.r_[0, np.flatnonzero(ring[1:] != ring[:-1]) + 1]
    first_of = np.repeat(start, np.diff(np.r_[start, n]))
    nxt = np.arange(1, n + 1)
    is_last = np.r_[ring[1:] != ring[:-1], True]
    nxt[is_last] = first_of[is_last]
    return nxt


def _drop_short(xy: np.ndarray, ring: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Vertices ending a short edge, or between collinear edges, removed (rings keep three)."""
    for _ in range(4):
        nxt = _next_in_ring(ring)
        d = xy[nxt] - xy
        length = np.hypot(d[:, 0], d[:, 1])
        prv = np.empty_like(nxt)
        prv[nxt] = np.arange(len(nxt))
        cross = d[prv, 0] * d[:, 1] - d[prv, 1] * d[:, 0]
        dot = np.einsum("ij,ij->i", d[prv], d)
        drop = (np.abs(cross) <= 1e-12 * (length[prv] * length + 1e-30)) & (dot > 0)
        drop[nxt[length < tol]] = True
        left = np.bincount(ring, ~drop, minlength=ring.max() + 1)
        drop &= left[ring] >= 3
        if not drop.any():
            break
        xy, ring = xy[~drop], ring[~drop]
    return xy, ring


def angle_findings(geoms: np.ndarray, step_deg: float, tol: float) -> list[tuple[int, Finding]]:
    """(shape index, finding) per off-angle edge and per acute corner."""
    if len(geoms) == 0:
        return []
    xy, ring, owner = _ring_vertices(geoms)
    if len(xy) == 0:              # empty shapes only: no edge to measure
        return []
    xy, ring = _drop_short(xy, ring, tol)
    nxt = _next_in_ring(ring)
    prv = np.empty_like(nxt)
    prv[nxt] = np.arange(len(nxt))
    d = xy[nxt] - xy
    length = np.hypot(d[:, 0], d[:, 1])
    heading = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    turn_in = (heading - heading[prv] + 180.0) % 360.0 - 180.0       # turn at the edge's start
    off = np.radians(heading - np.round(heading / step_deg) * step_deg)
    bent = length * np.abs(np.sin(off)) > tol
    gentle = np.abs(turn_in) < step_deg / 2           # gentle turn at each edge's start
    # an edge of a curve: one of three edges in a row joined by gentle turns
    curve = (gentle & gentle[prv]) | (gentle & gentle[nxt]) | (gentle[nxt] & gentle[nxt[nxt]])
    out: list[tuple[int, Finding]] = []
    for k in np.flatnonzero(bent & ~curve & (length >= tol)):
        e = (float(xy[k, 0]), float(xy[k, 1]), float(xy[nxt[k], 0]), float(xy[nxt[k], 1]))
        out.append((int(owner[ring[k]]), Finding(f"edge at {heading[k] % 180:.3f}°, not a multiple of {step_deg:g}°", edges=(e,))))
    short_side = np.minimum(length, length[prv])
    lean = short_side * np.sin(np.radians(np.abs(turn_in) - 90.0))
    for k in np.flatnonzero((np.abs(turn_in) > 90.0) & (lean > tol)):
        inside = 180.0 - turn_in[k]
        p = prv[k]
        e1 = (float(xy[p, 0]), float(xy[p, 1]), float(xy[k, 0]), float(xy[k, 1]))
        e2 = (float(xy[k, 0]), float(xy[k, 1]), float(xy[nxt[k], 0]), float(xy[nxt[k], 1]))
        out.append((int(owner[ring[k]]), Finding(f"acute corner, inside angle {inside:.2f}°", edges=(e1, e2))))
    return out


def check_angle(shapes: Shapes, step_deg: float, tol: float) -> list[Finding]:
    """One finding per off-angle edge and per acute corner of the merged shapes."""
    return shapes.per_class(lambda g: angle_findings(g, step_deg, tol))

"""Rules on shape centres: centre-to-centre pitch, and centre to the outer edge of a ring."""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM
from .merge import Shapes
from .space import close_pairs
from .violation import Finding


def centres(shapes: Shapes) -> np.ndarray:
    """The centroid of each shape, as shapely points, rounded to 1e-6 µm: a translated copy of a
    shape and the shape itself then give one centre (float noise would pick between two equally
    near edges differently)."""
    return shapely.points(np.round(shapely.get_coordinates(shapely.centroid(shapes.geoms)), 6))


def check_pitch(shapes: Shapes, value: float) -> list[Finding]:
    """One finding per pair of shapes whose centres are closer than `value`."""
    pts = centres(shapes)
    i, j = close_pairs(pts, pts, value)
    keep = i < j
    i, j = i[keep], j[keep]
    a, b = shapely.get_coordinates(pts[i]), shapely.get_coordinates(pts[j])
    d = np.hypot(*(a - b).T)
    return [
        Finding(f"pitch {dd:.4f} µm < {value:g} µm", edges=((p[0], p[1], q[0], q[1]),))
        for p, q, dd in zip(a.tolist(), b.tolist(), d)
    ]


def check_edge_distance(layer: Shapes, other: Shapes, value: float) -> list[Finding]:
    """One finding per `layer` shape whose centre is closer than `value` to the outer edge
    of the `other` shape around it (e.g. UBM centre to seal ring outer boundary), or lies
    outside every `other` shape's outer boundary. No `other` shapes: nothing to check."""
    if len(other) == 0 or len(layer) == 0:
        return []
    pts = centres(layer)
    outer_rings = shapely.get_exterior_ring(other.geoms)
    filled = shapely.polygons(outer_rings)
    inside_p, inside_o = shapely.STRtree(filled).query(pts, predicate="within")
    dist = np.full(len(pts), np.inf)
    np.minimum.at(dist, inside_p, shapely.distance(pts[inside_p], outer_rings[inside_o]))
    out = []
    xy = shapely.get_coordinates(pts)
    for k in np.flatnonzero(dist < value - EPS_UM):  # violations only
        rings = outer_rings[inside_o[inside_p == k]]
        ring = rings[int(np.argmin(shapely.distance(pts[k], rings)))]
        (x0, y0), (x1, y1) = shapely.get_coordinates(shapely.shortest_line(pts[k], ring))
        out.append(Finding(
            f"centre {dist[k]:.4f} µm from the outer edge < {value:g} µm",
            region=layer.geoms[k], edges=((float(x0), float(y0), float(x1), float(y1)),),
        ))
    for k in np.flatnonzero(~np.isfinite(dist)):
        out.append(Finding(f"centre ({xy[k][0]:.3f}, {xy[k][1]:.3f}) outside the outer edge", region=layer.geoms[k]))
    return out

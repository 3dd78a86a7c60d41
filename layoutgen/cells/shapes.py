"""Basic outlines on the manufacturing grid: rectangles and regular polygons (circles)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
import shapely
from shapely.geometry import Polygon

from ..units import STEP_EPS

if TYPE_CHECKING:
    from ..pdk import Pdk


def on_grid(coords: np.ndarray, grid: float, outward: bool = False) -> np.ndarray:
    """Vertex coordinates snapped to `grid` (away from the origin when `outward`)."""
    q = np.asarray(coords, dtype=float) / grid
    q = np.sign(q) * np.ceil(np.abs(q) - STEP_EPS) if outward else np.round(q)
    return q * grid


def rect(width: float, height: float, grid: float, x: float = 0.0, y: float = 0.0) -> Polygon:
    """An axis-aligned rectangle centred at (x, y)."""
    hx, hy = width / 2, height / 2
    c = on_grid(np.array([[-hx, -hy], [hx, -hy], [hx, hy], [-hx, hy]]), grid, outward=True)
    return Polygon(c + [x, y])


def regular_polygon(diameter: float, vertices: int, grid: float,
                    fit: Literal["inscribed", "circumscribed"]) -> Polygon:
    """A regular polygon standing for a circle of `diameter`, flat edges at 0°/90°/45°.

    `fit="inscribed"`: the polygon contains the circle (use it where the diameter is a
    minimum: width, enclosure of something inside). `fit="circumscribed"`: the polygon lies
    inside the circle (use it where the diameter is a maximum or where it must stay enclosed).
    Snapping to the grid keeps the promise: outward for inscribed, inward for circumscribed.
    """
    r = diameter / 2
    half = math.pi / vertices
    ang = half + 2 * math.pi * np.arange(vertices) / vertices
    if fit == "inscribed":
        big = r / math.cos(half) + grid * 1.5
        pts = on_grid(np.c_[np.cos(ang), np.sin(ang)] * big, grid, outward=True)
    else:
        pts = np.c_[np.cos(ang), np.sin(ang)] * (r - grid * 1.5)
        pts = np.trunc(pts / grid) * grid
    return Polygon(pts)


def pad_outline(width: float, height: float, shape: str, pdk: Pdk) -> Polygon:
    """A chip pad as the die vendor gives it: a `width` × `height` rectangle, else an octagon or a
    round pad (`circle_vertices`-gon) around the smaller side."""
    if shape == "rect":
        return rect(width, height, pdk.grid_um)
    return circle(min(width, height), pdk.circle_vertices, pdk.grid_um, "circumscribed",
                  "round" if shape == "round" else "octagon")


def circle(diameter: float, vertices: int, grid: float, fit: Literal["inscribed", "circumscribed"],
           shape: Literal["round", "octagon"] = "round") -> Polygon:
    """A round feature: `vertices`-gon for 'round', 8-gon for 'octagon'."""
    return regular_polygon(diameter, vertices if shape == "round" else 8, grid, fit)


def grow(poly: Polygon, d: float, grid: float) -> Polygon:
    """`poly` offset by `d` (negative shrinks) with mitred corners, snapped so the offset is at least |d|.

    Offsetting a regular polygon this way gives a similar polygon, so enclosures between a
    feature and the one derived from it hold exactly, measured edge to edge.
    """
    exact = poly.buffer(d, join_style="mitre", mitre_limit=10.0)
    coords = shapely.get_coordinates(exact)
    if np.allclose(coords / grid, np.round(coords / grid), atol=1e-6):
        return Polygon(np.round(coords / grid) * grid)
    margin = grid * 1.5 if d > 0 else -grid * 1.5
    padded = poly.buffer(d + margin, join_style="mitre", mitre_limit=10.0)
    q = shapely.get_coordinates(padded) / grid
    snapped = np.sign(q) * (np.ceil(np.abs(q) - STEP_EPS) if d > 0 else np.floor(np.abs(q) + STEP_EPS))
    return Polygon(snapped[:-1] * grid)


def outer_diameter(poly: Polygon) -> float:
    """Twice the largest distance from the centroid to a vertex."""
    c = shapely.get_coordinates(poly) - np.array(poly.centroid.coords[0])
    return 2 * float(np.hypot(c[:, 0], c[:, 1]).max())


def width_across_flats(poly: Polygon) -> float:
    """Twice the distance from the centroid to the nearest edge (inscribed diameter)."""
    return 2 * shapely.distance(poly.centroid, poly.exterior)

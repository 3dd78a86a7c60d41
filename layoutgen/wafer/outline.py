"""The wafer outline (notch or flat at the bottom) and the region whole dies must lie in. All lengths in µm.

The usable region is the wafer disc shrunk by the edge exclusion, above the flat moved up by
the exclusion, less a box around the notch grown by the exclusion (a little more than the
exact offset of the notch's V, and simple to test a die against).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..errors import ConfigError

# SEMI M1 primary flat lengths (mm diameter -> µm); 300 mm wafers have a notch only.
FLAT_LENGTH_UM = {100: 32500.0, 150: 57500.0, 200: 57500.0}
# SEMI M1 notch: 1 mm deep, 90° opening, so 1 mm either side of the axis at the edge.
NOTCH_DEPTH_UM = 1000.0
NOTCH_HALF_WIDTH_UM = 1000.0
# Largest gap between a drawn circle and the true circle.
SAGITTA_UM = 0.5


def circle_vertices(radius: float, sagitta: float = SAGITTA_UM) -> int:
    """Vertex count (a multiple of 8) of a polygon within `sagitta` of a circle of `radius`."""
    n = math.pi / math.acos(1.0 - min(sagitta / radius, 1.0))
    return max(8, int(math.ceil(n / 8.0) * 8))


def disc(radius: float, grid: float) -> Polygon:
    """A circle of `radius` about the origin as a polygon, vertices on the circle and on `grid`."""
    n = circle_vertices(radius)
    ang = 2.0 * math.pi * np.arange(n) / n
    pts = np.round(np.c_[np.cos(ang), np.sin(ang)] * radius / grid) * grid
    return Polygon(pts)


@dataclass(frozen=True)
class WaferShape:
    """A wafer: radius, notch or flat at the bottom, edge exclusion (µm)."""

    radius: float
    orientation: str
    edge_exclusion: float

    @staticmethod
    def of(diameter_mm: int, orientation: str, edge_exclusion: float, where: str = "<unknown>") -> "WaferShape":
        """The shape of a `diameter_mm` wafer; a ConfigError for a flat SEMI does not define."""
        if orientation == "flat" and diameter_mm not in FLAT_LENGTH_UM:
            raise ConfigError(f"{where}: Wafer.orientation = 'flat': SEMI M1 {diameter_mm} mm wafers have a notch, not a flat")
        radius = diameter_mm * 500.0
        if edge_exclusion >= radius:
            raise ConfigError(f"{where}: Wafer.edge_exclusion = {edge_exclusion:g} µm leaves nothing of a {diameter_mm} mm wafer")
        return WaferShape(radius, orientation, edge_exclusion)

    @property
    def usable_radius(self) -> float:
        """Radius of the disc whole dies must lie in."""
        return self.radius - self.edge_exclusion

    @property
    def flat_y(self) -> float | None:
        """The y of the flat (below the centre), or None for a notch."""
        if self.orientation != "flat":
            return None
        half = FLAT_LENGTH_UM[int(round(self.radius / 500.0))] / 2.0
        return -math.sqrt(self.radius ** 2 - half ** 2)

    @property
    def notch_keepout(self) -> tuple[float, float] | None:
        """(half width, top y) of the box around the notch no die may enter, or None for a flat."""
        if self.orientation != "notch":
            return None
        e = self.edge_exclusion
        return NOTCH_HALF_WIDTH_UM + e, -self.radius + NOTCH_DEPTH_UM + e

    def x_intervals(self, y0: np.ndarray, y1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Allowed x ranges (lo, hi), each (n, 2), of boxes spanning [y0, y1]; NaN where none."""
        y0, y1 = np.asarray(y0, float), np.asarray(y1, float)
        re = self.usable_radius
        ym = np.maximum(np.abs(y0), np.abs(y1))
        a = np.sqrt(np.clip(re * re - ym * ym, 0.0, None))
        ok = ym <= re
        if self.flat_y is not None:
            ok &= y0 >= self.flat_y + self.edge_exclusion
        lo = np.stack([-a, np.full_like(a, np.nan)], axis=1)
        hi = np.stack([a, np.full_like(a, np.nan)], axis=1)
        if self.notch_keepout is not None:
            nh, ntop = self.notch_keepout
            cut = y0 < ntop
            lo[cut, 1], hi[cut, 1] = nh, a[cut]
            hi[cut, 0] = -nh
        bad = ~ok[:, None] | (lo > hi)
        lo[bad], hi[bad] = np.nan, np.nan
        return lo, hi

    def y_intervals(self, x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Allowed y ranges (lo, hi), each (n, 1), of boxes spanning [x0, x1]; NaN where none."""
        x0, x1 = np.asarray(x0, float), np.asarray(x1, float)
        re = self.usable_radius
        xm = np.maximum(np.abs(x0), np.abs(x1))
        b = np.sqrt(np.clip(re * re - xm * xm, 0.0, None))
        lo, hi = -b, b.copy()
        if self.flat_y is not None:
            lo = np.maximum(lo, self.flat_y + self.edge_exclusion)
        if self.notch_keepout is not None:
            nh, ntop = self.notch_keepout
            over = (x1 > -nh) & (x0 < nh)
            lo = np.where(over, np.maximum(lo, ntop), lo)
        bad = (xm > re) | (lo > hi)
        lo, hi = np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)
        return lo[:, None], hi[:, None]

    def outline(self, grid: float) -> Polygon:
        """The wafer outline: the disc less the notch, or cut by the flat."""
        r = self.radius
        shape = disc(r, grid)
        if self.flat_y is not None:
            shape = shape.intersection(box(-r - 1, self.flat_y, r + 1, r + 1))
        else:
            d, m = NOTCH_DEPTH_UM, 10.0
            notch = Polygon([(-(NOTCH_HALF_WIDTH_UM + m), -r - m), (0.0, -r + d), (NOTCH_HALF_WIDTH_UM + m, -r - m)])
            shape = shape.difference(notch)
        return _on_grid(shape, grid)

    def usable(self, grid: float) -> Polygon:
        """The region whole dies must lie in (the same test the die map makes, drawn)."""
        r = self.radius
        shape = disc(self.usable_radius, grid)
        if self.flat_y is not None:
            shape = shape.intersection(box(-r, self.flat_y + self.edge_exclusion, r, r))
        if self.notch_keepout is not None:
            nh, ntop = self.notch_keepout
            shape = shape.difference(box(-nh, -r - 1, nh, ntop))
        return _on_grid(shape, grid)


def _on_grid(geom: shapely.Geometry, grid: float) -> Polygon:
    """`geom` with its vertices on `grid`, as one polygon (the largest part)."""
    g = shapely.set_precision(geom, grid)
    parts = shapely.get_parts(g)
    return max(parts, key=lambda p: p.area)


def inset(outline: Polygon, distance: float, grid: float) -> Polygon:
    """`outline` shrunk by `distance` (mitred corners), vertices on `grid`."""
    return _on_grid(outline.buffer(-distance, join_style="mitre"), grid)

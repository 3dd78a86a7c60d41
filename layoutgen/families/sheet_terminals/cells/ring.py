"""Isolation ring: the second (plane) etch's opening around a terminal, cutting it free of the potential plane."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.cells.shapes import grow


def isolation_ring(spot: Polygon, clearance_um: float, width_um: float, grid: float) -> Polygon:
    """A ring around `spot`: inner edge at least `clearance_um` out, at least `width_um` wide."""
    inner = grow(spot, clearance_um, grid)
    outer = grow(inner, width_um, grid)
    return outer.difference(inner)

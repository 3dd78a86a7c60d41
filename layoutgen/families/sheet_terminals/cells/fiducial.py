"""Fiducial: a cross on the sheet that the robot vision registers the chip (or wafer) and every mask to."""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon

from layoutgen.cells.shapes import rect


def fiducial_cross(size_um: float, line_um: float, grid: float) -> Polygon:
    """A plus sign `size_um` across with arms `line_um` wide, centred at the origin (mirror symmetric)."""
    return shapely.union(rect(size_um, line_um, grid), rect(line_um, size_um, grid)).normalize()

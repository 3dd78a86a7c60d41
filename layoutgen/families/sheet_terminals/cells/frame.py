"""The frame outline: a closed line around the sheet's terminal field, drawn on every mask of the sheet."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.cells.shapes import rect


def frame_outline(width_um: float, height_um: float, inset_um: float, line_um: float, grid: float) -> Polygon:
    """A rectangular ring `line_um` wide whose outer edge is `inset_um` inside a width × height outline."""
    outer = rect(width_um - 2 * inset_um, height_um - 2 * inset_um, grid)
    inner = rect(width_um - 2 * inset_um - 2 * line_um, height_um - 2 * inset_um - 2 * line_um, grid)
    return outer.difference(inner)


def frame_field(width_um: float, height_um: float, inset_um: float, line_um: float, grid: float) -> Polygon:
    """The terminal field inside the frame outline's inner edge."""
    return rect(width_um - 2 * inset_um - 2 * line_um, height_um - 2 * inset_um - 2 * line_um, grid)

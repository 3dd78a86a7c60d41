"""Carrier cavity: the opening punched through the carrier's first metal layer that holds one die."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.layout import name_number
from layoutgen.cells.shapes import rect


def cavity(die_width: float, die_height: float, clearance: float, grid: float) -> Polygon:
    """The cavity outline: the die outline grown by `clearance` on every side, centred at the origin."""
    return rect(die_width + 2 * clearance, die_height + 2 * clearance, grid)


def cavity_cell(die_width: float, die_height: float, pdk: Pdk) -> Cell:
    """A cavity cell for a chip of this size, at the PDK's cavity-encloses-chip clearance."""
    c = pdk.value("enclosure", "CAVITY", "CHIP")
    cell = Cell(f"FO_CAVITY_{name_number(die_width)}x{name_number(die_height)}_C{name_number(c)}")
    return cell.add("CAVITY", cavity(die_width, die_height, c, pdk.grid_um))

"""Parallel-plate (MIM) capacitor between two wiring levels, and its value from the dielectric between them."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.layout import Cell
from layoutgen.layout import name_number
from layoutgen.cells.shapes import grow, rect

EPS0_F_PER_M = 8.8541878128e-12


def plate_capacitance_pf(area_um2: float, eps_r: float, thickness_um: float) -> float:
    """C = ε0 εr A / t in pF (area in µm², thickness in µm)."""
    return EPS0_F_PER_M * eps_r * area_um2 * 1e-12 / (thickness_um * 1e-6) * 1e12


def mim_plates(width: float, height: float, overhang: float, grid: float) -> tuple[Polygon, Polygon]:
    """(top plate, bottom plate): the top plate `width` × `height`, the bottom one larger by `overhang` per side."""
    top = rect(width, height, grid)
    return top, grow(top, overhang, grid)


def capacitor_cell(width: float, height: float, overhang: float, top_layer: str, low_layer: str, grid: float) -> Cell:
    """The MIM capacitor cell: top plate on `top_layer`, bottom plate on `low_layer`, centred at the origin."""
    top, bottom = mim_plates(width, height, overhang, grid)
    cell = Cell(f"FO_MIM_{low_layer}_{top_layer}_{name_number(width)}x{name_number(height)}_OV{name_number(overhang)}")
    return cell.add(top_layer, top).add(low_layer, bottom)

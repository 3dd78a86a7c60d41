"""Passivation opening over a bonding pad, and the ball stack built on it (pad, opening, bump)."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.errors import PdkError
from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.cells.bump import bump_opening
from layoutgen.cells.shapes import grow, width_across_flats
from layoutgen.units import LENGTH_EPS_UM


def passiv_opening(pdk: Pdk) -> Polygon:
    """The passivation opening: the bump opening shrunk by BUMP-encloses-PASSIV, at least PASSIV's width."""
    opening = grow(bump_opening(pdk, "round"), -pdk.value("enclosure", "BUMP", "PASSIV"), pdk.grid_um)
    w_min = pdk.value("width", "PASSIV")
    if width_across_flats(opening) < w_min - LENGTH_EPS_UM:
        raise PdkError(f"PDK {pdk.name}: the passivation opening inside the bump ({width_across_flats(opening):g} µm) "
                       f"is below PASSIV's minimum width {w_min:g} µm")
    return opening


def bond_pad(pdk: Pdk, wire: str) -> Polygon:
    """The bonding pad on the top wiring level: the passivation opening grown by wire-encloses-PASSIV."""
    return grow(passiv_opening(pdk), pdk.value("enclosure", wire, "PASSIV"), pdk.grid_um)


def ball_stack_cell(pdk: Pdk, wire: str) -> Cell:
    """A ball site: bonding pad on the top wiring level `wire`, passivation opening, bump opening."""
    cell = Cell(f"FO_BALL_{wire}_{pdk.name.upper()}")
    return (cell.add(wire, bond_pad(pdk, wire)).add("PASSIV", passiv_opening(pdk))
            .add("BUMP", bump_opening(pdk, "round")))

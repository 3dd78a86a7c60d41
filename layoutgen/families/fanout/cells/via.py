"""Fan-out vias: a round thru-hole through dielectric level n with its landing pad on each level it joins."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.cells.shapes import circle, rect


def via_cut(pdk: Pdk, via: str) -> Polygon:
    """The round thru-hole of via layer `via` (VIA1, VIA2, ...): its SIZE rule's diameter, centred at the origin."""
    return circle(pdk.value("size", via), pdk.circle_vertices, pdk.grid_um, "inscribed")


def via_landing(pdk: Pdk, via: str, wire: str) -> Polygon:
    """The square landing pad of `via` on wiring level `wire`: around the round cut by the wire-encloses-via rule.

    Square, so that traces meeting it make only right angles (no wedge-shaped notches).
    """
    x0, _, x1, _ = via_cut(pdk, via).bounds
    side = 2 * pdk.snap_up((x1 - x0) / 2 + pdk.value("enclosure", wire, via))
    return rect(side, side, pdk.grid_um)


def landing_side(pdk: Pdk, via: str, wire: str) -> float:
    """Side of the square around the landing pad of `via` on `wire`, µm."""
    x0, _, x1, _ = via_landing(pdk, via, wire).bounds
    return x1 - x0


def pad_via_cell(pdk: Pdk) -> Cell:
    """The via over a die pad: VIA1 through the first dielectric and its WIRE1 landing pad."""
    cell = Cell(f"FO_PADVIA_{pdk.name.upper()}")
    return cell.add("VIA1", via_cut(pdk, "VIA1")).add("WIRE1", via_landing(pdk, "VIA1", "WIRE1"))


def level_via_cell(pdk: Pdk, level: int) -> Cell:
    """The via joining WIRE(level-1) to WIRE(level): the VIA<level> cut and both landing pads."""
    via, low, high = f"VIA{level}", f"WIRE{level - 1}", f"WIRE{level}"
    cell = Cell(f"FO_{via}_{pdk.name.upper()}")
    return cell.add(via, via_cut(pdk, via)).add(low, via_landing(pdk, via, low)).add(high, via_landing(pdk, via, high))

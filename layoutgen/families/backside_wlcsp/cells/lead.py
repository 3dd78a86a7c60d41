"""Pad leads: backside wiring from a pad exposed in the first groove, straight up the groove wall to the back surface.

Drawn in the row frame of `backside_groove`: the pad centred at the origin, the lead running
towards +v (into the die) across the groove edge, ending in a square where the routed
wiring on the back surface joins it.
"""

from __future__ import annotations

from typing import Literal

import shapely
from shapely.geometry import Polygon, box

from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.cells.shapes import pad_outline
from layoutgen.layout import name_number


def lead_end(length: float, width: float) -> Polygon:
    """The lead's end square (side `width`, centre at v = `length`): where the routed wiring joins."""
    return box(-width / 2, length - width / 2, width / 2, length + width / 2)


def lead(pad: Polygon, length: float, width: float, grid: float) -> Polygon:
    """The backside wiring over the pad and its lead: the pad and a straight strip from its centre to the end square.

    Where the strip leaves a round pad through slanted edges, the crossing points are
    snapped to the grid (they move by less than half a grid step).
    """
    joined = pad.union(box(-width / 2, 0.0, width / 2, length + width / 2))
    return shapely.set_precision(joined, grid).normalize()


def lead_cell(along: float, across: float, shape: Literal["rect", "octagon", "round"], length: float,
              width: float, pdk: Pdk) -> Cell:
    """A pad stack of the backside flow: the pad (reference) and its BSWIRE landing and wall lead."""
    pad = pad_outline(along, across, shape, pdk)
    name = f"BS_PADLEAD_{shape.upper()}_{name_number(along)}x{name_number(across)}_L{name_number(length)}_W{name_number(width)}"
    return Cell(name).add("PAD", pad).add("BSWIRE", lead(pad, length, width, pdk.grid_um))

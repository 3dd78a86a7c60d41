"""Pad leads: backside wiring from a pad's stretch of the second groove, straight up the first groove's wall to the back surface.

Drawn in the row frame of the family's build: the pad centred at the origin, the lead running
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


def lead(pad: Polygon, length: float, width: float, landing_half: float, grid: float) -> Polygon:
    """The backside wiring of one pad: a landing over the pad's stretch of the cut (the pad's length
    along the row, ±`landing_half` across it), and a straight strip from it up the wall to the end square.

    The landing lines the cut's walls where the cut runs through this pad only: that is where
    the wiring contacts the pad (at its cut sidewall); elsewhere the insulator lies between them.
    """
    x0, _, x1, _ = pad.bounds
    joined = box(x0, -landing_half, x1, landing_half).union(box(-width / 2, 0.0, width / 2, length + width / 2))
    return shapely.set_precision(joined, grid).normalize()


def landing_half(pdk: Pdk) -> float:
    """Half the landing's width across the row: half the cut plus the lead's reach past its sides (BSWIRE.CUT), ≥ half BSWIRE's width."""
    e = next((r.value for r in pdk.rules if r.kind == "cut_contact" and r.value is not None), 0.0)
    half = pdk.snap_up(pdk.value("width", "GROOVE2") / 2) + e
    return pdk.snap_up(max(half, pdk.value("width", "BSWIRE") / 2))


def lead_cell(along: float, across: float, shape: Literal["rect", "octagon", "round"], length: float,
              width: float, pdk: Pdk) -> Cell:
    """A pad stack of the backside flow: the pad (reference) and its BSWIRE landing on the cut and wall lead."""
    pad = pad_outline(along, across, shape, pdk)
    name = f"BS_PADLEAD_{shape.upper()}_{name_number(along)}x{name_number(across)}_L{name_number(length)}_W{name_number(width)}"
    return Cell(name).add("PAD", pad).add("BSWIRE", lead(pad, length, width, landing_half(pdk), pdk.grid_um))

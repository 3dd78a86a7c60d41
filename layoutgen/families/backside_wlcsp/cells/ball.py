"""Ball stack on the back surface: the BSWIRE ball pad, the solder-mask opening inside it, the ball-mount aperture."""

from __future__ import annotations

from typing import Literal

from shapely.geometry import Polygon

from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.cells.bump import bump_opening
from layoutgen.cells.shapes import circle, grow


def smask_opening(pdk: Pdk, shape: Literal["round", "octagon"]) -> Polygon:
    """The solder-mask opening over a ball pad: SMASK's minimum width across flats (the polygon contains that circle)."""
    return circle(pdk.value("width", "SMASK"), pdk.circle_vertices, pdk.grid_um, "inscribed", shape)


def ball_pad(pdk: Pdk, shape: Literal["round", "octagon"]) -> Polygon:
    """The BSWIRE ball pad: the solder-mask opening grown by BSWIRE-encloses-SMASK (solder-mask-defined pad)."""
    return grow(smask_opening(pdk, shape), pdk.value("enclosure", "BSWIRE", "SMASK"), pdk.grid_um)


def ball_stack_cell(shape: Literal["round", "octagon"], pdk: Pdk) -> Cell:
    """A ball stack: BSWIRE ball pad, SMASK opening and the ball-mount aperture (BUMP size rule)."""
    cell = Cell(f"BS_BALLSTACK_{shape.upper()}_{pdk.name.upper()}")
    return (cell.add("BSWIRE", ball_pad(pdk, shape)).add("SMASK", smask_opening(pdk, shape))
            .add("BUMP", bump_opening(pdk, shape)))

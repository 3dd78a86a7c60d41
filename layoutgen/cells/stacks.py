"""The repeated stacks of a fan-in die: pad stack (PV1 + landing) and ball stack (capture pad to bump).

Each is one cell placed many times; its name derives from its parameters.
"""

from __future__ import annotations

from ..layout import Cell, name_number
from ..pdk import Pdk
from .bump import bump_opening
from .pv1 import pv1_opening
from .pv2 import pv2_opening
from .rdl import capture_pad, landing_pad
from .shapes import pad_outline
from .ubm import ubm


def pad_cell(width: float, height: float, shape: str, pdk: Pdk, pad_name: str = "") -> Cell:
    """A pad stack: the die pad (reference), the PV1 opening and the RDL landing pad."""
    cell = Cell(f"PADSTACK_{shape.upper()}_{name_number(width)}x{name_number(height)}")
    pad = pad_outline(width, height, shape, pdk)
    opening = pv1_opening(pad, pdk, pad_name)
    return cell.add("PAD", pad).add("PV1", opening).add("RDL", landing_pad(opening, pdk))


def ball_cell(shape: str, pdk: Pdk) -> Cell:
    """A ball stack: RDL capture pad, PV2 opening, UBM and bump opening."""
    cell = Cell(f"BALLSTACK_{shape.upper()}_{pdk.name.upper()}")
    return (cell.add("RDL", capture_pad(pdk, shape)).add("PV2", pv2_opening(pdk, shape))
            .add("UBM", ubm(pdk, shape)).add("BUMP", bump_opening(pdk, shape)))

"""Rule kinds that belong to one process family: the fields each needs and the check that runs it.

The core kinds (width, space, enclosure, ...) are in `layoutgen.pdk`; a family whose process
needs a check they cannot express (a stencil's area ratio, a groove over a pad row) names it
here, and its PDK's deck uses the kind like any other. The check is a function
`(rule, cell) -> list[Finding]` in the family's rules module, imported when first used.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class FamilyKind:
    """A family's rule kind: rule fields it needs, and 'module:function' of its DRC check."""

    needs: tuple[str, ...]
    check: str


_RELIEF = "layoutgen.families.relief_csp.rules"
_BACKSIDE = "layoutgen.families.backside_wlcsp.rules"
_SHEET = "layoutgen.families.sheet_terminals.rules"

FAMILY_KINDS: dict[str, FamilyKind] = {
    # family 2: print stencils (IPC-7525)
    "area_ratio": FamilyKind(("layer", "value"), f"{_RELIEF}:drc_area_ratio"),
    "aspect_ratio": FamilyKind(("layer", "value"), f"{_RELIEF}:drc_aspect_ratio"),
    "island": FamilyKind(("layer",), f"{_RELIEF}:drc_island"),
    # family 3: sheet terminals
    "spot_spacing": FamilyKind(("layer", "value"), f"{_SHEET}:drc_spot_spacing"),
    "plane_pieces": FamilyKind(("layer",), f"{_SHEET}:drc_plane_pieces"),
    # family 4: backside grooves
    "groove_over_row": FamilyKind(("layer", "other"), f"{_BACKSIDE}:drc_groove_over_row"),
    "cut_through_pads": FamilyKind(("layer", "other", "value"), f"{_BACKSIDE}:drc_cut_through_pads"),
    "cut_contact": FamilyKind(("layer", "other", "value"), f"{_BACKSIDE}:drc_cut_contact"),
    "wall_angle": FamilyKind(("layer", "other", "value"), f"{_BACKSIDE}:drc_wall_angle"),
    "wall_crossing": FamilyKind(("layer", "other", "value"), f"{_BACKSIDE}:drc_wall_crossing"),
}


def family_check(kind: str) -> Callable:
    """The DRC check function of a family rule kind."""
    module, _, func = FAMILY_KINDS[kind].check.partition(":")
    return getattr(importlib.import_module(module), func)

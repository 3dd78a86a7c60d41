"""Family 4's parameters: the ball grid, ball outline and lead width. All lengths in µm.

The groove profile (substrate thickness, etch depth, wall angle) is the process's: the PDK's
[process] table, with the rule bounding the wall angle a lead can climb in its deck.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from layoutgen.design import BallGrid, Package


class BacksideWlcsp(Package):
    """Family 4: WLCSP with backside grooves over the pad rows, a cut along each row through its pads, backside wiring, balls."""

    family: Literal["backside_wlcsp"] = "backside_wlcsp"
    balls: BallGrid
    ball: Literal["round", "octagon"] = Field(default="round", description="ball pad, solder-mask opening and ball outline")
    lead_width: float | None = Field(default=None, gt=0, description="width of the wiring lead up the groove wall, µm (None: the PDK's BSWIRE minimum width)")

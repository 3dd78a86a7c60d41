"""Family 1's parameters: the ball grid, the bump outline and the Cu posts through the polymer. All lengths in µm."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from layoutgen.design import BallGrid, Model, Package


class Posts(Model):
    """Cu posts plated through a thick polymer: height and the thermo-mechanical load case."""

    height: float = Field(ge=20, le=250, description="post height = polymer thickness, µm (20–250)")
    modulus_gpa: float = Field(default=117.0, gt=0, description="Young's modulus of the post metal, GPa (Cu 117)")
    cte_mismatch_ppm: float = Field(default=14.0, gt=0, description="board minus die CTE, ppm/K")
    delta_t: float = Field(default=100.0, gt=0, description="temperature swing, K")


class FanInWlcsp(Package):
    """Family 1: fan-in WLCSP, RDL from pads to a ball grid, UBM and bump/post plating."""

    family: Literal["wlcsp_fanin"] = "wlcsp_fanin"
    balls: BallGrid
    bump: Literal["round", "octagon"] = Field(default="round", description="UBM/bump outline")
    posts: "Posts | None" = Field(default=None, description="Cu posts through the polymer: per-ball compliance in the summary")

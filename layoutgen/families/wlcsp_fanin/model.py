"""Family 1's parameters: the ball grid, the bump outline and the Cu posts through the polymer. All lengths in µm."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from layoutgen.design import BallGrid, Model, Package


class Posts(Model):
    """Metal posts plated through a thick polymer (seed 001): their size, material and the load case they bend under."""

    diameter: float = Field(ge=10, le=200, description="post diameter = its via in the thick polymer, µm (claim 34: 10–200)")
    height: float = Field(ge=20, le=250, description="post length in the polymer = polymer thickness, µm (claims 10, 33: 20–250)")
    projection: float = Field(default=25.0, ge=10, le=75, description="post top above the polymer, µm (claim 27: 10–75)")
    modulus_gpa: float = Field(default=117.0, gt=0, description="Young's modulus of the post metal, GPa (Cu 117)")
    yield_mpa: float = Field(default=250.0, gt=0, description="yield strength of the post metal, MPa (plated Cu ≈ 250)")
    load: Literal["board", "polymer"] = Field(
        default="board", description="load case: 'board' (board vs die after mounting) or 'polymer' (claim 1: the "
                                     "polymer body vs the wafer, at cure and in use)")
    cte_mismatch_ppm: float = Field(default=14.0, gt=0, description="CTE difference of the load case, ppm/K (board − Si ≈ 14; polyimide − Si ≈ 40)")
    delta_t: float = Field(default=100.0, gt=0, description="temperature swing of the load case, K")
    on_yield: Literal["fail", "warn"] = Field(default="fail", description="a post that would yield stops the build ('fail') or is reported ('warn')")
    flow: Literal["vias", "resist"] = Field(
        default="vias", description="'vias': the thick polymer first, the posts plated up its vias (claims 8, 19: POST on the "
                                    "PV2 mask); 'resist': freestanding posts plated through a thick resist on a blanket seed, "
                                    "then the polymer spread round them (claim 30: POST is its own mask, and the UBM caps follow it)")


class FanInWlcsp(Package):
    """Family 1: fan-in WLCSP, RDL from pads to a ball grid, UBM and bump/post plating."""

    family: Literal["wlcsp_fanin"] = "wlcsp_fanin"
    ball_nets_with_auto: ClassVar[bool] = True   # auto keeps the balls nets= fixes (partial assignment)
    balls: BallGrid
    bump: Literal["round", "octagon"] = Field(default="round", description="UBM/bump outline")
    posts: "Posts | None" = Field(default=None, description="metal posts through a thick polymer, plated in vias of their own diameter (POST layer, on the PV2 mask) or in a resist before the polymer (Posts.flow): per-ball force, stress and margin to yield in the summary")

    @property
    def route(self) -> str:
        """The process route whose masks the design exposes (PDK masks.toml `route`): 'resist' for claim 30's posts, else 'vias'."""
        return "resist" if self.posts is not None and self.posts.flow == "resist" else "vias"


"""Family 2's parameters: the protrusions and their tiers, the wells, the ball stencil. All lengths in µm."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from layoutgen.design import BallGrid, Length, Model, Package


Shape = Literal["square", "octagon", "round"]


class Tiers(Model):
    """A protrusion's tier split and the relief heights (mould etch depths, print thicknesses, report)."""

    recess: Length = Field(description="recessed tier (ball seat) width across flats, µm; the rest of the footprint is protuberant")
    recess_offset: tuple[float, float] = Field(default=(0.0, 0.0), description="recessed tier centre from the footprint centre, µm")
    base: Length = Field(default=10.0, description="relief thickness over the die (the wells' depth), µm")
    recessed_height: Length = Field(default=20.0, description="recessed tier top above the relief surface, µm")
    protuberant_height: Length = Field(default=40.0, description="protuberant zone top above the relief surface, µm")

    @model_validator(mode="after")
    def _protuberant_above_recessed(self) -> "Tiers":
        if self.protuberant_height <= self.recessed_height:
            raise ValueError(f"protuberant_height {self.protuberant_height:g} µm must exceed "
                             f"recessed_height {self.recessed_height:g} µm (the recessed tier lies below it)")
        return self


class Protrusions(Model):
    """The protrusion grid: one tiered protrusion per ball position, carrying that ball's bonding pad."""

    grid: BallGrid = Field(description="protrusion (= ball) positions, JEDEC names, net assignment")
    footprint: Length = Field(description="protrusion footprint width across flats, µm")
    shape: Shape = Field(default="octagon", description="footprint and recessed tier outline")
    tiers: Tiers


class BallStencil(Model):
    """The solder paste stencil that prints the balls onto the bonding pads."""

    thickness: Length = Field(default=100.0, description="stencil foil thickness, µm")
    shape: Shape = Field(default="round", description="aperture outline")
    overprint: float = Field(default=0.0, ge=0, description="aperture beyond the ENCAP opening on every side, µm")
    metal_fraction: float = Field(default=0.5, gt=0, lt=1, description="solder volume fraction of the paste (ball size report)")


class RearContacts(Model):
    """Claim 20: slots etched into the rear face down to the pads, lined with rear metal (rear contacts, e.g. for stacking)."""

    pads: list[str] | Literal["all"] = Field(default="all", description="pads (names or nets) that get a rear slot")
    slot: float | None = Field(default=None, gt=0, description="slot width across, µm (None: the pad less PAD.EN.RSLOT on each side)")
    localised_metal: bool = Field(default=True, description="rear metal deposited through a mask (RMETAL) around each slot; else blanket, removed from the rear surface by polishing")


class ReliefCsp(Package):
    """Family 2: chip-scale package with a moulded stress-relief layer, tracks, encapsulation and printed balls."""

    family: Literal["relief_csp"] = "relief_csp"
    route: Literal["mould", "print"] = Field(
        default="mould", description="how the relief is made: moulded (claim 2: masks WELL, MOULD1, MOULD2 for the mould) "
                                     "or printed through stencils (claims 3-4: STENCIL, STENCIL2, STENCIL3); the mask set holds only that route")
    tracks: Literal["plated", "lapped"] = Field(
        default="plated", description="tracks patterned through the RDL mask (claim 8), or separated by lapping the "
                                      "protuberant zones (claim 7: refused for this relief, see the error)")
    rear: RearContacts | None = Field(default=None, description="claim 20: rear slots to the pads and rear metal (masks RSLOT, RMETAL, mirrored)")
    protrusions: Protrusions
    well_clearance: float | None = Field(default=None, ge=0, description="well beyond the pad opening on every side, µm (None: the PDK's WELL.EN.PAD)")
    stencil: BallStencil = Field(default_factory=BallStencil, description="solder paste stencil for the balls")

"""Family 3's parameters: the sheet, its etch, the leads, terminals, plane, frame and fiducials. All lengths in µm."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from layoutgen.design import BallGrid, Length, Model, Package

from .cells.spot import ETCH_MODELS, SpotShape


class Frame(Model):
    """The frame holding the sheet: its outline is drawn on every mask, `inset` inside the die edge."""

    inset: float = Field(default=0.0, ge=0, description="frame outline's outer edge inside the die edge, µm")


class Fiducials(Model):
    """Registration crosses near the four corners of the sheet, on every mask, and etched through the sheet first (THRU) so
    that the top-side masks register to the bottom-side leads through the opaque sheet."""

    size: Length = Field(default=150.0, description="cross size (arm tip to arm tip), µm")
    inset: Length = Field(default=200.0, description="cross centre from the die corner, along x and y, µm")


class PotentialPlane(Model):
    """Partial etch leaving a thin plane; a second etch opens a ring around each terminal not tied to it."""

    thickness: Length = Field(description="plane thickness left by the partial etch, µm")
    clearance: float | None = Field(default=None, gt=0, description="ring inner edge to the terminal's spot, µm (PDK PLANE.SPOT.S)")
    ring_width: float | None = Field(default=None, gt=0, description="isolation ring width, µm (PDK PLANE.W.1)")
    tied: list[str] = Field(default_factory=list, description="terminal names or nets left joined to the plane (no ring)")


class WaferSheet(Model):
    """The sheet at wafer scale (with Design.wafer): one sheet over every chip of the wafer, held in a ring frame.

    The masks expose the sheet at room temperature; its leads are bonded to the wafer at the bond
    temperature, `temperature_step` hotter, where the sheet has grown by its expansion coefficient
    and the wafer by its own. Every sheet mask is drawn scaled by (1 + α_wafer·ΔT) / (1 + α_sheet·ΔT)
    about the wafer centre, so that the leads land on the contacts when hot. `expansion` is the
    coefficient that sets the sheet's size while it is bonded: its own, or its frame's where the
    frame holds it in tension (the patent's molybdenum frame, close to silicon).
    """

    margin: Length = Field(default=5000.0, description="sheet edge beyond the wafer edge (sheet diameter = wafer + 2·margin), µm")
    expansion: float = Field(default=17.0, ge=0, le=100, description="sheet (or holding frame) expansion coefficient, ppm/K")
    wafer_expansion: float = Field(default=2.6, ge=0, le=100, description="wafer expansion coefficient, ppm/K (silicon 2.6)")
    temperature_step: float = Field(ge=-300, le=500, description="bond temperature minus mask exposure temperature, K")

    @property
    def scale(self) -> float:
        """The factor every sheet mask is drawn at: the wafer's growth over the sheet's."""
        dt = self.temperature_step
        return (1 + self.wafer_expansion * 1e-6 * dt) / (1 + self.expansion * 1e-6 * dt)


class SheetTerminals(Package):
    """Family 3: terminals etched from a conductive sheet, leads from the sheet's bottom to the chip contacts."""

    family: Literal["sheet_terminals"] = "sheet_terminals"
    placement: Literal["per_lead", "grid"] = Field(
        default="per_lead", description="terminals over each lead's liner, or on an area grid (not registered to the leads)")
    offsets: list[Length] = Field(
        default_factory=lambda: [400.0], min_length=1,
        description="fixed end distance inward from each contact, cycled along each die side (stagger), µm")
    grid: BallGrid | None = Field(default=None, description="terminal grid for placement='grid' (names A1.., pitch, offset)")
    spot_shape: SpotShape = Field(default="circle", description="spot and terminal outline")
    spot_sides: int = Field(default=6, ge=5, le=32, description="vertex count of a 'polygon' spot")
    terminal_top: Length = Field(default=120.0, description="target terminal top, width across flats, µm")
    sheet_thickness: Length = Field(default=150.0, description="conductive sheet thickness T, µm")
    etch_factor: float = Field(default=3.0, gt=0, description="etch factor EF: depth etched per µm of undercut")
    etch_model: str = Field(default="undercut", description="name of the undercut model in ETCH_MODELS")
    neck_undercut: float = Field(default=1.25, ge=1, description="neck undercut as a multiple of the tip's (etch trial)")
    lift: Length = Field(default=250.0, description="lift height: sheet to chip after the move, µm")
    lead_slack: float = Field(default=0.1, ge=0, le=2, description="lead length margin: length ≥ (1 + slack)·(lift + offset)")
    lead_width: float | None = Field(default=None, gt=0, description="lead narrow section width, µm (PDK LEAD.W.1)")
    liner_diameter: Length = Field(default=60.0, description="via liner opening diameter, µm")
    tip_diameter: Length = Field(default=40.0, description="lead tip bulge diameter (bonded on the contact), µm")
    plane: PotentialPlane | None = Field(default=None, description="potential-plane variant (partial etch + rings)")
    frame: Frame | None = Field(default_factory=Frame, description="frame outline on every mask (None: none)")
    fiducials: Fiducials | None = Field(default_factory=Fiducials, description="corner fiducials on every mask (None: none)")
    sheet: WaferSheet | None = Field(
        default=None, description="with Design.wafer: the sheet over the whole wafer (frame and fiducials drawn once around it)")

    @model_validator(mode="after")
    def _consistent(self) -> "SheetTerminals":
        if self.placement == "grid" and self.grid is None:
            raise ValueError("placement='grid' needs grid=BallGrid(rows=..., cols=..., pitch=...)")
        if self.etch_model not in ETCH_MODELS:
            raise ValueError(f"etch_model {self.etch_model!r} is not registered (known: {', '.join(ETCH_MODELS)}); "
                             "register yours with layoutgen.cells.sheet_spot.register_etch_model")
        if self.plane is not None and self.plane.thickness >= self.sheet_thickness:
            raise ValueError(f"plane.thickness {self.plane.thickness:g} µm must be below sheet_thickness "
                             f"{self.sheet_thickness:g} µm (the partial etch leaves it)")
        return self

"""Family 3's parameters: the sheet, its etch, the leads, terminals, plane, frame and fiducials. All lengths in µm."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from layoutgen.design import BallGrid, Length, Model, Package

from .cells.spot import ETCH_MODELS, SpotShape


class Frame(Model):
    """The frame holding the sheet: its outline is drawn on every mask, `inset` inside the die edge (on a wafer-scale
    sheet: once, inside the sheet's edge)."""

    inset: float = Field(default=0.0, ge=0, description="frame outline's outer edge inside the die (or sheet) edge, µm")


class Fiducials(Model):
    """Registration crosses near the four corners of the sheet, on every mask, and etched through the sheet first (THRU) so
    that the top-side masks register to the bottom-side leads through the opaque sheet."""

    size: Length = Field(default=150.0, description="cross size (arm tip to arm tip), µm")
    inset: Length = Field(default=200.0, description="cross centre from the die corner, along x and y, µm (on a "
                                                     "wafer-scale sheet the crosses go to the wafer's mark sites instead)")


class PotentialPlane(Model):
    """Partial etch leaving a thin plane; a second etch opens a ring around each terminal not tied to it."""

    thickness: Length = Field(description="plane thickness left by the partial etch, µm")
    clearance: float | None = Field(default=None, gt=0, description="ring inner edge to the terminal's spot, µm (PDK PLANE.SPOT.S)")
    ring_width: float | None = Field(default=None, gt=0, description="isolation ring width, µm (PDK PLANE.W.1)")
    tied: list[str] = Field(default_factory=list, description="terminal names or nets left joined to the plane (no ring)")


class RigidPosts(Model):
    """Fig. 19: rigid posts etched from the sheet's bottom (a partial etch through resist dots, PILLAR) instead of
    flexible leads, one on each chip contact, bonding metal on each tip; the terminal over each post is etched
    from the top through the rest of the sheet."""

    diameter: Length = Field(default=60.0, description="post tip diameter (bonded on the contact), µm")
    height: Length = Field(default=50.0, description="post height: depth of the partial etch from the sheet's bottom, µm")


class InjectionPorts(Model):
    """Fig. 15: ports through the sheet, outside the wafer and inside the frame, through which the compliant liquid is
    injected between the sheet and the wafer; etched through the sheet in its first step (on the THRU mask)."""

    count: int = Field(default=2, ge=1, le=16, description="ports, evenly spaced round the sheet, the first at the top")
    diameter: Length = Field(default=2000.0, description="port hole diameter, µm")


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
        dt, ppm = self.temperature_step, 1e-6        # coefficients are in ppm/K
        return (1 + self.wafer_expansion * ppm * dt) / (1 + self.expansion * ppm * dt)


class SheetTerminals(Package):
    """Family 3: terminals etched from a conductive sheet, leads from the sheet's bottom to the chip contacts.

    Embodiments and their masks: figs. 1-7 the default (LINER, LEAD, BOND, SPOT; THRU fiducials);
    figs. 8-9 placement='grid' (SVIA, TRACE, TVIA instead of LINER); figs. 10-14 dielectric=False
    (no LINER: the leads, etch-resistant, mask the release etch themselves, so the stems it leaves
    are drawn on the reference layer STEM, no mask); fig. 15 ports= (PORT holes, etched through
    the sheet with the fiducials on the THRU mask; the frame and recess are machined, no mask);
    fig. 16 (a temporary layer instead of the dielectric) is figs. 1-7's masks: its apertures are
    the LINER openings; fig. 17 terminals='masses' (MASS cavities, no SPOT/PLANE: the final etch
    is unmasked); fig. 18 plane= (PLANE); fig. 19 attach='posts' (PILLAR dots, BOND on the post
    tips, SPOT over the posts; no LEAD/LINER).
    """

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
    dielectric: bool = Field(
        default=True, description="a dielectric layer under the sheet (figs. 1-9); False: leads on the bare sheet, joined "
                                  "to it by the stem the release etch leaves under each fixed end (figs. 10-14)")
    release_overetch: float = Field(
        default=2.0, ge=0, description="dielectric=False: the release etch's undercut beyond half the lead width, µm")
    terminals: Literal["spots", "masses"] = Field(
        default="spots", description="terminals etched under resist spots, or etch-resistant masses filling cavities "
                                     "at the fixed ends, freed by an unmasked etch (fig. 17)")
    attach: Literal["leads", "posts"] = Field(
        default="leads", description="flexible leads bent by the lift, or rigid posts etched from the sheet (fig. 19)")
    posts: RigidPosts = Field(default_factory=RigidPosts, description="the rigid posts of attach='posts'")
    ports: InjectionPorts | None = Field(default=None, description="injection ports through the sheet (fig. 15; wafer scale)")
    sheet: WaferSheet | None = Field(
        default=None, description="with Design.wafer: the sheet over the whole wafer (frame and fiducials drawn once around it)")

    @model_validator(mode="after")
    def _consistent(self) -> "SheetTerminals":
        if self.placement == "grid" and self.grid is None:
            raise ValueError("placement='grid' needs grid=BallGrid(rows=..., cols=..., pitch=...)")
        if self.placement != "grid" and self.grid is not None:
            raise ValueError("grid= is used only with placement='grid' (figs. 8-9); placement='per_lead' puts a terminal "
                             "over each lead's fixed end")
        if self.etch_model not in ETCH_MODELS:
            raise ValueError(f"etch_model {self.etch_model!r} is not registered (known: {', '.join(ETCH_MODELS)}); "
                             "register yours with layoutgen.cells.sheet_spot.register_etch_model")
        grid_only = {"dielectric": (not self.dielectric, "its traces run inside the dielectric (figs. 8-9)"),
                     "terminals": (self.terminals == "masses", "a mass is the terminal at its lead's fixed end (fig. 17)"),
                     "attach": (self.attach == "posts", "a post's terminal sits over it (fig. 19)")}
        for name, (on, why) in grid_only.items():
            if on and self.placement == "grid":
                raise ValueError(f"placement='grid' cannot be combined with {name}={getattr(self, name)!r}: {why}")
        if self.terminals == "masses" and self.plane is not None:
            raise ValueError("terminals='masses' etches the sheet away without a mask (fig. 17): it leaves no potential "
                             "plane; drop plane= or use terminals='spots'")
        if self.attach == "posts" and self.terminals == "masses":
            raise ValueError("attach='posts' etches its posts from the sheet and its terminals over them under spots "
                             "(fig. 19): use terminals='spots'")
        if self.attach == "posts" and self.posts.height >= self.sheet_thickness - (self.plane.thickness if self.plane else 0):
            raise ValueError(f"posts.height {self.posts.height:g} µm leaves no sheet above the posts for the terminals "
                             f"(sheet_thickness {self.sheet_thickness:g} µm)")
        if self.plane is not None and self.plane.thickness >= self.sheet_thickness:
            raise ValueError(f"plane.thickness {self.plane.thickness:g} µm must be below sheet_thickness "
                             f"{self.sheet_thickness:g} µm (the partial etch leaves it)")
        return self

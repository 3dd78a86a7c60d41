"""One protrusion of the relief, placed at every ball: both tiers, ball seat, and its print apertures.

The cell holds the footprint (MOULD1), the recessed tier (MOULD2), the bonding pad (RDL),
the encapsulation opening (ENCAP), the solder paste aperture (PASTE), and the apertures of
the relief print passes that make the protrusion when it is printed instead of moulded:
pass 2 prints the footprint up to the recessed tier's height, pass 3 the protuberant rim
(bridged, since the rim encloses the recessed tier). All lengths in µm, footprint centred
at the origin.
"""

from __future__ import annotations

from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from .stencil import paste_aperture, print_apertures
from .tiers import bonding_pad, encap_opening, footprint, protuberant_zone, recessed_tier
from layoutgen.layout import name_number


@dataclass(frozen=True)
class PrintPass:
    """One relief print pass: its stencil layer, narrowest printable width, bridge width and count."""

    layer: str
    min_width: float
    bridge: float
    per_island: int

    def tag(self) -> str:
        """A short, parameter-derived name part."""
        return f"W{name_number(self.min_width)}B{name_number(self.bridge)}x{self.per_island}"


@dataclass(frozen=True)
class ProtrusionSpec:
    """What one protrusion cell is made of (all µm)."""

    footprint: float
    recess: float
    shape: str
    offset: tuple[float, float]
    paste_shape: str
    overprint: float
    footprint_pass: PrintPass
    rim_pass: PrintPass

    def name(self) -> str:
        """The cell name, derived from every parameter."""
        sh = {"square": "SQ", "octagon": "OCT", "round": "RND"}
        return (f"PROTRUSION_{sh[self.shape]}_F{name_number(self.footprint)}_R{name_number(self.recess)}"
                f"_O{name_number(self.offset[0])}_{name_number(self.offset[1])}"
                f"_P{sh[self.paste_shape]}{name_number(self.overprint)}"
                f"_{self.footprint_pass.tag()}_{self.rim_pass.tag()}")


@dataclass(frozen=True)
class PrintResult:
    """What one relief print pass makes of a protrusion: the region to print, apertures, bridges."""

    region: BaseGeometry
    apertures: list[Polygon]
    bridges: list[Polygon]

    def unprinted(self) -> BaseGeometry:
        """What of the region neither prints nor lies under a bridge (too narrow to print)."""
        return self.region.difference(shapely.union_all([*self.apertures, *self.bridges]))


def relief_prints(spec: ProtrusionSpec, pdk: Pdk) -> dict[str, PrintResult]:
    """The protrusion's relief print passes: the footprint (pass 2) and the protuberant rim (pass 3)."""
    foot = footprint(spec.footprint, spec.shape, pdk)
    recess = recessed_tier(spec.recess, spec.shape, spec.offset, pdk)
    out = {}
    for pass_, region in ((spec.footprint_pass, foot), (spec.rim_pass, protuberant_zone(foot, recess))):
        apertures, cut = print_apertures(region, pass_.min_width, pass_.bridge, pass_.per_island, pdk.grid_um)
        out[pass_.layer] = PrintResult(region, apertures, cut)
    return out


def protrusion_cell(spec: ProtrusionSpec, pdk: Pdk) -> Cell:
    """The protrusion cell: tiers, bonding pad, ENCAP opening, paste aperture, relief print apertures."""
    foot = footprint(spec.footprint, spec.shape, pdk)
    recess = recessed_tier(spec.recess, spec.shape, spec.offset, pdk)
    opening = encap_opening(recess, pdk)
    cell = Cell(spec.name())
    cell.add("MOULD1", foot).add("MOULD2", recess)
    cell.add("RDL", bonding_pad(opening, pdk)).add("ENCAP", opening)
    cell.add("PASTE", paste_aperture(opening, spec.paste_shape, spec.overprint, pdk))
    for layer, printed in relief_prints(spec, pdk).items():
        cell.add(layer, *printed.apertures)
    return cell

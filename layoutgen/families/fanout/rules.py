"""The fan-out process data the passives use, and the passives' values measured from the drawing.

The fan-out deck needs no kind of its own: cavity clearance and via landings are enclosure
rules, nets are the connectivity rules (through the PDK's via stack, devices joined by JOIN
labels), all run by `layoutgen.drc`.

- `spiral_inductance`, `mim_capacitance`, `meander_resistance`: a passive's value measured
  from the drawn polygons, to compare with the value the generator reports.

`process_data(pdk)` validates the fan-out process data the PDK loader read from `fanout.toml`.
"""

from __future__ import annotations

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from .cells.capacitor import plate_capacitance_pf
from .cells.inductor import wheeler_inductance_nh
from .cells.resistor import CORNER_SQUARES
from layoutgen.errors import PdkError
from layoutgen.pdk import Pdk
from layoutgen.units import PARALLEL_EPS



# -- process data ----------------------------------------------------------------------------
class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WiringLevel(_Data):
    """A wiring level's metal: layer, thickness (µm), sheet resistance (Ω/□)."""

    layer: str
    thickness_um: float = Field(gt=0)
    sheet_resistance_ohm_sq: float = Field(gt=0)


class Dielectric(_Data):
    """A dielectric level: name, the via layer that opens it, the layers below and above, εr, thickness (µm)."""

    name: str
    via: str
    below: str
    above: str
    material: str = ""
    eps_r: float = Field(gt=0)
    thickness_um: float = Field(gt=0)


class CapacitorData(_Data):
    """MIM capacitor drawing data: the bottom plate's overhang beyond the top plate (µm)."""

    bottom_overhang_um: float = Field(ge=0)


class FanoutProcess(_Data):
    """Fan-out process data from `fanout.toml`: wiring levels, dielectrics, MIM data."""

    wiring: list[WiringLevel]
    dielectric: list[Dielectric]
    capacitor: CapacitorData
    source: str = ""

    def wire(self, layer: str) -> WiringLevel:
        """The wiring level drawn on `layer`; PdkError when fanout.toml lacks it."""
        for w in self.wiring:
            if w.layer == layer:
                return w
        raise PdkError(f"{self.source}: no [[wiring]] entry for {layer} (sheet resistance needed)")

    def between(self, below: str, above: str) -> Dielectric:
        """The dielectric between wiring layers `below` and `above`; PdkError when missing."""
        for d in self.dielectric:
            if d.below == below and d.above == above:
                return d
        raise PdkError(f"{self.source}: no [[dielectric]] between {below} and {above} (εr and thickness needed)")


def process_data(pdk: Pdk) -> FanoutProcess:
    """The fan-out process data of `pdk`: its fanout.toml (or its base's), as the PDK loader read it."""
    raw, source = pdk.process_data("fanout", "fan-out wiring and dielectric data")
    try:
        return FanoutProcess.model_validate({**raw, "source": source})
    except ValidationError as e:
        err = e.errors()[0]
        raise PdkError(f"{source}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None


# -- passives measured from the drawing -----------------------------------------------------
def spiral_dimensions(turns_metal: BaseGeometry) -> tuple[int, float, float]:
    """(turns, d_out, d_in) of a square spiral measured on its drawn turns (no leads).

    Turns: crossings of the metal by a ray from the centre to the right; d_out: the turns'
    bounding box width; d_in: the free span across the centre between the innermost turns.
    """
    x0, y0, x1, y1 = turns_metal.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # Crossings that start at the centre are the centre via's pad, not a turn.
    right = [p for p in shapely.get_parts(turns_metal.intersection(LineString([(cx, cy), (x1 + 1, cy)])))
             if p.bounds[0] > cx + 1e-6]
    left = [p for p in shapely.get_parts(turns_metal.intersection(LineString([(x0 - 1, cy), (cx, cy)])))
            if p.bounds[2] < cx - 1e-6]
    # The innermost crossing on each side bounds the hole.
    return len(right), x1 - x0, min(p.bounds[0] for p in right) - max(p.bounds[2] for p in left)


def spiral_inductance(turns_metal: BaseGeometry) -> float:
    """Modified Wheeler inductance (nH) of the drawn square spiral."""
    n, d_out, d_in = spiral_dimensions(turns_metal)
    return wheeler_inductance_nh(n, d_out, d_in)


def mim_capacitance(bottom: BaseGeometry, top: BaseGeometry, eps_r: float, thickness_um: float) -> tuple[float, float]:
    """(overlap area µm², capacitance pF) of two drawn plates: the plates' overlap over the dielectric."""
    area = bottom.intersection(top).area
    return area, plate_capacitance_pf(area, eps_r, thickness_um)


def meander_resistance(metal: BaseGeometry, width: float, corners: int, sheet_ohm_sq: float) -> tuple[float, float]:
    """(squares, Ω) of a drawn meander of `width`: area / w² with each of `corners` counted as 0.56 square."""
    squares = metal.area / width ** 2 - corners * (1 - CORNER_SQUARES)
    return squares, squares * sheet_ohm_sq


def count_right_angles(poly: Polygon) -> int:
    """Convex (outer) 90° corners of a Manhattan polygon outline, minus the four of a plain bar: the bends."""
    c = np.asarray(poly.exterior.coords)[:-1]
    d1 = np.roll(c, -1, axis=0) - c
    d0 = c - np.roll(c, 1, axis=0)
    cross = d0[:, 0] * d1[:, 1] - d0[:, 1] * d1[:, 0]
    orient = 1 if poly.exterior.is_ccw else -1
    convex = int(np.sum(cross * orient > PARALLEL_EPS))
    return convex - 4 if convex >= 4 else 0

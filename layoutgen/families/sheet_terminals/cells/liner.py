"""Via liner opening at a lead's fixed end: joins the lead's large bulge to the sheet above it."""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.errors import ConfigError
from layoutgen.pdk import Pdk
from layoutgen.cells.shapes import circle
from layoutgen.units import LENGTH_EPS_UM


def liner_opening(diameter_um: float, pdk: Pdk) -> Polygon:
    """A round liner opening of at least `diameter_um` (and LINER's minimum width), centred at the origin."""
    w_min = pdk.value("width", "LINER")
    if diameter_um < w_min - LENGTH_EPS_UM:
        raise ConfigError(f"liner diameter {diameter_um:g} µm is below {pdk.rule('width', 'LINER').name} ({w_min:g} µm)")
    return circle(diameter_um, pdk.circle_vertices, pdk.grid_um, "inscribed")

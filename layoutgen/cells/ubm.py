"""UBM: under-bump metallization, at least its minimum width and enclosing the PV2 opening."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..pdk import Pdk
from .pv2 import pv2_opening
from .shapes import circle, grow, width_across_flats


def ubm(pdk: Pdk, shape: str) -> Polygon:
    """The UBM pad: PV2 grown by UBM-encloses-PV2, or the UBM minimum width if that is larger."""
    around_pv2 = grow(pv2_opening(pdk, shape), pdk.value("enclosure", "UBM", "PV2"), pdk.grid_um)
    if width_across_flats(around_pv2) >= pdk.value("width", "UBM"):
        return around_pv2
    return circle(pdk.value("width", "UBM"), pdk.circle_vertices, pdk.grid_um, "inscribed", shape)

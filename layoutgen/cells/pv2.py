"""PV2: the polymer 2 opening over a ball pad, inside the UBM by the PDK's enclosure."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..errors import PdkError
from ..pdk import Pdk
from .shapes import circle
from .ubm import ubm_diameter


def pv2_opening(pdk: Pdk, shape: str) -> Polygon:
    """The PV2 opening: the UBM shrunk by UBM-encloses-PV2 (all vertices inside that circle)."""
    d = ubm_diameter(pdk) - 2 * pdk.value("enclosure", "UBM", "PV2")
    poly = circle(d, pdk.circle_vertices, pdk.grid_um, "circumscribed", shape)
    # A circumscribed polygon is narrower across its flats than d: make sure it stays legal.
    from .shapes import width_across_flats

    if width_across_flats(poly) < pdk.value("width", "PV2"):
        raise PdkError(f"PDK {pdk.name}: PV2 opening {d:g} µm leaves less than PV2's minimum width "
                       f"{pdk.value('width', 'PV2')} µm; raise the UBM width or use more circle vertices")
    return poly

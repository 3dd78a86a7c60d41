"""RDL pads: the landing pad over a PV1 opening and the capture pad under a UBM."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import circle, rect
from .ubm import ubm_outer_diameter


def landing_pad(opening: Polygon, pad_shape: str, pdk: Pdk) -> Polygon:
    """RDL landing pad: the PV1 opening grown by RDL-encloses-PV1."""
    enc = pdk.value("enclosure", "RDL", "PV1")
    x0, y0, x1, y1 = opening.bounds
    if pad_shape == "rect":
        return rect(x1 - x0 + 2 * enc, y1 - y0 + 2 * enc, pdk.grid_um)
    return circle(x1 - x0 + 2 * enc, pdk.circle_vertices, pdk.grid_um, "inscribed", "round" if pad_shape == "round" else "octagon")


def capture_pad_diameter(pdk: Pdk, shape: str) -> float:
    """Capture pad diameter (across flats): the UBM's outer diameter plus RDL-encloses-UBM twice."""
    return ubm_outer_diameter(pdk, shape) + 2 * pdk.value("enclosure", "RDL", "UBM")


def capture_pad(pdk: Pdk, shape: str) -> Polygon:
    """RDL ball capture pad enclosing the UBM by the PDK's enclosure."""
    return circle(capture_pad_diameter(pdk, shape), pdk.circle_vertices, pdk.grid_um, "inscribed", shape)

"""RDL pads: the landing pad over a PV1 opening and the capture pad under a UBM."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import grow, width_across_flats
from .ubm import ubm


def landing_pad(opening: Polygon, pdk: Pdk) -> Polygon:
    """RDL landing pad: the PV1 opening grown by RDL-encloses-PV1."""
    return grow(opening, pdk.value("enclosure", "RDL", "PV1"), pdk.grid_um)


def capture_pad(pdk: Pdk, shape: str) -> Polygon:
    """RDL ball capture pad: the UBM grown by RDL-encloses-UBM."""
    return grow(ubm(pdk, shape), pdk.value("enclosure", "RDL", "UBM"), pdk.grid_um)


def capture_pad_diameter(pdk: Pdk, shape: str) -> float:
    """Capture pad width across flats."""
    return width_across_flats(capture_pad(pdk, shape))

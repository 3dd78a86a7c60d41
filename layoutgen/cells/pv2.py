"""PV2: the polymer 2 opening over a ball pad, as wide as the UBM allows and never below its rule."""

from __future__ import annotations

import math

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import circle


def pv2_opening(pdk: Pdk, shape: str) -> Polygon:
    """The PV2 opening: the UBM's minimum width less its enclosure, at least PV2's minimum width."""
    n = pdk.circle_vertices if shape == "round" else 8
    flats = pdk.value("width", "UBM") - 2 * pdk.value("enclosure", "UBM", "PV2")
    # Keep the corners (not only the flats) inside that width so a minimum-width UBM still encloses it.
    flats = flats * math.cos(math.pi / n) - 4 * pdk.grid_um
    return circle(max(flats, pdk.value("width", "PV2")), pdk.circle_vertices, pdk.grid_um, "inscribed", shape)

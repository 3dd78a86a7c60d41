"""UBM: under-bump metallization, at least its minimum width and enclosing the PV2 opening."""

from __future__ import annotations

import math

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import circle


def ubm_diameter(pdk: Pdk) -> float:
    """UBM width: the larger of UBM's minimum width and PV2's minimum plus its enclosure."""
    return max(pdk.value("width", "UBM"), pdk.value("width", "PV2") + 2 * pdk.value("enclosure", "UBM", "PV2"))


def ubm_outer_diameter(pdk: Pdk, shape: str) -> float:
    """Diameter of the circle through the UBM polygon's vertices (what encloses it)."""
    n = pdk.circle_vertices if shape == "round" else 8
    return ubm_diameter(pdk) / math.cos(math.pi / n) + 4 * pdk.grid_um


def ubm(pdk: Pdk, shape: str) -> Polygon:
    """The UBM pad (its flats at the UBM diameter)."""
    return circle(ubm_diameter(pdk), pdk.circle_vertices, pdk.grid_um, "inscribed", shape)

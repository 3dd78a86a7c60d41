"""BUMP: the bump or post plating opening, at the PDK's exact bump size."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import circle


def bump_opening(pdk: Pdk, shape: str) -> Polygon:
    """The bump plating opening: its width across flats at the BUMP size rule's diameter."""
    rule = pdk.rule("size", "BUMP")
    assert rule.value is not None
    return circle(rule.value, pdk.circle_vertices, pdk.grid_um, "inscribed", shape)

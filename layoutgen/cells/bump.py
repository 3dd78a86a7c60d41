"""BUMP: the bump or post plating opening, at the PDK's exact bump size."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..pdk import Pdk
from .shapes import circle


def bump_opening(pdk: Pdk, shape: str) -> Polygon:
    """The bump plating opening at the BUMP size rule's diameter, as the size check measures it
    (the smallest circle around the shape): a round opening's many-gon contains that circle
    (0.1 % apart), an octagon lies inside it (across flats it would be 8 % larger, out of tolerance)."""
    rule = pdk.rule("size", "BUMP")
    assert rule.value is not None
    return circle(rule.value, pdk.circle_vertices, pdk.grid_um, "inscribed" if shape == "round" else "circumscribed", shape)

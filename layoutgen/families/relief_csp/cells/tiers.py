"""Protrusion tiers: the footprint (MOULD1), the recessed tier (MOULD2) and the ball seat on it.

A protrusion of the stress-relief layer is tiered: the recessed tier (the ball seat) lies
inside the footprint, and the rest of the footprint is the protuberant zone, a rim standing
above it. The bonding pad (RDL) and the encapsulation opening (ENCAP) sit on the recessed
tier: ENCAP inside the tier by MOULD2.EN.ENCAP, the bonding pad around ENCAP by RDL.EN.ENCAP.
All lengths in µm, the footprint centred at the origin.
"""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon

from layoutgen.pdk import Pdk
from layoutgen.cells.shapes import circle, grow, rect


def outline(width: float, shape: str, pdk: Pdk) -> Polygon:
    """A square, octagon or round outline at least `width` across (flats at 0°/90°/45°)."""
    if shape == "square":
        return rect(width, width, pdk.grid_um)
    return circle(width, pdk.circle_vertices, pdk.grid_um, "inscribed", "round" if shape == "round" else "octagon")


def footprint(width: float, shape: str, pdk: Pdk) -> Polygon:
    """The protrusion footprint (MOULD1), `width` across flats."""
    return outline(width, shape, pdk)


def recessed_tier(width: float, shape: str, offset: tuple[float, float], pdk: Pdk) -> Polygon:
    """The recessed tier (MOULD2): `width` across flats, its centre `offset` from the footprint's."""
    return shapely.affinity.translate(outline(width, shape, pdk), pdk.snap(offset[0]), pdk.snap(offset[1]))


def protuberant_zone(foot: Polygon, recess: Polygon) -> Polygon:
    """The protuberant zone: the footprint less the recessed tier (a rim around it)."""
    return foot.difference(recess)


def encap_opening(recess: Polygon, pdk: Pdk) -> Polygon:
    """The encapsulation opening over the bonding pad: the recessed tier shrunk by MOULD2.EN.ENCAP."""
    return grow(recess, -pdk.value("enclosure", "MOULD2", "ENCAP"), pdk.grid_um)


def bonding_pad(opening: Polygon, pdk: Pdk) -> Polygon:
    """The bonding pad (RDL) on the recessed tier: the ENCAP opening grown by RDL.EN.ENCAP.

    Its vertices sit on twice the grid, like the router's traces, so that where a 45° trace
    meets a 45° edge of the pad the merged metal's corner still lands on the grid.
    """
    return grow(opening, pdk.value("enclosure", "RDL", "ENCAP"), 2 * pdk.grid_um)


def rim_width(foot: Polygon, recess: Polygon) -> float:
    """The narrowest part of the protuberant rim: the recessed tier's distance to the footprint edge."""
    if not foot.contains(recess):
        return 0.0
    return float(shapely.distance(foot.exterior, recess))

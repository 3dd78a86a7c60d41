"""Meander resistor in a wiring level: squares × the level's sheet resistance.

Squares are counted along the centreline from pin to pin, each 90° corner counted as 0.56
square instead of 1 (the usual corner correction for a bend of a uniform-width line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import LineString, Polygon

from layoutgen.layout import Cell
from .pin import Pin, lead_tip
from layoutgen.layout import name_number

CORNER_SQUARES = 0.56


def meander_centreline(legs: int, leg_length: float, width: float, spacing: float, lead: float) -> list[tuple[float, float]]:
    """Centreline from pin a (left) to pin b (right): `legs` vertical legs joined alternately at top and bottom."""
    q = width + spacing
    xs = [(k - (legs - 1) / 2) * q for k in range(legs)]
    lo, hi = -leg_length / 2, leg_length / 2
    pts = [(xs[0] - lead, lo)]
    for k, x in enumerate(xs):
        a, b = (lo, hi) if k % 2 == 0 else (hi, lo)
        pts += [(x, a), (x, b)]
    pts.append((xs[-1] + lead, pts[-1][1]))
    return pts


@dataclass(frozen=True)
class Meander:
    """A drawn meander: its metal, pins, corner count and squares."""

    metal: Polygon
    body: Polygon
    pins: tuple[Pin, Pin]
    centreline_um: float
    corners: int
    squares: float


def meander(legs: int, leg_length: float, width: float, spacing: float, lead: float, tip: float, layer: str) -> Meander:
    """A meander of `legs` legs of `leg_length` (centreline), `lead` µm leads beyond the legs; pins own `tip` µm."""
    line = meander_centreline(legs, leg_length, width, spacing, lead)
    metal = Polygon(LineString(line).buffer(width / 2, cap_style="flat", join_style="mitre").exterior)
    length = sum(math.dist(a, b) for a, b in zip(line, line[1:]))
    corners = len(line) - 2
    squares = length / width - corners * (1 - CORNER_SQUARES)
    (xa, ya), (xb, yb) = line[0], line[-1]
    body = metal.difference(lead_tip(xa, ya, (-1, 0), lead, width)).difference(lead_tip(xb, yb, (1, 0), lead, width))
    pins = (Pin("a", layer, xa, ya, lead_tip(xa, ya, (-1, 0), tip, width)),
            Pin("b", layer, xb, yb, lead_tip(xb, yb, (1, 0), tip, width)))
    return Meander(metal, Polygon(body.envelope.exterior), pins, length, corners, squares)


def resistor_cell(m: Meander, layer: str, legs: int, leg_length: float, width: float, spacing: float) -> Cell:
    """The resistor cell: the meander on `layer`, centred at the origin."""
    return Cell(f"FO_RES_{layer}_L{legs}x{name_number(leg_length)}_W{name_number(width)}_S{name_number(spacing)}").add(layer, m.metal)

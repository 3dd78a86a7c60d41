"""Square spiral inductor in a wiring level, with its underpass one level below and the modified Wheeler value.

Inductance after Mohan, del Mar Hershenson, Boyd, Lee, "Simple accurate expressions for planar
spiral inductances", IEEE JSSC 34(10), 1999: L = K1 µ0 n² d_avg / (1 + K2 ρ), with
d_avg = (d_out + d_in) / 2, ρ = (d_out − d_in) / (d_out + d_in), K1 = 2.34, K2 = 2.75 for a
square spiral; d_out and d_in are the outer and inner edge-to-edge sizes of the turns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shapely.geometry import LineString, Polygon, box

from layoutgen.layout import Cell
from .pin import Pin, lead_tip
from layoutgen.layout import name_number

K1_SQUARE = 2.34
K2_SQUARE = 2.75
MU0_H_PER_M = 4e-7 * math.pi


def outer_diameter(turns: int, width: float, spacing: float, inner: float) -> float:
    """Outer edge-to-edge size of a square spiral: d_in + 2 n w + 2 (n − 1) s, µm."""
    return inner + 2 * turns * width + 2 * (turns - 1) * spacing


def wheeler_inductance_nh(turns: float, d_out: float, d_in: float) -> float:
    """Modified Wheeler inductance of a square spiral, nH (sizes in µm)."""
    d_avg = (d_out + d_in) / 2
    rho = (d_out - d_in) / (d_out + d_in)
    return K1_SQUARE * MU0_H_PER_M * turns ** 2 * d_avg * 1e-6 / (1 + K2_SQUARE * rho) * 1e9


def spiral_centreline(turns: int, width: float, spacing: float, inner: float, lead: float) -> list[tuple[float, float]]:
    """Centreline of the spiral, from the outer pin inward to the centre, clockwise; centred at the origin.

    Turn k (from 0, outermost) has its left, top, right and bottom runs at distance
    h0 − k (w + s) from the centre, h0 = d_out/2 − w/2. The outer lead leaves the bottom-left
    corner to the left; the innermost bottom run turns up to the centre, where the via sits.
    """
    q = width + spacing
    h0 = outer_diameter(turns, width, spacing, inner) / 2 - width / 2
    pts = [(-h0 - width / 2 - lead, -h0), (-h0, -h0)]
    for k in range(turns):
        a, lo = h0 - k * q, -h0 + k * q
        pts += [(lo, a), (a, a), (a, lo)]
        pts += [(lo + q, lo)] if k < turns - 1 else [(0.0, lo), (0.0, 0.0)]
    return pts


@dataclass(frozen=True)
class Spiral:
    """A drawn square spiral: turns on the spiral level, underpass below, pins, value."""

    turns: int
    width: float
    spacing: float
    d_in: float
    d_out: float
    top: Polygon        # turns and outer lead
    body: Polygon       # the turns' footprint (no other net may come near)
    under: Polygon      # underpass from the centre via to the inner pin, one level below
    pins: tuple[Pin, Pin]   # (outer, on the spiral level; inner, on the level below)
    inductance_nh: float
    centreline_um: float


def square_spiral(turns: int, width: float, spacing: float, inner: float, lead: float, tip: float,
                  top_layer: str, low_layer: str) -> Spiral:
    """A square spiral of `turns` with `lead` µm leads beyond its outer edge; pins own the last `tip` µm."""
    d_out = outer_diameter(turns, width, spacing, inner)
    line = spiral_centreline(turns, width, spacing, inner, lead)
    top = LineString(line).buffer(width / 2, cap_style="square", join_style="mitre")
    half = d_out / 2
    body = box(-half, -half, half, half)
    pin_y = -half - lead
    under = LineString([(0.0, 0.0), (0.0, pin_y)]).buffer(width / 2, cap_style="square", join_style="mitre")
    outer = Pin("outer", top_layer, line[0][0], line[0][1], lead_tip(line[0][0], line[0][1], (-1, 0), tip, width))
    inner_pin = Pin("inner", low_layer, 0.0, pin_y, lead_tip(0.0, pin_y, (0, -1), tip, width))
    length = sum(math.dist(a, b) for a, b in zip(line, line[1:]))
    return Spiral(turns, width, spacing, inner, d_out, Polygon(top.exterior), body, Polygon(under.exterior),
                  (outer, inner_pin), wheeler_inductance_nh(turns, d_out, inner), length)


def inductor_cell(spiral: Spiral, top_layer: str, low_layer: str, via_cell: str) -> Cell:
    """The inductor cell: turns on `top_layer`, underpass on `low_layer`, `via_cell` placed at the centre."""
    name = (f"FO_IND_{top_layer}_N{spiral.turns}_W{name_number(spiral.width)}_S{name_number(spiral.spacing)}"
            f"_DI{name_number(spiral.d_in)}")
    cell = Cell(name).add(top_layer, spiral.top).add(low_layer, spiral.under)
    return cell.place(via_cell, 0.0, 0.0)

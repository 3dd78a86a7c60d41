"""Example fan-in WLCSP geometry with sky400 numbers, for tests, benchmarks and docs (µm).

A square die centred on (0, 0); a ball array of the given pitch centred on it, some positions
depopulated; peripheral pads evenly spread along each edge, corners left free. Capture pads
are 64-gons circumscribing their nominal circle, landing pads are squares on the pad centres,
and the keep-in is the die shrunk by the seal band plus its clearance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from .model import RouteRules, Terminal

JEDEC_ROWS = "ABCDEFGHJKLMNPRTUVWY"  # JEDEC row letters skip I, O, Q, S, X, Z


@dataclass(frozen=True)
class Die:
    """Pads, balls, keep-in and rules of one example die."""

    pads: tuple[Terminal, ...]
    balls: tuple[Terminal, ...]
    keepin: shapely.Polygon
    rules: RouteRules


def jedec_row(index: int) -> str:
    """JEDEC row name: A … Y, then AA, AB, …"""
    n = len(JEDEC_ROWS)
    return JEDEC_ROWS[index] if index < n else JEDEC_ROWS[index // n - 1] + JEDEC_ROWS[index % n]


def capture_pad(x: float, y: float, diameter: float, grid: float, sides: int = 64) -> shapely.Polygon:
    """A polygon circumscribing the circle of the given diameter, vertices on the grid."""
    r = diameter / 2.0 / math.cos(math.pi / sides)
    a = (np.arange(sides) + 0.5) * 2.0 * math.pi / sides
    pts = np.round(np.column_stack([x + r * np.cos(a), y + r * np.sin(a)]) / grid) * grid
    return shapely.Polygon(pts)


def square(x: float, y: float, size: float) -> shapely.Polygon:
    """An axis-aligned square centred on (x, y)."""
    h = size / 2.0
    return shapely.box(x - h, y - h, x + h, y + h)


def example_die(
    die_um: float = 5000.0,
    rows: int = 12,
    cols: int = 12,
    pitch_um: float = 400.0,
    depopulated: Callable[[int, int], bool] = lambda r, c: False,
    pads_per_side: int = 32,
    pad_pitch_um: float | None = None,
    capture_um: float = 235.0,
    landing_um: float = 65.0,
    pad_inset_um: float = 70.0,
    seal_um: float = 25.0,
    seal_clearance_um: float = 10.0,
    nets: Callable[[int], str] | None = None,
    rules: RouteRules | None = None,
) -> Die:
    """An example die: ball array rows × cols (row 0 = JEDEC row A at the top), peripheral pads."""
    rules = rules or RouteRules(width=10.0, space=10.0, grid=0.005, teardrop_max_fraction=0.5, pitch=pitch_um)
    balls = []
    for r in range(rows):
        for c in range(cols):
            if depopulated(r, c):
                continue
            x = (c - (cols - 1) / 2.0) * pitch_um
            y = ((rows - 1) / 2.0 - r) * pitch_um
            balls.append(Terminal(f"{jedec_row(r)}{c + 1}", None, x, y, capture_pad(x, y, capture_um, rules.grid)))
    edge = die_um / 2.0 - pad_inset_um
    step = pad_pitch_um or (die_um - 2.0 * (pad_inset_um + landing_um)) / (pads_per_side - 1)
    along = (np.arange(pads_per_side) - (pads_per_side - 1) / 2.0) * step
    pads = []
    for side, (dx, dy, ux, uy) in enumerate([(0, 1, 1, 0), (1, 0, 0, -1), (0, -1, -1, 0), (-1, 0, 0, 1)]):
        for k, a in enumerate(along):
            x = round(dx * edge + ux * a, 6)
            y = round(dy * edge + uy * a, 6)
            index = side * pads_per_side + k
            net = nets(index) if nets else f"N{index + 1}"
            pads.append(Terminal(f"P{index + 1}", net, x, y, square(x, y, landing_um)))
    keepin = square(0.0, 0.0, die_um - 2.0 * (seal_um + seal_clearance_um))
    return Die(tuple(pads), tuple(balls), keepin, rules)

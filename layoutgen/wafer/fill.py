"""Dummy plating fill (thieving): stripes in the edge region, tied to the plating network. All lengths in µm.

The fill goes where no whole die is: partial-die sites and the band up to the contact ring,
keeping clear of the whole dies' sites and the mark areas. It is drawn as horizontal
stripes at the period that gives the target density; each stripe is a rectangle ending
inside the contact ring or crossing a bus line, so it plates with the rest (a stripe that
would float is left out). The lanes between whole dies get none: their saw kerf already
holds the bus, and metal beside the kerf would stay on the singulated dies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from .outline import WaferShape

FILL_LINE_UM = 20.0   # stripe width (propose as a PDK parameter)

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Fill:
    """The fill stripes, the area they may occupy, the stripe period and width."""

    stripes: list[Polygon]
    region_area: float
    period: float
    line: float

    @property
    def density(self) -> float:
        """Fraction of the fill region the stripes cover."""
        return float(sum(p.area for p in self.stripes) / self.region_area) if self.region_area else 0.0


def stripe_period(density: float, line: float, grid: float) -> float:
    """The stripe period (on `grid`) that covers `density` of an area with stripes of width `line`."""
    return max(round(line / density / grid) * grid, line + grid)


def _subtract(lo: float, hi: float, blocks: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The parts of [lo, hi] outside every block interval."""
    out = [(lo, hi)]
    for a, b in sorted(blocks):
        nxt = []
        for x0, x1 in out:
            if b <= x0 or a >= x1:
                nxt.append((x0, x1))
                continue
            if a > x0:
                nxt.append((x0, a))
            if b < x1:
                nxt.append((b, x1))
        out = nxt
    return out


def thieving(reach: WaferShape, blocked: list[Box], ring: Polygon, bus: list[Polygon], density: float, grid: float,
             region_area: float, line: float = FILL_LINE_UM) -> Fill:
    """Stripes of width `line` at `density`: inside `reach` (its usable region), outside the `blocked`
    boxes, each touching the `ring` or a `bus` line; `region_area` is the area they fill (for the density)."""
    period = stripe_period(density, line, grid)
    r, h = reach.usable_radius, line / 2.0
    ys = np.round((np.arange(-r + period / 2, r, period)) / grid) * grid
    lo, hi = reach.x_intervals(ys - h, ys + h)
    blocks = np.asarray(blocked, float).reshape(-1, 4)
    rects = []
    for y, los, his in zip(ys.tolist(), lo, hi):
        hit = blocks[(blocks[:, 1] < y + h) & (blocks[:, 3] > y - h)]
        cuts = list(zip(hit[:, 0].tolist(), hit[:, 2].tolist()))
        for a, b in zip(los, his):
            if not np.isfinite(a):
                continue
            a, b = np.ceil(a / grid) * grid, np.floor(b / grid) * grid
            rects += [(x0, y - h, x1, y + h) for x0, x1 in _subtract(a, b, cuts) if x1 - x0 >= line]
    if not rects:
        return Fill([], region_area, period, line)
    arr = np.asarray(rects)
    stripes = shapely.box(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    shapely.prepare(ring)
    keep = shapely.intersects(ring, stripes)
    if bus:
        hit, _ = shapely.STRtree(bus).query(stripes, predicate="intersects")
        keep[hit] = True
    return Fill(list(stripes[keep]), region_area, period, line)

"""Dummy plating fill (thieving): stripes in the edge region, tied to the plating network. All lengths in µm.

The fill goes where no whole die is: partial-die sites and the band up to the contact ring,
keeping clear of the whole dies' sites and the mark areas. It is drawn as horizontal
stripes at the period that gives the target density (wider stripes where narrow ones would
stand closer than the plating space). Each stripe crosses a vertical bus line, so it plates
with the rest (a stripe that would float is left out), and keeps the plating space from
everything else on the network: the contact ring (no V-shaped notch where a straight edge
meets the ring's curve), the bus lines it runs beside, the ends of bus lines, and the bus
line it stops at (it ends flush with the line's far edge, or a space before it, never in
a sliver). The lanes between whole dies get none: their saw kerf already holds the bus, and
metal beside the kerf would stay on the singulated dies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from ..units import snap_down, snap_up
from .outline import WaferShape

FILL_LINE_UM = 20.0   # narrowest stripe (propose as a PDK parameter)

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


def stripe_pitch(density: float, line: float, space: float, grid: float) -> tuple[float, float]:
    """(width, period) on `grid` of stripes covering `density` of an area, the gaps at least `space`:
    stripes of `line` while their gap allows, wider ones above line / (line + space)."""
    width = max(snap_up(line, 2 * grid), snap_up(density * space / (1.0 - density), 2 * grid))
    return width, max(round(width / density / grid) * grid, width + snap_up(space, grid))


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


def _bus_blocks(bus: list[Polygon], space: float) -> tuple[list[Box], np.ndarray]:
    """Boxes no stripe may enter near the bus (each horizontal line and the ends of each vertical
    one, grown by `space`), and the vertical lines' bounds (n, 4) a stripe may cross."""
    if not bus:
        return [], np.zeros((0, 4))
    b = shapely.bounds(np.asarray(bus, dtype=object))
    tall = (b[:, 3] - b[:, 1]) > (b[:, 2] - b[:, 0])
    blocks = [(x0 - space, y0 - space, x1 + space, y1 + space) for x0, y0, x1, y1 in b[~tall].tolist()]
    for x0, y0, x1, y1 in b[tall].tolist():
        blocks += [(x0 - space, y - space, x1 + space, y + space) for y in (y0, y1)]
    return blocks, b[tall]


def _clear_of_crossings(x0: np.ndarray, x1: np.ndarray, ys: np.ndarray, h: float, cross: np.ndarray,
                        space: float) -> tuple[np.ndarray, np.ndarray]:
    """Stripe ends moved inward where they would stop in a sliver at a vertical bus line: an end
    less than `space` before a line goes back to `space` before it, one less than `space` past
    it comes back flush with the line's far edge."""
    x0, x1 = x0.copy(), x1.copy()
    for bx0, by0, bx1, by1 in cross.tolist():
        row = (ys - h >= by0) & (ys + h <= by1)
        gap1 = row & (x1 > bx0 - space) & (x1 < bx0)
        stub1 = row & (x1 > bx1) & (x1 < bx1 + space)
        x1 = np.where(gap1, bx0 - space, np.where(stub1, bx1, x1))
        gap0 = row & (x0 < bx1 + space) & (x0 > bx1)
        stub0 = row & (x0 < bx0) & (x0 > bx0 - space)
        x0 = np.where(gap0, bx1 + space, np.where(stub0, bx0, x0))
    return x0, x1


def _clear_of_ring(x0: np.ndarray, x1: np.ndarray, ys: np.ndarray, h: float, ring: Polygon, space: float,
                   grid: float) -> tuple[np.ndarray, np.ndarray]:
    """Stripe ends cut back to `space` from the contact ring where the wafer's round model of it
    (`WaferShape`) is not exact: at the notch, whose ring edge bulges inward."""
    zone = ring.buffer(space, join_style="mitre")
    shapely.prepare(zone)
    stripes = shapely.box(x0, ys - h, x1, ys + h)
    near = np.flatnonzero(shapely.intersects(zone, stripes))
    x0, x1 = x0.copy(), x1.copy()
    mid = (x0 + x1) / 2
    for k in near.tolist():
        ix0, _, ix1, _ = shapely.intersection(zone, stripes[k]).bounds
        if ix1 <= mid[k]:
            x0[k] = max(x0[k], snap_up(ix1, grid))
        elif ix0 >= mid[k]:
            x1[k] = min(x1[k], snap_down(ix0, grid))
        else:
            x1[k] = x0[k]   # the ring crosses it: no stripe
    return x0, x1


def thieving(reach: WaferShape, blocked: list[Box], ring: Polygon, bus: list[Polygon], density: float, grid: float,
             region_area: float, space: float, line: float = FILL_LINE_UM) -> Fill:
    """Stripes at `density` inside `reach` (its usable region: inside the contact `ring`, less the
    plating `space`), outside the `blocked` boxes, each crossing a vertical `bus` line and `space`
    clear of all other plating metal; `region_area` is the area they fill (for the density).
    The stripes' ends (kept clear of the ring, the bus and the blocked boxes) lose area, so the
    stripes are laid once more at a density raised by what the first laying fell short."""
    first = _lay(reach, blocked, ring, bus, density, grid, region_area, space, line)
    if not first.stripes or first.density >= density:
        return first
    again = min(MAX_DENSITY, density * density / first.density)
    second = _lay(reach, blocked, ring, bus, again, grid, region_area, space, line)
    return second if abs(second.density - density) < abs(first.density - density) else first


# The highest density a second laying asks for (the gaps stay at the plating space all the same).
MAX_DENSITY = 0.95


def _lay(reach: WaferShape, blocked: list[Box], ring: Polygon, bus: list[Polygon], density: float, grid: float,
         region_area: float, space: float, line: float) -> Fill:
    """One laying of the stripes at `density` (see `thieving`)."""
    width, period = stripe_pitch(density, line, space, grid)
    r, h = reach.usable_radius, width / 2.0
    ys = np.round((np.arange(-r + period / 2, r, period)) / grid) * grid
    lo, hi = reach.x_intervals(ys - h, ys + h)
    bus_blocks, cross = _bus_blocks(bus, space)
    blocks = np.asarray(list(blocked) + bus_blocks, float).reshape(-1, 4)
    pieces = []
    for y, los, his in zip(ys.tolist(), lo, hi):
        hit = blocks[(blocks[:, 1] < y + h) & (blocks[:, 3] > y - h)]
        cuts = list(zip(hit[:, 0].tolist(), hit[:, 2].tolist()))
        for a, b in zip(los, his):
            if not np.isfinite(a):
                continue
            a, b = np.ceil(a / grid) * grid, np.floor(b / grid) * grid
            pieces += [(x0, x1, y) for x0, x1 in _subtract(a, b, cuts) if x1 - x0 >= width]
    if not pieces:
        return Fill([], region_area, period, width)
    x0, x1, y = (np.asarray(c) for c in zip(*pieces))
    x0, x1 = _clear_of_ring(x0, x1, y, h, ring, space, grid)
    x0, x1 = _clear_of_crossings(x0, x1, y, h, cross, space)
    long = x1 - x0 >= width
    stripes = shapely.box(x0[long], y[long] - h, x1[long], y[long] + h)
    if not len(stripes) or not bus:
        return Fill([], region_area, period, width)
    hit, _ = shapely.STRtree(bus).query(stripes, predicate="intersects")
    keep = np.zeros(len(stripes), bool)
    keep[hit] = True
    return Fill(list(stripes[keep]), region_area, period, width)

"""Flexible lead on the sheet's bottom: large bulge at the fixed end, small bulge at the tip, a narrow meander between.

In the cell's frame the fixed end sits at the origin and the tip at (0, -offset); the narrow
section runs straight down the axis except in meander blocks, where it swings ±amplitude
across the axis in runs spaced width + space apart, so the lead is long enough to follow
the lift. All lengths in µm.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from layoutgen.layout import Cell
from layoutgen.units import STEP_EPS, snap_up


class MeanderError(ValueError):
    """The meander a lead needs does not fit beside it or along it (the message says by how much)."""


@dataclass(frozen=True)
class Meander:
    """Where a lead swings across its axis: run pitch, amplitude, and blocks (start distance from the fixed end, descents)."""

    pitch: float
    amplitude: float
    blocks: tuple[tuple[float, int], ...] = ()

    @property
    def extra_length(self) -> float:
        """Length the swings add to the straight lead."""
        return 2 * self.amplitude * sum(n for _, n in self.blocks)


def plan_meander(extra_um: float, width: float, space: float, amplitude_max: float,
                 free: list[tuple[float, float]], grid: float) -> Meander:
    """The fewest meander runs that add `extra_um` to a lead, placed in the `free` axis intervals.

    `free` holds (start, end) distances from the fixed end where the lead may swing up to
    `amplitude_max` off its axis. Raises MeanderError when the swings do not fit.
    """
    pitch = snap_up(width + space, grid)
    a_min = snap_up((width + space) / 2, grid)
    if extra_um <= 0:
        return Meander(pitch, 0.0)
    if amplitude_max < a_min:
        raise MeanderError(f"no room beside the lead to swing: amplitude ≤ {amplitude_max:g} µm, a meander needs "
                           f"≥ {a_min:g} µm (width + space)")
    needed = math.ceil(extra_um / (2 * amplitude_max) - STEP_EPS)
    blocks: list[tuple[float, int]] = []
    left = needed
    for start, end in sorted(free):
        if left == 0:
            break
        t0 = snap_up(start, grid)
        fits = int(math.floor((end - t0) / pitch + STEP_EPS))
        if fits >= 1:
            n = min(fits, left)
            blocks.append((t0, n))
            left -= n
    if left:
        room = sum(n for _, n in blocks)
        raise MeanderError(f"needs {needed} meander runs of ±{amplitude_max:g} µm ({needed * pitch:g} µm of axis) to add "
                           f"{extra_um:g} µm, but the free stretches of the lead hold {room}")
    runs = sum(n for _, n in blocks)
    amplitude = max(a_min, snap_up(extra_um / (2 * runs), grid))
    return Meander(pitch, amplitude, tuple(blocks))


def lead_centreline(offset_um: float, meander: Meander) -> np.ndarray:
    """Vertices of the lead's centreline from the fixed end (0, 0) to the tip (0, -offset)."""
    pts = [(0.0, 0.0)]
    a, q = meander.amplitude, meander.pitch
    for t0, n in meander.blocks:
        side = 1.0
        pts.append((0.0, -t0))
        for k in range(n):
            pts.append((side * a, -(t0 + k * q)))
            pts.append((side * a, -(t0 + (k + 1) * q)))
            side = -side
        pts.append((0.0, -(t0 + n * q)))
    pts.append((0.0, -offset_um))
    return np.array(pts)


def lead_outline(centreline: np.ndarray, width: float, fixed_bulge: Polygon, tip_bulge: Polygon, grid: float) -> Polygon:
    """The lead: the centreline drawn `width` wide (mitred), the fixed bulge at its start and the tip bulge at its end."""
    narrow = LineString(centreline).buffer(width / 2, cap_style="flat", join_style="mitre", mitre_limit=10.0)
    tip = shapely.affinity.translate(tip_bulge, *centreline[-1])
    fixed = shapely.affinity.translate(fixed_bulge, *centreline[0])
    return shapely.set_precision(shapely.union_all([fixed, narrow, tip]), grid)


def lead_length(centreline: np.ndarray) -> float:
    """Centreline length from the fixed end to the tip, µm."""
    return float(LineString(centreline).length)


def lead_cell(offset_um: float, meander: Meander, width: float, fixed_bulge: Polygon, tip_bulge: Polygon,
              grid: float, liner: Polygon | None = None, bond: Polygon | None = None, liner_layer: str = "LINER",
              tip_stem: Polygon | None = None) -> Cell:
    """A lead cell: LEAD, the fixed end's liner (on `liner_layer`) when given, BOND on the tip and the tip's stem when given."""
    key = repr((round(offset_um, 6), meander, round(width, 6), shapely.to_wkb(fixed_bulge).hex(),
                shapely.to_wkb(tip_bulge).hex(), None if liner is None else shapely.to_wkb(liner).hex(),
                None if bond is None else shapely.to_wkb(bond).hex())
               + ((liner_layer, None if tip_stem is None else shapely.to_wkb(tip_stem).hex())
                  if liner_layer != "LINER" or tip_stem is not None else ()))
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    runs = sum(n for _, n in meander.blocks)
    name = f"SHEET_LEAD_{offset_um:g}_R{runs}_{digest}".replace(".", "p")
    cell = Cell(name).add("LEAD", lead_outline(lead_centreline(offset_um, meander), width, fixed_bulge, tip_bulge, grid))
    if liner is not None:
        cell.add(liner_layer, liner)
    if bond is not None:
        cell.add("BOND", shapely.affinity.translate(bond, 0.0, -offset_um))
    if tip_stem is not None:
        cell.add("STEM", shapely.affinity.translate(tip_stem, 0.0, -offset_um))
    return cell

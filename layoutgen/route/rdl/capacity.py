"""How many traces fit between two balls, and whether each ring can pass its inner nets (µm)."""

from __future__ import annotations

import math

import numpy as np

from layoutgen.errors import RoutingError
from .grid import BallGrid


def gap_capacity(pitch: float, capture_diameter: float, width: float, space: float) -> int:
    """Traces a gap g = p − D between two capture pads carries: ⌊(g − s) / (w + s)⌋."""
    gap = pitch - capture_diameter
    return max(0, math.floor((gap - space) / (width + space) + 1e-9))


def ring_name(ring: int) -> str:
    """A packaging engineer's name for a ring of the array."""
    return "ring 0 (outer ring)" if ring == 0 else f"ring {ring}"


def check_ring_capacity(
    grid: BallGrid,
    used: np.ndarray,
    capacity: int,
    capture_diameter: float,
    width: float,
    space: float,
) -> None:
    """Raise before routing when the nets inside some ring outnumber what its gaps carry."""
    rings = grid.ring[used]
    for ring in range(int(rings.max(initial=0))):
        inner = int(np.count_nonzero(rings > ring))
        gaps = grid.ring_positions(ring)
        if inner > gaps * capacity:
            gap = grid.pitch - capture_diameter
            raise RoutingError(
                f"{ring_name(ring)} of the ball array must let {inner} inner nets out, but its "
                f"{gaps} gaps of {gap:.1f} µm (pitch {grid.pitch:g} µm − capture pad "
                f"Ø{capture_diameter:.1f} µm) carry only {capacity} traces each of "
                f"{width:g} µm at {space:g} µm spacing ({gaps * capacity} in all); "
                f"use a larger pitch, smaller capture pads, or fewer inner balls"
            )

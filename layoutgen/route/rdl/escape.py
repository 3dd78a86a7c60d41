"""Tracks between two balls: where the traces passing a gap run (all lengths in µm).

The tracks of a gap are centred between two ball columns at the trace pitch (w + s), as many
as ⌊(g − s)/(w + s)⌋, so that every track keeps s from both capture pads. The same offsets,
taken from the middle between two rows, are the levels of the channel between two rings.
"""

from __future__ import annotations

import math

import numpy as np

from ...units import STEP_EPS, snap, snap_down


def lane_offsets(capacity: int, pitch_um: float, clearance: float, lam: float, quantum: float) -> np.ndarray:
    """Track offsets from a gap's centre line, all keeping `clearance` from both ball centres."""
    room = pitch_um / 2.0 - clearance  # largest |offset| allowed
    if room < 0:
        return np.zeros(0)
    fits = math.floor(2.0 * (room - quantum) / lam + STEP_EPS) + 1
    count = max(0, min(capacity, fits))
    raw = (np.arange(count) - (count - 1) / 2.0) * lam
    return np.array([math.copysign(snap_down(abs(o), quantum), o) for o in raw])


def gap_track(column_u: float, pitch_um: float, offset: float, quantum: float) -> float:
    """Local u of a track: the gap's centre line (on the grid) plus its offset."""
    return snap(column_u + pitch_um / 2.0, quantum) + offset

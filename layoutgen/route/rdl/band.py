"""Fan-out from the outer ball ring to the pad row, one side at a time (local frame, µm).

Each trace leaves the array on its lane at u0 and must reach its pad at u1. It runs straight
out, takes one 45° jog of |u1 − u0| sideways starting at height h, and runs straight into the
pad. Traces moving the same way are settled from the front of the move backwards, each one
starting its jog as early as the trace ahead, the outer balls it passes over and the pads it
passes under allow; clearances are measured in the octagonal norm, which for 0/45/90° traces
is exact and never exceeds the Euclidean distance. A jog that would end too close under its
pad is flattened instead: 45° up to the highest level the pad row allows, then flat, then up
into the pad, provided the trace behind it ends before the flat part. Traces moving towards
each other, or not at all, cannot meet, because the pads they end on are ordered and spaced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...units import LENGTH_EPS_UM, PARALLEL_EPS, snap_down, snap_up
from .channel import ChannelFull, Clearance, Curve, Floor, channel_curves
from .geometry import SQRT2


class BandBlocked(Exception):
    """A trace finds no jog height in the band: carries its index and the reason."""

    def __init__(self, index: int, reason: str) -> None:
        """Remember which trace is blocked and why."""
        super().__init__(reason)
        self.index = index
        self.reason = reason


@dataclass(frozen=True)
class Band:
    """One side's fan-out problem: traces in pad order and the obstacles they pass."""

    u0: np.ndarray  # lane u of every trace, in pad order
    u1: np.ndarray  # pad centre u
    floor: np.ndarray  # lowest v a jog may start at
    top: np.ndarray  # highest v a jog may end at (its notch with the pad's lower edge ≥ s)
    flat_top: np.ndarray  # highest v a flattened jog may run flat at (s below the pad's edge)
    own_clear: float  # a jog from an outer ball starting off its centre starts this far above it
    own_jog: float  # a jog from an outer ball's centre is at least this long (bends outside the pad)
    own_ball: np.ndarray  # index of the trace's outer ball in ball_*, or −1
    own_pad: np.ndarray  # index of the trace's pad in pad_*
    ball_u: np.ndarray  # outer-row balls (every ball of this side's outer row)
    ball_v: np.ndarray
    ball_reach: float  # octagonal clearance zone half-size of an outer ball, for centrelines
    pad_lo: np.ndarray  # pad clearance zones: u extent and extreme u − v, u + v
    pad_hi: np.ndarray
    pad_u_minus_v: np.ndarray  # max over the zone of (u − v)
    pad_u_plus_v: np.ndarray  # min over the zone of (u + v)
    pad_bottom: np.ndarray  # lowest v of the zone
    lam: float  # centreline pitch of parallel orthogonal runs
    lam_d: float  # centreline pitch of parallel 45° runs
    quantum: float
    ball_names: tuple[str, ...]  # for messages: the outer-row balls
    pad_names: tuple[str, ...]  # for messages: the pads, in pad order


@dataclass(frozen=True)
class Jog:
    """Where a trace starts its 45° jog (h) and, if the jog is flattened, the v it runs flat at;
    or, when the band is drawn as a channel, every trace's staircase (`stairs`, else None)."""

    h: np.ndarray
    level: np.ndarray
    stairs: tuple[Curve, ...] | None = None

    def stair(self, k: int) -> Curve | None:
        """Trace k's staircase through the band drawn as a channel (None: drawn by its jog)."""
        return None if self.stairs is None else self.stairs[k]


def jog_starts(band: Band, clear: Clearance | None = None) -> Jog:
    """Jog start of every trace (NaN for traces that run straight) and flat levels (NaN: none).

    When one jog per trace does not fit and `clear` (the octagon a centreline keeps out of around
    another net's) is given, the band is drawn as a channel instead; BandBlocked when neither fits.
    """
    h = np.full(len(band.u0), np.nan)
    level = np.full(len(band.u0), np.nan)
    try:
        for mirror, moving in ((False, band.u1 > band.u0), (True, band.u1 < band.u0)):
            hh, ll = _forward(band, mirror)
            h[moving], level[moving] = hh[moving], ll[moving]
    except BandBlocked as blocked:
        if clear is None:
            raise
        return Jog(h, level, band_stairs(band, clear, blocked))
    return Jog(h, level)


def band_stairs(band: Band, clear: Clearance, blocked: BandBlocked) -> tuple[Curve, ...]:
    """Every trace's staircase through the band drawn as a channel (empty: straight up), or
    `blocked` raised again, its reason extended by the levels the channel lacks.

    Floor: a centreline running over the outer row keeps its clearance from every outer ball's
    metal, teardrops included (`ball_reach` above the row), which also leaves a trace from its own
    outer ball room for its teardrop and for the bend above it. Ceiling: the lowest clearance line
    of the side's pads, so a run under any pad keeps the space, and the rise into its own pad
    bends at least the jog clearance below it.
    """
    low = snap_up(float(np.max(band.ball_v)) + band.ball_reach, band.quantum) if len(band.ball_v) else \
        float(np.min(band.floor))
    clear_own = [snap_up(float(f) + band.own_clear, band.quantum) for f in band.floor]
    own = np.where(band.own_ball >= 0, np.maximum(low, clear_own), low)
    ceiling = snap_down(min(float(np.min(band.pad_bottom)), float(np.min(band.top))), band.quantum)
    floor = Floor(low, low, np.inf, np.zeros(len(band.u0), dtype=bool), own)
    try:
        return tuple(channel_curves(band.u0, band.u1, floor, ceiling, clear))
    except ChannelFull as full:
        raise BandBlocked(blocked.index, f"{blocked.reason}; drawn as a channel, the band would need "
                          f"{full.needed:.1f} µm of its {ceiling - low:.1f} µm for the trace to pad "
                          f"{band.pad_names[full.index]}") from None


def _forward(band: Band, mirror: bool) -> tuple[np.ndarray, np.ndarray]:
    """Jog heights (and flat levels) of the traces moving towards +u (−u when mirrored)."""
    p = _Pass(band, mirror)
    h = np.full(len(p.u0), np.nan)
    level = np.full(len(p.u0), np.nan)
    flat_from = np.full(len(p.u0), np.nan)
    for i in range(len(p.u0) - 1, -1, -1):
        if p.u1[i] <= p.u0[i]:
            continue
        (lb, why_lb), (ub, why_ub), pad_ub = p.bounds(i, h)
        j = i + 1
        if j < len(p.u0) and not np.isnan(flat_from[j]) and p.u1[i] > flat_from[j] - band.lam:
            raise BandBlocked(p.orig(i), f"the trace ahead (to pad {band.pad_names[p.orig(j)]}) "
                              f"runs flat under the pad row where this one must rise to its pad")
        start = p.clear_of_own_ball(i, snap_up(lb, band.quantum))
        if start <= ub + LENGTH_EPS_UM:
            h[i] = start
            continue
        flat = p.flat_level(i, start) if start <= pad_ub + LENGTH_EPS_UM else None
        if flat is None:
            raise BandBlocked(
                p.orig(i),
                f"its {p.u1[i] - p.u0[i]:.1f} µm sideways jog must start above {start:.1f} µm to "
                f"clear {why_lb} but below {ub:.1f} µm to clear {why_ub}",
            )
        h[i], level[i], flat_from[i] = start, flat, p.u0[i] + (flat - start)
    out_h, out_level = np.empty_like(h), np.empty_like(level)
    out_h[p.order], out_level[p.order] = h, level
    return out_h, out_level


class _Pass:
    """One direction's view of the band: u mirrored when the traces move towards −u."""

    def __init__(self, band: Band, mirror: bool) -> None:
        """Mirror and reorder the band so that the traces of interest move towards +u."""
        sign = -1.0 if mirror else 1.0
        self.band, self.order = band, np.arange(len(band.u0))[::-1] if mirror else np.arange(len(band.u0))
        self.u0, self.u1 = sign * band.u0[self.order], sign * band.u1[self.order]
        self.floor, self.top = band.floor[self.order], band.top[self.order]
        self.flat_top = band.flat_top[self.order]
        self.own_ball, self.own_pad = band.own_ball[self.order], band.own_pad[self.order]
        self.ball_u = sign * band.ball_u
        if mirror:
            self.pad_lo, self.pad_hi, self.pad_m = -band.pad_hi, -band.pad_lo, -band.pad_u_plus_v
        else:
            self.pad_lo, self.pad_hi, self.pad_m = band.pad_lo, band.pad_hi, band.pad_u_minus_v
        self.ball_ids, self.pad_ids = np.arange(len(self.ball_u)), np.arange(len(self.pad_lo))

    def orig(self, i: int) -> int:
        """Index in pad order of position i of this pass."""
        return int(self.order[i])

    def bounds(self, i: int, h: np.ndarray) -> tuple[tuple[float, str], tuple[float, str], float]:
        """(lowest jog start, why), (highest jog start, why) and the highest allowed by pads alone."""
        b, u0, u1 = self.band, self.u0[i], self.u1[i]
        lb, why_lb = float(self.floor[i]), "the outer ball row"
        j = i + 1
        if j < len(self.u0) and self.u1[j] > self.u0[j] and self.u0[j] - u1 < b.lam:
            chain = h[j] - (self.u0[j] - u0) + b.lam_d * SQRT2
            if chain > lb:
                lb, why_lb = chain, f"the trace beside it (to pad {b.pad_names[self.orig(j)]})"
        ahead = (self.ball_u > u0) & (self.ball_u - b.ball_reach < u1) & (self.ball_ids != self.own_ball[i])
        if ahead.any():
            need = u0 - self.ball_u[ahead] + b.ball_v[ahead] + SQRT2 * b.ball_reach
            k = int(np.argmax(need))
            if need[k] > lb:
                lb, why_lb = float(need[k]), f"outer-ring ball {b.ball_names[int(self.ball_ids[ahead][k])]}"
        pad_ub, why_ub = np.inf, ""
        under = (self.pad_lo < u1) & (self.pad_hi > u0) & (self.pad_ids != self.own_pad[i])
        if under.any():
            limit = u0 - self.pad_m[under]
            k = int(np.argmin(limit))
            pad_ub, why_ub = float(limit[k]), f"pad {b.pad_names[int(self.pad_ids[under][k])]}"
        ub = float(self.top[i] - (u1 - u0))
        if pad_ub < ub:
            return (lb, why_lb), (pad_ub, why_ub), pad_ub
        return (lb, why_lb), (ub, "the pad row (fan-out band too short)"), pad_ub

    def clear_of_own_ball(self, i: int, start: float) -> float:
        """A jog leaving an outer ball bends clear of its pad: a bend on or just above the pad
        would leave a notch narrower than s between the trace and its own pad. Either it starts
        at the centre (radially) and is long enough, or it starts far enough above the centre."""
        b = self.band
        if self.own_ball[i] < 0:
            return start
        if start <= self.floor[i] + LENGTH_EPS_UM and self.u1[i] - self.u0[i] >= b.own_jog - LENGTH_EPS_UM:
            return start
        return max(start, snap_up(self.floor[i] + b.own_clear, b.quantum))

    def flat_level(self, i: int, start: float) -> float | None:
        """The v a jog starting at `start` may run flat at to reach its pad, or None."""
        b, u0, u1 = self.band, self.u0[i], self.u1[i]
        near = (self.pad_lo < u1) & (self.pad_hi > u0) & (self.pad_ids != self.own_pad[i])
        level = min([float(self.flat_top[i])] + list(b.pad_bottom[self.pad_ids[near]]))
        level = snap_down(level, b.quantum)
        if level < start:
            return None
        flat_u0 = u0 + (level - start)
        over = (self.ball_u + b.ball_reach > flat_u0) & (self.ball_u - b.ball_reach < u1)
        over &= self.ball_ids != self.own_ball[i]
        if over.any() and level < float(np.max(b.ball_v[over])) + b.ball_reach:
            return None
        return level


def _orig(order: np.ndarray, i: int) -> int:
    """Index in pad order of position i of a (possibly mirrored) pass."""
    return int(order[i])


def band_path(
    start: list[tuple[float, float]], u0: float, u1: float, h: float, level: float, pad_v: float,
    stair: Curve | None = None,
) -> list[tuple[float, float]]:
    """Local centreline: the escape start, the jog (if any, flat at `level` unless NaN) or the
    staircase through the band drawn as a channel (`stair`), the pad."""
    pts = list(start)
    if stair is not None:
        pts += stair
    elif not math.isnan(h) and u1 != u0:
        if math.isnan(level):
            pts += [(u0, h), (u1, h + abs(u1 - u0))]
        else:
            pts += [(u0, h), (u0 + math.copysign(level - h, u1 - u0), level), (u1, level)]
    pts.append((u1, pad_v))
    return clean_path(pts)


def clean_path(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Drop repeated points and points in the middle of a straight run."""
    out: list[tuple[float, float]] = []
    for p in pts:
        if out and abs(p[0] - out[-1][0]) < LENGTH_EPS_UM and abs(p[1] - out[-1][1]) < LENGTH_EPS_UM:
            continue
        if len(out) >= 2:
            ax, ay = out[-1][0] - out[-2][0], out[-1][1] - out[-2][1]
            bx, by = p[0] - out[-1][0], p[1] - out[-1][1]
            if abs(ax * by - ay * bx) < PARALLEL_EPS and ax * bx + ay * by > 0:
                out[-1] = p
                continue
        out.append(p)
    return out

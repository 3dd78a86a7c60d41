"""Sideways runs in the channel between two rings of balls (local frame, all lengths in µm).

A trace enters the channel from below at u `arrive` (a gap track of the inner ring, or its own
ball's centre) and leaves upwards at u `leave` (a gap track of the outer ring). In between its
centreline is a non-decreasing staircase v(u) of flat and 45° pieces. Traces moving the same
way are laid from the front of the move backwards, each one as low as it can run while
hugging the octagonal clearance contour of the trace ahead (classic contour river routing):
for a contour v_j(u) of slopes 0 and 1, the lowest centreline keeping the spacing rule is
v_j(u + t_o) + λ, with λ the orthogonal centreline pitch and t_o the chamfer of the
clearance octagon. Traces moving towards each other, or not at all, cannot meet, because the
tracks they arrive on and leave on are ordered and at least a pitch apart.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from ...units import LENGTH_EPS_UM, PARALLEL_EPS

Curve = list[tuple[float, float]]  # breakpoints (u, v), u non-decreasing; equal u = vertical step


@dataclass(frozen=True)
class Clearance:
    """The octagon a centreline keeps out of around another net's centreline: λ and chamfer t_o."""

    lam: float
    t_o: float


class ChannelFull(Exception):
    """A trace cannot stay below the channel's ceiling: carries its index and the height needed."""

    def __init__(self, index: int, needed: float) -> None:
        """Remember which trace overflowed and how high it had to run."""
        super().__init__(index, needed)
        self.index = index
        self.needed = needed


@dataclass(frozen=True)
class Floor:
    """Lowest centreline of a channel: `low`, raised to `high` from u = `step_u` on for the traces
    flagged `raised` (those entering the clockwise corner square, whose lower half belongs to the
    neighbouring side), and to `own` for traces leaving their own ball below (room for its
    teardrop before they turn)."""

    low: float
    high: float
    step_u: float
    raised: np.ndarray
    own: np.ndarray


def channel_curves(
    arrive: np.ndarray, leave: np.ndarray, floor: Floor, ceiling: float, clear: Clearance
) -> list[Curve]:
    """Centreline staircase of every trace in one channel, traces in order (empty: straight)."""
    curves: list[Curve] = [[] for _ in arrive]
    _forward(arrive, leave, floor, ceiling, clear, curves, mirror=False)
    _forward(arrive, leave, floor, ceiling, clear, curves, mirror=True)
    return curves


def _floor_curve(floor: Floor, raised: bool, low: float, a: float, mirror: bool) -> Curve:
    """The floor a trace starting at (mirrored) u = a runs on, as a staircase."""
    far = a + 1e7
    if not raised or mirror:
        return [(a - 1.0, low), (far, low)]
    if floor.step_u <= a:
        return [(a - 1.0, max(low, floor.high)), (far, max(low, floor.high))]
    return [(a - 1.0, low), (floor.step_u, low), (floor.step_u, max(low, floor.high)), (far, max(low, floor.high))]


def _forward(
    arrive: np.ndarray, leave: np.ndarray, floor: Floor, ceiling: float, clear: Clearance,
    curves: list[Curve], mirror: bool,
) -> None:
    """Lay the traces moving to +u (to −u when mirrored), front first."""
    sign = -1.0 if mirror else 1.0
    order = list(range(len(arrive)))
    if mirror:
        order.reverse()
    ahead: tuple[Curve, float] | None = None  # curve of the trace ahead (mirrored u) and its leave
    for i in reversed(order):
        a, l = sign * float(arrive[i]), sign * float(leave[i])  # Python floats: numpy scalars are slow here
        if l <= a:
            ahead = None
            continue
        contour = _contour(ahead[0], ahead[1], clear) if ahead else []
        base = _floor_curve(floor, bool(floor.raised[i]), float(floor.own[i]), a, mirror)
        curve = _hug(a, l, floor.low, _envelope(contour, base, a, l))
        if curve[-1][1] > ceiling + LENGTH_EPS_UM:
            raise ChannelFull(i, curve[-1][1] - floor.low)
        ahead = (curve, l)
        curves[i] = [(sign * u, v) for u, v in curve] if mirror else curve


def _contour(curve: Curve, leave: float, clear: Clearance) -> Curve:
    """Lowest centreline a trace behind may run at, where the trace ahead forces it up.

    The top of (curve ⊕ clearance octagon): the curve shifted by (−t_o, +λ), and in front of
    every vertical step (the arrival included) the octagon's 45° edge rising to the step's top.
    """
    lam, t_o = clear.lam, clear.t_o
    end = leave - lam
    shifted = [(u - t_o, v + lam) for u, v in curve]
    ramps = [(u - lam, v + t_o, u - t_o) for k, (u, v) in enumerate(curve)
             if k == 0 or abs(curve[k - 1][0] - u) < LENGTH_EPS_UM]
    xs = {u for u, _ in shifted} | {r[0] for r in ramps} | {r[2] for r in ramps} | {end}
    for r0, v0, r1 in ramps:
        for (pu, pv), (qu, qv) in zip(shifted, shifted[1:]):
            if qu > pu and abs(qv - pv) < LENGTH_EPS_UM:
                cross = r0 + (pv - v0)
                if max(r0, pu) <= cross <= min(r1, qu):
                    xs.add(round(cross, 9))
    start = ramps[0][0]
    out: Curve = []
    us = _us(shifted)
    for x in sorted(u for u in xs if start - LENGTH_EPS_UM <= u <= end + LENGTH_EPS_UM):
        lo, hi = _both(shifted, x, us)
        ramp_lo, ramp_hi = _ramps_at(ramps, x)
        lo, hi = max(lo, ramp_lo), max(hi, ramp_hi)
        out += [(x, lo), (x, hi)] if hi > lo + LENGTH_EPS_UM else [(x, hi)]
    return _tidy([(round(u, 9), round(v, 9)) for u, v in out if v > -1e17])


def _envelope(first: Curve, second: Curve, a: float, l: float) -> Curve:
    """Upper envelope of two non-decreasing staircases on [a, l] (each −∞ before its start)."""
    if not first:
        return second
    xs = {u for u, _ in first} | {u for u, _ in second if u <= l} | {a, l}
    for (pu, pv), (qu, qv) in zip(first, first[1:]):
        if qu > pu and qv > pv:
            for v in {v for _, v in second}:
                if pu < pu + (v - pv) < qu:
                    xs.add(round(pu + (v - pv), 9))
    out: Curve = []
    us1, us2 = _us(first), _us(second)
    for x in sorted(u for u in xs if u >= a - 1.0):
        lo1, hi1 = _both(first, x, us1)
        lo2, hi2 = _both(second, x, us2)
        lo, hi = max(lo1, lo2), max(hi1, hi2)
        out += [(x, lo), (x, hi)] if hi > lo + LENGTH_EPS_UM else [(x, hi)]
    return _tidy([(u, v) for u, v in out if v > -1e17])


def _us(curve: Curve) -> list[float] | None:
    """The u of a staircase's breakpoints when they never decrease (what `_both` bisects), else None."""
    us = [u for u, _ in curve]
    return us if all(a <= b for a, b in zip(us, us[1:])) else None


def _both(curve: Curve, x: float, us: list[float] | None = None) -> tuple[float, float]:
    """Lower and upper value of a staircase at x (the two ends of a vertical step; −∞ outside).

    A staircase rises from −∞ at its first point, so its lower value there is −∞. With `us`
    (`_us(curve)`), only the pieces near x are visited: the same pieces pass the same test.
    (Comparisons written out: the same values as max/min, in a loop run a million times.)
    """
    eps = LENGTH_EPS_UM
    low = high = -1e18
    first, last = 0, len(curve) - 1
    if us is not None:  # pieces whose u range can hold x (a margin wider than the test's)
        first = max(0, bisect_left(us, x - 1e-6) - 1)
        last = min(last, bisect_right(us, x + 1e-6))
    for k in range(first, last):
        pu, pv = curve[k]
        qu, qv = curve[k + 1]
        if pu - eps <= x <= qu + eps:
            if qu - pu < eps:
                up = qv if qv > pv else pv
                down = qv if qv < pv else pv
            else:
                at = pu if pu > x else x
                at = qu if qu < at else at
                up = down = pv + (qv - pv) * (at - pu) / (qu - pu)
            if up > high:
                high = up
            if low < -1e17 or down < low:
                low = down
    if len(curve) == 1 and abs(curve[0][0] - x) < eps:
        low = high = curve[0][1]
    if curve and abs(x - curve[0][0]) < eps:
        low = -1e18
    return low, high


def _ramps_at(ramps: list[tuple[float, float, float]], x: float) -> tuple[float, float]:
    """Lower and upper value at x of the highest 45° ramp (start u, start v, end u) there."""
    eps = LENGTH_EPS_UM
    low = high = -1e18
    for r0, v0, r1 in ramps:
        if r0 - eps <= x <= r1 + eps:
            high = max(high, v0 + (x - r0))
            if x > r0 + eps:
                low = max(low, v0 + (x - r0))
    return low, high


def _hug(a: float, l: float, floor: float, contour: Curve) -> Curve:
    """max(floor, contour) on [a, l] as breakpoints (the contour is −∞ before its first point)."""
    pts: Curve = [(a, floor)]
    if contour and a <= contour[0][0] <= l:
        pts += [(contour[0][0], floor), (contour[0][0], max(floor, contour[0][1]))]
    for (pu, pv), (qu, qv) in zip(contour, contour[1:]):
        if qu < a or pu > l:
            continue
        if qu == pu:
            pts += [(pu, max(floor, pv)), (pu, max(floor, qv))]
            continue
        u0, u1 = max(pu, a), min(qu, l)
        v0 = pv + (qv - pv) * (u0 - pu) / (qu - pu)
        v1 = pv + (qv - pv) * (u1 - pu) / (qu - pu)
        if v1 <= floor:
            pts += [(u0, floor), (u1, floor)]
        elif v0 >= floor:
            pts += [(u0, v0), (u1, v1)]
        else:
            cross = round(u0 + (floor - v0) * (u1 - u0) / (v1 - v0), 9)
            pts += [(u0, floor), (cross, floor), (u1, v1)]
    pts.append((l, pts[-1][1]))
    return _tidy([(round(u, 9), round(v, 9)) for u, v in pts])


def _tidy(pts: Curve) -> Curve:
    """Drop repeated points and middle points of straight runs; keep the staircase monotone."""
    out: Curve = []
    eps = LENGTH_EPS_UM
    for u, v in pts:
        if out:
            u2, v2 = out[-1]
            if v2 > v:
                v = v2
            if abs(u - u2) < eps and abs(v - v2) < eps:
                continue
            if len(out) >= 2:
                u1, v1 = out[-2]
                if abs((u2 - u1) * (v - v2) - (v2 - v1) * (u - u2)) < PARALLEL_EPS:
                    out[-1] = (u, v)
                    continue
        out.append((u, v))
    return out


def channel_inputs(escapes, row: int) -> tuple[list[int], np.ndarray, np.ndarray, np.ndarray]:
    """The traces of a side's escapes (stops per row, outer row first) that cross the channel below
    `row`: their indices, the u they arrive at and leave at, and whether they leave their own ball."""
    ks = [k for k, e in enumerate(escapes) if len(e.stops) - 1 > row]
    arrive = np.array([escapes[k].stops[row + 1] for k in ks])
    leave = np.array([escapes[k].stops[row] for k in ks])
    from_ball = np.array([len(escapes[k].stops) - 1 == row + 1 for k in ks])
    return ks, arrive, leave, from_ball


def drawn(row: int, arrive: np.ndarray, leave: np.ndarray, from_ball: np.ndarray, bounds, clear: Clearance,
          memo: dict | None = None) -> list[Curve]:
    """`channel_curves` of the channel below `row` (`bounds(row, arrive, leave, from_ball)`: its
    floor and ceiling), or its ChannelFull raised; from `memo` when the same side drew the same
    channel before (a side planned again often keeps most of its channels)."""
    key = (row, arrive.tobytes(), leave.tobytes(), from_ball.tobytes())
    found = None if memo is None else memo.get(key)
    if found is None:
        floor, ceiling = bounds(row, arrive, leave, from_ball)
        try:
            found = channel_curves(arrive, leave, floor, ceiling, clear)
        except ChannelFull as full:
            found = full
        if memo is not None:
            memo[key] = found
    if isinstance(found, ChannelFull):
        raise found
    return found


def first_overflow(escapes, bounds, clear: Clearance, memo: dict | None = None) -> tuple[int, float] | None:
    """Where a side's planned escapes (stops per row, outer row first) first overflow a channel
    when drawn, outer rows first: (row above the channel, local u the blocked trace leaves at),
    or None when all draw. `bounds(row, arrive, leave, from_ball)` gives a channel's floor and
    ceiling as the router draws it; `memo`: as `drawn`'s."""
    for row in range(max((len(e.stops) for e in escapes), default=1) - 1):
        _, arrive, leave, from_ball = channel_inputs(escapes, row)
        try:
            drawn(row, arrive, leave, from_ball, bounds, clear, memo)
        except ChannelFull as full:
            return row, float(leave[full.index])
    return None

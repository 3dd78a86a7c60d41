"""Which ball each pad gets, and where its trace crosses every ring of balls (µm).

Every pad faces one die side; every connected ball escapes towards the side of its pad. Seen
from that side (local frame, see `grid`), the traces form one left-to-right order, the order
of the side's pads. Rings are matched from the outside in: the balls of ring r take places in
that order (left to right, as they sit), the other traces pass between them through ring r's
gaps, at most as many per gap as it has tracks. Between two rings a trace may run sideways in
the channel (see `channel`), so inner traces spread out towards the corners ring by ring.
A dynamic programme per ring picks the places that keep every sideways move short; on the
outer ring it keeps each jog within what the fan-out band to the pads allows.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from layoutgen.errors import RoutingError
from layoutgen.units import LENGTH_EPS_UM
from .escape import gap_track
from .grid import SIDES, BallGrid, SideFrame, to_local
from .model import Terminal


def describe(t: Terminal) -> str:
    """`P12 (net A) at (x, y)` for messages."""
    return f"{t.name} (net {t.net}) at ({t.x:.1f}, {t.y:.1f})"


def pad_sides(pads: Sequence[Terminal], grid: BallGrid, clearance: float) -> np.ndarray:
    """The die side each pad faces: the array edge it lies farthest beyond (0 top … 3 left)."""
    x = np.array([p.x for p in pads], dtype=float)
    y = np.array([p.y for p in pads], dtype=float)
    excess = np.stack(
        [y - grid.y.max(), x - grid.x.max(), grid.y.min() - y, grid.x.min() - x], axis=1
    )
    side = np.argmax(excess, axis=1)
    inside = np.flatnonzero(excess[np.arange(len(pads)), side] < clearance)
    if inside.size:
        p = pads[int(inside[0])]
        raise RoutingError(
            f"net {p.net}: pad {describe(p)} lies inside the ball array (less than "
            f"{clearance:.1f} µm beyond its outer ring); the router needs pads outside the outer ring"
        )
    return side


def clockwise_angle(grid: BallGrid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Clockwise angle (degrees) from the array's top-left corner, in array-normalised coordinates."""
    cx, cy = grid.centre
    hx, hy = grid.half_extent
    theta = np.degrees(np.arctan2((np.asarray(y) - cy) / hy, (np.asarray(x) - cx) / hx))
    return np.mod(135.0 - theta, 360.0)


def auto_sectors(grid: BallGrid, balls: Sequence[Terminal], side_counts: np.ndarray,
                 used: np.ndarray | None = None) -> list[np.ndarray]:
    """Candidate sides for every ball (−1: unused) under free assignment, best angular fit first.

    The balls `used` (by default all but the deepest), sorted clockwise, are cut into four angular
    cones sized to the pads of each side. Balls on a cut (the array diagonals) may go to either
    side, outer ones first or inner ones first; every equally good cut is offered, and the lane
    planner picks the one whose pads are reached with the least sideways travel.
    """
    n_pads, n_balls = int(side_counts.sum()), len(balls)
    if n_pads > n_balls:
        raise RoutingError(f"{n_pads} pads but only {n_balls} balls: every pad needs its own ball")
    cx, cy = grid.centre
    hx, hy = grid.half_extent
    radius = np.maximum(np.abs(grid.x - cx) / hx, np.abs(grid.y - cy) / hy)
    names = np.array([b.name for b in balls])
    by_depth = np.lexsort((names, -radius, grid.ring))
    used = np.sort(by_depth[:n_pads]) if used is None else np.sort(used)
    angle = np.round(clockwise_angle(grid, grid.x[used], grid.y[used]), 9)
    candidates, seen = [], set()
    for tie in (radius[used], -radius[used]):
        order = used[np.lexsort((tie, angle))]
        for sides in cone_cuts(np.sort(angle), side_counts):
            key = tuple(order[sides == s].tolist() for s in range(4)).__repr__()
            if key in seen:
                continue
            seen.add(key)
            ball_side = np.full(n_balls, -1)
            ball_side[order] = sides
            candidates.append(ball_side)
    faces = np.stack([grid.depth(s) == grid.ring for s in range(4)], axis=1)
    fits = [c for c in candidates if faces[used, c[used]].all()]
    return fits or candidates


def nearest_balls(grid: BallGrid, pads: Sequence[Terminal], pad_side: np.ndarray) -> np.ndarray:
    """The balls the pads take when each takes one near it: pads matched to the balls facing their
    side at the least total straight-line length, sorted. Unlike the outermost balls, they stay on
    the pads' sides of the array when the pads sit on few sides or off its centre."""
    from scipy.optimize import linear_sum_assignment

    length = _pad_ball_lengths(pads, grid.x, grid.y)
    faces = np.stack([grid.depth(s) == grid.ring for s in range(4)])[pad_side]  # pads × balls
    _, cols = linear_sum_assignment(np.where(faces, length, length + 2.0 * float(length.max(initial=0.0)) + 1.0))
    return np.sort(cols)


def matched_length(pads: Sequence[Terminal], grid: BallGrid, used: np.ndarray) -> float:
    """The least total straight-line length joining every pad to its own ball among `used` (µm)."""
    from scipy.optimize import linear_sum_assignment

    length = _pad_ball_lengths(pads, grid.x[used], grid.y[used])
    rows, cols = linear_sum_assignment(length)
    return float(length[rows, cols].sum())


def _pad_ball_lengths(pads: Sequence[Terminal], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Straight-line distance from every pad centre (rows) to every ball centre at (x, y)."""
    px = np.array([p.x for p in pads], dtype=float)
    py = np.array([p.y for p in pads], dtype=float)
    return np.hypot(px[:, None] - x[None, :], py[:, None] - y[None, :])


def cone_cuts(angle: np.ndarray, side_counts: np.ndarray, limit: int = 9) -> list[np.ndarray]:
    """Cuts of balls sorted clockwise into four runs of the given sizes, nearest the side cones first."""
    n = len(angle)
    if n == 0:
        return [np.zeros(0, dtype=int)]
    bounds = np.cumsum(side_counts)
    shifts = np.arange(-(n // 2), n - n // 2)
    pos = np.mod(np.arange(n)[None, :] - shifts[:, None], n)
    label = np.searchsorted(bounds, pos, side="right")
    centre = 45.0 + 90.0 * label
    off = np.abs(np.mod(angle[None, :] - centre + 180.0, 360.0) - 180.0)
    cost = np.maximum(off - 45.0, 0.0).sum(axis=1)
    best = np.flatnonzero(cost <= cost.min() + LENGTH_EPS_UM)
    mid = best[len(best) // 2]
    ranked = sorted(range(n), key=lambda k: (cost[k] > cost.min() + LENGTH_EPS_UM, cost[k], abs(k - mid)))
    return [label[k] for k in ranked[:limit]]


def explicit_sectors(
    grid: BallGrid, pads: Sequence[Terminal], pad_side: np.ndarray, balls: Sequence[Terminal]
) -> np.ndarray:
    """Side every ball escapes to (−1: unused) for a given ball map: the side of the pad it serves."""
    missing = [b for b in balls if b.net is None]
    if missing:
        raise RoutingError(
            f"explicit mode needs a net on every ball; ball {missing[0].name} at "
            f"({missing[0].x:.1f}, {missing[0].y:.1f}) has none (use mode='auto')"
        )
    pads_of, balls_of = defaultdict(list), defaultdict(list)
    for i, p in enumerate(pads):
        pads_of[p.net].append(i)
    for j, b in enumerate(balls):
        balls_of[b.net].append(j)
    from scipy.optimize import linear_sum_assignment  # here: importing the router does not load scipy.optimize

    pad_angle = clockwise_angle(grid, [p.x for p in pads], [p.y for p in pads])
    ball_angle = clockwise_angle(grid, grid.x, grid.y)
    ball_side = np.full(len(balls), -1)
    for net, pis in pads_of.items():
        bjs = balls_of.get(net, [])
        if len(bjs) < len(pis):
            p = pads[pis[0]]
            raise RoutingError(
                f"net {net}: {len(pis)} pads (e.g. pad {describe(p)}) but {len(bjs)} balls carry "
                f"it in the explicit ball map; every pad needs its own ball of its net"
            )
        diff = np.abs(pad_angle[pis][:, None] - ball_angle[bjs][None, :])
        cost = np.minimum(diff, 360.0 - diff) + 1e-3 * grid.ring[bjs][None, :]
        rows, cols = linear_sum_assignment(cost)
        for r, c in zip(rows, cols):
            ball_side[bjs[c]] = pad_side[pis[r]]
            _check_facing(grid, balls[bjs[c]], bjs[c], pads[pis[r]], int(pad_side[pis[r]]))
    return ball_side


def facing(grid: BallGrid, ball: int, side: int) -> bool:
    """Whether a ball lies on the row of its ring that faces a side (so it can escape there)."""
    return int(grid.depth(side)[ball]) == int(grid.ring[ball])


def _check_facing(grid: BallGrid, ball: Terminal, index: int, pad: Terminal, side: int) -> None:
    """Raise when an explicit map sends a ball to a pad on a side its ring does not face."""
    if facing(grid, index, side):
        return
    ring = int(grid.ring[index])
    faces = [SIDES[s] for s in range(4) if facing(grid, index, s)]
    raise RoutingError(
        f"net {pad.net}: pad {describe(pad)} is on the {SIDES[side]} side but its ball "
        f"{ball.name} at ({ball.x:.1f}, {ball.y:.1f}) sits on the {'/'.join(faces)} row of ring "
        f"{ring}; to reach the {SIDES[side]} side its trace would have to cross the traces of the "
        f"balls in between; the explicit ball map is not planar (give net {pad.net} a ball facing the "
        f"{SIDES[side]} side, or use auto mode)"
    )


@dataclass(frozen=True)
class Escape:
    """One net's plan on its side: its pad, its ball and the u it crosses every row at.

    `stops[r]` is the local u at which the trace crosses row r (row 0 = outer ring); the last
    stop is the ball centre, on the ball's own row.
    """

    pad: int
    ball: int
    stops: tuple[float, ...]


@dataclass(frozen=True)
class SidePlan:
    """One side's escapes in pad order, and their cost (sum of squared sideways moves)."""

    escapes: tuple[Escape, ...]
    cost: float


@dataclass(frozen=True)
class SideJob:
    """Everything the ring planner needs for one side."""

    frame: SideFrame
    balls: Sequence[Terminal]
    pads: Sequence[Terminal]
    sector: np.ndarray  # ball indices escaping to this side
    sector_of: np.ndarray  # side of every ball (−1 unused)
    pad_ids: np.ndarray  # pad indices of this side, sorted along it
    pad_u: np.ndarray  # their local u
    pad_room: np.ndarray  # longest sideways jog the fan-out band allows before each pad
    tracks: np.ndarray  # lane offsets from a gap's centre line
    explicit: bool
    quantum: float  # twice the manufacturing grid
    ball_r: float  # capture pad circumradius
    teardrop_run: float  # straight run from a ball centre a full teardrop needs

    def gap_tracks(self, col: int) -> np.ndarray:
        """Local u of the tracks in the gap right of a column."""
        return gap_track(self.frame.column_u(col), self.frame.pitch, 0.0, self.quantum) + self.tracks


def row_gaps(job: SideJob, row: int) -> list[tuple[int, np.ndarray]]:
    """Gaps of a row that this side's traces may pass, with their usable tracks.

    Only gaps of the row's own ring count (columns row … ncols − 1 − row), and none beside a
    ball another side escapes through, except at the ring's corners. The first gap of the
    ring (counter-clockwise corner) keeps its outer half of tracks for the neighbouring side;
    the last (clockwise corner) takes only as many traces as the channel's upper half has
    levels, since the neighbouring side runs through the lower half of that corner square.
    """
    f = job.frame
    lo, hi = row, f.ncols - 1 - row
    here = np.flatnonzero(f.depth == row)
    owner = {int(f.col[b]): int(job.sector_of[b]) for b in here}
    out = []
    for c in range(lo, hi):
        if any(p not in (lo, hi) and owner.get(p, f.side) not in (f.side, -1) for p in (c, c + 1)):
            continue
        tracks = job.gap_tracks(c)
        if c == lo:
            tracks = tracks[job.tracks > LENGTH_EPS_UM]
        elif c + 1 == hi:
            tracks = tracks[: int(np.count_nonzero(job.tracks > -LENGTH_EPS_UM))]
        if len(tracks):
            out.append((c, tracks))
    return out


def segment_tracks(gaps: list[tuple[int, np.ndarray]], ball_cols: list[int]) -> list[np.ndarray]:
    """Tracks before the first ball, between consecutive balls, and after the last ball of a row."""
    bounds = [-(10**9)] + ball_cols + [10**9]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        parts = [t for c, t in gaps if a <= c and c + 1 <= b]
        out.append(np.concatenate(parts) if parts else np.zeros(0))
    return out


BAND_SHARE = 0.5  # share of the band's jog room used to fan the ends of a side out to its pads
HOLD = 0.3  # weight of a trace's crossing of the row above in its target on the next row
CHANNEL_MARGIN = 2  # channel levels a fan of traces moving sideways loses to its 45° steps


@dataclass
class _Slot:
    """A pad's place in the side's order while rings are matched from the outside in."""

    pad: int
    net: str | None
    target: float
    stops: list


def plan_side(job: SideJob) -> SidePlan:
    """Ring-by-ring plan of one side: which ball each pad gets and where it crosses every row."""
    return _plan_rows(job, None)


def relieve_channels(
    job: SideJob, plan: SidePlan, overflow: Callable[[Sequence[Escape]], tuple[int, float] | None]
) -> SidePlan:
    """A side's plan again, its channels' sideways traffic limited, when a channel overflows.

    `overflow` draws the side's channels and returns the row above the first that overflows and
    the local u where, or None. The side is planned again with each channel between two rows
    carrying at most `channel_cap` traces past a ball towards either corner; while a channel
    still overflows, one less towards its corner (in it and every channel inside it). Returns
    the last plan that planned (drawing it raises the channel's own reason if it still overflows).
    """
    depth = max((len(e.stops) for e in plan.escapes), default=0)
    caps = {(r, e): channel_cap(job) for r in range(depth) for e in (0, 1)}
    try:
        relieved = _plan_rows(job, caps)
    except RoutingError:
        return plan
    while (over := overflow(relieved.escapes)) is not None:
        row, u = over
        end = int(u > float(np.median(job.frame.u)))
        if caps.get((row, end), 0) <= 0:
            break
        for r in range(row, depth):
            caps[(r, end)] = max(caps.get((r, end), 1) - 1, 0)
        try:
            relieved = _plan_rows(job, caps)
        except RoutingError:
            break
    return relieved


def _plan_rows(job: SideJob, caps: dict | None) -> SidePlan:
    """One ring-by-ring plan of a side, its channels' sideways traffic limited by `caps` (None: free)."""
    f = job.frame
    slots = [_Slot(int(p), job.pads[int(p)].net, float(u), []) for p, u in zip(job.pad_ids, job.pad_u)]
    balls_at = defaultdict(list)
    for b in job.sector:
        balls_at[int(f.depth[b])].append(int(b))
    active, total, escapes = list(range(len(slots))), 0.0, {}
    depth = max(balls_at, default=-1) + 1
    rings = [sorted(balls_at.get(row, []), key=lambda b: f.u[b]) for row in range(depth)]
    all_gaps = [row_gaps(job, row) for row in range(depth)]
    bounds: list = [None] * depth
    if caps is not None:
        all_gaps, bounds = corner_envelope(job, rings, all_gaps, caps)
    for row in range(depth):
        ring, gaps = rings[row], all_gaps[row]
        segments = segment_tracks(gaps, [int(f.col[b]) for b in ring])
        ideal = _scaled_targets(job, row, ring, gaps, job.pad_u[active])
        for i, t in zip(active, ideal):
            above = slots[i].stops[-1] if slots[i].stops else float(t)
            slots[i].target = HOLD * above + (1.0 - HOLD) * float(t)
        room = job.pad_room[active] if row == 0 else np.full(len(active), np.inf)
        picks, cost = match_ring(job, ring, [slots[i] for i in active], segments, room, row, bounds[row], caps)
        total += cost
        for b, k in zip(ring, picks):
            slots[active[k]].stops.append(float(f.u[b]))
            escapes[active[k]] = b
        _assign_tracks(slots, active, picks, segments)
        taken = set(picks)
        active = [active[k] for k in range(len(active)) if k not in taken]
    if active:
        p = job.pads[slots[active[0]].pad]
        raise RoutingError(f"net {p.net}: pad {describe(p)} has no ball left on the {SIDES[f.side]} side")
    out = tuple(Escape(slots[i].pad, b, tuple(slots[i].stops)) for i, b in sorted(escapes.items()))
    return SidePlan(out, total)


def _scaled_targets(job: SideJob, row: int, ring: list[int], gaps: list, pad_u: np.ndarray) -> np.ndarray:
    """Where traces bound for pads at pad_u should cross a row: the pads' places scaled from the
    pad row's span to the row's span, so sideways travel spreads evenly over the channels."""
    spots = [job.frame.u[b] for b in ring] + [t for _, tracks in gaps for t in (tracks.min(), tracks.max())]
    p_lo, p_hi = float(job.pad_u.min()), float(job.pad_u.max())
    if row == 0 and spots:
        inset = BAND_SHARE * max(float(job.pad_room.min()), 0.0)  # the band fans the ends out
        spots = [p_lo + inset, p_hi - inset]
    if not spots:
        return pad_u.astype(float)
    lo, hi = min(spots), max(spots)
    if p_hi - p_lo < LENGTH_EPS_UM:
        return np.full(len(pad_u), (lo + hi) / 2.0)
    return lo + (pad_u - p_lo) / (p_hi - p_lo) * (hi - lo)


def _assign_tracks(slots: list[_Slot], active: list[int], picks: list[int], segments: list[np.ndarray]) -> None:
    """Give every passing slot a track in the gap segment it falls in, near its target."""
    bounds = [-1] + list(picks) + [len(active)]
    for s, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        group = [slots[active[k]] for k in range(a + 1, b)]
        if not group:
            continue
        chosen = choose_tracks(sorted(segments[s].tolist()), [g.target for g in group])
        for g, u in zip(group, chosen):
            g.stops.append(u)


def channel_cap(job: SideJob) -> int:
    """Traces a channel between two rings may carry sideways past one ball: its levels (the gap's
    track offsets, taken across the channel), less the rows the 45° steps of a fan of parallel
    traces lose where they leave and enter the rings."""
    return max(len(job.tracks) - CHANNEL_MARGIN, 1)


def cap_at(job: SideJob, caps: dict, row: int, u: np.ndarray) -> np.ndarray:
    """Traces the channel below a row may carry sideways at local u, as lowered towards either corner."""
    cap = channel_cap(job)
    mid = float(np.median(job.frame.u))
    return np.where(np.asarray(u) > mid, caps.get((row, 1), cap), caps.get((row, 0), cap))


def corner_envelope(
    job: SideJob, rings: list[list[int]], gaps: list[list[tuple[int, np.ndarray]]], caps: dict
) -> tuple[list, list]:
    """Every row's gaps less the tracks its corners cannot feed, and per row the most traces that
    may cross it beyond each of its balls towards either corner.

    A trace crossing row r beyond a point u (towards a corner) crosses row r + 1 beyond u too,
    or ends on a ball of row r + 1 there, or runs sideways past u in the channel between the two
    rows, which carries at most `channel_cap` traces. A row's corners lie one pitch farther out
    than those of the row inside, so near them the rows inside may not feed all its tracks.
    Counted from the deepest row (which no trace passes) outwards: of a row's tracks beyond the
    outermost ball or track of the row inside, only `channel_cap` are kept, and the planner may
    pass no more traces beyond each ball than the bound (it moves them nearer the middle instead).
    """
    f, eps = job.frame, LENGTH_EPS_UM
    out = [list(g) for g in gaps]
    spots = np.unique(np.concatenate([f.u[np.concatenate(rings).astype(int)] if any(rings) else np.zeros(0)]
                                     + [t for g in gaps for _, t in g]))
    bounds: list = [None] * len(rings)
    right, left = np.zeros(len(spots)), np.zeros(len(spots))
    for row in range(len(rings) - 1, -1, -1):
        if row < len(rings) - 1:
            cap = cap_at(job, caps, row, spots)
            balls = np.sort(np.array([f.u[b] for b in rings[row + 1]], dtype=float))
            tracks = np.sort(np.concatenate([t for _, t in out[row + 1]])) if out[row + 1] else np.zeros(0)
            k_right = len(tracks) - np.searchsorted(tracks, spots - eps, side="left")
            k_left = np.searchsorted(tracks, spots + eps, side="right")
            right = cap + len(balls) - np.searchsorted(balls, spots - eps, side="left") + np.minimum(k_right, right)
            left = cap + np.searchsorted(balls, spots + eps, side="right") + np.minimum(k_left, left)
            reach = np.concatenate([balls, tracks])
            if len(reach) and out[row]:
                out[row] = _trim_ends(out[row], spots, right, left, float(reach.min()), float(reach.max()))
        own = np.array([f.u[b] for b in rings[row]], dtype=float)
        tracks = np.sort(np.concatenate([np.zeros(0)] + [t for _, t in out[row]]))
        nxt, prv = neighbour_tracks(tracks, own, f.pitch)
        at_r = np.minimum(np.searchsorted(spots, nxt - eps), len(spots) - 1)
        at_l = np.maximum(np.searchsorted(spots, prv + eps, side="right") - 1, 0)
        bounds[row] = (right[at_r], left[at_l])
    return out, bounds


def neighbour_tracks(tracks: np.ndarray, u: np.ndarray, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """The first track right and the last track left of each ball at u (half a pitch away when
    its neighbouring gap has none)."""
    if not len(tracks):
        return u + pitch / 2.0, u - pitch / 2.0
    nxt = tracks[np.minimum(np.searchsorted(tracks, u, side="right"), len(tracks) - 1)]
    prv = tracks[np.maximum(np.searchsorted(tracks, u, side="left") - 1, 0)]
    nxt = np.where((nxt > u) & (nxt < u + pitch), nxt, u + pitch / 2.0)
    prv = np.where((prv < u) & (prv > u - pitch), prv, u - pitch / 2.0)
    return nxt, prv


def _trim_ends(gaps: list[tuple[int, np.ndarray]], spots: np.ndarray, right: np.ndarray, left: np.ndarray,
               first: float, last: float) -> list[tuple[int, np.ndarray]]:
    """A row's gaps without the tracks beyond the reach of the row inside (`first` … `last`) in
    excess of the bound there, the outermost kept."""
    eps = LENGTH_EPS_UM
    every = np.concatenate([t for _, t in gaps])
    tracks = np.sort(every)
    keep = np.ones(len(tracks), dtype=bool)
    at = np.searchsorted(spots, tracks - eps)
    # Python scalars: the walks below visit single values, which numpy scalars make slow
    values, bound_r, bound_l = tracks.tolist(), right[at].tolist(), left[at].tolist()
    count = 0
    for i in range(len(values) - 1, -1, -1):
        if values[i] <= last:
            break
        keep[i] = count + 1 <= bound_r[i]
        count += int(keep[i])
    count = 0
    for i in range(len(values)):
        if values[i] >= first:
            break
        keep[i] &= count + 1 <= bound_l[i]
        count += int(count + 1 <= bound_l[i])
    if keep.all():
        return gaps
    kept = np.isin(every, tracks[keep])  # one membership test for all gaps, split back per gap
    ends = np.cumsum([len(t) for _, t in gaps])
    return [(c, t[k]) for (c, t), k in zip(gaps, np.split(kept, ends[:-1])) if k.any()]


def match_ring(
    job: SideJob, ring: list[int], slots: list[_Slot], segments: list[np.ndarray], room: np.ndarray, row: int,
    beyond: tuple[np.ndarray, np.ndarray] | None = None, lowered: dict | None = None,
) -> tuple[list[int], float]:
    """Place a row's balls (left to right) at slots of the order; the rest pass the row's gaps.

    Dynamic programme over (ball, slot): a ball costs its squared sideways move to the slot's
    target (far more beyond the band's room on the outer row, impossible on a net mismatch);
    passing slots cost their squared distance to the nearest track of their gap segment, and a
    segment cannot take more slots than it has tracks.
    """
    n, m = len(slots), len(ring)
    target = np.array([s.target for s in slots])
    caps = [len(t) for t in segments]
    seg_cost = _segment_prefixes(target, segments)
    if m == 0:
        if n > caps[0]:
            raise RoutingError(_row_full_error(job, slots, row))
        return [], float(seg_cost[0][n])
    u = np.array([job.frame.u[b] for b in ring])
    own = _ball_costs(u, target, room)
    if job.explicit:
        nets = np.array([s.net for s in slots], dtype=object)
        for k, b in enumerate(ring):
            own[k, nets != job.balls[b].net] = np.inf
    if lowered is not None:
        own[~_traffic_allowed(job, ring, slots, segments, row, beyond, lowered)] = np.inf
    best = np.full((m, n), np.inf)
    back = np.zeros((m, n), dtype=int)
    j = np.arange(n)
    best[0] = np.where(j <= caps[0], own[0] + seg_cost[0][j], np.inf)
    steps = {}  # per passing capacity: the slots of ball k−1 (rows: passing count), and which exist
    for k in range(1, m):
        cum = seg_cost[k]
        if caps[k] not in steps:
            i = j[None, :] - 1 - np.arange(caps[k] + 1)[:, None]  # slot of ball k−1, per passing count
            ok = i >= 0
            ic = np.where(ok, i, 0)
            steps[caps[k]] = (~ok, ic, ic + 1)
        none, ic, ic1 = steps[caps[k]]
        cand = best[k - 1][ic] + cum[:n] - cum[ic1]
        cand[none] = np.inf
        pick = cand.argmin(axis=0)
        best[k] = cand[pick, j] + own[k]
        back[k] = ic[pick, j]
    tail = seg_cost[m][n] - seg_cost[m][np.minimum(j + 1, n)]
    final = np.where(n - 1 - j <= caps[m], best[m - 1] + tail, np.inf)
    if not np.isfinite(final).any():
        raise RoutingError(_ring_error(job, ring, slots, row))
    picks = [int(np.argmin(final))]
    for k in range(m - 1, 0, -1):
        picks.append(int(back[k][picks[-1]]))
    return picks[::-1], float(final.min())


def _traffic_allowed(
    job: SideJob, ring: list[int], slots: list[_Slot], segments: list[np.ndarray], row: int,
    beyond: tuple[np.ndarray, np.ndarray] | None, caps: dict,
) -> np.ndarray:
    """Which slot every ball of a row may take (rows × slots) without overloading a channel.

    Ball k taking slot j leaves the slots before j crossing the row left of it and those after
    it right of it. No more of them may pass the row's gaps on either side than the rows inside
    can feed there (`beyond`, from `corner_envelope`); and the ball's own trace and those before
    it that cross the row above beyond the row's next track run sideways past that gap's edge in
    the channel between the two rows, at most `channel_cap` of them (each way).
    """
    n, m = len(slots), len(ring)
    ok = np.ones((m, n), dtype=bool)
    j = np.arange(n)[None, :]
    k = np.arange(m)[:, None]
    if beyond is not None:
        ok &= (n - 1 - j) - (m - 1 - k) <= beyond[0][:, None]
        ok &= j - k <= beyond[1][:, None]
    if row == 0 or not n:
        return ok
    above = np.array([s.stops[-1] for s in slots])
    nxt, prv = neighbour_tracks(np.sort(np.concatenate([np.zeros(0)] + list(segments))),
                                np.array([job.frame.u[b] for b in ring]), job.frame.pitch)
    lam = float(np.min(np.diff(job.tracks))) if len(job.tracks) > 1 else 0.5 * job.frame.pitch
    cap = cap_at(job, caps, row - 1, np.array([job.frame.u[b] for b in ring]))[:, None]
    # the ball's own trace and those before it that cross the row above beyond the next track
    ok &= j + 1 - np.searchsorted(above, nxt - 0.5 * lam, side="right")[:, None] <= cap
    ok &= np.searchsorted(above, prv + 0.5 * lam, side="left")[:, None] - j <= cap
    return ok


def _ball_costs(u: np.ndarray, target: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Cost of every ball (rows) taking every slot (columns)."""
    jog = u[:, None] - target[None, :]
    excess = np.maximum(np.abs(jog) - room[None, :], 0.0)
    return np.square(jog) + 1e3 * np.square(excess)


def _segment_prefixes(target: np.ndarray, segments: list[np.ndarray]) -> np.ndarray:
    """Per segment (rows), prefix sums of each slot's squared distance to its track range
    (zero for a segment without tracks), all segments in one pass."""
    out = np.zeros((len(segments), len(target) + 1))
    full = [k for k, t in enumerate(segments) if len(t)]
    if full:
        lo = np.array([segments[k].min() for k in full])[:, None]
        hi = np.array([segments[k].max() for k in full])[:, None]
        out[full, 1:] = np.cumsum(np.square(np.clip(target[None, :], lo, hi) - target[None, :]), axis=1)
    return out


def choose_tracks(tracks: list[float], targets: list[float]) -> list[float]:
    """Distinct tracks (sorted), in order, each as near as the others allow to its trace's target u.

    Each target takes its nearest track (the lower on a tie); then, in order, each is pushed up
    past the one before it, and down below the one after it and the tracks left for the rest
    (running maxima and minima of index − position). Plain Python: a call sees a handful of
    traces, where numpy's per-call cost is most of the work."""
    n, k = len(targets), len(tracks)
    up, best = [], -(10**9)
    for pos, t in enumerate(targets):
        j = bisect_left(tracks, t)
        if j == k or (j > 0 and abs(tracks[j - 1] - t) <= abs(tracks[min(j, k - 1)] - t)):
            j -= 1
        best = max(best, j - pos)
        up.append(best)
    out, low = [0.0] * n, 10**9
    for pos in range(n - 1, -1, -1):
        low = min(low, up[pos], k - n)
        out[pos] = tracks[low + pos]
    return out


def _ring_error(job: SideJob, ring: list[int], slots: list[_Slot], row: int) -> str:
    """Why a row's balls cannot take places in the pad order."""
    side = SIDES[job.frame.side]
    if job.explicit:
        culprit = _out_of_order(job, ring, slots)
        if culprit is not None:
            ball, pad, other = culprit
            return (
                f"net {pad.net}: pad {describe(pad)} cannot reach ball {ball.name} (ring {row}, at "
                f"({ball.x:.1f}, {ball.y:.1f})) on one layer: on the {side} side that ball sits on the "
                f"other side of ball {other.name} (net {other.net}) from where the pad order puts it, "
                f"so its trace would cross net {other.net}'s; the explicit ball map is not planar "
                f"(swap these nets or use auto mode)"
            )
    p = job.pads[slots[0].pad] if slots else None
    return (
        f"net {p.net if p else '?'}: pad {describe(p) if p else '?'} cannot be routed: on the {side} "
        f"side the gaps of ring {row} cannot carry the traces of the inner rings in pad order "
        f"({len(job.tracks)} traces per gap); blocked by ring {row}"
    )


def _out_of_order(
    job: SideJob, ring: list[int], slots: list[_Slot]
) -> tuple[Terminal, Terminal, Terminal] | None:
    """A ring ball whose net's pad is out of order, its pad, and a ball it would cross."""
    first = {}
    for k, s in enumerate(slots):
        first.setdefault(s.net, k)
    pos = [first.get(job.balls[b].net, -1) for b in ring]
    if any(p < 0 for p in pos):
        return None
    keep = _longest_increasing(pos)
    for k, b in enumerate(ring):
        if k in keep:
            continue
        others = [ring[j] for j in keep if (j < k) != (pos[j] < pos[k])]
        other = others[0] if others else ring[keep[0]]
        return job.balls[b], job.pads[slots[pos[k]].pad], job.balls[other]
    return None


def _longest_increasing(values: list[int]) -> list[int]:
    """Indices of one longest strictly increasing subsequence."""
    best: list[list[int]] = []
    for i, v in enumerate(values):
        cands = [seq for seq in best if values[seq[-1]] < v]
        seq = (max(cands, key=len) if cands else []) + [i]
        best.append(seq)
    return max(best, key=len) if best else []


def _row_full_error(job: SideJob, slots: list[_Slot], row: int) -> str:
    """Why the gaps of a row without own balls cannot take the passing traces."""
    p = job.pads[slots[0].pad]
    return (
        f"net {p.net}: pad {describe(p)} cannot be routed: on the {SIDES[job.frame.side]} side "
        f"ring {row} has no gaps left for {len(slots)} traces; blocked by ring {row}"
    )


def side_pad_order(pads: Sequence[Terminal], ids: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Pads of one side sorted along it, with their local u."""
    u, _ = to_local(side, [pads[i].x for i in ids], [pads[i].y for i in ids])
    order = np.argsort(u, kind="stable")
    return ids[order], u[order]

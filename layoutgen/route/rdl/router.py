"""The single-layer pad-to-ball router for fan-in WLCSP: plan, draw, verify (all lengths in µm).

`route` is the one entry point. Classic floorplans (pads in one ring outside an area array,
one pad per ball, one width) go to the ring router first: it plans each die side's escapes
through the gaps of the rings in closed form and draws them in milliseconds. Everything else
(pads inside the array or bunched, staggered rows, several pads per ball, fixed pinouts out of
ring order, ball lists off one lattice, net classes) goes to the lattice router (`anywhere.py`).
A ring plan that fails goes to the lattice router too, then to the ring router's stairs pass (its
fan-out band drawn as a channel): the stairs pass first when only the band failed on a big die,
and no lattice router when a count before it starts proves its outer ring full. Whichever draws the routing, its final
polygons pass the DRC's own space, width and angle checks before it is returned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from ...units import LENGTH_EPS_UM
from .assign import (
    Escape,
    SideJob,
    SidePlan,
    auto_sectors,
    describe,
    explicit_sectors,
    matched_length,
    nearest_balls,
    pad_sides,
    plan_side,
    relieve_channels,
    side_pad_order,
)
from .capacity import check_ring_capacity, cut_over_capacity, gap_capacity
from .escape import lane_offsets
from .band import Band, BandBlocked, band_path, jog_starts
from .channel import ChannelFull, Clearance, Floor, channel_inputs, drawn, first_overflow
from .geometry import (
    SQRT2,
    TAN_22_5,
    Pen,
    circumradius,
    pen_for,
    snap,
    snap_down,
    snap_up,
    teardrop,
    teardrop_reach,
    teardrop_run,
    trace_hulls,
)
from .grid import SIDES, BallGrid, SideFrame, infer_grid, side_frame, to_local, to_world
from .model import Route, RouteRules, Routing, Terminal
from .anywhere import LatticeFull, ring_lattice, ring_nodes, route_anywhere
from .maze import MARGIN
from .plan import assign_balls
from .verify import checked
from .spread import spread_checked

MAX_DRAWN = 6  # planned candidates drawn and checked before giving up
STAIRS_FIRST = 96  # pads above which a job whose only failure is the fan-out band tries the stairs pass before
# the lattice router, whose search on a die that size costs seconds to a minute (the stairs pass reuses the plans)
NEAR_GAIN = 0.01  # share of the pads' straight-line total the nearest balls must save to be routed as well


class _BandFull(RoutingError):
    """A side's fan-out band cannot take one 45° jog per trace (its channels drew)."""

def route(
    pads: Sequence[Terminal],
    balls: Sequence[Terminal],
    keepin: shapely.Polygon,
    rules: RouteRules,
    mode: Literal["auto", "explicit"] = "auto",
) -> Routing:
    """Join every pad to a ball on one RDL layer, DRC-clean, or raise RoutingError.

    mode 'explicit': the balls' nets are the ball map (balls without a net are no-connects);
    'auto': the router picks the balls, keeping those that already carry a net.
    """
    pads, balls = tuple(pads), tuple(balls)
    _check_inputs(pads, balls, rules, mode)
    if not pads:
        return Routing((), {b.name: b.net for b in balls if b.net}, balls,
                       tuple(b.name for b in balls if not b.net))
    if mode == "explicit":
        _check_cuts(pads, balls, rules)
    ring_error, cache = None, {}  # `cache`: what the ring router's stairs pass can reuse of its first pass
    if _ring_suits(pads, balls, rules, mode):
        try:
            routing = _ring_route(pads, balls, keepin, rules, mode, cache=cache)  # checked there, candidate by candidate
        except RoutingError as error:  # the lattice router takes what the ring router cannot draw
            if "carry only" in str(error):
                raise  # the array's rings cannot pass its inner nets: no router can (counted before routing)
            ring_error = error
        else:
            return _nearer(routing, pads, balls, keepin, rules) if mode == "auto" else routing
    if ring_error is not None:
        return _after_ring(pads, balls, keepin, rules, mode, ring_error, cache)
    return spread_checked(route_anywhere(pads, balls, keepin, rules, mode), pads, keepin, rules)


def _after_ring(pads: tuple[Terminal, ...], balls: tuple[Terminal, ...], keepin: shapely.Polygon, rules: RouteRules,
                mode: str, ring_error: RoutingError, cache: dict) -> Routing:
    """A job the ring router could not draw: the lattice router, and last the ring router's stairs
    pass (its fan-out band drawn as a channel); the stairs pass first when only the band failed on
    a die of more than STAIRS_FIRST pads, and no lattice router when its outer ring is proven full
    (`_outer_ring_full`). Raises the ring router's reason with the lattice router's."""
    stairs_first = isinstance(ring_error, _BandFull) and len(pads) > STAIRS_FIRST
    if stairs_first:
        try:
            return _ring_route(pads, balls, keepin, rules, mode, stairs=True, cache=cache)
        except RoutingError:
            pass
    full, lattice_error = _outer_ring_full(pads, balls, keepin, rules, mode), None
    if full is None:
        try:
            routing = route_anywhere(pads, balls, keepin, rules, mode)
        except RoutingError as error:
            lattice_error = error
        else:
            return spread_checked(routing, pads, keepin, rules)
    if not stairs_first:
        try:
            return _ring_route(pads, balls, keepin, rules, mode, stairs=True, cache=cache)
        except RoutingError:
            pass
    if full is not None or isinstance(lattice_error, LatticeFull):
        raise RoutingError(f"{ring_error}; the lattice router cannot take it either: {full or lattice_error}") from None
    raise lattice_error


def _outer_ring_full(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
                     rules: RouteRules, mode: str) -> str | None:
    """Why the lattice router must refuse a job at its outer ring of balls, or None: before any
    assignment, more nets must cross the line through the outermost balls than its track lattice
    has nodes on that line clear of the balls there.

    The count of `anywhere._check_ring_cuts` on ring 0 (the same lattice, pitch and clearance),
    bounded so it never claims more than that check would find whatever balls are assigned: nets
    at least (those with every pad wholly outside the ring and a fixed ball strictly inside it, and
    in auto mode, of the free ones all but as many as there are free balls on the ring), nodes at
    most (closed only by balls on the ring no crossing net can own; pads and the keep-in edge left open).
    """
    if len(balls) < 9:
        return None
    widths = [rules.for_net(p.net) for p in pads]
    width, space = min(w for w, _ in widths), min(s for _, s in widths)
    pen = pen_for(width, rules.grid)
    lat, xs, ys = ring_lattice(balls, keepin, pen, space, rules)
    xy = np.array([(b.x, b.y) for b in balls])
    x0, x1, y0, y1 = xs[0], xs[-1], ys[0], ys[-1]
    ring = ring_nodes(lat, x0, x1, y0, y1)
    if ring is None:
        return None  # the ring is off the lattice lines: the lattice router counts nothing there either
    box = shapely.bounds(np.array([p.shape for p in pads], dtype=object))
    outside = (box[:, 2] < x0) | (box[:, 0] > x1) | (box[:, 3] < y0) | (box[:, 1] > y1)
    pads_of = Counter(p.net for p in pads)
    out_nets = set(pads_of) - {p.net for p, o in zip(pads, outside) if not o}
    inside = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
    fixed_in = {b.net for b, i in zip(balls, inside) if i and b.net}
    fixed = {b.net for b in balls if b.net}
    free_on_ring = sum(1 for b, i in zip(balls, inside) if not i and not b.net)
    # free nets take free balls in auto mode (in explicit mode a net without a ball is refused before any search)
    free_out = [n for n in out_nets if n not in fixed] if mode == "auto" else []
    must = len(out_nets & fixed_in) + max(0, len(free_out) - free_on_ring)
    if must <= 0:
        return None
    # a free ball stays unconnected in explicit mode, and takes one pad's net in auto mode (one ball per pad)
    single = mode != "auto" or all(pads_of[n] == 1 for n in pads_of if n not in fixed)
    closing = [b.shape for b, i in zip(balls, inside)
               if not i and ((b.net is None and single) or (b.net is not None and b.net not in fixed_in))]
    nodes = shapely.points(*lat.xy(*ring))
    clear = space + math.hypot(pen.a, pen.t) + MARGIN  # the lattice router's own node clearance
    near, _ = shapely.STRtree(np.array(closing, dtype=object)).query(nodes, predicate="dwithin",
                                                                     distance=clear - LENGTH_EPS_UM)
    free = len(nodes) - len(np.unique(near))
    if must <= free:
        return None
    example = sorted(out_nets & fixed_in or free_out)[0]
    return (f"the ball ring through ({x0:.1f}, {y0:.1f}) and ({x1:.1f}, {y1:.1f}) must let at least {must} nets out "
            f"to their pads (e.g. net {example}), but at most {free} nodes of the lattice router's {lat.p:g} µm track "
            f"lattice on it keep {space:g} µm from the balls of other nets (over by {must - free}), so no path search "
            f"on it can succeed")


def _nearer(routing: Routing, pads: tuple[Terminal, ...], balls: tuple[Terminal, ...], keepin: shapely.Polygon,
            rules: RouteRules) -> Routing:
    """The ring router's automatic routing, or the one on the balls nearest the pads when that is shorter.

    The ring router cuts the outermost balls into angular cones; when the pads sit on few sides or
    off the array's centre, those cones reach round the array for far balls. The balls the pads
    take when each takes one near it (`nearest_balls`) are routed as well when they save more than
    NEAR_GAIN of the straight-line total, and the shorter routing is kept: a floorplan routes on
    the ring router exactly when it did (the lattice router still takes those the outermost balls
    do not route), never longer."""
    if len(routing.ball_nets) == len(balls):
        return routing  # every ball is used: none is nearer
    grid = infer_grid(balls, rules.pitch)
    ball_r = max(circumradius(b.shape, b.x, b.y) for b in balls)
    near = nearest_balls(grid, pads, _pad_side(pads, grid, ball_r, rules))
    outer = np.array([k for k, b in enumerate(balls) if b.name in routing.ball_nets])
    if np.array_equal(near, outer) or \
            matched_length(pads, grid, near) >= (1.0 - NEAR_GAIN) * matched_length(pads, grid, outer):
        return routing
    try:
        other = _ring_route(pads, balls, keepin, rules, "auto", used=near)
    except RoutingError:
        return routing
    length = sum(r.length_um for r in routing.routes)
    return other if sum(r.length_um for r in other.routes) < length else routing


def _check_cuts(pads: tuple[Terminal, ...], balls: tuple[Terminal, ...], rules: RouteRules) -> None:
    """Refuse a ball map before routing when a ring of the array must pass more of its traces than
    its gaps carry (a capacity proof naming the nets, the ring and by how many tracks)."""
    try:
        pairs = assign_balls(pads, balls, "explicit")
    except RoutingError:
        return  # a map the routers refuse with their own reason
    proof = cut_over_capacity(pads, balls, pairs, rules)
    if proof:
        raise RoutingError(proof)


def _ring_suits(pads: tuple[Terminal, ...], balls: tuple[Terminal, ...], rules: RouteRules, mode: str) -> bool:
    """Whether the ring router can take the job: one width, one pad per ball, no balls fixed in auto mode,
    no net with more balls than pads."""
    if any(rules.for_net(p.net) != (rules.width, rules.space) for p in pads):
        return False
    if mode == "auto":
        return all(b.net is None for b in balls)
    pads_of = Counter(p.net for p in pads)
    balls_of = Counter(b.net for b in balls)
    # a net with more balls than pads needs a pad feeding several balls: the lattice router's (a ball
    # whose net has no pad stays unconnected)
    return all(b.net is not None for b in balls) and all(balls_of[n] <= pads_of[n] for n in balls_of if pads_of[n])


def _ring_route(
    pads: tuple[Terminal, ...],
    balls: tuple[Terminal, ...],
    keepin: shapely.Polygon,
    rules: RouteRules,
    mode: str,
    stairs: bool = False,
    cache: dict | None = None,
    used: np.ndarray | None = None,
) -> Routing:
    """The ring router: sectors per side, escapes through ring gaps, 45° fan-out band (`stairs`: drawn
    as a channel where one jog per trace cannot fit). `cache` keeps what does not depend on `stairs`
    (sector cuts, side plans, relieved plans, channel curves) for another pass over the same job.
    `used`: the balls an automatic assignment cuts into sectors (default: all but the deepest)."""
    grid = infer_grid(balls, rules.pitch)
    pen = pen_for(rules.width, rules.grid)
    ball_r = max(circumradius(b.shape, b.x, b.y) for b in balls)
    capacity = gap_capacity(rules.pitch, 2.0 * ball_r, rules.width, rules.space)
    pad_side = _pad_side(pads, grid, ball_r, rules)
    cache = {} if cache is None else cache
    if mode == "auto":  # the same cuts for the stairs pass: computed once
        if "sectors" not in cache:
            cache["sectors"] = auto_sectors(grid, balls, np.bincount(pad_side, minlength=4), used)
        candidates = cache["sectors"]
    else:
        candidates = [explicit_sectors(grid, pads, pad_side, balls)]
    check_ring_capacity(grid, candidates[0] >= 0, capacity, 2.0 * ball_r, rules.width, rules.space)
    ctx = _Context(grid, pads, balls, pad_side, rules, pen, mode == "explicit",
                   lane_offsets(capacity, rules.pitch, ball_r + pen.a + rules.space,
                                2.0 * pen.a + rules.space, 2.0 * rules.grid),
                   candidates[0], ball_r,
                   max(ball_r, max(teardrop_reach(b, rules) for b in balls)),
                   _side_facts(grid, pads, pad_side, rules, pen),
                   max(teardrop_run(b, rules) for b in balls), stairs)
    errors, tried, memo = [], set(), cache.setdefault("plans", {})
    for slack in (1.0, 4.0):   # the cheapest plan first (strict bound); the runners-up only if it fails to draw
        for n, cand, plans in _ranked_plans(ctx, candidates, slack, memo)[:MAX_DRAWN]:
            if n in tried:
                continue
            tried.add(n)
            try:
                return spread_checked(_draw(cand, plans, cache), pads, keepin, rules)
            except _BandFull as error:
                if stairs:
                    errors.append(error)
                    continue
                # the band is as short for every cut (the outer ring and the pad row bound it): the
                # other candidates' bands block too, and the stairs pass draws them as channels
                raise error from None
            except RoutingError as error:
                errors.append(error)
            if len(tried) >= MAX_DRAWN:
                break
    raise errors[0]


def _pad_side(pads: Sequence[Terminal], grid: BallGrid, ball_r: float, rules: RouteRules) -> np.ndarray:
    """The die side each pad faces (`pad_sides`), refusing pads nearer the outer ring than its metal's
    reach (capture pads of circumradius `ball_r`)."""
    return pad_sides(pads, grid, ball_r + rules.space + pen_for(rules.width, rules.grid).a)


@dataclass(frozen=True)
class _Context:
    """Facts shared by every side while planning and drawing."""

    grid: BallGrid
    pads: tuple[Terminal, ...]
    balls: tuple[Terminal, ...]
    pad_side: np.ndarray
    rules: RouteRules
    pen: Pen
    explicit: bool
    offsets: np.ndarray  # lane track offsets in a gap (and channel level offsets)
    ball_side: np.ndarray  # side every ball escapes to (−1 unused)
    ball_r: float  # capture pad circumradius
    reach: float  # farthest an outer ball's metal (with teardrop) reaches from its centre
    sides: tuple  # per side: frame, pad indices in order, their local u, band room (µm)
    teardrop_run: float  # straight run from a ball centre a full teardrop needs
    stairs: bool = False  # the fan-out band drawn as a channel where one jog per trace cannot fit


def _side_job(ctx: _Context, side: int, sector: np.ndarray) -> SideJob:
    """The ring-planning job of one side for a given sector of balls."""
    frame, ids, pad_u, room = ctx.sides[side]
    return SideJob(frame, ctx.balls, ctx.pads, sector, ctx.ball_side, ids, pad_u, room, ctx.offsets,
                   ctx.explicit, 2.0 * ctx.rules.grid, ctx.ball_r, ctx.teardrop_run)


def _side_facts(grid: BallGrid, pads: Sequence[Terminal], pad_side: np.ndarray, rules: RouteRules, pen: Pen) -> tuple:
    """Per side: its frame, its pads in order with their local u, and the band room before each."""
    facts = []
    for side in range(4):
        frame = side_frame(grid, side)
        ids, pad_u = side_pad_order(pads, np.flatnonzero(pad_side == side), side)
        bottoms = np.array([_pad_local(pads[i], side, 2.0 * rules.grid)[2] for i in ids])
        facts.append((frame, ids, pad_u, bottoms - _jog_clearance(rules, pen) - frame.v_top))
    return tuple(facts)


def _ranked_plans(ctx: _Context, candidates: list[np.ndarray], slack: float,
                  memo: dict) -> list[tuple[int, _Context, list[SidePlan]]]:
    """Ring plans of the candidate sector cuts that can be planned, cheapest first, with their
    candidate number; a candidate is dropped once its sides cost more than `slack` times the
    cheapest complete plan so far (1: only plans that may be the cheapest are finished).
    Side plans (or their errors) are kept in `memo`, as candidates share sides."""
    scored, first_error, best = [], None, math.inf
    for n, ball_side in enumerate(candidates):
        cand = replace(ctx, ball_side=ball_side)
        plans, cost = [], 0.0
        try:
            for side in range(4):
                plans.append(_side_plan(cand, side, memo))
                cost += plans[-1].cost
                if cost > slack * best:
                    break
        except RoutingError as error:
            first_error = first_error or error
            continue
        if len(plans) == 4:
            best = min(best, cost)
            scored.append((cost, n, cand, plans))
    if not scored:
        raise first_error
    return [(n, cand, plans) for _, n, cand, plans in sorted(scored, key=lambda t: t[:2])]


def _side_plan(ctx: _Context, side: int, memo: dict) -> SidePlan:
    """`plan_side` for one side of a candidate, from `memo` when an earlier candidate had the same
    one: a side's plan depends only on its sector and on which side owns each ball of the rings
    that sector reaches (the gaps it may use)."""
    sector = np.flatnonzero(ctx.ball_side == side)
    depth = ctx.sides[side][0].depth
    rings = depth <= (depth[sector].max() if len(sector) else -1)
    key = (side, sector.tobytes(), ctx.ball_side[rings].tobytes())
    if key not in memo:
        job = _side_job(ctx, side, sector)
        local = _local_key(job)
        seen = memo.get(local)
        if seen is not None:  # another side's problem, the same in its own frame: its plan, renumbered
            memo[key] = _renumbered(seen, job)
        else:
            try:
                memo[key] = plan_side(job)
                memo[local] = (job, memo[key])
            except RoutingError as error:
                memo[key] = error
    if isinstance(memo[key], RoutingError):
        raise memo[key]
    return memo[key]


def _local_key(job: SideJob) -> tuple:
    """Everything `plan_side` reads of a side's job, in the side's own frame: the sector's balls
    (local u, column, ring, in the order the planner takes them: `_canonical`), which gaps of each ring another
    side's ball closes, the pads' local u, band room and (explicit maps) nets, the lane tracks and
    the frame's column origin and pitch. Two sides with equal keys (the sides of a symmetric
    floorplan) get the same plan, up to which pad and ball each index names."""
    f = job.frame
    sector = _canonical(job)
    nrings = int(f.depth[sector].max()) + 1 if len(sector) else 0
    # a ring's gap beside column c is closed when the ball there (the last one listed, as
    # `row_gaps` reads it) escapes to another side
    inner = np.flatnonzero(f.depth < nrings)[::-1]
    cell = f.depth[inner] * f.ncols + f.col[inner]
    _, last = np.unique(cell, return_index=True)
    owner = job.sector_of[inner[last]]
    closed = np.zeros(nrings * f.ncols, dtype=bool)
    closed[cell[last]] = (owner != f.side) & (owner != -1)
    nets = ((tuple(job.pads[int(p)].net for p in job.pad_ids), tuple(job.balls[int(b)].net for b in sector))
            if job.explicit else None)
    return ("local", f.u[sector].tobytes(), f.col[sector].tobytes(), f.depth[sector].tobytes(), closed.tobytes(),
            f.ncols, f.u_min, f.pitch, job.quantum, job.tracks.tobytes(), job.pad_u.tobytes(), job.pad_room.tobytes(),
            job.explicit, nets)


def _canonical(job: SideJob) -> np.ndarray:
    """The sector's balls ring by ring, along u: the order the planner takes them in (it sorts each
    ring's balls by u, keeping the sector's order between equal u), whatever their numbering."""
    f = job.frame
    return job.sector[np.lexsort((f.u[job.sector], f.depth[job.sector]))]


def _renumbered(seen: tuple[SideJob, SidePlan], job: SideJob) -> SidePlan:
    """A plan made for another side's job with an equal `_local_key`, its pads and balls renamed
    to this job's (the same positions in the pad order and in the sector)."""
    other, plan = seen
    pad = dict(zip(other.pad_ids.tolist(), job.pad_ids.tolist()))
    ball = dict(zip(_canonical(other).tolist(), _canonical(job).tolist()))
    return SidePlan(tuple(Escape(pad[e.pad], ball[e.ball], e.stops) for e in plan.escapes), plan.cost)


def _draw(ctx: _Context, plans: list[SidePlan], cache: dict) -> Routing:
    """Centrelines of every planned escape, assembled into a Routing (`cache`: relieved plans and
    channel curves of earlier drawings of the same job, which do not depend on `ctx.stairs`)."""
    paths, memo = {}, {}
    relieved, curves = cache.setdefault("relieved", {}), cache.setdefault("curves", {})
    for side, plan in enumerate(plans):
        job = _side_job(ctx, side, np.flatnonzero(ctx.ball_side == side))
        # the side's channels as drawn so far, by their traces (the job is the side of this sector cut)
        channels = cache.setdefault(("channels", side, ctx.ball_side.tobytes()), {})
        try:
            lines = _side_paths(job, list(plan.escapes), ctx.pen, ctx.reach, ctx.rules, memo, ctx.stairs, curves,
                                channels)
        except _BandFull:
            raise  # the channels drew: relieving them leaves the band as it is
        except RoutingError:  # a channel overflows as drawn: plan the side again with its sideways traffic limited
            key = (side, ctx.ball_side.tobytes(), plan)
            if key not in relieved:
                clear = _clearance(ctx.pen, ctx.rules)
                relieved[key] = relieve_channels(job, plan, lambda e: first_overflow(e, lambda *c: _channel_bounds(
                    job, *c, ctx.pen, ctx.rules, clear), clear, channels))
            plan = relieved[key]
            lines = _side_paths(job, list(plan.escapes), ctx.pen, ctx.reach, ctx.rules, memo, ctx.stairs, curves,
                                channels)
        for escape, path in zip(plan.escapes, lines):
            paths[escape.pad] = (escape.ball, path)
    return _assemble(ctx.pads, ctx.balls, paths)


def _check_inputs(pads: tuple[Terminal, ...], balls: tuple[Terminal, ...], rules: RouteRules, mode: str) -> None:
    """Reject inputs the router cannot interpret, with the offending item named."""
    if mode not in ("auto", "explicit"):
        raise RoutingError(f"unknown assignment mode {mode!r}: use 'auto' or 'explicit'")
    if min(rules.width, rules.space, rules.grid, rules.pitch) <= 0:
        raise RoutingError(f"route rules must be positive: {rules}")
    for kind, items in (("pad", pads), ("ball", balls)):
        dup = [n for n, c in Counter(t.name for t in items).items() if c > 1]
        if dup:
            raise RoutingError(f"{kind} name {dup[0]!r} is used twice; names must be unique")
    unnamed = [p for p in pads if not p.net]
    if unnamed:
        raise RoutingError(f"pad {unnamed[0].name} at ({unnamed[0].x:.1f}, {unnamed[0].y:.1f}) has no net")
    if pads and not balls:
        raise RoutingError(f"{len(pads)} pads to route but no balls")
    fixed = [*pads, *balls]
    shapes = [t.shape for t in fixed]
    i, j = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    close = [(a, b) for a, b in zip(i.tolist(), j.tolist()) if a < b]
    if close:
        a, b = (fixed[k] for k in close[0])
        raise RoutingError(f"{describe(a)} overlaps {describe(b)} on the routing layer: move the pad off the "
                           f"ball (or the other pad) so their metal stays apart")


def _side_paths(
    job: SideJob, escapes: list[Escape], pen: Pen, reach: float, rules: RouteRules, memo: dict,
    stairs: bool = False, curves: dict | None = None, channels: dict | None = None,
) -> list[list[tuple[float, float]]]:
    """World centrelines (ball → pad) of one side's escapes. They are drawn in the side's frame,
    where another side of the same drawing (`memo`: its centrelines by `_drawing_key`) may have
    drawn the same ones already (the sides of a symmetric floorplan), and an earlier drawing
    (`curves`: channel curves, or the error, by `_drawing_key`) the same channels, or this
    side's relief some of them (`channels`: as `channel.drawn`'s memo)."""
    if not escapes:
        return []
    key = _drawing_key(job, escapes, pen, rules)
    local = memo.get(key)
    if local is None:
        side_key = (job.frame.side, key)  # per side: a channel's error names this side's pads
        if curves is None or side_key not in curves:
            try:
                found = _channel_curves(job, escapes, pen, rules, channels)
            except RoutingError as error:
                found = error
            if curves is not None:
                curves[side_key] = found
        else:
            found = curves[side_key]
        if isinstance(found, RoutingError):
            raise found
        local = memo[key] = _local_paths(job, escapes, pen, reach, rules, stairs, found)
    out = []
    for pts in local:
        x, y = to_world(job.frame.side, [p[0] for p in pts], [p[1] for p in pts])
        out.append([(snap(float(a), rules.grid), snap(float(b), rules.grid)) for a, b in zip(x, y)])
    return out


def _drawing_key(job: SideJob, escapes: list[Escape], pen: Pen, rules: RouteRules) -> tuple:
    """Everything `_local_paths` reads of a side, in its own frame: per escape its stops, its
    pad's place and keep-away zone and its ball's place when that is on the outer row; the outer
    row's balls (as a set: the fan-out band only masks them and takes maxima); the frame's rows,
    columns and lane tracks."""
    f, q = job.frame, 2.0 * rules.grid
    outer = np.flatnonzero(f.depth == 0)
    order = np.lexsort((f.v[outer], f.u[outer]))
    clear = pen.diagonal + rules.space
    per = tuple((e.stops, _pad_local(job.pads[e.pad], f.side, q), _pad_zone(job.pads[e.pad], f.side, clear),
                 (float(f.u[e.ball]), float(f.v[e.ball])) if f.depth[e.ball] == 0 else None) for e in escapes)
    return (per, f.u[outer][order].tobytes(), f.v[outer][order].tobytes(), f.v_top, f.pitch, f.ncols, f.u_min,
            job.tracks.tobytes(), job.ball_r, job.teardrop_run, job.quantum)


def _local_paths(
    job: SideJob, escapes: list[Escape], pen: Pen, reach: float, rules: RouteRules, stairs: bool = False,
    curves: dict | None = None,
) -> list[list[tuple[float, float]]]:
    """Local centrelines (ball → pad, in the side's frame) of one side's escapes (`curves`: its
    `_channel_curves`, when known)."""
    f, q = job.frame, 2.0 * rules.grid
    curves = _channel_curves(job, escapes, pen, rules) if curves is None else curves
    band = _band(job, escapes, pen, reach, rules)
    try:
        jog = jog_starts(band, _clearance(pen, rules) if stairs else None)
    except BandBlocked as blocked:
        raise _BandFull(_blocked_message(job, escapes[blocked.index], blocked.reason)) from None
    out = []
    for k, e in enumerate(escapes):
        depth = len(e.stops) - 1
        local = [(e.stops[depth], _row_v(f, depth, q))]
        for row in range(depth - 1, -1, -1):
            local += curves[row].get(k, [])
        out.append(band_path(local, band.u0[k], band.u1[k], jog.h[k], jog.level[k],
                             _pad_local(job.pads[e.pad], f.side, q)[1], jog.stair(k)))
    return out


def _row_v(frame: SideFrame, row: int, quantum: float) -> float:
    """Local v of a row of the array (row 0 = outer ring)."""
    return snap(frame.v_top - row * frame.pitch, quantum)


def _clearance(pen: Pen, rules: RouteRules) -> Clearance:
    """Octagon around a centreline that another net's centreline must stay out of."""
    q = 2.0 * rules.grid
    return Clearance(2.0 * pen.a + rules.space, 2.0 * pen.t + snap_up(rules.space * TAN_22_5, q))


def _channel_curves(
    job: SideJob, escapes: list[Escape], pen: Pen, rules: RouteRules, memo: dict | None = None
) -> dict[int, dict[int, list[tuple[float, float]]]]:
    """Per channel (below row r), the staircase of every trace that moves sideways in it (`memo`:
    the side's channels drawn before, as `channel.drawn`'s)."""
    clear = _clearance(pen, rules)
    out: dict[int, dict[int, list]] = {}
    for row in range(max(len(e.stops) for e in escapes) - 1):
        ks, arrive, leave, from_ball = channel_inputs(escapes, row)
        try:
            curves = drawn(row, arrive, leave, from_ball, lambda *c: _channel_bounds(job, *c, pen, rules, clear),
                           clear, memo)
        except ChannelFull as full:
            floor, ceiling = _channel_bounds(job, row, arrive, leave, from_ball, pen, rules, clear)
            raise RoutingError(_blocked_message(
                job, escapes[ks[full.index]],
                f"the channel between ring {row + 1} and ring {row} is full there: running sideways "
                f"from u={arrive[full.index]:.1f} to u={leave[full.index]:.1f} µm (local) it must pass "
                f"over the traces ahead of it and would need {full.needed:.1f} µm "
                f"of the channel's {ceiling - floor.low:.1f} µm between the rings")) from None
        out[row] = {k: c for k, c in zip(ks, curves) if c}
    return out


def _channel_bounds(
    job: SideJob, row: int, arrive: np.ndarray, leave: np.ndarray, from_ball: np.ndarray, pen: Pen,
    rules: RouteRules, clear: Clearance,
) -> tuple[Floor, float]:
    """Floor and ceiling of the channel below row r, for centrelines running sideways in it.

    Both clear the capture pads of the two rows: a sideways run passes over an inner-ring ball
    only above that ball's own trace (the traces ahead are hugged), and a teardrop sits below
    its own trace. Traces entering the clockwise corner square keep to the channel's upper half
    there, above the neighbouring side's traces through the same square. A trace leaving its
    own ball below runs straight long enough for a full teardrop before it turns.
    """
    f, q = job.frame, job.quantum
    below, above = _row_v(f, row + 1, q), _row_v(f, row, q)
    low = snap_up(below + job.ball_r + pen.diagonal + rules.space, q)
    ceiling = snap_down(above - job.ball_r - pen.diagonal - rules.space, q)
    positive = job.tracks[job.tracks > LENGTH_EPS_UM]
    high = max(low, snap((below + above) / 2.0, q) - (float(positive.min()) if positive.size else 0.0) + clear.lam)
    corner_col = f.column_u(f.ncols - 2 - row)
    into_corner = (leave > arrive) & (np.abs(leave - (corner_col + f.pitch / 2.0)) < f.pitch / 2.0)
    step_u = snap_down(corner_col + job.ball_r + pen.a + rules.space - clear.lam, q)
    own = np.where(from_ball, max(low, snap_up(below + job.teardrop_run, q)), low)
    return Floor(low, high, step_u, into_corner, own), ceiling


def _jog_clearance(rules: RouteRules, pen: Pen) -> float:
    """How far below its own pad's lower edge a 45° jog must end: the notch between the jog's
    inner edge and the pad edge, measured from the bend's inner corner (t above the bend), ≥ s."""
    return rules.space + pen.t


def _own_clearances(ball_r: float, pen: Pen, rules: RouteRules) -> tuple[float, float]:
    """How far from its own ball's centre a trace may bend without a notch narrower than s
    between its inner bend corner and the capture pad (radius ball_r).

    Vertical then 45°: the inner corner sits a across and t below the bend, so the bend must be
    t + √((R + s)² − a²) above the centre. 45° from the centre then vertical: the inner corner
    sits a back and t above the bend at (d, d), so the jog d must satisfy (d − a)² + (d + t)² ≥ (R + s)².
    """
    a, t, reach = pen.a, pen.t, ball_r + rules.space
    rise = t + math.sqrt(max(reach**2 - a**2, 0.0))
    b, c = 2.0 * (t - a), a**2 + t**2 - reach**2
    jog = (-b + math.sqrt(b**2 - 8.0 * c)) / 4.0
    q = 2.0 * rules.grid
    return snap_up(rise, q), snap_up(jog, q)


def _band(job: SideJob, escapes: list[Escape], pen: Pen, reach: float, rules: RouteRules) -> Band:
    """The fan-out problem of one side: from the outer-ring crossings to the pads."""
    f, q = job.frame, 2.0 * rules.grid
    outer = np.flatnonzero(f.depth == 0)
    outer_index = {int(b): k for k, b in enumerate(outer)}
    pad_local = [_pad_local(job.pads[e.pad], f.side, q) for e in escapes]
    clear = pen.diagonal + rules.space
    zones = np.array([_pad_zone(job.pads[e.pad], f.side, clear) for e in escapes]).reshape(-1, 5)
    return Band(
        u0=np.array([snap(e.stops[0], q) for e in escapes]),
        u1=np.array([p[0] for p in pad_local]),
        floor=np.full(len(escapes), snap_up(f.v_top, q)),
        top=np.array([snap_down(p[2] - _jog_clearance(rules, pen), q) for p in pad_local]),
        flat_top=np.array([snap_down(p[2] - rules.space - pen.a, q) for p in pad_local]),
        own_clear=_own_clearances(job.ball_r, pen, rules)[0],
        own_jog=_own_clearances(job.ball_r, pen, rules)[1],
        own_ball=np.array([outer_index.get(e.ball, -1) for e in escapes]),
        own_pad=np.arange(len(escapes)),
        ball_u=np.array([snap(u, q) for u in f.u[outer]]),
        ball_v=np.array([snap(v, q) for v in f.v[outer]]),
        ball_reach=reach + clear,
        pad_lo=zones[:, 0], pad_hi=zones[:, 1], pad_u_minus_v=zones[:, 2], pad_u_plus_v=zones[:, 3],
        pad_bottom=zones[:, 4],
        lam=2.0 * pen.a + rules.space,
        lam_d=2.0 * pen.diagonal + rules.space,
        quantum=q,
        ball_names=tuple(job.balls[int(b)].name for b in outer),
        pad_names=tuple(job.pads[e.pad].name for e in escapes),
    )


def _blocked_message(job: SideJob, escape: Escape, reason: str) -> str:
    """`net N: pad P … → ball B (top side): reason`."""
    pad = job.pads[escape.pad]
    return (f"net {pad.net}: pad {describe(pad)} → ball {job.balls[escape.ball].name} "
            f"({SIDES[job.frame.side]} side): {reason}")


def _pad_local(pad: Terminal, side: int, quantum: float) -> tuple[float, float, float]:
    """Pad centre (u, v) on the doubled grid and the v of its lower edge, in a side's frame."""
    u, v = to_local(side, pad.x, pad.y)
    coords = np.asarray(pad.shape.exterior.coords)
    _, vs = to_local(side, coords[:, 0], coords[:, 1])
    return snap(float(u), quantum), snap(float(v), quantum), float(vs.min())


def _pad_zone(pad: Terminal, side: int, clear: float) -> tuple[float, float, float, float, float]:
    """A pad's octagonal keep-away zone for centrelines: u extent, max(u − v), min(u + v), min v."""
    coords = np.asarray(pad.shape.exterior.coords)
    u, v = to_local(side, coords[:, 0], coords[:, 1])
    return (
        float(u.min() - clear),
        float(u.max() + clear),
        float((u - v).max() + SQRT2 * clear),
        float((u + v).min() - SQRT2 * clear),
        float(v.min() - clear),
    )


def _assemble(
    pads: Sequence[Terminal], balls: Sequence[Terminal], paths: dict[int, tuple[int, list[tuple[float, float]]]]
) -> Routing:
    """Routes in the pads' input order, each from pad centre to ball centre."""
    routes, ball_nets = [], {}
    for i, pad in enumerate(pads):
        ball_index, path = paths[i]
        ball = balls[ball_index]
        centreline = tuple(path[::-1])
        length = sum(math.dist(a, b) for a, b in zip(centreline, centreline[1:]))
        routes.append(Route(pad.name, ball.name, pad.net, centreline, round(length, 6)))
        ball_nets[ball.name] = pad.net
    return Routing(tuple(routes), ball_nets, tuple(balls))

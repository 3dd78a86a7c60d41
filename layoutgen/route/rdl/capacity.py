"""How many traces fit between two balls, and whether each ring can pass its inner nets (µm): counted
before the ring router plans, and, when a fixed ball map fails to route, as the proof of why."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from layoutgen.units import STEP_EPS
from .geometry import circumradius
from .grid import BallGrid, infer_grid
from .model import RouteRules, Terminal


def gap_capacity(pitch: float, capture_diameter: float, width: float, space: float) -> int:
    """Traces a gap g = p − D between two capture pads carries: ⌊(g − s) / (w + s)⌋."""
    gap = pitch - capture_diameter
    return max(0, math.floor((gap - space) / (width + space) + STEP_EPS))


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


def cut_over_capacity(
    pads: Sequence[Terminal], balls: Sequence[Terminal], pairs: Sequence[tuple[int, int]], rules: RouteRules,
    free_pads: Sequence[int] = (),
) -> str | None:
    """A proof that a ball map cannot be routed on one layer, or None: the ring of the array
    (the closed line through its balls) that more traces must cross than its gaps can carry.

    Every trace from a pad outside a ring to a ball inside it (or the other way) crosses the
    line through the ring's balls in one of the gaps between two neighbouring balls, and a gap g
    carries at most ⌊(g − s) / (w + s)⌋ traces (w, s the narrowest width and smallest space of
    the nets that may cross it: an upper bound). Pads and balls closer to the line than a capture
    pad radius plus the space are left out of the count, so what is reported is a lower bound of
    the demand against an upper bound of the capacity.

    `pairs` are the traces whose ball is fixed; `free_pads` the pads whose ball the router picks
    among the balls without a net (automatic or partial assignment). Each net of those needs a
    ball of its own, so of the nets whose pads all lie outside a ring, all but as many as there
    are free balls on or outside it must take a ball inside and cross it (and the same from the
    inside out): a lower bound, whichever balls the router picks.
    """
    rings = ball_rings(balls, rules.pitch)
    if not rings:
        return None
    radius = np.array([circumradius(b.shape, b.x, b.y) for b in balls])
    margin = float(radius.max()) + rules.space
    pad_pts = shapely.points([(p.x, p.y) for p in pads]) if pads else np.array([], dtype=object)
    ball_pts = shapely.points([(b.x, b.y) for b in balls])
    free_nets: dict[str, list[int]] = {}
    for i in free_pads:
        free_nets.setdefault(pads[i].net, []).append(i)
    used = {b for _, b in pairs}
    free_balls = np.array([b.net is None and k not in used for k, b in enumerate(balls)], dtype=bool)
    worst = None
    for ring, order in enumerate(rings):
        line = shapely.Polygon([(balls[k].x, balls[k].y) for k in order])
        if not line.is_valid or line.area <= 0:
            continue
        edge = line.exterior

        def side(pts: np.ndarray) -> np.ndarray:
            """+1 inside the line, −1 outside, 0 too close to tell."""
            if len(pts) == 0:
                return np.zeros(0, dtype=int)
            far = shapely.distance(edge, pts) >= margin
            return np.where(far, np.where(shapely.contains(line, pts), 1, -1), 0)

        pad_side, ball_side = side(pad_pts), side(ball_pts)
        crossing = [(i, j) for i, j in pairs if pad_side[i] * ball_side[j] == -1]
        movers = [pads[i].net for i, _ in crossing]
        why = ""
        for where, name in ((-1, "outside"), (1, "inside")):
            nets = [n for n, ids in free_nets.items() if all(pad_side[i] == where for i in ids)]
            room = int(np.count_nonzero(free_balls & (ball_side != -where)))
            if len(nets) > room:
                movers += nets  # any of them may be the ones that cross: the narrowest sets the bound
                why += (f"; {len(nets)} nets with their pads {name} it have only {room} free balls on or {name} it, "
                        f"so {len(nets) - room} must take a ball {'inside' if where < 0 else 'outside'}")
                crossing += [(free_nets[n][0], -1) for n in nets[:len(nets) - room]]
        if not crossing:
            continue
        widths = [rules.for_net(n) for n in movers]
        w = min(x[0] for x in widths)
        s = min([rules.space] + [x[1] for x in widths])
        gaps = []
        for a, b in zip(order, order[1:] + order[:1]):
            g = math.dist((balls[a].x, balls[a].y), (balls[b].x, balls[b].y)) - radius[a] - radius[b]
            gaps.append((g, max(0, math.floor((g - s) / (w + s) + STEP_EPS)), a, b))
        tracks = sum(t for _, t, _, _ in gaps)
        over = len(crossing) - tracks
        if over > 0 and (worst is None or over > worst[0]):
            worst = (over, ring, crossing, movers, why, gaps, tracks, w, s)
    if worst is None:
        return None
    over, ring, crossing, movers, why, gaps, tracks, w, s = worst
    nets = sorted(set(movers))
    shown = ", ".join(nets[:8]) + (f" and {len(nets) - 8} more" if len(nets) > 8 else "")
    names = [balls[a].name for _, _, a, _ in gaps]
    through = ", ".join(names) if len(names) <= 12 else ", ".join(names[:6]) + f", … ({len(names)} balls)"
    narrow = min(gaps)
    advice = ("give these nets balls outside the ring, narrow their traces, or use a larger pitch" if not why else
              "leave more balls free on their side of the ring, narrow their traces, or use a larger pitch")
    return (f"nets {shown} cannot all be routed on one layer: {len(crossing)} trace(s) must cross {ring_name(ring)} "
            f"of the ball array (the closed line through balls {through}) between its inner balls and the pads "
            f"outside it{why}, but its {len(gaps)} gaps carry only {tracks} traces of {w:g} µm at {s:g} µm spacing "
            f"(the narrowest, {narrow[0]:.1f} µm between balls {balls[narrow[2]].name} and {balls[narrow[3]].name}, "
            f"carries {narrow[1]}); over by {over} track(s): {advice}")


def ball_rings(balls: Sequence[Terminal], pitch: float) -> list[list[int]]:
    """The rings of the ball array, outermost first, each as its balls in order around it: the
    lattice's rings when the balls sit on one area array of the pitch, else the convex layers of
    the ball centres (the hull, then the hull of what is left, …; balls on a hull edge belong to it),
    which are the same rings for a full array and follow hexagonal and staggered arrays."""
    if len(balls) < 3:
        return []
    try:
        grid = infer_grid(balls, pitch)
    except RoutingError:
        grid = None
    if grid is not None:
        rings = [_ring_order(grid, ring) for ring in range(int(grid.ring.max(initial=0)))]
        return [r for r in rings if len(r) >= 3]
    return convex_layers(np.array([(b.x, b.y) for b in balls]), 1e-6 * max(1.0, pitch))


def convex_layers(xy: np.ndarray, tol: float) -> list[list[int]]:
    """Onion peeling of points: the hull's points in order around it (those on a hull edge
    included), then the same for the points left, while at least three span an area."""
    left, rings = np.arange(len(xy)), []
    while len(left) >= 3:
        hull = shapely.MultiPoint(xy[left]).convex_hull
        if not isinstance(hull, shapely.Polygon) or hull.area <= 0:
            break
        on = shapely.distance(hull.exterior, shapely.points(xy[left])) <= tol
        ids = left[on]
        along = shapely.line_locate_point(hull.exterior, shapely.points(xy[ids]))
        rings.append([int(k) for k in ids[np.argsort(along, kind="stable")]])
        left = left[~on]
    return rings


def _ring_order(grid: BallGrid, ring: int) -> list[int]:
    """The populated balls of a ring, clockwise from its top-left corner."""
    c0, c1, r0, r1 = ring, grid.ncols - 1 - ring, ring, grid.nrows - 1 - ring
    if c1 <= c0 or r1 <= r0:
        return []
    at = {(int(c), int(r)): k for k, (c, r) in enumerate(zip(grid.col, grid.row))}
    walk = ([(c, r1) for c in range(c0, c1 + 1)] + [(c1, r) for r in range(r1 - 1, r0 - 1, -1)]
            + [(c, r0) for c in range(c1 - 1, c0 - 1, -1)] + [(c0, r) for r in range(r0 + 1, r1)])
    return [at[p] for p in walk if p in at]

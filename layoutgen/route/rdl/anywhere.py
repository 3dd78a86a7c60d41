"""The lattice router's whole job: assign balls, route on the lattice, straighten, add teardrops (µm)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from layoutgen.units import LENGTH_EPS_UM, STEP_EPS
from .geometry import pen_for, teardrop, trace_polygons
from .maze import MARGIN, SEQUENTIAL, Job, Maze, lattice_pitch, make_lattice, over_capacity, track_pitch
from .model import Route, RouteRules, Routing, Terminal
from .capacity import cut_over_capacity
from .plan import assign_balls
from .sketch import PlanOverCapacity, sketch

LANE = 3.0  # lattice pitches either side of its planned guide beyond which a guided trace may not go


def route_anywhere(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
                   rules: RouteRules, mode: str) -> Routing:
    """Route every pad to a ball on the track lattice; RoutingError naming the over-full cut when it cannot."""
    if mode != "explicit":
        _check_free_cuts(pads, balls, rules)
    pairs = assign_balls(pads, balls, mode)
    _check_separating_nets(pads, balls, pairs, keepin, rules)
    jobs = [Job(i, b, pads[i].net, *rules.for_net(pads[i].net)) for i, b in pairs]
    _check_ring_cuts(pads, balls, keepin, jobs, rules)
    maze = Maze(pads, balls, keepin, jobs, rules.grid, rules.pitch)
    _check_landings(maze)
    left = _search(maze, rules)
    if left:
        if mode != "explicit" and not any(b.net for b in balls):
            raise RoutingError(over_capacity(maze, left))
        maze = _route_planned(pads, balls, keepin, jobs, rules, over_capacity(maze, left))
    for k in sorted(range(len(jobs)), key=lambda k: -len(maze.paths[k])):
        maze.straighten(k)
    routes = []
    for k, job in enumerate(jobs):
        path = maze.centreline(k)
        length = sum(math.dist(a, b) for a, b in zip(path, path[1:]))
        width = None if job.width == rules.width else job.width
        routes.append(Route(pads[job.pad].name, balls[job.ball].name, job.net, tuple(path), round(length, 6), width))
    routes = _teardrops(routes, balls, rules)
    order = {p.name: i for i, p in enumerate(pads)}
    routes.sort(key=lambda r: order[r.pad])
    ball_nets = {r.ball: r.net for r in routes}
    no_connect = tuple(b.name for b in balls if b.name not in ball_nets)
    return Routing(tuple(routes), ball_nets, tuple(balls), no_connect, router="lattice")


def _search(maze: Maze, rules: RouteRules) -> list[int]:
    """Negotiate every job on the lattice, then one at a time what stays in conflict; the jobs left."""
    left = maze.negotiate(grow=max(4, int(round(2.0 * rules.pitch / maze.lat.p))))
    return maze.sequential(left, min(SEQUENTIAL, 2 * len(left) + 2))


def _route_planned(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
                   jobs: list[Job], rules: RouteRules, unguided: str) -> Maze:
    """A fixed (or partly fixed) pinout the lattice search left in conflict (`unguided` says how),
    routed again, each trace following its guide in a topological plan (`sketch`) within a lane
    LANE pitches either side of it (so it cannot take another homotopy far from it); RoutingError
    naming the nets and the over-full gap when no plan fits, or the guided search fails too."""
    try:
        plan = sketch(pads, balls, keepin, jobs, rules)
    except PlanOverCapacity as error:
        raise RoutingError(f"{error}; the lattice router alone found no way either: {unguided}") from None
    maze = Maze(pads, balls, keepin, jobs, rules.grid, rules.pitch)
    maze.guide(plan.rounded, LANE)
    left = _search(maze, rules)
    if left:
        raise RoutingError(f"{over_capacity(maze, left)}; even following a topological plan without crossings "
                           f"(each trace guided through its gaps)")
    return maze


def _check_free_cuts(pads: Sequence[Terminal], balls: Sequence[Terminal], rules: RouteRules) -> None:
    """Refuse before routing an automatic or partial assignment that no choice of balls can route:
    a ring more nets must cross (its fixed balls' traces, and the nets on one side of it beyond the
    free balls that side can give them) than its gaps carry (`capacity.cut_over_capacity`)."""
    fixed = {b.net for b in balls if b.net}
    held = [i for i, p in enumerate(pads) if p.net in fixed]
    free = [i for i, p in enumerate(pads) if p.net not in fixed]
    pairs = [(held[i], b) for i, b in assign_balls([pads[i] for i in held], balls, "explicit")]
    proof = cut_over_capacity(pads, balls, pairs, rules, free)
    if proof:
        raise RoutingError(proof)


def _check_separating_nets(pads: Sequence[Terminal], balls: Sequence[Terminal], pairs: list[tuple[int, int]],
                           keepin: shapely.Polygon, rules: RouteRules) -> None:
    """Refuse two nets that must cross on one layer: each joins two or more pads at one ball, so
    its metal runs from the die edge through the ball and back to the edge, cutting the die in
    two; when their pads alternate along the edge and no trace fits between any of those pads
    and the keep-in edge (nothing can pass outside them), each net has pads on both sides of the
    other's cut (the Jordan curve theorem)."""
    joined: dict[tuple[str, int], list[int]] = {}
    for i, b in pairs:
        joined.setdefault((pads[i].net, b), []).append(i)
    cuts = [(key, ids) for key, ids in joined.items() if len(ids) >= 2]
    if len(cuts) < 2:
        return
    cx, cy = keepin.centroid.x, keepin.centroid.y
    angle = {i: math.atan2(pads[i].y - cy, pads[i].x - cx) for _, ids in cuts for i in ids}
    edge = keepin.exterior
    for n, (key_a, a) in enumerate(cuts):
        for key_b, b in cuts[n + 1:]:
            if key_a[0] == key_b[0]:
                continue
            order = sorted(a + b, key=lambda i: angle[i])
            mine = [i in a for i in order]
            if sum(x != y for x, y in zip(mine, mine[1:] + mine[:1])) < 4:
                continue  # not alternating: one net's pads lie on one side of the other's cut
            room = rules.width + rules.space
            if any(shapely.distance(pads[i].shape, edge) >= room for i in order):
                continue  # a trace may pass outside one of the pads: no proof
            ring = ", ".join(f"{pads[i].net} {pads[i].name}" for i in order)
            raise RoutingError(
                f"nets {key_a[0]} and {key_b[0]} cannot both be routed on one layer: {key_a[0]} joins pads "
                f"{', '.join(pads[i].name for i in a)} at ball {balls[key_a[1]].name} and {key_b[0]} joins pads "
                f"{', '.join(pads[i].name for i in b)} at ball {balls[key_b[1]].name}; their pads alternate along "
                f"the die edge ({ring}) with less than {room:g} µm (one trace and its space) outside each, so "
                f"each net's metal cuts the die in two with the other's pads on both sides (over by 1 crossing); "
                f"give one net a ball per pad group or move a pad")


class LatticeFull(RoutingError):
    """A ring of balls has fewer free lattice nodes than nets that must cross it."""


def _check_ring_cuts(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
                     jobs: list[Job], rules: RouteRules) -> None:
    """Refuse at once, before any path search, when some ring of balls lets out more nets than
    the lattice has free nodes on it (negotiation could only churn until it gives up).

    Ring k is the rectangle through the k-th ball coordinates from each edge of the array. When
    it lies on lattice lines, every lattice path from a node strictly inside it to one strictly
    outside has a node on it (a step moves at most one line in x and in y), and two nets never
    share a node; so the nets whose ball is inside and whose pad landing is wholly outside need
    as many distinct nodes on it, among those no other metal or the keep-in edge closes to them.
    """
    if len(balls) < 9 or not jobs:
        return
    pen = pen_for(min(j.width for j in jobs), rules.grid)
    space = min(j.space for j in jobs)
    clear = space + math.hypot(pen.a, pen.t) + MARGIN  # the lattice router's own node clearance
    lat, xs, ys = ring_lattice(balls, keepin, pen, space, rules)
    shapes = np.array([t.shape for t in [*pads, *balls]], dtype=object)
    tree = shapely.STRtree(shapes)
    ball_net = {j.ball: j.net for j in jobs}
    net_of = [p.net for p in pads] + [ball_net.get(b, balls[b].net) for b in range(len(balls))]
    pad_box = shapely.bounds(shapes[:len(pads)])
    for k in range(min(len(xs), len(ys)) // 2):
        x0, x1, y0, y1 = xs[k], xs[-1 - k], ys[k], ys[-1 - k]
        nodes = ring_nodes(lat, x0, x1, y0, y1)
        if nodes is None:
            continue
        inside = [j for j in jobs if x0 < balls[j.ball].x < x1 and y0 < balls[j.ball].y < y1]
        out = [j for j in inside if (pad_box[j.pad, 2] < x0 or pad_box[j.pad, 0] > x1 or
                                     pad_box[j.pad, 3] < y0 or pad_box[j.pad, 1] > y1)]
        nets = {j.net for j in out}
        if not nets:
            continue
        px, py = lat.xy(*nodes)
        pts = shapely.points(px, py)
        closed, on_pad = np.zeros(len(pts), bool), np.zeros(len(pts), bool)
        p_idx, s_idx = tree.query(pts, predicate="dwithin", distance=clear - LENGTH_EPS_UM)
        for a, b in zip(p_idx.tolist(), s_idx.tolist()):
            if net_of[b] not in nets:
                closed[a] = True  # another net's metal (or a no-connect ball) is too close for any of them
            elif b < len(pads):
                on_pad[a] = True  # the keep-in edge does not close a node on a net's own pad
        edge = math.hypot(pen.a, pen.t) + MARGIN  # the keep-in edge closes a node nearer than the pen
        closed |= ~on_pad & (~shapely.contains_xy(keepin, px, py) | (shapely.distance(keepin.exterior, pts) < edge))
        free = int(np.count_nonzero(~closed))
        if len(nets) > free:
            raise LatticeFull(
                f"the ball ring through ({x0:.1f}, {y0:.1f}) and ({x1:.1f}, {y1:.1f}) must let {len(nets)} nets out "
                f"to their pads (e.g. net {out[0].net}), but only {free} nodes of the lattice router's "
                f"{lat.p:g} µm track lattice on it keep {space:g} µm from the balls and pads of other nets "
                f"(over by {len(nets) - free}), so no path search on it can succeed")


def ring_lattice(balls: Sequence[Terminal], keepin: shapely.Polygon, pen, space: float,
                 rules: RouteRules) -> tuple:
    """The lattice router's track lattice for traces of `pen` at `space`, and the balls' distinct x and y."""
    xy = np.array([(b.x, b.y) for b in balls])
    lat = make_lattice(xy, keepin, lattice_pitch(track_pitch(pen, space, rules.grid), rules.pitch, rules.grid))
    return lat, np.unique(np.round(xy[:, 0], 6)), np.unique(np.round(xy[:, 1], 6))


def ring_nodes(lat, x0: float, x1: float, y0: float, y1: float) -> tuple[np.ndarray, np.ndarray] | None:
    """The lattice nodes (i, j) on the four sides of the ring rectangle x0..x1 × y0..y1, or None when it is off
    the lattice lines or too small to hold a node inside (every path out of it then crosses none of them)."""
    i0, i1, j0, j1 = ((v - o) / lat.p for v, o in ((x0, lat.x0), (x1, lat.x0), (y0, lat.y0), (y1, lat.y0)))
    if max(abs(v - round(v)) for v in (i0, i1, j0, j1)) > 1e-6 or i1 - i0 < 2 or j1 - j0 < 2:
        return None
    ci, cj = np.arange(round(i0), round(i1) + 1), np.arange(round(j0), round(j1) + 1)
    ii = np.concatenate([ci, ci, np.full(len(cj) - 2, ci[0]), np.full(len(cj) - 2, ci[-1])])
    jj = np.concatenate([np.full(len(ci), cj[0]), np.full(len(ci), cj[-1]), cj[1:-1], cj[1:-1]])
    return ii, jj


def _check_landings(maze: Maze) -> None:
    """Refuse at once (no rip-up can help) a pad with no lattice node where its trace may end, or
    a ball whose centre node is closed by another net's metal."""
    lat = maze.lat
    for k, job in enumerate(maze.jobs):
        (xl, xh), (yl, yh) = maze.pad_strips(k)
        i0, i1 = math.ceil((xl - lat.x0) / lat.p - STEP_EPS), math.floor((xh - lat.x0) / lat.p + STEP_EPS)
        j0, j1 = math.ceil((yl - lat.y0) / lat.p - STEP_EPS), math.floor((yh - lat.y0) / lat.p + STEP_EPS)
        pad = maze.pads[job.pad]
        if i1 < i0 or j1 < j0:
            ball = maze.balls[job.ball]
            raise RoutingError(
                f"net {job.net}: pad {pad.name} at ({pad.x:.1f}, {pad.y:.1f}) cannot reach ball {ball.name}: no "
                f"track of the {lat.p:g} µm lattice crosses its landing where the {job.width:g} µm trace fits "
                f"on it; widen the landing or narrow the trace")


def _teardrops(routes: list[Route], balls: Sequence[Terminal], rules: RouteRules) -> list[Route]:
    """Keep each route's teardrop only where it clears every other net's trace and ball by its space."""
    by_name = {b.name: b for b in balls}
    drops = [teardrop(by_name[r.ball], r.path, replace(rules, width=r.width or rules.width)) for r in routes]
    polys = np.empty(len(routes), dtype=object)
    for w in {r.width or rules.width for r in routes}:   # one vectorised pass per trace width
        ks = [k for k, r in enumerate(routes) if (r.width or rules.width) == w]
        polys[ks] = trace_polygons([routes[k].path for k in ks], w, rules.grid)
    others = np.concatenate([polys, np.array([b.shape for b in balls], dtype=object)])
    net_of = [r.net for r in routes] + [None] * len(balls)
    ball_of = [None] * len(routes) + [b.name for b in balls]
    tree = shapely.STRtree(others)
    out = []
    for r, d in zip(routes, drops):
        if d.is_empty:
            out.append(replace(r, teardrop=False))
            continue
        space = rules.for_net(r.net)[1]
        hits = tree.query(d, predicate="dwithin", distance=space - 1e-6)
        clash = any(net_of[h] != r.net and ball_of[h] != r.ball for h in hits)
        out.append(replace(r, teardrop=not clash))
    return out

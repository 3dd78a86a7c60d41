"""Pulling traces tight: staircases become 45° runs where the metal around leaves room (µm).

A post-pass over a finished routing, before spreading. A stretch of a trace over two or three
runs (never the run that lands on the pad or enters the ball) is replaced by the shortest
0/45/90° connection, one 45° run and one straight run in either order, when that is shorter (or as long with fewer bends) and
its metal, swept by the trace's own pen, keeps every other net's metal, pads and balls at their
space and stays in the keep-in. Each round every trace takes the stretches saving most that do
not overlap; of two new stretches of different nets that come too close, the one saving less is
put back. Rounds go on while a trace changed, each over the traces that changed or that a
changed trace held back: stretches of three runs, joined round after round, pull a staircase
as tight as longer stretches would, for far fewer candidates.

Distances are measured between centrelines first (numpy, segment to segment): a pair closer
than the space plus both pens' inner radius clashes, one farther than the space plus their
outer radius is clear, and only the pairs between are measured exactly, pen-swept run against
the other shape (shapely). The result goes through the router's final check (`verify.checked`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely

from .geometry import SQRT2, circumradius, inscribed_radii, pen_for, teardrop_corners, trace_hulls
from .model import RouteRules, Routing, Terminal

ROUNDS = 6  # rounds at most (they stop as soon as no trace changes; the sixth changes little)
WINDOW = 3  # a stretch spans at most this many runs
SAVING = 1e-3  # µm: a stretch is replaced when this much shorter, or as long with fewer bends
BEND = 1e-3  # µm: what a bend fewer is worth, to rank stretches of the same length
EPS = 1e-6  # µm: distances this close to a rule meet it


@dataclass(frozen=True)
class _Shapes:
    """Metal as segments (p0, p1; a point where p0 = p1) with how far it reaches beyond them at most (`outer`)
    and at least (`inner`), its net, space and trace (−1: a pad or ball), and its exact shape: a trace run swept
    by its pen (`width` > 0, `shape` None), or the polygon an edge belongs to, or a ball's capture pad."""

    p0: np.ndarray
    p1: np.ndarray
    outer: np.ndarray
    inner: np.ndarray
    net: np.ndarray
    space: np.ndarray
    route: np.ndarray
    width: np.ndarray
    shape: np.ndarray

    @staticmethod
    def join(parts: Sequence[_Shapes]) -> _Shapes:
        """All parts as one."""
        return _Shapes(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Shapes.__dataclass_fields__))

    def exact(self, which: np.ndarray, grid: float) -> np.ndarray:
        """The exact shapes of `which`: trace runs swept by their pen, the others as they are."""
        out = self.shape[which].copy()
        runs = self.width[which] > 0
        if runs.any():
            out[runs] = run_hulls(self.p0[which[runs]], self.p1[which[runs]], self.width[which[runs]], grid)
        return out


@dataclass(frozen=True)
class _Context:
    """What stays the same from round to round: each trace's net, width, space and pen radii, the pads and balls
    as `_Shapes`, and the keep-in shrunk by each pen's outer radius."""

    net: np.ndarray
    width: np.ndarray
    space: np.ndarray
    outer: np.ndarray
    inner: np.ndarray
    fixed: _Shapes
    zones: dict
    grid: float


def tighten(routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> Routing:
    """The routing with its staircases pulled into 45° runs where they clear everything else (the same routing
    when nothing is shorter); every trace keeps its pad, ball, end runs and 0/45/90° shape, and gets shorter."""
    if not routing.routes:
        return routing
    ctx = _context(routing, pads, keepin, rules)
    paths = [np.asarray(r.path, dtype=float) for r in routing.routes]
    active = np.ones(len(paths), bool)
    drops: dict[int, _Shapes] = {}
    for _ in range(ROUNDS):
        active = _round(ctx, routing, paths, active, drops, rules)
        if not active.any():
            break
    out = routing.with_paths(paths)
    return routing if all(a is b for a, b in zip(out.routes, routing.routes)) else out


def _context(routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> _Context:
    """The round-invariant facts of a routing (`_Context`)."""
    routes = routing.routes
    names = {r.net for r in routes} | {t.net for t in pads if t.net} | set(routing.ball_nets.values())
    net_ids = {n: x for x, n in enumerate(sorted(names))}
    width = np.array([r.width or rules.width for r in routes], dtype=float)
    pens = {w: pen_for(w, rules.grid) for w in set(width.tolist())}
    outer = np.array([math.hypot(pens[w].a, pens[w].t) for w in width.tolist()])
    inner = np.array([pens[w].a for w in width.tolist()])
    zones = {}
    for r in set(outer.tolist()):
        zones[r] = shapely.buffer(keepin, -r, join_style="mitre")
        shapely.prepare(zones[r])
    outlines = [(t.shape, net_ids.get(t.net, -1 - x), rules.for_net(t.net)[1] if t.net else rules.space, -1)
                for x, t in enumerate(pads)]
    balls = list(routing.balls)
    centres = np.array([(b.x, b.y) for b in balls], dtype=float).reshape(-1, 2)
    shapes = np.empty(len(balls), dtype=object)
    shapes[:] = [b.shape for b in balls]
    ball_part = _Shapes(centres, centres, np.array([circumradius(b.shape, b.x, b.y) for b in balls], dtype=float),
                        inscribed_radii(balls) if balls else np.zeros(0),
                        np.array([net_ids.get(routing.ball_nets.get(b.name), -1 - len(pads) - y)
                                  for y, b in enumerate(balls)], dtype=int),
                        np.array([rules.for_net(routing.ball_nets[b.name])[1] if b.name in routing.ball_nets
                                  else rules.space for b in balls], dtype=float),
                        np.full(len(balls), -1), np.zeros(len(balls)), shapes)
    return _Context(np.array([net_ids[r.net] for r in routes]), width,
                    np.array([rules.for_net(r.net)[1] for r in routes], dtype=float), outer, inner,
                    _Shapes.join([_edges(outlines), ball_part]), zones, rules.grid)


def _edges(outlines: Sequence[tuple[shapely.Polygon, int, float, int]]) -> _Shapes:
    """The edges of polygons (shape, net, space, trace) as `_Shapes` reaching nowhere beyond them."""
    rings = [np.asarray(p.exterior.coords)[:-1] for p, *_ in outlines]
    counts = np.array([len(r) for r in rings], dtype=int)
    if not counts.sum():
        z = np.zeros(0)
        return _Shapes(np.zeros((0, 2)), np.zeros((0, 2)), z, z, z.astype(int), z, z.astype(int), z, z.astype(object))
    p0 = np.concatenate(rings)
    nxt = np.arange(len(p0)) + 1
    ends = np.cumsum(counts) - 1
    nxt[ends] = ends - counts + 1                       # each ring's last vertex joins its first
    shapes = np.empty(len(outlines), dtype=object)
    shapes[:] = [p for p, *_ in outlines]
    per = lambda k: np.repeat(np.array([o[k] for o in outlines]), counts)  # noqa: E731
    zero = np.zeros(len(p0))
    return _Shapes(p0, p0[nxt], zero, zero, per(1).astype(int), per(2).astype(float), per(3).astype(int), zero,
                   np.repeat(shapes, counts))


def _traces(ctx: _Context, routing: Routing, paths: list[np.ndarray], drops: dict[int, _Shapes],
            changed: np.ndarray, rules: RouteRules) -> _Shapes:
    """The traces' runs and the edges of their teardrops as `_Shapes` (teardrops made again only where changed)."""
    counts = np.array([len(p) - 1 for p in paths])
    flat = np.concatenate(paths)
    first = np.ones(len(flat), bool)
    first[np.cumsum(counts + 1) - 1] = False
    begin = np.flatnonzero(first)
    owner = np.repeat(np.arange(len(paths)), counts)
    runs = _Shapes(flat[begin], flat[begin + 1], ctx.outer[owner], ctx.inner[owner], ctx.net[owner],
                   ctx.space[owner], owner, ctx.width[owner], np.full(len(begin), None))
    balls = {b.name: b for b in routing.balls}
    todo = [k for k in np.flatnonzero(changed).tolist() if routing.routes[k].teardrop and routing.routes[k].ball in balls]
    if todo:
        radius = inscribed_radii([balls[routing.routes[k].ball] for k in todo])
        for k, r_in in zip(todo, radius.tolist()):
            r = routing.routes[k]
            corners = teardrop_corners(balls[r.ball], [tuple(p) for p in paths[k]],
                                       replace(rules, width=float(ctx.width[k])), r_in)
            drops[k] = _edges([(shapely.Polygon(corners), int(ctx.net[k]), float(ctx.space[k]), k)] if corners else [])
    return _Shapes.join([runs, *drops.values()])


def _round(ctx: _Context, routing: Routing, paths: list[np.ndarray], active: np.ndarray, drops: dict[int, _Shapes],
           rules: RouteRules) -> np.ndarray:
    """One round: the active traces propose stretches, clashing ones are put back, the rest applied. Returns the
    traces worth another round: those that changed, and those a changed trace or a clash held back."""
    k, i, j, (pts, piece_of), saving = _proposals(paths, active)
    if not len(k):
        return np.zeros(len(paths), bool)
    starts = np.concatenate([[0], np.cumsum(np.bincount(piece_of, minlength=len(k)))])
    seg = np.flatnonzero(piece_of[:-1] == piece_of[1:])        # a piece's runs: consecutive points of one piece
    q0, q1, q_of = pts[seg], pts[seg + 1], piece_of[seg]
    qk = k[q_of]
    outside = np.zeros(len(k), bool)
    lines = shapely.linestrings(pts, indices=piece_of)
    for r, zone in ctx.zones.items():
        mine = ctx.outer[k] == r
        outside[mine] = ~shapely.covered_by(lines[mine], zone)
    first = not drops
    obs = _Shapes.join([_traces(ctx, routing, paths, drops, active if first else np.zeros(len(paths), bool), rules),
                        ctx.fixed])
    a, b = _pairs(q0, q1, obs.p0, obs.p1, obs.outer, float(ctx.space.max() + ctx.outer.max()))
    keep = obs.net[b] != ctx.net[qk[a]]
    a, b = a[keep], b[keep]
    close = _clash(q0[a], q1[a], ctx.width[qk[a]], ctx.outer[qk[a]], ctx.inner[qk[a]], ctx.space[qk[a]],
                   obs, b, ctx.grid, a)
    bad = outside.copy()
    bad[q_of[a[close]]] = True
    chosen: dict[int, list[int]] = {}
    for n in sorted(np.flatnonzero(~bad).tolist(), key=lambda n: (-saving[n], n)):
        kk, ii, jj = int(k[n]), int(i[n]), int(j[n])
        if all(jj <= i[m] or ii >= j[m] for m in chosen.get(kk, [])):
            chosen.setdefault(kk, []).append(n)
    picked = np.array(sorted(n for ns in chosen.values() for n in ns), dtype=int)
    kept = _without_clashes(ctx, picked, q0, q1, q_of, k, saving)
    moved = np.zeros(len(paths), bool)
    moved[k[kept]] = True
    again = moved.copy()
    again[k[np.setdiff1d(picked, kept)]] = True
    # a stretch held back only by traces that moved may fit now; one held by anything else (or outside) may not
    holder = obs.route[b[close]]
    stays = outside.copy()
    stays[q_of[a[close]][(holder < 0) | ~moved[np.maximum(holder, 0)]]] = True
    again[k[bad & ~stays]] = True
    for kk in np.flatnonzero(moved).tolist():
        parts, at = [], 0
        for n in sorted(kept[k[kept] == kk].tolist(), key=lambda n: i[n]):
            parts += [paths[kk][at:i[n]], pts[starts[n]:starts[n + 1] - 1]]
            at = int(j[n])
        parts.append(paths[kk][at:])
        paths[kk] = collinear_free(np.concatenate(parts))
    _traces(ctx, routing, paths, drops, moved, rules)     # the moved traces' teardrops, for the next round
    return again


def _clash(q0: np.ndarray, q1: np.ndarray, width: np.ndarray, outer: np.ndarray, inner: np.ndarray,
           space: np.ndarray, obs: _Shapes, b: np.ndarray, grid: float, key: np.ndarray) -> np.ndarray:
    """Whether each run q0-q1 (its pen's width and radii, its net's space) comes closer to shape b than the larger
    space: by centreline distance where that decides, else exactly (`key`: the run's identity, to sweep it once)."""
    need = np.maximum(space, obs.space[b])
    d = segment_distance(q0, q1, obs.p0[b], obs.p1[b])
    close = d < need + inner + obs.inner[b] - EPS
    unsure = np.flatnonzero(~close & (d < need + outer + obs.outer[b] - EPS))
    if len(unsure):
        gap, known = _parallel_gap(q0[unsure], q1[unsure], width[unsure], obs, b[unsure], grid)
        close[unsure[known]] = gap[known] < need[unsure[known]] - EPS
        unsure = unsure[~known]
        runs = obs.width[b[unsure]] > 0          # two pen-swept runs: clear when a 0/45/90° axis separates them
        bound = _octagon_gap(q0[unsure[runs]], q1[unsure[runs]], width[unsure[runs]], obs.p0[b[unsure[runs]]],
                             obs.p1[b[unsure[runs]]], obs.width[b[unsure[runs]]], grid)
        close[unsure[runs]] = bound < need[unsure[runs]] - EPS
        unsure = unsure[~runs]
    if len(unsure):
        runs, at = np.unique(key[unsure], return_inverse=True)
        first = np.unique(key[unsure], return_index=True)[1]
        mine = run_hulls(q0[unsure][first], q1[unsure][first], width[unsure][first], grid)
        theirs, bt = np.unique(b[unsure], return_inverse=True)
        close[unsure] = shapely.distance(mine[at], obs.exact(theirs, grid)[bt]) < need[unsure] - EPS
    return close


def _parallel_gap(q0: np.ndarray, q1: np.ndarray, width: np.ndarray, obs: _Shapes, b: np.ndarray,
                  grid: float) -> tuple[np.ndarray, np.ndarray]:
    """The exact metal gap between a run and a trace run or polygon edge b parallel to it whose extents along the
    run overlap (a pen reaches its a across an axis run, (a + t)/√2 across a 45° one, caps included; an edge
    nowhere), and where it is known."""
    d = q1 - q0
    e = obs.p1[b] - obs.p0[b]
    length = np.hypot(d[:, 0], d[:, 1])
    u = d / np.where(length > 0, length, 1.0)[:, None]
    parallel = (length > 0) & (np.abs(e).max(axis=1) > EPS) & (np.abs(u[:, 0] * e[:, 1] - u[:, 1] * e[:, 0]) < EPS)
    s0 = np.einsum("ij,ij->i", obs.p0[b] - q0, u)
    s1 = np.einsum("ij,ij->i", obs.p1[b] - q0, u)
    overlap = np.minimum(np.maximum(s0, s1), length) - np.maximum(np.minimum(s0, s1), 0.0) > EPS
    perp = np.abs(u[:, 0] * (obs.p0[b][:, 1] - q0[:, 1]) - u[:, 1] * (obs.p0[b][:, 0] - q0[:, 0]))
    diagonal = np.abs(np.abs(u[:, 0]) - np.abs(u[:, 1])) < EPS
    return perp - _across(width, diagonal, grid) - _across(obs.width[b], diagonal, grid), parallel & overlap


DIRS = np.array([(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)], dtype=float) / np.hypot(
    *np.array([(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)], dtype=float).T)[:, None]


def _octagon_gap(p0: np.ndarray, p1: np.ndarray, wp: np.ndarray, q0: np.ndarray, q1: np.ndarray, wq: np.ndarray,
                 grid: float) -> np.ndarray:
    """The largest gap along the eight 0/45/90° directions between runs p0-p1 and q0-q1 swept by their pens: never
    more than their distance, and equal to it whenever the nearest features face each other along one of them."""
    def support(a: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Support value of each swept run along the eight unit directions (rows, 8 columns)."""
        axis = np.arange(8) % 2 == 0
        reach = np.where(axis[None, :], _across(w, np.zeros(len(w), bool), grid)[:, None],
                         _across(w, np.ones(len(w), bool), grid)[:, None])
        return np.maximum(a @ DIRS.T, c @ DIRS.T) + reach

    hp, hq = support(p0, p1, wp), support(q0, q1, wq)
    return np.max(-hp - np.roll(hq, -4, axis=1), axis=1)


def _across(width: np.ndarray, diagonal: np.ndarray, grid: float) -> np.ndarray:
    """How far the pen of each width reaches across an axis run (a) or a 45° run ((a + t)/√2); 0 for no pen."""
    out = np.zeros(len(width))
    for w in np.unique(width[width > 0]).tolist():
        pen = pen_for(w, grid)
        mine = width == w
        out[mine] = np.where(diagonal[mine], (pen.a + pen.t) / SQRT2, pen.a)
    return out


def _without_clashes(ctx: _Context, picked: np.ndarray, q0: np.ndarray, q1: np.ndarray, q_of: np.ndarray,
                     k: np.ndarray, saving: np.ndarray) -> np.ndarray:
    """The picked stretches less each coming too close to a better one of another net."""
    if len(picked) < 2:
        return picked
    runs = np.flatnonzero(np.isin(q_of, picked))
    rk = k[q_of[runs]]
    mine = _Shapes(q0[runs], q1[runs], ctx.outer[rk], ctx.inner[rk], ctx.net[rk], ctx.space[rk], rk, ctx.width[rk],
                   np.full(len(runs), None))
    a, b = _pairs(q0[runs], q1[runs], mine.p0, mine.p1, mine.outer, float(ctx.space.max() + ctx.outer.max()))
    keep = mine.net[a] != mine.net[b]
    a, b = a[keep], b[keep]
    close = _clash(mine.p0[a], mine.p1[a], mine.width[a], mine.outer[a], mine.inner[a], mine.space[a], mine, b,
                   ctx.grid, a)
    rank = np.empty(len(saving), dtype=int)
    order = sorted(picked.tolist(), key=lambda n: (-saving[n], n))
    rank[order] = np.arange(len(order))
    p, q = q_of[runs[a[close]]], q_of[runs[b[close]]]
    drop = np.where(rank[p] > rank[q], p, q)
    return np.setdiff1d(picked, drop)


def _proposals(paths: list[np.ndarray], active: np.ndarray) -> tuple:
    """Every stretch (active trace k, vertices i to j, at most WINDOW runs, never an end run) that a shorter
    0/45/90° connection could replace (shorter, or as long with fewer bends), in both orders of its runs: k, i, j,
    the pieces (points, piece index), the saving (a bend fewer counted as `BEND`)."""
    ks, is_, js, saves = [], [], [], []
    for k in np.flatnonzero(active).tolist():
        path = paths[k]
        m = len(path) - 1
        if m < 4:
            continue
        cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
        ii, jj = np.triu_indices(m, 2)
        keep = (ii >= 1) & (jj <= m - 1) & (jj - ii <= WINDOW)
        ii, jj = ii[keep], jj[keep]
        d = np.abs(path[jj] - path[ii])
        lo, hi = d.min(axis=1), d.max(axis=1)
        save = cum[jj] - cum[ii] - (hi - lo + lo * SQRT2)
        runs = np.where((lo < EPS) | (hi - lo < EPS), 1, 2)
        fewer = jj - ii - runs                     # bends the stretch drops
        ok = (save > SAVING) | ((save > -EPS) & (fewer > 0))
        save = np.maximum(save, 0.0) + BEND * fewer
        ks.append(np.full(int(ok.sum()), k))
        is_.append(ii[ok])
        js.append(jj[ok])
        saves.append(save[ok])
    if not ks or not sum(len(x) for x in ks):
        none = np.zeros(0, int)
        return none, none, none, (np.zeros((0, 2)), none), np.zeros(0)
    k, i, j, saving = (np.concatenate(x) for x in (ks, is_, js, saves))
    a = np.concatenate([paths[kk][ii][None] for kk, ii in zip(k.tolist(), i.tolist())])
    b = np.concatenate([paths[kk][jj][None] for kk, jj in zip(k.tolist(), j.tolist())])
    d = b - a
    m = np.minimum(np.abs(d[:, 0]), np.abs(d[:, 1]))
    single = (m < EPS) | (np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < EPS)   # one run joins a and b
    step = np.sign(d) * m[:, None]
    # the diagonal first for every stretch, then the straight run first for those that need two runs
    two = np.flatnonzero(~single)
    k, i, j, saving = (np.concatenate([x, x[two]]) for x in (k, i, j, saving))
    a, b, single = np.concatenate([a, a[two]]), np.concatenate([b, b[two]]), np.concatenate([single, single[two]])
    corner = np.concatenate([a[:len(a) - len(two)] + step, b[len(a) - len(two):] - step[two]])
    count = np.where(single, 2, 3)
    at = np.concatenate([[0], np.cumsum(count)[:-1]])
    pts = np.empty((int(count.sum()), 2))
    pts[at] = a
    pts[at + 1] = np.where(single[:, None], b, corner)
    pts[at[~single] + 2] = b[~single]
    return k, i, j, (pts, np.repeat(np.arange(len(k)), count)), saving


def segment_distance(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> np.ndarray:
    """Distance between segments p0-p1 and q0-q1, row by row (0 where they cross; a point is a segment of length 0)."""
    def to_segment(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distance from points x to segments a-b."""
        d = b - a
        dd = np.einsum("ij,ij->i", d, d)
        t = np.clip(np.einsum("ij,ij->i", x - a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
        return np.hypot(*(a + t[:, None] * d - x).T)

    def side(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Which side of line a-b point c lies on (−1, 0, 1)."""
        return np.sign((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))

    dist = np.minimum.reduce([to_segment(p0, q0, q1), to_segment(p1, q0, q1), to_segment(q0, p0, p1),
                              to_segment(q1, p0, p1)])
    cross = (side(p0, p1, q0) * side(p0, p1, q1) < 0) & (side(q0, q1, p0) * side(q0, q1, p1) < 0)
    return np.where(cross, 0.0, dist)


def _pairs(q0: np.ndarray, q1: np.ndarray, o0: np.ndarray, o1: np.ndarray, extra: np.ndarray,
           reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (run, shape segment) whose boxes come within `reach` plus the shape's own reach."""
    lo, hi = np.minimum(o0, o1) - extra[:, None], np.maximum(o0, o1) + extra[:, None]
    tree = shapely.STRtree(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    r = reach + EPS
    qlo, qhi = np.minimum(q0, q1) - r, np.maximum(q0, q1) + r
    return tree.query(shapely.box(qlo[:, 0], qlo[:, 1], qhi[:, 0], qhi[:, 1]))


def run_hulls(p0: np.ndarray, p1: np.ndarray, width: np.ndarray, grid: float) -> np.ndarray:
    """Runs p0-p1 swept by the pen of their width (one convex hull each)."""
    out = np.empty(len(p0), dtype=object)
    for w in np.unique(width):
        mine = np.flatnonzero(width == w)
        out[mine] = trace_hulls(np.stack([p0[mine], p1[mine]], axis=1), float(w), grid)[0]
    return out


def collinear_free(path: np.ndarray) -> np.ndarray:
    """The path without repeated vertices and without vertices in the middle of a straight run."""
    d = np.diff(path, axis=0)
    pts = np.vstack([path[:1], path[1:][np.abs(d).max(axis=1) > EPS]])
    d = np.diff(pts, axis=0)
    u = np.round(d / np.abs(d).max(axis=1, keepdims=True), 6)      # 0/45/90° runs: entries −1, 0 or 1
    bend = np.any(u[1:] != u[:-1], axis=1)
    return pts[np.concatenate([[True], bend, [True]])]

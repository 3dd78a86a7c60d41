"""Spreading: traces bundled at minimum space move apart where their channel has room (all lengths in µm).

A post-pass over a finished routing. Each straight run between two bends of a trace (never the
run that lands on the pad or enters the ball) may slide sideways: its two bends slide along the
runs before and after it, so the trace keeps its 0/45/90° shape. Every run measures the room it
has on either side (how far it can slide before the metal it sweeps comes within the space of
another net's metal, a pad, a ball, its own trace further on or the keep-in edge) and moves to
the middle of it, so that parallel runs in a gap or a channel end up evenly spaced (more space
than the minimum is better yield). Runs of one trace three apart or more move in the same
phase, all runs in turn, for a few rounds; each move is at most half the room, and of two
moving runs whose new metal would still clash the later is put back. A run never slides where
its trace would get longer; the runs landing on the pad and entering the ball get shorter only
down to what their bends need to clear their own pad and ball (and the teardrop); an axis run
beside a 45° run gets shorter only down to the pen's corner reach a + t; every vertex stays on the
grid.

Metal is measured as octilinear octagons: a trace segment swept by the octagonal pen, a swept
run, a rectangular pad and a teardrop are exactly the intersection of eight half-planes (their
support values along the 0/45/90° directions), and the distance between two such shapes is
bounded from below by the largest gap along those directions (never more than the true
distance, so a move judged clear is clear). Round capture pads are circles (their circumradius),
measured exactly against a run's octagon. The result goes through the router's final check
(`verify.checked`) like any other routing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from .geometry import inscribed_radii, pen_for, teardrop_corners, teardrop_run
from .model import RouteRules, Routing, Terminal
from .tighten import tighten
from .verify import checked

ROUNDS = 2  # rounds of every run moving to the middle of its room
REACH = 4.0  # room is looked for up to this many trace pitches (w + s) on each side
STEPS = 32  # ... in this many steps, found by bisection
LONGER = 0.0  # a trace may get at most this share of its length longer by spreading
PHASES = 3  # runs of one trace this many apart move in the same phase (they share no bend)
EPS = 1e-6  # µm: distances this close to a rule meet it

# The eight 0/45/90° directions (counter-clockwise from +x) and their lengths.
DIRS = np.array([(1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1)], dtype=float)
NORM = np.hypot(DIRS[:, 0], DIRS[:, 1])
# Inverse of the 2 × 2 system of consecutive directions: vertex k of an octagon = INV[k] @ (h_k, h_k+1).
INV = np.array([np.linalg.inv(np.stack([DIRS[k], DIRS[(k + 1) % 8]])) for k in range(8)])
NEXT = np.roll(np.arange(8), -1)  # index k + 1 (mod 8): a fancy-index view is cheaper than np.roll
PREV = np.roll(np.arange(8), 1)  # index k − 1 (mod 8)
OPPOSITE = np.roll(np.arange(8), 4)  # index k + 4 (mod 8)


def spread(routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> Routing:
    """The routing with its straight runs moved apart where their channel has room (the same
    routing when nothing can move); every trace keeps its pad, ball and 45° shape, and gets no longer."""
    if not routing.routes:
        return routing
    job = _Job.of(routing, pads, keepin, rules)
    for _ in range(ROUNDS):
        moved = sum(job.step(phase) for phase in range(PHASES))
        if not moved:
            break
    return routing.with_paths(job.paths)


def spread_checked(routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> Routing:
    """`checked(spread(tighten(routing)))`: pulled tight, then spread; should that fail the final check, the
    routing spread without being pulled tight, and last the routing as it was drawn."""
    tight = tighten(routing, pads, keepin, rules)
    tries = [tight, routing] if tight is not routing else [routing]
    for drawn in tries:
        try:
            return checked(spread(drawn, pads, keepin, rules), pads, keepin, rules)
        except RoutingError:
            pass
    return checked(routing, pads, keepin, rules)


# ---------------------------------------------------------------------- octagons


def support(points: np.ndarray) -> np.ndarray:
    """Support values (…, 8) of point sets (…, m, 2) along the eight directions."""
    # x·dx + y·dy with dx, dy in {−1, 0, 1}, written out: the same values as `points @ DIRS.T`
    # (a product by ±1 is exact, and a negated sum is the sum negated); the few points of a set
    # reduced pairwise (numpy's reductions over a short axis, and batched matmuls, are slow)
    x, y = points[..., 0], points[..., 1]
    s, d = x + y, x - y
    q = np.stack([x, s, y, -d, -x, -s, -y, d], axis=-1)
    out = q[..., 0, :]
    for k in range(1, q.shape[-2]):
        out = np.maximum(out, q[..., k, :])
    return out


def octagon_gap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A lower bound of the distance between octilinear octagons given by supports (n, 8): the
    largest gap between their projections on the eight directions (negative when they overlap)."""
    return gap_to(a, opposite(b))


def opposite(b: np.ndarray) -> np.ndarray:
    """Negated supports (n, 8) along the opposite directions, which `gap_to` takes (computed once
    per obstacle rather than at every test)."""
    return -b[:, OPPOSITE]


def gap_to(a: np.ndarray, b_opp: np.ndarray) -> np.ndarray:
    """`octagon_gap(a, b)` given `opposite(b)`."""
    return ((b_opp - a) / NORM).max(axis=1)


def _scaled(gaps: np.ndarray) -> np.ndarray:
    """Gaps along the eight directions (8, n) divided by the directions' lengths, in place: only
    the diagonals' rows (a division by 1 changes nothing), the same values at half the work."""
    gaps[1::2] /= NORM[1]
    return gaps


def vertices(h: np.ndarray) -> np.ndarray:
    """The eight vertices (n, 8, 2) of octagons given by supports (n, 8) (repeated where an edge is empty)."""
    nxt = h[:, NEXT]  # vertex k = INV[k] @ (h_k, h_k+1), INV's entries 0 or ±1: written out, no einsum
    return np.stack([INV[:, 0, 0] * h + INV[:, 0, 1] * nxt, INV[:, 1, 0] * h + INV[:, 1, 1] * nxt], axis=-1)


def point_distance(h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Exact distance from points c (n, 2) to octagons h (n, 8) (0 inside)."""
    v = vertices(h)
    a, b = v[:, PREV], v  # edge k runs from vertex k − 1 to vertex k
    d = b - a
    t = np.clip(((c[:, None] - a) * d).sum(-1) / np.maximum((d * d).sum(-1), 1e-300), 0.0, 1.0)
    dist = np.hypot(*np.moveaxis(c[:, None] - a - t[..., None] * d, -1, 0)).min(axis=1)
    inside = ((c @ DIRS.T) <= h + 1e-9).all(axis=1)
    return np.where(inside, 0.0, dist)


def _octilinear(shapes: np.ndarray) -> np.ndarray:
    """Whether each shape is a convex polygon with edges at multiples of 45° (exactly its octagon)."""
    n = len(shapes)
    poly = (shapely.get_type_id(shapes) == 3) & (shapely.get_num_interior_rings(shapes) == 0)
    xy, index = shapely.get_coordinates(shapely.get_exterior_ring(shapes[poly]), return_index=True)
    d = np.diff(xy, axis=0)
    octi = (np.abs(d[:, 0]) < 1e-9) | (np.abs(d[:, 1]) < 1e-9) | (np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9)
    bent = np.zeros(int(poly.sum()), dtype=bool)  # an edge of the ring off the eight directions
    bent[index[1:][(index[1:] == index[:-1]) & ~octi]] = True
    ok = np.zeros(n, dtype=bool)
    cand = np.flatnonzero(poly)[~bent]
    area = shapely.area(shapes[cand])
    ok[cand] = np.abs(shapely.area(shapely.convex_hull(shapes[cand])) - area) <= 1e-9 * np.maximum(area, 1.0)
    return ok


def _outlines(shapes: np.ndarray, rnd: np.ndarray, centre: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Supports (n, 8) of the octagonal shapes (NaN for round ones) and circumradii about `centre`
    (n,) of the round ones (NaN for octagonal ones), from a polygon's outer ring (any other
    shape's every vertex)."""
    n = len(shapes)
    poly = shapely.get_type_id(shapes) == 3
    rings = shapes.copy()
    rings[poly] = shapely.get_exterior_ring(shapes[poly])
    xy, index = shapely.get_coordinates(rings, return_index=True)
    h = np.full((n, 8), np.nan)
    radius = np.full(n, np.nan)
    has = np.flatnonzero(np.bincount(index, minlength=n))  # the shapes with vertices, in order
    if not len(has):
        return h, radius
    starts = np.searchsorted(index, has)  # each one's first vertex: groups are contiguous
    octo = ~rnd[has]
    if octo.any():
        h[has[octo]] = np.maximum.reduceat(xy @ DIRS.T, starts, axis=0)[octo]
    if (~octo).any():
        far = np.hypot(xy[:, 0] - centre[index, 0], xy[:, 1] - centre[index, 1])
        radius[has[~octo]] = np.maximum.reduceat(far, starts)[~octo]
    return h, radius


def _extents(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Boxes as their diagonals, for an STRtree queried without a predicate: the same extents
    as the boxes, made at a fraction of the cost."""
    return shapely.linestrings(np.stack([np.stack([x0, y0], -1), np.stack([x1, y1], -1)], 1))


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


# ---------------------------------------------------------------------- the pass


@dataclass
class _Fixed:
    """Pads, balls and teardrops: octagon supports (or NaN) and circles (centre, radius; NaN when octagonal)."""

    h: np.ndarray  # (n, 8)
    centre: np.ndarray  # (n, 2)
    radius: np.ndarray  # (n,)
    round: np.ndarray  # (n,) bool
    net: np.ndarray  # (n,) net id, −1 none
    box: np.ndarray  # (n, 4) bounds


@dataclass
class _Job:
    """The routing being spread: paths, pens, the fixed metal and per-route facts."""

    paths: list[np.ndarray]
    rules: RouteRules
    keepin: shapely.Geometry
    keep_box: tuple[float, float, float, float] | None  # the keep-in when it is a rectangle
    net_id: np.ndarray  # per route
    space: np.ndarray  # per net id: its class space
    pen_h: np.ndarray  # per route: the pen's supports (8)
    fixed: _Fixed
    own_pad: np.ndarray  # per route: index into fixed of its pad
    own_ball: np.ndarray  # per route: index into fixed of its ball
    own_drop: np.ndarray  # per route: index into fixed of its teardrop (−1 none)
    clear: np.ndarray  # per route: how far an end run's bend keeps from its own pad or ball
    shortest: np.ndarray  # per route: its pen's corner reach a + t, the shortest an axis run beside a 45° run may get (µm)
    ball_min: np.ndarray  # per route: shortest its last run may get (µm)
    unit: float  # the sliding step
    budget: np.ndarray  # per route: how much longer it may still get (µm)
    fixed_boxes: np.ndarray  # the fixed metal's bounds as `_extents` (built once)

    @classmethod
    def of(cls, routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> "_Job":
        routes = routing.routes
        balls = {b.name: b for b in routing.balls}
        nets = sorted({r.net for r in routes} | {p.net for p in pads} | set(routing.ball_nets.values()))
        nid = {n: k for k, n in enumerate(nets)}
        shapes, centres, fixed_net, index = [], [], [], {}
        for kind, terms in (("pad", pads), ("ball", routing.balls)):
            for t in terms:
                net = t.net if kind == "pad" else routing.ball_nets.get(t.name)
                index[kind, t.name] = len(shapes)
                shapes.append(t.shape)
                centres.append((t.x, t.y))
                fixed_net.append(nid[net] if net is not None else -1)
        own_drop = np.full(len(routes), -1)
        pen_h, clear, ball_min, shortest = [], [], [], []
        used = sorted({r.ball for r in routes if r.ball in balls})
        r_in = dict(zip(used, inscribed_radii([balls[b] for b in used]).tolist()))  # each ball's once
        corners = []
        by_width = {}  # per trace width: its pen's supports and corner reach, and the rules at that width
        for w in {r.width or rules.width for r in routes}:
            pen = pen_for(w, rules.grid)
            by_width[w] = (support(pen.outline), math.hypot(pen.a, pen.t), replace(rules, width=w), pen.a + pen.t)
        space_of = {n: rules.for_net(n)[1] for n in {r.net for r in routes}}
        for k, r in enumerate(routes):
            w = r.width or rules.width
            h, corner, wr, least = by_width[w]
            pen_h.append(h)
            shortest.append(least)
            clear.append(space_of[r.net] + corner)
            ball = balls.get(r.ball)
            if ball is not None and r.teardrop:
                drop = teardrop_corners(ball, r.path, wr, r_in[r.ball])
                if drop is not None:
                    own_drop[k] = len(shapes) + len(corners)
                    corners.append(drop)
                    centres.append((ball.x, ball.y))
                    fixed_net.append(nid[r.net])
            ball_min.append(teardrop_run(ball, wr, r_in[r.ball]) if ball is not None else 0.0)
        if corners:  # the teardrops as polygons in one call
            shapes.extend(shapely.polygons(np.array(corners, dtype=float)))
        geoms = np.empty(len(shapes), dtype=object)
        geoms[:] = shapes
        rnd = ~_octilinear(geoms)
        centre = np.array(centres, dtype=float).reshape(-1, 2)
        h, radius = _outlines(geoms, rnd, centre)
        box = shapely.bounds(geoms).reshape(-1, 4)
        q = 4.0 * rules.grid  # a diagonal run's bend with another diagonal slides half a step
        unit = max(q, math.floor(REACH * (rules.width + rules.space) / STEPS / q) * q)
        is_box = shapely.equals(keepin, shapely.box(*keepin.bounds))
        return cls(
            paths=[np.asarray(r.path, dtype=float).reshape(-1, 2) for r in routes],
            rules=rules,
            keepin=keepin,
            keep_box=tuple(keepin.bounds) if is_box else None,
            net_id=np.array([nid[r.net] for r in routes]),
            space=np.array([rules.for_net(n)[1] for n in nets]),
            pen_h=np.array(pen_h),
            fixed=_Fixed(h, centre, radius, rnd, np.array(fixed_net), box),
            own_pad=np.array([index.get(("pad", r.pad), -1) for r in routes]),
            own_ball=np.array([index.get(("ball", r.ball), -1) for r in routes]),
            own_drop=own_drop,
            clear=np.array(clear),
            shortest=np.array(shortest),
            ball_min=np.array(ball_min),
            unit=unit,
            budget=np.array([LONGER * r.length_um for r in routes], dtype=float),
            fixed_boxes=_extents(box[:, 0], box[:, 1], box[:, 2], box[:, 3]),
        )

    # ------------------------------------------------------------------ one phase of a round

    def step(self, phase: int) -> int:
        """Move the runs of this phase to the middle of their room; the number that moved."""
        sg = self._segments()
        mv = self._movers(phase, sg)
        if mv is None:
            return 0
        every = np.arange(len(mv.route))
        sweep = {sign: self._swept(mv, every, np.full(len(every), sign * STEPS)) for sign in (1, -1)}
        pairs = self._pairs(mv, sg, np.maximum(sweep[1], sweep[-1]))
        room = {}
        for sign in (1, -1):
            # the pairs a move this way can bring too close: a move of k steps sweeps at most what
            # the full move sweeps plus the grid its bends round to (half a step per coordinate)
            near = pairs.within(sweep[sign] + 2.0 * self.rules.grid + EPS)
            lo = np.zeros(len(mv.route), dtype=np.int64)
            hi = np.full(len(mv.route), STEPS + 1, dtype=np.int64)
            while (hi - lo > 1).any():
                live = hi - lo > 1
                mid = np.where(live, (lo + hi) // 2, lo)
                ok = self._clear(mv, sign * mid, near) | ~live
                lo = np.where(live & ok, mid, lo)
                hi = np.where(live & ~ok, mid, hi)
            room[sign] = lo
        # to the middle of the room, as far as the trace's own rules let it (so its nearer side
        # only gains room); a move the rules refuse is halved until they allow it
        want = (room[1] - room[-1]) // 2
        for _ in range(int(math.log2(STEPS)) + 1):
            bad = (want != 0) & ~self._allowed(mv, want)
            if not bad.any():
                break
            want = np.where(bad, np.trunc(want / 2.0).astype(np.int64), want)
        want = np.where((want != 0) & ~self._allowed(mv, want), 0, want)
        gain = want * mv.grow  # how much longer each trace gets
        longer = np.zeros(len(self.paths))
        np.add.at(longer, mv.route, np.maximum(gain, 0.0))
        over = longer > self.budget + 1e-9
        want = np.where((gain > 1e-9) & over[mv.route], 0, want)
        go = np.flatnonzero(want != 0)
        if self.keep_box is None and len(go):
            inside = shapely.covered_by(self._polygons(self._swept(mv, go, want[go])), self.keepin)
            go = go[inside]
        if not len(go):
            return 0
        go = self._settle(mv, want, go)
        np.subtract.at(self.budget, mv.route[go], np.maximum(gain[go], 0.0))
        a, b = self._corners(mv, go, want[go])
        for n, m in enumerate(go.tolist()):
            path = self.paths[int(mv.route[m])]
            i = int(mv.seg[m])
            path[i], path[i + 1] = a[n], b[n]
        return len(go)

    def _segments(self) -> "_Segments":
        """Every segment of every trace at once: ends, route, index, direction and length."""
        count = np.array([len(p) - 1 for p in self.paths])
        pts = np.concatenate(self.paths)
        start = np.concatenate([[0], np.cumsum(count + 1)[:-1]])
        first = np.repeat(start, count) + np.concatenate([np.arange(n) for n in count])
        a, b = pts[first], pts[first + 1]
        d = b - a
        big = np.maximum(np.abs(d[:, 0]), np.abs(d[:, 1]))
        unit = np.rint(d / np.maximum(big, 1e-300)[:, None])
        route = np.repeat(np.arange(len(self.paths)), count)
        seg = np.concatenate([np.arange(n) for n in count])
        return _Segments(a, b, route, seg, unit, big, count[route])

    def _movers(self, phase: int, sg: "_Segments") -> "_Movers | None":
        """The runs that may move in this phase, with how their bends slide per step."""
        k = np.flatnonzero((sg.seg >= 1) & (sg.seg <= sg.count - 2) & ((sg.seg - 1) % PHASES == phase))
        d0, d1, d2 = sg.dirs[k - 1], sg.dirs[k], sg.dirs[k + 1]
        bend = (_cross(d0, d1) != 0) & (_cross(d2, d1) != 0)  # not a straight point left in the path
        k, d0, d1, d2 = k[bend], d0[bend], d1[bend], d2[bend]
        if not len(k):
            return None
        route, seg = sg.route[k], sg.seg[k]
        l0, l1, l2 = sg.length[k - 1], sg.length[k], sg.length[k + 1]
        a, b = sg.a[k], sg.b[k]
        first, last = seg == 1, seg == sg.count[k] - 2
        # a step moves the run's line by `shift` across it (a diagonal's by one unit along each
        # axis, so that its bends with other diagonals stay on the grid)
        shift = np.stack([-d1[:, 1], d1[:, 0]], axis=1) * self.unit
        c = _cross(shift, d1)
        c1 = c / _cross(d0, d1)  # the bend before the run slides c1·d0 per step
        c2 = c / _cross(d2, d1)  # the bend after it slides c2·d2 per step
        c_run = ((c2[:, None] * d2 - c1[:, None] * d0) * d1).sum(1) / (d1 * d1).sum(1)
        n0, n1, n2 = (np.hypot(x[:, 0], x[:, 1]) for x in (d0, d1, d2))
        grow = c1 * n0 + c_run * n1 - c2 * n2  # the trace's length change per step
        # the directions of the runs beyond the neighbours (0, 0 past the trace's ends)
        far0 = np.where((seg >= 2)[:, None], sg.dirs[np.maximum(k - 2, 0)], 0.0)
        far2 = np.where((seg + 2 < sg.count[k])[:, None], sg.dirs[np.minimum(k + 2, len(sg.dirs) - 1)], 0.0)
        return _Movers(route, seg, d0, d1, d2, l0, l1, l2, a, b, first, last, c1, c2, c_run, grow,
                       sg.a[k - 1], sg.b[k + 1], far0, far2)

    def _corners(self, mv: "_Movers", which: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The run's two bends after k steps (on the grid)."""
        g = self.rules.grid
        a = mv.a[which] + (k * mv.c1[which])[:, None] * mv.d0[which]
        b = mv.b[which] + (k * mv.c2[which])[:, None] * mv.d2[which]
        return np.rint(a / g) * g, np.rint(b / g) * g

    def _swept(self, mv: "_Movers", which: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Supports of the metal a run sweeps moving k steps (its old and new place, its bends' slides)."""
        a2, b2 = self._corners(mv, which, k)
        pts = np.stack([mv.a[which], mv.b[which], a2, b2], axis=1)
        return support(pts) + self.pen_h[mv.route[which]]

    def _pairs(self, mv: "_Movers", sg: "_Segments", far: np.ndarray) -> "_Pairs":
        """Every (run, obstacle) pair near enough to matter over the whole reach (`far`: supports of
        what each run sweeps moving the full reach either way), without the run's own neighbours
        (and its own pad, ball and teardrop where an end run meets them)."""
        ph = support(np.stack([sg.a, sg.b], axis=1)) + self.pen_h[sg.route]
        proute, pseg, pdir = sg.route, sg.seg, sg.dirs
        fx = self.fixed
        boxes = np.concatenate([_extents(-ph[:, 4], -ph[:, 6], ph[:, 0], ph[:, 2]), self.fixed_boxes])
        n_pieces = len(ph)
        reach = float(self.space.max())
        query = _extents(-far[:, 4] - reach, -far[:, 6] - reach, far[:, 0] + reach, far[:, 2] + reach)
        i, j = shapely.STRtree(boxes).query(query)  # boxes along the axes: extents meeting is meeting
        r, s = mv.route[i], mv.seg[i]
        piece = j < n_pieces
        jp = np.where(piece, j, 0)
        jf = np.where(piece, -1, j - n_pieces)
        same = piece & (proute[jp] == r)
        gap = np.abs(pseg[jp] - s)
        skip = same & (gap <= 1)
        two = np.flatnonzero(same & (gap == 2))  # two runs apart: skipped unless they run back
        skip[two] = (pdir[jp[two]] * mv.d1[i[two]]).sum(1) >= 0
        skip |= (jf >= 0) & (jf == self.own_drop[r]) & mv.last[i]
        skip |= (jf >= 0) & (jf == self.own_pad[r]) & mv.first[i]
        skip |= (jf >= 0) & (jf == self.own_ball[r]) & mv.last[i]
        i, jp, jf, r, piece = i[~skip], jp[~skip], jf[~skip], r[~skip], piece[~skip]
        other = np.where(piece, self.net_id[proute[jp]], fx.net[np.maximum(jf, 0)])
        need = np.maximum(self.space[self.net_id[r]], np.where(other >= 0, self.space[np.maximum(other, 0)],
                                                               self.rules.space))
        jfc = np.maximum(jf, 0)
        rnd = ~piece & fx.round[jfc]
        h = np.empty((len(jp), 8))  # each pair's obstacle: a piece's supports or a fixed shape's
        h[piece] = ph[jp[piece]]
        h[~piece] = fx.h[jfc[~piece]]
        if rnd.any():  # a circle's circumscribed octagon, whose gap bounds the circle's from below
            h[rnd] = fx.centre[jfc[rnd]] @ DIRS.T + fx.radius[jfc[rnd]][:, None] * NORM
        return _Pairs(i, np.ascontiguousarray(opposite(h).T), rnd, fx.centre[jfc], fx.radius[jfc], need - EPS)

    def _allowed(self, mv: "_Movers", k: np.ndarray) -> np.ndarray:
        """Whether each run may move k steps (k signed) by the rules of its trace: every run keeps
        its direction, the end runs shrink only while their bends keep clear of their own pad or
        ball (and the teardrop keeps its run)."""
        kk = k.astype(float)
        l0 = mv.l0 + kk * mv.c1
        l2 = mv.l2 - kk * mv.c2
        l1 = mv.l1 + kk * mv.c_run
        ok = (l1 > 1e-6) & (l0 > 1e-6) & (l2 > 1e-6)
        # an axis run beside a 45° run that gets shorter keeps at least the pen's corner reach a + t
        # (or its old length, if shorter): shorter, the chamfered corners of the pens at its two bends
        # overlap and the 45° run's edge meets the run beyond it directly, a corner the snapped merge
        # with a teardrop or a notch fill beside it turns into an edge off 0/45/90°
        least = self.shortest[mv.route]
        for new, old, d, n1, n2 in ((l0, mv.l0, mv.d0, mv.far0, mv.d1), (l1, mv.l1, mv.d1, mv.d0, mv.d2),
                                    (l2, mv.l2, mv.d2, mv.d1, mv.far2)):
            axis = (d[:, 0] == 0) | (d[:, 1] == 0)
            beside = (np.abs(n1).sum(1) == 2) | (np.abs(n2).sum(1) == 2)
            ok &= ~(axis & beside) | (new >= np.minimum(least, old) - 1e-9)
        a2, b2 = self._corners(mv, np.arange(len(mv.route)), k)
        fx = self.fixed
        for end, short, corner, own in ((mv.first, l0 < mv.l0 - 1e-9, a2, self.own_pad),
                                        (mv.last, l2 < mv.l2 - 1e-9, b2, self.own_ball)):
            sel = np.flatnonzero(end & short & ok)
            if not len(sel):
                continue
            r = mv.route[sel]
            f = own[r]
            d = np.where(fx.round[f], np.hypot(*(corner[sel] - fx.centre[f]).T) - np.nan_to_num(fx.radius[f]),
                         point_distance(np.nan_to_num(fx.h[f]), corner[sel]))
            good = d >= self.clear[r] - 1e-9
            if end is mv.last:
                good &= l2[sel] * np.hypot(*mv.d2[sel].T) >= self.ball_min[r] - 1e-9
            ok[sel] &= good
        return ok

    def _clear(self, mv: "_Movers", k: np.ndarray, pairs: "_Pairs") -> np.ndarray:
        """Whether the metal each run sweeps moving k steps (k signed) keeps its space from every
        obstacle and stays inside the keep-in."""
        h = self._swept(mv, np.arange(len(mv.route)), k)
        ok = np.ones(len(mv.route), dtype=bool)
        if self.keep_box is not None:
            xl, yl, xh, yh = self.keep_box
            ok &= (h[:, 0] <= xh + 1e-9) & (-h[:, 4] >= xl - 1e-9) & (h[:, 2] <= yh + 1e-9) & (-h[:, 6] >= yl - 1e-9)
        if len(pairs.mover):
            # `gap_to` on the transposed supports (8, pairs): the same values, reduced across
            # contiguous rows; a circle's octagon is its circumscribed one: a lower bound
            dist = _scaled(pairs.opp - h.T[:, pairs.mover]).max(axis=0)
            hit = dist < pairs.need
            rr = np.flatnonzero(pairs.round & hit)
            if len(rr):  # near a round pad: measured exactly
                mine = h[pairs.mover[rr]]
                hit[rr] = point_distance(mine, pairs.centre[rr]) - pairs.radius[rr] < pairs.need[rr]
            ok[pairs.mover[hit]] = False
        return ok

    def _settle(self, mv: "_Movers", want: np.ndarray, go: np.ndarray) -> np.ndarray:
        """The runs of `go` that may take their moves together: of two moving runs whose new metal
        (the run and the runs before and after it) would clash, the later is put back, until none clash."""
        while len(go) > 1:
            a2, b2 = self._corners(mv, go, want[go])
            chain = np.stack([mv.before[go], a2, b2, mv.after[go]], axis=1)
            pieces = np.stack([chain[:, :-1], chain[:, 1:]], axis=2)  # (n, 3, 2, 2)
            h = (support(pieces) + self.pen_h[mv.route[go]][:, None]).reshape(-1, 8)
            owner = np.repeat(np.arange(len(go)), 3)
            # pairs of boxes within the space: candidates from the extents grown by it, then one
            # vectorised distance test (the tree's own dwithin query tests each as it finds it)
            reach = float(self.space.max())
            i, j = shapely.STRtree(_extents(-h[:, 4], -h[:, 6], h[:, 0], h[:, 2])).query(
                _extents(-h[:, 4] - reach, -h[:, 6] - reach, h[:, 0] + reach, h[:, 2] + reach))
            a, b = owner[i], owner[j]
            ra, rb = mv.route[go[a]], mv.route[go[b]]
            near_same = (ra == rb) & (np.abs(mv.seg[go[a]] - mv.seg[go[b]]) <= PHASES)
            keep = np.flatnonzero((a < b) & ~near_same)
            i, j, a, b, ra, rb = i[keep], j[keep], a[keep], b[keep], ra[keep], rb[keep]
            boxes = shapely.box(-h[:, 4], -h[:, 6], h[:, 0], h[:, 2])
            clash = shapely.dwithin(boxes[i], boxes[j], reach)
            need = np.maximum(self.space[self.net_id[ra]], self.space[self.net_id[rb]])
            clash &= octagon_gap(h[i], h[j]) < need - EPS
            if not clash.any():
                break
            go = np.delete(go, np.unique(b[clash]))
        return go

    @staticmethod
    def _polygons(h: np.ndarray) -> np.ndarray:
        """Octagons as shapely polygons."""
        return shapely.polygons(vertices(h))


@dataclass(frozen=True)
class _Segments:
    """Every segment of every trace: its ends, route, index in the route, direction (components in
    {−1, 0, 1}), length in direction units, and its route's number of segments."""

    a: np.ndarray
    b: np.ndarray
    route: np.ndarray
    seg: np.ndarray
    dirs: np.ndarray
    length: np.ndarray
    count: np.ndarray


@dataclass(frozen=True)
class _Movers:
    """The runs moving in one phase: route and segment, the directions and lengths (in direction
    units) of the run and the runs before and after it, its bends, whether those runs are the end
    runs, and per step how far the bends slide, how the run's length and the trace's length change."""

    route: np.ndarray
    seg: np.ndarray
    d0: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    l0: np.ndarray
    l1: np.ndarray
    l2: np.ndarray
    a: np.ndarray
    b: np.ndarray
    first: np.ndarray
    last: np.ndarray
    c1: np.ndarray
    c2: np.ndarray
    c_run: np.ndarray
    grow: np.ndarray
    before: np.ndarray  # the far end of the run before it
    after: np.ndarray  # the far end of the run after it
    far0: np.ndarray  # direction of the run before the run before it (0, 0 none)
    far2: np.ndarray  # direction of the run after the run after it (0, 0 none)


@dataclass(frozen=True)
class _Pairs:
    """(run, obstacle) pairs: the obstacle's octagon (as `opposite` supports, transposed to (8, n))
    or circle and the space the pair needs (less EPS)."""

    mover: np.ndarray
    opp: np.ndarray
    round: np.ndarray
    centre: np.ndarray
    radius: np.ndarray
    need: np.ndarray

    def within(self, h: np.ndarray) -> "_Pairs":
        """The pairs whose obstacle comes within its space of the octagon h (n, 8) of its run: a
        run whose moves all stay inside h can come too close to no other (`_clear` measures every
        such move by the same octagon gap, never smaller than the gap to h), so `_clear` answers
        the same for those moves with these pairs only."""
        keep = _scaled(self.opp - h.T[:, self.mover]).max(axis=0) < self.need
        return _Pairs(self.mover[keep], self.opp[:, keep], self.round[keep], self.centre[keep], self.radius[keep],
                      self.need[keep])

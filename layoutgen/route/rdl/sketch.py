"""A topological plan of a single-layer routing (all lengths in µm): which gaps between balls, pads
and the die edge each trace passes, and in which order, before any track is drawn.

The obstacles (pads, balls, and points along the keep-in edge) are triangulated (Delaunay on their
centres). Each inner edge of the triangulation is a gap: it carries ⌊(g − s) / (w + s)⌋ tracks,
g the free length between its two obstacles. A trace is a walk from its pad to its ball through
triangles: it leaves its pad across the gap opposite it, crosses gap after gap, and enters its ball
from the gap opposite that. Each gap keeps the traces crossing it in order along it (a rubber band:
only the order is planned, the tracks are spread later), so a new trace chooses where among them it
crosses, and two traces cross when their ends alternate round a triangle. Every trace is found by
Dijkstra over these choices, crossing another net and filling a gap past its tracks priced, the
prices growing with each round while conflicts stay (PathFinder's negotiated congestion). The plan
gives each trace a guide: its pad centre, one point per gap it crosses (its place in the gap's
order, SPREAD tracks apart about the gap's middle), points round any pad or ball a segment would
cut, and its ball centre, a polyline no other net's guide crosses. When conflicts remain after the rounds, `PlanOverCapacity` names the most over-full
gap (its two obstacles, by how many tracks, the nets through it) or two nets that still cross."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from layoutgen.errors import RoutingError
from layoutgen.units import STEP_EPS
from .model import RouteRules, Terminal

ROUNDS = 40  # negotiated-congestion rounds before the plan is declared over capacity
CROSS = 1.0  # a crossing's price, in units of one track over a gap's capacity
HIST = 1.0  # history added per round to a gap over capacity, or to a triangle where two nets cross
GROWTH = 1.5  # growth of the present-congestion price per round
SPREAD = 2.0  # tracks between neighbouring guides on a gap with room (two 45° runs need √2 tracks between them)
ARC = 0.4  # radians between the points of a guide rounded about an obstacle
AROUND = 3  # times a guide segment across another pad or ball is split round it
PAIRS = ((0, 1), (0, 2), (1, 2))  # the side pairs of a triangle a chord may join


class PlanOverCapacity(RoutingError):
    """The topological plan found no set of non-crossing traces within the gaps' capacity."""


@dataclass(frozen=True)
class Gap:
    """An inner edge of the triangulation: its two obstacles, the tracks it carries, and the ends of its free part."""

    a: int
    b: int
    tracks: int
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass(frozen=True)
class Sketch:
    """A plan: the obstacles' names, the gaps, and per job the gaps it crosses (pad first), its guide
    (straight from gap to gap, no two nets' guides cross) and its guide rounded (from gap to gap
    round the obstacle the two gaps share: closer to the lattice path that hugs it, though two
    rounded guides may touch where they turn round different obstacles)."""

    names: tuple[str, ...]
    gaps: tuple[Gap, ...]
    crossed: tuple[tuple[int, ...], ...]
    guides: tuple[tuple[tuple[float, float], ...], ...]
    rounded: tuple[tuple[tuple[float, float], ...], ...]


@dataclass
class _Mesh:
    """The triangulation: corners (counter-clockwise), each side's gap (−1 on the hull) and whether it
    runs from the gap's a to its b, the triangle two gaps share, and each terminal's corners."""

    tris: np.ndarray
    side_gap: np.ndarray
    side_ab: np.ndarray
    between: dict[tuple[int, int], int]
    corners: dict[int, list[tuple[int, int]]]


def sketch(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
           jobs: Sequence, rules: RouteRules) -> Sketch:
    """Plan every job (pad, ball, net, width, space) as a guide through the gaps; PlanOverCapacity when it cannot."""
    w0 = min((j.width for j in jobs), default=rules.width)
    s0 = min((j.space for j in jobs), default=rules.space)
    xy, shapes, names = _obstacles(pads, balls, keepin, rules.pitch)
    tris = _triangulate(xy)
    gaps = _gaps(xy, shapes, tris, keepin.exterior, w0, s0)
    mesh = _mesh(tris, gaps, len(pads) + len(balls))
    units = [max(1, math.ceil((j.width + j.space) / (w0 + s0) - STEP_EPS)) for j in jobs]
    ends = [(j.pad, len(pads) + j.ball) for j in jobs]
    span = [math.dist(xy[p], xy[b]) for p, b in ends]
    order = sorted(range(len(jobs)), key=lambda k: -span[k])  # the longest first: they have the fewest ways
    plan = _Plan(xy, gaps, mesh, [j.net for j in jobs], units, ends, w0 + s0)
    plan.negotiate(order)
    lines = tuple(_around(g, xy, shapes, ends[k], w0 / 2 + s0) for k, g in enumerate(plan.guides(w0 + s0, False)))
    sk = Sketch(tuple(names), tuple(gaps), tuple(tuple(w) for w in plan.walks), lines, plan.guides(w0 + s0, True))
    _check(sk, plan)
    return sk


def _obstacles(pads: Sequence[Terminal], balls: Sequence[Terminal], keepin: shapely.Polygon,
               step: float) -> tuple[np.ndarray, list, list[str]]:
    """Centres, shapes and names of the obstacles: pads, balls, then points along the keep-in edge every ≤ `step`."""
    coords = np.asarray(keepin.exterior.coords)[:-1]
    pts = []
    for p, q in zip(coords, np.roll(coords, -1, axis=0)):
        n = max(1, math.ceil(math.dist(p, q) / step - STEP_EPS))
        pts += [tuple(p + (q - p) * t / n) for t in range(n)]
    xy = np.array([(t.x, t.y) for t in [*pads, *balls]] + pts).reshape(-1, 2)
    shapes = [t.shape for t in [*pads, *balls]] + [None] * len(pts)
    names = [f"pad {t.name}" for t in pads] + [f"ball {t.name}" for t in balls] + ["the die edge"] * len(pts)
    return xy, shapes, names


def _triangulate(xy: np.ndarray) -> np.ndarray:
    """Delaunay triangles of the obstacle centres, each as three obstacle ids counter-clockwise."""
    from scipy.spatial import Delaunay  # here, so that importing layoutgen stays quick

    tris = Delaunay(xy).simplices.astype(np.int64)
    a, b, c = xy[tris[:, 0]], xy[tris[:, 1]], xy[tris[:, 2]]
    cw = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]) < 0
    tris[cw] = tris[cw][:, [0, 2, 1]]
    return tris


def _gaps(xy: np.ndarray, shapes: list, tris: np.ndarray, edge: shapely.Geometry, w0: float, s0: float) -> list[Gap]:
    """The inner edges of the triangulation (two triangles each) as gaps, with the tracks each carries
    (`edge`: the keep-in's boundary, which the die-edge points stand for)."""
    count: dict[tuple[int, int], int] = {}
    for t in tris.tolist():
        for i in range(3):
            e = (min(t[i], t[(i + 1) % 3]), max(t[i], t[(i + 1) % 3]))
            count[e] = count.get(e, 0) + 1
    gaps = []
    for a, b in sorted(e for e, n in count.items() if n == 2):
        pa, pb = xy[a], xy[b]
        length = math.dist(pa, pb)
        sa, sb = shapes[a], shapes[b]
        if sa is None and sb is None:
            free = length  # across a corner of the keep-in
        else:  # past an obstacle to the die edge, the narrowest place is square to the edge
            free = float(shapely.distance(edge if sa is None else sa, edge if sb is None else sb))
        line = shapely.LineString([pa, pb])
        ta = 0.0 if sa is None else float(shapely.intersection(line, sa).length) / length
        tb = 1.0 if sb is None else 1.0 - float(shapely.intersection(line, sb).length) / length
        tracks = max(0, math.floor((free - s0) / (w0 + s0) + STEP_EPS))
        start, end = pa + (pb - pa) * ta, pa + (pb - pa) * tb
        gaps.append(Gap(a, b, tracks, (float(start[0]), float(start[1])), (float(end[0]), float(end[1]))))
    return gaps


def _mesh(tris: np.ndarray, gaps: list[Gap], terminals: int) -> _Mesh:
    """Index the triangulation by gap and by terminal corner."""
    of = {(g.a, g.b): n for n, g in enumerate(gaps)}
    side_gap = np.full(tris.shape, -1, dtype=np.int64)
    side_ab = np.zeros(tris.shape, dtype=bool)
    between: dict[tuple[int, int], int] = {}
    corners: dict[int, list[tuple[int, int]]] = {}
    for t, tri in enumerate(tris.tolist()):
        for x in range(3):
            u, v = tri[x], tri[(x + 1) % 3]
            side_gap[t, x] = of.get((min(u, v), max(u, v)), -1)
            side_ab[t, x] = u < v
            if u < terminals:
                corners.setdefault(u, []).append((t, x))
        for x, y in PAIRS:
            gx, gy = int(side_gap[t, x]), int(side_gap[t, y])
            if gx >= 0 and gy >= 0:
                between[(gx, gy)] = between[(gy, gx)] = t
    return _Mesh(tris, side_gap, side_ab, between, corners)


def _crossings(q_tri: np.ndarray, q_lo: np.ndarray, q_hi: np.ndarray,
               p_tri: np.ndarray, p_lo: np.ndarray, p_hi: np.ndarray, ntri: int) -> np.ndarray:
    """Per query chord, how many of the placed chords in its triangle it crosses (ends alternating round it)."""
    if not len(p_tri) or not len(q_tri):
        return np.zeros(len(q_tri))
    order = np.argsort(p_tri, kind="stable")
    t = p_tri[order]
    n = np.bincount(t, minlength=ntri)
    start = np.r_[0, np.cumsum(n)[:-1]]
    col = np.arange(len(t)) - start[t]
    lo, hi = np.full((ntri, n.max()), np.nan), np.full((ntri, n.max()), np.nan)
    lo[t, col], hi[t, col] = p_lo[order], p_hi[order]
    L, H = lo[q_tri], hi[q_tri]
    a, b = q_lo[:, None], q_hi[:, None]
    inside_l, inside_h = (a < L) & (L < b), (a < H) & (H < b)
    distinct = (L != a) & (L != b) & (H != a) & (H != b)
    return ((inside_l != inside_h) & distinct).sum(axis=1).astype(float)


class _Plan:
    """The walks of every job through the gaps and each gap's crossings in order, negotiated."""

    def __init__(self, xy: np.ndarray, gaps: list[Gap], mesh: _Mesh, nets: list[str], units: list[int],
                 ends: list[tuple[int, int]], pitch: float):
        self.xy, self.gaps, self.mesh, self.nets, self.units, self.ends = xy, gaps, mesh, nets, units, ends
        self.pitch = pitch
        self.tracks = np.array([g.tracks for g in gaps], dtype=float)
        self.start = np.array([g.start for g in gaps]).reshape(-1, 2)
        self.end = np.array([g.end for g in gaps]).reshape(-1, 2)
        self.order: list[list[tuple[int, int]]] = [[] for _ in gaps]  # per gap: (job, step) along it, a to b
        self.walks: list[list[int]] = [[] for _ in nets]  # per job: the gaps it crosses, pad first
        self.hist = np.zeros(len(gaps))
        self.xhist = np.zeros(len(mesh.tris))
        self.pres = 1.0

    # ------------------------------------------------------------------ where chords lie

    def _ranks(self, skip: int) -> tuple[np.ndarray, dict[tuple[int, int], int]]:
        """Per gap the number of crossings without job `skip`'s, and each crossing's place along its gap."""
        count = np.zeros(len(self.gaps), dtype=np.int64)
        rank: dict[tuple[int, int], int] = {}
        for g, seq in enumerate(self.order):
            n = 0
            for tok in seq:
                if tok[0] != skip:
                    rank[tok] = n
                    n += 1
            count[g] = n
        return count, rank

    def _placed(self, jobs: Sequence[int], count: np.ndarray, rank: dict) -> tuple[np.ndarray, ...]:
        """The chords of `jobs`: triangle and the two places round it of their ends (lo < hi)."""
        tri, lo, hi = [], [], []
        for j in jobs:
            walk = self.walks[j]
            if not walk:
                continue
            pad, ball = self.ends[j]
            stops = [("v", pad)] + [("g", g, rank[(j, n)]) for n, g in enumerate(walk)] + [("v", ball)]
            for s0, s1 in zip(stops, stops[1:]):
                t = self._triangle(s0, s1)
                p0, p1 = self._place(t, s0, count), self._place(t, s1, count)
                tri.append(t)
                lo.append(min(p0, p1))
                hi.append(max(p0, p1))
        return np.array(tri, dtype=np.int64), np.array(lo), np.array(hi)

    def _triangle(self, s0: tuple, s1: tuple) -> int:
        """The triangle a chord between two stops (a terminal, or a place on a gap) lies in."""
        m = self.mesh
        if s0[0] == "g" and s1[0] == "g":
            return m.between[(s0[1], s1[1])]
        v, other = (s0, s1) if s0[0] == "v" else (s1, s0)
        for t, x in m.corners[v[1]]:
            if other[0] == "g" and m.side_gap[t, (x + 1) % 3] == other[1]:
                return t
            if other[0] == "v" and other[1] in (m.tris[t, (x + 1) % 3], m.tris[t, (x + 2) % 3]):
                return t
        raise KeyError((s0, s1))

    def _place(self, t: int, stop: tuple, count: np.ndarray) -> float:
        """A stop's place round triangle t: corner x at x, rank r of n on side x at x + (r + 1) / (n + 1)."""
        m = self.mesh
        if stop[0] == "v":
            return float(list(m.tris[t]).index(stop[1]))
        g, r = stop[1], stop[2]
        x = int(np.flatnonzero(m.side_gap[t] == g)[0])
        f = (r + 1) / (count[g] + 1)
        return x + (f if m.side_ab[t, x] else 1.0 - f)

    def _point(self, g: np.ndarray, f: np.ndarray) -> np.ndarray:
        """Points at fraction f along the free part of gaps g."""
        return self.start[g] + (self.end[g] - self.start[g]) * f[:, None]

    # ------------------------------------------------------------------ one job

    def route(self, k: int) -> None:
        """Rip job k up and walk it again, priced against every other job as placed now."""
        self._remove(k)
        count, rank = self._ranks(k)
        others = [j for j in range(len(self.nets)) if j != k and self.nets[j] != self.nets[k]]
        p_tri, p_lo, p_hi = self._placed(others, count, rank)
        load = np.zeros(len(self.gaps))
        for g, seq in enumerate(self.order):
            load[g] = sum(self.units[j] for j, _ in seq)
        over = np.maximum(0.0, load + self.units[k] - self.tracks)
        m, ntri = self.mesh, len(self.mesh.tris)
        off = np.r_[0, np.cumsum(count + 1)]
        pad, ball = self.ends[k]
        src, dst = int(off[-1]), int(off[-1]) + 1
        # chords from side x to side y of every triangle, each pair of insertion places
        tri, a, b, pa, pb, fa, fb, ga, gb = [], [], [], [], [], [], [], [], []
        for x, y in PAIRS:
            ts = np.flatnonzero((m.side_gap[:, x] >= 0) & (m.side_gap[:, y] >= 0))
            gx, gy = m.side_gap[ts, x], m.side_gap[ts, y]
            nx, ny = count[gx] + 1, count[gy] + 1
            size = nx * ny
            t = np.repeat(ts, size)
            q = np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
            i, j = q // np.repeat(ny, size), q % np.repeat(ny, size)
            gxx, gyy = np.repeat(gx, size), np.repeat(gy, size)
            fi, fj = (i + 0.5) / (count[gxx] + 1), (j + 0.5) / (count[gyy] + 1)
            tri.append(t)
            a.append(off[gxx] + i)
            b.append(off[gyy] + j)
            pa.append(x + np.where(m.side_ab[t, x], fi, 1.0 - fi))
            pb.append(y + np.where(m.side_ab[t, y], fj, 1.0 - fj))
            fa.append(fi)
            fb.append(fj)
            ga.append(gxx)
            gb.append(gyy)
        # from the pad, and into the ball, across the side opposite each corner; pad to ball along a side
        for v, node in ((pad, src), (ball, dst)):
            for t, x in m.corners.get(v, []):
                s = (x + 1) % 3
                g = int(m.side_gap[t, s])
                if g < 0:
                    continue
                i = np.arange(count[g] + 1)
                f = (i + 0.5) / (count[g] + 1)
                tri.append(np.full(len(i), t))
                a.append(np.full(len(i), node))
                b.append(off[g] + i)
                pa.append(np.full(len(i), float(x)))
                pb.append(s + np.where(m.side_ab[t, s], f, 1.0 - f))
                fa.append(np.full(len(i), np.nan))
                fb.append(f)
                ga.append(np.full(len(i), -1 - v))
                gb.append(np.full(len(i), g))
        for t, x in m.corners.get(pad, []):
            for d in (1, 2):
                if m.tris[t, (x + d) % 3] == ball:
                    tri.append(np.array([t]))
                    a.append(np.array([src]))
                    b.append(np.array([dst]))
                    pa.append(np.array([float(x)]))
                    pb.append(np.array([float((x + d) % 3)]))
                    fa.append(np.array([np.nan]))
                    fb.append(np.array([np.nan]))
                    ga.append(np.array([-1 - pad]))
                    gb.append(np.array([-1 - ball]))
        tri, a, b = np.concatenate(tri), np.concatenate(a), np.concatenate(b)
        pa, pb, fa, fb = np.concatenate(pa), np.concatenate(pb), np.concatenate(fa), np.concatenate(fb)
        ga, gb = np.concatenate(ga), np.concatenate(gb)
        lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
        cross = _crossings(tri, lo, hi, p_tri, p_lo, p_hi, ntri)
        xa = np.where(ga[:, None] >= 0, self._point(np.maximum(ga, 0), np.nan_to_num(fa)), self.xy[np.maximum(-1 - ga, 0)])
        xb = np.where(gb[:, None] >= 0, self._point(np.maximum(gb, 0), np.nan_to_num(fb)), self.xy[np.maximum(-1 - gb, 0)])
        length = np.hypot(*(xa - xb).T) / self.pitch
        pen = np.r_[np.repeat(self.hist + self.pres * over, count + 1), 0.0, 0.0]
        w = length + 0.5 * (pen[a] + pen[b]) + (CROSS * self.pres + self.xhist[tri]) * cross + 1e-9
        n = dst + 1
        graph = coo_matrix((w, (a, b)), shape=(n, n)).tocsr()
        dist, pred = dijkstra(graph, directed=False, indices=src, return_predecessors=True)
        if not np.isfinite(dist[dst]):
            raise PlanOverCapacity(f"net {self.nets[k]}: no walk through the gaps joins its pad to its ball")
        nodes = [dst]
        while nodes[-1] != src:
            nodes.append(int(pred[nodes[-1]]))
        nodes = nodes[::-1][1:-1]
        gap_of = np.repeat(np.arange(len(self.gaps)), count + 1)
        steps = [(int(gap_of[v]), int(v - off[gap_of[v]])) for v in nodes]
        self._insert(k, steps)

    def _remove(self, k: int) -> None:
        """Take job k's crossings out of every gap's order."""
        for g in set(self.walks[k]):
            self.order[g] = [tok for tok in self.order[g] if tok[0] != k]
        self.walks[k] = []

    def _insert(self, k: int, steps: list[tuple[int, int]]) -> None:
        """Put job k's crossings into the gaps' orders at the places (among the others') it chose."""
        self.walks[k] = [g for g, _ in steps]
        for n, (g, i) in enumerate(steps):
            seq = self.order[g]
            others = [p for p, tok in enumerate(seq) if tok[0] != k]
            at = others[i] if i < len(others) else len(seq)
            seq.insert(at, (k, n))

    # ------------------------------------------------------------------ all jobs

    def negotiate(self, order: list[int]) -> None:
        """Route every job, then again while a gap is over capacity or two nets cross, prices growing, ROUNDS at most."""
        for _ in range(ROUNDS):
            for k in order:
                self.route(k)
            over, crossed = self.conflicts()
            if not over.any() and not crossed.any():
                return
            self.hist += HIST * (over > 0)
            self.xhist += HIST * (crossed > 0)
            self.pres *= GROWTH

    def load(self) -> np.ndarray:
        """Tracks taken in every gap."""
        return np.array([sum(self.units[j] for j, _ in seq) for seq in self.order], dtype=float)

    def conflicts(self) -> tuple[np.ndarray, np.ndarray]:
        """Tracks over capacity per gap, and crossings of two nets per triangle."""
        over = np.maximum(0.0, self.load() - self.tracks)
        count, rank = self._ranks(-1)
        crossed = np.zeros(len(self.mesh.tris))
        for k in range(len(self.nets)):
            mine = self._placed([k], count, rank)
            others = [j for j in range(k + 1, len(self.nets)) if self.nets[j] != self.nets[k]]
            n = _crossings(*mine, *self._placed(others, count, rank), len(self.mesh.tris))
            np.add.at(crossed, mine[0], n)
        return over, crossed

    def crossing_pair(self) -> tuple[int, int, int] | None:
        """Two jobs of different nets whose walks cross, and the triangle where, or None."""
        count, rank = self._ranks(-1)
        for k in range(len(self.nets)):
            mine = self._placed([k], count, rank)
            for j in range(k + 1, len(self.nets)):
                if self.nets[j] == self.nets[k]:
                    continue
                n = _crossings(*mine, *self._placed([j], count, rank), len(self.mesh.tris))
                if n.any():
                    return k, j, int(mine[0][int(np.argmax(n))])
        return None

    def guides(self, pitch: float, rounded: bool) -> tuple[tuple[tuple[float, float], ...], ...]:
        """Per job: pad centre, its place on each gap it crosses (the gap's crossings SPREAD tracks apart
        about the middle of its free part, or spread evenly over it when they need more room), ball centre;
        `rounded`, with points round the obstacle each two gaps in turn share (`_arc`) between them.
        A track is `pitch` across the gap's lattice lines: √2 · pitch along a gap at 45°."""
        count, rank = self._ranks(-1)
        out = []
        for k, walk in enumerate(self.walks):
            pts = [self.xy[self.ends[k][0]]]
            for n, g in enumerate(walk):
                dx, dy = self.end[g] - self.start[g]
                length = float(np.hypot(dx, dy))
                c, r = count[g], rank[(k, n)]
                # across a gap at an angle the tracks of an axis lattice lie farther apart along it (√2 at 45°)
                along = SPREAD * pitch * length / max(abs(float(dx)), abs(float(dy)), 1e-9)
                step = min(along / max(length, 1e-9), 1.0 / c)
                f = 0.5 + (r - (c - 1) / 2.0) * step
                p = self._point(np.array([g]), np.array([f]))[0]
                if n and rounded:
                    pts.extend(self._arc(walk[n - 1], g, pts[-1], p))
                pts.append(p)
            pts.append(self.xy[self.ends[k][1]])
            out.append(tuple((float(x), float(y)) for x, y in pts))
        return tuple(out)


    def _arc(self, g0: int, g1: int, p: np.ndarray, q: np.ndarray) -> list[np.ndarray]:
        """Points between p (on gap g0) and q (on gap g1) round the obstacle the two gaps share, every
        ≤ ARC radians, their distance from its centre going evenly from p's to q's (a guide nearer the
        obstacle on both gaps stays nearer it all the way round, so guides in order cannot cross)."""
        a0, b0, a1, b1 = self.gaps[g0].a, self.gaps[g0].b, self.gaps[g1].a, self.gaps[g1].b
        shared = {a0, b0} & {a1, b1}
        if len(shared) != 1:
            return []
        c = self.xy[shared.pop()]
        u, v = p - c, q - c
        t0, t1 = math.atan2(u[1], u[0]), math.atan2(v[1], v[0])
        turn = (t1 - t0 + math.pi) % (2 * math.pi) - math.pi
        n = int(abs(turn) // ARC)
        r0, r1 = float(np.hypot(*u)), float(np.hypot(*v))
        return [c + (r0 + (r1 - r0) * m / (n + 1)) * np.array([math.cos(t0 + turn * m / (n + 1)), math.sin(t0 + turn * m / (n + 1))])
                for m in range(1, n + 1)]


def _around(guide: tuple, xy: np.ndarray, shapes: list, own: tuple[int, int], room: float) -> tuple:
    """A guide whose segments no longer cut across a pad or ball other than its own: where one does, a
    point is put on the bisector of the two ends seen from the obstacle's centre, `room` beyond its
    rim (no farther out than the farther end), so a chord round a ball becomes two shorter ones; up to
    AROUND times per segment."""
    tree = shapely.STRtree([s if s is not None else shapely.Point() for s in shapes])
    out = [guide[0]]
    for a, b in zip(guide, guide[1:]):
        todo = [(a, b, AROUND)]
        while todo:
            p, q, n = todo.pop(0)
            hit = [int(h) for h in tree.query(shapely.LineString([p, q]), predicate="intersects") if int(h) not in own]
            if not hit or n == 0 or p == q:
                out.append(q)
                continue
            c = xy[hit[0]]
            u, v = np.subtract(p, c), np.subtract(q, c)
            mid = u / max(np.hypot(*u), 1e-9) + v / max(np.hypot(*v), 1e-9)
            if np.hypot(*mid) < 1e-9:
                out.append(q)
                continue
            rim = float(np.max(np.hypot(*(np.asarray(shapes[hit[0]].exterior.coords) - c).T))) + room
            m = tuple(float(t) for t in c + mid / np.hypot(*mid) * min(rim, max(np.hypot(*u), np.hypot(*v))))
            todo[:0] = [(p, m, n - 1), (m, q, n - 1)]
    return tuple(out)


def _check(sk: Sketch, plan: _Plan) -> None:
    """Raise PlanOverCapacity naming the most over-full gap, or else two crossing nets, when the plan has conflicts."""
    load = plan.load()
    over = load - plan.tracks
    if (over > 0).any():
        g = int(np.lexsort((-load, -over))[0])  # the most over-full gap; of those, the one most traces cross
        gap = sk.gaps[g]
        nets = sorted({plan.nets[j] for j, _ in plan.order[g]})
        raise PlanOverCapacity(
            f"nets {', '.join(nets)} cannot all be routed on one layer as planned: after {ROUNDS} rounds of "
            f"negotiation the topological plan still takes {int(load[g])} track(s) through the gap between "
            f"{sk.names[gap.a]} and {sk.names[gap.b]}, which carries {gap.tracks} (over by {int(over[g])})")
    pair = plan.crossing_pair()
    if pair is not None:
        k, j, t = pair
        corners = ", ".join(sk.names[v] for v in plan.mesh.tris[t])
        raise PlanOverCapacity(
            f"nets {plan.nets[k]} and {plan.nets[j]} cannot both be routed on one layer as planned: after "
            f"{ROUNDS} rounds of negotiation their planned traces still cross between {corners}, and every other "
            f"way the plan tried takes a gap over its capacity")

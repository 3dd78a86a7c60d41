"""Pad-to-ball routing anywhere on the die: an octilinear track lattice, negotiated congestion.

All lengths in µm. The die is covered by a lattice of trace centre positions whose pitch is
one trace plus one space (so neighbouring tracks of different nets keep the rule), aligned
with the balls (a ball centre is a node when the ball pitch allows). A trace moves between
neighbouring nodes in 8 directions; a 45° step also claims the two other corners of its cell,
so two diagonal runs, or a diagonal and a node, never come closer than the rule. Nodes near
another net's pad or ball, or near the keep-in edge, are closed. Into its own ball a trace
runs along one of the 4 axis rays through the centre (a radial entry, no acute notch); into its
own pad it runs straight across the edge it crosses and may end anywhere the pen fits inside
the landing.

Every route is found by Dijkstra (scipy.sparse.csgraph) on the lattice window around its pad
and ball; routes that share nodes are ripped up and found again with the shared nodes made
dearer each round (PathFinder's negotiated congestion), until no node is shared. When crossings
remain (a fixed pinout out of ring order), the jobs are routed one at a time, every placed trace a
wall, each placed so that every later job's ball still reaches its pad (`Maze.place_preserving`).
Each path is
then pulled straight: runs of steps are replaced by one axis run and one 45° run wherever the
lattice is free, so traces are long straight runs rather than staircases.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from layoutgen.errors import RoutingError
from ...units import LENGTH_EPS_UM, snap, snap_up
from .geometry import Pen, pen_for

# Step directions on the lattice (di, dj), and the direction bit an edge of that kind needs.
STEPS = ((1, 0), (0, 1), (1, 1), (1, -1))
H, V, D1, D2 = 1, 2, 4, 8
STEP_BITS = (H, V, D1, D2)
ALL = H | V | D1 | D2
MARGIN = 0.5  # µm kept beyond the rule where a node's clearance is measured at points only
ROUNDS = 40  # negotiated-congestion rounds before the routing is declared over capacity
STALL = 24  # rounds without fewer conflicting jobs before negotiation stops
SEQUENTIAL = 12  # at most this many one-at-a-time passes after negotiation leaves conflicts
WALL = 1e6  # congestion price that makes another trace's nodes a wall
GAP = 8.0  # price (in steps) of a node where a trace closed a later trace's ball off from its pad
HALO = 4.0  # price (in steps) of a node next to a ball whose trace is not routed yet
BAND = 2  # nodes either side of a pinch that are priced with it
GAP_TRIES = 6  # reroutes of one trace that closes a later trace's ball off, each pricing out the gap it filled
PRESERVE_JOBS = 96  # above this many jobs, one at a time checks no later job (plain walls): the work stays bounded
KEPT = 64  # windows whose allowed steps are kept (a few MB on a 3 mm die)
GAP_VICTIMS = 4  # closed-off traces whose ways locate the gap, per reroute
CORRIDOR = 0.0  # lattice pitches either side of a planned guide where a guided trace pays nothing extra
STRAY = 1.0  # price (in steps) of a guided trace's node per lattice pitch beyond its corridor
LEAP = 2.0  # pitches beyond twice the lane a guided step may move along its guide (more: across a loop's neck)
ENDS = 1.0  # lattice pitches beyond its own pad's and ball's clearance where a guided trace may turn in freely


@dataclass(frozen=True)
class Lattice:
    """Node (i, j) sits at (x0 + i·p, y0 + j·p); half points (2i, 2j) are nodes, the rest edge midpoints."""

    x0: float
    y0: float
    p: float
    nx: int
    ny: int

    def xy(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Node coordinates (rounded to the nm)."""
        return np.round(self.x0 + i * self.p, 6), np.round(self.y0 + j * self.p, 6)

    def nearest(self, x: float, y: float) -> tuple[int, int]:
        """The node nearest a point (clipped to the lattice)."""
        i = int(np.clip(round((x - self.x0) / self.p), 0, self.nx - 1))
        j = int(np.clip(round((y - self.y0) / self.p), 0, self.ny - 1))
        return i, j


@dataclass(frozen=True)
class Job:
    """One trace to draw: pad and ball (indices into the router's terminals), net and its rules."""

    pad: int
    ball: int
    net: str
    width: float
    space: float


def track_pitch(pen: Pen, space: float, grid: float) -> float:
    """The smallest lattice pitch at which traces drawn with `pen` on neighbouring tracks keep `space`.

    Two nets' nodes are at least one pitch apart along an axis, so axis runs need p ≥ 2a + s. A 45°
    step claims its cell's two other corners, so no other net's node or run comes nearer a 45° run
    than √2·p between centrelines (the next node but one across it): that needs p ≥ (2·diagonal + s)/√2,
    far below 2a + s. The pen's rounded-up chamfer (diagonal half-width a few nm over a) therefore
    never binds, and the pitch is the axis one exactly (20 µm for 10/10 µm, not 20.013)."""
    return snap_up(max(2.0 * pen.a + space, (2.0 * pen.diagonal + space) / math.sqrt(2.0)), grid)


def lattice_pitch(min_pitch: float, ball_pitch: float, grid: float) -> float:
    """The lattice pitch: ≥ min_pitch, on the grid, and dividing the ball pitch (into an even
    number of steps when possible, so half-pitch staggered balls sit on nodes too)."""
    k_max = int(ball_pitch // min_pitch)
    fits = [k for k in range(k_max, 0, -1) if abs(ball_pitch / k / grid - round(ball_pitch / k / grid)) < 1e-6]
    even = [k for k in fits if k % 2 == 0 and k >= 0.8 * k_max]  # half-pitch nodes unless that costs > 20 %
    if fits:
        return round(ball_pitch / (even or fits)[0], 6)
    return snap_up(min_pitch, grid)


def make_lattice(ball_xy: np.ndarray, keepin: shapely.Polygon, p: float) -> Lattice:
    """A lattice over the keep-in with a node on the first ball's centre."""
    xl, yl, xh, yh = keepin.bounds
    bx, by = (ball_xy[0] if len(ball_xy) else ((xl + xh) / 2, (yl + yh) / 2))
    x0 = bx - math.floor((bx - xl) / p) * p
    y0 = by - math.floor((by - yl) / p) * p
    return Lattice(round(x0, 6), round(y0, 6), p, int((xh - x0) // p) + 1, int((yh - y0) // p) + 1)


@dataclass
class Obstacles:
    """Per half point of the lattice: its three nearest metal owners and distances, and the keep-in room."""

    owner: np.ndarray  # (3, 2nx-1, 2ny-1) owner index, −1 none
    dist: np.ndarray  # (3, 2nx-1, 2ny-1) distance to that owner's metal, inf none
    room: np.ndarray  # (2nx-1, 2ny-1) distance to the keep-in edge (negative outside)


def obstacles(lat: Lattice, shapes: Sequence[shapely.Geometry], keepin: shapely.Polygon, reach: float) -> Obstacles:
    """Measure every half point against the fixed metal (pads and balls) within `reach`, and the keep-in."""
    hx, hy = 2 * lat.nx - 1, 2 * lat.ny - 1
    xs = lat.x0 + np.arange(hx) * lat.p / 2.0
    ys = lat.y0 + np.arange(hy) * lat.p / 2.0
    X, Y = np.meshgrid(xs, ys, indexing="ij")
    pts = shapely.points(X.ravel(), Y.ravel())
    geoms = np.array(shapes, dtype=object)
    owner = np.full((3, hx * hy), -1, dtype=np.int64)
    dist = np.full((3, hx * hy), np.inf)
    if len(geoms):
        pi, gi = shapely.STRtree(pts).query(geoms, predicate="dwithin", distance=reach)
        d = shapely.distance(pts[gi], geoms[pi])
        order = np.lexsort((d, gi))
        gi, pi, d = gi[order], pi[order], d[order]
        first = np.r_[True, gi[1:] != gi[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(len(gi)), 0))
        rank = np.arange(len(gi)) - start
        keep = rank < 3
        owner[rank[keep], gi[keep]] = pi[keep]
        dist[rank[keep], gi[keep]] = d[keep]
    if shapely.equals(keepin, shapely.box(*keepin.bounds)):
        xl, yl, xh, yh = keepin.bounds
        room = np.minimum(np.minimum(X - xl, xh - X), np.minimum(Y - yl, yh - Y))
    else:
        inside = shapely.contains_xy(keepin, X.ravel(), Y.ravel())
        room = np.where(inside, shapely.distance(keepin.exterior, pts), -1.0).reshape(hx, hy)
    return Obstacles(owner.reshape(3, hx, hy), dist.reshape(3, hx, hy), room)


@dataclass(frozen=True)
class Window:
    """A rectangle of lattice nodes [i0, i1) × [j0, j1)."""

    i0: int
    i1: int
    j0: int
    j1: int

    @property
    def shape(self) -> tuple[int, int]:
        return self.i1 - self.i0, self.j1 - self.j0

    def half(self) -> tuple[slice, slice]:
        """The half-point slices covering this window."""
        return slice(2 * self.i0, 2 * self.i1 - 1), slice(2 * self.j0, 2 * self.j1 - 1)

    def nodes(self) -> tuple[slice, slice]:
        return slice(self.i0, self.i1), slice(self.j0, self.j1)


class Maze:
    """The lattice with its obstacles and each job's allowed moves; routes jobs with negotiated congestion."""

    def __init__(self, pads, balls, keepin: shapely.Polygon, jobs: Sequence[Job], grid: float, ball_pitch: float):
        self.pads, self.balls, self.jobs, self.grid = pads, balls, list(jobs), grid
        self.pens = [pen_for(j.width, grid) for j in self.jobs]
        w0 = min((j.width for j in jobs), default=10.0)
        s0 = min((j.space for j in jobs), default=10.0)
        pen0 = pen_for(w0, grid)
        self.p0_width, self.p0_space = w0, s0
        self.clear = [j.space + math.hypot(pen.a, pen.t) + MARGIN for j, pen in zip(self.jobs, self.pens)]
        ball_xy = np.array([(b.x, b.y) for b in balls]).reshape(-1, 2)
        self.lat = make_lattice(ball_xy, keepin, lattice_pitch(track_pitch(pen0, s0, grid), ball_pitch, grid))
        shapes = [t.shape for t in pads] + [b.shape for b in balls]
        self.obs = obstacles(self.lat, shapes, keepin, max(self.clear, default=0.0) + 1.0)
        # footprint radius (µm) of a wider-than-default trace: how far its claim reaches past its nodes
        self.extra = [max(0.0, (j.width - w0) / 2.0 + max(0.0, j.space - s0)) for j in self.jobs]
        self.occ = np.zeros((self.lat.nx, self.lat.ny), dtype=np.int32)
        self.hist = np.zeros((self.lat.nx, self.lat.ny))
        # nets with several traces (power pads sharing a ball): their traces may share nodes
        counts = {}
        for j in self.jobs:
            counts[j.net] = counts.get(j.net, 0) + 1
        self.net_occ = {n: np.zeros_like(self.occ) for n, c in counts.items() if c > 1}
        self.paths: list[list[tuple[int, int]] | None] = [None] * len(self.jobs)
        self.feet: list[np.ndarray | None] = [None] * len(self.jobs)
        # after one-at-a-time routing fails: (job, the job whose trace closed its ball off from its pad)
        self.closed_off: tuple[int, int] | None = None
        self._ok: dict[tuple[int, Window], list[np.ndarray]] = {}  # `_steps_ok`, the last KEPT windows
        self._free: dict[int, np.ndarray] = {}  # per job: the lattice nodes its moves leave open (fixed metal only)
        self.stray: list[np.ndarray] | None = None  # per job: the price of straying from its guide (`guide`)
        self._reach_box: list[tuple[float, float, float, float]] | None = None  # per job: its guide's bounds
        self.lane: list[np.ndarray] | None = None  # per job: the lattice nodes it may use at all (`guide`)

    def guide(self, lines: Sequence[Sequence[tuple[float, float]]], lane: float | None = None) -> None:
        """Make each job's search follow its planned guide (a polyline per job, pad to ball): nodes
        farther than CORRIDOR pitches from it cost STRAY more per pitch, and its window covers it;
        with `lane` (pitches), every other node is closed to it but those within ENDS pitches of its
        own pad's and ball's clearance (where it turns into the landing or onto a ray of the ball), and
        no step joins two nodes whose nearest places on the guide lie farther apart than `leap` pitches
        (where a guide winds round a ball and comes back past itself, its lane is not a short cut)."""
        lat = self.lat
        i, j = np.meshgrid(np.arange(lat.nx), np.arange(lat.ny), indexing="ij")
        x, y = lat.xy(i, j)
        pts = shapely.points(x.ravel(), y.ravel())
        self.stray, self._reach_box = [], []
        self.lane = None if lane is None else []
        self.along = []  # per job: each node's place along its guide (pitches from the pad), where it lies nearest
        self.leap = 2.0 * (lane or 0.0) + LEAP
        for k, line in enumerate(lines):
            path = shapely.LineString(line)
            d = shapely.distance(path, pts).reshape(i.shape) / lat.p
            self.stray.append(STRAY * np.maximum(0.0, d - CORRIDOR))
            self._reach_box.append(path.bounds)
            if self.lane is not None:
                self.lane.append((d <= lane + LENGTH_EPS_UM) | self._ends(k, pts).reshape(i.shape))
                self.along.append(shapely.line_locate_point(path, pts).reshape(i.shape) / lat.p)

    def _ends(self, k: int, pts: np.ndarray) -> np.ndarray:
        """Which points lie within ENDS lattice pitches of the clearance round job k's own pad or ball."""
        job = self.jobs[k]
        reach = self.clear[k] + ENDS * self.lat.p
        return ((shapely.distance(self.pads[job.pad].shape, pts) < reach) |
                (shapely.distance(self.balls[job.ball].shape, pts) < reach))

    # ------------------------------------------------------------------ what a job may use

    def window(self, k: int, grow: int) -> Window:
        """Nodes around job k's pad and ball, `grow` nodes beyond their bounding box."""
        job, lat = self.jobs[k], self.lat
        pad, ball = self.pads[job.pad], self.balls[job.ball]
        xl, yl, xh, yh = shapely.union(pad.shape, ball.shape).bounds
        if self._reach_box is not None:  # a guided job searches round its whole guide
            gx0, gy0, gx1, gy1 = self._reach_box[k]
            xl, yl, xh, yh = min(xl, gx0), min(yl, gy0), max(xh, gx1), max(yh, gy1)
        i0, j0 = lat.nearest(xl, yl)
        i1, j1 = lat.nearest(xh, yh)
        return Window(max(0, i0 - grow), min(lat.nx, i1 + grow + 1), max(0, j0 - grow), min(lat.ny, j1 + grow + 1))

    def moves(self, k: int, win: Window) -> np.ndarray:
        """Per half point of the window: the direction bits job k may move along there."""
        job, pen, lat = self.jobs[k], self.pens[k], self.lat
        hs = win.half()
        owner, dist = self.obs.owner[:, hs[0], hs[1]], self.obs.dist[:, hs[0], hs[1]]
        own_pad, own_ball = job.pad, len(self.pads) + job.ball
        near = dist < self.clear[k]
        other = near & (owner != own_pad) & (owner != own_ball)
        hi = np.arange(2 * win.i0, 2 * win.i1 - 1)[:, None]
        hj = np.arange(2 * win.j0, 2 * win.j1 - 1)[None, :]
        x = lat.x0 + hi * lat.p / 2.0
        y = lat.y0 + hj * lat.p / 2.0
        (xl, xh), (yl, yh) = self.pad_strips(k)
        vstrip = (x >= xl - LENGTH_EPS_UM) & (x <= xh + LENGTH_EPS_UM)
        hstrip = (y >= yl - LENGTH_EPS_UM) & (y <= yh + LENGTH_EPS_UM)
        in_pad = (near & (owner == own_pad)).any(0)
        # the keep-in edge closes a point unless the pen there lies wholly on the trace's own pad
        # (a pad may reach past the keep-in; metal on it is the pad's, wherever the trace lands)
        edge = (self.obs.room[hs] < math.hypot(pen.a, pen.t) + MARGIN) & ~(in_pad & vstrip & hstrip)
        mask = np.where(other.any(0) | edge, 0, ALL).astype(np.uint8)
        # own ball: only the 4 axis rays through the ball's node (a 45° trace meeting a capture
        # pad's facet square on leaves sub-µm steps that a notch check flags)
        ball = self.balls[job.ball]
        bi, bj = lat.nearest(ball.x, ball.y)
        dx, dy = hi - 2 * bi, hj - 2 * bj
        ray = (np.where(dy == 0, H, 0) | np.where(dx == 0, V, 0)).astype(np.uint8)
        in_ball = (near & (owner == own_ball)).any(0)
        mask = np.where(in_ball, mask & ray, mask)
        # own pad: straight across the edge it crosses, inside the strip the pen fully covers
        pad_bits = (np.where(vstrip, V, 0) | np.where(hstrip, H, 0)).astype(np.uint8)
        return np.where(in_pad, mask & pad_bits, mask)

    def pad_strips(self, k: int) -> tuple[tuple[float, float], tuple[float, float]]:
        """x and y ranges of centrelines that cross job k's pad edge square to it with the pen wholly on the landing."""
        pad, pen = self.pads[self.jobs[k].pad], self.pens[k]
        xl, yl, xh, yh = pad.shape.bounds
        if abs(pad.shape.area - (xh - xl) * (yh - yl)) > 1e-6 * pad.shape.area:
            # round or octagonal landing: cross it where its edge is within 30° of square (sin 30° = ½)
            r = float(shapely.distance(shapely.Point(pad.x, pad.y), pad.shape.exterior))
            h = 0.41 * r - pen.a
            return (pad.x - h, pad.x + h), (pad.y - h, pad.y + h)
        return (xl + pen.a, xh - pen.a), (yl + pen.a, yh - pen.a)

    def pad_targets(self, k: int, win: Window) -> np.ndarray:
        """Flat window indices of the nodes where job k's trace may end on its pad."""
        lat = self.lat
        (xl, xh), (yl, yh) = self.pad_strips(k)
        ii = np.arange(win.i0, win.i1)
        jj = np.arange(win.j0, win.j1)
        x, y = lat.xy(ii, jj)
        ok_i = np.flatnonzero((x >= xl - LENGTH_EPS_UM) & (x <= xh + LENGTH_EPS_UM))
        ok_j = np.flatnonzero((y >= yl - LENGTH_EPS_UM) & (y <= yh + LENGTH_EPS_UM))
        return (ok_i[:, None] * win.shape[1] + ok_j[None, :]).ravel()

    # ------------------------------------------------------------------ one job

    def others(self, k: int, win: Window) -> np.ndarray:
        """Other jobs' claims on the window's nodes, widened by job k's footprint."""
        ns = win.nodes()
        occ = self.occ[ns].astype(float)
        own = self.net_occ.get(self.jobs[k].net)
        mine = np.zeros_like(occ)
        if self.feet[k] is not None:
            fi, fj = self.feet[k]
            inside = (fi >= win.i0) & (fi < win.i1) & (fj >= win.j0) & (fj < win.j1)
            np.add.at(mine, (fi[inside] - win.i0, fj[inside] - win.j0), 1.0)
        occ -= mine
        if own is not None:  # traces of the same net meet only near their ball (radially, no slit)
            ii, jj = np.meshgrid(np.arange(win.i0, win.i1), np.arange(win.j0, win.j1), indexing="ij")
            occ -= (own[ns] - mine) * self.near_ball(k, ii, jj)
        r = self.extra[k] / self.lat.p
        if r > LENGTH_EPS_UM:
            occ = ndimage.maximum_filter(occ, footprint=_disk(r + 1.0 - 1e-6))
        return occ

    def route_one(self, k: int, pres: float, grow: int) -> list[tuple[int, int]] | None:
        """Job k's cheapest path (lattice nodes, pad end first) in a window, or None."""
        win = self.window(k, grow)
        nx, ny = win.shape
        occ = self.others(k, win)
        hist = self.hist[win.nodes()]
        if self.stray is not None:
            hist = hist + self.stray[k][win.nodes()]
        cost = (1.0 + hist) * (1.0 + pres * occ)
        rows, cols, weights = [], [], []
        idx = np.arange(nx * ny).reshape(nx, ny)
        lane = None if self.lane is None else self.lane[k][win.nodes()]
        along = None if self.lane is None else self.along[k][win.nodes()]
        for (di, dj), ok in zip(STEPS, self._steps_ok(k, win)):
            ia = slice(max(0, -di), nx - max(0, di))
            ja = slice(max(0, -dj), ny - max(0, dj))
            ib = slice(ia.start + di, ia.stop + di)
            jb = slice(ja.start + dj, ja.stop + dj)
            if lane is not None:  # a guided job keeps to its lane, and never leaps along it (across a loop's neck)
                ok = ok & lane[ia, ja] & lane[ib, jb] & (np.abs(along[ia, ja] - along[ib, jb]) <= self.leap)
            w = 0.5 * (cost[ia, ja] + cost[ib, jb])
            if di and dj:
                corners = occ[ib, ja] + occ[ia, jb]
                w = w * math.sqrt(2.0) + pres * corners
            a, b = idx[ia, ja][ok], idx[ib, jb][ok]
            rows.append(a)
            cols.append(b)
            weights.append(w[ok])
        rows, cols, weights = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
        graph = coo_matrix((weights, (rows, cols)), shape=(nx * ny, nx * ny)).tocsr()
        ball = self.balls[self.jobs[k].ball]
        bi, bj = self.lat.nearest(ball.x, ball.y)
        if not (win.i0 <= bi < win.i1 and win.j0 <= bj < win.j1):
            return None
        src = (bi - win.i0) * ny + (bj - win.j0)
        dist, pred = dijkstra(graph, directed=False, indices=src, return_predecessors=True)
        targets = self.pad_targets(k, win)
        if not len(targets) or not np.isfinite(dist[targets]).any():
            return None
        node = int(targets[np.argmin(dist[targets])])
        path = [node]
        while node != src:
            node = int(pred[node])
            path.append(node)
        return [(win.i0 + n // ny, win.j0 + n % ny) for n in path]

    def _steps_ok(self, k: int, win: Window) -> list[np.ndarray]:
        """Per step direction: where in the window job k may step that way (start, middle and end
        open to it). Depends on the fixed metal only, so the last few windows are kept: the
        one-at-a-time phase routes every job over the whole lattice many times."""
        key = (k, win)
        if key in self._ok:
            return self._ok[key]
        nx, ny = win.shape
        mask = self.moves(k, win)
        out = []
        for (di, dj), bit in zip(STEPS, STEP_BITS):
            ia = slice(max(0, -di), nx - max(0, di))
            ja = slice(max(0, -dj), ny - max(0, dj))
            ib = slice(ia.start + di, ia.stop + di)
            jb = slice(ja.start + dj, ja.stop + dj)
            start = mask[2 * ia.start:2 * ia.stop:2, 2 * ja.start:2 * ja.stop:2]
            mid = mask[2 * ia.start + di:2 * ia.stop + di:2, 2 * ja.start + dj:2 * ja.stop + dj:2]
            end = mask[2 * ib.start:2 * ib.stop:2, 2 * jb.start:2 * jb.stop:2]
            out.append((start & mid & end & bit) != 0)
        if len(self._ok) >= KEPT:
            self._ok.pop(next(iter(self._ok)))
        self._ok[key] = out
        return out

    def footprint(self, k: int, path: list[tuple[int, int]]) -> np.ndarray:
        """The nodes a path claims: its nodes, the corners of its 45° cells, widened for a wide class."""
        pts = set(path)
        for (i0, j0), (i1, j1) in zip(path, path[1:]):
            if i0 != i1 and j0 != j1:
                pts.add((i1, j0))
                pts.add((i0, j1))
        arr = np.array(sorted(pts)).T
        r = self.extra[k] / self.lat.p
        if r > LENGTH_EPS_UM:
            offs = np.argwhere(_disk(r + 1.0 - 1e-6)) - int(math.ceil(r + 1.0 - 1e-6))
            arr = (arr[:, :, None] + offs.T[:, None, :]).reshape(2, -1)
            keep = (arr[0] >= 0) & (arr[0] < self.lat.nx) & (arr[1] >= 0) & (arr[1] < self.lat.ny)
            arr = np.unique(arr[:, keep], axis=1)
        return arr

    def place(self, k: int, path: list[tuple[int, int]] | None) -> None:
        """Record job k's path and its claim on the lattice (replacing its previous one)."""
        own = self.net_occ.get(self.jobs[k].net)
        if self.feet[k] is not None:
            np.subtract.at(self.occ, tuple(self.feet[k]), 1)
            if own is not None:
                np.subtract.at(own, tuple(self.feet[k]), 1)
        self.paths[k], self.feet[k] = path, None
        if path is not None:
            self.feet[k] = self.footprint(k, path)
            np.add.at(self.occ, tuple(self.feet[k]), 1)
            if own is not None:
                np.add.at(own, tuple(self.feet[k]), 1)

    def shared(self, k: int) -> bool:
        """Whether job k's claim overlaps another net's."""
        if self.feet[k] is None:
            return False
        own = self.net_occ.get(self.jobs[k].net)
        f = tuple(self.feet[k])
        used = self.occ[f] - 1
        if own is not None:
            used = used - (own[f] - 1) * self.near_ball(k, *f)
        return bool((used > 0).any())

    def near_ball(self, k: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether nodes lie within job k's ball zone (capture pad plus its clearance)."""
        ball = self.balls[self.jobs[k].ball]
        x, y = self.lat.xy(i, j)
        reach = math.hypot(*(np.subtract(ball.shape.bounds[2:], ball.shape.bounds[:2]) / 2.0)) + self.clear[k]
        return (np.hypot(x - ball.x, y - ball.y) <= reach).astype(float)

    # ------------------------------------------------------------------ all jobs

    def negotiate(self, grow: int) -> list[int]:
        """Route every job, ripping up and rerouting shared nodes; the jobs still in conflict (or unroutable)."""
        order = sorted(range(len(self.jobs)), key=lambda k: self._span(k))
        todo, pres, best, since = order, 0.5, len(order) + 1, 0
        for rnd in range(ROUNDS):
            for k in todo:
                self.place(k, None)
                path = self.route_one(k, pres, grow * (1 + rnd // 6))
                if path is None:
                    path = self.route_one(k, pres, max(self.lat.nx, self.lat.ny))
                    if path is None:  # closed off by fixed metal alone: no rip-up can open a way
                        return [k]
                self.place(k, path)
            bad = [k for k in order if self.paths[k] is None or self.shared(k)]
            if not bad:
                return []
            best, since = (len(bad), 0) if len(bad) < best else (best, since + 1)
            if since >= STALL:
                break  # no fewer conflicts for STALL rounds: the conflicts are crossings, not crowding
            self.hist += 0.6 * (self.occ > 1)
            pres *= 1.8
            todo = bad
        return [k for k in order if self.paths[k] is None or self.shared(k)]

    def sequential(self, left: list[int], attempts: int) -> list[int]:
        """After negotiation left `left` in conflict (traces that would have to cross, which
        negotiated costs alone can keep swapping): route the jobs one at a time over the whole
        lattice, every placed trace a wall, the conflicting ones first, each placed so that it
        closes no later job off (`place_preserving`); a job that finds no way, or that a trace
        closes off whatever gap it leaves, moves to the front and all are routed again. Returns [] when every job is placed
        without sharing, else `left` with the negotiated paths put back (for the report)."""
        if not left or any(self.paths[k] is None for k in left):
            return left
        kept = list(self.paths)
        order = sorted(range(len(self.jobs)), key=lambda k: self._span(k))
        first, whole = list(left), max(self.lat.nx, self.lat.ny)
        fail, placed = None, []
        for _ in range(attempts):
            for k in range(len(self.jobs)):
                self.place(k, None)
            fail, placed = None, []
            todo = first + [k for k in order if k not in first]
            for n, k in enumerate(todo):
                victim = self.place_preserving(k, todo[n + 1:], whole)
                if victim is not None:
                    if victim != k:
                        placed.append(k)  # k is placed and closes `victim` off: the report names it
                    fail = victim
                    break
                placed.append(k)
            if fail is None:
                return []
            first = [fail] + [k for k in first if k != fail]
        if fail is not None:
            self.place(fail, None)
            self.closed_off = self._closer(fail, placed)
        for k in range(len(self.jobs)):
            self.place(k, None)
        for k, path in enumerate(kept):
            self.place(k, path)
        return left

    def place_preserving(self, k: int, rest: Sequence[int], whole: int) -> int | None:
        """Place job k (every placed trace a wall) so that no job in `rest` is closed off from its pad.

        Balls of later jobs carry a priced halo (`_halo`). When k's trace still closes a later job's
        ball off (with the traces, balls and die edge around it), the runs where k hugs other metal
        between that pocket and the rest (`_gap`) are priced for k and k is routed again, up to
        GAP_TRIES times. Returns None when k is placed and every later job can still reach its pad
        (checked up to PRESERVE_JOBS jobs), k when k has no way at all (or only one through other
        traces), else the first job k still closes off (it should go before k)."""
        if len(self.jobs) > PRESERVE_JOBS:  # a labelling per later job after each trace: O(n²) lattices
            path = self.route_one(k, WALL, whole)
            self.place(k, path)
            return k if path is None or self.shared(k) else None
        price = np.zeros_like(self.hist)
        halo = self._halo(rest)
        victims: list[int] = []
        for _ in range(GAP_TRIES):
            self.hist += price + halo
            path = self.route_one(k, WALL, whole)
            self.hist -= price + halo
            self.place(k, path)
            if path is None or self.shared(k):
                return k
            victims = [v for v in rest if self.cut_off(v)]
            if not victims:
                return None
            gap = self._gap(k, victims[:GAP_VICTIMS])
            if not len(gap[0]) or (price[gap] > 0).all():
                break  # k is already priced out wherever it closes them off: it has no other way
            price[gap] += GAP
        return victims[0]

    def _gap(self, k: int, victims: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """The nodes of job k's claim where it closed each victim off: its contacts (nodes next to
        other metal, a placed trace or the edge, away from k's own pad and ball) that lie within two
        nodes of both the victim's pocket (the smaller side of the cut k made: its ball's side or its
        pad's) and the other side, with the whole run of contacts each belongs to. Priced, they make k
        pass that metal a track off, which opens the pocket. Where no contact is found, k's whole
        border with the pocket."""
        feet = self.feet[k]
        claim = np.zeros(self.occ.shape, bool)
        claim[tuple(feet)] = True
        border, hit = np.zeros_like(claim), np.zeros_like(claim)
        runs = None
        for v in victims:
            sides = self._sides(v)
            if sides is None:
                continue
            pocket, other, label = sides
            if runs is None:
                metal = (label == 0) & ~claim
                contact = claim & ndimage.binary_dilation(metal, structure=np.ones((3, 3), bool)) & ~self._own_zone(k)
                runs, _ = ndimage.label(contact, structure=np.ones((3, 3), bool))
            ring = np.ones((5, 5), bool)
            near = [np.unique(runs[ndimage.binary_dilation(m, structure=ring) & (runs > 0)]) for m in (pocket, other)]
            hit |= np.isin(runs, np.intersect1d(*near))
            border |= claim & ndimage.binary_dilation(pocket, structure=np.ones((3, 3), bool))
        if not hit.any():
            hit = border
        # the band two nodes either side too: a trace one node off still touches (its 45° corners)
        return np.nonzero(ndimage.binary_dilation(hit, structure=np.ones((2 * BAND + 1, 2 * BAND + 1), bool)))

    def _halo(self, jobs: Sequence[int]) -> np.ndarray:
        """A price (HALO a node) on the two nodes round the balls of jobs not routed yet: a trace that
        hugs such a ball leaves no track past it, and once that ball's own trace arrives the two close
        off whatever had to pass between them."""
        near = np.zeros(self.occ.shape, bool)
        x, y = self.lat.xy(np.arange(self.lat.nx), np.arange(self.lat.ny))
        for b in {self.jobs[j].ball for j in jobs}:
            ball = self.balls[b]
            xl, yl, xh, yh = ball.shape.bounds
            r = max(xh - xl, yh - yl) / 2.0 + max(self.clear) + 2.0 * self.lat.p
            i = slice(*np.searchsorted(x, (ball.x - r, ball.x + r)))
            j = slice(*np.searchsorted(y, (ball.y - r, ball.y + r)))
            near[i, j] |= np.hypot(x[i, None] - ball.x, y[None, j] - ball.y) <= r
        return HALO * near

    def _own_zone(self, k: int) -> np.ndarray:
        """Lattice nodes inside the clearance of job k's own pad or ball (its trace must touch them: no pinch there)."""
        job = self.jobs[k]
        node = (slice(None), slice(None, None, 2), slice(None, None, 2))
        owner, dist = self.obs.owner[node], self.obs.dist[node]
        own = ((owner == job.pad) | (owner == len(self.pads) + job.ball)) & (dist < self.clear[k] + 2.0 * self.lat.p)
        return own.any(0)

    def _sides(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """When job k's ball is closed off from its pad: its free lattice on the smaller side of the
        cut (the ball's component, or its pad's landing nodes' components), on the other, and the
        component labels (0 where closed); else None."""
        label, mine, landing = self._reach(k)
        if not mine or not len(landing) or mine in landing:
            return None
        ball, pad = label == mine, np.isin(label, landing)
        return (ball, pad, label) if ball.sum() <= pad.sum() else (pad, ball, label)

    def _reach(self, k: int) -> tuple[np.ndarray, int, np.ndarray]:
        """Job k's free lattice (the nodes it may use, joined by free axis steps) labelled in
        components: the labels, the ball node's label (0 when closed) and its landing nodes' labels."""
        whole = Window(0, self.lat.nx, 0, self.lat.ny)
        if k not in self._free:
            self._free[k] = self.moves(k, whole)[::2, ::2] != 0
            if self.lane is not None:  # a guided job reaches its pad within its lane only
                self._free[k] &= self.lane[k]
        label, _ = ndimage.label(self._free[k] & (self.others(k, whole) == 0))
        ball = self.balls[self.jobs[k].ball]
        landing = np.unique(label.ravel()[self.pad_targets(k, whole)])
        return label, int(label[self.lat.nearest(ball.x, ball.y)]), landing[landing > 0]

    def cut_off(self, k: int) -> bool:
        """Whether job k's ball is closed off from every landing node of its pad by the fixed metal, the
        keep-in edge and the traces placed now (the nodes job k may use, joined where an axis step
        between them is free: a 45° step needs its two corners free, so it adds no connection)."""
        _, mine, landing = self._reach(k)
        return mine == 0 or mine not in landing

    def _closer(self, k: int, placed: list[int]) -> tuple[int, int] | None:
        """When job k found no way without crossing: (k, the last placed job whose trace closed k's ball
        off from its pad), or None when k is not closed off (or no single trace reopens it)."""
        if not self.cut_off(k):
            return None
        for b in reversed(placed):
            path = self.paths[b]
            self.place(b, None)
            opened = not self.cut_off(k)
            self.place(b, path)
            if opened:
                return k, b
        return None

    def _span(self, k: int) -> float:
        job = self.jobs[k]
        pad, ball = self.pads[job.pad], self.balls[job.ball]
        return octilinear(pad.x - ball.x, pad.y - ball.y)

    # ------------------------------------------------------------------ straight runs

    def straighten(self, k: int) -> None:
        """Replace job k's path by long axis and 45° runs wherever the lattice lets it."""
        path = self.paths[k]
        if path is None or len(path) < 3:
            return
        self.place(k, None)
        ii, jj = [p[0] for p in path], [p[1] for p in path]
        win = Window(min(ii), max(ii) + 1, min(jj), max(jj) + 1)
        mask = self.moves(k, win)
        occ = self.others(k, win) > 0
        corners = _corners(path)

        def leg(a: int, b: int) -> list[tuple[int, int]] | None:
            run = self._shortcut(corners[a], corners[b], mask, occ, win)
            if run is None and b == a + 1:  # keep the original step (cannot happen: the path itself is legal)
                run = _steps(corners[a], corners[b])
            return run

        self.place(k, pull_straight(corners, leg))

    def _shortcut(self, p0, p1, mask, occ, win) -> list[tuple[int, int]] | None:
        """An axis run and a 45° run from p0 to p1 (either order) over free nodes, or None."""
        di, dj = p1[0] - p0[0], p1[1] - p0[1]
        d = min(abs(di), abs(dj))
        diag = (int(np.sign(di)) * d, int(np.sign(dj)) * d)
        for first in (diag, (di - diag[0], dj - diag[1])):
            mid = (p0[0] + first[0], p0[1] + first[1])
            steps = _steps(p0, mid) + _steps(mid, p1)[1:]
            if self._legal(steps, mask, occ, win):
                return steps
        return None

    def _legal(self, steps, mask, occ, win) -> bool:
        """Whether a step sequence uses only moves and nodes the job may use."""
        s = np.array(steps)
        if ((s[:, 0] < win.i0) | (s[:, 0] >= win.i1) | (s[:, 1] < win.j0) | (s[:, 1] >= win.j1)).any():
            return False
        li, lj = s[:, 0] - win.i0, s[:, 1] - win.j0
        if occ[li, lj].any():
            return False
        a, b = s[:-1], s[1:]
        d = b - a
        bits = np.select([d[:, 1] == 0, d[:, 0] == 0, d[:, 0] == d[:, 1]], [H, V, D1], D2)
        ha, hb = 2 * (a - (win.i0, win.j0)), 2 * (b - (win.i0, win.j0))
        hm = (ha + hb) // 2
        ok = mask[ha[:, 0], ha[:, 1]] & mask[hm[:, 0], hm[:, 1]] & mask[hb[:, 0], hb[:, 1]] & bits
        if not ok.all():
            return False
        diag = (d[:, 0] != 0) & (d[:, 1] != 0)
        return not (occ[b[diag, 0] - win.i0, a[diag, 1] - win.j0].any() or occ[a[diag, 0] - win.i0, b[diag, 1] - win.j0].any())

    # ------------------------------------------------------------------ output

    def centreline(self, k: int) -> list[tuple[float, float]]:
        """Job k's path in µm, corners only, pad end first, ending on the ball centre when it is a node."""
        path = _corners(self.paths[k])
        xs, ys = self.lat.xy(np.array([p[0] for p in path]), np.array([p[1] for p in path]))
        return [(snap(float(x), self.grid), snap(float(y), self.grid)) for x, y in zip(xs, ys)]


def pull_straight(points: Sequence, leg: Callable[[int, int], list | None]) -> list:
    """A path pulled straight: from each kept point, on to the farthest later point that `leg(a, b)`
    (indices into `points`) joins; `leg` returns the points from a to b, both included, or None, and
    must join neighbours. Shared by the lattice router (axis and 45° runs) and the fan-out router (L shapes)."""
    out, a = [points[0]], 0
    while a < len(points) - 1:
        for b in range(len(points) - 1, a, -1):
            run = leg(a, b)
            if run is not None:
                out.extend(run[1:])
                a = b
                break
        else:
            raise ValueError(f"pull_straight: no leg joins points {a} and {a + 1}")
    return out


def octilinear(dx: float, dy: float) -> float:
    """Shortest 0/45/90° distance for an offset."""
    a, b = sorted((abs(dx), abs(dy)))
    return b - a + a * math.sqrt(2.0)


def _disk(r: float) -> np.ndarray:
    """Boolean disk of lattice radius r."""
    n = int(math.ceil(r))
    i, j = np.mgrid[-n:n + 1, -n:n + 1]
    return i * i + j * j < r * r


def _steps(p0: tuple[int, int], p1: tuple[int, int]) -> list[tuple[int, int]]:
    """The lattice nodes of a straight (0/45/90°) run from p0 to p1, both included."""
    di, dj = p1[0] - p0[0], p1[1] - p0[1]
    n = max(abs(di), abs(dj))
    if n == 0:
        return [p0]
    si, sj = di // n if di else 0, dj // n if dj else 0
    return [(p0[0] + si * m, p0[1] + sj * m) for m in range(n + 1)]


def _corners(path: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The path's end points and the nodes where it changes direction."""
    if len(path) < 3:
        return list(path)
    out = [path[0]]
    for a, b, c in zip(path, path[1:], path[2:]):
        if (b[0] - a[0], b[1] - a[1]) != (c[0] - b[0], c[1] - b[1]):
            out.append(b)
    out.append(path[-1])
    return out


def over_capacity(maze: Maze, left: list[int]) -> str:
    """Why the jobs in `left` could not be routed: the most contested cut, its tracks and its demand."""
    pads, balls, lat = maze.pads, maze.balls, maze.lat
    unroutable = [k for k in left if maze.paths[k] is None]
    if unroutable:
        job = maze.jobs[unroutable[0]]
        pad, ball = pads[job.pad], balls[job.ball]
        return (f"net {job.net}: pad {pad.name} at ({pad.x:.1f}, {pad.y:.1f}) cannot reach ball {ball.name}: "
                f"every way is closed by other nets' pads and balls or the keep-in edge at {job.width:g}/"
                f"{job.space:g} µm width/space ({len(unroutable)} such net(s))")
    hot = np.argwhere(maze.occ > 1)
    counts = maze.occ[tuple(hot.T)]
    i, j = (int(v) for v in hot[int(np.argmax(counts))])
    x, y = (float(v) for v in lat.xy(np.array(i), np.array(j)))
    names = [t.name for t in pads] + [b.name for b in balls]
    kinds = ["pad"] * len(pads) + ["ball"] * len(balls)
    owner, dist = maze.obs.owner[:, 2 * i, 2 * j], maze.obs.dist[:, 2 * i, 2 * j]
    near = sorted({int(o) for o, d in zip(owner, dist) if o >= 0})
    fixed = [t for t in [*pads, *balls]]
    if len(near) >= 2:
        a, b = fixed[near[0]], fixed[near[1]]
        cut = f"the gap between {kinds[near[0]]} {names[near[0]]} and {kinds[near[1]]} {names[near[1]]}"
        ax, ay, bx, by = a.x, a.y, b.x, b.y
    else:
        cut, (ax, ay, bx, by) = "the channel", (x - lat.p * 8, y, x + lat.p * 8, y)
    n = max(2, int(math.hypot(bx - ax, by - ay) / (lat.p / 2)))
    cx, cy = np.linspace(ax, bx, n), np.linspace(ay, by, n)
    nodes = {lat.nearest(float(u), float(v)) for u, v in zip(cx, cy)}
    clear = min(maze.clear)
    free = [nd for nd in nodes if (maze.obs.dist[:, 2 * nd[0], 2 * nd[1]] >= clear).all()
            and maze.obs.room[2 * nd[0], 2 * nd[1]] >= clear]
    tracks = len({(nd[0], nd[1]) for nd in free})
    users = [k for k, f in enumerate(maze.feet) if f is not None and any((int(a_), int(b_)) in nodes for a_, b_ in f.T)]
    nets = sorted({maze.jobs[k].net for k in users} | {maze.jobs[k].net for k in left})
    shown = ", ".join(nets[:8]) + (f" and {len(nets) - 8} more" if len(nets) > 8 else "")
    job0 = maze.jobs[left[0]]
    where = (f"nets {shown} cannot all be routed on one layer: near ({x:.1f}, {y:.1f}) they need {cut}, "
             f"which carries {tracks} track(s) at {job0.width:g}/{job0.space:g} µm width/space")
    tail = (f"; {len(left)} of {len(maze.jobs)} traces still share metal after negotiated rip-up and "
            f"one-at-a-time routing")
    if maze.closed_off is not None:
        k, b = (maze.jobs[i] for i in maze.closed_off)
        tail += (f" (in the last one-at-a-time order, net {b.net}'s trace from pad {pads[b.pad].name} to ball "
                 f"{balls[b.ball].name} closed net {k.net}'s ball {balls[k.ball].name} off from its pad "
                 f"{pads[k.pad].name}, together with the traces, balls and die edge around it)")
    if len(users) > tracks:
        return (f"{where} but the router's best attempt puts {len(users)} traces through it "
                f"(over by {len(users) - tracks}){tail}")
    # not a capacity proof: the cut has room for its traces, the router found no order that avoids a crossing
    return (f"{where}, enough for the {len(users)} trace(s) crossing it, but the router found no way to "
            f"route them there without two crossing (no capacity limit is proven there: move a pad or swap balls to "
            f"bring the pinout closer to ring order){tail}")

"""Multi-level maze routing of fan-out nets: shortest paths over every level, vias where a net changes level.

Nets are routed one after another on the shared grid of `RouteGrid`. A net with several
terminals grows as a tree: each leg is the cheapest path (scipy's Dijkstra, all levels and
vias at once) from everything the net already reaches to its nearest unreached terminal.
Each leg is straightened into as few bends as the free grid allows, drawn, and marked on
the grid so no other net comes within a level's space: no crossings within a level, and
DRC-clean spacing by construction. When a net cannot be routed, routing restarts with that
net first (a few times), then fails naming the net and the terminal it could not reach.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from layoutgen.errors import RoutingError
from layoutgen.route.rdl.maze import pull_straight
from .grid import BLOCKED, EPS_UM, FREE, LevelSpec, RouteGrid, ViaSpec
from layoutgen.units import LENGTH_EPS_UM


@dataclass(frozen=True)
class Terminal:
    """Where a net must arrive: its own metal on `level` (drawn by the caller) and an anchor point.

    `access="inside"`: the route may end at any grid node whose trace and via pads fit inside
    `metal` (bus rings, capacitor plates). `access="stub"`: the router joins the anchor (x, y)
    to the nearest grid node with a short straight stub it draws itself (die pads, passive
    pins: metal smaller than a grid cell). `access="centre"`: round metal (a bonding pad)
    centred at (x, y), best on a grid node: the route ends there, entering along the centre's
    row or column only, and a via may sit only at the centre (no trace grazes the round edge).
    """

    name: str
    net: str
    level: int
    metal: BaseGeometry
    x: float
    y: float
    access: Literal["inside", "stub", "centre"] = "inside"
    where: str = ""
    device: str | None = None


@dataclass(frozen=True)
class Obstacle:
    """Fixed metal or a keep-out zone on `level`: owned by `net`, or by nobody (None).

    Nobody's pieces (a spiral's turns, a keep-out under it) let no net come within the level's
    space. Pieces and terminals of one `device` may touch each other (a spiral and its pins).
    """

    level: int
    geometry: BaseGeometry
    net: str | None = None
    device: str | None = None
    where: str = ""


@dataclass
class Leg:
    """One path of a net: from what the net already reached to `terminal`."""

    terminal: str
    runs: list[tuple[int, list[tuple[float, float]]]]     # (level, vertices) per level change
    vias: list[tuple[str, float, float]]                   # (via layer, x, y)
    length_um: dict[str, float]                            # per level name


@dataclass
class NetRoute:
    """Everything routed for one net: legs, trace metal per level (with stubs), vias."""

    net: str
    legs: list[Leg] = field(default_factory=list)
    metal: dict[str, list[Polygon]] = field(default_factory=dict)
    vias: list[tuple[str, float, float]] = field(default_factory=list)
    stubs: dict[str, tuple[float, float]] = field(default_factory=dict)   # terminal -> grid node used

    @property
    def length_by_level(self) -> dict[str, float]:
        """Centreline length per level, µm."""
        out: dict[str, float] = {}
        for leg in self.legs:
            for k, v in leg.length_um.items():
                out[k] = out.get(k, 0.0) + v
        return out

    @property
    def length_um(self) -> float:
        """Total centreline length, µm."""
        return sum(self.length_by_level.values())


@dataclass
class Routing:
    """The result: routes per net, the order that succeeded, how many orders were tried."""

    nets: dict[str, NetRoute]
    order: list[str]
    attempts: int
    pitch: float


class _Fail(Exception):
    def __init__(self, net: str, terminal: Terminal, reached: list[str]):
        super().__init__(net)
        self.net, self.terminal, self.reached = net, terminal, reached


def _stub_box(x: float, y: float, gx: float, gy: float, w: float) -> Polygon:
    hw = w / 2
    return box(min(x, gx) - hw, min(y, gy) - hw, max(x, gx) + hw, max(y, gy) + hw)


def _named(p: Obstacle) -> str:
    return f"{p.where or p.device or 'metal'} (net {p.net or '-'})"


class _Router:
    def __init__(self, terminals: list[Terminal], obstacles: list[Obstacle], keepin: BaseGeometry,
                 levels: list[LevelSpec], vias: list[ViaSpec], pitch: float):
        self.levels, self.vias = levels, vias
        self.grid = RouteGrid(levels, vias, pitch, keepin)
        self.terminals = terminals
        self.nets = sorted({t.net for t in terminals} | {o.net for o in obstacles if o.net is not None})
        self.net_id = {n: k for k, n in enumerate(self.nets)}
        self.stub_metal: dict[str, tuple[Polygon | None, tuple[int, int]]] = {}   # terminal -> (stub, node)
        pieces = [Obstacle(t.level, t.metal, t.net, t.device, t.where or t.name) for t in terminals] + list(obstacles)
        self._choose_stubs(pieces)
        pieces += [Obstacle(t.level, self.stub_metal[t.name][0], t.net, t.device, t.where or t.name)
                   for t in terminals if t.name in self.stub_metal and self.stub_metal[t.name][0] is not None]
        self._check_fixed(pieces)
        for p in pieces:
            self.grid.mark(p.level, [p.geometry], BLOCKED if p.net is None else self.net_id[p.net])
        for t in terminals:
            if t.access == "centre":
                self.grid.radial_only(t.level, t.metal, *self.stub_metal[t.name][1])
        self.access = {t.name: self._access(t) for t in terminals}
        self.fixed = self.grid.snapshot()

    # -- set-up ------------------------------------------------------------------------------
    def _choose_stubs(self, pieces: list[Obstacle]) -> None:
        """For each stub terminal the nearest grid node whose stub keeps the space to other metal."""
        by_level: dict[int, list[Obstacle]] = {}
        for p in pieces:
            by_level.setdefault(p.level, []).append(p)
        trees = {lv: STRtree([p.geometry for p in ps]) for lv, ps in by_level.items()}
        for t in self.terminals:
            if t.access == "inside":
                continue
            lv = self.levels[t.level]
            cands = self.grid.nearest(t.x, t.y)
            if t.access == "centre" and cands and math.dist(self.grid.xy(*cands[0]), (t.x, t.y)) < 1e-6:
                self.stub_metal[t.name] = (None, cands[0])
                continue
            if not cands:
                raise RoutingError(f"terminal {t.name} of net {t.net} at ({t.x:g}, {t.y:g}) lies outside the routing area")
            chosen = None
            for ij in cands:
                stub = _stub_box(t.x, t.y, *self.grid.xy(*ij), lv.width)
                near = trees[t.level].query(stub, predicate="dwithin", distance=lv.space - EPS_UM) if t.level in trees else []
                if all(by_level[t.level][n].net == t.net for n in near):
                    chosen = (stub, ij)
                    break
            self.stub_metal[t.name] = chosen or (_stub_box(t.x, t.y, *self.grid.xy(*cands[0]), lv.width), cands[0])

    def _check_fixed(self, pieces: list[Obstacle]) -> None:
        """Fixed metal of different nets (pads, balls, rings, devices) must keep each level's space."""
        for li, lv in enumerate(self.levels):
            ps = [p for p in pieces if p.level == li]
            if len(ps) < 2:
                continue
            tree = STRtree([p.geometry for p in ps])
            a_idx, b_idx = tree.query([p.geometry for p in ps], predicate="dwithin", distance=lv.space - EPS_UM)
            for a, b in zip(a_idx.tolist(), b_idx.tolist()):
                if a >= b:
                    continue
                pa, pb = ps[a], ps[b]
                if pa.net is not None and pa.net == pb.net:
                    continue
                if pa.device is not None and pa.device == pb.device:
                    continue
                d = shapely.distance(pa.geometry, pb.geometry)
                raise RoutingError(f"on {lv.name}, {_named(pa)} and {_named(pb)} are {d:.3f} µm apart: "
                                   f"below the {lv.space:g} µm space between different nets")

    def _access(self, t: Terminal) -> list[int]:
        """Global node ids where a route may end at terminal `t`."""
        g = self.grid
        if t.access != "inside":
            i, j = self.stub_metal[t.name][1]
            return [g.node(t.level, i, j)]
        x0, y0, x1, y1 = t.metal.bounds
        ii = np.nonzero((g.xs >= x0) & (g.xs <= x1))[0]
        jj = np.nonzero((g.ys >= y0) & (g.ys <= y1))[0]
        if ii.size == 0 or jj.size == 0:
            raise RoutingError(f"terminal {t.name} of net {t.net}: no routing grid node inside its metal "
                               f"(grid pitch {g.pitch:g} µm)")
        I, J = np.meshgrid(ii, jj, indexing="ij")
        X, Y = g.xs[I].ravel(), g.ys[J].ravel()
        sides = [self.levels[t.level].width] + [v.landing_lower for v in self.vias if v.lower == t.level] \
            + [v.landing_upper for v in self.vias if v.lower + 1 == t.level]
        shapely.prepare(t.metal)
        for side in (max(sides), self.levels[t.level].width):
            inside = shapely.contains(t.metal, shapely.box(X - side / 2, Y - side / 2, X + side / 2, Y + side / 2))
            if inside.any():
                return [g.node(t.level, int(i), int(j)) for i, j in zip(I.ravel()[inside], J.ravel()[inside])]
        raise RoutingError(f"terminal {t.name} of net {t.net}: its metal holds no {self.levels[t.level].width:g} µm "
                           f"trace end on the routing grid (pitch {g.pitch:g} µm)")

    # -- routing -----------------------------------------------------------------------------
    def _graph(self, k: int):
        g = self.grid
        ok = (g.edge_owner == FREE) | (g.edge_owner == k)
        u, v, c = [g.edge_u[ok]], [g.edge_v[ok]], [g.edge_cost[ok]]
        for vi, via in enumerate(self.vias):
            lo, hi = g.via_owner[vi]
            good = np.nonzero(((lo == FREE) | (lo == k)) & ((hi == FREE) | (hi == k)))[0]
            u.append(via.lower * g.nn + good)
            v.append((via.lower + 1) * g.nn + good)
            c.append(np.full(good.size, via.cost_um))
        n = g.nn * len(self.levels)
        return coo_matrix((np.concatenate(c), (np.concatenate(u), np.concatenate(v))), shape=(n, n)).tocsr()

    def route_net(self, net: str) -> NetRoute:
        k = self.net_id[net]
        terms = [t for t in self.terminals if t.net == net]
        result = NetRoute(net)
        for t in terms:
            if t.access != "inside":
                stub, ij = self.stub_metal[t.name]
                if stub is not None:
                    result.metal.setdefault(self.levels[t.level].name, []).append(stub)
                result.stubs[t.name] = self.grid.xy(*ij)
        if len(terms) < 2:
            return result
        graph = self._graph(k)
        start = max(terms, key=lambda t: len(self.access[t.name]))
        tree = set(self.access[start.name])
        reached = [start.name]
        remaining = [t for t in terms if t is not start]
        while remaining:
            dist, pred, _ = dijkstra(graph, directed=False, indices=sorted(tree), return_predecessors=True,
                                     min_only=True)
            best = None
            for t in remaining:
                acc = np.asarray(self.access[t.name])
                a = int(acc[np.argmin(dist[acc])])
                if np.isfinite(dist[a]) and (best is None or dist[a] < best[0] - LENGTH_EPS_UM):
                    best = (float(dist[a]), t, a)
            if best is None:
                raise _Fail(net, remaining[0], reached)
            _, t, node = best
            path = [node]
            while pred[path[-1]] >= 0:
                path.append(int(pred[path[-1]]))
            leg, nodes = self._draw_leg(k, t.name, path[::-1], result)
            result.legs.append(leg)
            tree |= nodes | set(self.access[t.name])
            reached.append(t.name)
            remaining.remove(t)
        return result

    def _smooth(self, k: int, level: int, pts: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The run through `pts` with as few bends as the net's usable edges allow (L-shaped shortcuts)."""
        g = self.grid

        def straight_ok(a, b) -> bool:
            return a == b or g.usable_edges(k, g.run_edges(level, a, b))

        def leg(i: int, j: int) -> list[tuple[int, int]] | None:
            a, b = pts[i], pts[j]
            if a[0] == b[0] or a[1] == b[1]:
                return [a, b] if straight_ok(a, b) else None
            corner = next((c for c in ((b[0], a[1]), (a[0], b[1])) if straight_ok(a, c) and straight_ok(c, b)), None)
            return None if corner is None else [a, corner, b]

        return pull_straight(pts, leg)

    def _draw_leg(self, k: int, name: str, path: list[int], result: NetRoute) -> tuple[Leg, set[int]]:
        g = self.grid
        cells = [g.unpack(n) for n in path]
        runs: list[tuple[int, list[tuple[int, int]]]] = []
        vias: list[tuple[int, int, int]] = []
        for lv, i, j in cells:
            if runs and runs[-1][0] == lv:
                runs[-1][1].append((i, j))
            else:
                if runs:
                    vias.append((min(lv, runs[-1][0]), i, j))
                runs.append((lv, [(i, j)]))
        nodes: set[int] = set()
        leg_runs, lengths = [], {}
        for lv, pts in runs:
            spec = self.levels[lv]
            pts = self._smooth(k, lv, pts)
            xy = [g.xy(i, j) for i, j in pts]
            rects = [_stub_box(*a, *b, spec.width) for a, b in zip(xy, xy[1:]) if a != b]
            for a, b in zip(pts, pts[1:]):
                if a[0] == b[0]:
                    lo, hi = sorted((a[1], b[1]))
                    nodes |= {g.node(lv, a[0], jj) for jj in range(lo, hi + 1)}
                else:
                    lo, hi = sorted((a[0], b[0]))
                    nodes |= {g.node(lv, ii, a[1]) for ii in range(lo, hi + 1)}
            nodes.add(g.node(lv, *pts[0]))
            if rects:
                result.metal.setdefault(spec.name, []).extend(rects)
                g.mark(lv, rects, k)
            run_length = sum(math.dist(a, b) for a, b in zip(xy, xy[1:]))
            if run_length > 0:
                lengths[spec.name] = lengths.get(spec.name, 0.0) + run_length
            leg_runs.append((lv, xy))
        leg_vias = []
        for vl, i, j in vias:
            spec = self.vias[vl]
            x, y = g.xy(i, j)
            for lv, side in ((spec.lower, spec.landing_lower), (spec.lower + 1, spec.landing_upper)):
                g.mark(lv, [box(x - side / 2, y - side / 2, x + side / 2, y + side / 2)], k)
            leg_vias.append((spec.name, x, y))
        result.vias.extend(leg_vias)
        return Leg(name, leg_runs, leg_vias, lengths), nodes


def route(terminals: list[Terminal], obstacles: list[Obstacle], keepin: BaseGeometry, levels: list[LevelSpec],
          vias: list[ViaSpec], pitch: float, order: list[str] | None = None, attempts: int = 4) -> Routing:
    """Route every net of `terminals` over `levels`; raises RoutingError naming the net that cannot be routed.

    `order` is the net order to try first (default: by the half perimeter of the terminals);
    a net that fails moves to the front and routing restarts, at most `attempts` times.
    """
    r = _Router(terminals, obstacles, keepin, levels, vias, pitch)
    if order is None:
        def hpwl(net: str) -> float:
            xs = [t.x for t in terminals if t.net == net]
            ys = [t.y for t in terminals if t.net == net]
            return (max(xs) - min(xs)) + (max(ys) - min(ys))
        order = sorted(r.nets, key=lambda n: (hpwl(n), n))
    order = list(order) + [n for n in r.nets if n not in order]
    last: _Fail | None = None
    for attempt in range(1, attempts + 1):
        r.grid.restore(r.fixed)
        try:
            done = {net: r.route_net(net) for net in order}
            return Routing(nets=done, order=order, attempts=attempt, pitch=pitch)
        except _Fail as f:
            last = f
            order = [f.net] + [n for n in order if n != f.net]
    assert last is not None
    t = last.terminal
    raise RoutingError(
        f"net {last.net}: cannot reach {t.name}{f' ({t.where})' if t.where and t.where != t.name else ''} at ({t.x:g}, {t.y:g}) from "
        f"{', '.join(last.reached)}: every path over {', '.join(lv.name for lv in levels)} is blocked by other "
        f"nets' metal or keep-outs ({attempts} net orders tried)")

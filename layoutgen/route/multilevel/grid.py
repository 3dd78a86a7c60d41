"""The routing grid: nodes on every wiring level, the metal each move would draw, and who may use it.

Every move of the router (one grid step on a level, or a via between two levels at a node)
draws known metal: a trace rectangle of the level's width from node to node (square ends),
or the via's landing pads. Those shapes ("probes") are built once; each carries an owner:
free (-1), one net (its index: that net's metal is within spacing, no other net may use it)
or nobody (-2). Marking a new piece of metal looks its probes up in an STRtree, so a move
is allowed for a net exactly when its metal keeps the level's space to every other net:
routes are DRC-clean by construction, measured on the very polygons that are drawn.
All lengths in µm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree
from layoutgen.units import STEP_EPS

FREE = -1
BLOCKED = -2
# Spacing is kept when the distance is at least the rule: a probe is marked only below it.
EPS_UM = 1e-6


@dataclass(frozen=True)
class LevelSpec:
    """A wiring level: drawn layer name, trace width and space, cost per µm relative to the others."""

    name: str
    width: float
    space: float
    cost: float = 1.0


@dataclass(frozen=True)
class ViaSpec:
    """A via between level `lower` and `lower + 1`: cut layer, cut side, landing pad sides, cost."""

    name: str
    lower: int
    size: float
    landing_lower: float
    landing_upper: float
    cost_um: float


def _boxes(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    return shapely.box(x0, y0, x1, y1)


class RouteGrid:
    """Nodes at integer multiples of `pitch` inside `keepin`'s bounds, on every level, with move probes."""

    def __init__(self, levels: list[LevelSpec], vias: list[ViaSpec], pitch: float, keepin: BaseGeometry):
        self.levels, self.vias, self.pitch = levels, vias, pitch
        x0, y0, x1, y1 = keepin.bounds
        i0, i1 = math.ceil(x0 / pitch - STEP_EPS), math.floor(x1 / pitch + STEP_EPS)
        j0, j1 = math.ceil(y0 / pitch - STEP_EPS), math.floor(y1 / pitch + STEP_EPS)
        self.xs = np.arange(i0, i1 + 1) * pitch
        self.ys = np.arange(j0, j1 + 1) * pitch
        self.nx, self.ny = len(self.xs), len(self.ys)
        self.nn = self.nx * self.ny
        gx, gy = np.meshgrid(self.xs, self.ys, indexing="ij")       # [i, j]
        shapely.prepare(keepin)
        # Per level: horizontal edges (i, j)-(i+1, j), then vertical edges (i, j)-(i, j+1).
        self.h_base, self.v_base, self.edge_level = [], [], []
        probes, us, vs, costs = [], [], [], []
        base = 0
        for li, lv in enumerate(levels):
            hw = lv.width / 2
            hx0, hy = gx[:-1, :], gy[:-1, :]
            hx1 = gx[1:, :]
            h = _boxes((hx0 - hw).ravel(), (hy - hw).ravel(), (hx1 + hw).ravel(), (hy + hw).ravel())
            vx, vy0, vy1 = gx[:, :-1], gy[:, :-1], gy[:, 1:]
            v = _boxes((vx - hw).ravel(), (vy0 - hw).ravel(), (vx + hw).ravel(), (vy1 + hw).ravel())
            ii, jj = np.meshgrid(np.arange(self.nx), np.arange(self.ny), indexing="ij")
            node = li * self.nn + ii * self.ny + jj
            self.h_base.append(base)
            self.v_base.append(base + h.size)
            probes += [h, v]
            us += [node[:-1, :].ravel(), node[:, :-1].ravel()]
            vs += [node[1:, :].ravel(), node[:, 1:].ravel()]
            costs.append(np.full(h.size + v.size, pitch * lv.cost))
            self.edge_level.append((base, base + h.size + v.size))
            base += h.size + v.size
        self.edge_probes = np.concatenate(probes)
        self.edge_u = np.concatenate(us).astype(np.int64)
        self.edge_v = np.concatenate(vs).astype(np.int64)
        self.edge_cost = np.concatenate(costs)
        self.edge_owner = np.full(self.edge_probes.size, FREE, dtype=np.int32)
        self.edge_owner[~shapely.contains(keepin, self.edge_probes)] = BLOCKED
        self.edge_trees = [STRtree(self.edge_probes[a:b]) for a, b in self.edge_level]
        # Vias: at every node, a landing pad on each of the two levels.
        flat_x, flat_y = gx.ravel(), gy.ravel()
        self.via_probes: list[tuple[np.ndarray, np.ndarray]] = []
        self.via_owner: list[tuple[np.ndarray, np.ndarray]] = []
        self.via_trees: list[tuple[STRtree, STRtree]] = []
        for vs_ in vias:
            pair, owners, trees = [], [], []
            for side in (vs_.landing_lower, vs_.landing_upper):
                hs = side / 2
                p = _boxes(flat_x - hs, flat_y - hs, flat_x + hs, flat_y + hs)
                own = np.full(p.size, FREE, dtype=np.int32)
                own[~shapely.contains(keepin, p)] = BLOCKED
                pair.append(p)
                owners.append(own)
                trees.append(STRtree(p))
            self.via_probes.append(tuple(pair))
            self.via_owner.append(tuple(owners))
            self.via_trees.append(tuple(trees))

    # -- coordinates -------------------------------------------------------------------------
    def node(self, level: int, i: int, j: int) -> int:
        """Global node id of (level, i, j)."""
        return level * self.nn + i * self.ny + j

    def unpack(self, node: int) -> tuple[int, int, int]:
        """(level, i, j) of a global node id."""
        level, rest = divmod(int(node), self.nn)
        i, j = divmod(rest, self.ny)
        return level, i, j

    def xy(self, i: int, j: int) -> tuple[float, float]:
        """Coordinates of grid column i, row j."""
        return float(self.xs[i]), float(self.ys[j])

    def nearest(self, x: float, y: float) -> list[tuple[int, int]]:
        """The up-to-four grid points around (x, y), nearest first (ties by i, then j)."""
        fi = (x - self.xs[0]) / self.pitch
        fj = (y - self.ys[0]) / self.pitch
        cand = {(i, j) for i in (math.floor(fi), math.ceil(fi)) for j in (math.floor(fj), math.ceil(fj))
                if 0 <= i < self.nx and 0 <= j < self.ny}
        return sorted(cand, key=lambda ij: (round(math.hypot(self.xs[ij[0]] - x, self.ys[ij[1]] - y), 6), ij))

    def edge_index(self, level: int, a: tuple[int, int], b: tuple[int, int]) -> int:
        """Index of the unit edge between grid points a and b (4-neighbours) on `level`."""
        (i0, j0), (i1, j1) = sorted((a, b))
        if j0 == j1 and i1 == i0 + 1:
            return self.h_base[level] + i0 * self.ny + j0
        if i0 == i1 and j1 == j0 + 1:
            return self.v_base[level] + i0 * (self.ny - 1) + j0
        raise ValueError(f"grid points {a} and {b} are not neighbours")

    def run_edges(self, level: int, a: tuple[int, int], b: tuple[int, int]) -> np.ndarray:
        """Indices of the unit edges of the straight run from a to b (same row or column)."""
        (i0, j0), (i1, j1) = a, b
        if j0 == j1:
            lo, hi = sorted((i0, i1))
            return self.h_base[level] + np.arange(lo, hi) * self.ny + j0
        if i0 == i1:
            lo, hi = sorted((j0, j1))
            return self.v_base[level] + i0 * (self.ny - 1) + np.arange(lo, hi)
        raise ValueError(f"{a} and {b} are not on one grid line")

    # -- ownership ---------------------------------------------------------------------------
    def mark(self, level: int, geoms: list[BaseGeometry], owner: int) -> None:
        """Record metal (or a keep-out, owner BLOCKED) on `level`: probes closer than the space get `owner`."""
        if not geoms:
            return
        arr = np.asarray(geoms, dtype=object)
        space = self.levels[level].space - EPS_UM
        a, _ = self.edge_level[level]
        hits = np.unique(self.edge_trees[level].query(arr, predicate="dwithin", distance=space)[1]) + a
        _claim(self.edge_owner, hits, owner)
        for k, v in enumerate(self.vias):
            for side, lev in ((0, v.lower), (1, v.lower + 1)):
                if lev != level:
                    continue
                hits = np.unique(self.via_trees[k][side].query(arr, predicate="dwithin", distance=space)[1])
                _claim(self.via_owner[k][side], hits, owner)

    def radial_only(self, level: int, geom: BaseGeometry, i0: int, j0: int) -> None:
        """Around round metal centred at node (i0, j0): only moves along its row and column, and a via
        at its centre, may come within the level's space (so traces enter it radially, never grazing)."""
        space = self.levels[level].space - EPS_UM
        a, _ = self.edge_level[level]
        hits = self.edge_trees[level].query(geom, predicate="dwithin", distance=space) + a
        h = hits[hits < self.v_base[level]] - self.h_base[level]
        v = hits[hits >= self.v_base[level]] - self.v_base[level]
        off_row = h[(h % self.ny) != j0] + self.h_base[level]
        off_col = v[(v // (self.ny - 1)) != i0] + self.v_base[level]
        self.edge_owner[np.concatenate([off_row, off_col]).astype(np.int64)] = BLOCKED
        centre = i0 * self.ny + j0
        for k, via in enumerate(self.vias):
            for side, lev in ((0, via.lower), (1, via.lower + 1)):
                if lev == level:
                    near = self.via_trees[k][side].query(geom, predicate="dwithin", distance=space)
                    self.via_owner[k][side][near[near != centre]] = BLOCKED

    def usable_edges(self, net: int, edges: np.ndarray) -> bool:
        """True when every edge in `edges` may carry `net`."""
        own = self.edge_owner[edges]
        return bool(np.all((own == FREE) | (own == net)))

    def usable_via(self, net: int, via: int, i: int, j: int) -> bool:
        """True when via `via` may be placed for `net` at grid point (i, j)."""
        n = i * self.ny + j
        return all(o[n] in (FREE, net) for o in self.via_owner[via])

    def snapshot(self) -> tuple:
        """A copy of every owner array (to restart routing from the fixed metal)."""
        return (self.edge_owner.copy(), [tuple(o.copy() for o in pair) for pair in self.via_owner])

    def restore(self, snap: tuple) -> None:
        """Return the owner arrays to a snapshot."""
        self.edge_owner = snap[0].copy()
        self.via_owner = [tuple(o.copy() for o in pair) for pair in snap[1]]


def _claim(owner: np.ndarray, idx: np.ndarray, who: int) -> None:
    """Owner update: free probes take `who`; a probe already owned by someone else becomes BLOCKED."""
    if idx.size == 0:
        return
    cur = owner[idx]
    if who == BLOCKED:
        owner[idx] = BLOCKED
        return
    owner[idx] = np.where((cur == FREE) | (cur == who), who, BLOCKED)

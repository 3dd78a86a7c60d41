"""Regular arrays: a top cell that places one cell by a large array (GDS AREF) is checked on a
small copy of the array, once per distinct neighbourhood, never expanded.

A placement's neighbourhood is what lies within reach of its site: the placements up to k steps
away along each lattice vector (k from the deck's largest reach, the cell's size and the pitch).
Placements farther than k steps from every edge of the array all have the same neighbourhood; the
others have one of a few edge and corner neighbourhoods. The small array (at most 2k + 1 placements
along each vector) holds every one of them once: it is flattened and checked with the deck, each
finding is counted at its marker's reference point (`markers.ref_points`) in the site of the
placement whose lattice cell holds the point (the array's outer cells extend outwards), and
reported once, at the first placement of its class in the full array, with the number of
placements of that class (`occurrences`).

Density windows are summed over the lattice: in a window, whole placements count the cell's area,
placements cut by the window's edge are clipped once per column or row (an axis-parallel lattice).

Used when nothing else decides: the top draws nothing itself on the deck's layers and places only
the array, no merged shape joins two placements (checked on the small array), and the deck has
no rule that needs the whole layout (connectivity, a family's own kinds). Otherwise the ordinary
hierarchical check runs.
"""

from __future__ import annotations

import math
import time

import numpy as np
import shapely

from ...pdk import Pdk, Rule
from ..cell import CellLayers, check_cell, poly_bounds, run_rule, take_polys
from ..density import clusters, density_findings, windows
from ..merge import move_finding, touching_groups
from ..geometry import polygons
from ..read import Flat, Layout, Placement, layer_key, place_labels, place_polys
from ..violation import Finding, Violation
from .markers import ref_points
from .rules import CONTEXT_LOCAL, CONTEXT_WHOLE, POLYGON_KINDS, rule_local, rule_reach
from layoutgen.units import LENGTH_EPS_UM, STEP_EPS

# Below this many placements the ordinary hierarchical check is as quick.
ARRAY_MIN_PLACEMENTS = 64


def _sole_array(layout: Layout, top: str, pdk: Pdk) -> Placement | None:
    """The one regular array `top` places, when it places nothing else and draws nothing on the PDK's layers."""
    pls = layout.placements(top)
    if len(pls) != 1 or pls[0].lattice is None or len(pls[0].offsets) < ARRAY_MIN_PLACEMENTS:
        return None
    own = layout.own(top)[0]
    known = np.array([layer_key(*layer.gds) for layer in pdk.layers.values()], np.int64)
    if np.isin(own.key, known).any():
        return None
    return pls[0]


class ArrayCheck:
    """The check of one top cell that places one cell by a regular array (see the module)."""

    def __init__(self, layout: Layout, top: str, pdk: Pdk, deck: list[Rule], pl: Placement) -> None:
        self.layout, self.top, self.pdk, self.deck, self.pl = layout, top, pdk, deck, pl
        self.dbu = layout.dbu_um
        cols, rows, v1, v2 = pl.lattice  # type: ignore[misc]
        self.n = np.array([cols, rows], np.int64)
        self.vec = np.array([v1, v2], np.float64)            # rows: lattice vectors (dbu)
        for a in (0, 1):                                    # a 1-wide array: any vector across it
            if self.n[a] == 1 or not self.vec[a].any():
                other = self.vec[1 - a]
                self.vec[a] = np.array([-other[1], other[0]]) if a else np.array([other[1], -other[0]])
        frame = Placement(pl.child, pl.origin, pl.rotation, pl.magnification, pl.x_reflection, np.zeros((1, 2)))
        child = layout.flatten(pl.child)
        self.unit = place_polys(child.polys, frame)          # the cell placed at the array's origin
        self.unit_labels = place_labels(child.labels, frame)
        b = poly_bounds(self.unit)
        self.box = np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()], np.int64) if len(b) else None

    # -- the lattice ------------------------------------------------------------------------------

    def positions(self, n: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
        """(n0 * n1, 2) offsets (dbu) of an n0 × n1 block of the array from placement `start` (i, j)."""
        s = np.zeros(2, np.int64) if start is None else start
        i, j = np.meshgrid(s[0] + np.arange(n[0]), s[1] + np.arange(n[1]), indexing="xy")
        return np.rint(i.ravel()[:, None] * self.vec[0] + j.ravel()[:, None] * self.vec[1]).astype(np.int64)

    def flat(self, n: np.ndarray, start: np.ndarray | None = None) -> Flat:
        """The cell placed on an n0 × n1 block of the array from placement `start`."""
        pl = Placement(self.pl.child, (0, 0), 0.0, 1.0, False, self.positions(n, start).astype(np.float64))
        return Flat(self.top, place_polys(self.unit, pl), place_labels(self.unit_labels, pl), self.dbu)

    def steps(self) -> np.ndarray:
        """k along each vector: placements farther than k steps cannot change a finding counted in a site."""
        grid = self.pdk.grid_um
        halo = max([rule_reach(r, grid) + 2 * rule_local(r, grid) for r in self.deck] + [grid]) / self.dbu
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        rho = math.hypot(w, h) / 2 + 2                       # the cell's radius about its centre (dbu)
        reach = halo + 3 * rho + 0.5 * (np.hypot(*self.vec[0]) + np.hypot(*self.vec[1]))
        inv = np.linalg.inv(self.vec.T)                     # lattice coordinates of a vector
        k = np.ceil(0.5 + np.hypot(inv[:, 0], inv[:, 1]) * reach).astype(np.int64)
        return np.minimum(k, self.n)

    def site_of(self, xy: np.ndarray, n: np.ndarray) -> np.ndarray:
        """(m, 2) placement (i, j) whose lattice cell holds each point (dbu) of an n0 × n1 array."""
        centre = (self.box[:2] + self.box[2:]) / 2
        uv = np.linalg.solve(self.vec.T, (xy - centre).T).T
        return np.clip(np.floor(uv + 0.5 + STEP_EPS), 0, n - 1).astype(np.int64)   # a point on a border: the upper cell

    # -- the check --------------------------------------------------------------------------------

    def run(self) -> tuple[list[Violation], list[int], dict] | None:
        """Every violation once per placement class, how many placements each stands for, figures;
        None when the array cannot be checked this way (see the module)."""
        t0 = time.perf_counter()
        if self.box is None:
            return [], [], {"mode": "array", "placements": int(self.n.prod())}
        if any(r.kind not in CONTEXT_LOCAL | CONTEXT_WHOLE | POLYGON_KINDS | {"density"} for r in self.deck):
            return None
        k = self.steps()
        small = np.where(self.n > 2 * k + 1, 2 * k + 1, self.n)
        flat = self.flat(small)
        if self._joined(flat, small):
            return None
        rules = [r for r in self.deck if r.kind != "density"]
        # One small block per end of the array (both ends of each axis longer than the block), at
        # its true place: the low block gives the classes up to k steps from the start (the
        # middle one, k, stands for every placement at least k from both ends), the high block
        # those less than k from the far end. Each finding is reported where it is.
        big = self.n > 2 * k + 1
        total = int(self.n.prod())
        out: list[Violation] = []
        occ: list[int] = []
        self.classes: list[tuple[Violation, np.ndarray, np.ndarray]] = []
        for ends in np.ndindex(*(int(b) + 1 for b in big)):
            high = np.array(ends, bool)
            start = np.where(high, self.n - small, 0)
            found = check_cell(self.flat(small, start), self.pdk, rules)
            site = self.site_of(ref_points([Finding(v.message, v.region, v.edges) for v in found], self.dbu) -
                                np.rint(start @ self.vec).astype(np.int64), small)
            mine = np.where(high, site > k, ~big | (site <= k)).all(axis=1)
            runs = np.where(big & (site == k), self.n - 2 * k, 1)
            for v, s_, run in zip(np.array(found, object)[mine], (site + start)[mine], runs[mine]):
                c = int(run.prod())
                note = f" (in {c} of {total} placements)" if c > 1 else ""
                out.append(Violation(v.rule, self.top, v.message + note, v.region, v.edges))
                occ.append(c)
                self.classes.append((v, s_, run))
        for r in self.deck:
            if r.kind == "density":
                dens = self.density(r)
                if dens is None:
                    return None
                for f, c in dens:
                    out.append(Violation(r.name, self.top, f.message, f.region, f.edges))
                    occ.append(c)
        stats = {"mode": "array", "placements": total, "steps": k.tolist(), "checked_array": small.tolist(),
                 "checked_blocks": 2 ** int(big.sum()), "time_s": round(time.perf_counter() - t0, 4)}
        return out, occ, stats

    def every_placement(self) -> list[Violation]:
        """The violations found by `run` except density, in every placement of their class: what a
        flat check of the whole array reports (messages keep the coordinates of the class's first
        placement; for a small array, to compare)."""
        out = []
        for v, s, run in self.classes:
            i, j = np.meshgrid(s[0] + np.arange(run[0]), s[1] + np.arange(run[1]), indexing="ij")
            for d in np.stack([i.ravel(), j.ravel()], 1) - s:
                out.append(Violation(v.rule, self.top, *move_finding(Finding(v.message, v.region, v.edges), (d @ self.vec) * self.dbu)))
        return out

    def _joined(self, flat: Flat, small: np.ndarray) -> bool:
        """Whether shapes of two placements touch on a layer (merged shapes would cross sites)."""
        per = len(self.unit)
        owner = np.repeat(np.arange(int(small.prod())), per)
        for key in np.unique(flat.polys.key):
            sel = flat.polys.key == key
            g = polygons(take_polys(flat.polys, sel), self.dbu)
            label = touching_groups(g)
            o = owner[sel]
            lo = np.full(label.max() + 1, np.iinfo(np.int64).max)
            hi = np.full(label.max() + 1, -1)
            np.minimum.at(lo, label, o)
            np.maximum.at(hi, label, o)
            if (lo != hi).any():
                return True
        return False

    # -- density ------------------------------------------------------------------------------------

    def density(self, r: Rule) -> list[tuple[Finding, int]] | None:
        """Density windows of the whole array, summed over the lattice (None: not a case handled here)."""
        layer = self.pdk.layer(r.layer)
        cell = CellLayers(Flat(self.top, self.unit, self.unit_labels, self.dbu), self.pdk)
        if cell.mark_area is not None:
            return None
        shapes = cell.merged(r.layer)
        if len(shapes) == 0 or not (self.unit.key == layer_key(*layer.gds)).any():
            return []
        one = len(cell.clusters(r.window))
        block = np.minimum(self.n, 3)
        parts = clusters(poly_bounds(self.flat(block).polys) * self.dbu, r.window)
        if self.vec[0, 1] != 0 or self.vec[1, 0] != 0:
            return None                                      # a skewed lattice
        if len(parts) == one * int(block.prod()):           # every placement apart: the cell's own windows
            return [(f, int(self.n.prod())) for f in run_rule(r, cell)]
        if len(parts) != 1:
            return None                                      # rows or columns joined, not the whole
        corners = np.array([[0.0, 0.0], (self.n[0] - 1) * self.vec[0] + (self.n[1] - 1) * self.vec[1]])
        lo = corners.min(axis=0) + self.box[:2]
        hi = corners.max(axis=0) + self.box[2:]
        extent = tuple(float(v) for v in np.r_[lo, hi] * self.dbu)
        boxes = windows(extent, r.window, r.step)             # type: ignore[arg-type]
        covered = self._covered(shapes.geoms, shapely.bounds(boxes))
        return [(f, 1) for f in density_findings(covered, boxes, r.min, r.max)]

    def _covered(self, geoms: np.ndarray, wb: np.ndarray) -> np.ndarray:
        """Area of the cell's shapes (µm, placed at the origin) in each window, summed over the array.
        Per axis, placements whose cell lies wholly inside the window's span count whole; the cut
        ones (a few columns and rows per edge) are clipped."""
        dbu = self.dbu
        pitch = np.array([self.vec[0, 0], self.vec[1, 1]]) * dbu
        cb = self.box * dbu
        total = float(shapely.area(geoms).sum())
        tree = shapely.STRtree(geoms)
        out = np.zeros(len(wb))
        for w, (x0, y0, x1, y1) in enumerate(wb):
            spans = []
            for a, (s0, s1) in enumerate(((x0, x1), (y0, y1))):
                p, n = pitch[a], int(self.n[a])
                idx_lo, idx_hi = sorted(((s0 - cb[a + 2]) / p, (s1 - cb[a]) / p))
                first, last = max(math.ceil(idx_lo - STEP_EPS), 0), min(math.floor(idx_hi + STEP_EPS), n - 1)
                if last < first:
                    spans = None
                    break
                idx = np.arange(first, last + 1)
                inside = (idx * p + cb[a] >= s0 - LENGTH_EPS_UM) & (idx * p + cb[a + 2] <= s1 + LENGTH_EPS_UM)
                spans.append((idx, inside))
            if spans is None:
                continue
            (ix, fx), (iy, fy) = spans
            area = total * fx.sum() * fy.sum()
            cut_x, cut_y = ix[~fx], iy[~fy]
            clips = [(i, None, fy.sum()) for i in cut_x] + [(None, j, fx.sum()) for j in cut_y] + \
                [(i, j, 1) for i in cut_x for j in cut_y]
            for i, j, times in clips:
                if times == 0:
                    continue
                bx0, bx1 = (x0 - i * pitch[0], x1 - i * pitch[0]) if i is not None else (cb[0] - 1, cb[2] + 1)
                by0, by1 = (y0 - j * pitch[1], y1 - j * pitch[1]) if j is not None else (cb[1] - 1, cb[3] + 1)
                clip = shapely.box(bx0, by0, bx1, by1)
                hit = tree.query(clip, predicate="intersects")
                area += times * float(shapely.area(shapely.intersection(geoms[hit], clip)).sum())
            out[w] = area
        return out


def check_array(layout: Layout, top: str, pdk: Pdk, deck: list[Rule]) -> tuple[list[Violation], list[int], dict] | None:
    """The check of `top` as one regular array (see the module), or None when it is not one."""
    pl = _sole_array(layout, top, pdk)
    if pl is None:
        return None
    return ArrayCheck(layout, top, pdk, deck, pl).run()

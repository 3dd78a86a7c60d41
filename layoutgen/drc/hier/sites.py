"""Reading a top cell's placements: the placed cells' variants, the placements and their sites."""

from __future__ import annotations

import time

import numpy as np
import shapely

from ..cell import poly_bounds, take_polys
from ..geometry import polygons
from ..read import Flat, Placement, Polys, concat_polys, place_polys
from .shapes import Variant


def placed_as_is(s: Placement) -> bool:
    """Whether a placement puts its cell once, as it is, at the parent's origin (a base in an adapted unit)."""
    return (s.rotation == 0.0 and s.magnification == 1.0 and not s.x_reflection and not np.any(s.origin)
            and len(s.offsets) == 1 and not s.offsets.any())


class Sites:
    """The placements and their sites (a part of `HierChecker`, whose `__init__` sets the deck up)."""

    def _variant(self, cell: str, pl: Placement) -> Variant | None:
        flat = self.layout.flatten(cell)
        pos = {int(k): i for i, k in enumerate(self.keys)}
        polys = take_polys(flat.polys, np.isin(flat.polys.key, self.keys))
        if len(polys) == 0:
            return None
        frame = Placement(cell, (0, 0), pl.rotation, pl.magnification, pl.x_reflection, np.zeros((1, 2)))
        if pl.x_reflection or pl.rotation != 0.0 or pl.magnification != 1.0:
            polys = place_polys(polys, frame)
        layer = np.array([pos[int(k)] for k in polys.key], np.int64)
        pb = poly_bounds(polys)
        rule_poly = layer != (self.mark_li if self.mark_li is not None else -1)
        sel = pb[rule_poly] if rule_poly.any() else pb
        bounds = np.array([sel[:, 0].min(), sel[:, 1].min(), sel[:, 2].max(), sel[:, 3].max()], np.int64)
        return Variant(cell, frame, polys, layer, polygons(polys, self.dbu), pb, bounds)

    def read(self) -> None:
        """Placed cells, their variants (orientations), the placements and their sites."""
        t0 = time.perf_counter()
        self._read()
        self.stats["read_s"] = round(time.perf_counter() - t0, 4)

    def _bases(self) -> dict[str, tuple[str, Polys]]:
        """Placed cells made of a base cell that other placed cells place too (as it is, at their
        origin) and a delta of their own: an adapted fan-out unit is the unit less its dies, then
        its dies where they were measured and their WIRE1 bridges. Per such cell: its base, and the
        delta's polygons on the rule layers (cell frame). The base is then checked once as a placed
        cell and each delta as the top's shapes around its placement (in context, like the bus of a
        wafer), not each adapted unit whole. Only a small delta (at most half the base's vertices)
        inside the base's extent: the top's shapes are seen clipped to each window (`hier` limits)."""
        ident: dict[str, list[str]] = {}
        for pl in self.layout.placements(self.top):
            if pl.child not in ident:
                ident[pl.child] = [s.child for s in self.layout.placements(pl.child) if placed_as_is(s)]
        shared: dict[str, int] = {}
        for subs in ident.values():
            for b in set(subs):
                shared[b] = shared.get(b, 0) + 1

        def area(b: str) -> int:
            bb = self.layout.flatten(b).bounds_dbu
            return 0 if bb is None else (bb[2] - bb[0]) * (bb[3] - bb[1])

        out: dict[str, tuple[str, Polys]] = {}
        base_vertices: dict[str, int] = {}
        for cell, subs in ident.items():
            cands = [b for b in set(subs) if shared[b] > 1 and b not in ident]
            if not cands:
                continue
            base = max(sorted(cands), key=area)                 # the base covers the unit; a die at the origin does not
            whole = self._delta(cell, base)
            if whole is None:
                continue
            delta = take_polys(whole, np.isin(whole.key, self.keys))
            fb = self.layout.flatten(base)
            if base not in base_vertices:           # the base's vertices on the rule layers
                base_vertices[base] = int(np.diff(fb.polys.offsets)[np.isin(fb.polys.key, self.keys)].sum())
            # a small delta inside the base's extent (two die variants sharing a frame cell are not a base and deltas)
            if len(delta) and (2 * len(delta.xy) > base_vertices[base] or fb.bounds_dbu is None
                               or (delta.xy.min(axis=0) < fb.bounds_dbu[:2]).any() or (delta.xy.max(axis=0) > fb.bounds_dbu[2:]).any()):
                continue
            out[cell] = (base, delta)
            self.delta_all[cell] = whole
        return out

    def _delta(self, cell: str, base: str) -> Polys | None:
        """Every polygon of `cell` but those of its base (placed as is at its origin), cell frame: the
        flattened cell lists its own polygons, then each placement's in turn, so the base's are one run
        of them (checked; None if not)."""
        pls = self.layout.placements(cell)
        k = next(k for k, s in enumerate(pls) if s.child == base and placed_as_is(s))
        start = len(self.layout.own(cell)[0]) + sum(len(self.layout.flatten(s.child).polys) * len(s.offsets) for s in pls[:k])
        flat, bp = self.layout.flatten(cell).polys, self.layout.flatten(base).polys
        if start + len(bp) > len(flat):
            return None
        end = start + len(bp)
        lo, hi = flat.offsets[start], flat.offsets[end]
        if not np.array_equal(flat.xy[lo:hi], bp.xy) or not np.array_equal(flat.key[start:end], bp.key):
            return None
        return concat_polys([Polys(flat.xy[:lo], flat.offsets[:start + 1], flat.key[:start]),
                             Polys(flat.xy[hi:], flat.offsets[end:] - hi, flat.key[end:])])

    def _read(self) -> None:
        variants: dict[tuple, int] = {}
        self.variants: list[Variant] = []
        var_of, origins = [], []
        self.placed: dict[str, int] = {}
        self.delta_all: dict[str, Polys] = {}     # per cell of `split`: every polygon but its base's, all layers
        self.split = self._bases()
        deltas: list[Polys] = []
        for pl in self.layout.placements(self.top):
            self.placed[pl.child] = self.placed.get(pl.child, 0) + len(pl.offsets)
            if pl.child in self.split:
                base, delta = self.split[pl.child]
                deltas.append(place_polys(delta, pl))
                pl = Placement(base, pl.origin, pl.rotation, pl.magnification, pl.x_reflection, pl.offsets)
                self.placed[base] = self.placed.get(base, 0) + len(pl.offsets)
            k = (pl.child, pl.rotation, pl.magnification, pl.x_reflection)
            if k not in variants:
                v = self._variant(pl.child, pl)
                variants[k] = -1 if v is None else len(self.variants)
                if v is not None:
                    self.variants.append(v)
            if variants[k] < 0:
                continue
            o = np.rint(np.asarray(pl.origin, float) + pl.offsets).astype(np.int64)
            origins.append(o)
            var_of.append(np.full(len(o), variants[k], np.int64))
        self.var_of = np.concatenate(var_of) if var_of else np.zeros(0, np.int64)
        self.origin = np.concatenate(origins) if origins else np.zeros((0, 2), np.int64)
        cap = self.h_max_dbu
        for vi, v in enumerate(self.variants):
            o = self.origin[self.var_of == vi]
            m = np.zeros(4, np.int64)
            for axis in (0, 1):
                u = np.unique(o[:, axis])
                size = v.bounds[axis + 2] - v.bounds[axis]
                gap = int(np.diff(u).min() - size) if len(u) > 1 else None
                if gap is None or gap > 2 * cap:
                    m[axis] = m[axis + 2] = cap
                elif gap >= 0:
                    m[axis], m[axis + 2] = gap // 2, gap - gap // 2
            v.margin = m
        own, labels = self.layout.own(self.top)
        self.delta_polys = concat_polys(deltas)
        self.stats["deltas"] = len(deltas)
        self.top_polys = concat_polys([take_polys(own, np.isin(own.key, self.keys)), self.delta_polys])
        pos = {int(k): i for i, k in enumerate(self.keys)}
        self.top_layer = np.array([pos[int(k)] for k in self.top_polys.key], np.int64)
        self.top_geoms = polygons(self.top_polys, self.dbu)
        self.own_flat = Flat(self.top, own, labels, self.dbu)
        sites = np.array([v.site for v in self.variants]).reshape(-1, 4)
        self.site_rel = sites[self.var_of].copy()
        self._extend_sites()

    def _extend_sites(self) -> None:
        """Grow each site, on every side where no other site adjoins it, by the halo of the layers
        the top draws: where a placement's shapes meet the top's at the edge of an array (the
        plating bus in the outer lanes), they are checked with the placement's type, and the rest
        of the plane only holds the top's shapes."""
        drawn = np.unique(self.top_layer[self.top_layer != (self.mark_li if self.mark_li is not None else -1)])
        e = int(self.halo_dbu[drawn].max()) if len(drawn) else 0
        lo, hi = self.origin + self.site_rel[:, :2], self.origin + self.site_rel[:, 2:]
        n = len(self.origin)
        if e and n:
            tree = shapely.STRtree(shapely.box(*(np.c_[lo, hi] * self.dbu).T))
            grow = np.zeros((n, 4), np.int64)
            for side, (ax, sign) in enumerate(((0, -1), (1, -1), (0, 1), (1, 1))):
                a0, a1 = lo.copy(), hi.copy()
                other = 1 - ax
                a0[:, other] += 1
                a1[:, other] -= 1
                if sign < 0:
                    a0[:, ax], a1[:, ax] = lo[:, ax] - 2 * e, lo[:, ax]
                else:
                    a0[:, ax], a1[:, ax] = hi[:, ax], hi[:, ax] + 2 * e
                qi, qj = tree.query(shapely.box(*(np.c_[a0, a1] * self.dbu).T), predicate="intersects")
                blocked = np.zeros(n, bool)
                blocked[qi[qi != qj]] = True
                grow[~blocked, side] = e
            self.site_rel += grow * np.array([-1, -1, 1, 1])
        self.site_lo = self.origin + self.site_rel[:, :2]
        self.site_hi = self.origin + self.site_rel[:, 2:]

"""Placement types and band types: one band of each type checked in context, its findings counted for all like it."""

from __future__ import annotations

import numpy as np
import shapely

from ..geometry import translate
from ..merge import move_finding
from ..violation import Finding, Violation
from .context import Context, run_scenes
from .markers import in_zone, match, ref_points
from .shapes import EMPTY_LAYER, LayerShapes, polys_of


def unique_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`np.unique(table, axis=0, return_index=True, return_inverse=True)` of a 2-D integer table
    (the distinct rows in the same order, each one's first row, each row's label), from one stable
    lexsort of the columns: unique's sort of whole rows is several times slower."""
    n = len(table)
    if n == 0:
        return table[:0], np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(table.T[::-1])
    st = table[order]
    new = np.r_[True, (st[1:] != st[:-1]).any(axis=1)]
    inv = np.empty(n, np.int64)
    inv[order] = np.cumsum(new) - 1
    return st[new], order[new], inv


_HASH = np.random.default_rng(0x51E5).integers(1, 2**63, size=1025, dtype=np.uint64) | np.uint64(1)


class Runs:
    """Per placement, its run of a sorted array (`starts`: where each run starts), where `keep` is set if given."""

    def __init__(self, values: np.ndarray, starts: np.ndarray, keep: np.ndarray | None = None) -> None:
        self.values, self.starts, self.keep = values, starts, keep

    def __getitem__(self, i: int) -> np.ndarray:
        a, b = self.starts[i], self.starts[i + 1]
        return self.values[a:b] if self.keep is None else self.values[a:b][self.keep[a:b]]


class Types:
    """Placement and band types and their checks (a part of `HierChecker`)."""

    def classify(self) -> list[np.ndarray]:
        """Placement types: instances with the same cell variant, the same top shapes around
        their site, and the same neighbours. Returns the instances of each type."""
        from ...wafer.checks import site_types

        n = len(self.origin)
        dbu = self.dbu
        h = self.h_max_dbu
        boxes = shapely.box(*(np.c_[self.site_lo, self.site_hi] * dbu).T)
        self.site_tree = shapely.STRtree(boxes)
        qi, qj = self.site_tree.query(shapely.box(*(np.c_[self.site_lo - h, self.site_hi + h] * dbu).T), predicate="intersects")
        keep = qi != qj
        qi, qj = qi[keep], qj[keep]
        lo, hi = self.site_lo, self.site_hi
        overlap = ((lo[qj] < hi[qi]) & (lo[qi] < hi[qj])).all(axis=1) & (qj < qi)
        d = self.origin[qj] - self.origin[qi]
        rows = np.c_[self.var_of[qj], d, overlap.astype(np.int64)]
        order = np.lexsort((rows[:, 3], rows[:, 2], rows[:, 1], rows[:, 0], qi))
        qi, qj, rows = qi[order], qj[order], np.ascontiguousarray(rows[order])
        starts = np.searchsorted(qi, np.arange(n + 1))
        self.neighbours = Runs(qj, starts)
        self.overlapping = Runs(qj, starts, rows[:, 3] == 1)
        # each placement's neighbours (their sorted rows) as one row of distinct-row numbers, -1 beyond its count
        nb_key = np.full((n, int(np.diff(starts).max()) if len(qi) else 0), -1, np.int64)
        if len(qi):
            nb_key[qi, np.arange(len(qi)) - starts[qi]] = unique_rows(rows)[2]
        # the top's shapes around each site, per layer, in the site's frame (the plating check's classification)
        codes = np.zeros((n, len(self.names)), np.int64)
        self.patterns: dict[tuple[int, int], list] = {}
        shape_key = np.c_[self.var_of, self.site_rel]
        groups, _, self.site_group = unique_rows(shape_key)
        # per layer, the top's shapes that reach a site grown by the layer's halo (the contact ring mostly
        # does not): one query of every site, split by site group below
        reach: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for li in range(len(self.names)):
            sel = np.flatnonzero(self.top_layer == li)
            if not len(sel):
                continue
            g = self.halo_dbu[li]
            grown = np.c_[self.origin + self.site_rel[:, :2] - g, self.origin + self.site_rel[:, 2:] + g]
            hit, at = shapely.STRtree(shapely.box(*(grown * dbu).T)).query(self.top_geoms[sel], predicate="intersects")
            reach[li] = (sel, hit, at)
        for gi, row in enumerate(groups):
            mine = np.flatnonzero(self.site_group == gi)
            for li, (sel, hit, at) in reach.items():
                g = self.halo_dbu[li]
                rel = row[1:] + np.r_[-g, -g, g, g]
                ours = self.site_group[at] == gi
                hit, at = hit[ours], np.searchsorted(mine, at[ours])
                if not len(hit):
                    continue
                # sites whose hits are the same top polygons at the same place relative to their origin get the
                # same code (exactly: the same clipped parts): the classification sees one of each
                rep, like = self._alike_sites(sel[hit], at, mine)
                keep = like[at] == at
                hit, at = hit[keep], np.searchsorted(rep, at[keep])
                used, which = np.unique(hit, return_inverse=True)
                sel = sel[used]
                site = shapely.box(*(rel * dbu))
                c, pats = site_types(list(self.top_geoms[sel]), site, self.origin[mine[rep]] * dbu, dbu, hits=(at, which.ravel()))
                codes[mine, li] = c[np.searchsorted(rep, like)]
                self.patterns[(gi, li)] = [LayerShapes.of(polys_of(np.asarray(p, dtype=object), int(self.keys[li]), dbu), dbu)
                                           if len(p) else EMPTY_LAYER for p in pats]
        self.type_codes = codes
        # types: placements alike in site group, the top's shapes around them and neighbours, in order of first placement
        _, first, inv = unique_rows(np.c_[self.site_group, codes, nb_key])
        rank = np.empty(len(first), np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        of = rank[inv.reshape(-1)]
        return np.split(np.argsort(of, kind="stable"), np.cumsum(np.bincount(of, minlength=len(first)))[:-1])

    def _alike_sites(self, polys: np.ndarray, at: np.ndarray, mine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sites (`mine`) hit by the same top polygons (`polys`: hit by site `at`, an index into `mine`)
        in integer coordinates relative to their origins: the first site of each kind (sorted) and,
        per site, the first site like it. Vertices are hashed, sites with equal hashes compared whole."""
        n = len(mine)
        like = np.arange(n)
        if len(polys) < 2:
            return like, like
        xy, off = self.top_polys.xy, self.top_polys.offsets
        cnt = off[polys + 1] - off[polys]
        start = np.repeat(off[polys] - np.r_[0, np.cumsum(cnt)[:-1]], cnt)
        rel = xy[start + np.arange(int(cnt.sum()))] - np.repeat(self.origin[mine[at]], cnt, axis=0)
        k = np.arange(len(rel)) - np.repeat(np.r_[0, np.cumsum(cnt)[:-1]], cnt)
        mult = _HASH[(2 * k) % len(_HASH)], _HASH[(2 * k + 1) % len(_HASH)]
        with np.errstate(over="ignore"):
            v = rel[:, 0].astype(np.uint64) * mult[0] + rel[:, 1].astype(np.uint64) * mult[1]
            h = np.add.reduceat(v, np.r_[0, np.cumsum(cnt)[:-1]]) + cnt.astype(np.uint64) * _HASH[-1]
        order = np.lexsort((h, at))               # each site's hits by hash
        at_o, h_o = at[order], h[order]
        first = np.searchsorted(at_o, np.arange(n + 1))
        vstart = np.r_[0, np.cumsum(cnt)]
        kinds: dict[bytes, list[int]] = {}
        for m in range(n):
            a, b = first[m], first[m + 1]
            key = h_o[a:b].tobytes()
            for r in kinds.setdefault(key, []):
                ra, rb = first[r], first[r + 1]
                if all(np.array_equal(rel[vstart[order[p]]:vstart[order[p] + 1]], rel[vstart[order[q]]:vstart[order[q] + 1]])
                       for p, q in zip(range(a, b), range(ra, rb))):
                    like[m] = r
                    break
            else:
                kinds[key].append(m)
        return np.unique(like), like

    def bands(self, site: np.ndarray, base: np.ndarray) -> list[np.ndarray]:
        """A site cut into bands (placement frame, database units, half-open): along each axis the
        two outer strips (the halo's width inside the cell's own site `base`, plus what the site
        was grown by) and the middle, when the site is wide enough. Shapes of neighbours and of
        the top near one side of a site meet the placement in the bands of that side only, so
        the bands of an inner placement and of one at the edge of an array are mostly alike."""
        h = self.h_max_dbu
        cuts = []
        for ax in (0, 1):
            lo, hi = int(site[ax]), int(site[ax + 2])
            blo, bhi = int(base[ax]), int(base[ax + 2])
            cuts.append([lo, blo + h, bhi - h, hi] if bhi - blo > 2 * h else [lo, hi])
        return [np.array([x0, y0, x1, y1], np.int64) for x0, x1 in zip(cuts[0][:-1], cuts[0][1:])
                for y0, y1 in zip(cuts[1][:-1], cuts[1][1:])]

    def _band_top(self, gi: int, li: int, code: int, band: np.ndarray) -> tuple[int, LayerShapes]:
        """The top's shapes on layer `li` around a band (the site pattern `code` clipped to the band
        grown by the layer's halo): a code for comparing, and the shapes."""
        key = (gi, li, code, band.tobytes())
        if key not in self._band_pat:
            pat = self.patterns[(gi, li)][code]
            g = self.halo_dbu[li]
            x0, y0, x1, y1 = (band + np.r_[-g, -g, g, g]) * self.dbu
            parts = shapely.get_parts(shapely.clip_by_rect(pat.geoms, x0, y0, x1, y1)) if len(pat) else np.empty(0, object)
            parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > self.dbu ** 2)] if len(parts) else parts
            wkb = tuple(sorted(shapely.to_wkb(shapely.normalize(parts)).tolist())) if len(parts) else ()
            c = self._pat_code.setdefault((li, wkb), len(self._pat_code))
            shapes = LayerShapes.of(polys_of(parts, int(self.keys[li]), self.dbu), self.dbu) if len(parts) else EMPTY_LAYER
            self._band_pat[key] = (c, shapes)
        return self._band_pat[key]

    def band_types(self, types: list[np.ndarray]) -> list[tuple[int, np.ndarray, int, dict, np.ndarray]]:
        """Band types: (placement, band, how many placements have a band like it, the top's shapes
        around it by layer, the neighbours near it), from one placement of each site type."""
        self._band_pat: dict[tuple, tuple[int, LayerShapes]] = {}
        self._pat_code: dict[tuple, int] = {}
        out: dict[tuple, list] = {}
        h = self.h_max_dbu
        for members in types:
            i = int(members[0])
            gi = int(self.site_group[i])
            nbs = self.neighbours[i]
            jlo, jhi = self.site_lo[nbs] - self.origin[i], self.site_hi[nbs] - self.origin[i]
            rows = np.c_[self.var_of[nbs], self.origin[nbs] - self.origin[i], np.isin(nbs, self.overlapping[i])].astype(np.int64)
            for band in self.bands(self.site_rel[i], self.variants[int(self.var_of[i])].site):
                codes, top = [], {}
                for li in range(len(self.names)):
                    if (gi, li) not in self.patterns:
                        continue
                    c, shapes = self._band_top(gi, li, int(self.type_codes[i, li]), band)
                    codes.append(c)
                    if len(shapes):
                        top[li] = shapes
                near = ((jlo < band[2:] + h) & (band[:2] - h < jhi)).all(axis=1)
                key = (int(self.var_of[i]), band.tobytes(), tuple(codes), rows[near].tobytes())
                if key in out:
                    out[key][2] += len(members)
                else:
                    out[key] = [i, band, len(members), top, nbs[near]]
        return [tuple(v) for v in out.values()]

    def band_context(self, i: int, band: np.ndarray, top: dict[int, LayerShapes], nbs: np.ndarray) -> Context:
        """A band of placement `i` in its frame, with the neighbours near it and the top's shapes around it."""
        vi = int(self.var_of[i])
        sources = [(vi, np.zeros(2, np.int64))] + [(int(self.var_of[j]), self.origin[j] - self.origin[i]) for j in nbs]
        pairs = [(-1, s) for s in range(len(sources))] + [(0, s) for s in range(1, len(sources))]
        if len(nbs) > 1:   # neighbours meeting each other near this band
            lo, hi = self.site_lo[nbs], self.site_hi[nbs]
            g = self.h_max_dbu
            for a in range(len(nbs)):
                close = ((lo[a] - g <= hi) & (lo <= hi[a] + g)).all(axis=1)
                pairs += [(a + 1, b + 1) for b in np.flatnonzero(close) if b > a]
        return Context(self, top, sources, pairs, shapely.box(*(band * self.dbu)))

    def check_types(self, types: list[np.ndarray]) -> list[tuple[Violation, int]]:
        """Each band type checked in context once: its new findings reported once with the number
        of placements like it, the cell's findings in the band confirmed for those placements."""
        new: list[tuple[Violation, int]] = []
        active = 0
        bts = self.band_types(types)
        # every band type's scene checked at once, rule by rule (`context.run_scenes`)
        scenes = run_scenes(self, [self.band_context(i, band, top, nbs) for i, band, _, top, nbs in bts], self.top)
        for (i, band, m, top, nbs), ctx in zip(bts, scenes):
            vi = int(self.var_of[i])
            v = self.variants[vi]
            occ = self.cell_occ[v.cell]
            active += bool(ctx)
            confirmed = np.zeros(len(occ), bool)
            for rname in set(self.var_found[vi]) | set(ctx):
                ks, fs, refs = self.var_found[vi].get(rname, (np.zeros(0, np.int64), [], np.zeros((0, 2), np.int64)))
                mine = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1)    # counted in this band
                if rname not in ctx:
                    confirmed[ks[mine]] = True
                    continue
                window, zone = ctx[rname]
                zin = in_zone(fs, zone, self.local[rname])
                confirmed[ks[mine & ~zin]] = True
                # The context's findings that are a placed cell's own (this placement's, any band; or a
                # neighbour's, which its own bands count) are not new; this band's own stay.
                near = np.flatnonzero(zin)
                others, rank = self._neighbour_findings(nbs, i, rname, zone)
                rank = np.r_[np.full(len(near), i), rank]
                mc, mw = match([fs[k] for k in near] + others, window, self.local[rname], rank)
                confirmed[ks[near[mc[:len(near)] & mine[near]]]] = True
                ctx[rname] = ([f for f, k in zip(window, mw) if not k], zone)
            occ[confirmed] += m
            self._exempt_grid(i, band, top, nbs, m)
            for rname, (window, _) in ctx.items():
                if not window:
                    continue
                own = self._owned_by(i, band, ref_points(window, self.dbu))
                shift = self.origin[i] * self.dbu
                for f, ok in zip(window, own):
                    if not ok:
                        continue
                    g = move_finding(f, shift)
                    more = f" (and at {m - 1} more placements of {v.cell} like this one)" if m > 1 else ""
                    new.append((Violation(rname, self.top, g.message + more, g.region, g.edges), m))
        self.stats.update(types=len(types), band_types=len(bts), band_types_in_context=active)
        return new

    def _exempt_grid(self, i: int, band: np.ndarray, top: dict[int, LayerShapes], nbs: np.ndarray, m: int) -> None:
        """Grid findings of the placement in this band that a MARK area of another source (the top, a
        neighbour) covers are exempt at the `m` placements of the band type."""
        if self.mark_li is None:
            return
        ks, regions, refs = self.var_grid[int(self.var_of[i])]
        mine = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1) if len(ks) else np.zeros(0, bool)
        if not mine.any():
            return
        marks = [top[self.mark_li].geoms] if self.mark_li in top else []
        for j in nbs:
            g = self.variants[int(self.var_of[j])].on(self.mark_li).geoms
            if len(g):
                marks.append(translate(g, np.tile((self.origin[j] - self.origin[i]) * self.dbu, (len(g), 1))))
        if not marks:
            return
        area = shapely.union_all(np.concatenate(marks))
        cell = self.variants[int(self.var_of[i])].cell
        covered = shapely.covered_by(regions[mine], area)
        self.cell_exempt[cell][ks[mine][covered]] += m

    def _neighbour_findings(self, nbs: np.ndarray, i: int, rname: str, zone: np.ndarray) -> tuple[list[Finding], np.ndarray]:
        """The cell findings of rule `rname` of the placements `nbs`, in placement `i`'s frame, near
        the zone, and the placement of each."""
        out: list[Finding] = []
        rank: list[int] = []
        for j in nbs:
            got = self.var_found[int(self.var_of[j])].get(rname)
            if got is None:
                continue
            d = (self.origin[j] - self.origin[i]) * self.dbu
            moved = [move_finding(f, d) for f in got[1]]
            near = [f for f, k in zip(moved, in_zone(moved, zone, self.local[rname])) if k]
            out += near
            rank += [int(j)] * len(near)
        return out, np.array(rank, np.int64)

    def _owned_by(self, i: int, band: np.ndarray, refs: np.ndarray) -> np.ndarray:
        """Whether each reference point (database units, frame of placement `i`) is in the band
        and in no overlapping site of an earlier placement."""
        ok = ((refs >= band[:2]) & (refs < band[2:])).all(axis=1)
        for j in self.overlapping[i]:
            jlo = self.site_lo[j] - self.origin[i]
            jhi = self.site_hi[j] - self.origin[i]
            ok &= ~((refs >= jlo) & (refs < jhi)).all(axis=1)
        return ok

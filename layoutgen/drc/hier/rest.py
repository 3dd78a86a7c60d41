"""The rest of the plane: the top's shapes outside every site, checked in tiles with the placements near them."""

from __future__ import annotations

import numpy as np
import shapely

from ..cell import poly_bounds
from ..merge import move_finding
from ..violation import Violation
from .context import Context, run_scenes
from .markers import match, ref_points
from .shapes import LayerShapes, polys_of, union_boxes

REST_TILE_VERTICES = 1_000 # the rest (outside every site) is checked in tiles of about this many top vertices


class Rest:
    """The top's shapes outside every site (a part of `HierChecker`)."""

    def rest_contexts(self) -> list[tuple[Context, np.ndarray]]:
        """The top's shapes outside every site (clipped to that region grown by each layer's halo)
        and the placements whose site is near it (top frame), cut into tiles (each with its box,
        database units, half-open) so that merged top shapes (contact ring, fill, bus) stay small."""
        dbu = self.dbu
        n = len(self.origin)
        sites = union_boxes(self.site_lo, self.site_hi, dbu) if n else shapely.Polygon()
        ext = [] if sites.is_empty else [shapely.bounds(sites)]
        if len(self.top_geoms):
            b = shapely.bounds(self.top_geoms)
            b = b[~np.isnan(b).any(axis=1)]          # zero-area polygons read as empty: no extent
            if len(b):
                ext.append([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])
        if not ext:
            return []
        e = np.array(ext)
        frame = shapely.box(e[:, 0].min(), e[:, 1].min(), e[:, 2].max(), e[:, 3].max()).buffer(2 * self.h_max, join_style="mitre")
        rest = frame.difference(sites)
        if rest.is_empty:
            return []
        top: dict[int, np.ndarray] = {}
        tb = poly_bounds(self.top_polys)
        for li in range(len(self.names)):
            sel = np.flatnonzero(self.top_layer == li)
            if n and len(sel):
                # a shape whose extent, grown by the layer's halo (and a unit), lies inside one site is farther
                # than the halo from the rest (the rest grown by it, mitred, stays within that square reach): left out
                h = self.halo_dbu[li] + 1
                deep = np.unique(self.site_tree.query(shapely.box(*(np.c_[tb[sel, :2] - h, tb[sel, 2:] + h] * dbu).T),
                                                      predicate="within")[0])
                sel = np.delete(sel, deep)
            if not len(sel):
                continue
            grown = rest.buffer(self.halo_dbu[li] * dbu, join_style="mitre")
            shapely.prepare(grown)
            g = self.top_geoms[sel]
            inside = shapely.covered_by(g, grown)
            parts = list(g[inside])
            cut = np.flatnonzero(~inside & shapely.intersects(g, grown))
            if len(cut):
                parts += [p for p in shapely.get_parts(shapely.intersection(g[cut], grown))
                          if shapely.get_type_id(p) == 3 and p.area > dbu * dbu]
            if parts:
                top[li] = np.asarray(parts, dtype=object)
        if n:
            shapely.prepare(sites)
            h2 = 2 * self.h_max_dbu
            grown_sites = shapely.box(*(np.c_[self.site_lo - h2, self.site_hi + h2] * dbu).T)
            border = np.flatnonzero(~shapely.covered_by(grown_sites, sites))
        else:
            border = np.zeros(0, np.int64)
        self.stats["border_placements"] = int(len(border))
        # tiles: about REST_TILE_VERTICES top vertices each
        verts = sum(int(shapely.get_num_coordinates(g).sum()) for g in top.values())
        k = int(min(16, max(1, np.ceil(np.sqrt(verts / REST_TILE_VERTICES)))))
        fx0, fy0, fx1, fy1 = np.rint(np.asarray(frame.bounds) / dbu).astype(np.int64)
        xs = np.linspace(fx0, fx1 + 1, k + 1).round().astype(np.int64)
        ys = np.linspace(fy0, fy1 + 1, k + 1).round().astype(np.int64)
        g = self.h_max_dbu
        out = []
        for x0, x1 in zip(xs[:-1], xs[1:]):
            for y0, y1 in zip(ys[:-1], ys[1:]):
                tile = np.array([x0, y0, x1, y1], np.int64)
                region = rest.intersection(shapely.box(*(tile * dbu)))
                if region.is_empty:
                    continue
                tops = {}
                for li, geoms in top.items():
                    h = self.halo_dbu[li]
                    bx = (tile + np.r_[-h, -h, h, h]) * dbu
                    parts = shapely.get_parts(shapely.clip_by_rect(geoms, *bx))
                    parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > dbu * dbu)]
                    if len(parts):
                        tops[li] = LayerShapes.of(polys_of(parts, int(self.keys[li]), dbu), dbu)
                near = region.buffer(self.h_max, join_style="mitre")
                shapely.prepare(near)
                mine = border[((self.site_lo[border] - g <= tile[2:] + g) & (tile[:2] - g <= self.site_hi[border] + g)).all(axis=1)]
                sources = [(int(self.var_of[i]), self.origin[i]) for i in mine]
                pos = {int(i): q for q, i in enumerate(mine)}
                # the top meets the placements inside their (grown) sites; here only placements across the rest:
                # each pair of border placements whose sites, grown, overlap near the rest (one test for all)
                qa, jb = [], []
                for q, i in enumerate(mine.tolist()):
                    js = [int(j) for j in self.neighbours[i] if int(j) in pos and pos[int(j)] > q]
                    qa += [q] * len(js)
                    jb += js
                pairs = []
                if qa:
                    ia, jb_ = mine[np.array(qa, np.int64)], np.array(jb, np.int64)
                    lo = np.maximum(self.site_lo[jb_], self.site_lo[ia]) - g
                    hi = np.minimum(self.site_hi[jb_], self.site_hi[ia]) + g
                    meet = shapely.intersects(near, shapely.box(*(np.c_[lo, hi] * dbu).T))
                    pairs = [(q, pos[j]) for q, j, m in zip(qa, jb, meet.tolist()) if m]
                if not tops and not pairs:
                    continue
                out.append((Context(self, tops, sources, pairs, region, with_top=False), tile))
        self.stats["rest_tiles"] = len(out)
        return out

    def check_rest(self) -> list[tuple[Violation, int]]:
        """The top's shapes outside every site with the placements' shapes near them, once, tile by tile."""
        out = []
        tiles = self.rest_contexts()
        for (ctx, tile), scene in zip(tiles, run_scenes(self, [c for c, _ in tiles], self.top)):
            for rname, (found, _) in scene.items():
                if not found:
                    continue
                own = []                       # the placements' own findings seen here are theirs
                for vi, d in ctx.sources:
                    got = self.var_found[vi].get(rname)
                    if got is not None:
                        own += [move_finding(f, d * self.dbu) for f in got[1]]
                _, seen = match(own, found, self.local[rname])
                found = [f for f, k in zip(found, seen) if not k]
                if not found:
                    continue
                refs = ref_points(found, self.dbu)
                keep = ((refs >= tile[:2]) & (refs < tile[2:])).all(axis=1)
                if len(self.origin):
                    pi, si = self.site_tree.query(shapely.points(refs * self.dbu), predicate="intersects")
                    inside = ((refs[pi] >= self.site_lo[si]) & (refs[pi] < self.site_hi[si])).all(axis=1)
                    keep[pi[inside]] = False
                out += [(Violation(rname, self.top, f.message, f.region, f.edges), 1) for f, k in zip(found, keep) if k]
        return out

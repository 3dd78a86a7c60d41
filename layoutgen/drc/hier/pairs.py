"""Which shapes of two sources (placed cells, the top) come within a rule's distance of each other."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from ..geometry import EPS_UM, translate
from .shapes import Variant, contacts

if TYPE_CHECKING:
    from .context import Context


class Pairs:
    """Shape pairs across sources, memoised (a part of `HierChecker`)."""

    def var_var(self, vs: int, vt: int, dlt: np.ndarray) -> tuple[np.ndarray, ...]:
        """Shapes of variant `vs` within a rule's distance of those of variant `vt` placed at `dlt`
        (database units) from it: their indices, layers, distance and contacts in `vs`'s frame (memoised)."""
        key = (vs, vt, int(dlt[0]), int(dlt[1]))
        if key not in self._vv:
            v, w = self.variants[vs], self.variants[vt]
            g = int(np.ceil(self.d_all / self.dbu)) + 1
            bb = v.bounds
            pb = w.pbounds + np.r_[dlt, dlt]
            cand = np.flatnonzero((pb[:, 0] <= bb[2] + g) & (pb[:, 2] >= bb[0] - g) & (pb[:, 1] <= bb[3] + g) & (pb[:, 3] >= bb[1] - g))
            moved = translate(w.geoms[cand], np.tile(dlt * self.dbu, (len(cand), 1))) if len(cand) else np.empty(0, object)
            self._vv[key] = self._pairs(v.geoms, v.layer, moved, w.layer[cand], cand, v.tree)
        return self._vv[key]

    def top_var(self, ctx: Context, v: Variant, dt: np.ndarray) -> tuple[np.ndarray, ...]:
        """The scene's top shapes within a rule's distance of variant `v`'s shapes placed at `dt`:
        top index (within its layer), variant index, layers, distance, contacts (frame); memoised
        (the top's shapes around a band recur across band types)."""
        key = (tuple(id(ls) for _, ls in sorted(ctx.top.items())), id(v), int(dt[0]), int(dt[1]))
        if key in self._tv:
            return self._tv[key][1]
        tg, tl, tidx, tree = ctx.top_all
        out = (np.zeros(0, np.int64),) * 2 + (np.zeros(0, np.int64),) * 2 + (np.zeros(0), np.empty(0, object))
        if tree is not None:
            bb = (np.r_[v.bounds[:2] + dt, v.bounds[2:] + dt]) * self.dbu
            dd = self.d_all
            cand = tree.query(shapely.box(bb[0] - dd, bb[1] - dd, bb[2] + dd, bb[3] + dd))
            if len(cand):
                shift = dt * self.dbu
                moved = translate(tg[cand], np.tile(-shift, (len(cand), 1))) if dt.any() else tg[cand]
                gv, gt, lv, lt, dist, c = self._pairs(v.geoms, v.layer, moved, tl[cand], cand, v.tree)
                if dt.any() and len(c):
                    c = translate(c, np.tile(shift, (len(c), 1)))
                out = (tidx[gt], gv, lt, lv, dist, c)
        self._tv[key] = (ctx.top, out)      # keeps the top shapes alive, so their ids stay theirs
        return out

    def _pairs(self, ga: np.ndarray, la: np.ndarray, gb: np.ndarray, lb: np.ndarray, ib: np.ndarray,
               tree: shapely.STRtree) -> tuple[np.ndarray, ...]:
        """Pairs of shapes `ga` (layers `la`, in `tree`) and `gb` (layers `lb`, indices `ib`) within
        the distance a rule gives their layers: indices, layers, distance, contacts."""
        none = (np.zeros(0, np.int64),) * 4 + (np.zeros(0), np.empty(0, object))
        if not len(gb):
            return none
        js, is_ = [], []
        for lay in np.unique(lb):          # each layer of `gb` as far as its rules reach
            d = float(self.d_pair[:, lay].max())
            if d < 0:
                continue
            sel = np.flatnonzero(lb == lay)
            jj, ii = tree.query(gb[sel], predicate="dwithin", distance=d)
            js.append(sel[jj])
            is_.append(ii)
        if not js or not sum(len(x) for x in js):
            return none
        j, i = np.concatenate(js), np.concatenate(is_)
        lim = self.d_pair[la[i], lb[j]]
        keep = lim >= 0
        i, j, lim = i[keep], j[keep], lim[keep]
        dist = shapely.distance(ga[i], gb[j])
        keep = dist <= lim + EPS_UM
        i, j, dist = i[keep], j[keep], dist[keep]
        return i, ib[j], la[i], lb[j], dist, contacts(ga[i], gb[j])

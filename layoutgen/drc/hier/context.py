"""A scene: shapes of several sources (the top, placed cells) in one frame, checked where they meet."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import shapely

from ...pdk import Rule
from ..cell import CellLayers, run_rule, take_polys
from ..geometry import EPS_UM, translate
from ..read import Flat, Labels, Polys, concat_polys
from ..violation import Finding
from .markers import in_zone, marker_geoms
from .rules import CONTEXT_WHOLE, rule_layers
from .shapes import LayerShapes, Variant, shift_polys

if TYPE_CHECKING:
    from .checker import HierChecker


class Context:
    """Shapes of several sources in one frame, checked where they meet: the top's shapes (source
    -1, given per layer in the frame) and placed cells (variant, offset of its frame in database
    units). `pairs` are the source pairs to look at; `region` (frame, µm) is what the scene is
    checked for: only meetings within a rule's halo of it count. `with_top`: the placements'
    shapes near the top's are gathered too (in a type's scene; not in the rest, where the top
    meets no placement: that happens inside the grown sites)."""

    def __init__(self, chk: "HierChecker", top: dict[int, LayerShapes], sources: list[tuple[int, np.ndarray]],
                 pairs: list[tuple[int, int]], region: shapely.Geometry, with_top: bool = True) -> None:
        self.chk, self.top, self.sources, self.pairs = chk, top, sources, pairs
        self.region = region
        self.with_top = with_top     # gather the placements' shapes near the top's too (not in the rest)
        self._near: dict[float, shapely.Geometry] = {}
        self._table: dict[str, np.ndarray] | None = None
        self._top_all: tuple | None = None
        self._layers: set[int] = set(top)
        for vi, _ in sources:
            self._layers |= set(np.unique(chk.variants[vi].layer).tolist())

    def _var(self, s: int) -> tuple[Variant, np.ndarray]:
        vi, d = self.sources[s]
        return self.chk.variants[vi], d

    def near(self, dist: float) -> shapely.Geometry:
        """The region grown by `dist` (µm), prepared (a box, as a band is, grown as a box: what the
        mitred buffer gives, without its cost)."""
        if dist not in self._near:
            r = self.region
            if r.geom_type == "Polygon" and dist == 0:
                g = r
            elif r.geom_type == "Polygon" and shapely.get_num_coordinates(r) == 5 and r.area == r.envelope.area:
                x0, y0, x1, y1 = r.bounds
                g = shapely.box(x0 - dist, y0 - dist, x1 + dist, y1 + dist)
            else:
                g = r.buffer(dist, join_style="mitre")
            shapely.prepare(g)
            self._near[dist] = g
        return self._near[dist]

    @property
    def table(self) -> dict[str, np.ndarray]:
        """Every pair of shapes of different sources (of `pairs`) within the largest distance a
        rule of the deck gives their two layers: sources, layers, indices within their layers,
        distance, and where they meet (frame, µm)."""
        if self._table is None:
            cols: dict[str, list[np.ndarray]] = {k: [] for k in ("s", "t", "la", "lb", "ia", "ib", "dist", "contact")}
            for s, t in self.pairs:
                if s < 0:
                    v, dt = self._var(t)
                    ia, gb, la, lb, dist, c = self.chk.top_var(self, v, dt)
                    ib = v.pos[gb]
                else:
                    (v, ds), (w, dt) = self._var(s), self._var(t)
                    ga, gb, la, lb, dist, c = self.chk.var_var(int(self.sources[s][0]), int(self.sources[t][0]), dt - ds)
                    ia, ib = v.pos[ga], w.pos[gb]
                    if ds.any() and len(c):
                        c = translate(c, np.tile(ds * self.chk.dbu, (len(c), 1)))
                if not len(c):
                    continue
                for k, x in zip(cols, (np.full(len(c), s), np.full(len(c), t), la, lb, ia, ib, dist, c)):
                    cols[k].append(x)
            empty = {"contact": object, "dist": float}
            self._table = {k: (np.concatenate(x) if x else np.zeros(0, empty.get(k, np.int64))) for k, x in cols.items()}
        return self._table

    @property
    def top_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, shapely.STRtree | None]:
        """The top's shapes of every layer together: shapes, layer, index within the layer, tree."""
        if self._top_all is None:
            items = [(li, ls) for li, ls in sorted(self.top.items()) if len(ls)]
            if items:
                g = np.concatenate([ls.geoms for _, ls in items])
                lay = np.concatenate([np.full(len(ls), li) for li, ls in items])
                idx = np.concatenate([np.arange(len(ls)) for _, ls in items])
                self._top_all = (g, lay, idx, shapely.STRtree(g))
            else:
                self._top_all = (np.empty(0, object), np.zeros(0, np.int64), np.zeros(0, np.int64), None)
        return self._top_all

    def findings(self, name: str) -> dict[str, tuple[list[Finding], np.ndarray]]:
        """Per rule whose shapes meet across sources here (or that the top draws): its findings
        near where they meet (and near the top's shapes), and that zone (frame, µm)."""
        return run_scenes(self.chk, [self], name)[0]

    def scene(self) -> tuple[dict[str, tuple[Rule, list[int], np.ndarray, np.ndarray]], Polys] | None:
        """The rules whose shapes meet across sources here (or that the top draws), each with its
        layers, zone and the part of it shapes are gathered around, and the shapes gathered for
        them (frame, database units); None when no rule's shapes meet here."""
        chk = self.chk
        active: dict[str, tuple[Rule, list[int], np.ndarray, np.ndarray]] = {}
        seen: dict[tuple, tuple[np.ndarray, np.ndarray, dict] | None] = {}
        tb = self.table
        met = set(zip(tb["la"].tolist(), tb["lb"].tolist()))   # the layer pairs whose shapes meet across sources
        for r in chk.context:
            lis = [chk.li[n] for n in rule_layers(r) if chk.li[n] in self._layers]
            if not lis:
                continue
            on = set(lis) | ({chk.mark_li} if chk.mark_li is not None and chk.mark_li in self._layers else set())
            if not any(li in self.top for li in on) and not any(a in on and b in on for a, b in met):
                continue                  # no top shape and no meeting on its layers: no zone (`_zone`)
            if chk.mark_li is not None and chk.mark_li in self._layers:
                lis = lis + [chk.mark_li]     # MARK areas of other sources (exemption) change every rule
            d = chk.reach[r.name]
            whole = r.kind in CONTEXT_WHOLE
            halo = d + 2 * chk.local[r.name]
            key = (tuple(lis), d, whole, halo)
            if key not in seen:
                seen[key] = self._zone(lis, d, whole, halo)
            if seen[key] is not None:
                z, zg, _ = seen[key]
                active[r.name] = (r, lis, z, zg)
        if not active:
            return None
        take = self._gather(active)
        parts = [shift_polys(take_polys(self._var(s)[0].on(li).polys, m), self._var(s)[1])
                 for (s, li), m in take.items() if m.any()]
        lis_all = {li for _, lis, _, _ in active.values() for li in lis} - {chk.mark_li}
        parts += [self.top[li].polys for li in lis_all if li in self.top]
        if chk.mark_li is not None:
            parts += [shift_polys(self._var(s)[0].on(chk.mark_li).polys, self._var(s)[1]) for s in range(len(self.sources))]
            if chk.mark_li in self.top:
                parts.append(self.top[chk.mark_li].polys)
        chk.stats["context_checks"] = chk.stats.get("context_checks", 0) + 1
        chk.stats["context_shapes"] = chk.stats.get("context_shapes", 0) + sum(len(p) for p in parts)
        return active, concat_polys(parts)

    def _gather(self, active: dict[str, tuple[Rule, list[int], np.ndarray, np.ndarray]]) -> dict[tuple[int, int], np.ndarray]:
        """Per (source, layer): which of the source's shapes lie within each active rule's reach of its
        zone (whole merged shapes). The zones of all rules are queried together: one bounds test of
        every source against every zone piece, then one STRtree query per variant and layer with the
        zone pieces near each of its sources moved into its frame, each with its own distance.
        Keys come in the order a rule-by-rule walk (rule, source, layer) first meets them."""
        chk = self.chk
        groups: dict[tuple[int, float], list] = {}   # zone array and distance -> (zone, layers, first rule)
        for k, (rname, (r, lis, _, z)) in enumerate(active.items()):
            if not len(z):
                continue
            loc = chk.local[rname]
            rho = (loc if r.kind in CONTEXT_WHOLE else 2 * loc) + EPS_UM
            g = groups.setdefault((id(z), rho), [z, rho, [li for li in lis if li != chk.mark_li], k])
            g[3] = min(g[3], k)
        if not groups:
            return {}
        gs = list(groups.values())
        zone = np.concatenate([g[0] for g in gs])
        gid = np.concatenate([np.full(len(g[0]), q) for q, g in enumerate(gs)])
        rho = np.array([g[1] for g in gs])[gid]
        first = np.array([g[3] for g in gs])
        zb = shapely.bounds(zone)
        # rows of every zone piece whose group's rule reaches layer li (the layers of a group keep their rule's order)
        rows_on: dict[int, np.ndarray] = {}
        g_on: dict[int, np.ndarray] = {}             # the groups whose rule reaches layer li
        for q, g in enumerate(gs):
            for li in g[2]:
                rows_on.setdefault(li, np.zeros(len(zone), bool))[gid == q] = True
                g_on.setdefault(li, np.zeros(len(gs), bool))[q] = True
        rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")   # groups by their first rule
        take: dict[tuple[int, int], np.ndarray] = {}
        order: dict[tuple[int, int], tuple[int, int, int]] = {}
        n_src = len(self.sources)
        vis = np.array([int(vi) for vi, _ in self.sources], np.int64)
        ds = np.array([d for _, d in self.sources], np.int64).reshape(n_src, 2)
        vb = np.array([v.bounds for v in chk.variants], np.int64).reshape(-1, 4)[vis]
        fb = np.c_[vb[:, :2] + ds, vb[:, 2:] + ds] * chk.dbu          # each source's extent (frame, µm)
        # near[s, z]: zone piece z within its rule's reach of source s's extent
        near = ((zb[None, :, 0] <= fb[:, 2:3] + rho) & (zb[None, :, 2] >= fb[:, 0:1] - rho)
                & (zb[None, :, 1] <= fb[:, 3:4] + rho) & (zb[None, :, 3] >= fb[:, 1:2] - rho))
        si, zi = np.nonzero(near)
        hit = np.zeros((n_src, len(gs)), bool)
        hit[si, gid[zi]] = True
        shift = -ds * chk.dbu
        drawn = np.zeros((n_src, len(chk.names)), bool)      # the layers each source draws
        for s, vi in enumerate(vis.tolist()):
            drawn[s, chk.variants[vi].drawn] = True
        for li, on in rows_on.items():
            cand = hit & g_on[li]
            has = cand.any(axis=1) & drawn[:, li]
            if not has.any():
                continue
            q0 = np.argmin(np.where(cand, rank, len(gs)), axis=1)
            for s in np.flatnonzero(has).tolist():
                q = int(q0[s])
                order[(s, li)] = (gs[q][3], s, gs[q][2].index(li))
            # one query per variant and layer: every source's zone pieces in the variant's frame
            m = has[si] & on[zi]
            for vi in np.unique(vis[has]).tolist():
                ls = chk.variants[vi].on(li)
                srcs = np.flatnonzero(has & (vis == vi))
                mv = m & (vis[si] == vi)
                sel = np.zeros((len(srcs), len(ls)), bool)
                s_rows, z_rows = si[mv], zi[mv]
                zl = zone[z_rows]
                moved = ds[s_rows].any(axis=1)
                if moved.any():
                    zl = zl.copy()
                    zl[moved] = translate(zl[moved], shift[s_rows[moved]])
                inp, got = ls.tree.query(zl, predicate="dwithin", distance=rho[z_rows])
                row = np.searchsorted(srcs, s_rows[inp])
                sel[row, got] = True
                if sel.any():         # whole merged shapes of the placed cell
                    grp = ls.groups
                    mark = np.zeros((len(srcs), int(grp.max()) + 1), bool)
                    r, c = np.nonzero(sel)
                    mark[r, grp[c]] = True
                    sel = mark[:, grp]
                for k, s in enumerate(srcs.tolist()):
                    take[(s, li)] = sel[k]
        return {key: take[key] for key in sorted(take, key=order.__getitem__)}

    def _zone(self, lis: list[int], d: float, whole: bool, halo: float) -> tuple[np.ndarray, np.ndarray, dict] | None:
        """Where shapes of different sources on layers `lis` come within `d` of each other near the
        region (and the top's shapes there); for rules on whole shapes, the shapes themselves.
        Returns the zone, the part of it the placements' shapes are gathered around, and the
        shapes that meet."""
        chk = self.chk
        zone = [self.top[li].geoms for li in lis if li in self.top]
        n_top = sum(len(z) for z in zone)
        hot: dict[tuple[int, int], np.ndarray] = {}
        tb = self.table
        if len(tb["contact"]):
            on = np.zeros(len(chk.names), bool)
            on[lis] = True
            m = on[tb["la"]] & on[tb["lb"]] & (tb["dist"] <= d + EPS_UM)
            if m.any():
                rows = np.flatnonzero(m)
                rows = rows[shapely.intersects(self.near(halo), tb["contact"][rows])]
                zone.append(tb["contact"][rows])
                if whole and len(rows):      # the shapes that meet, per (source, layer), in order of first meeting
                    src = np.concatenate([tb["s"][rows], tb["t"][rows]])
                    lay = np.concatenate([tb["la"][rows], tb["lb"][rows]])
                    idx = np.concatenate([tb["ia"][rows], tb["ib"][rows]])
                    n_lay = len(chk.names)
                    codes, first, inv = np.unique((src + 1) * n_lay + lay, return_index=True, return_inverse=True)  # (source, layer)
                    for q in np.argsort(first, kind="stable").tolist():
                        hot[(int(codes[q] // n_lay) - 1, int(codes[q] % n_lay))] = np.unique(idx[inv == q])
        if whole:
            for (src, li), idx in hot.items():
                if src >= 0:
                    v, ds = self._var(src)
                    g = v.on(li).geoms[idx]
                    zone.append(translate(g, np.tile(ds * chk.dbu, (len(g), 1))) if ds.any() else g)
        z = np.concatenate(zone) if zone else np.empty(0, object)
        if not len(z):
            return None
        return z, (z if self.with_top else z[n_top:]), hot


def run_scenes(chk: "HierChecker", scenes: list[Context], name: str) -> list[dict[str, tuple[list[Finding], np.ndarray]]]:
    """`Context.findings` of many scenes at once: the scenes laid side by side in one plane (each in
    its own slot, farther from the next than any rule looks or any finding spreads), each rule run
    once over all of them, and the scenes whose slot holds one of its markers checked again alone,
    in their own frame, for that rule: a clean scene costs a share of one check, and every finding
    is the one-by-one check's (the shift is exact in database units but not in the µm floats the
    rules measure in: pieces that meet exactly in a scene's frame can join by 1e-12 µm slivers
    in the shared plane, so findings are never taken from it; a rule that finds nothing there finds
    nothing alone, its thresholds carrying a tolerance, EPS_UM, far above that rounding). Same findings
    as checking the scenes one by one."""
    prepared = [sc.scene() for sc in scenes]
    live = [k for k, p in enumerate(prepared) if p is not None]
    out: list[dict[str, tuple[list[Finding], np.ndarray]]] = [{} for _ in scenes]
    if not live:
        return out
    bounds = np.array([[*p.xy.min(axis=0), *p.xy.max(axis=0)] if len(p) else [0, 0, 0, 0]
                       for p in (prepared[k][1] for k in live)], np.int64)
    gap = 4 * chk.h_max_dbu + int(np.ceil(chk.d_all / chk.dbu)) + 2
    slot = int((bounds[:, 2:] - bounds[:, :2]).max()) + 2 * gap
    cols = int(np.ceil(np.sqrt(len(live))))
    at = np.array([(q % cols, q // cols) for q in range(len(live))], np.int64)
    shift = at * slot + gap - bounds[:, :2]           # database units: the scene's lower-left to its slot
    if len(live) == 1:
        shift[:] = 0                                  # one scene: checked where it is
    polys = concat_polys([shift_polys(prepared[k][1], d) for k, d in zip(live, shift)])
    cl = CellLayers(Flat(name, polys, Labels.empty(), chk.dbu), chk.pdk, marks=chk.exempt)
    own: dict[int, CellLayers] = {}

    def alone(q: int) -> CellLayers:
        if q not in own:
            own[q] = CellLayers(Flat(name, prepared[live[q]][1], Labels.empty(), chk.dbu), chk.pdk, marks=chk.exempt)
        return own[q]

    for r in chk.context:
        using = [q for q, k in enumerate(live) if r.name in prepared[k][0]]
        if not using:
            continue
        per: dict[int, list[Finding]] = {q: [] for q in using}
        found = run_rule(r, cl)
        if len(live) == 1:
            per[0] = found
        elif found:
            b = shapely.bounds(marker_geoms(found))
            centre = np.floor((b[:, :2] + b[:, 2:]) / 2 / chk.dbu / slot).astype(np.int64)
            q_of = centre[:, 1] * cols + centre[:, 0]
            q_of[~((centre >= 0).all(axis=1) & (centre[:, 0] < cols))] = -1
            hit = set(q_of.tolist()) & set(using)
            if not set(q_of.tolist()) <= set(range(len(live))):   # a marker outside every slot (not expected)
                hit = set(using)
            for q in hit:       # where the rule finds something, the scene alone: its own frame's findings
                per[q] = run_rule(r, alone(q))
        for q in using:
            k = live[q]
            z = prepared[k][0][r.name][2]
            found = per[q]
            near = in_zone(found, z, chk.local[r.name])
            out[k][r.name] = ([f for f, n in zip(found, near) if n], z)
    return out

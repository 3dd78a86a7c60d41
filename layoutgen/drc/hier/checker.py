"""The hierarchical check of one top cell: the deck split up, the placed cells, the top's own shapes, all together."""

from __future__ import annotations

import hashlib
import time

import numpy as np
import shapely

from ...pdk import Pdk, Rule
from ...rulekinds import runs_per_top
from ..cell import MARK_LAYER, CellLayers, check_cell, marks_exempt, run_rule
from ..checks import wafer_findings
from ..read import Flat, Labels, Layout, Placement, Polys, concat_polys, layer_key, place_polys
from ..violation import Finding, Violation
from .array import check_array
from .markers import ref_points
from .pairs import Pairs
from .rest import Rest
from .rules import POLYGON_KINDS, is_context_rule, rule_layers, rule_local, rule_reach
from .sites import Sites
from .types import Types


# Auto mode: hierarchical when flattening would place at least this many polygons, and this
# many times more than the unique cells hold.
HIER_MIN_POLYGONS = 20_000
HIER_MIN_RATIO = 4.0


def flat_digest(flat: Flat) -> bytes:
    """A digest of everything a flattened cell draws, in order: its polygons (vertices, layers) and
    labels (texts, positions, layers). Two cells with the same digest give the same findings."""
    h = hashlib.blake2b(digest_size=20)
    p, lab = flat.polys, flat.labels
    for a in (p.xy, p.offsets, p.key, lab.xy, lab.key):
        arr = np.ascontiguousarray(a, np.int64)
        h.update(np.array(arr.shape, np.int64).tobytes())
        h.update(arr.tobytes())
    h.update("\0".join(map(str, np.asarray(lab.text).tolist())).encode())
    return h.digest()


def prefers_hierarchy(layout: Layout, top: str, wafer_key: int | None = None) -> bool:
    """Whether `top` is better checked hierarchically: it places cells by arrays or many
    references, so that flattening multiplies the geometry (a block of dies), or, given the
    WAFER layer's key, the layout draws a wafer outline (a wafer of any die size: its nets are
    checked per die, as they are after dicing, never joined by the plating network)."""
    pls = layout.placements(top)
    if not pls:
        return False
    if wafer_key is not None and any(bool((layout.own(c)[0].key == wafer_key).any()) for c in layout.cells):
        return True
    sizes = {c: len(layout.flatten(c).polys) for c in {p.child for p in pls}}
    placed = sum(len(p.offsets) * sizes[p.child] for p in pls)
    unique = sum(sizes.values()) + len(layout.own(top)[0])
    return placed >= HIER_MIN_POLYGONS and placed >= HIER_MIN_RATIO * unique


class HierChecker(Sites, Pairs, Types, Rest):
    """Checks one top cell hierarchically (see `layoutgen.drc.hier`): the deck split between the
    placed cells, the scenes and the top; the reading, pairs, types and rest in their modules."""

    def __init__(self, layout: Layout, top: str, pdk: Pdk, deck: list[Rule]) -> None:
        self.layout, self.top, self.pdk, self.deck = layout, top, pdk, deck
        self.dbu = layout.dbu_um
        self.grid = pdk.grid_um
        self.exempt = marks_exempt(pdk)
        self.context = [r for r in deck if is_context_rule(r)]
        self.wafer_rules = [r for r in deck if runs_per_top(r)]
        plain = [r for r in deck if not is_context_rule(r) and r not in self.wafer_rules]
        wafer_layer = layer_key(*pdk.layer("WAFER").gds) if "WAFER" in pdk.layers else None
        self.wafer = wafer_layer is not None and any(bool((layout.own(c)[0].key == wafer_layer).any()) for c in layout.cells)
        # Density, connectivity and a family's own kinds (scope "flat"): on a wafer per placed cell and on
        # the top's own shapes; on any other layout on the flattened top (exact, and linear in its size).
        self.flat_rules = [] if self.wafer else [r for r in plain if r.kind not in POLYGON_KINDS]
        self.own_rules = [r for r in plain if r not in self.flat_rules]
        self.cell_rules = [r for r in deck if r not in self.wafer_rules and r not in self.flat_rules]
        names = list(dict.fromkeys(n for r in self.context for n in rule_layers(r) if n in pdk.layers))
        self.context = [r for r in self.context if all(n in pdk.layers for n in rule_layers(r))]
        self.mark_li = None
        if self.exempt:
            names.append(pdk.mark_area_layer() or MARK_LAYER)
            self.mark_li = len(names) - 1
        self.names = names
        self.keys = np.array([layer_key(*pdk.layer(n).gds) for n in names], np.int64)
        self.li = {n: k for k, n in enumerate(names)}
        self.reach = {r.name: rule_reach(r, self.grid) for r in self.context}
        self.local = {r.name: rule_local(r, self.grid) for r in self.context}
        halo = np.full(len(names), self.grid)
        for r in self.context:
            for n in rule_layers(r):
                halo[self.li[n]] = max(halo[self.li[n]], self.reach[r.name] + 2 * self.local[r.name])
        self.h_max = float(halo.max()) if len(halo) else self.grid
        if self.mark_li is not None:
            halo[self.mark_li] = self.h_max
        self.halo_dbu = np.ceil(halo / self.dbu).astype(np.int64)
        self.h_max_dbu = int(self.halo_dbu.max()) if len(self.halo_dbu) else 1
        self.d_pair = np.full((len(names), len(names)), -1.0)   # largest rule distance between two layers
        for r in self.context:
            lis = [self.li[n] for n in rule_layers(r)]
            for a in lis:
                for b in lis:
                    self.d_pair[a, b] = max(self.d_pair[a, b], self.reach[r.name])
        if self.mark_li is not None:      # a MARK area of another source exempts shapes it covers: it touches them
            self.d_pair[self.mark_li, :] = np.maximum(self.d_pair[self.mark_li, :], self.grid)
            self.d_pair[:, self.mark_li] = np.maximum(self.d_pair[:, self.mark_li], self.grid)
        self.d_all = float(max(self.d_pair.max(), self.grid)) if len(names) else self.grid
        self._vv: dict[tuple, tuple[np.ndarray, ...]] = {}
        self._tv: dict[tuple, tuple] = {}
        self.stats: dict = {"mode": "hierarchical"}

    def _enclosed_elsewhere(self) -> None:
        """Rules measuring a layer's shapes to the ring of another around them (edge_distance: UBM centre to the seal
        ring) move to the flattened top when a placed cell, or the top's own shapes, draw the layer without the ring
        while the layout has the ring elsewhere: checked alone, such a cell has nothing to measure against and its
        shapes would pass unchecked; the flat check measures them (a shape in no ring is a finding there)."""
        moved = []
        for r in self.cell_rules:
            if r.kind != "edge_distance" or r.other not in self.pdk.layers:
                continue
            lk, ok = (layer_key(*self.pdk.layer(n).gds) for n in (r.layer, r.other))
            sources = [self.layout.flatten(c) for c in self.placed] + [self.own_flat]
            if not any(bool((f.polys.key == ok).any()) for f in sources):
                continue                  # no ring anywhere: nothing to measure against, flat or not
            if any(bool((f.polys.key == lk).any()) and not bool((f.polys.key == ok).any())
                   and len(CellLayers(f, self.pdk, marks=self.exempt).raw(r.layer)) for f in sources):
                moved.append(r)           # (a mark cell's UBM, inside its MARK area, is exempt: no reason to move)
        if moved:
            self.flat_rules = self.flat_rules + moved
            self.cell_rules = [r for r in self.cell_rules if r not in moved]
            self.own_rules = [r for r in self.own_rules if r not in moved]

    def check_cells(self) -> None:
        """Each placed cell flattened and checked once (the wafer rules excepted)."""
        self._enclosed_elsewhere()
        self.cell_found: dict[str, list[Violation]] = {}
        bases = {b for b, _ in self.split.values()}
        views: dict[str, CellLayers] = {}     # each base's view, its layers merged once for all its cells
        seen: dict[tuple, list[Violation]] = {}   # cells drawing the same shapes and labels: checked once
        memo: dict[tuple, list[Finding]] = {}     # a rule's findings on the same polygons of its layers, across cells
        for cell in self.placed:
            rules = self.cell_rules
            base = None
            if cell in self.split:        # a base and its delta: the rules on whole cells (nets, density) on the cell whole
                rules = [r for r in rules if self._whole_cell(r)]
                b = self.split[cell][0]
                if b not in views:
                    views[b] = CellLayers(self.layout.flatten(b), self.pdk)
                base = (views[b], self.delta_all[cell])
            elif cell in bases:           # the rest on the base once; the delta is checked with the top's shapes
                rules = [r for r in rules if not self._whole_cell(r)]
            key = (self.split[cell][0] if cell in self.split else None, tuple(r.name for r in rules),
                   flat_digest(self.layout.flatten(cell)))
            if key in seen:               # adapted units measured alike (one die shift for all): the same findings
                self.cell_found[cell] = [Violation(v.rule, cell, v.message, v.region, v.edges) for v in seen[key]]
                continue
            self.stats["cells_checked"] = self.stats.get("cells_checked", 0) + 1
            self.cell_found[cell] = seen[key] = self._check_cell(cell, rules, base, memo)
        self.cell_occ = {c: np.zeros(len(vs), np.int64) for c, vs in self.cell_found.items()}
        ctx_names = {r.name for r in self.context}
        self.cell_plain = {c: np.array([v.rule not in ctx_names for v in vs], bool) for c, vs in self.cell_found.items()}
        self.cell_exempt = {c: np.zeros(len(vs), np.int64) for c, vs in self.cell_found.items()}
        grid_rules = {r.name for r in self.deck if r.kind in POLYGON_KINDS}
        self.var_grid: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []   # per variant: grid findings, regions, refs
        for v in self.variants:
            ks = [k for k, viol in enumerate(self.cell_found[v.cell]) if viol.rule in grid_rules and viol.region is not None]
            fs = [v.to_frame(Finding(self.cell_found[v.cell][k].message, self.cell_found[v.cell][k].region)) for k in ks]
            self.var_grid.append((np.array(ks, np.int64), np.array([f.region for f in fs], dtype=object), ref_points(fs, self.dbu)))
        # per variant, per rule: the cell's context-rule findings in the placement frame
        self.var_found: list[dict[str, tuple[np.ndarray, list[Finding], np.ndarray]]] = []
        for v in self.variants:
            by_rule: dict[str, tuple[list[int], list[Finding]]] = {}
            for k, viol in enumerate(self.cell_found[v.cell]):
                if viol.rule in ctx_names:
                    ks, fs = by_rule.setdefault(viol.rule, ([], []))
                    ks.append(k)
                    fs.append(v.to_frame(Finding(viol.message, viol.region, viol.edges)))
            self.var_found.append({r: (np.array(ks), fs, ref_points(fs, self.dbu))
                                   for r, (ks, fs) in by_rule.items()})

    def _check_cell(self, cell: str, rules: list[Rule], base: tuple[CellLayers, Polys] | None,
                    memo: dict[tuple, list[Finding]]) -> list[Violation]:
        """`check_cell` of a placed cell, a rule that reads only its layers' polygons (context rules: their
        scenes hold nothing else; grid) taken from `memo` when another cell draws the same polygons on
        them, and the MARK areas (the nominal unit and the adapted units' base share all but the dies)."""
        flat = self.layout.flatten(cell)
        cl = CellLayers(flat, self.pdk, base=base)
        digests: dict[str, bytes] = {}

        def digest(name: str) -> bytes:
            if name not in digests:
                polys = flat.polys.select(layer_key(*self.pdk.layer(name).gds))
                digests[name] = flat_digest(Flat(cell, polys, Labels.empty(), self.dbu))
            return digests[name]

        out: list[Violation] = []
        for r in rules:
            key = None
            if r.name in self.reach or r.kind in POLYGON_KINDS:
                names = rule_layers(r) + ([cl.mark_name] if cl.exempt else [])
                if all(n in self.pdk.layers for n in names):
                    key = (r.name, tuple(digest(n) for n in names))
            found = memo.get(key) if key is not None else None
            if found is None:
                found = run_rule(r, cl)
                if key is not None:
                    memo[key] = found
            out += [Violation(r.name, cell, f.message, f.region, f.edges) for f in found]
        return out

    def _whole_cell(self, r: Rule) -> bool:
        """Whether a rule of the placed cells' deck looks at a cell whole (connectivity, density, a
        family's own kinds), not at shapes near each other (context rules) or one polygon (grid)."""
        return r.name not in self.reach and r.kind not in POLYGON_KINDS     # by name: comparing rules field by field is slow

    def check_own(self) -> list[tuple[Violation, int]]:
        """Rules that do not look across sources on the top's own shapes (with the placed MARK
        areas, so exemption holds), and the wafer checks once on the hierarchy."""
        parts = [self.own_flat.polys]
        if self.mark_li is not None:
            for vi, v in enumerate(self.variants):
                mp = v.on(self.mark_li).polys
                if len(mp):
                    parts.append(place_polys(mp, Placement(v.cell, (0, 0), 0.0, 1.0, False, self.origin[self.var_of == vi])))
        flat = Flat(self.top, concat_polys(parts), self.own_flat.labels, self.dbu)
        cl = CellLayers(flat, self.pdk, layout=self.layout, top=self.top, marks=self.exempt)
        out = []
        with_delta = cl
        if len(self.delta_polys):         # the deltas of base cells (`Sites._bases`): per drawn polygon as the top's own
            with_delta = CellLayers(Flat(self.top, concat_polys([flat.polys, self.delta_polys]), self.own_flat.labels, self.dbu),
                                    self.pdk, layout=self.layout, top=self.top, marks=self.exempt)
        for r in self.own_rules:
            found = run_rule(r, with_delta if r.kind in POLYGON_KINDS else cl)
            out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in found]
        for r in self.wafer_rules:
            out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in wafer_findings(r, cl)]
        if self.flat_rules:
            whole = CellLayers(self.layout.flatten(self.top), self.pdk, layout=self.layout, top=self.top, marks=self.exempt)
            for r in self.flat_rules:
                out += [(Violation(r.name, self.top, f.message, f.region, f.edges), 1) for f in run_rule(r, whole)]
        return out

    def overlapping_placements(self) -> bool:
        """Whether the extents of two placements (their shapes on the rule layers) overlap."""
        if len(self.origin) < 2:
            return False
        b = np.array([v.bounds for v in self.variants])[self.var_of]
        lo, hi = self.origin + b[:, :2], self.origin + b[:, 2:]
        i, j = shapely.STRtree(shapely.box(*(np.c_[lo, hi] * self.dbu).T)).query(
            shapely.box(*(np.c_[lo, hi] * self.dbu).T), predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        return bool(((lo[j] < hi[i]) & (lo[i] < hi[j])).all(axis=1).any())

    def run(self, read: bool = True) -> tuple[list[Violation], list[int], dict]:
        """Every violation, how many times each occurs in the flattened layout, and figures."""
        t: dict[str, float] = {}
        cpu: dict[str, float] = {}

        def step(name: str, fn, *args):
            t0, c0 = time.perf_counter(), time.process_time()
            out = fn(*args)
            t[name] = round(time.perf_counter() - t0, 4)
            cpu[name] = round(time.process_time() - c0, 4)
            return out

        if read:
            step("read", self.read)
        step("cells", self.check_cells)
        types = step("classify", self.classify) if len(self.origin) else []
        new = step("types", self.check_types, types)
        new += step("rest", self.check_rest)
        new += step("own_and_wafer", self.check_own)
        with_shapes = {v.cell for v in self.variants}
        vs: list[Violation] = []
        occ: list[int] = []
        for cell, found in self.cell_found.items():
            total = self.placed[cell]
            counts = self.cell_occ[cell].copy() if cell in with_shapes else np.full(len(found), total)
            plain = self.cell_plain[cell]
            counts[plain] = total - self.cell_exempt[cell][plain]   # rules not checked across placements
            for viol, k in zip(found, counts):
                if k <= 0:
                    continue
                note = f" (in {k} of {total} placements)" if total > 1 else ""
                vs.append(Violation(viol.rule, cell, viol.message + note, viol.region, viol.edges))
                occ.append(int(k))
        for viol, k in new:
            vs.append(viol)
            occ.append(int(k))
        self.stats.update(cells=dict(self.placed), placements=int(len(self.origin)), times_s=t, cpu_s=cpu)
        return vs, occ, self.stats


def check_hierarchical(layout: Layout, top: str, pdk: Pdk, deck: list[Rule]) -> tuple[list[Violation], list[int], dict]:
    """Violations of `deck` in top cell `top` checked hierarchically, how many times each occurs
    in the flattened layout, and how the check went (types, times). Placements whose cells overlap
    each other (not an array: shapes of two placements on top of each other) are checked flat; a
    top that places one cell by a large regular array is checked on a small copy of it (`hier.array`)."""
    arrayed = check_array(layout, top, pdk, deck)
    if arrayed is not None:
        return arrayed
    chk = HierChecker(layout, top, pdk, deck)
    chk.read()
    if chk.overlapping_placements():
        found = check_cell(layout.flatten(top), pdk, deck, layout=layout)
        return found, [1] * len(found), {"mode": "flat", "reason": "placements overlap each other"}
    return chk.run(read=False)

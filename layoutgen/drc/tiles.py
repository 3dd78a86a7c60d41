"""Tiled flat DRC on Dask: the flattened layout cut into tiles, each checked by a worker,
the markers merged so that each violation is reported once, as the untiled check reports it.

How it stays exact (all lengths in µm, the tile grid in database units):

- Shapes are never clipped. First each tile finds which drawn polygons touch inside it
  (one STRtree query per layer); the client joins these pairs into connected components
  (the shapes that merging will make), so every tile works on whole merged shapes.
- A tile's view is every component whose extent comes within the halo (the largest
  distance of the local rules, plus a margin) of the tile's core, and the MARK shapes
  around them. The deck's local rules run on the view with the ordinary engine.
- Each finding has an anchor: the midpoint between its two marker edges (a pair of shapes
  closer than a rule), the centre of the shape for centre rules, else the lower-left corner
  of its marker. Every shape a finding depends on lies within the rule distance of its
  anchor, so the tile whose core holds the anchor sees the finding exactly as the untiled
  check does, and only that tile keeps it: a violation across a border is reported once.
- Density: each tile adds the area its own merged shapes (those whose lower-left corner is
  in its core) cover in every window; the client sums the windows of the whole layout,
  whose grid comes from the whole layout's extent, exactly as the untiled check.
- Rules that need the whole layout at once (connectivity, the wafer's plating and
  isolation checks, family rule kinds) run untiled in one worker task that reads the file
  itself (never skipped: their violations join the tiles' in deck order); that worker's
  memory is the flat file's, not a tile's. As `run_drc(..., hierarchical=False)`, on a wafer
  they see the plating network join every net before dicing (NET.SHORT), where `run_drc`'s
  hierarchical check of a wafer looks per die.

Geometry equals the untiled result up to float rounding far below the database unit
(translated copies may be merged from another representative shape).
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..errors import DrcError
from ..pdk import Pdk, Rule
from .density import clusters, density_findings, window_starts, windows
from ..rulekinds import RULE_KINDS, kinds_of
from .cell import MARK_LAYER, CellLayers, check_cell, marks_exempt, poly_bounds, run_rule, take_polys
from .engine import not_applicable, select_rules, unknown_layers
from .geometry import polygons
from .read import Flat, Labels, Layout, Polys, layer_key
from .violation import DrcResult, Finding, Violation
from .waivers import Waiver, apply_waivers, load_waivers

# Rules whose findings depend only on shapes near them (the registry's local, whole-shape and
# per-polygon kinds): checked tile by tile. Density is summed over tiles; the rest runs whole.
LOCAL_KINDS = kinds_of("local") | kinds_of("whole") | kinds_of("polygon")
HALO_MARGIN_UM = 1.0
# `tiles="auto"`: about this many drawn polygons per tile, at least 4 tiles per worker.
AUTO_POLYS_PER_TILE = 25_000


@dataclass(frozen=True)
class TileGrid:
    """Square tiles of `side` database units from (x0, y0), nx × ny of them, row-major by x."""

    x0: int
    y0: int
    side: int
    nx: int
    ny: int

    def __len__(self) -> int:
        return self.nx * self.ny

    def span(self, lo: np.ndarray, hi: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
        """First and last tile column (axis 0) or row (axis 1) that [lo, hi] (dbu) meets."""
        o, n = (self.x0, self.nx) if axis == 0 else (self.y0, self.ny)
        first = np.clip(np.floor_divide(lo - o, self.side), 0, n - 1)
        last = np.clip(np.floor_divide(hi - o, self.side), 0, n - 1)
        return first.astype(np.int64), last.astype(np.int64)

    def owner(self, xy_um: np.ndarray, dbu_um: float) -> np.ndarray:
        """The tile whose core holds each point ((n, 2) µm); points off the grid go to the nearest tile."""
        i = np.clip(np.floor((xy_um[:, 0] / dbu_um - self.x0) / self.side), 0, self.nx - 1).astype(np.int64)
        j = np.clip(np.floor((xy_um[:, 1] / dbu_um - self.y0) / self.side), 0, self.ny - 1).astype(np.int64)
        return j * self.nx + i

    def core(self, t: int) -> tuple[int, int, int, int]:
        """Tile t's core (x0, y0, x1, y1) in database units."""
        i, j = t % self.nx, t // self.nx
        x, y = self.x0 + i * self.side, self.y0 + j * self.side
        return x, y, x + self.side, y + self.side


def plan_grid(bounds: tuple[int, int, int, int], n_polys: int, halo_dbu: int, workers: int,
              tile_um: float | None, dbu_um: float) -> TileGrid:
    """The tile grid over `bounds` (dbu): tiles of `tile_um`, or (auto) about AUTO_POLYS_PER_TILE
    polygons and at least 4 per worker, never narrower than 4 halos (any side is exact; small
    ones repeat work in the halos)."""
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    if tile_um is not None:
        side = max(round(tile_um / dbu_um), 1)
    else:
        count = max(4 * workers, math.ceil(n_polys / AUTO_POLYS_PER_TILE), 1)
        side = max(math.ceil(math.sqrt(w * h / count)), 4 * halo_dbu, 1)
    return TileGrid(x0, y0, side, max(1, math.ceil((w + 1) / side)), max(1, math.ceil((h + 1) / side)))


def parse_tiles(value: str) -> float | None:
    """`--tiles` value: "auto" (None) or a tile side in µm (a DrcError names a bad one)."""
    if value.strip().lower() == "auto":
        return None
    try:
        side = float(value)
    except ValueError:
        side = math.nan
    if not math.isfinite(side) or side <= 0:
        raise DrcError(f"--tiles {value!r}: give auto or a tile side in µm greater than 0")
    return side


def rule_distance(rule: Rule) -> float:
    """How far (µm) from a finding's anchor the shapes it depends on can lie: the rule's value
    or edge tolerance when its kind reaches or spreads by it (rulekinds), else nothing."""
    kind = RULE_KINDS[rule.kind]
    out = 0.0
    if "value" in (kind.reach, kind.spread) and rule.value:
        out = max(out, float(rule.value))
    if "tolerance" in (kind.reach, kind.spread) and rule.tolerance_um:
        out = max(out, float(rule.tolerance_um))
    return out


def rule_layers(rule: Rule) -> set[str]:
    """The layer names a rule reads."""
    return {n for n in (rule.layer, rule.other, *(rule.layers or [])) if n}


def anchors(rule: Rule, found: list[Finding]) -> np.ndarray:
    """(n, 2) µm: the point that decides which tile reports each finding (module docstring)."""
    out = np.zeros((len(found), 2))
    if not found:
        return out
    region = np.array([f.region for f in found], object)
    has_region = np.array([f.region is not None and not f.region.is_empty for f in found], bool)
    pair = np.array([f.edges is not None and len(f.edges) == 2 for f in found], bool) & (rule.kind != "angle")
    if rule.kind == "edge_distance":                     # the centre, inside the enclosing ring
        centre = has_region
        out[centre] = shapely.get_coordinates(shapely.centroid(region[centre]))
        pair &= ~centre
    else:
        centre = np.zeros(len(found), bool)
    if pair.any():                                        # midway between the two closest edges
        e = np.array([found[k].edges for k in np.flatnonzero(pair)], float).reshape(-1, 2, 2, 2)
        ends = shapely.get_coordinates(shapely.shortest_line(shapely.linestrings(e[:, 0]), shapely.linestrings(e[:, 1])))
        out[pair] = (ends[0::2] + ends[1::2]) / 2
    corner = has_region & ~pair & ~centre                 # lower-left corner of the marker
    out[corner] = shapely.bounds(region[corner])[:, :2]
    rest = ~pair & ~centre & ~has_region
    for k in np.flatnonzero(rest):
        if not found[k].edges:
            raise DrcError(f"rule {rule.name}: a finding without a marker cannot be placed in a tile ({found[k].message})")
        e = np.array(found[k].edges, float)
        out[k] = [np.minimum(e[:, 0], e[:, 2]).min(), np.minimum(e[:, 1], e[:, 3]).min()]
    return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def touching_pairs(polys: Polys, ids: np.ndarray, dbu_um: float) -> np.ndarray:
    """(2, k) global ids of polygon pairs on one layer that touch or overlap (worker task)."""
    out = [np.zeros((2, 0), np.int64)]
    for key in np.unique(polys.key):
        sel = polys.key == key
        geoms = polygons(take_polys(polys, sel), dbu_um)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        keep = left < right
        gid = ids[sel]
        out.append(np.stack([gid[left[keep]], gid[right[keep]]]))
    return np.concatenate(out, axis=1)


@dataclass(frozen=True)
class TileJob:
    """What one tile's worker needs: its view of the layout and where its core is."""

    t: int
    polys: Polys
    cell: str
    dbu_um: float
    grid: TileGrid
    extents: dict[str, list[tuple[float, float, float, float]]]   # per density rule: the clusters' extents


def check_tile(job: TileJob, pdk: Pdk, local: list[Rule], density: list[Rule], exempt: bool) -> dict:
    """Run the local rules on one tile's view; keep the findings it owns; add up its
    shapes' density per window (worker task)."""
    flat = Flat(job.cell, job.polys, Labels.empty(), job.dbu_um)
    cl = CellLayers(flat, pdk, marks=exempt)
    found: list[tuple[str, Finding]] = []
    for rule in local:
        fs = run_rule(rule, cl)
        mine = job.grid.owner(anchors(rule, fs), job.dbu_um) == job.t
        found.extend((rule.name, f) for f, m in zip(fs, mine) if m)
    cover: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for rule in density:
        geoms = cl.merged(rule.layer).geoms
        if len(geoms):
            geoms = geoms[job.grid.owner(shapely.bounds(geoms)[:, :2], job.dbu_um) == job.t]
        cover[rule.name] = (*window_cover_many(geoms, job.extents[rule.name], rule.window, rule.step), len(geoms))
    return {"found": found, "cover": cover, "peak_mb": _peak_mb()}


def window_cover(geoms: np.ndarray, extent: tuple[float, float, float, float], window: float,
                 step: float) -> tuple[np.ndarray, np.ndarray]:
    """(window index, covered area) for each window of the layout's grid (`density.windows`
    numbering) that the geometries meet; only windows near them are built."""
    if len(geoms) == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    x0, y0, x1, y1 = extent
    xs, ys = window_starts(x0, x1, window, step), window_starts(y0, y1, window, step)
    bx0, by0, bx1, by1 = shapely.bounds(geoms).T
    ci = np.flatnonzero((xs <= bx1.max()) & (xs + window >= bx0.min()))
    cj = np.flatnonzero((ys <= by1.max()) & (ys + window >= by0.min()))
    gi, gj = np.meshgrid(ci, cj, indexing="ij")
    gi, gj = gi.ravel(), gj.ravel()
    gx, gy = xs[gi], ys[gj]
    boxes = shapely.box(gx, gy, np.minimum(gx + window, x1), np.minimum(gy + window, y1))
    w, s = shapely.STRtree(geoms).query(boxes, predicate="intersects")
    return gi[w] * len(ys) + gj[w], shapely.area(shapely.intersection(boxes[w], geoms[s]))


def window_cover_many(geoms: np.ndarray, extents: list[tuple[float, float, float, float]], window: float,
                      step: float) -> tuple[np.ndarray, np.ndarray]:
    """`window_cover` over each cluster's extent, the windows numbered through the clusters in
    order (as `density.check_density` concatenates them)."""
    idx, area, offset = [np.zeros(0, np.int64)], [np.zeros(0)], 0
    for e in extents:
        i, a = window_cover(geoms, e, window, step)
        idx.append(i + offset)
        area.append(a)
        offset += len(window_starts(e[0], e[2], window, step)) * len(window_starts(e[1], e[3], window, step))
    return np.concatenate(idx), np.concatenate(area)


def check_whole(path: str, pdk: Pdk, cell: str, rules: list[Rule]) -> dict:
    """The rules that need the whole layout, untiled, on a worker that reads the file itself."""
    layout = Layout(path)
    return {"violations": check_cell(layout.flatten(cell), pdk, rules, layout=layout), "peak_mb": _peak_mb()}


def dask_client(scheduler: str | None, workers: int | None):
    """A Dask client: on the cluster at `scheduler`, or on a local cluster of `workers`
    processes (default: the machine's cores). Returns (client, cluster or None)."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as e:
            raise DrcError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def components(client, flat: Flat, grid: TileGrid, keep: np.ndarray) -> np.ndarray:
    """The connected component (merged shape group) of every kept polygon, found tile by
    tile: polygons touch at some point, and the tile whose core holds it sees both."""
    n = len(flat.polys)
    bounds = poly_bounds(flat.polys)
    ids = np.flatnonzero(keep)
    futures = []
    ix0, ix1 = grid.span(bounds[ids, 0], bounds[ids, 2], 0)
    iy0, iy1 = grid.span(bounds[ids, 1], bounds[ids, 3], 1)
    tile_of, member = _cover(ix0, ix1, iy0, iy1, grid.nx)
    order = np.argsort(tile_of, kind="stable")
    starts = np.searchsorted(tile_of[order], np.arange(len(grid) + 1))
    for t in range(len(grid)):
        sel = np.sort(ids[member[order[starts[t]:starts[t + 1]]]])
        if len(sel) > 1:
            mask = np.zeros(n, bool)
            mask[sel] = True
            futures.append(client.submit(touching_pairs, take_polys(flat.polys, mask), sel, flat.dbu_um, pure=False))
    pairs = np.concatenate([np.zeros((2, 0), np.int64)] + client.gather(futures), axis=1)
    graph = coo_matrix((np.ones(pairs.shape[1], np.int8), (pairs[0], pairs[1])), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _cover(ix0: np.ndarray, ix1: np.ndarray, iy0: np.ndarray, iy1: np.ndarray, nx: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (tile, item) pair for items spanning tile columns ix0..ix1 and rows iy0..iy1."""
    nxs, nys = ix1 - ix0 + 1, iy1 - iy0 + 1
    count = nxs * nys
    item = np.repeat(np.arange(len(ix0)), count)
    k = np.arange(len(item)) - np.repeat(np.cumsum(count) - count, count)
    i = ix0[item] + k % nxs[item]
    j = iy0[item] + k // nxs[item]
    return j * nx + i, item


def run_drc_tiled(
    gds_path: str | Path,
    pdk: Pdk,
    top: str | None = None,
    waivers: str | Path | list[Waiver] | None = None,
    rules: Iterable[str] | None = None,
    tile_um: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    report_memory: bool = False,
):
    """Check a GDS flat, tile by tile on Dask (see the module docstring): the same
    violations as `run_drc(..., hierarchical=False)`. `tile_um`: tile side (default: auto);
    `client`: an existing dask.distributed Client, else one on `scheduler` or on a local
    cluster of `workers` processes. With `report_memory`, returns (result, info) where info
    holds the tile count and the largest peak memory of a worker process (MB)."""
    t0 = time.perf_counter()
    deck = select_rules(pdk, rules)
    waiver_list = load_waivers(waivers) if isinstance(waivers, (str, Path)) else list(waivers or [])
    layout = Layout(gds_path)
    cells = layout.pick_tops(top)
    skipped = not_applicable(deck, pdk, layout)      # as the untiled check: reported, never counted clean
    full_deck, deck = deck, [r for r in deck if r.name not in skipped]
    own_client = client is None
    cluster = None
    if own_client:
        client, cluster = dask_client(scheduler, workers)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        found: list[Violation] = []
        info = {"tiles": 0, "worker_peak_mb": 0.0}
        for name in cells:
            vs, tiles, peak = _check_top(client, layout, name, pdk, deck, n_workers, tile_um)
            found.extend(vs)
            info["tiles"] += tiles
            info["worker_peak_mb"] = max(info["worker_peak_mb"], peak)
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()
    found, unused = apply_waivers(found, waiver_list)
    result = DrcResult(gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=full_deck, violations=found,
                       runtime_s=time.perf_counter() - t0, unused_waivers=unused, not_applicable=skipped,
                       unknown_layers=unknown_layers(pdk, layout))
    return (result, info) if report_memory else result


def _check_top(client, layout: Layout, name: str, pdk: Pdk, deck: list[Rule], n_workers: int,
               tile_um: float | None) -> tuple[list[Violation], int, float]:
    """One top cell, tiled: its violations in deck order, the tile count and the worker peak (MB)."""
    local = [r for r in deck if r.kind in LOCAL_KINDS]
    density = [r for r in deck if r.kind == "density"]
    whole = [r for r in deck if r not in local and r not in density]
    whole_future = client.submit(check_whole, str(layout.path), pdk, name, whole, pure=False) if whole else None
    by_rule: dict[str, list[Finding]] = {r.name: [] for r in deck}
    peak = 0.0
    tiles = 0
    flat = layout.flatten(name)
    if (local or density) and flat.bounds_dbu is not None:
        dbu = flat.dbu_um
        exempt = marks_exempt(pdk)
        names = set().union(*(rule_layers(r) for r in local + density))
        if exempt:
            names.add(pdk.mark_area_layer() or MARK_LAYER)
        keys = [layer_key(*pdk.layer(n).gds) for n in names if n in pdk.layers]
        keep = np.isin(flat.polys.key, keys)
        halo_um = max([rule_distance(r) for r in local] + [0.0]) + HALO_MARGIN_UM
        halo = math.ceil(halo_um / dbu)
        grid = plan_grid(flat.bounds_dbu, int(keep.sum()), halo, n_workers, tile_um, dbu)
        tiles = len(grid)
        comp = components(client, flat, grid, keep)
        # density windows over each cluster of shapes, as the untiled check (CellLayers.clusters)
        bounds_um = poly_bounds(flat.polys) * dbu
        extents = {r.name: clusters(bounds_um, r.window) for r in density}
        shared = client.scatter(pdk, broadcast=True)       # the deck once per worker, not once per tile
        futures = [client.submit(check_tile, job, shared, local, density, exempt, pure=False)
                   for job in _tile_jobs(flat, grid, comp, keep, halo, exempt, pdk, name, extents)]
        totals = {r.name: (np.zeros(0, np.int64), np.zeros(0), 0) for r in density}
        for fut in futures:
            out = fut.result()
            fut.release()
            peak = max(peak, out["peak_mb"])
            for rule_name, f in out["found"]:
                by_rule[rule_name].append(f)
            for rule_name, (idx, area, n) in out["cover"].items():
                i0, a0, n0 = totals[rule_name]
                totals[rule_name] = (np.concatenate([i0, idx]), np.concatenate([a0, area]), n0 + n)
        for r in density:
            idx, area, n = totals[r.name]
            if n:
                by_rule[r.name] = _density(extents[r.name], r, idx, area)
    out: list[Violation] = []
    whole_vs: dict[str, list[Violation]] = {}
    if whole_future is not None:
        res = whole_future.result()
        peak = max(peak, res["peak_mb"])
        for v in res["violations"]:
            whole_vs.setdefault(v.rule, []).append(v)
    for r in deck:
        if r.name in whole_vs:
            out.extend(whole_vs[r.name])
        elif r in density:
            out.extend(Violation(r.name, name, f.message, f.region, f.edges) for f in by_rule[r.name])
        else:
            fs = by_rule[r.name]
            out.extend(Violation(r.name, name, fs[k].message, fs[k].region, fs[k].edges) for k in marker_order(fs))
    return out, tiles, peak


def marker_order(found: list[Finding]) -> np.ndarray:
    """The order of findings by their marker's extent (x0, y0, x1, y1, as `Violation.bounds`),
    then message: tiles return their findings in any order, the result lists them in this one.
    Vectorised: the extents of regions in one call, those of edge markers per edge count."""
    n = len(found)
    if n == 0:
        return np.zeros(0, np.int64)
    b = shapely.bounds(np.array([f.region for f in found], object))        # NaN for no region or an empty one
    count = np.array([len(f.edges) if f.edges else 0 for f in found])
    for c in np.unique(count[count > 0]):
        k = np.flatnonzero(count == c)
        e = np.array([found[i].edges for i in k], float).reshape(len(k), int(c), 4)
        xs, ys = e[:, :, 0::2].reshape(len(k), -1), e[:, :, 1::2].reshape(len(k), -1)
        b[k] = np.column_stack([np.fmin(b[k, 0], xs.min(1)), np.fmin(b[k, 1], ys.min(1)),
                                np.fmax(b[k, 2], xs.max(1)), np.fmax(b[k, 3], ys.max(1))])
    b = np.nan_to_num(b, nan=0.0)
    return np.lexsort((np.array([f.message for f in found]), b[:, 3], b[:, 2], b[:, 1], b[:, 0]))


def _density(extents, rule: Rule, idx: np.ndarray, area: np.ndarray) -> list[Finding]:
    """The density findings of the whole layout from the tiles' window areas."""
    boxes = np.concatenate([windows(e, rule.window, rule.step) for e in extents])
    covered = np.zeros(len(boxes))
    np.add.at(covered, idx, area)
    return density_findings(covered, boxes, rule.min, rule.max)


def _tile_jobs(flat: Flat, grid: TileGrid, comp: np.ndarray, keep: np.ndarray, halo: int, exempt: bool,
               pdk: Pdk, name: str, extents) -> Iterable[TileJob]:
    """Each non-empty tile's view: the whole components within the halo of its core, and
    the MARK shapes that meet them."""
    bounds = poly_bounds(flat.polys)
    ids = np.flatnonzero(keep)
    c = comp[ids]
    n_comp = int(comp.max()) + 1 if len(comp) else 0
    big = np.iinfo(np.int64).max
    cb = np.stack([np.full(n_comp, big), np.full(n_comp, big), np.full(n_comp, -big), np.full(n_comp, -big)], 1)
    np.minimum.at(cb[:, 0], c, bounds[ids, 0])
    np.minimum.at(cb[:, 1], c, bounds[ids, 1])
    np.maximum.at(cb[:, 2], c, bounds[ids, 2])
    np.maximum.at(cb[:, 3], c, bounds[ids, 3])
    used = np.unique(c)
    mark_key = layer_key(*pdk.layer(pdk.mark_area_layer() or MARK_LAYER).gds) if exempt else None
    is_mark = np.zeros(n_comp, bool)
    if mark_key is not None:
        is_mark[comp[ids[flat.polys.key[ids] == mark_key]]] = True
    product = used[~is_mark[used]]
    marks = used[is_mark[used]]
    ix0, ix1 = grid.span(cb[product, 0] - halo, cb[product, 2] + halo, 0)
    iy0, iy1 = grid.span(cb[product, 1] - halo, cb[product, 3] + halo, 1)
    tile_of, item = _cover(ix0, ix1, iy0, iy1, grid.nx)
    order = np.argsort(tile_of, kind="stable")
    starts = np.searchsorted(tile_of[order], np.arange(len(grid) + 1))
    # polygons grouped by component
    porder = ids[np.argsort(c, kind="stable")]
    pstart = np.searchsorted(comp[porder], np.arange(n_comp + 1))
    for t in range(len(grid)):
        view = product[item[order[starts[t]:starts[t + 1]]]]
        if len(view) == 0:
            continue
        if len(marks):
            lo, hi = cb[view, :2].min(axis=0), cb[view, 2:].max(axis=0)
            mb = cb[marks]
            meet = (mb[:, 0] <= hi[0]) & (mb[:, 2] >= lo[0]) & (mb[:, 1] <= hi[1]) & (mb[:, 3] >= lo[1])
            view = np.concatenate([view, marks[meet]])
        counts = pstart[view + 1] - pstart[view]
        first = np.repeat(pstart[view] - (np.cumsum(counts) - counts), counts)
        members = np.sort(porder[first + np.arange(int(counts.sum()))])
        mask = np.zeros(len(flat.polys), bool)
        mask[members] = True
        yield TileJob(t, take_polys(flat.polys, mask), name, flat.dbu_um, grid, extents)

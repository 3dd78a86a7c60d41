"""Tiled flat DRC on Dask: the flattened layout cut into tiles, each checked by a worker that
reads its own region of the file, the markers merged so that each violation is reported once,
as the untiled check reports it.

How it stays exact (all lengths in µm, the tile grid in database units):

- Workers read whole polygons from the file with KLayout (its shape index picks those whose
  extent touches a box: `read.read_region`); the client never flattens the layout. A first
  pass reads each tile's core and groups the polygons that touch per layer; the client joins
  the groups of all tiles (a polygon two tiles read has one identity: its layer and vertices)
  into the layout's merged shapes, their extents and about how many polygons each holds.
- A tile's view is every merged shape whose extent comes within the halo (the largest
  distance of the local rules, plus a margin) of the tile's core: per layer the worker reads
  the core grown by the halo, grown again to hold those shapes whole, and the MARK shapes
  around them. The deck's local rules run on the view with the ordinary engine.
- One pass (`one_pass_tile`), when the deck has no density rule: each tile reads its core
  grown by the halo, joins what it read into touching groups per layer and reads on around each
  group near the core that has a polygon not strictly inside what was read (the polygons
  touching its extent grown by its size, `read.region_more`), until every group near the core is
  whole; the groups that come nowhere near are dropped and the local rules run on the rest. The
  view holds every merged shape near the core whole, as the two passes below give it, in one
  task per tile. A tile that meets a wafer-size shape of a windowed layer (below) hands the
  layout to the two passes.
- Wafer-size shapes (a plating network of 500,000 vertices; `read_boxes`) are not read whole
  when every rule on their layer is of a kind that only looks near its findings (width, space,
  separation, overlap, grid, density: `WINDOW_KINDS`): each tile reads the layer's polygons
  touching its window (its other boxes grown by a halo), cuts the shape's pieces at the
  window's border and joins them by a frame around it into one polygon (`TileLayers`: a gap
  of the shape stays a gap of one shape, never a space between two). Cuts and frame lie a
  halo or more from the core, so no finding the tile keeps comes from them. A marker on the
  shape that leaves the core is kept as its part in the core and the client joins the parts
  of all tiles into one marker (`join_parts`, the cut vertices dropped, the stated area the
  whole marker's); a marker edge that runs past the window is followed to its ends from the
  polygons along its line (`full_edges`). Left whole: such a shape on a layer that a rule of
  another kind reads (area, enclosure, size, pitch, angle ...: they measure the whole shape or
  report its whole edges), and two wafer-size shapes of one layer near one tile.
- Each finding has an anchor: the midpoint between its two marker edges (a pair of shapes
  closer than a rule), the centre of the shape for centre rules, else the lower-left corner
  of its marker. Every shape a finding depends on lies within the rule distance of its
  anchor, so the tile whose core holds the anchor sees the finding exactly as the untiled
  check does, and only that tile keeps it: a violation across a border is reported once. The
  anchor lies in the marker's extent, so a marker inside one core is that tile's without it
  (`owned`): anchors are computed only for the markers that cross a core's border.
- Density: each tile adds the area its own merged shapes (those whose lower-left corner is
  in its core) cover in every window; the client sums the windows of the whole layout, whose
  clusters come from the extents of every polygon (each counted by the tile that owns its
  corner), exactly as the untiled check.
- Opens and shorts: each tile builds the conductor pieces of the polygons touching its core
  and places the labels whose point lies in it; every contact between two shapes lies in some
  core, whose tile reads both. The client joins pieces that hold one polygon and the pieces a
  via shape (joined the same way) overlaps below and above, then runs the same checks.
- A flat wafer's plating check: each tile's pieces of plating metal joined like the nets'
  (`wafer_findings_tiled`); isolation reads only the outline and the kerf.
- Run untiled, in one worker task that reads the file itself (never skipped: their
  violations join the tiles' in deck order; that worker's memory is the flat file's, not a
  tile's): a hierarchical wafer's plating and isolation (they read the dies as placed cells),
  the nets of a stack with sidewall vias (a sidewall contact is the area where three layers
  overlap, which no tile border may split), and the family rule kinds (each a whole-layout
  check: a stencil island, a potential plane in one piece, a groove over a pad row).

Both readers give polygons in one canonical order (`read.canonical`, `read.ordered`), so ties
between equally near edges break alike, except on a windowed wafer-size shape: there two
marker edges equally near (at a vertex the closest point sits on) are chosen by the merged
ring's order, which the whole shape and its window do not share, so the marker may name the
other edge of that vertex (same rule, distance and place); a layout that KLayout reads
differently from gdstk (collinear or repeated vertices KLayout drops, placements at odd angles
rounded otherwise) may still give markers whose vertices differ (not covered by the tests).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import resource
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from ..errors import DrcError
from ..pdk import Pdk, Rule
from .density import clusters, density_findings, window_starts, windows
from ..layout import joined_nets
from ..rulekinds import RULE_KINDS, kinds_of, runs_per_top
from .cell import MARK_LAYER, CellLayers, check_cell, marks_exempt, poly_bounds, run_rule, take_polys
from .engine import not_applicable, select_rules, unknown_layers
from .geometry import polygons
from .graph import components
from .connectivity import Terminals, find_opens, find_shorts, join_nets, overlapping_pairs, place_terminals, sort_terminals
from .merge import Shapes, touching_groups
from .read import (FileIndex, Flat, Labels, Layout, concat_polys, layer_key, ordered, read_region, region_bounds,
                   region_is_flat, region_keys, region_more)
from .violation import DrcResult, Finding, Violation
from .waivers import Waiver, apply_waivers, load_waivers

# Rules whose findings depend only on shapes near them (the registry's local, whole-shape and
# per-polygon kinds): checked tile by tile. Density is summed over tiles; the rest runs whole.
LOCAL_KINDS = kinds_of("local") | kinds_of("whole") | kinds_of("polygon")
HALO_MARGIN_UM = 1.0
# `tiles="auto"`: TILES_PER_WORKER tiles per worker (a worker's share in few tasks, and a second
# one to even out the load), more when a tile would hold over AUTO_POLYS_PER_TILE drawn polygons
# (a worker's memory bounded by its tile).
TILES_PER_WORKER = 2
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
    """The tile grid over `bounds` (dbu): tiles of `tile_um`, or (auto) TILES_PER_WORKER per
    worker, more when a tile would hold over AUTO_POLYS_PER_TILE polygons, laid out nx × ny to
    the layout's aspect so that the tiles (and the workers' shares) are alike, never narrower
    than 4 halos (any side is exact; small ones repeat work in the halos)."""
    x0, y0, x1, y1 = bounds
    w, h = max(x1 - x0, 1), max(y1 - y0, 1)
    if tile_um is not None:
        side = max(round(tile_um / dbu_um), 1)
    else:
        count = max(TILES_PER_WORKER * workers, math.ceil(n_polys / AUTO_POLYS_PER_TILE), 1)
        nx = max(1, min(count, round(math.sqrt(count * w / h))))
        ny = math.ceil(count / nx)
        # the cores span one unit past the extent (a shape on its upper edge lies in a core)
        side = max(math.ceil((w + 1) / nx), math.ceil((h + 1) / ny), 4 * halo_dbu, 1)
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


def owned(rule: Rule, found: list[Finding], grid: TileGrid, t: int, dbu_um: float) -> np.ndarray:
    """Whether tile t owns each finding (its anchor in t's core). A finding's anchor lies in its
    marker's extent and `TileGrid.owner` is monotone in x and y, so a finding whose extent has
    both corners in one tile's core belongs to that tile: `anchors` runs only for the others
    (the markers that cross a core's border, or have none)."""
    b = marker_extents(found)
    none = np.isnan(b).any(axis=1)
    b[none] = 0.0
    lo, hi = grid.owner(b[:, :2], dbu_um), grid.owner(b[:, 2:], dbu_um)
    mine = lo == t
    rest = np.flatnonzero((lo != hi) | none)
    if len(rest):
        mine[rest] = grid.owner(anchors(rule, [found[k] for k in rest]), dbu_um) == t
    return mine


def marker_extents(found: list[Finding]) -> np.ndarray:
    """(n, 4) µm: each finding's marker extent (x0, y0, x1, y1 over its region and edges, as
    `Violation.bounds`), NaN for a finding without a marker. Vectorised: the regions' extents in
    one call, the edges' per edge count."""
    if not found:
        return np.zeros((0, 4))
    b = shapely.bounds(np.array([f.region for f in found], object))        # NaN for no region or an empty one
    count = np.array([len(f.edges) if f.edges else 0 for f in found])
    for c in np.unique(count[count > 0]):
        k = np.flatnonzero(count == c)
        e = np.array([found[i].edges for i in k], float).reshape(len(k), int(c), 4)
        xs, ys = e[:, :, 0::2].reshape(len(k), -1), e[:, :, 1::2].reshape(len(k), -1)
        b[k] = np.column_stack([np.fmin(b[k, 0], xs.min(1)), np.fmin(b[k, 1], ys.min(1)),
                                np.fmax(b[k, 2], xs.max(1)), np.fmax(b[k, 3], ys.max(1))])
    return b


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _digest(key: int, xy: np.ndarray) -> bytes:
    """A polygon's identity across tiles: its layer and integer vertices (as KLayout returns them)."""
    return hashlib.blake2b(int(key).to_bytes(8, "little") + np.ascontiguousarray(xy).tobytes(), digest_size=16).digest()


def inside(b: np.ndarray, box: tuple[int, int, int, int], margin: int = 0) -> np.ndarray:
    """Whether each extent (rows of `b`, dbu) lies strictly inside `box` shrunk by `margin`."""
    x0, y0, x1, y1 = box
    return (b[:, 0] > x0 + margin) & (b[:, 1] > y0 + margin) & (b[:, 2] < x1 - margin) & (b[:, 3] < y1 - margin)


def scan_tile(path: str, cell: str, t: int, grid: TileGrid, keys: list[int], bound_keys: list[int], halo: int,
              dbu_um: float) -> dict:
    """First pass over one tile (worker task): the polygons that touch its core, read from the
    file, grouped per layer into touching groups. Returned: the extent and layer of every group
    that reaches within a halo of the core's edge, and for its polygons that other tiles read
    too (extent not strictly inside the core) their identity, so that the client can join the
    groups of all tiles into the layout's merged shapes; with `bound_keys`, the extents of the
    polygons the tile owns (lower-left corner in its core) on those layers."""
    core = grid.core(t)
    flat = read_region(path, cell, {k: core for k in dict.fromkeys(keys + bound_keys)}, dbu_um)
    polys = flat.polys
    bounds = poly_bounds(polys)
    out_b, out_k, out_n, link_g, link_d = [np.zeros((0, 4), np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [], []
    n_groups = 0
    count = 0
    for key in keys:
        sel = np.flatnonzero(polys.key == key)
        if len(sel) == 0:
            continue
        count += len(sel)
        label = touching_groups(polygons(take_polys(polys, polys.key == key), dbu_um))
        g = int(label.max()) + 1
        big = np.iinfo(np.int64).max
        gb = np.stack([np.full(g, big), np.full(g, big), np.full(g, -big), np.full(g, -big)], 1)
        b = bounds[sel]
        for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
            f.at(gb[:, c], label, b[:, c])
        wanted = np.flatnonzero(~inside(gb, core, halo + 1))
        renum = np.full(g, -1, np.int64)
        renum[wanted] = n_groups + np.arange(len(wanted))
        n_groups += len(wanted)
        out_b.append(gb[wanted])
        out_k.append(np.full(len(wanted), key, np.int64))
        out_n.append(np.bincount(label, minlength=g)[wanted])
        for i in np.flatnonzero(~inside(b, core)):
            p = sel[i]
            link_g.append(int(renum[label[i]]))
            link_d.append(_digest(key, polys.xy[polys.offsets[p]:polys.offsets[p + 1]]))
    owned = np.zeros((0, 4), np.int64)
    if bound_keys:
        mine = np.isin(polys.key, bound_keys)
        mine[mine] = grid.owner(bounds[mine, :2].astype(np.float64), 1.0) == t
        owned = bounds[mine]
    return {"count": count, "bbox": np.concatenate(out_b), "key": np.concatenate(out_k), "polys": np.concatenate(out_n),
            "link_group": np.array(link_g, np.int64), "link_digest": link_d, "bounds": owned, "peak_mb": _peak_mb()}


def join_groups(scans: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The merged shapes of the whole layout from the tiles' groups: a group read by two tiles
    (sharing a polygon) is one; returns each joined group's extent (dbu), layer key and about how
    many drawn polygons it holds (a polygon two tiles read counted twice)."""
    sizes = [len(s["key"]) for s in scans]
    base = np.cumsum([0] + sizes[:-1])
    n = int(sum(sizes))
    first: dict[bytes, int] = {}
    src, dst = [], []
    for s, b0 in zip(scans, base):
        for g, d in zip(s["link_group"].tolist(), s["link_digest"]):
            node = int(b0) + g
            other = first.setdefault(d, node)
            if other != node:
                src.append(node)
                dst.append(other)
    count, comp = components(n, src, dst)
    gb = np.concatenate([s["bbox"] for s in scans]) if n else np.zeros((0, 4), np.int64)
    gk = np.concatenate([s["key"] for s in scans]) if n else np.zeros(0, np.int64)
    big = np.iinfo(np.int64).max
    cb = np.stack([np.full(count, big), np.full(count, big), np.full(count, -big), np.full(count, -big)], 1)
    for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        f.at(cb[:, c], comp, gb[:, c])
    ck = np.zeros(count, np.int64)
    ck[comp] = gk
    cn = np.zeros(count, np.int64)
    if n:
        np.add.at(cn, comp, np.concatenate([s["polys"] for s in scans]))
    return cb, ck, cn


def read_boxes(grid: TileGrid, keys: list[int], cb: np.ndarray, ck: np.ndarray, halo: int,
               mark_key: int | None, windowable: set[int] = frozenset(), cn: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per tile and layer key, the box (dbu) a tile reads for its check: its core grown by the
    halo, grown again to hold every merged shape of that layer that comes within the halo of the
    core (so that the tile sees those shapes whole); the MARK layer's box holds all the others.
    A wafer-size shape (wider than WINDOW_TILES tiles, of more than WINDOW_POLYS drawn polygons
    `cn`) of a `windowable` key is not read whole:
    when it is the only one of its layer near the tile, the tile reads the drawn polygons of that
    layer touching its window (every other box of the tile, grown by the halo) and is told so.
    Returns (tiles, keys, 4) boxes, per tile whether any merged shape comes near, and (tiles,
    keys) whether the key is windowed there."""
    nk = len(keys)
    cores = np.array([grid.core(t) for t in range(len(grid))], np.int64)
    boxes = np.repeat((cores + np.array([-halo, -halo, halo, halo]))[:, None, :], nk, axis=1)
    used = np.zeros(len(grid), bool)
    windowed = np.zeros((len(grid), nk), bool)
    col = {k: i for i, k in enumerate(keys)}
    flat_box = boxes.reshape(-1, 4)

    def reach(comps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ix0, ix1 = grid.span(cb[comps, 0] - halo, cb[comps, 2] + halo, 0)
        iy0, iy1 = grid.span(cb[comps, 1] - halo, cb[comps, 3] + halo, 1)
        tile_of, item = _cover(ix0, ix1, iy0, iy1, grid.nx)
        comp = comps[item]
        kcol = np.array([col[int(k)] for k in ck[comp]], np.int64) if len(comp) else np.zeros(0, np.int64)
        return tile_of, comp, tile_of * nk + kcol

    def grow(idx: np.ndarray, comp: np.ndarray) -> None:
        for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
            f.at(flat_box[:, c], idx, cb[comp, c])

    product = np.flatnonzero(ck != (mark_key if mark_key is not None else -1))
    size = np.maximum(cb[:, 2] - cb[:, 0], cb[:, 3] - cb[:, 1])
    big = np.isin(ck, list(windowable)) & (size > WINDOW_TILES * grid.side)
    big &= (cn if cn is not None else np.zeros(len(ck), np.int64)) > WINDOW_POLYS
    small, large = product[~big[product]], product[big[product]]
    if len(small):
        tile_of, comp, idx = reach(small)
        grow(idx, comp)
        used[tile_of] = True
    if len(large):
        tile_of, comp, idx = reach(large)
        used[tile_of] = True
        count = np.bincount(idx, minlength=len(flat_box))
        crowded = count[idx] > 1                  # two wafer-size shapes of a layer near one tile: read whole
        grow(idx[crowded], comp[crowded])
        windowed.reshape(-1)[idx[~crowded]] = True
    others = [i for i in range(nk) if keys[i] != mark_key]
    if windowed.any() and others:
        lo = boxes[:, others, :2].min(axis=1) - halo
        hi = boxes[:, others, 2:].max(axis=1) + halo
        t, k = np.nonzero(windowed)
        boxes[t, k, :2], boxes[t, k, 2:] = lo[t], hi[t]
    if mark_key is not None and mark_key in col:
        m = col[mark_key]
        if others:
            boxes[:, m, :2] = boxes[:, others, :2].min(axis=1)
            boxes[:, m, 2:] = boxes[:, others, 2:].max(axis=1)
    return boxes, used, windowed


def pack_findings(found: list[tuple[str, Finding]]) -> dict:
    """A tile's findings as a few arrays (markers as WKB in one vectorised call, edges as one
    float array): sent to the client several times faster than the findings pickled one by one."""
    edges = [f.edges for _, f in found]
    count = np.array([-1 if e is None else len(e) for e in edges], np.int64)
    flat = [x for e in edges if e for edge in e for x in edge]
    return {"rule": [r for r, _ in found], "message": [f.message for _, f in found],
            "region": shapely.to_wkb(np.array([f.region for _, f in found], object)) if found else np.zeros(0, object),
            "edge_count": count, "edges": np.array(flat, np.float64)}


def packed_violations(pack: dict, cell: str) -> tuple[list[Violation], np.ndarray]:
    """The violations of cell `cell` a tile's packed findings hold (`pack_findings`, exact: WKB
    keeps every coordinate bit for bit), in the pack's order, and each marker's extent ((n, 4)
    µm, as `Violation.bounds`; zeros for none): built straight from the arrays, the extents
    in a few vectorised calls (the client makes them while other tiles still run)."""
    n = len(pack["rule"])
    if not n:
        return [], np.zeros((0, 4))
    regions = shapely.from_wkb(pack["region"])
    count = pack["edge_count"]
    flat = pack["edges"].reshape(-1, 4)
    start = np.zeros(n + 1, np.int64)
    np.cumsum(np.maximum(count, 0), out=start[1:])
    b = shapely.bounds(regions)                   # NaN for no region or an empty one
    has = np.flatnonzero(count > 0)
    if len(has):                                  # each finding's edges are rows start[k]:start[k + 1]
        at = start[has]
        b[has, 0] = np.fmin(b[has, 0], np.minimum.reduceat(np.minimum(flat[:, 0], flat[:, 2]), at))
        b[has, 1] = np.fmin(b[has, 1], np.minimum.reduceat(np.minimum(flat[:, 1], flat[:, 3]), at))
        b[has, 2] = np.fmax(b[has, 2], np.maximum.reduceat(np.maximum(flat[:, 0], flat[:, 2]), at))
        b[has, 3] = np.fmax(b[has, 3], np.maximum.reduceat(np.maximum(flat[:, 1], flat[:, 3]), at))
    rows = flat.tolist()
    out = []
    for rule, message, region, c, s0 in zip(pack["rule"], pack["message"], regions.tolist(), count.tolist(), start.tolist()):
        edges = None if c < 0 else tuple(tuple(e) for e in rows[s0:s0 + c])
        out.append(Violation(rule, cell, message, region, edges))
    return out, np.nan_to_num(b, nan=0.0)


def in_marker_order(placed: list[tuple[list[Violation], np.ndarray]], rule_names: list[str]) -> dict[str, list[Violation]]:
    """The tiles' violations (`packed_violations`) per rule in marker order: by the marker's
    extent (x0, y0, x1, y1), then message, ties in the order given (tiles return their findings
    in any order, the result lists them in this one)."""
    vs = [v for part, _ in placed for v in part]
    if not vs:
        return {}
    b = np.concatenate([e for _, e in placed])
    index = {r: i for i, r in enumerate(rule_names)}
    rank = np.array([index[v.rule] for v in vs], np.int64)
    order = np.lexsort((np.array([v.message for v in vs]), b[:, 3], b[:, 2], b[:, 1], b[:, 0], rank))
    out: dict[str, list[Violation]] = {}
    for k in order.tolist():
        out.setdefault(vs[k].rule, []).append(vs[k])
    return out


class TileLayers(CellLayers):
    """A tile's view in which each windowed layer's wafer-size shape (`read_boxes`) is read only
    in the tile's window and made one polygon again: the pieces the window leaves of it (the shape
    joins them outside) cut at the window's border and joined by a frame around the window, so that
    no check takes two of its pieces for two shapes or a gap of the shape for a space between
    shapes. The frame and the cuts lie a halo or more from the core: they take part in no finding
    the tile keeps. Shapes cut by the window that come nowhere within the halo of the core are left
    out for the same reason."""

    def __init__(self, flat: Flat, pdk: Pdk, marks: bool, windows: dict[str, tuple[float, float, float, float]],
                 core_um: tuple[float, float, float, float], halo_um: float) -> None:
        super().__init__(flat, pdk, marks=marks)
        self.windows = windows
        self.core_um = core_um
        self.halo_um = halo_um
        self.big: dict[str, shapely.Geometry] = {}

    def merged(self, name: str) -> Shapes:
        """The layer merged (`CellLayers.merged`), a windowed layer's wafer-size shape joined by the frame."""
        done = name in self._merged
        shapes = super().merged(name)
        if done or name not in self.windows or not len(shapes):
            return shapes
        x0, y0, x1, y1 = self.windows[name]
        b = shapely.bounds(shapes.geoms)
        cut = (b[:, 0] < x0) | (b[:, 1] < y0) | (b[:, 2] > x1) | (b[:, 3] > y1)
        if cut.any():
            near = np.zeros(len(shapes), bool)
            near[cut] = shapely.dwithin(shapes.geoms[cut], shapely.box(*self.core_um), self.halo_um)
            joined = np.empty(0, object)
            if near.any():
                f = self.halo_um
                frame = shapely.difference(shapely.box(x0 - f, y0 - f, x1 + f, y1 + f), shapely.box(x0, y0, x1, y1))
                inside = shapely.clip_by_rect(shapes.geoms[near], x0, y0, x1, y1)
                joined = shapely.get_parts(shapely.union_all(np.append(inside, frame)))
                joined = joined[shapely.get_type_id(joined) == 3]
                self.big[name] = shapely.multipolygons(joined)
            shapes = Shapes.of(np.concatenate([shapes.geoms[~cut], joined]))
            self._merged[name] = shapes
        return shapes


def _edge_layers(rule: Rule) -> tuple[str, str]:
    """The layer of each of a pair finding's two marker edges (the pair checks put the rule's layer first)."""
    return rule.layer, rule.other or rule.layer


def _pair_anchor(edges, slot: int, reach: float) -> np.ndarray:
    """(1, 2) µm: the anchor of a pair finding whose edge `slot` a tile saw cut by its window:
    that edge taken only within `reach` of the other one (a part every tile that sees the pair
    sees alike), then midway between the closest points (as `anchors`)."""
    other = edges[1 - slot]
    x0, y0 = min(other[0], other[2]) - reach, min(other[1], other[3]) - reach
    x1, y1 = max(other[0], other[2]) + reach, max(other[1], other[3]) + reach
    near = shapely.clip_by_rect(shapely.linestrings([edges[slot][:2], edges[slot][2:]]), x0, y0, x1, y1)
    if near.is_empty:
        near = shapely.linestrings([edges[slot][:2], edges[slot][2:]])
    ends = shapely.get_coordinates(shapely.shortest_line(near, shapely.linestrings([other[:2], other[2:]])))
    return ((ends[0] + ends[1]) / 2)[None, :]


def _strictly_inside(edge: tuple[float, float, float, float], box: tuple[float, float, float, float]) -> bool:
    x0, y0, x1, y1 = box
    return all(x0 < x < x1 and y0 < y < y1 for x, y in ((edge[0], edge[1]), (edge[2], edge[3])))


def check_tile(path: str, cell: str, t: int, grid: TileGrid, boxes: dict[int, tuple[int, int, int, int]],
               dbu_um: float, pdk: Pdk, local: list[Rule], density: list[Rule], exempt: bool,
               extents: dict[str, list[tuple[float, float, float, float]]], windowed: tuple[int, ...] = (),
               halo_um: float = 0.0) -> dict:
    """Second pass over one tile (worker task): read its view from the file (`read_boxes`), run
    the local rules, keep the findings it owns; add up its own merged shapes' area per density
    window (`extents`: per density rule, the clusters' extents). `windowed`: the layer keys whose
    wafer-size shape the tile reads only in its window (`TileLayers`); a finding on such a shape
    is kept as the part of its marker in the core when the marker leaves the core (joined with
    the other tiles' parts by the client), and a marker edge that may run on past the window is
    returned to be followed to its ends (`full_edges`)."""
    flat = read_region(path, cell, boxes, dbu_um)
    core = tuple(v * dbu_um for v in grid.core(t))
    if windowed:
        windows = {n: tuple(v * dbu_um for v in boxes[k]) for n in pdk.layers
                   if (k := layer_key(*pdk.layer(n).gds)) in windowed}
        cl: CellLayers = TileLayers(flat, pdk, exempt, windows, core, halo_um)
    else:
        cl = CellLayers(flat, pdk, marks=exempt)
    core_box = shapely.box(*core)
    found: list[tuple[str, Finding]] = []
    parts: list[tuple[str, shapely.Geometry, str]] = []
    follow: list[tuple[str, Finding, list[tuple[int, str]]]] = []
    for rule in local:
        fs = run_rule(rule, cl)
        mine = owned(rule, fs, grid, t, dbu_um)
        big = {n: cl.big[n] for n in rule_layers(rule) if isinstance(cl, TileLayers) and n in cl.big}
        if not big:
            found.extend((rule.name, f) for f, m in zip(fs, mine) if m)
            continue
        touched = shapely.union_all(list(big.values()))
        for f, m in zip(fs, mine):
            if f.region is not None and not f.region.is_empty and shapely.intersects(f.region, touched):
                if shapely.covered_by(f.region, core_box):
                    if m:
                        found.append((rule.name, f))
                else:
                    piece = shapely.intersection(f.region, core_box)
                    if shapely.area(piece) > 0:
                        parts.append((rule.name, piece, f.message))
            else:
                open_ends = []
                if f.edges and len(f.edges) == 2:
                    for slot, name in enumerate(_edge_layers(rule)):
                        if name in big and not _strictly_inside(f.edges[slot], cl.windows[name]):
                            open_ends.append((slot, name))
                if len(open_ends) == 1:      # its owner from the part of the cut edge near the other one
                    m = grid.owner(_pair_anchor(f.edges, open_ends[0][0], rule_distance(rule) + HALO_MARGIN_UM), dbu_um)[0] == t
                if not m:
                    continue
                if open_ends:
                    follow.append((rule.name, f, open_ends))
                else:
                    found.append((rule.name, f))
    cover: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
    for rule in density:
        geoms = cl.merged(rule.layer).geoms
        big = cl.big.get(rule.layer) if isinstance(cl, TileLayers) else None
        if big is not None:
            geoms = geoms[~shapely.intersects(geoms, big)]
        if len(geoms):
            geoms = geoms[grid.owner(shapely.bounds(geoms)[:, :2], dbu_um) == t]
        if big is not None:                       # the wafer-size shape: the part in the core
            piece = shapely.intersection(big, core_box)
            if shapely.area(piece) > 0:
                geoms = np.append(geoms, np.array([piece], object)) if len(geoms) else np.array([piece], object)
        cover[rule.name] = (*window_cover_many(geoms, extents[rule.name], rule.window, rule.step), len(geoms))
    return {"found": pack_findings(found), "parts": parts, "follow": follow, "cover": cover, "peak_mb": _peak_mb()}


def _owned(rule: Rule, cl: CellLayers, grid: TileGrid, t: int, dbu_um: float) -> list[Finding]:
    """The findings of one local rule on a tile's view that the tile owns (anchor in its core)."""
    fs = run_rule(rule, cl)
    mine = owned(rule, fs, grid, t, dbu_um)
    return [f for f, m in zip(fs, mine) if m]


# A one-pass tile grows its read this many times at most before it leaves the layout to the
# two-pass check (a shape that winds far out of its tile).
ONE_PASS_ROUNDS = 12


def _touching(geoms: np.ndarray, key: np.ndarray, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """(2, k): the candidate pairs (extents meeting) of two polygons of one layer that touch."""
    ok = (src != dst) & (key[src] == key[dst])
    src, dst = src[ok], dst[ok]
    ok = shapely.intersects(geoms[src], geoms[dst])
    return np.stack([src[ok], dst[ok]])


def one_pass_tile(path: str, cell: str, t: int, grid: TileGrid, keys: list[int], mark_key: int | None, halo: int,
                  dbu_um: float, pdk: Pdk, local: list[Rule], exempt: bool) -> dict | None:
    """One tile checked in one task (worker task), when no density rule needs the layout's
    clusters first: the view is grown here until it holds every merged shape that comes within
    the halo of the core whole (what `scan_tile`, `join_groups` and `read_boxes` give the
    two-pass check). Per layer the tile reads the core grown by the halo; each touching group
    near the core with a polygon not strictly inside what was read may go on: the polygons
    touching that polygon's extent are read too (`read.region_more`), until no group near the
    core can. Groups that come nowhere near are dropped before the check. None (the two-pass
    check takes over) when such a group is a wafer-size shape that the two-pass check reads in
    windows (`read_boxes`) or the growth takes more than ONE_PASS_ROUNDS rounds."""
    core = grid.core(t)
    start = (core[0] - halo, core[1] - halo, core[2] + halo, core[3] + halo)
    product = [k for k in keys if k != mark_key]
    polys = read_region(path, cell, {k: start for k in product}, dbu_um).polys
    interior = inside(poly_bounds(polys), start)        # every polygon touching it has been read
    seen = {k: np.array([start], np.int64) for k in product}
    windowable = list(windowable_keys(pdk, local))
    geoms = polygons(polys, dbu_um)
    tree = shapely.STRtree(geoms)
    src, dst = tree.query(geoms)
    pairs = [_touching(geoms, polys.key, src, dst)]
    first = len(geoms)                                   # the polygons after the first read: in `tree`
    big = np.iinfo(np.int64).max
    for rounds in range(ONE_PASS_ROUNDS + 1):
        n = len(polys)
        bounds = poly_bounds(polys)
        edges = np.concatenate(pairs, axis=1)
        label = components(n, edges[0], edges[1])[1]
        g = int(label.max()) + 1 if n else 0
        gb = np.stack([np.full(g, big), np.full(g, big), np.full(g, -big), np.full(g, -big)], 1)
        for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
            f.at(gb[:, c], label, bounds[:, c])
        near = (gb[:, 0] <= start[2]) & (gb[:, 2] >= start[0]) & (gb[:, 1] <= start[3]) & (gb[:, 3] >= start[1])
        size = np.maximum(gb[:, 2] - gb[:, 0], gb[:, 3] - gb[:, 1])
        gkey = np.zeros(g, np.int64)
        gkey[label] = polys.key
        wafer = near & (size > WINDOW_TILES * grid.side) & (np.bincount(label, minlength=g) > WINDOW_POLYS) & np.isin(gkey, windowable)
        if wafer.any():                                  # read in windows by the two-pass check
            return None
        keep = near[label]
        open_groups = np.unique(label[keep & ~interior])
        if not len(open_groups):
            break
        if rounds == ONE_PASS_ROUNDS:
            return None
        # each open group's extent grown by its own size (at least a halo): few rounds even for long ones
        grown = gb[open_groups] + np.maximum(size[open_groups], halo)[:, None] * np.array([-1, -1, 1, 1])
        more = {int(k): grown[gkey[open_groups] == k] for k in np.unique(gkey[open_groups])}
        added = region_more(path, cell, more, seen, dbu_um).polys
        new = polygons(added, dbu_um)
        polys = concat_polys([polys, added])
        geoms = np.concatenate([geoms, new])
        interior = np.concatenate([interior, np.zeros(len(added), bool)])
        if len(new):                                     # the new polygons against the first read, the later ones and each other
            q, o = tree.query(new)
            later = shapely.STRtree(geoms[first:])
            q2, o2 = later.query(new)
            src = np.concatenate([o, o2 + first])
            dst = np.concatenate([q, q2]) + n
            pairs.append(_touching(geoms, polys.key, src, dst))
        b = poly_bounds(polys)
        for key, boxes in more.items():
            cand = np.flatnonzero((polys.key == key) & ~interior)
            cb = b[cand]
            for x0, y0, x1, y1 in boxes.tolist():
                interior[cand[(cb[:, 0] > x0) & (cb[:, 1] > y0) & (cb[:, 2] < x1) & (cb[:, 3] < y1)]] = True
            seen[key] = np.concatenate([seen[key], boxes])
    polys = take_polys(polys, keep)
    if exempt and mark_key is not None and len(polys):
        b = poly_bounds(polys)
        box = tuple(int(v) for v in (min(b[:, 0].min(), start[0]), min(b[:, 1].min(), start[1]),
                                     max(b[:, 2].max(), start[2]), max(b[:, 3].max(), start[3])))
        polys = concat_polys([polys, read_region(path, cell, {mark_key: box}, dbu_um).polys])
    cl = CellLayers(Flat(cell, ordered(polys), Labels.empty(), dbu_um), pdk, marks=exempt)
    found = [(rule.name, f) for rule in local for f in _owned(rule, cl, grid, t, dbu_um)] if len(polys) else []
    return {"found": pack_findings(found), "parts": [], "follow": [], "cover": {}, "peak_mb": _peak_mb()}


# The rule kinds that see a wafer-size shape only in each tile's window (`TileLayers`): their
# findings depend on the shape only near them (distances, openings and closings by at most the
# rule's value), or read its drawn polygons one by one (grid); density adds up areas. A layer
# that a rule of any other kind reads has its wafer-size shapes read whole.
WINDOW_KINDS = frozenset({"width", "space", "separation", "overlap", "grid", "density"})
# A merged shape wider than this many tiles and of more drawn polygons than WINDOW_POLYS is
# wafer-size: read in windows when its layer allows (a smaller one is read whole by the tiles
# near it, which is exact to the marker even where edges tie, see the module docstring).
WINDOW_TILES = 2
WINDOW_POLYS = 5_000


def windowable_keys(pdk: Pdk, rules: list[Rule]) -> set[int]:
    """The layer keys whose wafer-size shapes every rule of `rules` reading them sees in windows."""
    ok: dict[int, bool] = {}
    for r in rules:
        for n in rule_layers(r):
            if n in pdk.layers:
                k = layer_key(*pdk.layer(n).gds)
                ok[k] = ok.get(k, True) and r.kind in WINDOW_KINDS
    return {k for k, v in ok.items() if v}


_CUT_TOL_UM = 1e-9


def _without_cut_vertices(geom: shapely.Geometry, xs: np.ndarray, ys: np.ndarray) -> shapely.Geometry:
    """`geom` without the vertices that joining parts cut at tile borders (x in `xs` or y in
    `ys`, µm) left in the middle of straight edges."""
    def ring(coords: np.ndarray) -> np.ndarray:
        pts = coords[:-1]
        if len(pts) < 4:
            return coords
        prev, nxt = np.roll(pts, 1, axis=0), np.roll(pts, -1, axis=0)
        cross = (pts[:, 0] - prev[:, 0]) * (nxt[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt[:, 0] - pts[:, 0])
        on_x = np.abs(pts[:, 0][:, None] - xs[None, :]).min(axis=1) < _CUT_TOL_UM if len(xs) else np.zeros(len(pts), bool)
        on_y = np.abs(pts[:, 1][:, None] - ys[None, :]).min(axis=1) < _CUT_TOL_UM if len(ys) else np.zeros(len(pts), bool)
        drop = (np.abs(cross) < 1e-12) & (on_x | on_y)
        keep = pts[~drop]
        return np.vstack([keep, keep[:1]])

    polys = []
    for p in shapely.get_parts(geom):
        if shapely.get_type_id(p) != 3:
            continue
        shell = ring(np.asarray(p.exterior.coords))
        holes = [ring(np.asarray(h.coords)) for h in p.interiors]
        polys.append(shapely.Polygon(shell, holes))
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)


def join_parts(parts: list[tuple[shapely.Geometry, str]], grid: TileGrid, dbu_um: float) -> list[Finding]:
    """The findings whose markers tiles returned in parts (each the part in its core): parts that
    meet are one marker, the cut vertices at tile borders dropped; the area a message states is
    the whole marker's."""
    if not parts:
        return []
    pieces = np.array([p for p, _ in parts], object)
    whole = shapely.get_parts(shapely.union_all(pieces))
    xs = (grid.x0 + grid.side * np.arange(grid.nx + 1)) * dbu_um
    ys = (grid.y0 + grid.side * np.arange(grid.ny + 1)) * dbu_um
    hit, which = shapely.STRtree(pieces).query(whole, predicate="intersects")
    first = np.full(len(whole), -1, np.int64)
    first[hit[::-1]] = which[::-1]
    out = []
    for k, region in enumerate(whole):
        if shapely.get_type_id(region) != 3:
            continue
        region = _without_cut_vertices(region, xs, ys)
        message = parts[int(first[k])][1]
        message = re.sub(r"[-+0-9.eE]+ µm²", f"{shapely.area(region):.4g} µm²", message, count=1)
        out.append(Finding(message, region))
    return out


def full_edges(path: str, cell: str, pdk: Pdk, name: str, edges: list[tuple[float, float, float, float]],
               dbu_um: float, bounds: tuple[int, int, int, int], exempt: bool) -> list[tuple[float, float, float, float]]:
    """Each marker edge (µm) on layer `name` that a tile saw only up to its window, followed to
    its ends (worker task): the edge of the layer's merged shapes that holds it, from the drawn
    polygons touching a stretch of its line long enough to hold that edge whole (the merged
    boundary on a line depends only on them); its direction as given."""
    key = layer_key(*pdk.layer(name).gds)
    mark = layer_key(*pdk.layer(pdk.mark_area_layer() or MARK_LAYER).gds) if exempt else None
    out = []
    for e in edges:
        p0, p1 = np.array(e[:2]), np.array(e[2:])
        d = p1 - p0
        length = float(np.hypot(*d))
        u = d / length
        mid = (p0 + p1) / 2
        reach = max(length, 1.0)
        while True:
            a, b = p0 - reach * u, p1 + reach * u
            box = (math.floor(min(a[0], b[0]) / dbu_um) - 1, math.floor(min(a[1], b[1]) / dbu_um) - 1,
                   math.ceil(max(a[0], b[0]) / dbu_um) + 1, math.ceil(max(a[1], b[1]) / dbu_um) + 1)
            box = (max(box[0], bounds[0]), max(box[1], bounds[1]), min(box[2], bounds[2]), min(box[3], bounds[3]))
            keys = {key: box} | ({mark: bounds} if mark is not None else {})
            cl = CellLayers(read_region(path, cell, keys, dbu_um), pdk, marks=exempt)
            best = _edge_through(cl.merged(name).geoms, mid, u)
            if best is None:
                raise DrcError(f"layer {name}: a marker edge {e} lies on no edge of the merged shapes (tiled check)")
            q0, q1 = best
            done = all(box[0] * dbu_um < q[0] < box[2] * dbu_um or q[0] <= bounds[0] * dbu_um or q[0] >= bounds[2] * dbu_um
                       for q in (q0, q1)) and \
                all(box[1] * dbu_um < q[1] < box[3] * dbu_um or q[1] <= bounds[1] * dbu_um or q[1] >= bounds[3] * dbu_um
                    for q in (q0, q1))
            if done or box == bounds:
                if np.dot(q1 - q0, u) < 0:
                    q0, q1 = q1, q0
                out.append((float(q0[0]), float(q0[1]), float(q1[0]), float(q1[1])))
                break
            reach *= 4
    return out


def _edge_through(geoms: np.ndarray, point: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The polygon edge of `geoms` that holds `point` and runs along direction `u`, if any."""
    rings = shapely.get_rings(geoms)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    d = b - a
    rel = point - a
    scale = np.hypot(d[:, 0], d[:, 1])
    # sines of the angles between the edge and `u`, and between the edge and the point: zero
    # up to rounding (the coordinates are the same floats)
    along = np.abs(d[:, 0] * u[1] - d[:, 1] * u[0]) <= 1e-9 * scale
    on = np.abs(rel[:, 0] * d[:, 1] - rel[:, 1] * d[:, 0]) <= 1e-9 * scale * np.hypot(rel[:, 0], rel[:, 1]) + 1e-12
    t = np.einsum("ij,ij->i", rel, d) / np.maximum(scale * scale, 1e-30)
    ok = along & on & (t > 0) & (t < 1)
    k = np.flatnonzero(ok)
    if not len(k):
        return None
    return a[k[0]], b[k[0]]


def conductor_keys(pdk: Pdk) -> list[str]:
    """The layer names the connectivity checks read: the stack's conductors and vias."""
    stack = pdk.connectivity
    return [n for n in dict.fromkeys([*stack.conductors, *(v.via for v in stack.vias)]) if n in pdk.layers]


def _shared_links(cl: CellLayers, name: str, targets: np.ndarray, core: tuple[int, int, int, int]) -> tuple[np.ndarray, list[bytes]]:
    """For the polygons of layer `name` that other tiles read too: which of `targets` (the
    merged shapes of that layer, in order) holds each, and the polygon's identity."""
    polys = cl.raw_all(name)
    if len(polys) == 0 or len(targets) == 0:
        return np.zeros(0, np.int64), []
    shared = ~inside(poly_bounds(polys), core)
    if not shared.any():
        return np.zeros(0, np.int64), []
    sel = take_polys(polys, shared)
    pts = shapely.point_on_surface(polygons(sel, cl.flat.dbu_um))
    p, k = shapely.STRtree(targets).query(pts, predicate="intersects")
    first = np.full(len(pts), -1, np.int64)
    first[p[::-1]] = k[::-1]
    return first, [_digest(int(sel.key[i]), sel.xy[sel.offsets[i]:sel.offsets[i + 1]]) for i in range(len(sel))]


def connect_tile(path: str, cell: str, t: int, grid: TileGrid, pdk: Pdk, dbu_um: float, text_keys: list[int]) -> dict:
    """Connectivity of one tile (worker task): the conductor pieces the polygons touching its
    core make, each piece's extent, for the polygons other tiles read too the piece that holds
    each (to join pieces across tiles), each via shape's lower and upper pieces, and the
    terminals (net labels) and JOIN labels whose point lies in its core. Every contact between
    two shapes lies in some tile's core, and that tile reads both shapes whole."""
    stack = pdk.connectivity
    core = grid.core(t)
    keys = {layer_key(*pdk.layer(n).gds): core for n in conductor_keys(pdk)}
    for n in stack.label_layers:
        if n in pdk.layers:
            keys[layer_key(pdk.layer(n).gds[0], pdk.labels.text_datatype)] = core
    keys.update({k: core for k in text_keys})
    flat = read_region(path, cell, keys, dbu_um)
    cl = CellLayers(flat, pdk, marks=False)
    pieces = cl.pieces
    pb = np.zeros((pieces.count, 4))
    if pieces.count:
        b = shapely.bounds(pieces.geoms)
        pb[:, :2], pb[:, 2:] = np.inf, -np.inf
        for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
            f.at(pb[:, c], pieces.piece, b[:, c])
    link_piece, link_digest = [], []
    for name in stack.conductors:
        if name not in pdk.layers:
            continue
        idx = pieces.of_layer(name)
        which, digests = _shared_links(cl, name, pieces.geoms[idx], core)
        link_piece.append(pieces.piece[idx[which]])
        link_digest.extend(digests)
    vias = []
    for via in stack.vias:
        if via.via not in pdk.layers or via.lower not in pdk.layers or via.upper not in pdk.layers:
            vias.append(None)
            continue
        cut = cl.merged_all(via.via).geoms
        lo = pieces.of_layer(via.lower)
        up = pieces.of_layer(via.upper)
        v_lo, i_lo = overlapping_pairs(cut, pieces.geoms[lo])
        v_up, i_up = overlapping_pairs(cut, pieces.geoms[up])
        which, digests = _shared_links(cl, via.via, cut, core)
        vias.append({"n": len(cut), "lower": (v_lo, pieces.piece[lo[i_lo]]), "upper": (v_up, pieces.piece[up[i_up]]),
                     "link": (which, digests)})
    labels = {}
    for n in stack.label_layers:
        text, xy = cl.labels(n)
        mine = grid.owner(np.asarray(xy, float).reshape(-1, 2), dbu_um) == t
        labels[n] = (text[mine], xy[mine])
    terms = place_terminals(pieces, labels)
    joins = []
    if "TEXT" in pdk.layers:
        for text, x, y in cl.texts("TEXT"):
            if (j := joined_nets(text)) is not None and grid.owner(np.array([[x, y]]), dbu_um)[0] == t:
                joins.append(j)
    return {"count": pieces.count, "bounds": pb, "link_piece": np.concatenate(link_piece) if link_piece else np.zeros(0, np.int64),
            "link_digest": link_digest, "vias": vias, "terms": terms, "joins": joins, "peak_mb": _peak_mb()}


@dataclass(frozen=True)
class JoinedPieces:
    """The layout's conductor pieces joined from the tiles' (what the opens and shorts checks
    ask of them: each piece's extent, µm)."""

    extent: np.ndarray      # (pieces, 4)

    def bounds(self, piece: int) -> tuple[float, float, float, float]:
        """Extent of one piece (µm)."""
        x0, y0, x1, y1 = self.extent[piece].tolist()
        return x0, y0, x1, y1


def _union(n: int, src: list[np.ndarray], dst: list[np.ndarray]) -> np.ndarray:
    """Connected component of each of `n` nodes joined by the edges src[k][i]–dst[k][i]."""
    s = np.concatenate(src) if src else np.zeros(0, np.int64)
    d = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    if n == 0:
        return np.zeros(0, np.int64)
    return components(n, s, d)[1]


def _digest_edges(nodes: np.ndarray, digests: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Edges joining nodes that hold one polygon (equal identity)."""
    first: dict[bytes, int] = {}
    src, dst = [], []
    for node, d in zip(nodes.tolist(), digests):
        other = first.setdefault(d, node)
        if other != node:
            src.append(node)
            dst.append(other)
    return np.array(src, np.int64), np.array(dst, np.int64)


def join_connectivity(parts: list[dict], pdk: Pdk) -> tuple[JoinedPieces, Terminals, list[list[str]]]:
    """The whole layout's pieces and terminals from the tiles' (`connect_tile`), exactly as the
    untiled check makes them: pieces that hold one polygon are one; a via shape (joined across
    tiles the same way) joins every lower piece to every upper piece it overlaps, when it
    overlaps both."""
    base = np.cumsum([0] + [p["count"] for p in parts[:-1]]).astype(np.int64)
    n = int(sum(p["count"] for p in parts))
    src, dst = [], []
    s, d = _digest_edges(np.concatenate([p["link_piece"] + b for p, b in zip(parts, base)]) if parts else np.zeros(0, np.int64),
                         [x for p in parts for x in p["link_digest"]])
    src.append(s)
    dst.append(d)
    for k in range(len(pdk.connectivity.vias)):
        per = [p["vias"][k] for p in parts]
        if any(v is None for v in per):
            continue
        vbase = np.cumsum([0] + [v["n"] for v in per[:-1]]).astype(np.int64)
        nv = int(sum(v["n"] for v in per))
        vs, vd = _digest_edges(np.concatenate([v["link"][0] + b for v, b in zip(per, vbase)]),
                               [x for v in per for x in v["link"][1]])
        vcomp = _union(nv, [vs], [vd])
        lo_v = np.concatenate([vcomp[v["lower"][0] + vb] for v, vb in zip(per, vbase)])
        lo_p = np.concatenate([v["lower"][1] + b for v, b in zip(per, base)])
        up_v = np.concatenate([vcomp[v["upper"][0] + vb] for v, vb in zip(per, vbase)])
        up_p = np.concatenate([v["upper"][1] + b for v, b in zip(per, base)])
        both = np.intersect1d(lo_v, up_v)
        keep_lo, keep_up = np.isin(lo_v, both), np.isin(up_v, both)
        via_of = np.concatenate([lo_v[keep_lo], up_v[keep_up]])
        piece_of = np.concatenate([lo_p[keep_lo], up_p[keep_up]])
        if len(via_of):
            rep = np.full(int(vcomp.max()) + 1, -1, np.int64)
            rep[via_of[::-1]] = piece_of[::-1]
            src.append(piece_of)
            dst.append(rep[via_of])
    comp = _union(n, src, dst)
    count = int(comp.max()) + 1 if n else 0
    ext = np.zeros((count, 4))
    ext[:, :2], ext[:, 2:] = np.inf, -np.inf
    if n:
        b = np.concatenate([p["bounds"] for p in parts])
        for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
            f.at(ext[:, c], comp, b[:, c])
    ts = [p["terms"] for p in parts]
    piece = np.concatenate([np.where(t.piece >= 0, comp[np.maximum(t.piece, 0) + b] if n else -1, -1)
                            for t, b in zip(ts, base)]) if ts else np.zeros(0, np.int64)
    terms = Terminals(np.concatenate([t.net for t in ts]), np.concatenate([t.layer for t in ts]),
                      np.concatenate([t.xy for t in ts]).reshape(-1, 2), piece.astype(np.int64))
    terms = sort_terminals(terms, list(pdk.connectivity.label_layers))
    return JoinedPieces(ext), terms, [j for p in parts for j in p["joins"]]


def tiles_connectivity(rule: Rule) -> bool:
    """Whether a rule is an opens or shorts check that runs tile by tile (the wafer's plating
    and isolation checks read the hierarchy whole; a sidewall via's contact needs the area of
    three layers' overlap, not split across tiles)."""
    return rule.kind == "connectivity" and rule.check in ("opens", "shorts") and not runs_per_top(rule)


def plate_tile(path: str, cell: str, t: int, grid: TileGrid, pdk: Pdk, dbu_um: float, band: shapely.Geometry,
               whole: tuple[int, int, int, int]) -> dict:
    """The plating check's part of one tile of a flat wafer (worker task): the pieces of
    plating-network metal (`wafer.checks.network_layers`; shapes inside MARK areas left out,
    every MARK shape of the file read) that the polygons touching its core make, each piece's
    extent (µm) and whether it reaches the wafer edge `band`, and for the polygons other tiles
    read too the piece that holds each."""
    from ..wafer.checks import MARK_LAYER as WAFER_MARK, _components, _without_marks, network_layers

    core = grid.core(t)
    keys = {layer_key(*pdk.layer(n).gds): core for n in network_layers(pdk) if n in pdk.layers}
    mark_key = layer_key(*pdk.layer(WAFER_MARK).gds) if WAFER_MARK in pdk.layers else None
    if mark_key is not None:
        keys[mark_key] = whole
    flat = read_region(path, cell, keys, dbu_um)
    polys = flat.polys
    marks = polygons(polys.select(mark_key), dbu_um) if mark_key is not None else np.empty(0, object)
    metal = np.asarray(_without_marks(list(polygons(take_polys(polys, polys.key != (mark_key if mark_key is not None else -1)),
                                                    dbu_um)), list(marks)), object)
    comp = _components(metal)
    n = int(comp.max()) + 1 if len(comp) else 0
    b = shapely.bounds(metal) if len(metal) else np.zeros((0, 4))
    ext = np.zeros((n, 4))
    ext[:, :2], ext[:, 2:] = np.inf, -np.inf
    for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        f.at(ext[:, c], comp, b[:, c])
    shapely.prepare(band)
    edge = np.zeros(n, bool)
    if len(metal):
        edge[comp[shapely.intersects(band, metal)]] = True
    shared = np.flatnonzero(~inside(np.rint(b / dbu_um).astype(np.int64), core)) if len(metal) else np.zeros(0, np.int64)
    digests = [hashlib.blake2b(shapely.to_wkb(metal[i]), digest_size=16).digest() for i in shared.tolist()]
    return {"count": n, "bounds": ext, "edge": edge, "link_piece": comp[shared], "link_digest": digests, "peak_mb": _peak_mb()}


def wafer_findings_tiled(client, path: str, name: str, grid: TileGrid, pdk: Pdk, dbu: float,
                         bounds: tuple[int, int, int, int], rules: list[Rule]) -> tuple[dict[str, list[Finding]], float]:
    """The plating and isolation checks of a flat wafer (its top places nothing), as
    `wafer.checks` makes them on the flattened top: isolation reads only the outline and the saw
    kerf; plating joins the tiles' metal pieces (`plate_tile`) and reports each joined piece that
    does not reach the wafer edge (the wording is `wafer.checks.check_plating`'s)."""
    from ..wafer.checks import KERF_LAYER, WAFER_LAYER, WaferGeometry, _outline_of, isolation_findings

    whole = {layer_key(*pdk.layer(n).gds): bounds for n in (WAFER_LAYER, KERF_LAYER) if n in pdk.layers}
    flat = read_region(path, name, whole, dbu)
    outline = _outline_of(list(polygons(flat.polys.select(layer_key(*pdk.layer(WAFER_LAYER).gds)), dbu))) \
        if WAFER_LAYER in pdk.layers else None
    out: dict[str, list[Finding]] = {r.name: [] for r in rules}
    if outline is None:                       # not a wafer: nothing to check (as wafer_findings)
        return out, 0.0
    peak = 0.0
    for r in rules:
        if r.check == "isolation":
            kerf = list(polygons(flat.polys.select(layer_key(*pdk.layer(KERF_LAYER).gds)), dbu)) if KERF_LAYER in pdk.layers else []
            g = WaferGeometry(name, [], [], kerf, outline, pdk.grid_um)
            out[r.name] = [Finding(f.message, f.region, f.edges) for f in isolation_findings(g, pdk, name)]
            continue
        band = outline.exterior.buffer(2 * pdk.grid_um, quad_segs=1)
        parts = client.gather([client.submit(plate_tile, path, name, t, grid, pdk, dbu, band, bounds, pure=False)
                               for t in range(len(grid))])
        peak = max(peak, max(p["peak_mb"] for p in parts))
        base = np.cumsum([0] + [p["count"] for p in parts[:-1]]).astype(np.int64)
        n = int(sum(p["count"] for p in parts))
        s, d = _digest_edges(np.concatenate([p["link_piece"] + b for p, b in zip(parts, base)]),
                             [x for p in parts for x in p["link_digest"]])
        comp = _union(n, [s], [d])
        count = int(comp.max()) + 1 if n else 0
        ext = np.zeros((count, 4))
        ext[:, :2], ext[:, 2:] = np.inf, -np.inf
        edge = np.zeros(count, bool)
        if n:
            b = np.concatenate([p["bounds"] for p in parts])
            for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
                f.at(ext[:, c], comp, b[:, c])
            edge[comp[np.concatenate([p["edge"] for p in parts])]] = True
        found = []
        if not edge.any():
            found.append(Finding("no contact ring: no plating metal reaches the wafer edge", outline.envelope))
        for c in np.flatnonzero(~edge).tolist():
            x0, y0, x1, y1 = ext[c].tolist()
            region = shapely.Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])     # the envelope of the piece
            found.append(Finding(f"wafer plating metal at ({region.centroid.x:.1f}, {region.centroid.y:.1f}) is not "
                                 f"joined to the contact ring", region))
        out[r.name] = found
    return out, peak


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
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError) as e:
            raise DrcError(f"cannot reach the Dask scheduler {scheduler}: {e}") from None
    # No dashboard; the scheduler's HTTP routes on any free port (with None it tries 8787). The
    # housekeeping a dashboard feeds is slowed (LOCAL_QUIET): idle, it took about 8 % of a core
    # in each process, CPU the check's own work then waits for on a busy machine.
    with dask.config.set(LOCAL_QUIET):
        cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=40)
    return Client(cluster), cluster


# The local cluster's settings (read when its scheduler and workers start): no statistical
# profile of the workers' tasks (sampled every 10 ms), and the system and memory monitors, the
# event loop's tick and work stealing at second-scale intervals (from 20-500 ms). Tasks here run
# for seconds; none of it changes what runs where or the result. And glibc's own malloc trim
# threshold, not the 64 KiB Dask sets in each worker's environment (to hand freed memory back at
# once): with it, GEOS's many allocations fault their pages in again and again (a tile of 25,000
# random rectangles: 4x the page faults, 0.5 s more system time, about 10 % more CPU).
LOCAL_QUIET = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.tick.interval": "500ms",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing-interval": "1s",
}


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
    layout = FileIndex(gds_path)          # cells and layers only: the client never reads the polygons
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
    found, unused = apply_waivers(found, waiver_list) if waiver_list else (found, [])     # none: 0.1 s per 100k markers
    result = DrcResult(gds_path=str(gds_path), pdk=pdk.name, cells=cells, rules=full_deck, violations=found,
                       runtime_s=time.perf_counter() - t0, unused_waivers=unused, not_applicable=skipped,
                       unknown_layers=unknown_layers(pdk, layout))
    return (result, info) if report_memory else result


def _check_top(client, layout: FileIndex, name: str, pdk: Pdk, deck: list[Rule], n_workers: int,
               tile_um: float | None) -> tuple[list[Violation], int, float]:
    """One top cell, tiled: its violations in deck order, the tile count and the worker peak (MB)."""
    local = [r for r in deck if r.kind in LOCAL_KINDS]
    density = [r for r in deck if r.kind == "density"]
    sidewall = any(v.contact == "sidewall" for v in pdk.connectivity.vias)
    connect = [r for r in deck if tiles_connectivity(r) and not sidewall]
    path = str(layout.path)
    # on a flat file the wafer checks see no dies: the outline, the kerf and the plating metal's pieces
    wafer = [r for r in deck if runs_per_top(r) and r.check in ("plating", "isolation")] if region_is_flat(path, name) else []
    whole = [r for r in deck if r not in local and r not in density and r not in connect and r not in wafer]
    whole_future = client.submit(check_whole, path, pdk, name, whole, pure=False) if whole else None
    by_rule: dict[str, list[Finding]] = {r.name: [] for r in deck}
    placed: list[tuple[list[Violation], np.ndarray]] = []     # the tiles' violations (`packed_violations`)
    peak = 0.0
    tiles = 0
    bounds, n_polys = region_bounds(path, name)
    dbu = layout.dbu_um
    halo_um = max([rule_distance(r) for r in local] + [0.0]) + HALO_MARGIN_UM
    halo = math.ceil(halo_um / dbu)
    grid = plan_grid(bounds, n_polys, halo, n_workers, tile_um, dbu) if bounds is not None else None
    if connect and grid is not None:
        tiles = len(grid)
        text_keys = [k for k in region_keys(path) if "TEXT" in pdk.layers and k >> 16 == pdk.layer("TEXT").gds[0]]
        parts = client.gather([client.submit(connect_tile, path, name, t, grid, pdk, dbu, text_keys, pure=False)
                               for t in range(len(grid))])
        peak = max(p["peak_mb"] for p in parts)
        pieces, terms, joins = join_connectivity(parts, pdk)
        del parts
        if len(terms.net):
            terms = join_nets(terms, joins)
            for r in connect:
                by_rule[r.name] = (find_opens(pieces, terms, pdk.connectivity.required_label_layers) if r.check == "opens"
                                   else find_shorts(pieces, terms))
    if wafer and grid is not None:
        tiles = len(grid)
        found, p = wafer_findings_tiled(client, path, name, grid, pdk, dbu, bounds, wafer)
        by_rule.update(found)
        peak = max(peak, p)
    if (local or density) and bounds is not None:
        exempt = marks_exempt(pdk)
        mark_key = layer_key(*pdk.layer(pdk.mark_area_layer() or MARK_LAYER).gds) if exempt else None
        names = set().union(*(rule_layers(r) for r in local + density))
        keys = sorted({layer_key(*pdk.layer(n).gds) for n in names if n in pdk.layers} | ({mark_key} if exempt else set()))
        # density windows go over the clusters of every shape the cell draws, any layer (as untiled)
        bound_keys = sorted(region_keys(path)) if density else []
        tiles = len(grid)
        shared = client.scatter(pdk, broadcast=True, hash=False)   # once per worker; a fresh key (dask#8576)
        outs: list[dict] | None = None
        extents: dict[str, list] = {}
        if not density:                   # one task per tile, unless a tile meets a wafer-size shape
            futures = [client.submit(one_pass_tile, path, name, t, grid, keys, mark_key, halo, dbu, shared, local, exempt,
                                     pure=False) for t in range(len(grid))]
            outs = []
            for fut in futures:
                out = fut.result()
                fut.release()
                if out is None:
                    for f in futures:
                        f.cancel()
                    outs = None
                    placed.clear()                # the two passes check every tile again
                    break
                outs.append(out)
                placed.append(packed_violations(out["found"], name))     # while the other tiles run
        if outs is None:
            scans = client.gather([client.submit(scan_tile, path, name, t, grid, keys, bound_keys, halo, dbu, pure=False)
                                   for t in range(len(grid))])
            peak = max([peak] + [s["peak_mb"] for s in scans])
            cb, ck, cn = join_groups(scans)
            boxes, used, windowed = read_boxes(grid, keys, cb, ck, halo, mark_key, windowable_keys(pdk, local + density), cn)
            used |= np.array([s["count"] > 0 for s in scans])
            if density:
                owned = np.concatenate([s["bounds"] for s in scans]) * dbu
                extents = {r.name: clusters(owned, r.window) for r in density}
            del scans
            futures = [client.submit(check_tile, path, name, t, grid, {k: tuple(map(int, boxes[t, i])) for i, k in enumerate(keys)},
                                     dbu, shared, local, density, exempt, extents,
                                     tuple(k for i, k in enumerate(keys) if windowed[t, i]), halo_um, pure=False)
                       for t in np.flatnonzero(used).tolist()]
        parts: dict[str, list[tuple[shapely.Geometry, str]]] = {}
        follow: list[tuple[str, Finding, list[tuple[int, str]]]] = []
        totals = {r.name: (np.zeros(0, np.int64), np.zeros(0), 0) for r in density}

        def results():
            yield from outs or ()
            if outs is None:
                for fut in futures:
                    out = fut.result()
                    fut.release()
                    yield out

        for out in results():
            peak = max(peak, out["peak_mb"])
            if outs is None:
                placed.append(packed_violations(out["found"], name))
            for rule_name, piece, message in out["parts"]:
                parts.setdefault(rule_name, []).append((piece, message))
            follow.extend(out["follow"])
            for rule_name, (idx, area, n) in out["cover"].items():
                i0, a0, n0 = totals[rule_name]
                totals[rule_name] = (np.concatenate([i0, idx]), np.concatenate([a0, area]), n0 + n)
        for rule_name, ps in parts.items():
            by_rule[rule_name].extend(join_parts(ps, grid, dbu))
        for rule_name, f in _follow_edges(client, path, name, pdk, follow, dbu, bounds, exempt):
            by_rule[rule_name].append(f)
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
    rest = [(r.name, f) for r in deck if r not in density and r.name not in whole_vs for f in by_rule[r.name]]
    ordered_vs = in_marker_order(placed + [packed_violations(pack_findings(rest), name)], [r.name for r in deck])
    for r in deck:
        if r.name in whole_vs:
            out.extend(whole_vs[r.name])
        elif r in density:
            out.extend(Violation(r.name, name, f.message, f.region, f.edges) for f in by_rule[r.name])
        else:
            out.extend(ordered_vs.get(r.name, ()))
    return out, tiles, peak


def _follow_edges(client, path: str, cell: str, pdk: Pdk, follow: list[tuple[str, Finding, list[tuple[int, str]]]],
                  dbu: float, bounds: tuple[int, int, int, int], exempt: bool) -> list[tuple[str, Finding]]:
    """The findings whose marker edges a tile saw only up to its window, each such edge followed
    to its ends (`full_edges`, one worker task per layer)."""
    if not follow:
        return []
    by_layer: dict[str, list[tuple[int, int]]] = {}
    for k, (_, _, ends) in enumerate(follow):
        for slot, name in ends:
            by_layer.setdefault(name, []).append((k, slot))
    futures = {name: client.submit(full_edges, path, cell, pdk, name, [follow[k][1].edges[slot] for k, slot in items],
                                   dbu, bounds, exempt, pure=False) for name, items in by_layer.items()}
    edges = [list(f.edges) for _, f, _ in follow]
    for name, items in by_layer.items():
        for (k, slot), e in zip(items, futures[name].result()):
            edges[k][slot] = e
    return [(rule_name, Finding(f.message, f.region, tuple(e))) for (rule_name, f, _), e in zip(follow, edges)]


def _density(extents, rule: Rule, idx: np.ndarray, area: np.ndarray) -> list[Finding]:
    """The density findings of the whole layout from the tiles' window areas."""
    boxes = np.concatenate([windows(e, rule.window, rule.step) for e in extents])
    covered = np.zeros(len(boxes))
    np.add.at(covered, idx, area)
    return density_findings(covered, boxes, rule.min, rule.max)

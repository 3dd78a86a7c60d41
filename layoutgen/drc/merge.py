"""Merge a layer's polygons into disjoint shapes, and know which shapes are translated copies.

Merging goes by groups (DRC.md): touching polygons are found with one STRtree query,
grouped by their connected components (drc/graph.py), and each group is unioned once. Groups that are
translated copies of each other (the same pad or trace repeated over a die, or a die
repeated over a block) are recognised from their integer vertices and unioned only once;
their merged shapes share a class, so per-shape checks (width, notches, area, size, angle)
run on one representative per class and are copied to the others by translation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from .geometry import drawn_rectangles, explode, polygons, translate
from .graph import components
from .read import Polys
from .violation import Finding


@dataclass(frozen=True)
class Shapes:
    """A layer merged: disjoint polygons (µm), grouped in classes of translated copies."""

    geoms: np.ndarray   # (n,) shapely Polygons
    cls: np.ndarray     # (n,) class of each polygon
    shift: np.ndarray   # (n, 2) µm: geoms[i] is geoms[reps[cls[i]]] moved by shift[i]
    reps: np.ndarray    # (classes,) index of each class's representative (shift 0)

    @staticmethod
    def empty() -> "Shapes":
        """A layer with nothing on it."""
        return Shapes(np.empty(0, object), np.zeros(0, np.int64), np.zeros((0, 2)), np.zeros(0, np.int64))

    @staticmethod
    def of(geoms: np.ndarray) -> "Shapes":
        """Shapes that are already disjoint, each its own class (no translation search)."""
        n = len(geoms)
        return Shapes(np.asarray(geoms, object), np.arange(n), np.zeros((n, 2)), np.arange(n))

    def __len__(self) -> int:
        return len(self.geoms)

    def per_class(self, check: Callable[[np.ndarray], list[tuple[int, Finding]]]) -> list[Finding]:
        """Run a per-shape `check` on one representative per class; copy its findings
        (`(representative position, finding)` pairs) to every member of the class."""
        if len(self.geoms) == 0:
            return []
        found = check(self.geoms[self.reps])
        if not found:
            return []
        if len(self.reps) == len(self.geoms):       # every shape its own class: nothing to copy
            return [f for _, f in found]
        order = np.argsort(self.cls, kind="stable")
        starts = np.searchsorted(self.cls[order], np.arange(len(self.reps) + 1))
        out: list[Finding] = []
        for c, f in found:
            members = order[starts[c]:starts[c + 1]]
            out.extend(move_finding(f, self.shift[i]) for i in members)
        return out


def move_finding(f: Finding, d: np.ndarray) -> Finding:
    """A finding moved by (dx, dy) µm."""
    dx, dy = float(d[0]), float(d[1])
    if dx == 0.0 and dy == 0.0:
        return f
    region = None if f.region is None else shapely.transform(f.region, lambda c: c + (dx, dy))
    edges = None if f.edges is None else tuple((e[0] + dx, e[1] + dy, e[2] + dx, e[3] + dy) for e in f.edges)
    return Finding(f.message, region, edges)


def run_classes(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A class number per run of rows (run r is rows[offsets[r]:offsets[r+1]], integer rows):
    equal runs, equal class; classes numbered in order of first appearance. Vectorised: runs
    of one length are compared as rows of one matrix."""
    n = len(offsets) - 1
    if n == 0:
        return np.zeros(0, np.int64)
    rows = np.ascontiguousarray(rows).reshape(len(rows), -1)
    sizes = np.diff(offsets)
    label = np.zeros(n, np.int64)
    base = 0
    for size in np.unique(sizes):
        runs = np.flatnonzero(sizes == size)
        table = rows[(offsets[runs][:, None] + np.arange(size)).ravel()].reshape(len(runs), -1)
        local = _equal_rows(table)
        label[runs] = local.ravel() + base
        base += int(local.max()) + 1 if len(local) else 0
    _, first, inverse = np.unique(label, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inverse.ravel()]


_HASH = np.random.default_rng(0x5EED).integers(1, 2**63, size=4096, dtype=np.uint64) | np.uint64(1)


def _equal_rows(table: np.ndarray) -> np.ndarray:
    """A label per row of an integer table: equal rows, equal label. Rows are hashed to one
    64-bit number (a random linear hash), the hashes labelled, and every row compared with the
    first of its label; a collision (never seen) falls back to sorting whole rows."""
    if table.shape[1] > len(_HASH):
        return np.unique(table, axis=0, return_inverse=True)[1].ravel()
    with np.errstate(over="ignore"):
        h = (table.astype(np.uint64) * _HASH[:table.shape[1]]).sum(axis=1, dtype=np.uint64)
    _, first, label = np.unique(h, return_index=True, return_inverse=True)
    label = label.ravel()
    if not (table == table[first[label]]).all():
        return np.unique(table, axis=0, return_inverse=True)[1].ravel()
    return label


def polygon_classes(polys: Polys) -> tuple[np.ndarray, np.ndarray]:
    """Translation class of each polygon (equal vertices up to a move) and its lower-left
    corner in database units."""
    starts = polys.offsets[:-1]
    origin = np.stack([np.minimum.reduceat(polys.xy[:, 0], starts), np.minimum.reduceat(polys.xy[:, 1], starts)], 1)
    rel = polys.xy - np.repeat(origin, np.diff(polys.offsets), axis=0)
    return run_classes(rel, polys.offsets), origin


def touching_groups(geoms: np.ndarray) -> np.ndarray:
    """A group label per geometry: geometries that touch, directly or through others, share one."""
    n = len(geoms)
    # Extents meeting, then the candidates tested in one vectorised call: several times faster
    # than the tree's own "intersects" query, which tests each candidate as it finds it.
    left, right = shapely.STRtree(geoms).query(geoms)
    keep = left < right
    left, right = left[keep], right[keep]
    keep = shapely.intersects(geoms[left], geoms[right])
    return components(n, left[keep], right[keep])[1]


def union_groups(geoms: np.ndarray, label: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The union of each wanted group's geometries (groups of one are taken as they are),
    done in vectorised batches of similar group size."""
    order = np.argsort(label, kind="stable")
    starts = np.searchsorted(label[order], np.arange(label.max() + 2))
    sizes = np.diff(starts)
    out = np.empty(len(wanted), object)
    single = sizes[wanted] == 1
    out[single] = geoms[order[starts[wanted[single]]]]
    multi = np.flatnonzero(~single)
    if len(multi):
        width = sizes[wanted[multi]]
        bucket = np.ceil(np.log2(width)).astype(int)
        for b in np.unique(bucket):
            sel = multi[bucket == b]
            cols = 1 << int(b)
            table = np.full((len(sel), cols), None, object)
            for row, g in enumerate(wanted[sel]):
                members = order[starts[g]:starts[g + 1]]
                table[row, :len(members)] = geoms[members]
            out[sel] = shapely.union_all(table, axis=1)
    return out


def union_drawn(polys: Polys, raw: np.ndarray, label: np.ndarray, wanted: np.ndarray, dbu_um: float) -> np.ndarray:
    """`union_groups` of drawn polygons (`raw`, made from `polys`): the wanted groups of two to
    GRID_UNION_MAX rectangles along the axes unioned on their grid (`union_rectangles`), the
    others (and any the grid leaves) by GEOS."""
    rect = drawn_rectangles(polys)
    size = np.bincount(label)
    all_rect = np.bincount(label, rect) == size
    grid = wanted[(size[wanted] >= 2) & (size[wanted] <= GRID_UNION_MAX) & all_rect[wanted]]
    out = np.empty(len(wanted), object)
    done = np.zeros(len(wanted), bool)
    if len(grid):
        dense = np.full(len(size), -1, np.int64)
        dense[grid] = np.arange(len(grid))
        rows = np.flatnonzero(dense[label] >= 0)
        v = polys.xy[polys.offsets[rows][:, None] + np.arange(4)]            # (m, 4, 2) integer corners
        box = np.concatenate([v.min(axis=1), v.max(axis=1)], axis=1)
        got, ok = union_rectangles(box, dense[label[rows]], len(grid), dbu_um)
        at = np.flatnonzero(dense[wanted] >= 0)                               # positions in wanted of the grid groups
        out[at[ok]] = got[ok]
        done[at[ok]] = True
    rest = np.flatnonzero(~done)
    if len(rest):
        out[rest] = union_groups(raw, label, wanted[rest])
    return out


def merge(polys: Polys, dbu_um: float, raw: np.ndarray | None = None) -> Shapes:
    """The layer's polygons merged into disjoint shapes, with translation classes (`raw`: the
    polygons as shapely geometry, when already made)."""
    if len(polys) == 0:
        return Shapes.empty()
    raw = polygons(polys, dbu_um) if raw is None else raw
    raw_cls, raw_origin = polygon_classes(polys)
    label = touching_groups(raw)
    n_groups = int(label.max()) + 1
    # Group key: its members' classes and positions relative to the group's corner.
    g_origin = np.full((n_groups, 2), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(g_origin, label, raw_origin)
    rel = raw_origin - g_origin[label]
    order = np.lexsort((rel[:, 1], rel[:, 0], raw_cls, label))
    rows = np.column_stack([raw_cls, rel])[order]
    g_cls = run_classes(rows, np.searchsorted(label[order], np.arange(n_groups + 1)))
    n_cls = int(g_cls.max()) + 1
    rep_group = np.unique(g_cls, return_index=True)[1]       # first group of each class
    # Normalised (each ring from its least vertex, shells clockwise, parts and holes sorted; the
    # drawn polygons are, `polygons`): the shapes, and so every marker made from them (which of
    # several equally near edge pairs a space marker names, the residues of an opening), do not
    # depend on the order in which the polygons were drawn or on where the union's rings start.
    merged = union_drawn(polys, raw, label, rep_group, dbu_um)
    unioned = np.flatnonzero(np.bincount(label)[rep_group] > 1)
    merged[unioned] = shapely.normalize(merged[unioned])
    parts, part_cls = explode(merged)                        # part_cls: group class of each part
    if len(parts) == 0:
        return Shapes.empty()
    # Every group gets the parts of its class, moved from the representative group.
    part_order = np.argsort(part_cls, kind="stable")
    part_start = np.searchsorted(part_cls[part_order], np.arange(n_cls + 1))
    n_parts = np.diff(part_start)[g_cls]
    group_of_piece = np.repeat(np.arange(n_groups), n_parts)
    first = np.repeat(part_start[g_cls], n_parts)
    k = np.arange(len(group_of_piece)) - np.repeat(np.cumsum(n_parts) - n_parts, n_parts)
    piece_part = part_order[first + k]
    shift_dbu = g_origin[group_of_piece] - g_origin[rep_group[g_cls[group_of_piece]]]
    shift = shift_dbu * dbu_um
    moved = shift_dbu.any(axis=1)
    geoms = parts[piece_part].copy()
    geoms[moved] = translate(geoms[moved], shift[moved])
    reps = np.zeros(len(parts), np.int64)
    is_rep = ~moved
    reps[piece_part[is_rep]] = np.flatnonzero(is_rep)
    return Shapes(geoms, piece_part, shift, reps)


# Groups of drawn rectangles along the axes of up to this many members are unioned on a grid of
# their own coordinates (`union_rectangles`), larger ones by GEOS; grid cells handled at once.
GRID_UNION_MAX = 64
_GRID_CHUNK_CELLS = 1 << 21


def union_rectangles(box: np.ndarray, group: np.ndarray, n_groups: int, dbu_um: float) -> tuple[np.ndarray, np.ndarray]:
    """The union of each group of rectangles along the axes (`box`: (n, 4) integer x0, y0, x1, y1
    in database units, x0 < x1, y0 < y1; `group`: 0..n_groups-1, each number used), as GEOS's
    overlay gives it: one polygon with its holes, shell clockwise, a vertex at every corner of
    the union and at every rectangle corner that lies on its outline (GEOS keeps the input
    vertices its rings pass), in µm. No overlay: each group's x and y coordinates number a grid,
    the cells the rectangles cover are counted (a difference table summed along both axes), and
    the outline is walked from kept vertex to kept vertex along the grid lines. Also returned:
    whether each group was done; one whose outline touches itself at a point (two covered cells
    meeting only at a corner: GEOS makes two polygons or a hole touching the shell) is not."""
    out = np.empty(n_groups, object)
    done = np.zeros(n_groups, bool)
    if n_groups == 0:
        return out, done
    xs, xi, x_first = _grid_numbers(box[:, [0, 2]], group, n_groups)
    ys, yi, y_first = _grid_numbers(box[:, [1, 3]], group, n_groups)
    side = np.maximum(np.diff(np.r_[x_first, len(xs)]), np.diff(np.r_[y_first, len(ys)]))
    bucket = np.ceil(np.log2(np.maximum(side, 2))).astype(np.int64)
    by_group = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[by_group], np.arange(n_groups + 1))
    for b in np.unique(bucket):
        s = 1 << int(b)
        every = np.flatnonzero(bucket == b)
        step = max(1, _GRID_CHUNK_CELLS // (s + 1) ** 2)
        for k in range(0, len(every), step):
            gs = every[k:k + step]
            counts = starts[gs + 1] - starts[gs]
            rows = by_group[np.repeat(starts[gs], counts) + np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)]
            lg = np.repeat(np.arange(len(gs)), counts)
            polys, ok = _grid_union(xi[rows], yi[rows], lg, len(gs), s, xs, ys, x_first[gs], y_first[gs], dbu_um)
            out[gs[ok]] = polys
            done[gs[ok]] = True
    return out, done


def _grid_numbers(vals: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group's distinct values (of both columns of `vals`), sorted by group then value; the
    number of each entry of `vals` among its group's values; the first position of each group."""
    g = np.repeat(group, 2)
    v = vals.ravel()
    order = np.lexsort((v, g))
    gv, vv = g[order], v[order]
    new = np.r_[True, (gv[1:] != gv[:-1]) | (vv[1:] != vv[:-1])]
    ident = np.cumsum(new) - 1
    number = np.empty(len(v), np.int64)
    number[order] = ident
    uniq_g, uniq_v = gv[new], vv[new]
    first = np.searchsorted(uniq_g, np.arange(n_groups))
    return uniq_v, (number - np.repeat(first[group], 2)).reshape(-1, 2), first


def _grid_union(xi: np.ndarray, yi: np.ndarray, lg: np.ndarray, n: int, s: int, xs: np.ndarray, ys: np.ndarray,
                x_first: np.ndarray, y_first: np.ndarray, dbu_um: float) -> tuple[np.ndarray, np.ndarray]:
    """`union_rectangles` for `n` groups whose grids have at most `s` lines each way: rectangles by
    grid numbers (xi, yi: (m, 2)) and local group `lg`; the polygons of the groups done, and which."""
    x0, x1, y0, y1 = xi[:, 0], xi[:, 1], yi[:, 0], yi[:, 1]
    # Cells covered: cell (i, j) of a group at [i + 1, j + 1], with a border of empty cells.
    diff = np.zeros((n, s + 1, s + 1), np.int32)
    for xa, ya, sign in ((x0, y0, 1), (x1, y0, -1), (x0, y1, -1), (x1, y1, 1)):
        np.add.at(diff, (lg, xa + 1, ya + 1), sign)
    cov = diff.cumsum(1, dtype=np.int32).cumsum(2, dtype=np.int32) > 0
    del diff
    # Around grid vertex (a, b): the cells north-east, north-west, south-west and south-east.
    ne, nw, sw, se = cov[:, 1:, 1:], cov[:, :-1, 1:], cov[:, :-1, :-1], cov[:, 1:, :-1]
    ok = ~((ne == sw) & (nw == se) & (ne != nw)).any(axis=(1, 2))
    # The outline's edge leaving and arriving at each vertex, the union on its left: N, S, E, W.
    go = np.stack([nw & ~ne, se & ~sw, ne & ~se, sw & ~nw])
    straight = (go & np.stack([sw & ~se, ne & ~nw, nw & ~sw, se & ~ne])).any(0)
    keep = ~straight
    for xa, ya in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        keep[lg, xa, ya] = True
    keep &= go.any(0) & ok[:, None, None]
    g, a, c = np.nonzero(keep)
    way = np.argmax(go[:, g, a, c], axis=0)
    # The next vertex: the next kept vertex along the vertex's grid line, in its direction.
    nxt = np.empty(len(g), np.int64)
    for keys, fwd, back in (((c, a, g), 0, 1), ((a, c, g), 2, 3)):
        order = np.lexsort(keys)
        pos = np.empty(len(g), np.int64)
        pos[order] = np.arange(len(g))
        f, bk = way == fwd, way == back
        nxt[f] = order[pos[f] + 1]
        nxt[bk] = order[pos[bk] - 1]
    ring, left = _walk(nxt)
    xy = np.stack([xs[x_first[g] + a], ys[y_first[g] + c]], 1).astype(np.float64)
    n_ring = int(ring.max()) + 1 if len(ring) else 0
    twice_area = np.bincount(ring, xy[:, 0] * xy[nxt, 1] - xy[nxt, 0] * xy[:, 1], n_ring)
    ring_group = np.zeros(n_ring, np.int64)
    ring_group[ring] = g
    # Rings by group, the shell (positive area when walked) first; each walked backwards
    # (steps left to its end, ascending), so shells turn clockwise as GEOS writes them.
    seq = np.lexsort((np.arange(n_ring), twice_area < 0, ring_group))
    ring_pos = np.empty(n_ring, np.int64)
    ring_pos[seq] = np.arange(n_ring)
    order = np.lexsort((left, ring_pos[ring]))
    rings = shapely.linearrings(xy[order] * dbu_um, indices=ring_pos[ring[order]])
    polys = shapely.polygons(rings, indices=np.unique(ring_group[seq], return_inverse=True)[1].ravel())
    return polys, ok


def _walk(nxt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a permutation `nxt` (vertex -> next vertex of its ring): each vertex's ring (numbered
    by least vertex) and its steps left to the ring's last vertex, counted from the least vertex
    (list ranking by pointer doubling: log2 of the longest ring in vectorised steps)."""
    n = len(nxt)
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ring = components(n, np.arange(n), nxt)[1]
    start = np.full(int(ring.max()) + 1, n, np.int64)
    np.minimum.at(start, ring, np.arange(n))
    prev = np.empty(n, np.int64)
    prev[nxt] = np.arange(n)
    succ = nxt.copy()
    succ[prev[start]] = -1                                   # each ring cut before its least vertex
    left = (succ >= 0).astype(np.int64)
    while True:
        live = np.flatnonzero(succ >= 0)
        if len(live) == 0:
            break
        hop = succ[live]
        left[live] += left[hop]
        succ[live] = succ[hop]
    return ring, left

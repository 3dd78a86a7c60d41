"""Merge a layer's polygons into disjoint shapes, and know which shapes are translated copies.

Merging goes by groups (DRC.md): touching polygons are found with one STRtree query,
grouped with scipy's connected components, and each group is unioned once. Groups that are
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

from .geometry import explode, polygons, translate
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
    merged = union_groups(raw, label, rep_group)
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

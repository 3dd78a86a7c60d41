"""Metal density in a sliding window, windows clipped to the extent of each cluster of shapes.

Windows cover only where the layout draws: shapes closer than a window to each other form one
cluster, and each cluster gets its own windows over its own extent. A die or a wafer is one
cluster (as before); two small squares 4 km apart are two, not 18 million windows of nothing.
"""

from __future__ import annotations

import numpy as np
import shapely

from .merge import Shapes
from .violation import Finding
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS


def window_starts(lo: float, hi: float, window: float, step: float) -> np.ndarray:
    """Window start positions along one axis: every `step` from `lo`, stopping once a window
    reaches `hi` (so the far edge is always covered); one window when the extent is small."""
    starts = [lo]
    while starts[-1] + window < hi - LENGTH_EPS_UM:
        starts.append(starts[-1] + step)
    return np.array(starts)


def windows(extent: tuple[float, float, float, float], window: float, step: float) -> np.ndarray:
    """The window boxes over `extent` (x0, y0, x1, y1), each clipped to it."""
    x0, y0, x1, y1 = extent
    xs, ys = window_starts(x0, x1, window, step), window_starts(y0, y1, window, step)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    return shapely.box(gx, gy, np.minimum(gx + window, x1), np.minimum(gy + window, y1))


# A box touching more grid cells than this is a wide one (see `clusters`); the wide ones together
# touch at most BIG_CELLS_PER_BOX cells per box of the layout through the grid, the rest are
# compared with every box.
BIG_BOX_CELLS = 64
BIG_CELLS_PER_BOX = 4


def clusters(bounds: np.ndarray, gap: float) -> list[tuple[float, float, float, float]]:
    """Extents (x0, y0, x1, y1) of the groups of boxes (rows of `bounds`) that lie within `gap`
    of each other, directly or through others (their boxes grown by gap / 2 meet).

    Dense layouts (a flattened wafer: a million boxes, each within a window of a thousand
    others) never list every close pair. On a grid of cells a little narrower than `gap`,
    boxes that touch one cell are within `gap` of each other: joined through the cell. Two
    cells side by side (one row or column) are joined when the box reaching furthest out of
    one and the box reaching furthest into it from the other meet when grown; only for cells
    that touch at a corner and are still apart are the boxes compared pair by pair."""
    if len(bounds) == 0:
        return []
    from .graph import components

    n = len(bounds)
    b = np.asarray(bounds, np.float64)
    h = gap / 2
    g = np.column_stack([b[:, :2] - h, b[:, 2:] + h])         # the grown boxes, as the definition has them
    side = gap * (1 - RATIO_EPS) if gap > 0 else 1.0               # narrower than gap by far more than float noise
    lo = b[:, :2].min(axis=0)
    c0 = np.floor((b[:, :2] - lo) / side).astype(np.int64)
    c1 = np.floor((b[:, 2:] - lo) / side).astype(np.int64)
    ncol = int(c1[:, 0].max()) + 3
    spans = c1 - c0 + 1
    count = spans[:, 0] * spans[:, 1]
    # Boxes many cells wide (a wafer outline, a kerf line, a ring) join through their cells too,
    # widest last, as long as their cells stay within a few times the box count; the rest are
    # compared with every box (each such comparison lists nearly every box of a wafer).
    big = np.flatnonzero(count > BIG_BOX_CELLS)
    wide = big[np.argsort(count[big], kind="stable")]
    big = wide[np.cumsum(count[wide]) > BIG_CELLS_PER_BOX * n]
    count[big] = 0
    item = np.repeat(np.arange(n), count)
    k = np.arange(len(item)) - np.repeat(np.cumsum(count) - count, count)
    cells, node = np.unique((c0[item, 1] + k // spans[item, 0]) * ncol + c0[item, 0] + k % spans[item, 0], return_inverse=True)
    node = node.ravel()
    nc = len(cells)
    m = n + nc
    src, dst = [item], [n + node]
    # per cell: how far its boxes reach out (grown) right and up, and in from the left and below
    reach = np.stack([np.full(nc, -np.inf), np.full(nc, -np.inf), np.full(nc, np.inf), np.full(nc, np.inf)], 1)
    np.maximum.at(reach[:, 0], node, g[item, 2])
    np.maximum.at(reach[:, 1], node, g[item, 3])
    np.minimum.at(reach[:, 2], node, g[item, 0])
    np.minimum.at(reach[:, 3], node, g[item, 1])
    for d, axis in ((1, 0), (ncol, 1)):
        j = np.minimum(np.searchsorted(cells, cells + d), nc - 1)
        hit = np.flatnonzero((cells[j] == cells + d) & (reach[:, axis] >= reach[j, 2 + axis]))
        src.append(n + hit)
        dst.append(n + j[hit])

    def label() -> np.ndarray:
        s_, d_ = np.concatenate(src), np.concatenate(dst)
        return components(m, s_, d_)[1]

    comp = label()
    cell_comp = comp[n:]
    apart = np.zeros(nc, bool)
    for d in (ncol - 1, ncol + 1):                            # corner neighbours still apart
        j = np.minimum(np.searchsorted(cells, cells + d), nc - 1)
        hit = (cells[j] == cells + d) & (cell_comp[j] != cell_comp)
        apart[hit] = True
        apart[j[hit]] = True
    near = np.unique(item[apart[node]])
    if len(near) > 1:
        grown = shapely.box(g[near, 0], g[near, 1], g[near, 2], g[near, 3])
        i, j = shapely.STRtree(grown).query(grown, predicate="intersects")
        src.append(near[i])
        dst.append(near[j])
    if len(big):
        i, j = shapely.STRtree(shapely.box(g[:, 0], g[:, 1], g[:, 2], g[:, 3])).query(
            shapely.box(g[big, 0], g[big, 1], g[big, 2], g[big, 3]), predicate="intersects")
        src.append(big[i])
        dst.append(j)
    if len(near) > 1 or len(big):
        comp = label()
    _, box_label = np.unique(comp[:n], return_inverse=True)
    box_label = box_label.ravel()
    ext = np.stack([np.full(box_label.max() + 1, np.inf), np.full(box_label.max() + 1, np.inf),
                    np.full(box_label.max() + 1, -np.inf), np.full(box_label.max() + 1, -np.inf)], 1)
    for c, f in ((0, np.minimum), (1, np.minimum), (2, np.maximum), (3, np.maximum)):
        f.at(ext[:, c], box_label, b[:, c])
    return sorted(tuple(float(v) for v in row) for row in ext)


def _clusters_by_pairs(bounds: np.ndarray, gap: float) -> list[tuple[float, float, float, float]]:
    """`clusters` by testing every pair of boxes (the definition; for tests)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    h = gap / 2
    grown = shapely.box(bounds[:, 0] - h, bounds[:, 1] - h, bounds[:, 2] + h, bounds[:, 3] + h)
    i, j = shapely.STRtree(grown).query(grown, predicate="intersects")
    n = len(bounds)
    _, label = connected_components(coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n)), directed=False)
    out = []
    for k in range(label.max() + 1):
        b = bounds[label == k]
        out.append((float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())))
    return sorted(out)


def check_density(
    shapes: Shapes, extents: list[tuple[float, float, float, float]], window: float, step: float,
    lo: float | None, hi: float | None,
) -> list[Finding]:
    """One finding per window whose density is below `lo` or above `hi`, windows stepping over
    each extent in `extents` (the clusters of the layout's shapes, see `clusters`). An empty
    layer, or an empty layout, is not checked (the rule is for layers that are drawn)."""
    if not extents or len(shapes) == 0:
        return []
    if not step > 0 or not window > 0:
        raise ValueError(f"density window {window!r} and step {step!r} must be positive (the PDK loader checks this)")
    boxes = np.concatenate([windows(e, window, step) for e in extents])
    covered = np.zeros(len(boxes))
    w, s = shapely.STRtree(shapes.geoms).query(boxes, predicate="intersects")
    np.add.at(covered, w, shapely.area(shapely.intersection(boxes[w], shapes.geoms[s])))
    return density_findings(covered, boxes, lo, hi)


def density_findings(covered: np.ndarray, boxes: np.ndarray, lo: float | None, hi: float | None) -> list[Finding]:
    """One finding per window whose covered area (µm², summed over the shapes in it) makes a
    density below `lo` or above `hi`."""
    area = shapely.area(boxes)
    dens = np.divide(covered, area, out=np.zeros(len(boxes)), where=area > 0)
    low = dens < lo if lo is not None else np.zeros(len(dens), bool)
    high = dens > hi if hi is not None else np.zeros(len(dens), bool)
    out = []
    for k in np.flatnonzero(low | high):
        bound = f"< {lo:g}" if low[k] else f"> {hi:g}"
        out.append(Finding(f"density {dens[k]:.4f} {bound}", region=boxes[k]))
    return out

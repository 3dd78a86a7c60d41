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
from layoutgen.units import LENGTH_EPS_UM


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


def clusters(bounds: np.ndarray, gap: float) -> list[tuple[float, float, float, float]]:
    """Extents (x0, y0, x1, y1) of the groups of boxes (rows of `bounds`) that lie within `gap`
    of each other, directly or through others."""
    if len(bounds) == 0:
        return []
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

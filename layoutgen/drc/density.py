"""Metal density in a sliding window, windows clipped to the layout's extent."""

from __future__ import annotations

import numpy as np
import shapely

from .merge import Shapes
from .violation import Finding


def window_starts(lo: float, hi: float, window: float, step: float) -> np.ndarray:
    """Window start positions along one axis: every `step` from `lo`, stopping once a window
    reaches `hi` (so the far edge is always covered); one window when the extent is small."""
    starts = [lo]
    while starts[-1] + window < hi - 1e-9:
        starts.append(starts[-1] + step)
    return np.array(starts)


def windows(extent: tuple[float, float, float, float], window: float, step: float) -> np.ndarray:
    """The window boxes over `extent` (x0, y0, x1, y1), each clipped to it."""
    x0, y0, x1, y1 = extent
    xs, ys = window_starts(x0, x1, window, step), window_starts(y0, y1, window, step)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    gx, gy = gx.ravel(), gy.ravel()
    return shapely.box(gx, gy, np.minimum(gx + window, x1), np.minimum(gy + window, y1))


def check_density(
    shapes: Shapes, extent: tuple[float, float, float, float] | None, window: float, step: float,
    lo: float | None, hi: float | None,
) -> list[Finding]:
    """One finding per window whose density is below `lo` or above `hi`. An empty layer, or
    an empty layout, is not checked (the rule is for layers that are drawn)."""
    if extent is None or len(shapes) == 0:
        return []
    boxes = windows(extent, window, step)
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

"""Manufacturing grid: every vertex of every drawn polygon on the grid (checked before merging,
since merging adds intersection points that are not drawn)."""

from __future__ import annotations

import numpy as np
import shapely

from ..units import STEP_EPS
from .read import Polys
from .violation import Finding


def off_grid(xy: np.ndarray, grid_um: float, dbu_um: float) -> np.ndarray:
    """Whether each vertex (integer database units) is off the grid."""
    step = grid_um / dbu_um
    if abs(step - round(step)) < STEP_EPS and round(step) >= 1:
        return (xy % int(round(step)) != 0).any(axis=1)
    ratio = xy * dbu_um / grid_um
    return (np.abs(ratio - np.rint(ratio)) > 1e-6).any(axis=1)


def check_grid(polys: Polys, grid_um: float, dbu_um: float) -> list[Finding]:
    """One finding per drawn polygon with a vertex off the grid, naming the first such vertex."""
    if len(polys) == 0:
        return []
    bad = off_grid(polys.xy, grid_um, dbu_um)
    owner = polys.polygon_index()[bad]
    first_vertex = np.flatnonzero(bad)
    ids, first = np.unique(owner, return_index=True)
    out = []
    for p, v in zip(ids, first_vertex[first]):
        ring = polys.xy[polys.offsets[p]:polys.offsets[p + 1]] * dbu_um
        x, y = polys.xy[v] * dbu_um
        n = int(bad[polys.offsets[p]:polys.offsets[p + 1]].sum())
        out.append(Finding(
            f"{n} vertex(es) off the {grid_um:g} µm grid, first at ({x:.4f}, {y:.4f})",
            region=shapely.Polygon(ring),
        ))
    return out

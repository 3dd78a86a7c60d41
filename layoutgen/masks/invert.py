"""An inverted mask of a wafer, kept hierarchical: the complement of drawn layers inside the mask field.

The die sites (die plus half the lanes) tile the die area, so the complement is, per site,
the site less the die's shapes and the wafer-level shapes in it, and outside the sites the
field less the wafer-level shapes. Sites holding the same wafer-level shapes (the placement
types of `layoutgen.wafer.checks.site_types`) share one complement cell, placed by arrays along the rows;
only the edge region is flat. A layout without die arrays gets the plain flat complement.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..layout import Cell, Layout, Ref
from ..pdk import Pdk
from ..wafer.checks import geometry_from_layout, site_box, site_types


def _runs(origins: np.ndarray, codes: np.ndarray, pitch_x: float, grid: float) -> list[tuple[int, np.ndarray]]:
    """Placements split into runs along rows (same y, next x one pitch on, same type): (type, origins)."""
    order = np.lexsort((origins[:, 0], origins[:, 1]))
    out: list[tuple[int, list]] = []
    for k in order.tolist():
        x, y = origins[k]
        if out:
            t, run = out[-1]
            px, py = run[-1]
            if t == codes[k] and abs(py - y) < grid / 2 and abs(x - px - pitch_x) < grid / 2:
                run.append((x, y))
                continue
        out.append((int(codes[k]), [(x, y)]))
    return [(t, np.asarray(run)) for t, run in out]


def complement_layout(layout: Layout, layers: list[str], field: Polygon, pdk: Pdk, out_layer: str,
                      name: str) -> Layout:
    """The complement of `layers` inside `field` on `out_layer`, as a layout whose top is `name`."""
    grid = pdk.grid_um
    g = geometry_from_layout(layout, pdk, layers=layers, drop_marks=False)
    top = Cell(name)
    cells: dict[str, Cell] = {}
    occupied = []
    for grp in g.dies:
        site = site_box(grp, grid)
        codes, patterns = site_types(g.metal, site, grp.origins, grid)
        die_metal = shapely.union_all(grp.metal) if grp.metal else Polygon()
        for t, pattern in enumerate(patterns):
            if not np.any(codes == t):
                continue
            cell = Cell(f"{name}_{grp.cell}_{t}")
            cell.add(out_layer, shapely.set_precision(site.difference(shapely.union_all([die_metal, *pattern])), grid))
            cells[cell.name] = cell
        x0, y0, x1, y1 = site.bounds
        for t, run in _runs(grp.origins, codes, x1 - x0, grid):
            n = len(run)
            top.refs.append(Ref(f"{name}_{grp.cell}_{t}", float(run[0, 0]), float(run[0, 1]), columns=n, rows=1,
                                spacing=(x1 - x0, 0.0) if n > 1 else (0.0, 0.0)))
            occupied.append(box(run[0, 0] + x0, run[0, 1] + y0, run[-1, 0] + x1, run[-1, 1] + y1))
    drawn = shapely.union_all([*occupied, *g.metal]) if (occupied or g.metal) else Polygon()
    top.add(out_layer, shapely.set_precision(field.difference(drawn), grid))
    cells[top.name] = top
    return Layout(top=top.name, cells=cells)

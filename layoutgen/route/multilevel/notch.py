"""Notch fill: metal that closes the gaps narrower than the space rule inside one net's own metal.

A route turning next to its own via pad or die pad leaves a slot between two parts of one
net: a space (notch) violation although no other net is involved. The fill is the extra area
of a mitred closing (grow by half the space, shrink back), which adds metal only inside such
gaps. Meant for Manhattan metal on the grid (traces, square pads, rings, plates): there the
closing is exact and the fill lands on the grid; round pads are left out of `own` (routes
enter them radially, see route_ml.router). A piece that would come within the space of
anything in `others` is left out (and the DRC will say so). All lengths in µm.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from .grid import EPS_UM

SLIVER_UM2 = 1e-4


def _on_grid(poly: Polygon, grid: float) -> list[Polygon]:
    """`poly` with its vertices rounded to `grid` (holes dropped), as valid polygons."""
    ring = np.round(np.asarray(poly.exterior.coords) / grid) * grid
    fixed = shapely.make_valid(Polygon(ring))
    return [p for p in shapely.get_parts(fixed) if p.geom_type == "Polygon" and p.area > SLIVER_UM2]


def notch_fill(own: list[BaseGeometry], others: list[BaseGeometry], space: float, grid: float) -> list[Polygon]:
    """On-grid polygons filling every gap narrower than `space` in the union of `own`, clear of `others`."""
    if not own:
        return []
    metal = shapely.union_all(own)
    # A gap of exactly `space` keeps the rule: close only what is narrower (a grid step at least).
    h = space / 2 - grid / 5
    closed = metal.buffer(h, join_style="mitre", mitre_limit=10.0).buffer(-h, join_style="mitre", mitre_limit=10.0)
    extra = closed.difference(metal)
    pieces = [p for p in shapely.get_parts(extra) if p.area > SLIVER_UM2]
    if not pieces:
        return []
    tree = STRtree(others) if others else None
    out: list[Polygon] = []
    for p in pieces:
        for q in _on_grid(p, grid):
            if tree is not None and len(tree.query(q, predicate="dwithin", distance=space - EPS_UM)):
                continue
            out.append(q)
    return out

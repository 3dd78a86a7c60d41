"""Minimum area of shapes and of the holes inside them (µm²)."""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM
from .merge import Shapes
from .violation import Finding


def check_area(shapes: Shapes, value: float) -> list[Finding]:
    """One finding per merged shape smaller than `value` µm²."""

    def per_shape(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        area = shapely.area(geoms)
        return [
            (int(k), Finding(f"area {area[k]:.4f} µm² < {value:g} µm²", region=geoms[k]))
            for k in np.flatnonzero(area < value - EPS_UM)
        ]

    return shapes.per_class(per_shape)


def check_hole_area(shapes: Shapes, value: float) -> list[Finding]:
    """One finding per hole inside a merged shape smaller than `value` µm²."""

    def per_shape(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        n = shapely.get_num_interior_rings(geoms)
        owner = np.repeat(np.arange(len(geoms)), n)
        if len(owner) == 0:
            return []
        k = np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n)
        holes = shapely.polygons(shapely.get_interior_ring(geoms[owner], k))
        area = shapely.area(holes)
        return [
            (int(owner[h]), Finding(f"hole of {area[h]:.4f} µm² < {value:g} µm²", region=holes[h]))
            for h in np.flatnonzero(area < value - EPS_UM)
        ]

    return shapes.per_class(per_shape)

"""Exact size of round features: the diameter of the smallest circle around each shape."""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM
from .merge import Shapes
from .violation import Finding


def check_size(shapes: Shapes, value: float, tolerance: float) -> list[Finding]:
    """One finding per shape whose diameter (smallest enclosing circle, which for a round
    feature drawn as a polygon is the circle through its vertices) is off `value` by more
    than `tolerance`; a square of side `value` fails too (its circle is √2 larger)."""

    def per_shape(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        d = 2 * shapely.minimum_bounding_radius(geoms)
        bad = np.abs(d - value) > tolerance + EPS_UM
        return [
            (int(k), Finding(f"diameter {d[k]:.4f} µm, not {value:g} ± {tolerance:g} µm", region=geoms[k]))
            for k in np.flatnonzero(bad)
        ]

    return shapes.per_class(per_shape)

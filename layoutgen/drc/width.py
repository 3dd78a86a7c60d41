"""Minimum width: parts of a shape narrower than the rule, from facing walls along the axes or by
opening (`morph.narrow_parts`)."""

from __future__ import annotations

import numpy as np
import shapely

from .merge import Shapes
from .morph import narrow_parts, wide_unions
from .violation import Finding


def check_width(shapes: Shapes, width: float, drawn: np.ndarray | None = None) -> list[Finding]:
    """One finding per part of a merged shape that a `width` square cannot sweep. `drawn`
    (optional): the polygons the shapes were merged from; shapes made only of rectangles at
    least `width` wide are then known to pass and are not opened (`morph.wide_unions`)."""
    wide = None
    if drawn is not None and len(shapes):
        per_shape_wide = wide_unions(shapes.geoms, drawn, width)
        wide = np.ones(len(shapes.reps), bool)
        np.logical_and.at(wide, shapes.cls, per_shape_wide)      # a class is wide when all its members are

    def per_shape(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        found = narrow_parts(geoms, width, wide)
        areas = shapely.area(np.array([piece for _, piece in found], object)).tolist()
        head = f"narrower than {width:g} µm over "
        return [(i, Finding(f"{head}{a:.4g} µm²", piece)) for (i, piece), a in zip(found, areas)]

    return shapes.per_class(per_shape)

"""Minimum width: parts of a shape narrower than the rule, found by opening."""

from __future__ import annotations

import numpy as np

from .merge import Shapes
from .morph import narrow_parts
from .violation import Finding


def check_width(shapes: Shapes, width: float) -> list[Finding]:
    """One finding per part of a merged shape that a `width` square cannot sweep."""

    def per_shape(geoms: np.ndarray) -> list[tuple[int, Finding]]:
        return [
            (i, Finding(f"narrower than {width:g} µm over {piece.area:.4g} µm²", region=piece))
            for i, piece in narrow_parts(geoms, width)
        ]

    return shapes.per_class(per_shape)

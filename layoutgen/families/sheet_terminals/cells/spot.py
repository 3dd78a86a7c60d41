"""Etch-resist spots on the sheet's top: circle, square, triangle or polygon, biased for the etch undercut.

The undercut model is a named function (`undercut_model`) kept in `ETCH_MODELS`; a config
can register its own with `register_etch_model(name, fn)` and name it in
`SheetTerminals.etch_model`. All lengths in µm; sizes are widths across flats (the circle's
diameter, the square's side, twice a triangle's or polygon's inradius), so a bias of b on
the size moves every edge out by b/2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
from shapely.geometry import Polygon

SpotShape = Literal["circle", "square", "triangle", "polygon"]


@dataclass(frozen=True)
class TowerSizes:
    """A terminal's predicted widths across flats: the spot drawn, and the tip, neck and base etched."""

    spot: float
    tip: float
    neck: float
    base: float

    @property
    def bias(self) -> float:
        """Spot size minus the target top (tip) size."""
        return self.spot - self.tip


EtchModel = Callable[[float, float, float, float], TowerSizes]


def undercut_model(top_um: float, depth_um: float, etch_factor: float, neck_undercut: float = 1.25) -> TowerSizes:
    """Spot for a terminal top of `top_um` etched `depth_um` deep: spot = top + 2·depth/EF.

    The etch undercuts the resist edge by u = depth/EF on each side, so the spot is the target
    top grown by u per side and the etched tip equals the target top. The neck, where a spray
    etch undercuts most, loses `neck_undercut`·u per side from the spot; the base, which the
    etch front clears last, keeps the spot's size (no over-etch).
    """
    u = depth_um / etch_factor
    spot = top_um + 2 * u
    return TowerSizes(spot=spot, tip=top_um, neck=spot - 2 * neck_undercut * u, base=spot)


ETCH_MODELS: dict[str, EtchModel] = {"undercut": undercut_model}


def register_etch_model(name: str, model: EtchModel) -> None:
    """Make `model` (same signature as `undercut_model`) available as `etch_model=name`."""
    ETCH_MODELS[name] = model


def sides_of(shape: SpotShape, sides: int, circle_vertices: int) -> int:
    """The vertex count standing for `shape`."""
    return {"circle": circle_vertices, "square": 4, "triangle": 3}.get(shape, sides)


def regular_outline(size_um: float, sides: int, grid: float) -> Polygon:
    """A regular polygon of width across flats `size_um`, flat edge at the bottom, centred at the origin.

    Its centroid is the origin (a triangle points up); vertices are rounded to the grid, so
    the width across flats is `size_um` within one grid step.
    """
    r = size_um / 2 / math.cos(math.pi / sides)
    ang = -math.pi / 2 + math.pi / sides + 2 * math.pi * np.arange(sides) / sides
    pts = np.round(np.c_[np.cos(ang), np.sin(ang)] * r / grid) * grid
    return Polygon(pts)


def spot_outline(shape: SpotShape, size_um: float, grid: float, sides: int = 6, circle_vertices: int = 64) -> Polygon:
    """The outline of a spot (or terminal section) of `shape` and width across flats `size_um`."""
    return regular_outline(size_um, sides_of(shape, sides, circle_vertices), grid)

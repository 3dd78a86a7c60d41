"""Terminals of fan-out passives: the end of a lead where a route attaches (the net's side of a device)."""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry import Polygon, box


@dataclass(frozen=True)
class Pin:
    """A device terminal on wiring layer `layer`: the pin point and the lead tip the net may touch."""

    name: str
    layer: str
    x: float
    y: float
    tip: Polygon

    def moved(self, dx: float, dy: float) -> "Pin":
        """The same pin translated by (dx, dy)."""
        from shapely import affinity

        return Pin(self.name, self.layer, self.x + dx, self.y + dy, affinity.translate(self.tip, dx, dy))


def lead_tip(x: float, y: float, direction: tuple[int, int], length: float, width: float) -> Polygon:
    """The last `length` µm of a lead of `width` that ends at (x, y) heading in `direction` (a unit axis vector)."""
    dx, dy = direction
    hw = width / 2
    if dx:
        x0, x1 = sorted((x - dx * length, x + dx * hw))
        return box(x0, y - hw, x1, y + hw)
    y0, y1 = sorted((y - dy * length, y + dy * hw))
    return box(x - hw, y0, x + hw, y1)

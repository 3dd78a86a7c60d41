"""What the RDL router takes and gives: pads and balls in, one trace per pad out (all lengths in µm)."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely


@dataclass(frozen=True)
class Terminal:
    """A chip pad or a ball: its name, net, centre and metal footprint on the RDL layer."""

    name: str
    net: str | None
    x: float
    y: float
    shape: shapely.Polygon


@dataclass(frozen=True)
class RouteRules:
    """The rule values the router draws to: trace width, spacing, grid, teardrop limit, ball pitch."""

    width: float
    space: float
    grid: float
    teardrop_max_fraction: float
    pitch: float


@dataclass(frozen=True)
class Route:
    """One pad-to-ball trace: its centreline from the pad centre to the ball centre."""

    pad: str
    ball: str
    net: str
    path: tuple[tuple[float, float], ...]
    length_um: float


@dataclass(frozen=True)
class Routing:
    """A complete single-layer routing: one route per pad and the net each used ball carries."""

    routes: tuple[Route, ...]
    ball_nets: dict[str, str]
    balls: tuple[Terminal, ...] = field(default=(), repr=False, compare=False)

    def metal(self, rules: RouteRules) -> dict[str, shapely.Geometry]:
        """Per net, the union of its trace polygons and teardrops (pads and balls not included)."""
        from .geometry import routes_metal

        return routes_metal(self.routes, {b.name: b for b in self.balls}, rules)

"""What the RDL router takes and gives: pads and balls in, one trace per pad out (all lengths in µm)."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import shapely


@dataclass(frozen=True)
class Terminal:
    """A chip pad or a ball: its name, net, centre and footprint on the RDL layer (`metal`: drawn
    on the layer, as a capture pad is; else only a keep-out other nets clear, as a protrusion is)."""

    name: str
    net: str | None
    x: float
    y: float
    shape: shapely.Polygon
    metal: bool = True


@dataclass(frozen=True)
class RouteRules:
    """The rule values the router draws to: trace width, spacing, grid, teardrop size, ball pitch,
    the angle tolerance of the DRC, and net classes (pattern, width, space) wider than the rules."""

    width: float
    space: float
    grid: float
    teardrop_max_fraction: float
    pitch: float
    teardrop_max_widths: float = 3.0
    angle_tolerance: float | None = 0.02  # None: the layer has no angle rule
    classes: tuple[tuple[str, float, float], ...] = ()

    def for_net(self, net: str) -> tuple[float, float]:
        """(width, space) of a net: its class (exact name first, then the first matching pattern) or the rules."""
        exact = [c for c in self.classes if c[0] == net]
        match = exact or [c for c in self.classes if fnmatch.fnmatchcase(net, c[0])]
        return (match[0][1], match[0][2]) if match else (self.width, self.space)


@dataclass(frozen=True)
class Route:
    """One pad-to-ball trace: its centreline from the pad to the ball, and its width."""

    pad: str
    ball: str
    net: str
    path: tuple[tuple[float, float], ...]
    length_um: float
    width: float | None = None  # None: the rule width
    teardrop: bool = True  # whether a teardrop joins it to the ball (when it ends on the centre)


@dataclass(frozen=True)
class Routing:
    """A complete single-layer routing: one route per pad, the net each used ball carries, and
    the balls left without a net (no-connects), and per net the metal the router checked."""

    routes: tuple[Route, ...]
    ball_nets: dict[str, str]
    balls: tuple[Terminal, ...] = field(default=(), repr=False, compare=False)
    no_connect: tuple[str, ...] = ()
    router: str = "ring"
    metal: Mapping[str, shapely.Geometry] | None = field(default=None, repr=False, compare=False)

    def pad_balls(self) -> dict[str, list[str]]:
        """Per pad, every ball its traces reach (a pad of a net on several balls feeds them all), in route order."""
        out: dict[str, list[str]] = {}
        for r in self.routes:
            if r.ball not in out.setdefault(r.pad, []):
                out[r.pad].append(r.ball)
        return out

    def with_paths(self, paths: Sequence) -> Routing:
        """The routing with each route's centreline replaced (vertices rounded to the nm, lengths measured again),
        its checked metal dropped."""
        routes = []
        for r, path in zip(self.routes, paths):
            pts = tuple(map(tuple, np.round(np.asarray(path, dtype=float), 9).tolist()))
            if pts == tuple(r.path):
                routes.append(r)
                continue
            length = sum(math.dist(a, b) for a, b in zip(pts, pts[1:]))
            routes.append(replace(r, path=pts, length_um=round(length, 6)))
        return replace(self, routes=tuple(routes), metal=None)

    def pad_lengths(self) -> dict[str, float]:
        """Per pad, the length of all its traces (µm, rounded to the nm)."""
        out: dict[str, float] = {}
        for r in self.routes:
            out[r.pad] = out.get(r.pad, 0.0) + r.length_um
        return {p: round(v, 3) for p, v in out.items()}

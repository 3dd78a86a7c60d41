"""Multi-level fan-out router: nets over n wiring levels on one grid, vias where a net changes level.

    route(terminals, obstacles, keepin, levels, vias, pitch, order=None) -> Routing

`Terminal`s are where nets arrive (die pads, bonding pads, bus rings, passive pins),
`Obstacle`s are fixed metal or keep-outs, `LevelSpec`/`ViaSpec` come from the PDK's width,
space, via size and enclosure rules. Routing.nets[net] gives each net's legs, trace metal per
level, vias, length per level; `notch_fill` closes gaps narrower than the space inside one
net's own metal (a route beside its own via pad or grazing its own round pad). All lengths in µm.
"""

from .grid import LevelSpec, RouteGrid, ViaSpec
from .notch import notch_fill
from .router import Leg, NetRoute, Obstacle, Routing, Terminal, route

__all__ = ["Leg", "LevelSpec", "NetRoute", "Obstacle", "RouteGrid", "Routing", "Terminal", "ViaSpec", "notch_fill", "route"]

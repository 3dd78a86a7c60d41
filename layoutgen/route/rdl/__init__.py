"""Single-layer RDL routing for fan-in WLCSP: every chip pad to its own ball, planar, DRC-clean.

All lengths in µm. `route` plans which ball each pad gets (or keeps a given ball map), escapes
inner balls through the gaps of the rings above them, fans out to the pads with 45° jogs and
checks the final polygons; it returns a complete `Routing` or raises `RoutingError`.
"""

from .geometry import teardrop, trace_polygon
from .model import Route, RouteRules, Routing, Terminal
from .router import route

__all__ = ["Route", "RouteRules", "Routing", "Terminal", "route", "teardrop", "trace_polygon"]

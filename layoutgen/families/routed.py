"""What the routed families share: router rules from the PDK, routing onto a layer, ball placement."""

from __future__ import annotations

from ..design import Model
from ..errors import RoutingError
from ..layout import Cell
from ..pdk import Pdk


def route_rules(pdk: Pdk, layer: str, pitch: float, teardrops: bool = True):
    """Router rules for `layer`: its width and space rules, the grid, the PDK's teardrop size."""
    from ..route.rdl import RouteRules

    return RouteRules(width=pdk.value("width", layer), space=pdk.value("space", layer), grid=pdk.grid_um,
                      teardrop_max_fraction=pdk.rdl.teardrop_max_fraction if teardrops else 0.0, pitch=pitch)


def route_onto(top: Cell, layer: str, pads, balls, keepin, rules, mode: str, where: Model, what: str = ""):
    """Route pads to balls and draw each net's metal on `layer` of `top`; errors point at `where`."""
    from ..route.rdl import route

    try:
        routing = route(pads, balls, keepin, rules, mode=mode)
    except RoutingError as e:
        raise RoutingError(f"{where.where()}: {what}{e}") from None
    for _, metal in sorted(routing.metal(rules).items()):
        top.add(layer, metal)
    return routing


def place_balls(top: Cell, cell: str, balls: list[tuple[str, float, float]], ball_nets: dict[str, str],
                net_layer: str, offset: tuple[float, float] = (0.0, 0.0)) -> None:
    """Place the ball stack at every ball; its net on `net_layer`, its name on TEXT (at the offset)."""
    ox, oy = offset
    for name, x, y in balls:
        top.place(cell, x, y)
        if name in ball_nets:
            top.label(net_layer, ball_nets[name], x + ox, y + oy)
        top.label("TEXT", name, x + ox, y + oy)

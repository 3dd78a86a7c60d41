"""What the routed families share: router rules from the PDK, routing onto a layer, ball placement."""

from __future__ import annotations

from ..design import BallGrid, Model
from ..errors import ConfigError, RoutingError
from ..layout import Cell
from ..pdk import Pdk
from layoutgen.units import LENGTH_EPS_UM


def route_rules(pdk: Pdk, layer: str, pitch: float, teardrops: bool = True, balls: BallGrid | None = None):
    """Router rules for `layer`: its width and space rules, the grid, the PDK's teardrop size and
    angle tolerance, and the ball grid's net classes (each checked against the rules)."""
    from ..route.rdl import RouteRules

    width, space = pdk.value("width", layer), pdk.value("space", layer)
    classes = []
    for pattern, c in (balls.net_classes.items() if balls is not None else []):
        for what, value, rule in (("width", c.width, width), ("space", c.space, space)):
            if value < rule - LENGTH_EPS_UM:
                raise ConfigError(f"{c.where()}: BallGrid.net_classes[{pattern!r}].{what} = {value:g}: below the "
                                  f"PDK's {layer} {what} rule {rule:g} µm (PDK {pdk.name})")
        classes.append((pattern, c.width, c.space))
    angle = next((r for r in pdk.rules if r.kind == "angle" and layer in (r.layers or [r.layer])), None)
    return RouteRules(width=width, space=space, grid=pdk.grid_um,
                      teardrop_max_fraction=pdk.rdl.teardrop_max_fraction if teardrops else 0.0, pitch=pitch,
                      teardrop_max_widths=pdk.rdl.teardrop_max_widths,
                      angle_tolerance=(angle.tolerance_um or 0.02) if angle else None, classes=tuple(classes))


def route_onto(top: Cell, layer: str, pads, balls, keepin, rules, mode: str, where: Model, what: str = ""):
    """Route pads to balls and draw each net's metal on `layer` of `top`; errors point at `where`."""
    from ..route.rdl import route
    from ..route.rdl.geometry import routing_metal

    try:
        routing = route(pads, balls, keepin, rules, mode=mode)
    except RoutingError as e:
        raise RoutingError(f"{where.where()}: {what}{e}") from None
    for _, metal in sorted(routing_metal(routing, rules, pads).items()):
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

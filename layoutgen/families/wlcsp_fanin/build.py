"""Family 1: the fan-in WLCSP die: PV1 over pads, RDL routed to a ball grid, PV2, UBM, bump."""

from __future__ import annotations

import shapely
from shapely.geometry import Polygon, box

from layoutgen.cells.rdl import capture_pad_diameter
from layoutgen.cells.stacks import ball_cell, pad_cell
from layoutgen.design import Design
from .model import FanInWlcsp
from layoutgen.errors import ConfigError
from layoutgen.layout import Cell, Layout
from layoutgen.pdk import Pdk
from layoutgen.route.rdl import Terminal
from layoutgen.cells.pv2 import pv2_opening
from layoutgen.cells.shapes import width_across_flats
from .posts import check_contact_ring, check_posts, check_yield, per_ball, post_ball_cell
from .posts import summary as posts_summary
from ..die import add_die_frame, check_die_size, seal_width
from ..result import DieResult
from ..routed import place_balls, route_onto, route_rules
from layoutgen.units import LENGTH_EPS_UM

# The die goes onto a wafer with the kerf-connected plating network (layoutgen.wafer).
WAFER_LEVEL = True


def check_die(design: Design, pdk: Pdk) -> None:
    """Die size, ball pitch and ball-to-seal distances against the PDK; ConfigError naming file:line."""
    die = design.die
    check_die_size(die, pdk)
    pkg = design.package
    balls = pkg.balls
    pitch_rule = pdk.find_rule("pitch", "BUMP")
    if pitch_rule and pitch_rule.value and balls.pitch < pitch_rule.value - LENGTH_EPS_UM:
        raise ConfigError(f"{balls.where()}: BallGrid.pitch = {balls.pitch:g}: below {pitch_rule.name} "
                          f"({pitch_rule.value:g} µm, PDK {pdk.name})")
    seal = seal_width(design.die, pdk)
    ubm_rule = pdk.find_rule("edge_distance", "UBM", "SEAL")
    bump = pdk.value("size", "BUMP")
    bump_sep = pdk.find_rule("separation", "BUMP", "SEAL")
    pos = balls.positions()
    if balls.at is not None and len(pos) > 1:
        import numpy as np

        xy = np.array([(x, y) for _, x, y in pos])
        d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        np.fill_diagonal(d, np.inf)
        a, b = np.unravel_index(int(np.argmin(d)), d.shape)
        if d[a, b] < balls.pitch - 1e-6:
            raise ConfigError(f"{balls.where()}: BallGrid.at: balls {pos[a][0]} and {pos[b][0]} are {d[a, b]:g} µm "
                              f"apart, closer than the ball pitch {balls.pitch:g} µm")
    for name, x, y in pos:
        to_edge = min(die.width / 2 - abs(x), die.height / 2 - abs(y))
        if ubm_rule and ubm_rule.value and to_edge < ubm_rule.value - LENGTH_EPS_UM:
            raise ConfigError(f"{balls.where()}: ball {name} at ({x:g}, {y:g}) is {to_edge:g} µm from the die edge: "
                              f"{ubm_rule.name} needs ≥ {ubm_rule.value:g} µm (UBM centre to seal ring outer edge)")
        if bump_sep and bump_sep.value is not None and to_edge - bump / 2 - seal < bump_sep.value - LENGTH_EPS_UM:
            raise ConfigError(f"{balls.where()}: ball {name}'s bump comes within {to_edge - bump / 2 - seal:g} µm of the "
                              f"seal ring: {bump_sep.name} needs ≥ {bump_sep.value:g} µm")
    npads, nballs = len(die.pads), len(balls.positions())
    nnets = len({p.net for p in die.pads})
    if balls.assign == "auto" and nnets > nballs:
        raise ConfigError(f"{balls.where()}: BallGrid has {nballs} balls for {nnets} nets: each net needs a ball")


def _keepin(design: Design, pdk: Pdk) -> Polygon:
    """Where RDL may go: the die inside the seal ring, less the RDL-to-seal space."""
    sep = pdk.value("separation", "RDL", "SEAL")
    inset = seal_width(design.die, pdk) + sep
    w, h = design.die.width / 2 - inset, design.die.height / 2 - inset
    return box(-w, -h, w, h)


def post_table(design: Design, pdk: Pdk, balls: list[tuple[str, float, float]], ball_nets: dict[str, str]) -> list[dict]:
    """Per-ball post force, root stress and margin to yield (the posts checked against the PDK first)."""
    pkg = design.package
    check_posts(pkg.posts, pkg.bump, pdk)
    return per_ball(balls, ball_nets, pkg.posts)


def build_die(design: Design, pdk: Pdk) -> DieResult:
    """The die cell of a fan-in WLCSP with every drawn layer, routed; raises Config/RoutingError."""
    pkg = design.package
    assert isinstance(pkg, FanInWlcsp)
    check_die(design, pdk)
    die = design.die
    layout = Layout(top=die.name)
    top = Cell(die.name)

    # Reference layers: the die outline and the seal ring band.
    add_die_frame(top, design.die, pdk)

    # Pads: one stack cell per pad size/shape, placed at each pad.
    pad_terms: list[Terminal] = []
    for p in die.pads:
        cell = layout.add(pad_cell(p.width, p.height, p.shape, pdk, p.name))
        x, y = pdk.snap(p.x), pdk.snap(p.y)
        top.place(cell.name, x, y)
        top.label("PAD", p.net, x, y)
        landing = shapely.affinity.translate(cell.shapes["RDL"][0], x, y)
        pad_terms.append(Terminal(p.name, p.net, x, y, landing))

    # Balls: one stack cell placed at every populated ball.
    ring, yielding = None, []
    balls = [(n, pdk.snap(x), pdk.snap(y)) for n, x, y in pkg.balls.positions()]
    if pkg.posts is not None:
        # The posts are checked before anything is routed: their sizes, the ring, and that they bend without yielding.
        check_posts(pkg.posts, pkg.bump, pdk)
        ring = check_contact_ring(pkg.posts, design.wafer, pdk)
        yielding = check_yield(per_ball(balls, {}, pkg.posts), pkg.posts)
    bcell = layout.add(ball_cell(pkg.bump, pdk) if pkg.posts is None else post_ball_cell(pkg.bump, pkg.posts, pdk))
    capture = bcell.shapes["RDL"][0]
    ball_terms: list[Terminal] = []
    for name, x, y in balls:
        net = pkg.balls.nets.get(name)  # explicit: the ball map; auto: the balls fixed beforehand
        ball_terms.append(Terminal(name, net, x, y, shapely.affinity.translate(capture, x, y)))

    rules = route_rules(pdk, "RDL", pkg.balls.pitch, balls=pkg.balls)
    routing = route_onto(top, "RDL", pad_terms, ball_terms, _keepin(design, pdk), rules, pkg.balls.assign, pkg.balls)
    ball_nets = routing.ball_nets
    place_balls(top, bcell.name, balls, ball_nets, "BUMP")

    layout.add(top)
    # The die cell goes last so that every cell it references is written before it.
    layout.cells = {k: layout.cells[k] for k in [*(k for k in layout.cells if k != top.name), top.name]}
    nets = sorted({p.net for p in die.pads})
    extra = {"capture_pad_um": round(capture_pad_diameter(pdk, pkg.bump), 3)}
    if routing.no_connect:
        extra["no_connect_balls"] = list(routing.no_connect)  # balls the ball map leaves without a net
    if pkg.posts is not None:
        rows = per_ball(balls, dict(ball_nets), pkg.posts)
        extra["per_ball"] = rows
        extra["posts"] = posts_summary(pkg.posts, rows, yielding, ring)
    return DieResult(
        layout=layout,
        ball_nets=dict(ball_nets),
        assignment={pad: fed[0] for pad, fed in routing.pad_balls().items()},
        route_lengths=routing.pad_lengths(),
        pad_balls=routing.pad_balls(),
        nets=nets,
        pads=[(p.name, p.net, pdk.snap(p.x), pdk.snap(p.y)) for p in die.pads],
        balls=balls,
        counts={"pads": len(die.pads), "balls": len(balls), "connected_balls": len(ball_nets),
                "nets": len(nets), "routes": len(routing.routes)},
        extra=extra,
    )

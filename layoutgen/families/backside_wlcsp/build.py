"""Family 4: WLCSP with backside grooves: a groove over each pad row, a cut along the row through its pads, backside wiring to balls.

Everything is drawn in die (front-view) coordinates, as the combined GDS shows the die; the
PDK marks the backside masks as mirrored, and `layoutgen.masks` mirrors them when it writes
the mask files. Seen from the back of the wafer:

- GROOVE1: one opening per pad row; its bottom exposes the row's pads with the PDK's clearance,
  and the drawn opening is that bottom widened by thickness / tan(wall angle) for the sloped
  wall (the PDK's [process] numbers);
- ISO (no mask: a blanket insulator) covers the groove's walls and bottom and the back surface;
- GROOVE2: one cut along each row, through every pad and the client layer between them,
  made after the insulator: it opens each pad's sidewall, the only place the wiring meets it;
- BSWIRE: each pad's wiring lines its own pad's stretch of the cut (a landing as long as the
  pad), runs straight up the groove wall (a lead, one cell per pad kind) and is routed on the
  back surface by the RDL router to a ball pad; two pads' leads never share a stretch of the cut;
- SMASK: a solder-mask opening inside each ball pad; BUMP: the ball-mount aperture.

All lengths in µm.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

import shapely
from pydantic import Field
from shapely import affinity
from shapely.geometry import Polygon, box

from .cells.ball import ball_pad, ball_stack_cell, smask_opening
from .cells.groove import groove1_cell, groove1_extent, groove2_cell, groove2_cut, groove2_extent
from layoutgen.cells.shapes import pad_outline
from .cells.lead import lead_cell, lead_end
from layoutgen.cells.bump import bump_opening
from layoutgen.cells.shapes import width_across_flats
from layoutgen.design import BallGrid, Design, Package, Pad
from layoutgen.errors import ConfigError, PdkError
from layoutgen.layout import Cell, Layout
from layoutgen.pdk import Pdk
from .rules import family_rule, wall_run
from ..die import check_die_size, seal_width
from ..routed import place_balls, route_onto, route_rules
from ..result import DieResult
from .model import BacksideWlcsp
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS

# The die goes onto a wafer with the kerf-connected plating network (layoutgen.wafer).
WAFER_LEVEL = True

Side = Literal["S", "E", "N", "W"]
# Row frame of each die side: u along the row, v across it pointing into the die. A cell drawn
# in the row frame is placed with this rotation (degrees, counter-clockwise).
ROTATION: dict[str, float] = {"S": 0.0, "E": 90.0, "N": 180.0, "W": 270.0}
SIDES: tuple[Side, ...] = ("S", "E", "N", "W")


@dataclass(frozen=True)
class PadRow:
    """A row of pads along one die side: the side, the row's centre line, its pads in order along the row."""

    side: Side
    line: float                  # y of an S/N row, x of an E/W row (µm, on grid)
    pads: tuple[Pad, ...]        # sorted by u (along the row)

    @property
    def name(self) -> str:
        """'S row at -1870 µm (P1…P12)': side, line and first and last pad, for messages."""
        return f"{self.side} row at {self.line:g} µm ({self.pads[0].name}…{self.pads[-1].name})"


# --- the row frame ------------------------------------------------------------------------------

def to_die(side: Side, line: float, u: float, v: float) -> tuple[float, float]:
    """Die coordinates of the point (u, v) of a row frame."""
    if side == "S":
        return u, line + v
    if side == "E":
        return line - v, u
    if side == "N":
        return -u, line - v
    return line + v, -u


def along(side: Side, x: float, y: float) -> float:
    """The u coordinate of the die point (x, y) in the row frame of `side`."""
    return {"S": x, "E": y, "N": -x, "W": -y}[side]


def frame_polygon(side: Side, line: float, g: Polygon) -> Polygon:
    """A row-frame polygon in die coordinates."""
    x0, y0 = to_die(side, line, 0.0, 0.0)
    return affinity.translate(affinity.rotate(g, ROTATION[side], origin=(0, 0)), x0, y0)


def pad_dims(side: Side, pad: Pad) -> tuple[float, float]:
    """(along, across) size of a pad in its row frame."""
    return (pad.width, pad.height) if side in ("S", "N") else (pad.height, pad.width)


# --- planning -----------------------------------------------------------------------------------

def pad_rows(design: Design, pdk: Pdk) -> list[PadRow]:
    """The pad rows: each pad joins the row of its nearest die side, pads on one line form a row.

    A pad equally near two sides goes to the side whose line holds more pads; a pad that
    could still go either way is refused.
    """
    die = design.die
    hw, hh = die.width / 2, die.height / 2
    snapped = {p.name: (pdk.snap(p.x), pdk.snap(p.y)) for p in die.pads}
    on_line: dict[tuple[str, float], int] = defaultdict(int)
    for x, y in snapped.values():
        on_line[("SN", y)] += 1
        on_line[("EW", x)] += 1
    groups: dict[tuple[Side, float], list[Pad]] = defaultdict(list)
    for p in die.pads:
        x, y = snapped[p.name]
        dist = {"S": y + hh, "N": hh - y, "W": x + hw, "E": hw - x}
        best = min(dist.values())
        near = [s for s in SIDES if abs(dist[s] - best) < 1e-6]
        if len(near) > 1:
            count = {s: on_line[("SN", y)] if s in ("S", "N") else on_line[("EW", x)] for s in near}
            top = max(count.values())
            near = [s for s in near if count[s] == top]
            if len(near) > 1:
                raise ConfigError(
                    f"{p.where()}: pad {p.name} at ({p.x:g}, {p.y:g}) is as near to the {near[0]} as to the {near[1]} "
                    f"die side and lines up with as many pads either way: its first groove cannot be chosen; move it")
        side = near[0]
        groups[(side, y if side in ("S", "N") else x)].append(p)
    rows = []
    for side in SIDES:
        for (s, line), pads in sorted(groups.items(), key=lambda kv: kv[0][1]):
            if s != side:
                continue
            pads.sort(key=lambda p: along(side, *snapped[p.name]))
            rows.append(PadRow(side, line, tuple(pads)))
    return rows


@dataclass(frozen=True)
class RowPlan:
    """What is drawn for one row: groove 1 (start, length, half width of the drawn opening), the cut, lead length."""

    row: PadRow
    groove_start: float
    groove_length: float
    groove_half: float
    cut: tuple[float, float]                    # (u start, length) of the row's second groove
    lead_length: float                          # pad centre to the lead's end square centre

    def groove(self) -> Polygon:
        """The first-groove opening in die coordinates."""
        return frame_polygon(self.row.side, self.row.line,
                             box(self.groove_start, -self.groove_half, self.groove_start + self.groove_length, self.groove_half))

    def keepout(self, clearance: float, reach: float) -> Polygon:
        """The groove grown by `clearance`, extended `reach` towards its die side: no routing on the back there."""
        g = box(self.groove_start - clearance, -self.groove_half - reach,
                self.groove_start + self.groove_length + clearance, self.groove_half + clearance)
        return frame_polygon(self.row.side, self.row.line, g)


def lead_width(pkg: BacksideWlcsp, pdk: Pdk) -> float:
    """The lead width: the config's, else the BSWIRE minimum width; refused below that minimum."""
    w_min = pdk.value("width", "BSWIRE")
    if pkg.lead_width is None:
        return w_min
    if pkg.lead_width < w_min - LENGTH_EPS_UM:
        raise ConfigError(f"{pkg.where()}: BacksideWlcsp.lead_width = {pkg.lead_width:g}: below "
                          f"{pdk.rule('width', 'BSWIRE').name} ({w_min:g} µm, PDK {pdk.name})")
    return pdk.snap_up(pkg.lead_width)


def wall_clearance(pdk: Pdk) -> float:
    """How far backside wiring keeps from a first-groove edge, leads excepted (family rule BSWIRE.GROOVE1.X)."""
    rule = family_rule(pdk, "wall_crossing")
    assert rule.value is not None
    return rule.value


def plan_rows(design: Design, pdk: Pdk, rows: list[PadRow]) -> list[RowPlan]:
    """Groove 1, the cut and the lead length of every row, checked against the PDK."""
    pkg = design.package
    wl = lead_width(pkg, pdk)
    clear = wall_clearance(pdk)
    run = wall_run(pdk)
    check_wall_angle(pdk)
    cut_half = groove2_cut(1.0, pdk).bounds[3]
    plans = []
    for row in rows:
        spans, half_across = [], 0.0
        for p in row.pads:
            a, c = pad_dims(row.side, p)
            outline = pad_outline(a, c, p.shape, pdk)
            u = along(row.side, pdk.snap(p.x), pdk.snap(p.y))
            spans.append((u + outline.bounds[0], u + outline.bounds[2]))
            half_across = max(half_across, outline.bounds[3])
            if 2 * cut_half > outline.bounds[3] * 2 - LENGTH_EPS_UM:
                raise ConfigError(f"{p.where()}: pad {p.name} is {2 * outline.bounds[3]:g} µm across its row: the "
                                  f"{2 * cut_half:g} µm second groove would cut it away instead of through it")
            room = a if p.shape == "rect" else width_across_flats(outline)
            if wl > room + LENGTH_EPS_UM:
                raise ConfigError(f"{pkg.where()}: the {wl:g} µm lead is wider than pad {p.name} ({room:g} µm across "
                                  f"its row): lower BacksideWlcsp.lead_width or widen the pad")
        start, length, half = groove1_extent(spans, half_across, cut_half, run, pdk)
        plans.append(RowPlan(row, start, length, half, groove2_extent(spans, pdk), pdk.snap_up(half + clear + wl / 2)))
    return plans


def check_wall_angle(pdk: Pdk) -> None:
    """The PDK's groove wall angle is one a lead can be patterned on (family rule of kind wall_angle); a PdkError if not."""
    rule = family_rule(pdk, "wall_angle")
    angle = pdk.process_value("wall_angle_deg", rule.name)
    if rule.value is not None and angle > rule.value + RATIO_EPS:
        raise PdkError(f"PDK {pdk.name!r} ({pdk.path}/pdk.toml): process.wall_angle_deg = {angle:g}: the wiring lead "
                       f"climbs the first groove's wall, and {rule.name} allows walls of ≤ {rule.value:g}°")


def check_die(design: Design, pdk: Pdk) -> None:
    """Die size, ball pitch and ball count against the PDK; ConfigError naming file:line."""
    die, balls = design.die, design.package.balls
    check_die_size(die, pdk)
    pitch = pdk.find_rule("pitch", "BUMP")
    if pitch and pitch.value and balls.pitch < pitch.value - LENGTH_EPS_UM:
        raise ConfigError(f"{balls.where()}: BallGrid.pitch = {balls.pitch:g}: below {pitch.name} "
                          f"({pitch.value:g} µm, PDK {pdk.name})")
    npads, nballs = len(die.pads), len(balls.positions())
    if balls.assign == "auto" and npads > nballs:
        raise ConfigError(f"{balls.where()}: BallGrid has {nballs} balls for {npads} pads: each pad needs its own ball")


def check_alignment(design: Design) -> None:
    """On a wafer the backside masks need front keys to register to (ConfigError naming Wafer.alignment.keys if none)."""
    wafer = design.wafer
    if wafer is not None and not wafer.alignment.keys:
        raise ConfigError(
            f"{wafer.alignment.where()}: Wafer.alignment.keys is empty: the backside masks (GROOVE1 first) must register "
            f"to the front-side pads, and the back of the wafer has nothing of its own; a zero layer prealigned to the "
            f"notch would put the grooves off the pad rows. Name front keys: AlignmentKey(x, y) in the die's own layout "
            f"(seen through the silicon in infrared) or AlignmentKey(x, y, frame='wafer') in the scribe; with "
            f"Alignment(backside='through_wafer') GROOVE1 etches a window through the wafer over each key first")


def check_grooves(design: Design, pdk: Pdk, plans: list[RowPlan], seal: float) -> None:
    """Grooves inside the die clear of the seal ring (band `seal` wide) and of each other; ConfigError naming the rows."""
    die = design.die
    inner = box(-die.width / 2 + seal, -die.height / 2 + seal, die.width / 2 - seal, die.height / 2 - seal)
    to_seal = pdk.rule("separation", "GROOVE1", "SEAL")
    space = pdk.rule("space", "GROOVE1")
    grooves = [pl.groove() for pl in plans]
    for pl, g in zip(plans, grooves):
        if not inner.contains(g) or inner.exterior.distance(g) < to_seal.value - LENGTH_EPS_UM:
            d = inner.exterior.distance(g) if inner.contains(g) else 0.0
            raise ConfigError(
                f"{pl.row.pads[0].where()}: the first groove over the {pl.row.name} comes {d:g} µm from the seal ring: "
                f"{to_seal.name} needs ≥ {to_seal.value:g} µm (move the pads inward, or shrink the seal band)")
    for i, j in zip(*shapely.STRtree(grooves).query(grooves, predicate="dwithin", distance=space.value - LENGTH_EPS_UM)):
        if i < j:
            a, b = plans[i].row, plans[j].row
            raise ConfigError(
                f"{b.pads[0].where()}: the first grooves over the {a.name} and the {b.name} are "
                f"{grooves[i].distance(grooves[j]):g} µm apart: {space.name} needs ≥ {space.value:g} µm")


def back_surface(design: Design, pdk: Pdk, plans: list[RowPlan], seal: float) -> Polygon:
    """Where wiring may be routed on the back: inside the seal ring band (`seal` wide), clear of every groove."""
    die = design.die
    inset = seal + pdk.value("separation", "BSWIRE", "SEAL")
    w, h = die.width / 2 - inset, die.height / 2 - inset
    reach = max(die.width, die.height)
    clear = wall_clearance(pdk)
    keepin = box(-w, -h, w, h).difference(shapely.union_all([pl.keepout(clear, reach) for pl in plans]))
    if keepin.geom_type != "Polygon":
        raise ConfigError(f"{design.die.where()}: the first grooves split the back surface into "
                          f"{len(shapely.get_parts(keepin))} pieces "
                          f"(wiring cannot reach every ball); keep the pad rows along the die sides")
    return keepin


def check_balls(design: Design, pdk: Pdk, plans: list[RowPlan], keepin: Polygon, seal: float,
                balls: list[tuple[str, float, float]]) -> None:
    """Every ball pad on the flat back surface: inside the routing area, its opening clear of the grooves."""
    pkg = design.package
    pad = ball_pad(pdk, pkg.ball)
    opening = smask_opening(pdk, pkg.ball)
    ball = bump_opening(pdk, pkg.ball)
    to_groove = pdk.rule("separation", "SMASK", "GROOVE1")
    to_seal = pdk.find_rule("separation", "BUMP", "SEAL")
    grooves = shapely.union_all([pl.groove() for pl in plans])
    hw, hh = design.die.width / 2, design.die.height / 2
    seal_band = box(-hw, -hh, hw, hh).difference(box(-hw + seal, -hh + seal, hw - seal, hh - seal))
    for name, x, y in balls:
        here = affinity.translate(pad, x, y)
        if not keepin.covers(here):
            raise ConfigError(
                f"{pkg.balls.where()}: ball {name} at ({x:g}, {y:g}): its {width_across_flats(pad):g} µm ball pad "
                f"reaches into a first groove's {wall_clearance(pdk):g} µm clearance or the seal ring band "
                f"({family_rule(pdk, 'wall_crossing').name}, {pdk.rule('separation', 'BSWIRE', 'SEAL').name}); "
                f"depopulate it or move the grid")
        d = affinity.translate(opening, x, y).distance(grooves)
        if d < to_groove.value - LENGTH_EPS_UM:
            raise ConfigError(f"{pkg.balls.where()}: ball {name}'s solder-mask opening is {d:g} µm from a first groove: "
                              f"{to_groove.name} needs ≥ {to_groove.value:g} µm")
        if to_seal and to_seal.value is not None:
            d = affinity.translate(ball, x, y).distance(seal_band)
            if d < to_seal.value - LENGTH_EPS_UM:
                raise ConfigError(f"{pkg.balls.where()}: ball {name} comes {d:g} µm from the seal ring: "
                                  f"{to_seal.name} needs ≥ {to_seal.value:g} µm")


# --- building -----------------------------------------------------------------------------------

def build_die(design: Design, pdk: Pdk) -> DieResult:
    """The die cell of a backside-groove WLCSP with every drawn layer, routed; raises Config/RoutingError."""
    pkg = design.package
    assert isinstance(pkg, BacksideWlcsp)
    plans, keepin, balls, seal = plan_die(design, pdk)
    die = design.die
    layout = Layout(top=die.name)
    top = Cell(die.name)
    draw_frame(top, die, seal)
    wl = lead_width(pkg, pdk)
    pad_terms, groove2_lengths = draw_rows(layout, top, plans, keepin, wl, pdk)
    bcell, ball_terms = ball_terminals(layout, pkg, balls, pdk)

    # Backside wiring from the lead ends to the balls, by the RDL router on the back surface.
    rules = route_rules(pdk, "BSWIRE", pkg.balls.pitch)
    routing = route_onto(top, "BSWIRE", pad_terms, ball_terms, keepin, rules, pkg.balls.assign, pkg.balls,
                         "backside wiring: ")
    place_balls(top, bcell.name, balls, routing.ball_nets, "BUMP")

    layout.add(top)
    layout.cells = {k: layout.cells[k] for k in [*(k for k in layout.cells if k != top.name), top.name]}
    return _result(design, pdk, layout, plans, routing, balls, groove2_lengths, wl)


def plan_die(design: Design, pdk: Pdk) -> tuple[list[RowPlan], Polygon, list[tuple[str, float, float]], float]:
    """Everything checked before drawing: the row plans, the back surface's routing area, the balls (on grid), the seal band."""
    check_die(design, pdk)
    check_alignment(design)
    plans = plan_rows(design, pdk, pad_rows(design, pdk))
    seal = seal_width(design.die, pdk)
    check_grooves(design, pdk, plans, seal)
    keepin = back_surface(design, pdk, plans, seal)
    balls = [(n, pdk.snap(x), pdk.snap(y)) for n, x, y in design.package.balls.positions()]
    check_balls(design, pdk, plans, keepin, seal, balls)
    return plans, keepin, balls, seal


def draw_frame(top: Cell, die, seal: float) -> None:
    """The die outline, the seal ring band, and the insulator: blanket over the whole back (no mask), drawn so the DRC sees it."""
    outline = box(-die.width / 2, -die.height / 2, die.width / 2, die.height / 2)
    top.add("DIE", outline)
    if seal > 0:
        top.add("SEAL", outline.difference(box(-die.width / 2 + seal, -die.height / 2 + seal,
                                                die.width / 2 - seal, die.height / 2 - seal)))
    top.add("ISO", outline)


def draw_rows(layout: Layout, top: Cell, plans: list[RowPlan], keepin: Polygon, wl: float, pdk: Pdk) -> tuple[list, list[float]]:
    """Per row its first groove and its cut, per pad its lead (labelled with its net); the leads' ends as router terminals,
    and the cut lengths. ConfigError for a lead that ends outside the routing area."""
    from layoutgen.route.rdl import Terminal   # the router (and scipy) load here, not when a config imports the model

    pad_terms = []
    groove2_lengths: list[float] = []
    for pl in plans:
        side, line, rot = pl.row.side, pl.row.line, ROTATION[pl.row.side]
        g1 = layout.add(groove1_cell(pl.groove_length, pl.groove_half))
        top.place(g1.name, *to_die(side, line, pl.groove_start, 0.0), rotation=rot)
        start, length = pl.cut
        g2 = layout.add(groove2_cell(length, pdk))
        top.place(g2.name, *to_die(side, line, start, 0.0), rotation=rot)
        groove2_lengths.append(length)
        end = lead_end(pl.lead_length, wl)
        for p in pl.row.pads:
            a, c = pad_dims(side, p)
            cell = layout.add(lead_cell(a, c, p.shape, pl.lead_length, wl, pdk))
            x, y = pdk.snap(p.x), pdk.snap(p.y)
            top.place(cell.name, x, y, rotation=rot)
            top.label("PAD", p.net, x, y)
            shape = affinity.translate(affinity.rotate(end, rot, origin=(0, 0)), x, y)
            if not keepin.covers(shape):
                raise ConfigError(f"{p.where()}: the lead of pad {p.name} ends outside the back surface's routing area "
                                  f"(another row's groove or the seal ring is in the way)")
            centre = shape.centroid
            pad_terms.append(Terminal(p.name, p.net, round(centre.x, 6), round(centre.y, 6), shape))
    return pad_terms, groove2_lengths


def ball_terminals(layout: Layout, pkg: BacksideWlcsp, balls: list[tuple[str, float, float]], pdk: Pdk) -> tuple[Cell, list]:
    """The ball stack cell and a router terminal (its wiring capture pad) at every ball; nets from an explicit ball map."""
    from layoutgen.route.rdl import Terminal

    bcell = layout.add(ball_stack_cell(pkg.ball, pdk))
    capture = bcell.shapes["BSWIRE"][0]
    terms = []
    for name, x, y in balls:
        net = pkg.balls.nets.get(name) if pkg.balls.assign == "explicit" else None
        terms.append(Terminal(name, net, x, y, affinity.translate(capture, x, y)))
    return bcell, terms


def _result(design: Design, pdk: Pdk, layout: Layout, plans: list[RowPlan], routing, balls, cut_lengths, wl) -> DieResult:
    """The DieResult: counts per feature and, in `extra`, the rows, grooves, cuts, leads and per-net figures."""
    die, pkg = design.die, design.package
    nets = sorted({p.net for p in die.pads})
    lead_of = {p.name: pl.lead_length for pl in plans for p in pl.row.pads}
    per_net: dict[str, dict] = {n: {"pads": [], "balls": [], "lead_um": 0.0, "route_um": 0.0} for n in nets}
    order = {p.name: i for i, p in enumerate(die.pads)}
    for r in sorted(routing.routes, key=lambda r: order[r.pad]):
        entry = per_net[r.net]
        entry["pads"].append(r.pad)
        entry["balls"].append(r.ball)
        entry["lead_um"] = round(entry["lead_um"] + lead_of[r.pad], 3)
        entry["route_um"] = round(entry["route_um"] + r.length_um, 3)
    lead_lengths = sorted({pl.lead_length for pl in plans})
    ball_nets = routing.ball_nets
    return DieResult(
        layout=layout,
        nets=nets,
        pads=[(p.name, p.net, pdk.snap(p.x), pdk.snap(p.y)) for p in die.pads],
        balls=balls,
        ball_nets=dict(ball_nets),
        assignment={pad: fed[0] for pad, fed in routing.pad_balls().items()},
        route_lengths=routing.pad_lengths(),
        pad_balls=routing.pad_balls(),
        counts={"pads": len(die.pads), "balls": len(balls), "connected_balls": len(ball_nets),
                "nets": len(nets), "routes": len(routing.routes), "pad_rows": len(plans),
                "groove1_openings": len(plans), "groove2_cuts": len(plans),
                "leads": len(die.pads), "smask_openings": len(balls)},
        extra={"backside": {
            "mirrored_masks": [m.name for m in pdk.masks if m.mirror],
            "rows": [{"side": pl.row.side, "line_um": pl.row.line, "pads": [p.name for p in pl.row.pads],
                      "groove1_um": [round(pl.groove_length, 3), round(2 * pl.groove_half, 3)],
                      "groove1_clearance_um": pdk.value("enclosure", "GROOVE1", "PAD"),
                      "groove2_um": round(pl.cut[1], 3), "lead_length_um": round(pl.lead_length, 3)} for pl in plans],
            "groove_profile": {"substrate_thickness_um": pdk.process_value("substrate_thickness_um", "the groove profile"),
                               "groove_depth_um": pdk.process_value("groove_depth_um", "the groove profile"),
                               "wall_angle_deg": pdk.process_value("wall_angle_deg", "the groove profile"),
                               "wall_run_um": round(wall_run(pdk), 3),
                               "max_wall_angle_deg": family_rule(pdk, "wall_angle").value},
            "insulator": "ISO: blanket over the back after the first groove (no mask); the second groove opens the pad sidewalls through it",
            "groove2": {"width_um": pdk.value("width", "GROOVE2"),
                        "length_um": [round(min(cut_lengths), 3), round(max(cut_lengths), 3)] if cut_lengths else []},
            "lead": {"width_um": wl, "length_um": lead_lengths},
            "ball_pad_um": round(width_across_flats(ball_pad(pdk, pkg.ball)), 3),
            "smask_opening_um": round(width_across_flats(smask_opening(pdk, pkg.ball)), 3),
            "nets": per_net,
        }},
    )

"""Family 5: a fan-out unit on a metal carrier: dies in cavities, wiring levels routed to a ball grid, buses, passives.

Dies (the same or different) sit face-up in cavities of the carrier; dielectric and wiring
levels alternate above them (VIA1 opens the first dielectric over the die pads, VIAn joins
WIRE(n-1) to WIREn); the top wiring level carries the bonding pads of a ball grid larger
than the dies, under passivation openings and bump openings. Power and ground run in bus
rings; spiral inductors, MIM capacitors and meander resistors are drawn in the wiring
levels. `build_die` returns the unit cell (the package "die"): dies, cavities, vias, balls
and passives are cells placed by reference; routes are drawn per net; `panel_layout` arrays
the unit on a carrier panel. All lengths in µm, coordinates from the unit centre.

Layers: DIE is the unit outline (what the build and the wafer level measure), CHIP each
chip's outline, KERF half a singulation lane around the unit. Net names travel as labels on
PAD and BUMP (in the unit cell); a device that joins two nets on purpose (a spiral, a
meander: one piece of metal from one net to the other) carries a TEXT label "JOIN:a,b" at
its centre, so a connectivity check that reads only the GDS knows that short is intended.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import shapely
from pydantic import Field, field_validator, model_validator
from shapely import affinity
from shapely.geometry import Polygon, box

from .cells.capacitor import capacitor_cell, mim_plates, plate_capacitance_pf
from .cells.cavity import cavity_cell
from .cells.inductor import inductor_cell, square_spiral
from .cells.passiv import ball_stack_cell, bond_pad
from .cells.resistor import meander, resistor_cell
from .cells.via import landing_side, level_via_cell, pad_via_cell, via_cut, via_landing
from layoutgen.cells.shapes import pad_outline, rect, width_across_flats
from layoutgen.design import BallGrid, Design, Die, Length, Model, Pad, Package
from layoutgen.errors import ConfigError, RoutingError
from layoutgen.layout import Cell, Layout, join_label
from layoutgen.pdk import Pdk
from layoutgen.route.multilevel import LevelSpec, Obstacle, Routing, Terminal, ViaSpec, notch_fill, route
from layoutgen.units import LENGTH_EPS_UM, snap
from .rules import process_data
from ..die import add_die_frame, check_die_size
from ..result import DieResult
from .model import BusRing, CarrierPanel, Fanout, FanoutDie, MeanderResistor, MimCapacitor, NAME_PATTERN, Passive, SpiralInductor

# -- helpers -----------------------------------------------------------------------------------
def _bad(obj: Model, field: str, value: object, reason: str) -> ConfigError:
    return ConfigError(f"{obj.where()}: {type(obj).__name__}.{field} = {value!r}: {reason}")


def _snap2(pdk: Pdk, v: float) -> float:
    """`v` on twice the grid (so that its half is on the grid)."""
    return snap(v, 2 * pdk.grid_um)


def wire_layers(pkg: Fanout, pdk: Pdk) -> list[str]:
    """WIRE1..WIREn, checked against the PDK's layers and rules."""
    names = [f"WIRE{i}" for i in range(1, pkg.levels + 1)]
    for i, w in enumerate(names, start=1):
        for layer in (w, f"VIA{i}"):
            if layer not in pdk.layers:
                raise _bad(pkg, "levels", pkg.levels, f"PDK {pdk.name} has no layer {layer}")
        needs = [("width", w, None), ("space", w, None), ("size", f"VIA{i}", None), ("enclosure", w, f"VIA{i}")]
        if i > 1:
            needs.append(("enclosure", names[i - 2], f"VIA{i}"))
        for kind, layer, other in needs:
            if pdk.find_rule(kind, layer, other) is None:
                what = f"{kind} rule on {layer}" + (f" / {other}" if other else "")
                raise _bad(pkg, "levels", pkg.levels, f"PDK {pdk.name} has no {what}")
    if pdk.find_rule("enclosure", names[-1], "PASSIV") is None:
        raise _bad(pkg, "levels", pkg.levels, f"PDK {pdk.name} has no enclosure rule on {names[-1]} / PASSIV: "
                   f"its bonding pads are drawn on another level")
    return names


def route_pitch(pkg: Fanout, pdk: Pdk, least: float) -> float:
    """The routing grid pitch: the smallest one ≥ `least` (width + space) that puts every ball centre on
    a grid node (so routes enter the round bonding pads through their centres); else `least` on the grid."""
    g = pdk.grid_um
    pts = np.array([(x, y) for _, x, y in pkg.balls.positions()])
    for n in range(int(pkg.balls.pitch // least), 0, -1):
        p = pkg.balls.pitch / n
        if abs(p / g - round(p / g)) > 1e-6:
            continue
        if np.allclose(pts / p, np.round(pts / p), atol=1e-6):
            return p
    return pdk.snap_up(least)


def _edge_clearance(pdk: Pdk, layer: str) -> float:
    r = pdk.find_rule("separation", layer, "KERF")
    return r.value if r and r.value is not None else 0.0


def die_cell(die: Die, pdk: Pdk, via_cell: str) -> Cell:
    """The chip cell: outline (CHIP), pads (PAD), and the VIA1 stack over every pad; checks PAD-encloses-VIA1.

    In a fan-out unit the DIE layer is the unit (package) outline; each chip's outline is CHIP.
    """
    cell = Cell(die.name)
    add_die_frame(cell, die, pdk, "CHIP")
    cut = via_cut(pdk, "VIA1")
    enc = pdk.value("enclosure", "PAD", "VIA1")
    for p in die.pads:
        pad = pad_outline(p.width, p.height, p.shape, pdk)
        if not pad.buffer(-enc + LENGTH_EPS_UM, join_style="mitre").contains(cut):
            raise _bad(p, "width", p.width, f"pad {p.name} of die {die.name} ({p.width:g} × {p.height:g} µm, {p.shape}) "
                       f"cannot enclose the {width_across_flats(cut):g} µm VIA1 by {enc:g} µm (PAD.EN.VIA1)")
        x, y = pdk.snap(p.x), pdk.snap(p.y)
        cell.add("PAD", affinity.translate(pad, x, y))
        cell.place(via_cell, x, y)
    return cell


# -- checks of the placement ---------------------------------------------------------------------
def check_unit(design: Design, pdk: Pdk) -> None:
    """Dies, cavities, balls and rings against the unit and the PDK; ConfigError naming file:line."""
    pkg: Fanout = design.package  # type: ignore[assignment]
    wire_layers(pkg, pdk)
    if design.die is not None:
        raise ConfigError(f"{design.where()}: Design.die: the fan-out family places its dies itself; "
                          f"put them in Fanout(dies=[FanoutDie(die=Die(...), x=..., y=...)])")
    W, H = pkg.size
    by_name: dict[str, Die] = {}
    for d in pkg.dies:
        die = d.die
        check_die_size(die, pdk)
        if die.name in by_name and by_name[die.name].model_dump() != die.model_dump():
            raise _bad(die, "name", die.name, "two different dies share this name (the die cell name)")
        by_name[die.name] = die
    clear = pdk.value("enclosure", "CAVITY", "CHIP")
    web = pdk.value("space", "CAVITY")
    frame = pdk.find_rule("separation", "CAVITY", "KERF")
    margin = frame.value if frame and frame.value is not None else 0.0
    cavs = []
    for d in pkg.dies:
        w, h = d.footprint()
        cav = box(d.x - w / 2 - clear, d.y - h / 2 - clear, d.x + w / 2 + clear, d.y + h / 2 + clear)
        inside = box(-W / 2 + margin, -H / 2 + margin, W / 2 - margin, H / 2 - margin)
        if not inside.contains(cav):
            raise _bad(d, "x", (d.x, d.y), f"die {d.instance}'s cavity ({w + 2 * clear:g} × {h + 2 * clear:g} µm) "
                       f"must stay {margin:g} µm inside the {W:g} × {H:g} µm unit ({frame.name if frame else 'frame'})")
        for other, oc in cavs:
            gap = cav.distance(oc)
            if gap < web - LENGTH_EPS_UM:
                raise _bad(d, "x", (d.x, d.y), f"die {d.instance}'s cavity is {gap:g} µm from die {other.instance}'s: "
                           f"the carrier web needs ≥ {web:g} µm (CAV.S.1; cavities are the dies + {clear:g} µm)")
        cavs.append((d, cav))
    balls = pkg.balls
    pitch_rule = pdk.find_rule("pitch", "BUMP")
    if pitch_rule and pitch_rule.value and balls.pitch < pitch_rule.value - LENGTH_EPS_UM:
        raise _bad(balls, "pitch", balls.pitch, f"below {pitch_rule.name} ({pitch_rule.value:g} µm, PDK {pdk.name})")
    bump_r = pdk.value("size", "BUMP") / 2
    top = f"WIRE{pkg.levels}"
    pad_r = width_across_flats(bond_pad(pdk, top)) / 2
    need = max(bump_r + _edge_clearance(pdk, "BUMP"), pad_r + _edge_clearance(pdk, top))
    for name, x, y in balls.positions():
        if abs(x) > W / 2 - need + LENGTH_EPS_UM or abs(y) > H / 2 - need + LENGTH_EPS_UM:
            raise _bad(balls, "rows", (balls.rows, balls.cols), f"ball {name} at ({x:g}, {y:g}) comes within "
                       f"{min(W / 2 - abs(x), H / 2 - abs(y)):g} µm of the unit edge: needs ≥ {need:g} µm "
                       f"(bonding pad / bump to the singulation lane)")
    for ring in pkg.rings:
        lv = ring.level or pkg.levels
        if lv > pkg.levels:
            raise _bad(ring, "level", lv, f"the unit has {pkg.levels} wiring levels")
        if ring.width < pdk.value("width", f"WIRE{lv}"):
            raise _bad(ring, "width", ring.width, f"below WIRE{lv}'s minimum width {pdk.value('width', f'WIRE{lv}'):g} µm")
        edge = _edge_clearance(pdk, f"WIRE{lv}")
        hx, hy = ring.size[0] / 2 + ring.width / 2, ring.size[1] / 2 + ring.width / 2
        if abs(ring.center[0]) + hx > W / 2 - edge or abs(ring.center[1]) + hy > H / 2 - edge:
            raise _bad(ring, "size", ring.size, f"the ring must stay {edge:g} µm inside the unit")
        if ring.size[0] <= ring.width or ring.size[1] <= ring.width:
            raise _bad(ring, "size", ring.size, f"the ring's centreline must be larger than its width {ring.width:g} µm")


# -- the unit ------------------------------------------------------------------------------------
class _Unit:
    """Collects the unit's cells, terminals and obstacles while the features are placed."""

    def __init__(self, design: Design, pdk: Pdk):
        self.design, self.pdk = design, pdk
        self.pkg: Fanout = design.package  # type: ignore[assignment]
        self.wires = wire_layers(self.pkg, pdk)
        self.top_i = len(self.wires) - 1
        self.layout = Layout(top=f"FANOUT_{design.name}".replace("-", "_"))
        self.top = Cell(self.layout.top)
        self.terms: list[Terminal] = []
        self.obst: list[Obstacle] = []
        self.passives: dict[str, dict] = {}
        self.joined: list[set[str]] = []
        self.device_metal: list[tuple[int, Polygon]] = []     # devices' own metal (no net), per level
        widths = [pdk.value("width", w) for w in self.wires]
        spaces = [pdk.value("space", w) for w in self.wires]
        least = max(w + s for w, s in zip(widths, spaces))
        self.pitch = pdk.snap(self.pkg.route_pitch or route_pitch(self.pkg, pdk, least))
        if self.pitch < least - LENGTH_EPS_UM:
            raise _bad(self.pkg, "route_pitch", self.pkg.route_pitch,
                       f"below the largest width + space of the wiring levels ({least:g} µm)")
        off = [(n, x, y) for n, x, y in self.pkg.balls.positions()
               if abs(x / self.pitch - round(x / self.pitch)) > 1e-6 or abs(y / self.pitch - round(y / self.pitch)) > 1e-6]
        if off:
            n, x, y = off[0]
            obj, field, value = ((self.pkg, "route_pitch", self.pkg.route_pitch) if self.pkg.route_pitch
                                 else (self.pkg.balls, "offset", self.pkg.balls.offset))
            raise _bad(obj, field, value, f"ball {n} at ({x:g}, {y:g}) is not on the {self.pitch:g} µm routing grid: "
                       f"routes enter the round bonding pads through their centres, so every ball centre must be a "
                       f"multiple of the routing pitch")
        self.levels = [LevelSpec(w, pdk.value("width", w), pdk.value("space", w),
                                 self.pkg.top_level_cost if i == self.top_i and self.top_i > 0 else 1.0)
                       for i, w in enumerate(self.wires)]
        self.vias = [ViaSpec(f"VIA{i + 1}", i - 1, pdk.value("size", f"VIA{i + 1}"),
                             landing_side(pdk, f"VIA{i + 1}", self.wires[i - 1]),
                             landing_side(pdk, f"VIA{i + 1}", self.wires[i]), self.pkg.via_cost)
                     for i in range(1, len(self.wires))]
        # A device lead reaches past its body far enough for a route to meet it on the grid.
        self.lead = pdk.snap_up(max(spaces) + max(widths) + self.pitch)

    def add_cell(self, cell: Cell) -> Cell:
        return self.layout.add(cell)

    def outline(self) -> None:
        """The unit outline (DIE) and half of the singulation lane around it (KERF)."""
        W, H = self.pkg.size
        unit = rect(W, H, self.pdk.grid_um)
        self.top.add("DIE", unit)
        self.top.add("KERF", rect(W + self.pkg.lane, H + self.pkg.lane, self.pdk.grid_um).difference(unit))

    def dies(self) -> None:
        """Die cells placed by reference, their cavities, pad net labels and pad terminals."""
        pdk = self.pdk
        via = self.add_cell(pad_via_cell(pdk))
        land = via_landing(pdk, "VIA1", self.wires[0])
        for d in self.pkg.dies:
            cell = self.add_cell(die_cell(d.die, pdk, via.name))
            cav = self.add_cell(cavity_cell(d.die.width, d.die.height, pdk))
            x, y = pdk.snap(d.x), pdk.snap(d.y)
            self.top.place(cell.name, x, y, rotation=float(d.rotation))
            self.top.place(cav.name, x, y, rotation=float(d.rotation))
            self.top.label("TEXT", d.instance, x, y)
            for p in d.die.pads:
                px, py = d.place(pdk.snap(p.x), pdk.snap(p.y))
                px, py = pdk.snap(px), pdk.snap(py)
                self.top.label("PAD", p.net, px, py)
                self.terms.append(Terminal(f"{d.instance}.{p.name}", p.net, 0, affinity.translate(land, px, py),
                                           px, py, "stub", where=f"die {d.instance} pad {p.name}"))

    def rings(self) -> None:
        """Bus rings: closed bands, each a terminal of its net."""
        g = self.pdk.grid_um
        for r in self.pkg.rings:
            lv = (r.level or self.pkg.levels) - 1
            cx, cy = self.pdk.snap(r.center[0]), self.pdk.snap(r.center[1])
            outer = rect(r.size[0] + r.width, r.size[1] + r.width, g, cx, cy)
            inner = rect(r.size[0] - r.width, r.size[1] - r.width, g, cx, cy)
            band = outer.difference(inner)
            self.top.add(self.wires[lv], band)
            self.terms.append(Terminal(f"ring {r.net}", r.net, lv, band, cx, cy, "inside", where=f"bus ring {r.net}"))

    def inductors(self) -> None:
        """Spiral inductors: cell placed, turns kept clear on both levels, pins as terminals."""
        pdk = self.pdk
        for ind in self.pkg.inductors:
            lv = (ind.level or self.pkg.levels) - 1
            if lv < 1 or lv > self.top_i:
                raise _bad(ind, "level", ind.level, f"a spiral needs a level with one below it (the unit has {self.pkg.levels})")
            top_l, low_l = self.wires[lv], self.wires[lv - 1]
            w, s, din = _snap2(pdk, ind.width), _snap2(pdk, ind.spacing), _snap2(pdk, ind.inner_diameter)
            for layer in (top_l, low_l):
                if w < pdk.value("width", layer) - LENGTH_EPS_UM:
                    raise _bad(ind, "width", ind.width, f"below {layer}'s minimum width {pdk.value('width', layer):g} µm")
            if s < pdk.value("space", top_l) - LENGTH_EPS_UM:
                raise _bad(ind, "spacing", ind.spacing, f"below {top_l}'s minimum space {pdk.value('space', top_l):g} µm")
            via = f"VIA{lv + 1}"
            need = landing_side(pdk, via, top_l) + 2 * pdk.value("space", top_l)
            if din < need - LENGTH_EPS_UM:
                raise _bad(ind, "inner_diameter", ind.inner_diameter,
                           f"the centre via's {top_l} landing needs an inner diameter ≥ {need:g} µm")
            sp = square_spiral(ind.turns, w, s, din, self.lead, self.lead, top_l, low_l)
            vcell = self.add_cell(level_via_cell(pdk, lv + 1))
            cell = self.add_cell(inductor_cell(sp, top_l, low_l, vcell.name))
            x, y = pdk.snap(ind.x), pdk.snap(ind.y)
            self.top.place(cell.name, x, y)
            self.top.label("TEXT", ind.name, x, y)
            body = affinity.translate(sp.body, x, y)
            centre = [(lv, affinity.translate(via_landing(pdk, via, top_l), x, y)),
                      (lv - 1, affinity.translate(via_landing(pdk, via, low_l), x, y))]
            self.device_metal += [(lv, affinity.translate(sp.top, x, y)), (lv - 1, affinity.translate(sp.under, x, y)),
                                  *centre]
            self.obst += [Obstacle(lv, body, None, ind.name, f"inductor {ind.name}"),
                          Obstacle(lv - 1, body, None, ind.name, f"inductor {ind.name} (under its turns)")]
            for pin, net in zip(sp.pins, ind.nets):
                p = pin.moved(x, y)
                li = self.wires.index(p.layer)
                self.terms.append(Terminal(f"{ind.name}.{pin.name}", net, li, p.tip, p.x, p.y, "stub",
                                           where=f"inductor {ind.name} {pin.name} pin", device=ind.name))
            self.joined.append(set(ind.nets))
            self.top.label("TEXT", join_label(ind.nets), x, y)
            self.passives[ind.name] = {
                "type": "spiral_inductor", "shape": "square", "level": top_l, "underpass": low_l,
                "nets": list(ind.nets), "x_um": x, "y_um": y, "turns": ind.turns, "width_um": w, "spacing_um": s,
                "d_in_um": din, "d_out_um": sp.d_out, "centreline_um": round(sp.centreline_um, 3),
                "inductance_nh": round(sp.inductance_nh, 6),
                "formula": "modified Wheeler (Mohan et al. 1999): L = K1 µ0 n² d_avg / (1 + K2 ρ), K1 = 2.34, K2 = 2.75",
                "cell": cell.name,
            }

    def capacitors(self) -> None:
        """MIM capacitors: the plates are the terminals of their nets."""
        pdk, g = self.pdk, self.pdk.grid_um
        proc = process_data(pdk)
        for cap in self.pkg.capacitors:
            lv = (cap.level or self.pkg.levels) - 1
            if lv < 1 or lv > self.top_i:
                raise _bad(cap, "level", cap.level, f"a MIM capacitor needs a level with one below it (the unit has {self.pkg.levels})")
            top_l, low_l = self.wires[lv], self.wires[lv - 1]
            w, h = _snap2(pdk, cap.width), _snap2(pdk, cap.height)
            if min(w, h) < pdk.value("width", top_l) - LENGTH_EPS_UM:
                raise _bad(cap, "width", (cap.width, cap.height), f"below {top_l}'s minimum width")
            ov = proc.capacitor.bottom_overhang_um
            diel = proc.between(low_l, top_l)
            cell = self.add_cell(capacitor_cell(w, h, ov, top_l, low_l, g))
            x, y = pdk.snap(cap.x), pdk.snap(cap.y)
            self.top.place(cell.name, x, y)
            self.top.label("TEXT", cap.name, x, y)
            top_p, bottom_p = (affinity.translate(p, x, y) for p in mim_plates(w, h, ov, g))
            self.terms += [Terminal(f"{cap.name}.bottom", cap.nets[0], lv - 1, bottom_p, x, y, "inside",
                                    where=f"capacitor {cap.name} bottom plate"),
                           Terminal(f"{cap.name}.top", cap.nets[1], lv, top_p, x, y, "inside",
                                    where=f"capacitor {cap.name} top plate")]
            area = top_p.area
            self.passives[cap.name] = {
                "type": "mim_capacitor", "top": top_l, "bottom": low_l, "nets": list(cap.nets), "x_um": x, "y_um": y,
                "width_um": w, "height_um": h, "bottom_overhang_um": ov, "area_um2": round(area, 3),
                "dielectric": diel.name, "eps_r": diel.eps_r, "thickness_um": diel.thickness_um,
                "capacitance_pf": round(plate_capacitance_pf(area, diel.eps_r, diel.thickness_um), 6),
                "formula": "C = ε0 εr A / t", "cell": cell.name,
            }

    def resistors(self) -> None:
        """Meander resistors: body kept clear, pins as terminals."""
        pdk = self.pdk
        proc = process_data(pdk)
        for res in self.pkg.resistors:
            lv = res.level - 1
            if lv > self.top_i:
                raise _bad(res, "level", res.level, f"the unit has {self.pkg.levels} wiring levels")
            layer = self.wires[lv]
            w = _snap2(pdk, res.width or pdk.value("width", layer))
            s = _snap2(pdk, res.spacing or pdk.value("space", layer))
            if w < pdk.value("width", layer) - LENGTH_EPS_UM:
                raise _bad(res, "width", res.width, f"below {layer}'s minimum width {pdk.value('width', layer):g} µm")
            if s < pdk.value("space", layer) - LENGTH_EPS_UM:
                raise _bad(res, "spacing", res.spacing, f"below {layer}'s minimum space {pdk.value('space', layer):g} µm")
            length = _snap2(pdk, res.leg_length)
            m = meander(res.legs, length, w, s, self.lead, self.lead, layer)
            cell = self.add_cell(resistor_cell(m, layer, res.legs, length, w, s))
            x, y = pdk.snap(res.x), pdk.snap(res.y)
            self.top.place(cell.name, x, y)
            self.top.label("TEXT", res.name, x, y)
            self.obst.append(Obstacle(lv, affinity.translate(m.body, x, y), None, res.name, f"resistor {res.name}"))
            self.device_metal.append((lv, affinity.translate(m.metal, x, y)))
            for pin, net in zip(m.pins, res.nets):
                p = pin.moved(x, y)
                self.terms.append(Terminal(f"{res.name}.{pin.name}", net, lv, p.tip, p.x, p.y, "stub",
                                           where=f"resistor {res.name} pin {pin.name}", device=res.name))
            self.joined.append(set(res.nets))
            self.top.label("TEXT", join_label(res.nets), x, y)
            rs = proc.wire(layer).sheet_resistance_ohm_sq
            self.passives[res.name] = {
                "type": "meander_resistor", "level": layer, "nets": list(res.nets), "x_um": x, "y_um": y,
                "legs": res.legs, "leg_length_um": length, "width_um": w, "spacing_um": s,
                "centreline_um": round(m.centreline_um, 3), "corners": m.corners, "squares": round(m.squares, 4),
                "sheet_resistance_ohm_sq": rs, "resistance_ohm": round(m.squares * rs, 6),
                "formula": "R = squares × Rs, a 90° corner counted as 0.56 square", "cell": cell.name,
            }

    def balls(self) -> tuple[list[tuple[str, float, float]], dict[str, str], dict[str, list[str]]]:
        """Ball sites placed; nets given to balls (explicit, then auto for nets with no other way out)."""
        pdk, pkg = self.pdk, self.pkg
        stack = self.add_cell(ball_stack_cell(pdk, self.wires[-1]))
        pad = bond_pad(pdk, self.wires[-1])
        balls = [(n, pdk.snap(x), pdk.snap(y)) for n, x, y in pkg.balls.positions()]
        known = {t.net for t in self.terms}
        ball_nets: dict[str, str] = {}
        for name, net in pkg.balls.nets.items():
            if name not in {b[0] for b in balls}:
                raise _bad(pkg.balls, "nets", {name: net}, f"ball {name} is depopulated")
            if net not in known:
                raise _bad(pkg.balls, "nets", {name: net}, f"net {net!r} is on no die pad, ring or passive")
            ball_nets[name] = net
        self._check_balls_clear(balls, pad)
        # A net whose terminals are all on one die or one device (no ring) must leave the unit by a ball.
        groups: dict[str, set[str]] = {}
        for t in self.terms:
            groups.setdefault(t.net, set()).add(t.name.split(".")[0])
        externals = sorted(n for n, g in groups.items() if len(g) == 1 and n not in ball_nets.values()
                           and not next(iter(g)).startswith("ring "))
        free = [b for b in balls if b[0] not in ball_nets]
        if pkg.balls.assign == "explicit":
            if externals:
                raise _bad(pkg.balls, "nets", externals[0], f"assign='explicit' but net {externals[0]} has no ball")
        elif externals:
            if len(externals) > len(free):
                raise _bad(pkg.balls, "rows", (pkg.balls.rows, pkg.balls.cols),
                           f"{len(externals)} nets need a ball but only {len(free)} balls are free")
            anchors = np.array([np.mean([(t.x, t.y) for t in self.terms if t.net == n], axis=0) for n in externals])
            pos = np.array([(x, y) for _, x, y in free])
            cost = np.hypot(anchors[:, None, 0] - pos[None, :, 0], anchors[:, None, 1] - pos[None, :, 1])
            from scipy.optimize import linear_sum_assignment  # where it is used: 0.26 s to import

            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                ball_nets[free[c][0]] = externals[r]
        for name, x, y in balls:
            self.top.place(stack.name, x, y)
            self.top.label("TEXT", name, x, y)
            metal = affinity.translate(pad, x, y)
            if name in ball_nets:
                self.top.label("BUMP", ball_nets[name], x, y)
                self.terms.append(Terminal(f"ball {name}", ball_nets[name], self.top_i, metal, x, y, "centre",
                                           where=f"ball {name}"))
            else:
                self.obst.append(Obstacle(self.top_i, metal, None, where=f"ball {name} (no net)"))
                self.device_metal.append((self.top_i, metal))
        by_net: dict[str, list[str]] = {}
        for b, n in sorted(ball_nets.items()):
            by_net.setdefault(n, []).append(b)
        return balls, ball_nets, by_net

    def _check_balls_clear(self, balls: list[tuple[str, float, float]], pad: Polygon) -> None:
        """Bonding pads keep the top level's space from passives and rings of other nets."""
        top_l = self.wires[-1]
        s = self.pdk.value("space", top_l)
        blockers = [(o.geometry, o.where, None) for o in self.obst if o.level == self.top_i]
        blockers += [(t.metal, t.where, t.net) for t in self.terms if t.level == self.top_i and not t.name.startswith("ball ")]
        explicit = self.pkg.balls.nets
        for name, x, y in balls:
            p = affinity.translate(pad, x, y)
            for geom, where, net in blockers:
                if net is not None and explicit.get(name) == net and p.intersects(geom):
                    continue
                d = p.distance(geom)
                if d < s - LENGTH_EPS_UM:
                    raise _bad(self.pkg.balls, "depopulate", self.pkg.balls.depopulate,
                               f"ball {name}'s {top_l} pad at ({x:g}, {y:g}) is {d:g} µm from {where}: "
                               f"needs ≥ {s:g} µm (depopulate the ball or move the {where.split()[0]})")


def _order(terms: list[Terminal]) -> list[str]:
    """Routing order: die-to-die, device nets, die-to-ball (shortest first), buses last."""
    def kind(net: str) -> int:
        ts = [t for t in terms if t.net == net]
        if any(t.name.startswith("ring ") for t in ts):
            return 3
        if any(t.where.startswith(("inductor", "capacitor", "resistor")) for t in ts):
            return 1
        if any(t.name.startswith("ball ") for t in ts):
            return 2
        return 0

    def span(net: str) -> float:
        xs = [t.x for t in terms if t.net == net]
        ys = [t.y for t in terms if t.net == net]
        return (max(xs) - min(xs)) + (max(ys) - min(ys))

    return sorted({t.net for t in terms}, key=lambda n: (kind(n), span(n), n))


def net_kind(terms: list[Terminal]) -> str:
    """die-to-ball, die-to-die, bus (a ring), device (a passive) or ball-only, from a net's terminals."""
    dies = {t.name.split(".")[0] for t in terms if t.where.startswith("die ")}
    if any(t.name.startswith("ring ") for t in terms):
        return "bus"
    if any(t.where.startswith(("inductor", "capacitor", "resistor")) for t in terms):
        return "device"
    if len(dies) > 1:
        return "die-to-die"
    return "die-to-ball" if dies else "ball-only"


def _fill_notches(u: _Unit, routing: Routing) -> dict[str, int]:
    """Fill the gaps narrower than the space inside each net's own Manhattan metal, level by level.

    Round bonding pads are left out of a net's own metal (routes enter them radially) but count
    as everyone else's neighbours. Returns the number of fill pieces per level.
    """
    pdk = u.pdk
    metal: dict[int, dict[str | None, list]] = {i: {} for i in range(len(u.wires))}
    rounds: dict[int, dict[str, list]] = {i: {} for i in range(len(u.wires))}
    for t in u.terms:
        (rounds if t.access == "centre" else metal)[t.level].setdefault(t.net, []).append(t.metal)
    for lv, geom in u.device_metal:
        metal[lv].setdefault(None, []).append(geom)
    for net, nr in routing.nets.items():
        for layer, geoms in nr.metal.items():
            metal[u.wires.index(layer)].setdefault(net, []).extend(geoms)
        for via, x, y in nr.vias:
            n = int(via[3:])
            for lv in (n - 2, n - 1):
                metal[lv].setdefault(net, []).append(affinity.translate(via_landing(pdk, via, u.wires[lv]), x, y))
    counts = {}
    for lv, by_net in metal.items():
        layer, space = u.wires[lv], u.levels[lv].space
        n = 0
        for net in sorted(k for k in by_net if k is not None):
            others = [g for k, gs in [*by_net.items(), *rounds[lv].items()] if k != net for g in gs]
            pieces = notch_fill(by_net[net], others, space, pdk.grid_um)
            u.top.add(layer, *pieces)
            n += len(pieces)
        counts[layer] = n
    return counts


def build_die(design: Design, pdk: Pdk) -> DieResult:
    """The fan-out unit cell with every drawn layer, routed over the wiring levels; raises Config/RoutingError."""
    pkg = design.package
    assert isinstance(pkg, Fanout)
    check_unit(design, pdk)
    u = _Unit(design, pdk)
    u.outline()
    u.dies()
    u.rings()
    u.inductors()
    u.capacitors()
    u.resistors()
    balls, ball_nets, balls_of = u.balls()

    W, H = pkg.size
    edge = max(_edge_clearance(pdk, w) for w in u.wires)
    keepin = box(-W / 2 + edge, -H / 2 + edge, W / 2 - edge, H / 2 - edge)
    try:
        routing = route(u.terms, u.obst, keepin, u.levels, u.vias, u.pitch, order=_order(u.terms))
    except RoutingError as e:
        raise RoutingError(f"{pkg.where()}: {e}") from None

    via_cells = {v.name: u.add_cell(level_via_cell(pdk, int(v.name[3:]))).name for v in u.vias}
    for net in sorted(routing.nets):
        nr = routing.nets[net]
        for layer, geoms in sorted(nr.metal.items()):
            u.top.add(layer, shapely.union_all(geoms))
        for via, x, y in nr.vias:
            u.top.place(via_cells[via], x, y)
    fills = _fill_notches(u, routing)
    nets_report: dict[str, dict] = {}
    route_lengths: dict[str, float] = {}
    for net in sorted(routing.nets):
        nr = routing.nets[net]
        for leg in nr.legs:
            route_lengths[leg.terminal] = round(sum(leg.length_um.values()), 3)
        ts = [t for t in u.terms if t.net == net]
        pads = [t.name for t in ts if t.where.startswith("die ")]
        vias = {"VIA1": len(pads)}
        for via, _, _ in nr.vias:
            vias[via] = vias.get(via, 0) + 1
        nets_report[net] = {
            "kind": net_kind(ts), "terminals": [t.name for t in ts], "balls": balls_of.get(net, []),
            "length_um": round(nr.length_um, 3),
            "length_by_level_um": {k: round(v, 3) for k, v in sorted(nr.length_by_level.items())},
            "vias": vias, "via_count": sum(vias.values()),
        }

    u.layout.add(u.top)
    # The unit cell goes last so that every cell it references is written before it.
    u.layout.cells = {k: u.layout.cells[k] for k in [*(k for k in u.layout.cells if k != u.top.name), u.top.name]}
    pads = [(t.name, t.net, t.x, t.y) for t in u.terms if t.where.startswith("die ")]
    assignment = {t.name: balls_of[t.net][0] for t in u.terms
                  if t.where.startswith("die ") and nets_report[t.net]["kind"] == "die-to-ball" and t.net in balls_of}
    kinds = [r["kind"] for r in nets_report.values()]
    via_totals: dict[str, int] = {}
    for r in nets_report.values():
        for k, v in r["vias"].items():
            via_totals[k] = via_totals.get(k, 0) + v
    counts = {
        "dies": len(pkg.dies), "die_types": len({d.die.name for d in pkg.dies}), "pads": len(pads),
        "balls": len(balls), "connected_balls": len(ball_nets), "nets": len(nets_report),
        "die_to_ball_nets": kinds.count("die-to-ball"), "die_to_die_nets": kinds.count("die-to-die"),
        "bus_nets": kinds.count("bus"), "device_nets": kinds.count("device"),
        **{f"vias_{k}": v for k, v in sorted(via_totals.items())},
        "rings": len(pkg.rings), "inductors": len(pkg.inductors), "capacitors": len(pkg.capacitors),
        "resistors": len(pkg.resistors),
    }
    extra = {
        "unit": {"width_um": W, "height_um": H, "lane_um": pkg.lane, "levels": pkg.levels,
                 "wiring": u.wires, "route_pitch_um": u.pitch, "route_attempts": routing.attempts},
        "placed_dies": [{"instance": d.instance, "die": d.die.name, "x_um": pdk.snap(d.x), "y_um": pdk.snap(d.y),
                         "rotation": d.rotation, "width_um": d.die.width, "height_um": d.die.height,
                         "pads": len(d.die.pads),
                         "cavity_clearance_um": pdk.value("enclosure", "CAVITY", "CHIP")} for d in pkg.dies],
        "nets": nets_report,
        "passives": u.passives,
        "rings": {r.net: {"level": u.wires[(r.level or pkg.levels) - 1], "size_um": list(r.size), "width_um": r.width,
                          "balls": balls_of.get(r.net, [])} for r in pkg.rings},
        "joined_nets": [sorted(g) for g in u.joined],
        "notch_fills": fills,
        "outline_um": [-W / 2, -H / 2, W / 2, H / 2],
    }
    return DieResult(layout=u.layout, nets=sorted(nets_report), pads=pads, balls=balls, ball_nets=dict(sorted(ball_nets.items())),
                     assignment=assignment, route_lengths=route_lengths, counts=counts, extra=extra)

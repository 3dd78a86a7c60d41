"""Family 2: the chip-scale package with a moulded (or printed) stress-relief layer.

A relief polymer layer covers the die: an access well over every I/O pad, and a tiered
protrusion at every ball position, its recessed tier (the ball seat) inside its footprint
and the rest of the footprint a protuberant rim. Tracks (RDL) run from each well, over the
relief and up the protrusion, to a bonding pad on the recessed tier; an encapsulation
layer exposes the bonding pads; solder paste printed through a stencil makes the balls.

Drawn layers: PAD, SEAL, DIE (reference); WELL, MOULD1, MOULD2 (the mould); STENCIL,
STENCIL2, STENCIL3 (the relief printed instead, one stencil per level); RDL; ENCAP;
PASTE (solder stencil). Net names are labels on PAD (pads) and PASTE (balls); the stencil
foil thicknesses are TEXT labels. All lengths in µm, the die centred at (0, 0).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import numpy as np
import shapely
from pydantic import Field, model_validator
from shapely.geometry import Polygon, box

from .cells.protrusion import PrintPass, PrintResult, ProtrusionSpec, protrusion_cell, relief_prints
from .cells.stencil import paste_aperture, print_apertures
from .cells.tiers import encap_opening, footprint, recessed_tier, rim_width
from layoutgen.cells.shapes import pad_outline
from .cells.wells import well_cell, well_opening
from layoutgen.cells.shapes import grow, rect, width_across_flats
from layoutgen.design import BallGrid, Design, Length, Model, Package
from layoutgen.errors import ConfigError
from layoutgen.layout import Cell, Layout, name_number
from layoutgen.pdk import Pdk
from layoutgen.route.rdl import Routing, Terminal
from .rules import (
    area_ratio,
    check_stencils,
    family_rule,
    family_rules,
    narrowest_width,
    stencil_figures,
    thickness_label,
)
from ..result import DieResult
from ..routed import place_balls, route_onto, route_rules
from ..die import add_die_frame, check_die_size, seal_width
from .model import BallStencil, Protrusions, RearContacts, ReliefCsp, Shape, Tiers
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS

# The die goes onto a wafer (layoutgen.wafer): wafer-size mould and stencil levels, die map, lanes, marks.
WAFER_LEVEL = True

# --- checks against the PDK --------------------------------------------------------------------

def _fail(obj: Model, field: str, value: object, reason: str) -> ConfigError:
    """'file:line: Model.field = value: reason', the line being where the config made `obj`."""
    shown = f"{value:g}" if isinstance(value, (int, float)) else str(value)
    return ConfigError(f"{obj.where()}: {type(obj).__name__}.{field} = {shown}: {reason}")


def _rule_text(pdk: Pdk, kind: str, layer: str, other: str | None = None) -> tuple[float, str]:
    r = pdk.rule(kind, layer, other)
    assert r.value is not None
    return r.value, f"{r.name} ({r.value:g} µm, PDK {pdk.name})"


def well_clearance(pkg: ReliefCsp, pdk: Pdk) -> float:
    """How far the wells reach beyond the pads: the config's, else the PDK's WELL.EN.PAD."""
    return pkg.well_clearance if pkg.well_clearance is not None else pdk.value("enclosure", "WELL", "PAD")


def print_passes(pkg: ReliefCsp, pdk: Pdk) -> dict[str, tuple[float, PrintPass]]:
    """The relief print passes: stencil layer -> (foil thickness, how its apertures are drawn)."""
    t = pkg.protrusions.tiers
    out = {}
    for layer, thickness in (("STENCIL", t.base), ("STENCIL2", t.recessed_height),
                             ("STENCIL3", t.protuberant_height - t.recessed_height)):
        asp = family_rule(pdk, "aspect_ratio", layer).value
        isl = family_rule(pdk, "island", layer).value
        out[layer] = (thickness, PrintPass(layer, pdk.snap_up(asp * thickness), pdk.value("space", layer), int(isl)))
    return out


def check_design(design: Design, pdk: Pdk) -> None:
    """The config against the PDK's rules, before drawing; ConfigError naming file:line, field, value, rule."""
    die, pkg = design.die, design.package
    assert isinstance(pkg, ReliefCsp) and die is not None
    prot, tiers = pkg.protrusions, pkg.protrusions.tiers
    check_die_size(die, pdk)
    if pkg.tracks == "lapped":
        raise _fail(pkg, "tracks", "lapped", "claim 7 separates the tracks by lapping the metal off the protuberant "
                    "zones, but this relief's protuberant zones are only the protrusion rims: the metal left on the "
                    "relief surface between the protrusions (and in every recessed tier, which each track reaches across "
                    "its rim) would join every track and cut each one at its rim. Use tracks='plated' (claim 8: tracks "
                    "patterned through the RDL mask)")
    v, why = _rule_text(pdk, "pitch", "MOULD1")
    if prot.grid.pitch < v - LENGTH_EPS_UM:
        raise _fail(prot.grid, "pitch", prot.grid.pitch, f"below {why}")
    foot = footprint(prot.footprint, prot.shape, pdk)
    v, why = _rule_text(pdk, "width", "MOULD1")
    if prot.footprint < v - LENGTH_EPS_UM:
        raise _fail(prot, "footprint", prot.footprint, f"below {why}")
    p = prot.grid.pitch
    gap = min(shapely.distance(foot, shapely.affinity.translate(foot, dx, dy)) for dx, dy in ((p, 0), (0, p), (p, p), (p, -p)))
    v, why = _rule_text(pdk, "space", "MOULD1")
    if gap < v - LENGTH_EPS_UM:
        raise _fail(prot, "footprint", prot.footprint, f"leaves {gap:.2f} µm between protrusions at pitch {p:g}: {why}")
    v, why = _rule_text(pdk, "width", "MOULD2")
    if tiers.recess < v - LENGTH_EPS_UM:
        raise _fail(tiers, "recess", tiers.recess, f"below {why}")
    recess = recessed_tier(tiers.recess, prot.shape, tiers.recess_offset, pdk)
    v, why = _rule_text(pdk, "enclosure", "MOULD1", "MOULD2")
    rim = rim_width(foot, recess)
    if rim < v - LENGTH_EPS_UM:
        raise _fail(tiers, "recess", tiers.recess, f"with offset {tiers.recess_offset} the protuberant rim is "
                    f"{rim:.2f} µm at its narrowest inside the {prot.footprint:g} µm footprint: {why}")
    opening = encap_opening(recess, pdk)
    v, why = _rule_text(pdk, "width", "ENCAP")
    if opening.is_empty or width_across_flats(opening) < v - LENGTH_EPS_UM:
        raise _fail(tiers, "recess", tiers.recess, f"leaves an encapsulation opening below {why}")
    _check_placement(design, pdk, foot)
    _check_paste(pkg, pdk, opening)
    if pkg.rear is not None:
        _rear_pads(design, pdk)
    npads, nballs = len(die.pads), len(prot.grid.positions())
    if prot.grid.assign == "auto" and npads > nballs:
        raise _fail(prot.grid, "rows × cols", f"{prot.grid.rows} × {prot.grid.cols}",
                    f"{nballs} protrusions for {npads} pads: each pad needs its own ball")


def _check_placement(design: Design, pdk: Pdk, foot: Polygon) -> None:
    """Protrusions and wells inside the die, clear of the seal ring and of each other."""
    die, pkg = design.die, design.package
    assert isinstance(pkg, ReliefCsp) and die is not None
    prot = pkg.protrusions
    inner = box(-die.width / 2, -die.height / 2, die.width / 2, die.height / 2).buffer(-seal_width(design.die, pdk), join_style="mitre")
    v, why = _rule_text(pdk, "separation", "MOULD1", "SEAL")
    feet = []
    for name, x, y in prot.grid.positions():
        f = shapely.affinity.translate(foot, pdk.snap(x), pdk.snap(y))
        gap = shapely.distance(f, inner.exterior) if inner.contains(f) else 0.0
        if gap < v - LENGTH_EPS_UM:
            raise _fail(prot.grid, "pitch", prot.grid.pitch, f"protrusion {name} at ({x:g}, {y:g}) comes "
                        f"{gap:.2f} µm from the seal ring: {why}")
        feet.append((name, f))
    clearance = well_clearance(pkg, pdk)
    wells = []
    v_seal, why_seal = _rule_text(pdk, "separation", "WELL", "SEAL")
    for pad in die.pads:
        try:
            w = well_opening(pad_outline(pad.width, pad.height, pad.shape, pdk), clearance, pdk, pad.name)
        except ConfigError as e:
            raise _fail(pkg, "well_clearance", clearance, str(e)) from None
        w = shapely.affinity.translate(w, pdk.snap(pad.x), pdk.snap(pad.y))
        gap = shapely.distance(w, inner.exterior) if inner.contains(w) else 0.0
        if gap < v_seal - LENGTH_EPS_UM:
            raise _fail(pad, "x, y", f"{pad.x:g}, {pad.y:g}", f"pad {pad.name}'s access well comes "
                        f"{gap:.2f} µm from the seal ring: {why_seal}")
        wells.append((pad, w))
    v, why = _rule_text(pdk, "space", "WELL")
    geoms = np.array([w for _, w in wells], dtype=object)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=v - 1e-6)
    for a, b in zip(i, j):
        if a < b and not (geoms[a].intersects(geoms[b]) and wells[a][0].net == wells[b][0].net):
            pa, pb = wells[a][0], wells[b][0]
            raise _fail(pkg, "well_clearance", clearance, f"the wells of pads {pa.name} and {pb.name} come "
                        f"{shapely.distance(geoms[a], geoms[b]):.2f} µm apart: {why}")
    v, why = _rule_text(pdk, "separation", "MOULD1", "WELL")
    fgeoms = np.array([f for _, f in feet], dtype=object)
    i, j = shapely.STRtree(geoms).query(fgeoms, predicate="dwithin", distance=v - 1e-6)
    if len(i):
        name, pad = feet[int(i[0])][0], wells[int(j[0])][0]
        raise _fail(prot.grid, "pitch", prot.grid.pitch, f"protrusion {name} comes "
                    f"{shapely.distance(fgeoms[i[0]], geoms[j[0]]):.2f} µm from the well of pad {pad.name}: {why}")


def _check_paste(pkg: ReliefCsp, pdk: Pdk, opening: Polygon) -> None:
    """The solder paste aperture against the stencil rules: web, area ratio, aspect ratio."""
    sten, p = pkg.stencil, pkg.protrusions.grid.pitch
    ap = paste_aperture(opening, sten.shape, sten.overprint, pdk)
    web = min(shapely.distance(ap, shapely.affinity.translate(ap, dx, dy)) for dx, dy in ((p, 0), (0, p), (p, p)))
    v, why = _rule_text(pdk, "space", "PASTE")
    if web < v - LENGTH_EPS_UM:
        raise _fail(sten, "overprint", sten.overprint, f"the paste apertures come {web:.2f} µm apart at pitch {p:g}: {why}")
    ar_rule = family_rule(pdk, "area_ratio", "PASTE")
    ar = area_ratio(ap, sten.thickness)
    if ar < ar_rule.value - RATIO_EPS:
        raise _fail(sten, "thickness", sten.thickness, f"the {width_across_flats(ap):.1f} µm {sten.shape} aperture has area "
                    f"ratio {ar:.3f} < {ar_rule.value:g} ({ar_rule.name}): use a thinner foil or more overprint")
    asp_rule = family_rule(pdk, "aspect_ratio", "PASTE")
    w = narrowest_width(ap)
    if w / sten.thickness < asp_rule.value - RATIO_EPS:
        raise _fail(sten, "thickness", sten.thickness, f"aperture width {w:.1f} µm gives aspect ratio "
                    f"{w / sten.thickness:.3f} < {asp_rule.value:g} ({asp_rule.name})")


# --- the die -------------------------------------------------------------------------------------

def _keepin(design: Design, pdk: Pdk) -> Polygon:
    """Where tracks may go: the die inside the seal ring, less the RDL-to-seal space."""
    inset = seal_width(design.die, pdk) + pdk.value("separation", "RDL", "SEAL")
    w, h = design.die.width / 2 - inset, design.die.height / 2 - inset
    return box(-w, -h, w, h)


def _relief_print(design: Design, pdk: Pdk, wells: list[Polygon], spec: PrintPass) -> tuple[list[Polygon], list[Polygon]]:
    """Relief print pass 1: the die inside the seal ring less the wells, islands bridged."""
    inset = seal_width(design.die, pdk) + pdk.value("separation", "STENCIL", "SEAL")
    w, h = design.die.width / 2 - inset, design.die.height / 2 - inset
    keep = pdk.value("separation", "STENCIL", "WELL")
    holes = shapely.union_all([grow(wl, keep, pdk.grid_um) for wl in wells])
    return print_apertures(box(-w, -h, w, h).difference(holes), spec.min_width, spec.bridge, spec.per_island, pdk.grid_um)


def ball_height(paste_volume_um3: float, metal_fraction: float, wet_diameter_um: float) -> float:
    """Height of the reflowed ball: a spherical cap of the solder volume on a pad of `wet_diameter_um`."""
    v, a = paste_volume_um3 * metal_fraction, wet_diameter_um / 2
    # V = π h (3a² + h²) / 6, increasing in h: one real root.
    roots = np.roots([1.0, 0.0, 3 * a * a, -6 * v / math.pi])
    return float(max(r.real for r in roots if abs(r.imag) < 1e-6))


def build_die(design: Design, pdk: Pdk) -> DieResult:
    """The die cell of a relief CSP with every drawn layer, tracks routed; raises Config/RoutingError."""
    pkg = design.package
    assert isinstance(pkg, ReliefCsp)
    check_design(design, pdk)
    die, prot = design.die, pkg.protrusions
    layout = Layout(top=die.name)
    top = Cell(die.name)
    add_die_frame(top, design.die, pdk)
    wells, pad_terms = draw_wells(layout, top, design, pdk)
    passes, prints, pcell = protrusion(layout, pkg, pdk)
    printed = pkg.route == "print"
    seat = pcell.shapes["ENCAP"][0].centroid
    ox, oy = pdk.snap(seat.x), pdk.snap(seat.y)
    balls = [(n, pdk.snap(x), pdk.snap(y)) for n, x, y in prot.grid.positions()]
    routing = route_tracks(design, pdk, top, pad_terms, pcell, balls, (ox, oy))
    if printed:
        _place_printed_protrusions(top, pcell.name, prints, balls, routing.ball_nets, (ox, oy), prot)
    else:
        place_balls(top, pcell.name, balls, routing.ball_nets, "PASTE", (ox, oy))
    base_bridges = draw_base_print(design, pdk, top, wells, passes["STENCIL"]) if printed else []
    # Claim 20: rear slots down to the pads, rear metal in them.
    rear = _rear_contacts(design, pdk, top, layout) if pkg.rear is not None else 0
    thickness = label_foils(top, die, passes if printed else {}, pkg.stencil)

    layout.add(top)
    layout.cells = {k: layout.cells[k] for k in [*(k for k in layout.cells if k != top.name), top.name]}
    bridge_counts = {"STENCIL": len(base_bridges),
                     **{k: len(v.bridges) * len(balls) for k, v in prints.items()}} if printed else {}
    result = _result(design, pdk, layout, routing, balls, (ox, oy), thickness, bridge_counts)
    result.counts["rear_slots"] = rear
    return result


def draw_wells(layout: Layout, top: Cell, design: Design, pdk: Pdk) -> tuple[list[Polygon], list[Terminal]]:
    """Access wells: one stack cell per pad size/shape, placed at each pad (labelled with its net); the wells and the
    pads' track landings as router terminals."""
    clearance = well_clearance(design.package, pdk)
    pad_terms: list[Terminal] = []
    wells: list[Polygon] = []
    for p in design.die.pads:
        cell = layout.add(well_cell(p.width, p.height, p.shape, clearance, pdk, p.name))
        x, y = pdk.snap(p.x), pdk.snap(p.y)
        top.place(cell.name, x, y)
        top.label("PAD", p.net, x, y)
        wells.append(shapely.affinity.translate(cell.shapes["WELL"][0], x, y))
        pad_terms.append(Terminal(p.name, p.net, x, y, shapely.affinity.translate(cell.shapes["RDL"][0], x, y)))
    return wells, pad_terms


def protrusion(layout: Layout, pkg: ReliefCsp, pdk: Pdk) -> tuple[dict[str, tuple[float, PrintPass]], dict[str, PrintResult], Cell]:
    """The protrusion cell (tiers, ball seat, paste and relief print apertures), its print passes and prints (checked
    when the relief is printed)."""
    passes = print_passes(pkg, pdk)
    spec = protrusion_spec(pkg, passes)
    prints = relief_prints(spec, pdk)
    printed = pkg.route == "print"
    if printed:
        _check_prints(prints, passes, pkg, pdk)
    return passes, prints, layout.add(protrusion_cell(spec, pdk, printed))


def protrusion_spec(pkg: ReliefCsp, passes: dict[str, tuple[float, PrintPass]]) -> ProtrusionSpec:
    """What the protrusion cell is made of: the design's footprint, tiers and paste stencil, and its print passes."""
    tiers, sten = pkg.protrusions.tiers, pkg.stencil
    return ProtrusionSpec(pkg.protrusions.footprint, tiers.recess, pkg.protrusions.shape, tiers.recess_offset, sten.shape,
                          sten.overprint, passes["STENCIL2"][1], passes["STENCIL3"][1])


def protrusion_turns(prot: Protrusions) -> tuple[float, ...]:
    """The quarter turns a printed protrusion may be placed at: all four when its recessed tier sits at the footprint's
    centre (a turned cell is then the same protrusion), else none but 0."""
    return (0.0, 90.0, 180.0, 270.0) if prot.tiers.recess_offset == (0.0, 0.0) else (0.0,)


def route_tracks(design: Design, pdk: Pdk, top: Cell, pad_terms: list[Terminal], pcell: Cell,
                 balls: list[tuple[str, float, float]], seat: tuple[float, float]) -> Routing:
    """Tracks from the wells to the bonding pads, by the RDL router.

    The router sees each ball as its whole footprint, a keep-out with no RDL of its own: other
    nets' traces keep their space from it (no track climbs a foreign protrusion), and a ball's own trace ends at its
    bonding pad's centre, having climbed the wall and crossed the rim. A teardrop would sit
    at the foot of the wall, not at the bonding pad, so none is drawn.
    """
    grid = design.package.protrusions.grid
    foot = pcell.shapes["MOULD1"][0]
    ball_terms = [Terminal(n, grid.nets.get(n) if grid.assign == "explicit" else None,
                           x + seat[0], y + seat[1], shapely.affinity.translate(foot, x, y), metal=False) for n, x, y in balls]
    rules = route_rules(pdk, "RDL", grid.pitch, teardrops=False)
    return route_onto(top, "RDL", pad_terms, ball_terms, _keepin(design, pdk), rules, grid.assign, grid)


def draw_base_print(design: Design, pdk: Pdk, top: Cell, wells: list[Polygon], base: tuple[float, PrintPass]) -> list[Polygon]:
    """Relief print pass 1: the relief layer with its wells (a die-sized aperture), checked as a stencil; its bridges."""
    t1, pass1 = base
    apertures, bridges = _relief_print(design, pdk, wells, pass1)
    found = check_stencils({"STENCIL": apertures}, {"STENCIL": t1}, [r for r in family_rules(pdk) if r.layer == "STENCIL"])
    for violations in found.values():
        if violations:
            tiers = design.package.protrusions.tiers
            raise _fail(tiers, "base", tiers.base, f"the relief layer cannot be printed: {violations[0][0]}")
    top.add("STENCIL", *apertures)
    return bridges


def label_foils(top: Cell, die, passes: dict[str, tuple[float, PrintPass]], sten: BallStencil) -> dict[str, float]:
    """Foil thicknesses as TEXT labels below the die, so that they travel with the GDS (for a check of the written file)."""
    thickness = {layer: t for layer, (t, _) in passes.items()} | {"PASTE": sten.thickness}
    x0, y0 = -die.width / 2, -die.height / 2
    for k, (layer, t) in enumerate(thickness.items()):
        top.label("TEXT", thickness_label(layer, t), x0, y0 - 20.0 * (k + 1))
    return thickness


def _place_printed_protrusions(top: Cell, cell: str, prints: dict[str, PrintResult], balls: list[tuple[str, float, float]],
                               ball_nets: dict[str, str], seat: tuple[float, float], prot: Protrusions) -> None:
    """Printed relief: each protrusion placed turned by the quarter turn that keeps its stencil bridges' gaps (where the
    printed tier is missing) clear of the track that climbs it; ConfigError naming the ball when no turn does."""
    tracks = shapely.union_all(top.shapes.get("RDL", []))
    gaps = shapely.union_all([b for r in prints.values() for b in r.bridges])
    turns = protrusion_turns(prot)
    for name, x, y in balls:
        for turn in turns:
            here = shapely.affinity.translate(shapely.affinity.rotate(gaps, turn, origin=(0, 0)), x, y)
            if tracks.intersection(here).area <= 1e-6:
                break
        else:
            c = shapely.affinity.translate(gaps, x, y).centroid
            raise _fail(prot.grid, "pitch", prot.grid.pitch,
                        f"the track to ball {name} crosses a gap a stencil bridge leaves in its printed protrusion "
                        f"near ({c.x:.1f}, {c.y:.1f}) however the protrusion is turned: use route='mould' or move "
                        f"the ball grid so the tracks enter clear of the bridges")
        top.place(cell, x, y, rotation=turn)
        if name in ball_nets:
            top.label("PASTE", ball_nets[name], x + seat[0], y + seat[1])
        top.label("TEXT", name, x + seat[0], y + seat[1])


def _rear_pads(design: Design, pdk: Pdk) -> list:
    """Claim 20: the pads that get a rear slot, each wide enough for one (PAD.EN.RSLOT, RSLOT.W.1); ConfigError if not."""
    rear: RearContacts = design.package.rear
    chosen = [p for p in design.die.pads if rear.pads == "all" or p.name in rear.pads or p.net in rear.pads]
    if rear.pads != "all":
        unknown = sorted(set(rear.pads) - {p.name for p in design.die.pads} - {p.net for p in design.die.pads})
        if unknown:
            raise _fail(rear, "pads", ", ".join(unknown), "names no pad or net of the die")
    en, w_min = pdk.rule("enclosure", "PAD", "RSLOT"), pdk.rule("width", "RSLOT")
    for p in chosen:
        room = min(p.width, p.height) - 2 * en.value
        slot = rear.slot if rear.slot is not None else room
        if slot > room + LENGTH_EPS_UM or slot < w_min.value - LENGTH_EPS_UM:
            raise _fail(rear, "slot", slot, f"pad {p.name} ({min(p.width, p.height):g} µm) takes a slot of "
                        f"{w_min.value:g}–{room:g} µm ({w_min.name}, {en.name})")
    return chosen


def _rear_contacts(design: Design, pdk: Pdk, top: Cell, layout: Layout) -> int:
    """Claim 20: a slot etched from the rear face onto each chosen pad (RSLOT) and its rear metal (RMETAL); the slot count."""
    pkg = design.package
    rear: RearContacts = pkg.rear
    grid = pdk.grid_um
    chosen = _rear_pads(design, pdk)
    en = pdk.rule("enclosure", "PAD", "RSLOT")
    cells: dict[tuple[float, float], str] = {}
    for p in chosen:
        slot = pdk.snap(rear.slot if rear.slot is not None else min(p.width, p.height) - 2 * en.value)
        key = (slot, rear.localised_metal)
        if key not in cells:
            c = Cell(f"REAR_SLOT_{name_number(slot)}" + ("_RMETAL" if rear.localised_metal else "")).add("RSLOT", rect(slot, slot, grid))
            if rear.localised_metal:
                c.add("RMETAL", rect(slot + 2 * pdk.value("enclosure", "RMETAL", "RSLOT"), slot + 2 * pdk.value("enclosure", "RMETAL", "RSLOT"), grid))
            cells[key] = layout.add(c).name
        top.place(cells[key], pdk.snap(p.x), pdk.snap(p.y))
    return len(chosen)


def _check_prints(prints: dict[str, PrintResult], passes: dict[str, tuple[float, PrintPass]],
                  pkg: ReliefCsp, pdk: Pdk) -> None:
    """The protrusion's relief must print as designed: every part of each pass wide enough for its foil."""
    tiers = pkg.protrusions.tiers
    for layer, printed in prints.items():
        lost = printed.unprinted()
        if lost.area > 1.0:
            t = passes[layer][0]
            rule = family_rule(pdk, "aspect_ratio", layer)
            raise _fail(tiers, "protuberant_height" if layer == "STENCIL3" else "recessed_height",
                        tiers.protuberant_height if layer == "STENCIL3" else tiers.recessed_height,
                        f"the relief cannot be printed as moulded: {lost.area:.0f} µm² of "
                        f"{'the protuberant rim' if layer == 'STENCIL3' else 'the footprint'} is narrower than "
                        f"{rule.value:g} × its {t:g} µm print thickness ({rule.name}); widen the rim or lower the tier")
    rules = [r for r in family_rules(pdk) if r.layer in prints]
    found = check_stencils({k: v.apertures for k, v in prints.items()}, {k: passes[k][0] for k in prints}, rules)
    for violations in found.values():
        if violations:
            raise _fail(tiers, "protuberant_height", tiers.protuberant_height,
                        f"the relief cannot be printed: {violations[0][0]}")


def _result(design: Design, pdk: Pdk, layout: Layout, routing: Routing, balls: list[tuple[str, float, float]],
            seat: tuple[float, float], thickness: dict[str, float], bridge_counts: dict[str, int]) -> DieResult:
    """The DieResult: nets, assignment, counts and the relief/stencil figures for summary.json."""
    die, pkg = design.die, design.package
    assert isinstance(pkg, ReliefCsp)
    tiers, sten = pkg.protrusions.tiers, pkg.stencil
    nets = sorted({p.net for p in die.pads})
    pcell = next(c for c in layout.cells.values() if c.name.startswith("PROTRUSION_"))
    foot, recess = pcell.shapes["MOULD1"][0], pcell.shapes["MOULD2"][0]
    opening, paste = pcell.shapes["ENCAP"][0], pcell.shapes["PASTE"][0]
    figures = {layer: stencil_figures(layout.flat(layer), t) for layer, t in thickness.items()}
    printed = pkg.route == "print"
    volume = paste.area * sten.thickness
    n = len(balls)
    counts = {
        "pads": len(die.pads), "wells": len(layout.flat("WELL")), "protrusions": n, "balls": n,
        "connected_balls": len(routing.ball_nets), "nets": len(nets), "tracks": len(routing.routes),
        "encap_openings": len(layout.flat("ENCAP")), "paste_apertures": len(layout.flat("PASTE")),
        "relief_print_apertures": sum(figures[k]["apertures"] for k in ("STENCIL", "STENCIL2", "STENCIL3")) if printed else 0,
        "stencil_bridges": sum(bridge_counts.values()),
    }
    extra = {"relief": {
        "route": pkg.route, "tracks": pkg.tracks,
        "heights_um": {"base": tiers.base, "recessed": tiers.recessed_height, "protuberant": tiers.protuberant_height},
        **({"mould_etch_um": {"WELL": tiers.base, "MOULD2": round(tiers.protuberant_height - tiers.recessed_height, 6),
                              "MOULD1": tiers.protuberant_height}} if not printed else {}),
        "footprint_um": round(width_across_flats(foot), 3), "recess_um": round(width_across_flats(recess), 3),
        "rim_min_um": round(rim_width(foot, recess), 3),
        "encap_opening_um": round(width_across_flats(opening), 3),
        **({"print_passes": {k: {**figures[k], "bridges": bridge_counts[k]} for k in ("STENCIL", "STENCIL2", "STENCIL3")}}
           if printed else {}),
    }, "ball_stencil": {
        **figures["PASTE"], "shape": sten.shape, "aperture_um": round(width_across_flats(paste), 3),
        "overprint_um": sten.overprint, "area_ratio": round(area_ratio(paste, sten.thickness), 4),
        "aspect_ratio": round(narrowest_width(paste) / sten.thickness, 4),
        "paste_volume_nl": round(volume * 1e-6, 4),
        "solder_volume_nl": round(volume * sten.metal_fraction * 1e-6, 4),
        "ball_height_um": round(ball_height(volume, sten.metal_fraction, width_across_flats(opening)), 2),
    }}
    return DieResult(
        layout=layout, nets=nets,
        pads=[(p.name, p.net, pdk.snap(p.x), pdk.snap(p.y)) for p in die.pads],
        balls=[(name, x + seat[0], y + seat[1]) for name, x, y in balls],
        ball_nets=dict(routing.ball_nets),
        assignment={r.pad: r.ball for r in routing.routes},
        route_lengths={r.pad: round(r.length_um, 3) for r in routing.routes},
        counts=counts, extra=extra,
    )


def write_extra_outputs(die: DieResult, out_dir: str | Path) -> list[Path]:
    """The stencil shop's files beside the masks: `stencils/<LAYER>.gbr` (Gerber X2) and `.dxf` per stencil."""
    from .stencil_export import export_stencils  # gerber-writer and ezdxf only when files are written

    printed = die.extra["relief"]["route"] == "print"
    layers = ("STENCIL", "STENCIL2", "STENCIL3", "PASTE") if printed else ("PASTE",)
    return export_stencils(die.layout, Path(out_dir) / "stencils", layers)

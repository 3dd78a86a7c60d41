"""Backside-groove checks the generic rule kinds cannot express: grooves over pad rows, cuts between pads, wall crossings, nets.

Each check takes shapely geometries in die (front-view) coordinates, µm, and the rule(s)
whose values it applies, and returns a list of violations `(message, geometry)`: empty when
clean. They run on the generator's layout and, equally, on polygons read back from a GDS
(mask files mirrored back into die coordinates), so they trust nothing but the shapes.

The family rules (GROOVE1.ROW, GROOVE1.WALL, GROOVE2.ROW, BSWIRE.CUT, BSWIRE.GROOVE1.X) are rules of the PDK's deck
whose kinds this family registers in `layoutgen.rulekinds`; the `drc_*` functions at the end
are what the DRC runs for them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Protocol

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from layoutgen.errors import PdkError
from layoutgen.pdk import Pdk, Rule
from layoutgen.rulekinds import RULE_KINDS
from layoutgen.units import LENGTH_EPS_UM, RATIO_EPS

Violation = tuple[str, BaseGeometry]
TOL_UM = 1e-3       # one database unit: coordinates read back from a GDS are exact to it

FAMILY_KINDS = tuple(k for k, v in RULE_KINDS.items() if v.family == "backside_wlcsp")   # declared in layoutgen.rulekinds


FamilyRule = Rule


class _Valued(Protocol):
    name: str
    value: float | None


# --- the family rules in the PDK ------------------------------------------------------------

def family_rules(pdk: Pdk) -> tuple[FamilyRule, ...]:
    """Every family rule of `pdk` (the kinds of FAMILY_KINDS in its deck)."""
    return tuple(r for r in pdk.rules if r.kind in FAMILY_KINDS)


def family_rule(pdk: Pdk, kind: str) -> FamilyRule:
    """The family rule of `kind`; a PdkError if the PDK lacks it."""
    for r in family_rules(pdk):
        if r.kind == kind:
            return r
    raise PdkError(f"PDK {pdk.name!r} ({pdk.path}) has no rule of kind {kind!r} in rules.toml, "
                   f"which the backside_wlcsp family needs")


def wall_run(pdk: Pdk) -> float:
    """How far a first-groove wall runs across the wafer plane: substrate thickness / tan(wall angle), µm.

    The drawn GROOVE1 opening is the groove's top edge; its bottom, where the pads lie, is the
    opening shrunk by this. A PdkError if the etch stops short of the client layer or the angle
    is not in (0, 90]°.
    """
    t = pdk.process_value("substrate_thickness_um", "the backside_wlcsp groove profile")
    depth = pdk.process_value("groove_depth_um", "the backside_wlcsp groove profile")
    angle = pdk.process_value("wall_angle_deg", "the backside_wlcsp groove profile")
    if not 0 < angle <= 90:
        raise PdkError(f"PDK {pdk.name!r} ({pdk.path}/pdk.toml): process.wall_angle_deg = {angle:g}: must be in (0, 90]°")
    if depth < t - LENGTH_EPS_UM:
        raise PdkError(f"PDK {pdk.name!r} ({pdk.path}/pdk.toml): process.groove_depth_um = {depth:g} < substrate_thickness_um "
                       f"= {t:g}: the first groove would leave {t - depth:g} µm of silicon over the pads")
    return 0.0 if angle == 90 else t / math.tan(math.radians(angle))


def groove_bottom(opening: BaseGeometry, run: float) -> BaseGeometry:
    """The bottom of a first groove whose drawn (top) opening is `opening`: shrunk by the wall's run."""
    return opening.buffer(-run, join_style="mitre") if run > 0 else opening


# --- helpers --------------------------------------------------------------------------------

def _arr(geoms) -> np.ndarray:
    return np.asarray(list(geoms), dtype=object)


def _is_box(g: BaseGeometry) -> bool:
    """An axis-aligned rectangle (to the database unit)."""
    return g.geom_type == "Polygon" and not g.interiors and abs(shapely.envelope(g).area - g.area) <= TOL_UM * g.length


def _axis(g: BaseGeometry) -> tuple[int, float, float, float, float]:
    """(axis 0 = x / 1 = y of the long side, along lo, along hi, across lo, across hi) of a box."""
    x0, y0, x1, y1 = g.bounds
    return (0, x0, x1, y0, y1) if x1 - x0 >= y1 - y0 else (1, y0, y1, x0, x1)


def _rule_value(rule: _Valued) -> float:
    assert rule.value is not None, f"rule {rule.name} has no value"
    return rule.value


# --- GROOVE1.ROW ----------------------------------------------------------------------------

def groove1_over_rows(groove1: list[BaseGeometry], pads: list[BaseGeometry], rule: FamilyRule,
                      clearance: Rule, run: float = 0.0) -> list[Violation]:
    """Every GROOVE1 opening lies over one pad row (pads on one line along it) and its bottom (the
    opening shrunk by the wall's `run`) exposes every pad by `clearance`."""
    out: list[Violation] = []
    g, p = _arr(groove1), _arr(pads)
    c = _rule_value(clearance)
    holder: dict[int, list[int]] = defaultdict(list)
    if len(g) and len(p):
        pi, gi = shapely.STRtree(g).query(p, predicate="within")
        for a, b in zip(pi, gi):
            holder[int(b)].append(int(a))
    inside = {i for members in holder.values() for i in members}
    for i in sorted(set(range(len(p))) - inside):
        out.append((f"{rule.name}: pad at {_xy(p[i])} is not exposed by any first-groove opening", p[i]))
    for k, opening in enumerate(g):
        members = holder.get(k, [])
        if not members:
            out.append((f"{rule.name}: first-groove opening at {_xy(opening)} exposes no pad", opening))
            continue
        if not _is_box(opening):
            out.append((f"{rule.name}: first-groove opening at {_xy(opening)} is not a rectangle over a row", opening))
            continue
        axis, *_ = _axis(opening)
        across = [shapely.centroid(p[i]).coords[0][1 - axis] for i in members]
        if max(across) - min(across) > TOL_UM:
            out.append((f"{rule.name}: first-groove opening at {_xy(opening)} exposes pads of "
                        f"{len(set(np.round(across, 3)))} rows (one row per groove)", opening))
        bottom = groove_bottom(opening, run)
        for i in members:
            d = bottom.exterior.distance(p[i]) if bottom.covers(p[i]) else 0.0
            if d < c - TOL_UM:
                out.append((f"{clearance.name}: pad at {_xy(p[i])} exposed at the groove bottom ({run:.3f} µm inside the "
                            f"drawn opening) with {d:.3f} µm clearance < {c:g} µm", p[i]))
    return out


# --- GROOVE2.ROW ----------------------------------------------------------------------------

def groove2_through_pads(groove2: list[BaseGeometry], pads: list[BaseGeometry], groove1: list[BaseGeometry],
                         rule: FamilyRule, enclosure: Rule, run: float = 0.0) -> list[Violation]:
    """Every cut runs straight along one pad row on its groove's bottom (enclosed by `enclosure`),
    across every pad of the row (each pad split along its whole length) and the rule's value past the
    end pads; every pad in a first groove is cut (else the wiring cannot contact it)."""
    out: list[Violation] = []
    ext, en = _rule_value(rule), _rule_value(enclosure)
    g1, p = _arr(groove1), _arr(pads)
    cuts = list(shapely.get_parts(shapely.union_all(_arr(groove2)))) if len(groove2) else []
    cut_pads: set[int] = set()
    for cut in cuts:
        if not _is_box(cut):
            out.append((f"{rule.name}: cut at {_xy(cut)} is not a straight rectangle", cut))
            continue
        home = [o for o in g1 if o.contains(cut)]
        if not home:
            out.append((f"{rule.name}: cut at {_xy(cut)} does not lie inside a first-groove opening", cut))
            continue
        bottom = groove_bottom(home[0], run)
        inner = bottom.buffer(-en, join_style="mitre") if en > 0 else bottom
        if not inner.buffer(TOL_UM, join_style="mitre").covers(cut):
            d = bottom.exterior.distance(cut) if bottom.covers(cut) else 0.0
            out.append((f"{enclosure.name}: cut at {_xy(cut)} lies {d:.3f} µm inside its groove's bottom < {en:g} µm", cut))
        axis, lo, hi, a_lo, a_hi = _axis(cut)
        hit = [i for i in range(len(p)) if p[i].intersects(cut) and p[i].intersection(cut).area > TOL_UM ** 2]
        if not hit:
            out.append((f"{rule.name}: cut at {_xy(cut)} runs through no pad", cut))
            continue
        cut_pads.update(hit)
        for i in hit:
            b = p[i].bounds
            p_lo, p_hi = (b[0], b[2]) if axis == 0 else (b[1], b[3])
            q_lo, q_hi = (b[1], b[3]) if axis == 0 else (b[0], b[2])
            if p_lo < lo - TOL_UM or p_hi > hi + TOL_UM or q_lo > a_lo + TOL_UM or q_hi < a_hi - TOL_UM:
                out.append((f"{rule.name}: cut at {_xy(cut)} does not run across pad at {_xy(p[i])} along the row", p[i]))
        first = min(p[i].bounds[axis] for i in hit)
        last = max(p[i].bounds[axis + 2] for i in hit)
        short = min(first - lo, hi - last)
        if short < ext - TOL_UM:
            out.append((f"{rule.name}: cut at {_xy(cut)} runs {short:.3f} µm past its end pad < {ext:g} µm", cut))
    for opening in g1:
        for i in range(len(p)):
            if i not in cut_pads and opening.contains(p[i]):
                out.append((f"{rule.name}: pad at {_xy(p[i])} in a first groove is not cut by the second groove: "
                            f"the wiring cannot contact it", p[i]))
    return out


# --- BSWIRE.CUT -----------------------------------------------------------------------------

def cut_contacts(bswire: list[BaseGeometry], groove2: list[BaseGeometry], pads: list[BaseGeometry],
                 rule: FamilyRule, nets: list[str | None] | None = None,
                 labels: list[tuple[str, float, float]] = ()) -> list[Violation]:
    """Each pad's stretch of a cut (the cut where it runs through the pad) is lined by exactly one
    piece of wiring that covers it and the rule's value beyond the cut's sides; a piece's metal in a
    cut lies on one pad's stretch only (two pads' leads sharing a stretch of the cut short them), or on
    the stretches of pads of one net: a pad's net is its label (`nets`, one per pad), else the one net
    the labels on the wiring lining it name (`labels`: text, x, y; a daisy chain's link joins two pads
    by design); pads of different or unknown nets on one piece are a short."""
    out: list[Violation] = []
    if not len(groove2):
        return out                # no cut: nothing to line (the wafer's own bus mesh is not merged for nothing)
    e = _rule_value(rule)
    pieces = list(shapely.get_parts(shapely.union_all(_arr(bswire)))) if len(bswire) else []
    cuts = list(shapely.get_parts(shapely.union_all(_arr(groove2)))) if len(groove2) else []
    stretches: list[tuple[int, BaseGeometry]] = []        # (pad, stretch box across the cut's full width)
    lined_by: list[BaseGeometry] = []                     # each stretch grown across the cut by the rule's value
    for cut in cuts:
        axis, lo, hi, a_lo, a_hi = _axis(cut)
        for i, pad in enumerate(pads):
            both = pad.intersection(cut)
            if both.is_empty or both.area <= TOL_UM ** 2:
                continue
            b = both.bounds
            s_lo, s_hi = (b[0], b[2]) if axis == 0 else (b[1], b[3])
            stretches.append((i, shapely.box(s_lo, a_lo, s_hi, a_hi) if axis == 0 else shapely.box(a_lo, s_lo, a_hi, s_hi)))
            lined_by.append(shapely.box(s_lo, a_lo - e, s_hi, a_hi + e) if axis == 0
                            else shapely.box(a_lo - e, s_lo, a_hi + e, s_hi))
    tree = shapely.STRtree(_arr(pieces)) if pieces else None
    for (i, stretch), lined in zip(stretches, lined_by):
        hits = [int(k) for k in tree.query(stretch, predicate="intersects")] if tree else []
        hits = [k for k in hits if pieces[k].intersection(stretch).area > TOL_UM ** 2]
        if not hits:
            out.append((f"{rule.name}: pad at {_xy(pads[i])}: no lead lines its stretch of the cut (open)", stretch))
        elif len(hits) > 1:
            out.append((f"{rule.name}: pad at {_xy(pads[i])}: {len(hits)} separate pieces of wiring on its stretch of the cut", stretch))
        elif not pieces[hits[0]].buffer(TOL_UM, join_style="mitre").covers(lined):
            out.append((f"{rule.name}: pad at {_xy(pads[i])}: the lead does not cover its stretch of the cut and "
                        f"{e:g} µm beyond the cut's sides", stretch))
    all_cuts = shapely.union_all(_arr(cuts)) if cuts else Polygon()
    for piece in pieces:
        inside = piece.intersection(all_cuts)
        if inside.is_empty or inside.area <= TOL_UM ** 2:
            continue
        own = [(i, st) for i, st in stretches if inside.intersection(st).area > TOL_UM ** 2]
        if len({i for i, _ in own}) > 1 and not _one_net({i for i, _ in own}, piece, nets, labels):
            out.append((f"{rule.name}: one piece of wiring lines the stretches of {len({i for i, _ in own})} pads of a cut "
                        f"(pads at {', '.join(_xy(pads[i]) for i, _ in own)}): it shorts them", inside))
            continue
        beyond = inside.difference(shapely.union_all([st for _, st in own])) if own else inside
        if beyond.area > TOL_UM ** 2:
            out.append((f"{rule.name}: wiring at {_xy(beyond)} runs along the cut off its pad's stretch", beyond))
    return out


def _one_net(members: set[int], piece: BaseGeometry, nets: list[str | None] | None,
             labels: list[tuple[str, float, float]]) -> bool:
    """Whether the pads `members`, lined by one `piece`, are one net: each pad's label, else the piece's one net label."""
    on_piece = {t for t, x, y in labels if piece.covers(Point(x, y))}
    mine = next(iter(on_piece)) if len(on_piece) == 1 else None
    found = {(nets[i] if nets and nets[i] else mine) for i in members}
    return None not in found and len(found) == 1


def pad_labels(pads: list[BaseGeometry], texts: list[tuple[str, float, float]]) -> list[str | None]:
    """The net label inside each pad (the first found), or None."""
    out: list[str | None] = [None] * len(pads)
    if pads and texts:
        ti, pi = shapely.STRtree(_arr(pads)).query(shapely.points([(x, y) for _, x, y in texts]), predicate="within")
        for t, p in sorted(zip(ti.tolist(), pi.tolist())):
            if out[p] is None:
                out[p] = texts[t][0]
    return out


# --- GROOVE1.WALL ---------------------------------------------------------------------------

def wall_angles(groove1: list[BaseGeometry], bswire: list[BaseGeometry], rule: FamilyRule, angle: float) -> list[Violation]:
    """The process's groove wall `angle` (degrees from the wafer plane) is no steeper than the rule's
    value wherever wiring climbs a wall: one finding per first groove that wiring crosses."""
    limit = _rule_value(rule)
    if angle <= limit + RATIO_EPS or not len(bswire):
        return []
    metal = shapely.union_all(_arr(bswire))
    return [(f"{rule.name}: wiring climbs the {angle:g}° wall of the first groove at {_xy(o)}: a lead is patterned only "
             f"on walls ≤ {limit:g}°", o) for o in groove1 if o.exterior.intersects(metal)]


# --- BSWIRE.GROOVE1.X -----------------------------------------------------------------------

def groove_wall_crossings(bswire: list[BaseGeometry], groove1: list[BaseGeometry], rule: FamilyRule,
                          width: Rule) -> list[Violation]:
    """Near a first-groove edge (within the rule's value, outside the groove) wiring only crosses it: straight, square, ≥ `width`."""
    out: list[Violation] = []
    d, w_min = _rule_value(rule), _rule_value(width)
    if not len(bswire) or not len(groove1):
        return out
    metal = shapely.union_all(_arr(bswire))
    for opening in groove1:
        band = opening.buffer(d, join_style="mitre").difference(opening)
        edge = opening.exterior
        for piece in shapely.get_parts(metal.intersection(band)):
            if piece.geom_type != "Polygon" or piece.area <= TOL_UM ** 2:
                continue
            touch = piece.intersection(edge)
            where = _xy(piece)
            if touch.is_empty or touch.length <= TOL_UM:
                out.append((f"{rule.name}: backside wiring at {where} runs within {d:g} µm of a first-groove edge", piece))
                continue
            if touch.geom_type != "LineString" or not _is_box(piece):
                out.append((f"{rule.name}: wiring at {where} crosses the groove edge other than in one straight lead", piece))
                continue
            x0, y0, x1, y1 = piece.bounds
            horizontal = abs(touch.bounds[3] - touch.bounds[1]) <= TOL_UM   # the crossed edge runs along x
            run, depth = ((x1 - x0), (y1 - y0)) if horizontal else ((y1 - y0), (x1 - x0))
            if abs(run - touch.length) > TOL_UM or abs(depth - d) > TOL_UM:
                out.append((f"{rule.name}: lead at {where} does not cross the groove edge at right angles", piece))
            elif run < w_min - TOL_UM:
                out.append((f"{width.name}: lead at {where} crosses the groove edge {run:.3f} µm wide < {w_min:g} µm", piece))
    return out


# --- nets -----------------------------------------------------------------------------------

def bswire_nets(bswire: list[BaseGeometry], pads: list[tuple[str, BaseGeometry]], balls: list[tuple[str | None, float, float]],
                groove1: list[BaseGeometry]) -> list[Violation]:
    """Every piece of backside wiring is one net that reaches its pad inside a groove and its ball pad; no piece touches two nets.

    `pads`: (net, pad polygon); `balls`: (net or None for a spare ball, centre x, y). A piece
    holding only a spare ball's pad is allowed (an unconnected ball).
    """
    out: list[Violation] = []
    pieces = list(shapely.get_parts(shapely.union_all(_arr(bswire)))) if len(bswire) else []
    grooves = shapely.union_all(_arr(groove1)) if len(groove1) else Polygon()
    tree = shapely.STRtree(_arr(pieces)) if pieces else None
    nets_of: list[set[str]] = [set() for _ in pieces]
    has_pad = [False] * len(pieces)
    has_ball = [False] * len(pieces)
    spare = [False] * len(pieces)
    for net, pad in pads:
        hits = [int(i) for i in tree.query(pad, predicate="intersects")] if tree else []
        hits = [i for i in hits if pieces[i].intersection(pad).intersection(grooves).area > TOL_UM ** 2]
        if not hits:
            out.append((f"net {net}: pad at {_xy(pad)} is reached by no backside wiring inside its groove", pad))
        for i in hits:
            nets_of[i].add(net)
            has_pad[i] = True
    for net, x, y in balls:
        pt = Point(x, y)
        hits = [int(i) for i in tree.query(pt, predicate="within")] if tree else []
        if not hits:
            out.append((f"ball at ({x:.3f}, {y:.3f}) sits on no ball pad", pt.buffer(1.0)))
            continue
        for i in hits:
            if net is None:
                spare[i] = True
                continue
            nets_of[i].add(net)
            has_ball[i] = True
    for i, piece in enumerate(pieces):
        if len(nets_of[i]) > 1:
            out.append((f"nets {', '.join(sorted(nets_of[i]))} touch on one piece of backside wiring", piece))
        elif has_pad[i] and not has_ball[i]:
            out.append((f"net {next(iter(nets_of[i]))}: wiring at {_xy(piece)} reaches its pad but no ball pad", piece))
        elif has_ball[i] and not has_pad[i]:
            out.append((f"net {next(iter(nets_of[i]))}: ball pad at {_xy(piece)} reaches no pad", piece))
        elif not has_pad[i] and not has_ball[i] and not spare[i]:
            out.append((f"backside wiring at {_xy(piece)} joins neither a pad nor a ball", piece))
    return out


def smask_within_ball_pads(smask: list[BaseGeometry], bswire: list[BaseGeometry], enclosure: Rule) -> list[Violation]:
    """Every solder-mask opening lies within one ball pad of the backside wiring, by the enclosure rule's value."""
    out: list[Violation] = []
    e = _rule_value(enclosure)
    pieces = _arr(shapely.get_parts(shapely.union_all(_arr(bswire)))) if len(bswire) else _arr([])
    tree = shapely.STRtree(pieces) if len(pieces) else None
    for opening in smask:
        hits = [int(i) for i in tree.query(opening, predicate="within")] if tree is not None else []
        if not hits:
            out.append((f"{enclosure.name}: solder-mask opening at {_xy(opening)} is not inside a ball pad", opening))
            continue
        margin = pieces[hits[0]].exterior.distance(opening)
        if margin < e - TOL_UM:
            out.append((f"{enclosure.name}: solder-mask opening at {_xy(opening)} enclosed by {margin:.3f} µm < {e:g} µm", opening))
    return out


def check_all(layers: dict[str, list[BaseGeometry]], pad_nets: list[tuple[str, BaseGeometry]],
              balls: list[tuple[str | None, float, float]], pdk: Pdk) -> dict[str, list[Violation]]:
    """Every family check on die-coordinate layers, by rule name (empty lists when clean)."""
    g1, g2, bs, sm = (layers.get(k, []) for k in ("GROOVE1", "GROOVE2", "BSWIRE", "SMASK"))
    pads = [g for _, g in pad_nets]
    rows, through, wall, contact = (family_rule(pdk, k) for k in ("groove_over_row", "cut_through_pads",
                                                                  "wall_crossing", "cut_contact"))
    run = wall_run(pdk)
    return {
        rows.name: groove1_over_rows(g1, pads, rows, pdk.rule("enclosure", "GROOVE1", "PAD"), run),
        through.name: groove2_through_pads(g2, pads, g1, through, pdk.rule("enclosure", "GROOVE1", "GROOVE2"), run),
        contact.name: cut_contacts(bs, g2, pads, contact, [n for n, _ in pad_nets]),
        wall.name: groove_wall_crossings(bs, g1, wall, pdk.rule("width", "BSWIRE")),
        "BSWIRE.NETS": bswire_nets(bs, pad_nets, balls, g1),
        pdk.rule("enclosure", "BSWIRE", "SMASK").name: smask_within_ball_pads(sm, bs, pdk.rule("enclosure", "BSWIRE", "SMASK")),
    }


def _xy(g: BaseGeometry) -> str:
    c = shapely.centroid(g)
    return f"({c.x:.3f}, {c.y:.3f})"


# --- the DRC's view of these rules (kinds registered in layoutgen/rulekinds.py) --------------

def _findings(found: list[Violation]) -> list:
    from layoutgen.rulekinds import Finding

    return [Finding(msg, geom) for msg, geom in found]


def drc_groove_over_row(rule: Rule, cell) -> list:
    """DRC: every GROOVE1 opening over one pad row, exposing each pad by GROOVE1-encloses-PAD."""
    return _findings(groove1_over_rows(cell.shapes(rule.layer), cell.shapes(rule.other), rule,
                                       cell.pdk.rule("enclosure", rule.layer, rule.other), wall_run(cell.pdk)))


def drc_cut_through_pads(rule: Rule, cell) -> list:
    """DRC: every GROOVE2 cut runs along a pad row on its groove bottom, through every pad; every exposed pad is cut."""
    return _findings(groove2_through_pads(cell.shapes(rule.layer), cell.shapes(rule.other), cell.shapes("GROOVE1"),
                                          rule, cell.pdk.rule("enclosure", "GROOVE1", rule.layer), wall_run(cell.pdk)))


def drc_cut_contact(rule: Rule, cell) -> list:
    """DRC: each pad's stretch of the cut lined by one lead, no lead on two pads' stretches unless they are one net
    (labels on PAD, else on the lead)."""
    layers = rule.layers or [rule.layer]
    metal = [g for name in layers for g in cell.shapes(name)]
    pads = cell.shapes("PAD")
    return _findings(cut_contacts(metal, cell.shapes(rule.other), pads, rule, pad_labels(pads, cell.texts("PAD")),
                                  [t for name in layers for t in cell.texts(name)]))


def drc_wall_angle(rule: Rule, cell) -> list:
    """DRC: the process's first-groove wall angle is one a lead can be patterned on, wherever wiring climbs it."""
    wall_run(cell.pdk)
    return _findings(wall_angles(cell.shapes(rule.layer), cell.shapes(rule.other), rule,
                                 cell.pdk.process_value("wall_angle_deg", rule.name)))


def drc_wall_crossing(rule: Rule, cell) -> list:
    """DRC: near a first-groove edge, the metal of the rule's layers (default its layer) only crosses it, straight and wide enough."""
    metal = [g for name in (rule.layers or [rule.layer]) for g in cell.shapes(name)]
    return _findings(groove_wall_crossings(metal, cell.shapes(rule.other), rule, cell.pdk.rule("width", rule.layer)))

"""Checks of the sheet-terminal flow that the generic rule kinds cannot express.

Each function takes shapely geometries read back from a layout (one polygon per drawn shape,
not merged) and the PDK rule it enforces, and returns a list of (message, geometry)
violations; an empty list means clean. The message names the rule, what is wrong, where,
and the rule's value. All lengths in µm.

| function | rule (sheet100) | what |
|---|---|---|
| `spot_spacing` | SPOT.S.1 (space) | spots closer than the space, taken one by one, so spots the etch bias merges are caught |
| `spots_on_liners` | SPOT.EN.LINER (enclosure) | one liner under each spot, centred, enclosed by the value |
| `lead_ends` | LEAD.OV.PAD (overlap), LEAD.EN.LINER (enclosure) | each lead's tip on one chip contact, its fixed end on one liner |
| `ring_isolation` | PLANE.SPOT.S (separation) | each isolation ring surrounds one spot and clears it by the value |
| `plane_pieces` | PLANE.S.1 (space) | the potential plane left by the rings is one piece (field from `sheet_field`) |
| `spot_bias` | (etch model) | each spot is its target top plus the etch bias 2·depth/EF |
"""

from __future__ import annotations

from typing import Sequence

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from layoutgen.pdk import Rule

Violation = tuple[str, BaseGeometry]

_EPS = 1e-6


def _clean(geoms: Sequence[BaseGeometry]) -> list[BaseGeometry]:
    """Polygons as read from a GDS made valid: a ring written as one keyhole polygon becomes a polygon with a hole."""
    return [g if g.is_valid else g.buffer(0) for g in geoms]


def _at(g: BaseGeometry) -> str:
    c = g.centroid
    return f"({c.x:.1f}, {c.y:.1f})"


def _name(names: Sequence[str] | None, i: int, g: BaseGeometry) -> str:
    return names[i] if names is not None else f"at {_at(g)}"


def spot_spacing(spots: Sequence[Polygon], rule: Rule, names: Sequence[str] | None = None) -> list[Violation]:
    """Pairs of spots closer than `rule.value`; spots that touch or overlap are reported as merged terminals."""
    assert rule.value is not None
    polys = _clean(spots)
    if len(polys) < 2:
        return []
    tree = STRtree(polys)
    a, b = tree.query(polys, predicate="dwithin", distance=rule.value - _EPS)
    out: list[Violation] = []
    for i, j in sorted({(min(i, j), max(i, j)) for i, j in zip(a.tolist(), b.tolist()) if i != j}):
        p, q = polys[i], polys[j]
        gap = p.distance(q)
        if gap >= rule.value - _EPS:
            continue
        who = f"spots {_name(names, i, p)} and {_name(names, j, q)}"
        if p.intersects(q):
            both = p.intersection(q)
            where = both if both.area > 0 else both.buffer(rule.value / 4)
            out.append((f"{rule.name}: {who} merge: the etch bias has grown them into each other "
                        f"(overlap {both.area:.1f} µm²), so they would etch into one terminal; "
                        f"spots need ≥ {rule.value:g} µm space ({rule.description})", where))
        else:
            line = shapely.shortest_line(p, q)
            out.append((f"{rule.name}: {who} are {gap:.3f} µm apart after the etch bias: the etch may not clear "
                        f"the gap and merge them; spots need ≥ {rule.value:g} µm ({rule.description})",
                        line.buffer(max(gap, rule.value) / 4)))
    return out


def spots_on_liners(spots: Sequence[Polygon], liners: Sequence[Polygon], rule: Rule, grid: float,
                    names: Sequence[str] | None = None) -> list[Violation]:
    """Every liner under exactly one spot, each spot over at most one liner, centred within `grid`, enclosed by `rule.value`."""
    assert rule.value is not None
    out: list[Violation] = []
    if not liners:
        return out
    spots, liners = _clean(spots), _clean(liners)
    tree = STRtree(spots)
    under: dict[int, list[int]] = {}
    for k, lin in enumerate(liners):
        hits = [int(i) for i in tree.query(lin, predicate="intersects")]
        if not hits:
            out.append((f"{rule.name}: liner at {_at(lin)} has no spot over it: its terminal is etched away", lin))
            continue
        if len(hits) > 1:
            out.append((f"{rule.name}: liner at {_at(lin)} lies under {len(hits)} spots", lin))
            continue
        under.setdefault(hits[0], []).append(k)
    for i, ks in sorted(under.items()):
        s = spots[i]
        if len(ks) > 1:
            out.append((f"{rule.name}: spot {_name(names, i, s)} covers {len(ks)} liners: one terminal per liner", s))
            continue
        lin = liners[ks[0]]
        off = s.centroid.distance(lin.centroid)
        if off > grid + _EPS:
            out.append((f"{rule.name}: spot {_name(names, i, s)} is {off:.3f} µm off the centre of its liner at "
                        f"{_at(lin)} (allowed: one {grid:g} µm grid step)", s))
        if not s.contains(lin):
            out.append((f"{rule.name}: spot {_name(names, i, s)} does not cover its liner at {_at(lin)}", lin))
            continue
        enc = s.exterior.distance(lin.exterior)
        if enc < rule.value - _EPS:
            out.append((f"{rule.name}: spot {_name(names, i, s)} encloses its liner by {enc:.3f} µm < "
                        f"{rule.value:g} µm ({rule.description})", s.difference(lin.buffer(rule.value))))
    return out


def lead_ends(leads: Sequence[Polygon], pads: Sequence[Polygon], liners: Sequence[Polygon],
              bond: Rule, enclosure: Rule, need_liner: bool = True) -> list[Violation]:
    """Each lead's tip on exactly one chip contact (overlap ≥ `bond.value` across), its fixed end on one liner enclosed by `enclosure.value`."""
    assert bond.value is not None and enclosure.value is not None
    out: list[Violation] = []
    leads, pads, liners = _clean(leads), _clean(pads), _clean(liners)
    pad_tree, liner_tree = STRtree(pads), STRtree(liners)
    for lead in leads:
        hit = [int(i) for i in pad_tree.query(lead, predicate="intersects")]
        hit = [i for i in hit if lead.intersection(pads[i]).area > 0]
        if len(hit) != 1:
            what = "lands on no chip contact (open)" if not hit else f"touches {len(hit)} chip contacts (short)"
            out.append((f"{bond.name}: lead at {_at(lead)} {what}", lead))
        else:
            bonded = lead.intersection(pads[hit[0]])
            if bonded.buffer(-(bond.value / 2 - _EPS)).is_empty:
                out.append((f"{bond.name}: lead tip on the contact at {_at(pads[hit[0]])} overlaps it across less than "
                            f"{bond.value:g} µm ({bond.description})", bonded))
        ins = [int(i) for i in liner_tree.query(lead, predicate="intersects")]
        if need_liner and len(ins) != 1:
            out.append((f"{enclosure.name}: lead at {_at(lead)} sits on {len(ins)} liners: its fixed end needs exactly one", lead))
        for k in ins:
            lin = liners[k]
            if not lead.contains(lin):
                out.append((f"{enclosure.name}: liner at {_at(lin)} sticks out of its lead's fixed-end bulge", lin))
            elif lead.exterior.distance(lin.exterior) < enclosure.value - _EPS:
                out.append((f"{enclosure.name}: lead bulge encloses the liner at {_at(lin)} by "
                            f"{lead.exterior.distance(lin.exterior):.3f} µm < {enclosure.value:g} µm", lin))
    return out


def ring_isolation(rings: Sequence[Polygon], spots: Sequence[Polygon], rule: Rule) -> list[Violation]:
    """Each isolation ring surrounds exactly one spot, clear of it by ≥ `rule.value`; no ring cuts a spot."""
    assert rule.value is not None
    out: list[Violation] = []
    rings, spots = _clean(rings), _clean(spots)
    spot_tree = STRtree(spots)
    for ring in rings:
        if not ring.interiors:
            out.append((f"{rule.name}: isolation ring at {_at(ring)} is not closed: it leaves its terminal on the plane", ring))
            continue
        hole = Polygon(ring.interiors[0])
        inside = [int(i) for i in spot_tree.query(hole, predicate="intersects")]
        if len(inside) != 1:
            out.append((f"{rule.name}: isolation ring at {_at(ring)} surrounds {len(inside)} terminals: one ring per terminal", ring))
            continue
        s = spots[inside[0]]
        if not hole.contains(s):
            out.append((f"{rule.name}: isolation ring at {_at(ring)} cuts through its terminal's spot", ring.intersection(s)))
            continue
        gap = hole.exterior.distance(s.exterior)
        if gap < rule.value - _EPS:
            out.append((f"{rule.name}: isolation ring at {_at(ring)} clears its terminal by {gap:.3f} µm < "
                        f"{rule.value:g} µm ({rule.description})", hole.difference(s.buffer(rule.value))))
    return out


def plane_pieces(field: Polygon, openings: Sequence[Polygon], rule: Rule,
                 min_area_um2: float = 1.0) -> list[Violation]:
    """The potential plane (the field less the rings, what they surround, and other openings) in one piece."""
    filled = [Polygon(g.exterior) for g in _clean(openings)]
    plane = field.difference(shapely.union_all(filled)) if filled else field
    pieces = [p for p in shapely.get_parts(plane) if p.area >= min_area_um2]
    if len(pieces) <= 1:
        return []
    pieces.sort(key=lambda p: -p.area)
    return [(f"{rule.name}: the isolation rings cut the potential plane into {len(pieces)} pieces: the piece at "
             f"{_at(p)} ({p.area:.0f} µm²) is cut off from the main plane ({rule.description})", p)
            for p in pieces[1:]]


def sheet_field(die: Polygon, marks: Sequence[Polygon]) -> tuple[Polygon, list[Polygon]]:
    """The potential plane's field read from a layout: inside the frame outline (the MARK ring), else the die.

    Returns the field and the marks inside it (fiducials: openings in the plane like the rings).
    """
    marks = _clean(marks)
    rings = [m for m in marks if m.interiors]
    field = Polygon(max(rings, key=lambda m: m.area).interiors[0]) if rings else die
    return field, [m for m in marks if field.contains(m)]


def spot_bias(spots: Sequence[Polygon], tops: Sequence[float], bias_um: float, grid: float,
              names: Sequence[str] | None = None) -> list[Violation]:
    """Each spot's width across flats is its target top plus `bias_um` (2·depth/EF), within two grid steps."""
    out: list[Violation] = []
    for i, (s, top) in enumerate(zip(_clean(spots), tops)):
        across = 2 * shapely.distance(s.centroid, s.exterior)
        if abs(across - (top + bias_um)) > 2 * grid + _EPS:
            out.append((f"spot {_name(names, i, s)} is {across:.3f} µm across: the target top {top:g} µm plus the "
                        f"{bias_um:g} µm etch bias is {top + bias_um:g} µm", s))
    return out


__all__ = ["Violation", "lead_ends", "plane_pieces", "ring_isolation", "sheet_field", "spot_bias", "spot_spacing",
           "spots_on_liners"]


# --- the DRC's view of these rules (kinds registered in layoutgen/rulekinds.py) --------------

def drc_spot_spacing(rule: Rule, cell) -> list:
    """DRC: spots taken one by one (unmerged), so spots the etch bias makes touch are caught."""
    from layoutgen.rulekinds import Finding

    return [Finding(msg, geom) for msg, geom in spot_spacing(cell.shapes(rule.layer), rule)]


def drc_plane_pieces(rule: Rule, cell) -> list:
    """DRC: the potential plane left between the rule layer's openings is one piece."""
    from layoutgen.rulekinds import Finding

    die = cell.shapes("DIE")
    if not die or not cell.shapes(rule.layer):
        return []
    field, fiducials = sheet_field(shapely.union_all(die), cell.shapes("MARK"))
    return [Finding(msg, geom) for msg, geom in plane_pieces(field, cell.shapes(rule.layer) + fiducials, rule)]

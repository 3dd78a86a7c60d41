"""The sheet-terminal flow's rule kinds: the checks the generic kinds cannot express.

Each function takes shapely geometries read back from a layout (one polygon per drawn shape,
not merged) and the PDK rule it enforces, and returns a list of (message, geometry)
violations; an empty list means clean. The message names the rule, what is wrong, where,
and the rule's value. All lengths in µm. The DRC runs them through the kinds registered in
layoutgen/rulekinds.py (`drc_*` below); what the generic kinds already check (a lead's tip
on its contact: LEAD.OV.PAD and NET.OPEN; its fixed end on its liner: LEAD.EN.LINER; a spot
over its liner: SPOT.EN.LINER; one net per piece: NET.SHORT) has no function here.

| function | kind: rule (sheet100) | what |
|---|---|---|
| `spot_spacing` | spot_spacing: SPOT.S.1 | spots closer than the space, taken one by one, so spots the etch bias merges are caught |
| `ring_isolation` | ring_isolation: PLANE.RING.1 | each isolation ring closed around exactly one spot, cutting none (and, given a value, clearing it by it) |
| `plane_pieces` | plane_pieces: PLANE.ONE | the potential plane left by the rings is one piece (field from `sheet_field`) |
"""

from __future__ import annotations

from typing import Sequence

import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from layoutgen.pdk import Rule
from layoutgen.units import LENGTH_EPS_UM

Violation = tuple[str, BaseGeometry]



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
    a, b = tree.query(polys, predicate="dwithin", distance=rule.value - LENGTH_EPS_UM)
    out: list[Violation] = []
    for i, j in sorted({(min(i, j), max(i, j)) for i, j in zip(a.tolist(), b.tolist()) if i != j}):
        p, q = polys[i], polys[j]
        gap = p.distance(q)
        if gap >= rule.value - LENGTH_EPS_UM:
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


def ring_isolation(rings: Sequence[Polygon], spots: Sequence[Polygon], rule: Rule) -> list[Violation]:
    """Each isolation ring is closed and surrounds exactly one spot without cutting it, clear of it by ≥ `rule.value`
    when the rule has a value (PLANE.SPOT.S's separation checks the clearance of the deck)."""
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
        if rule.value is not None and gap < rule.value - LENGTH_EPS_UM:
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


__all__ = ["Violation", "plane_pieces", "ring_isolation", "sheet_field", "spot_spacing"]


# --- the DRC's view of these rules (kinds registered in layoutgen/rulekinds.py) --------------

def drc_spot_spacing(rule: Rule, cell) -> list:
    """DRC: spots taken one by one (unmerged), so spots the etch bias makes touch are caught."""
    from layoutgen.rulekinds import Finding

    return [Finding(msg, geom) for msg, geom in spot_spacing(cell.shapes(rule.layer), rule)]


def drc_ring_isolation(rule: Rule, cell) -> list:
    """DRC: each ring on the rule's layer closed around exactly one shape of its `other` layer (a terminal's spot)."""
    from layoutgen.rulekinds import Finding

    return [Finding(msg, geom) for msg, geom in ring_isolation(cell.shapes(rule.layer), cell.shapes(rule.other), rule)]


def drc_plane_pieces(rule: Rule, cell) -> list:
    """DRC: the potential plane left between the rule layer's openings is one piece."""
    from layoutgen.rulekinds import Finding

    die = cell.shapes("DIE")
    if not die or not cell.shapes(rule.layer):
        return []
    field, fiducials = sheet_field(shapely.union_all(die), cell.shapes("MARK"))
    return [Finding(msg, geom) for msg, geom in plane_pieces(field, cell.shapes(rule.layer) + fiducials, rule)]

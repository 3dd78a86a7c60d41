"""The check of each core rule kind as the engine calls it: `(rule, cell) -> list[Finding]` (named in `layoutgen.rulekinds`)."""

from __future__ import annotations

import shapely

from ..errors import DrcError
from ..layout import joined_nets
from ..pdk import Rule
from ..rulekinds import runs_per_top
from .angle import check_angle
from .area import check_area, check_hole_area
from .cell import CellLayers
from .centres import check_edge_distance, check_pitch
from .connectivity import find_opens, find_shorts, join_nets, place_terminals
from .density import check_density
from .enclosure import check_enclosure, check_overlap, check_separation
from .grid import check_grid
from .size import check_size
from .space import check_space
from .violation import Finding
from .width import check_width

def width(r: Rule, c: CellLayers) -> list[Finding]:
    return check_width(c.merged(r.layer), r.value, drawn=c.drawn(r.layer))


def space(r: Rule, c: CellLayers) -> list[Finding]:
    return check_space(c.merged(r.layer), r.value)


def area(r: Rule, c: CellLayers) -> list[Finding]:
    return check_area(c.merged(r.layer), r.value)


def hole_area(r: Rule, c: CellLayers) -> list[Finding]:
    return check_hole_area(c.merged(r.layer), r.value)


def enclosure(r: Rule, c: CellLayers) -> list[Finding]:
    return check_enclosure(c.merged(r.layer), c.merged(r.other), r.value)


def separation(r: Rule, c: CellLayers) -> list[Finding]:
    return check_separation(c.merged(r.layer), c.merged(r.other), r.value)


def overlap(r: Rule, c: CellLayers) -> list[Finding]:
    return check_overlap(c.merged(r.layer), c.merged(r.other), r.value)


def size(r: Rule, c: CellLayers) -> list[Finding]:
    return check_size(c.merged(r.layer), r.value, r.tolerance or 0.0)


def pitch(r: Rule, c: CellLayers) -> list[Finding]:
    return check_pitch(c.merged(r.layer), r.value)


def edge_distance(r: Rule, c: CellLayers) -> list[Finding]:
    return check_edge_distance(c.merged(r.layer), c.merged(r.other), r.value)


def grid(r: Rule, c: CellLayers) -> list[Finding]:
    return [f for n in r.layers for f in check_grid(c.raw(n), r.value, c.flat.dbu_um)]


def angle(r: Rule, c: CellLayers) -> list[Finding]:
    return [f for n in r.layers for f in check_angle(c.merged(n), r.value, r.tolerance_um or 0.0)]


def density(r: Rule, c: CellLayers) -> list[Finding]:
    return check_density(c.merged(r.layer), c.clusters(r.window), r.window, r.step, r.min, r.max)


def wafer_findings(rule: Rule, cl: CellLayers) -> list[Finding]:
    """PLATE.NET / PLATE.ISO style rules: the wafer package's plating or isolation check on the
    hierarchy; nothing on a layout without a WAFER outline."""
    from ..wafer.checks import isolation_findings, plating_findings

    if not cl.has_wafer():
        return []
    run = plating_findings if rule.check == "plating" else isolation_findings
    try:
        found = run(cl.wafer_geometry, cl.pdk, cl.top)
    except (shapely.errors.GEOSException, shapely.errors.ShapelyError) as e:
        # The wafer checks read the WAFER outline, ring and bus as a wafer: a file whose WAFER
        # shapes are no wafer outline (degenerate, self-touching) cannot be checked.
        raise DrcError(f"rule {rule.name}: cell {cl.top!r} draws on the WAFER layer something the {rule.check} "
                       f"check cannot read as a wafer outline ({e})") from None
    return [Finding(f.message, f.region, f.edges) for f in found]


def connectivity(rule: Rule, cl: CellLayers) -> list[Finding]:
    """Opens or shorts of the nets from their labels; the wafer checks on the hierarchy."""
    if runs_per_top(rule):
        return wafer_findings(rule, cl)
    stack = cl.pdk.connectivity
    if "terminals" not in cl.derived:          # once per cell for its opens and shorts
        labels = {n: cl.labels(n) for n in stack.label_layers}
        if not any(len(t) for t, _ in labels.values()):
            cl.derived["terminals"] = None
        else:
            joins = [j for t, _, _ in cl.texts("TEXT") if (j := joined_nets(t)) is not None] if "TEXT" in cl.pdk.layers else []
            cl.derived["terminals"] = join_nets(place_terminals(cl.pieces, labels), joins)
    terms = cl.derived["terminals"]
    if terms is None:
        return []
    if rule.check == "opens":
        return find_opens(cl.pieces, terms, stack.required_label_layers)
    if rule.check == "shorts":
        return find_shorts(cl.pieces, terms)
    raise DrcError(f"rule {rule.name}: connectivity check {rule.check!r} is not implemented yet")

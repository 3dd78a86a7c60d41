"""Every rule kind, declared once: the fields a rule of it needs, how the DRC scopes it, its check.

The PDK loader (`layoutgen.pdk`) validates a deck's rules against these entries, the DRC engine
(`layoutgen.drc.engine`) runs each rule through its kind's check, the hierarchical checker
(`layoutgen.drc.hier`) takes its kind sets from the scopes here, and the rule kinds section of
`layoutgen.drc`'s documentation is generated from the `doc` lines. Adding a kind is one entry
here plus its check: a function `(rule, cell) -> list[Finding]` (cell: a
`layoutgen.drc.cell.CellLayers`; Finding: below, what every check returns) named
'module:function' and imported when first used.

A process family whose process needs a check the core kinds cannot express (a stencil's area
ratio, a groove over a pad row) declares its kinds here too, with `family` set; its PDK's deck
uses them like any other. This module imports nothing of layoutgen: anything may read it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Callable, Literal, NamedTuple

if TYPE_CHECKING:
    import shapely

class Finding(NamedTuple):
    """One place a check failed: a region (polygon, µm) and/or edges (x0, y0, x1, y1 µm), and what was measured."""

    message: str
    region: shapely.Geometry | None = None
    edges: tuple[tuple[float, float, float, float], ...] | None = None


# Where the hierarchical DRC runs a rule of the kind (layoutgen/drc/hier):
#   local   across placements; a finding depends on the shapes within the rule's distance
#   whole   across placements; it measures whole merged shapes
#   polygon per drawn polygon, never across shapes: per placed cell and on the top's own shapes
#   flat    needs the whole picture: on a wafer per placed cell and on the top's own shapes,
#           on any other layout on the flattened top
Scope = Literal["local", "whole", "polygon", "flat"]
# How far apart (µm) shapes of two sources can be and still change a finding (`reach`), and how
# far from such a change findings can move (`spread`): the rule's value, its edge tolerance
# plus a grid step (angle), or a grid step (the shapes only interact where they touch).
Distance = Literal["value", "tolerance", "grid"]


@dataclass(frozen=True)
class RuleKind:
    """A rule kind: the rule fields it needs, its DRC scope and distances, 'module:function' of its check, one line of meaning."""

    needs: tuple[str, ...]
    check: str
    scope: Scope
    doc: str
    reach: Distance = "grid"
    spread: Distance = "grid"
    family: str | None = None
    # checks (a rule's `check` field) of this kind that run once per top cell on the hierarchy
    # as read, never flattened nor per placed cell (the wafer's plating and isolation)
    per_top: tuple[str, ...] = ()
    # which layer must be drawn for a rule of this kind to apply: its `layer`, or its `other`
    # (a rule that asks every pad to be cut applies to a layout with pads and no cut at all)
    applies_with: Literal["layer", "other"] = "layer"

    @property
    def across_placements(self) -> bool:
        """Whether the hierarchical DRC checks the kind where shapes of different placements meet."""
        return self.scope in ("local", "whole")


_CORE = "layoutgen.drc.checks"
_RELIEF = "layoutgen.families.relief_csp.rules"
_BACKSIDE = "layoutgen.families.backside_wlcsp.rules"
_SHEET = "layoutgen.families.sheet_terminals.rules"

RULE_KINDS: dict[str, RuleKind] = {
    "width": RuleKind(
        ("layer", "value"), f"{_CORE}:width", "local", spread="value",
        doc="parts of a merged shape a square of side `value` cannot sweep (opening)."),
    "space": RuleKind(
        ("layer", "value"), f"{_CORE}:space", "local", reach="value", spread="value",
        doc="shapes closer than `value` (one per pair), and gaps inside one shape (notches, holes) "
            "narrower than `value` between walls facing each other (closing)."),
    "area": RuleKind(
        ("layer", "value"), f"{_CORE}:area", "whole",
        doc="merged shapes smaller than `value` µm²."),
    "hole_area": RuleKind(
        ("layer", "value"), f"{_CORE}:hole_area", "whole",
        doc="holes inside merged shapes smaller than `value` µm²."),
    "enclosure": RuleKind(
        ("layer", "other", "value"), f"{_CORE}:enclosure", "whole", spread="value",
        doc="each `other` shape inside a `layer` shape, edges at least `value` apart."),
    "separation": RuleKind(
        ("layer", "other", "value"), f"{_CORE}:separation", "local", reach="value", spread="value",
        doc="`layer` and `other` shapes at least `value` apart (overlap violates)."),
    "overlap": RuleKind(
        ("layer", "other", "value"), f"{_CORE}:overlap", "local", spread="value",
        doc="each piece of `layer` ∩ `other` at least `value` wide (a disc of that diameter fits); "
            "touching without overlapping violates; shapes that do not meet are not checked."),
    "size": RuleKind(
        ("layer", "value"), f"{_CORE}:size", "whole",
        doc="diameter of each shape's smallest enclosing circle within `value` ± `tolerance`."),
    "pitch": RuleKind(
        ("layer", "value"), f"{_CORE}:pitch", "whole", reach="value", spread="value",
        doc="shape centres at least `value` apart."),
    "edge_distance": RuleKind(
        ("layer", "other", "value"), f"{_CORE}:edge_distance", "whole", spread="value",
        doc="each `layer` shape's centre at least `value` inside the outer edge of the `other` shape around it."),
    "grid": RuleKind(
        ("layers", "value"), f"{_CORE}:grid", "polygon",
        doc="every drawn vertex of the `layers` on the `value` grid."),
    "angle": RuleKind(
        ("layers", "value"), f"{_CORE}:angle", "local", spread="tolerance",
        doc="edges of the `layers` at multiples of `value` degrees; edges shorter than `tolerance_um` "
            "are ignored (drc/angle.py)."),
    "density": RuleKind(
        ("layer", "window", "step"), f"{_CORE}:density", "flat",
        doc="`layer` fraction of each `window` (moved by `step`, over each cluster of shapes) "
            "within [min, max]; not checked when the layer is empty."),
    "connectivity": RuleKind(
        ("check",), f"{_CORE}:connectivity", "flat", per_top=("plating", "isolation"),
        doc="`check` = opens (each piece of a net joins a pad and a ball) or shorts, from the net "
            "labels through the PDK's via stack (drc/connectivity.py); plating / isolation: the "
            "wafer's plating network reaches every die / is cut off by dicing (wafer/checks.py)."),
    # family 2, relief CSP: print stencils (IPC-7525)
    "area_ratio": RuleKind(
        ("layer", "value"), f"{_RELIEF}:drc_area_ratio", "flat", family="relief_csp",
        doc="stencil aperture area / wall area (perimeter × foil thickness) at least `value`."),
    "aspect_ratio": RuleKind(
        ("layer", "value"), f"{_RELIEF}:drc_aspect_ratio", "flat", family="relief_csp",
        doc="narrowest stencil aperture width / foil thickness at least `value`."),
    "island": RuleKind(
        ("layer",), f"{_RELIEF}:drc_island", "flat", family="relief_csp",
        doc="no piece of stencil foil left without a bridge to the rest."),
    # family 3: sheet terminals
    "spot_spacing": RuleKind(
        ("layer", "value"), f"{_SHEET}:drc_spot_spacing", "flat", family="sheet_terminals",
        doc="spots on the `layer`, taken one by one (unmerged), at least `value` apart, so spots the etch bias merges are caught."),
    "ring_isolation": RuleKind(
        ("layer", "other"), f"{_SHEET}:drc_ring_isolation", "flat", family="sheet_terminals",
        doc="every `layer` ring closed around exactly one `other` shape, cutting none (an isolation ring frees one terminal)."),
    "plane_pieces": RuleKind(
        ("layer",), f"{_SHEET}:drc_plane_pieces", "flat", family="sheet_terminals",
        doc="the potential plane left between the `layer` openings (inside DIE) is one piece."),
    # family 4: backside WLCSP grooves
    "groove_over_row": RuleKind(
        ("layer", "other"), f"{_BACKSIDE}:drc_groove_over_row", "flat", family="backside_wlcsp",
        doc="every `layer` groove lies over one row of `other` pads, its bottom (the opening less the wall's run) "
            "exposing each pad.", applies_with="other"),
    "cut_through_pads": RuleKind(
        ("layer", "other", "value"), f"{_BACKSIDE}:drc_cut_through_pads", "flat", family="backside_wlcsp",
        doc="every `layer` cut runs along one row of `other` pads on its groove's bottom, through every pad and "
            "`value` past the end pads; every pad in a groove is cut.", applies_with="other"),
    "cut_contact": RuleKind(
        ("layer", "other", "value"), f"{_BACKSIDE}:drc_cut_contact", "flat", family="backside_wlcsp",
        doc="each pad's stretch of an `other` cut is lined by one piece of `layer` metal (`layers` if given), "
            "`value` past the cut's sides; no piece lines two pads' stretches unless they are one net (labels on PAD, "
            "else on the piece: a daisy chain's link)."),
    "wall_angle": RuleKind(
        ("layer", "other", "value"), f"{_BACKSIDE}:drc_wall_angle", "flat", family="backside_wlcsp",
        doc="the PDK's process wall angle of the `layer` groove at most `value` degrees wherever `other` metal climbs it."),
    "wall_crossing": RuleKind(
        ("layer", "other", "value"), f"{_BACKSIDE}:drc_wall_crossing", "flat", family="backside_wlcsp",
        doc="near an `other` groove edge, metal only crosses it, at right angles and at least `value` wide."),
}


def kinds_of(scope: Scope) -> frozenset[str]:
    """The kinds of one DRC scope."""
    return frozenset(k for k, v in RULE_KINDS.items() if v.scope == scope)


def kinds_with(attr: str, value: str) -> frozenset[str]:
    """The kinds whose `attr` (reach, spread) is `value`."""
    return frozenset(k for k, v in RULE_KINDS.items() if getattr(v, attr) == value)


def runs_per_top(rule) -> bool:
    """Whether a rule (a `layoutgen.pdk.Rule`) runs once per top cell on the hierarchy as read."""
    kind = RULE_KINDS.get(rule.kind)
    return kind is not None and rule.check is not None and rule.check in kind.per_top


@cache
def check_function(kind: str) -> Callable:
    """The DRC check function of a rule kind (its module imported on first use)."""
    module, _, func = RULE_KINDS[kind].check.partition(":")
    return getattr(importlib.import_module(module), func)


def describe() -> str:
    """The rule kinds as a bullet list, one line of meaning each (for the DRC's documentation)."""
    import textwrap

    return "\n".join(textwrap.fill(f"- {name}{f' ({k.family})' if k.family else ''}: {k.doc}", width=96,
                                   subsequent_indent="  ") for name, k in RULE_KINDS.items())

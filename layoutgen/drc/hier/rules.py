"""How far each rule of the deck looks across placements: the registry's kind sets, a rule's layers, reach and spread."""

from __future__ import annotations

from ...pdk import Rule
from ...rulekinds import kinds_of, kinds_with


# Rule kinds checked across placements (`layoutgen.rulekinds` scopes): local ones (a finding depends
# on the shapes within the rule's distance) and those that measure whole merged shapes.
CONTEXT_LOCAL = kinds_of("local")
CONTEXT_WHOLE = kinds_of("whole")
POLYGON_KINDS = kinds_of("polygon")   # per drawn polygon: per placed cell and on the top's own shapes (grid)
_SPACING = kinds_with("reach", "value")        # look across a gap between shapes
_DISTANCE = kinds_with("spread", "value")       # findings move as far as the rule's value
_TOLERANCE = kinds_with("spread", "tolerance")  # findings move as far as the edge tolerance (angle)


def rule_layers(rule: Rule) -> list[str]:
    """The layers a rule reads."""
    if rule.layers:
        return list(rule.layers)
    return [n for n in (rule.layer, rule.other) if n]


def is_context_rule(rule: Rule) -> bool:
    """Whether a rule can see shapes of different placements (or of the top) together."""
    return rule.kind in CONTEXT_LOCAL or rule.kind in CONTEXT_WHOLE


def rule_reach(rule: Rule, grid: float) -> float:
    """How far apart (µm) shapes of two sources can be and still change this rule's result:
    the rule's value for spacing rules (space, separation, pitch); a grid step for the others,
    which see another source's shape only where it touches (merges with, overlaps, encloses) theirs."""
    if rule.kind in _SPACING and rule.value is not None:
        return max(float(rule.value), grid)
    return grid


def rule_local(rule: Rule, grid: float) -> float:
    """How far (µm) from a change a rule's findings can change: its value for the rules that
    measure a distance, the edge tolerance for angle, a grid step for the others."""
    if rule.kind in _DISTANCE and rule.value is not None:
        return max(float(rule.value), grid)
    if rule.kind in _TOLERANCE:
        return (rule.tolerance_um or 0.0) + grid
    return grid

"""Checks a PDK whole when it is loaded: every error names the PDK file, the field, the value and why.

Two stages, both called by the loader (`layoutgen.pdk`): `check_file` looks at the shape of
each TOML file as read (tables where tables belong, a non-empty mask list), and `check_pdk`
at the validated PDK (finite positive numbers, unique names and GDS numbers, every layer a
rule, mask or the connectivity stack names exists, density steps that advance). A value the
DRC cannot compare against (nan, inf) would switch a check off silently: it is an error here.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PdkError
from .rulekinds import RULE_KINDS

# `aligns_to` of a first mask: the keys the incoming wafer has (or, with none, its own zero-layer marks).
KEYS = "KEYS"

if TYPE_CHECKING:
    from .pdk import Pdk

GDS_MAX = 65535          # GDSII layer and datatype numbers are 16-bit
# Rule fields that are lengths, areas or fractions: finite, and > 0 unless listed in _MAY_BE_ZERO.
_NUMBERS = ("value", "tolerance", "tolerance_um", "window", "step", "min", "max")
_MAY_BE_ZERO = {"tolerance", "tolerance_um", "min", "max"}
# Kinds whose value may be 0 (an enclosure or separation of 0 µm is a real rule: "touching is enough").
_VALUE_MAY_BE_ZERO = {"enclosure", "separation", "overlap", "edge_distance"}


def _fail(path: Path, field: str, value: object, reason: str) -> PdkError:
    return PdkError(f"{path}: {field} = {value!r}: {reason}")


def check_file(path: Path, data: dict) -> None:
    """The shape of one PDK file as read: what the loader indexes must be tables and lists."""
    name = path.name
    if name == "layers.toml":
        layers = data.get("layers", {})
        if not isinstance(layers, dict):
            raise _fail(path, "layers", layers, "must be a table of [layers.NAME] tables")
        for lname, v in layers.items():
            if not isinstance(v, dict):
                raise _fail(path, f"layers.{lname}", v, "must be a table (gds = [layer, datatype], ...)")
    elif name == "masks.toml":
        masks = data.get("mask")
        if not isinstance(masks, list) or not masks:
            raise _fail(path, "mask", masks, "needs at least one [[mask]] table (a PDK without masks makes no mask set)")
        for i, m in enumerate(masks):
            if not isinstance(m, dict):
                raise _fail(path, f"mask[{i}]", m, "must be a [[mask]] table")
    elif name == "rules.toml":
        rules = data.get("rule", [])
        if not isinstance(rules, list):
            raise _fail(path, "rule", type(rules).__name__, "must be an array of [[rule]] tables (write [[rule]], not [rule])")
        for i, r in enumerate(rules):
            if not isinstance(r, dict):
                raise _fail(path, f"rule[{i}]", r, "must be a [[rule]] table")
            if not isinstance(r.get("name"), str) or not r["name"]:
                raise _fail(path, f"rule[{i}].name", r.get("name"), "every rule needs a name")
        drop = data.get("drop", [])
        if not isinstance(drop, list) or not all(isinstance(d, str) for d in drop):
            raise _fail(path, "drop", drop, "must be a list of rule names")


def _finite(path: Path, field: str, value: float, positive: bool) -> None:
    if not math.isfinite(value):
        raise _fail(path, field, value, "not a finite number (nan or inf would switch the check off)")
    if positive and value <= 0:
        raise _fail(path, field, value, "must be greater than 0")
    if value < 0:
        raise _fail(path, field, value, "must not be negative")


def check_pdk(pdk: "Pdk") -> None:
    """Everything a generator or the DRC relies on, checked once at load; a PdkError names file and field."""
    root = Path(pdk.path)
    top, layers_f, masks_f, rules_f = (root / f for f in ("pdk.toml", "layers.toml", "masks.toml", "rules.toml"))
    _finite(top, "dbu_um", pdk.dbu_um, True)
    _finite(top, "grid_um", pdk.grid_um, True)
    steps = pdk.grid_um / pdk.dbu_um
    if abs(steps - round(steps)) > 1e-6:
        raise _fail(top, "grid_um", pdk.grid_um, f"must be a whole number of database units ({pdk.dbu_um:g} µm)")
    if pdk.circle_vertices < 8:
        raise _fail(top, "circle_vertices", pdk.circle_vertices, "must be at least 8 (and a multiple of 8)")
    for field, value in pdk.die.model_dump().items():
        _finite(top, f"die.{field}", value, field != "seal_width_um")   # a process may have no seal band
    if pdk.die.min_width_um > pdk.die.max_width_um or pdk.die.min_height_um > pdk.die.max_height_um:
        raise _fail(top, "die", pdk.die.model_dump(), "a minimum die size is larger than the maximum")
    _finite(top, "rdl.teardrop_max_fraction", pdk.rdl.teardrop_max_fraction, False)   # 0: no teardrops

    where_gds: dict[tuple[int, int], str] = {}
    for layer in pdk.layers.values():
        for part, n in zip(("layer", "datatype"), layer.gds):
            if not 0 <= n <= GDS_MAX:
                raise _fail(layers_f, f"layers.{layer.name}.gds", list(layer.gds), f"{part} must be 0 to {GDS_MAX}")
        if layer.gds in where_gds:
            raise _fail(layers_f, f"layers.{layer.name}.gds", list(layer.gds),
                        f"the same GDS number as layer {where_gds[layer.gds]} (the DRC could not tell them apart)")
        where_gds[layer.gds] = layer.name
    markers = [n for n, layer in pdk.layers.items() if layer.purpose == "marker"]
    if len(markers) > 1:   # the DRC exempts one layer's areas: refused here, not first when a DRC runs
        raise _fail(layers_f, f"layers.{markers[1]}.purpose", "marker",
                    f"layer {markers[0]} already has it: the mark areas the DRC exempts are one layer's")
    if not 0 <= pdk.labels.text_datatype <= GDS_MAX:
        raise _fail(top, "labels.text_datatype", pdk.labels.text_datatype, f"must be 0 to {GDS_MAX}")

    if not pdk.masks:
        raise _fail(masks_f, "mask", [], "needs at least one [[mask]] table")
    dup = [n for n, c in Counter(m.name for m in pdk.masks).items() if c > 1]
    if dup:
        raise _fail(masks_f, "mask.name", dup[0], "two masks have this name")
    names = {m.name for m in pdk.masks}
    for m in pdk.masks:
        if m.aligns_to is not None and m.aligns_to not in names | set(pdk.layers) | {KEYS}:
            raise _fail(masks_f, f"mask {m.name}.aligns_to", m.aligns_to, "names no mask or layer of this PDK")
    routes = sorted({m.route for m in pdk.masks if m.route} | {r for m in pdk.masks for r in m.aligns_to_route})
    for route in routes:   # on each route every mask registers to a mask that route exposes
        exposed = {m.name for m in pdk.for_route(route).masks}
        for m in pdk.for_route(route).masks:
            if m.aligns_to not in exposed | (set(pdk.layers) - names) | {KEYS, None}:
                field = f"mask {m.name}.aligns_to" + (f"_route.{route}" if route in m.aligns_to_route else "")
                raise _fail(masks_f, field, m.aligns_to, f"is no mask of route {route!r} (its masks: {', '.join(sorted(exposed))}): "
                                                         f"give aligns_to_route.{route} the mask it follows there")

    dup = [n for n, c in Counter(r.name for r in pdk.rules).items() if c > 1]
    if dup:
        raise _fail(rules_f, "rule.name", dup[0], "two rules have this name (reports and waivers go by name)")
    for r in pdk.rules:
        for field in _NUMBERS:
            v = getattr(r, field)
            if v is None:
                continue
            positive = field not in _MAY_BE_ZERO and not (field == "value" and r.kind in _VALUE_MAY_BE_ZERO)
            _finite(rules_f, f"rule {r.name}.{field}", v, positive)
        if r.kind == "density":
            lo, hi = r.min if r.min is not None else 0.0, r.max if r.max is not None else 1.0
            if not 0 <= lo <= hi <= 1:
                raise _fail(rules_f, f"rule {r.name}.min/max", [r.min, r.max], "must be fractions with 0 ≤ min ≤ max ≤ 1")
            if r.step > r.window:
                raise _fail(rules_f, f"rule {r.name}.step", r.step, f"larger than the window {r.window:g} µm leaves gaps unchecked")

    # A rule whose value is a distance (its kind's reach or spread) must be a whole number of grid
    # steps: on a coarser grid a shape drawn to the rule snaps off it, and the error would blame the
    # design value that was snapped (a pad "too small" that is not).
    for r in pdk.rules:
        kind = RULE_KINDS.get(r.kind)
        if r.value is None or kind is None or "value" not in (kind.reach, kind.spread):
            continue
        steps = r.value / pdk.grid_um
        if abs(steps - round(steps)) > 1e-6:
            raise _fail(top, "grid_um", pdk.grid_um, f"rule {r.name} ({r.value:g} µm, {rules_f.name}) is not a whole "
                                                     f"number of grid steps: shapes drawn to it would snap off it")

    stack = pdk.connectivity
    named = [("conductors", n) for n in stack.conductors] + [("label_layers", n) for n in stack.label_layers]
    named += [("required_label_layers", n) for n in stack.required_label_layers or []]
    named += [(f"vias.{part}", getattr(v, part)) for v in stack.vias for part in ("via", "lower", "upper")]
    named += [("touching", n) for pair in stack.touching for n in pair]
    for field, n in named:
        if n not in pdk.layers:
            raise _fail(top, f"connectivity.{field}", n, "names no layer of this PDK")

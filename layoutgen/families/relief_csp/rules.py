"""Stencil rules the generic deck has no kind for yet: IPC-7525 area and aspect ratio, foil islands.

- area_ratio: aperture area / aperture wall area (perimeter × foil thickness) ≥ value, for
  every aperture (a round one: D / 4t). Paste releases from the walls below about 0.66.
- aspect_ratio: smallest aperture width / foil thickness ≥ value: no part of an aperture is
  narrower than value × thickness (measured by an opening, so a C-shaped rim piece or a
  sliver left beside a bridge counts, not only the aperture's overall size); widths within
  the rule's `tolerance` (default 10 nm) of the limit pass.
- island: no piece of foil without a connection to the rest: an aperture (or several
  touching ones) that encloses foil leaves it hanging. `value` is how many bridges the
  generator puts on each island it has to hold; the check finds any island left.

The kinds are declared in `layoutgen.rulekinds` (the `drc_*` functions at the end are their
DRC checks); the rules are `[[rule]]` tables of the PDK's rules.toml and `family_rules` finds
them in the deck. Stencil thicknesses come from the config; the GDS
carries them as TEXT labels ("PASTE THICKNESS 100 UM") so a check of the written file needs
nothing else. Checks take shapely geometries and a Rule and return (message, geometry)
pairs, one per violation. All lengths in µm.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from layoutgen.errors import PdkError
from layoutgen.pdk import Pdk, Rule
from layoutgen.rulekinds import RULE_KINDS
from layoutgen.units import LENGTH_EPS_UM

FAMILY_KINDS = tuple(k for k, v in RULE_KINDS.items() if v.family == "relief_csp")   # declared in layoutgen.rulekinds
STENCIL_LAYERS = ("STENCIL", "STENCIL2", "STENCIL3", "PASTE")
SLIVER_UM2 = 1e-3       # opening residue below this is arithmetic noise
WIDTH_TOLERANCE_UM = 0.01  # aspect_ratio without a tolerance: widths this close to the limit pass
_THICKNESS = re.compile(r"^\s*([A-Z0-9_]+)\s+THICKNESS\s+([0-9.eE+-]+)\s*UM\s*$")

Violation = tuple[str, BaseGeometry]


def family_rules(pdk: Pdk) -> list[Rule]:
    """The PDK's stencil rules (area ratio, aspect ratio, island)."""
    return [r for r in pdk.rules if r.kind in FAMILY_KINDS]


def family_rule(pdk: Pdk, kind: str, layer: str) -> Rule:
    """The stencil rule of `kind` on `layer`; a PdkError naming the PDK if it has none."""
    for r in family_rules(pdk):
        if r.kind == kind and r.layer == layer:
            return r
    raise PdkError(f"PDK {pdk.name!r} ({pdk.path}) has no {kind} rule on {layer}, which the relief CSP needs")


# --- thickness labels ------------------------------------------------------------------------

def thickness_label(layer: str, thickness_um: float) -> str:
    """The TEXT label that carries a stencil's foil thickness in the GDS."""
    return f"{layer} THICKNESS {thickness_um:g} UM"


def thicknesses_from_labels(texts: Iterable[str]) -> dict[str, float]:
    """Stencil layer -> foil thickness (µm) from the TEXT labels of a layout."""
    out: dict[str, float] = {}
    for t in texts:
        m = _THICKNESS.match(t)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


# --- measuring apertures ---------------------------------------------------------------------

def apertures(shapes: Iterable[BaseGeometry]) -> list[Polygon]:
    """The apertures of a stencil layer: its shapes merged, one polygon per connected piece."""
    geoms = [g for g in shapes if g is not None and not g.is_empty]
    if not geoms:
        return []
    merged = shapely.union_all(shapely.make_valid(np.array(geoms, dtype=object)))
    return [p for p in shapely.get_parts(merged).tolist() if isinstance(p, Polygon) and p.area > SLIVER_UM2]


def area_ratio(aperture: Polygon, thickness_um: float) -> float:
    """IPC-7525 area ratio: aperture area / (perimeter × foil thickness); holes' walls count."""
    return aperture.area / (aperture.length * thickness_um)


def _is_convex(aperture: Polygon) -> bool:
    """True for an aperture without holes that fills its convex hull."""
    return not aperture.interiors and aperture.convex_hull.area - aperture.area <= SLIVER_UM2


def caliper_width(aperture: Polygon) -> float:
    """The smallest width of a convex outline: least distance between two parallel lines holding it."""
    xy = shapely.get_coordinates(aperture.convex_hull)[:-1]
    d = np.roll(xy, -1, axis=0) - xy
    normal = np.c_[-d[:, 1], d[:, 0]] / np.hypot(d[:, 0], d[:, 1])[:, None]
    # Row i: distance of every hull vertex from the line through edge i.
    dist = np.abs(np.einsum("ijk,ik->ij", xy[None, :, :] - xy[:, None, :], normal))
    return float(dist.max(axis=1).min())


def _narrow_parts(aperture: Polygon, width: float, tol: float = WIDTH_TOLERANCE_UM) -> list[Polygon]:
    """The parts of `aperture` narrower than `width` less `tol` (left by an opening with a mitred square)."""
    if _is_convex(aperture):
        return [aperture] if caliper_width(aperture) < width - tol else []
    r = width / 2 - tol
    if r <= 0:
        return []
    core = aperture.buffer(-r, join_style="mitre", mitre_limit=10.0)
    if core.is_empty:
        return [aperture]
    residue = aperture.difference(core.buffer(r, join_style="mitre", mitre_limit=10.0))
    return [p for p in shapely.get_parts(residue).tolist() if isinstance(p, Polygon) and p.area > SLIVER_UM2]


def narrowest_width(aperture: Polygon, tol_um: float = 0.01) -> float:
    """The smallest width of `aperture` (µm): caliper width if convex, else the widest opening that keeps
    all of it (to about 0.01 µm, never above the true width)."""
    if _is_convex(aperture):
        return caliper_width(aperture)
    radius = shapely.maximum_inscribed_circle(aperture, tol_um / 4).length
    lo, hi = 0.0, 2 * radius + 2 * WIDTH_TOLERANCE_UM
    if not _narrow_parts(aperture, hi, 0.0):
        return hi
    while hi - lo > tol_um:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if _narrow_parts(aperture, mid, 0.0) else (mid, hi)
    return lo


# --- the checks ------------------------------------------------------------------------------

def check_area_ratio(shapes: Sequence[BaseGeometry], rule: Rule, thickness_um: float) -> list[Violation]:
    """One violation per aperture whose area ratio at `thickness_um` is below the rule."""
    assert rule.value is not None
    out: list[Violation] = []
    for ap in apertures(shapes):
        ar = area_ratio(ap, thickness_um)
        if ar < rule.value - LENGTH_EPS_UM:
            out.append((f"{rule.name}: area ratio {ar:.3f} < {rule.value:g} ({ap.area:.0f} µm² aperture, "
                        f"{ap.length:.1f} µm perimeter, {thickness_um:g} µm foil)", ap))
    return out


def check_aspect_ratio(shapes: Sequence[BaseGeometry], rule: Rule, thickness_um: float) -> list[Violation]:
    """One violation per aperture with a part narrower than value × `thickness_um` (the narrow part marked)."""
    assert rule.value is not None
    limit = rule.value * thickness_um
    tol = rule.tolerance if rule.tolerance is not None else WIDTH_TOLERANCE_UM
    out: list[Violation] = []
    for ap in apertures(shapes):
        narrow = _narrow_parts(ap, limit, tol)
        if narrow:
            w = narrowest_width(ap)
            out.append((f"{rule.name}: aperture {w:.2f} µm wide, aspect ratio {w / thickness_um:.3f} < "
                        f"{rule.value:g} ({thickness_um:g} µm foil needs ≥ {limit:g} µm)",
                        shapely.union_all(narrow)))
    return out


def check_islands(shapes: Sequence[BaseGeometry], rule: Rule) -> list[Violation]:
    """One violation per foil island: foil enclosed by apertures, with no bridge to the rest."""
    need = int(rule.value) if rule.value else 1
    out: list[Violation] = []
    for ap in apertures(shapes):
        for ring in ap.interiors:
            island = Polygon(ring)
            out.append((f"{rule.name}: foil island of {island.area:.0f} µm² is not held "
                        f"(bridge it to the foil with ≥ {need} bridge{'s' if need > 1 else ''})", island))
    return out


CHECKS = {"area_ratio": check_area_ratio, "aspect_ratio": check_aspect_ratio, "island": check_islands}


def check_stencils(shapes: dict[str, Sequence[BaseGeometry]], thicknesses: dict[str, float],
                   rules: Sequence[Rule]) -> dict[str, list[Violation]]:
    """Every stencil rule on its layer's shapes: rule name -> violations (zero-length lists included).

    A layer with apertures but no known thickness is a violation of its area and aspect
    ratio rules (the check cannot be made), never silently passed.
    """
    out: dict[str, list[Violation]] = {}
    for rule in rules:
        geoms = shapes.get(rule.layer or "", [])
        if rule.kind == "island":
            out[rule.name] = check_islands(geoms, rule)
            continue
        t = thicknesses.get(rule.layer or "")
        if t is None or t <= 0:
            aps = apertures(geoms)
            out[rule.name] = [(f"{rule.name}: no foil thickness for {rule.layer} (a TEXT label "
                               f"'{thickness_label(rule.layer or '', 100)}' gives it)", shapely.union_all(aps))] if aps else []
            continue
        out[rule.name] = CHECKS[rule.kind](geoms, rule, t)
    return out


def stencil_figures(shapes: Sequence[BaseGeometry], thickness_um: float) -> dict:
    """Count, smallest area ratio and smallest aspect ratio of a stencil's apertures (for the summary)."""
    aps = apertures(shapes)
    if not aps:
        return {"apertures": 0}
    # Apertures of one cell repeat: measure each distinct outline once.
    seen: dict[tuple, tuple[float, float]] = {}
    for ap in aps:
        x0, y0 = ap.bounds[:2]
        key = tuple(np.round(shapely.get_coordinates(ap) - [x0, y0], 4).ravel().tolist())
        if key not in seen:
            seen[key] = (area_ratio(ap, thickness_um), narrowest_width(ap) / thickness_um)
    ars, asps = zip(*seen.values())
    return {"apertures": len(aps), "thickness_um": thickness_um,
            "min_area_ratio": round(min(ars), 3), "min_aspect_ratio": round(min(asps), 3),
            "open_area_um2": round(float(sum(a.area for a in aps)), 1)}


# --- the DRC's view of these rules (kinds registered in layoutgen/rulekinds.py) --------------

def _stencil_findings(rule: Rule, cell, check) -> list:
    """Run a thickness-dependent stencil check on the merged apertures of the rule's layer."""
    from layoutgen.rulekinds import Finding

    shapes = list(cell.merged(rule.layer).geoms)
    if not shapes:
        return []
    thickness = thicknesses_from_labels(t for t, _, _ in cell.texts("TEXT")).get(rule.layer)
    if thickness is None:
        return [Finding(f"{rule.name}: no '{rule.layer} THICKNESS <t> UM' label on TEXT: the foil thickness "
                        f"of the {rule.layer} stencil is unknown, so {rule.kind} cannot be checked")]
    return [Finding(msg, geom) for msg, geom in check(shapes, rule, thickness)]


def drc_area_ratio(rule: Rule, cell) -> list:
    """DRC: IPC-7525 area ratio of every aperture on the rule's layer."""
    return _stencil_findings(rule, cell, check_area_ratio)


def drc_aspect_ratio(rule: Rule, cell) -> list:
    """DRC: IPC-7525 aspect ratio of every aperture on the rule's layer."""
    return _stencil_findings(rule, cell, check_aspect_ratio)


def drc_island(rule: Rule, cell) -> list:
    """DRC: foil islands left by the apertures of the rule's layer."""
    from layoutgen.rulekinds import Finding

    return [Finding(msg, geom) for msg, geom in check_islands(list(cell.merged(rule.layer).geoms), rule)]

"""Fan-out checks the generic rule kinds cannot express, and the fan-out process data the passives use.

Each check takes shapely geometries (µm) and the PDK rule (or value) it enforces and returns a
list of (message, geometry) violations, empty when clean, so the DRC engine can wrap them:

- `cavity_clearance`: every die sits in a carrier cavity that encloses it by the clearance.
- `via_enclosure`: every via lies inside the metal of both levels it joins, by each enclosure.
- `net_connectivity`: every net is one piece from its die pads through its vias to its balls
  (or its other die's pads), and touches no other net, followed level by level.
- `spiral_inductance`, `mim_capacitance`, `meander_resistance`: a passive's value measured
  from the drawn polygons, to compare with the value the generator reports.

`process_data(pdk)` reads `fanout.toml` of a fan-out PDK (or of the PDK it extends).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np
import shapely
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.strtree import STRtree

from .cells.capacitor import plate_capacitance_pf
from .cells.inductor import wheeler_inductance_nh
from .cells.resistor import CORNER_SQUARES
from layoutgen.errors import PdkError
from layoutgen.pdk import Pdk, Rule, find_pdk_dir

Violation = tuple[str, BaseGeometry]
AREA_EPS_UM2 = 1e-4     # slivers below this (boolean noise at shared edges) are not violations


# -- process data ----------------------------------------------------------------------------
class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WiringLevel(_Data):
    """A wiring level's metal: layer, thickness (µm), sheet resistance (Ω/□)."""

    layer: str
    thickness_um: float = Field(gt=0)
    sheet_resistance_ohm_sq: float = Field(gt=0)


class Dielectric(_Data):
    """A dielectric level: name, the via layer that opens it, the layers below and above, εr, thickness (µm)."""

    name: str
    via: str
    below: str
    above: str
    material: str = ""
    eps_r: float = Field(gt=0)
    thickness_um: float = Field(gt=0)


class CapacitorData(_Data):
    """MIM capacitor drawing data: the bottom plate's overhang beyond the top plate (µm)."""

    bottom_overhang_um: float = Field(ge=0)


class FanoutProcess(_Data):
    """Fan-out process data from `fanout.toml`: wiring levels, dielectrics, MIM data."""

    wiring: list[WiringLevel]
    dielectric: list[Dielectric]
    capacitor: CapacitorData
    source: str = ""

    def wire(self, layer: str) -> WiringLevel:
        """The wiring level drawn on `layer`; PdkError when fanout.toml lacks it."""
        for w in self.wiring:
            if w.layer == layer:
                return w
        raise PdkError(f"{self.source}: no [[wiring]] entry for {layer} (sheet resistance needed)")

    def between(self, below: str, above: str) -> Dielectric:
        """The dielectric between wiring layers `below` and `above`; PdkError when missing."""
        for d in self.dielectric:
            if d.below == below and d.above == above:
                return d
        raise PdkError(f"{self.source}: no [[dielectric]] between {below} and {above} (εr and thickness needed)")


@lru_cache(maxsize=16)
def _process_from(pdk_dir: str) -> FanoutProcess:
    d = Path(pdk_dir)
    for _ in range(9):
        f = d / "fanout.toml"
        if f.is_file():
            try:
                with f.open("rb") as fh:
                    raw = tomllib.load(fh)
                return FanoutProcess.model_validate({**raw, "source": str(f)})
            except tomllib.TOMLDecodeError as e:
                raise PdkError(f"{f}: not valid TOML: {e}") from None
            except ValidationError as e:
                err = e.errors()[0]
                raise PdkError(f"{f}: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}") from None
        with (d / "pdk.toml").open("rb") as fh:
            base = tomllib.load(fh).get("extends")
        if not base:
            break
        d = d.parent / base if (d.parent / base / "pdk.toml").is_file() else find_pdk_dir(base)
    raise PdkError(f"PDK at {pdk_dir} has no fanout.toml (fan-out wiring and dielectric data) in its extends chain")


def process_data(pdk: Pdk) -> FanoutProcess:
    """The fan-out process data of `pdk` (its fanout.toml, or its base's)."""
    return _process_from(pdk.path)


# -- geometric checks -----------------------------------------------------------------------
def enclosure_violations(inner: list[BaseGeometry], outer: list[BaseGeometry], value: float,
                         what: str) -> list[Violation]:
    """Every `inner` shape must lie inside the union of `outer` shrunk by `value` (mitred)."""
    if not inner:
        return []
    region = shapely.union_all(outer) if outer else Polygon()
    core = region.buffer(-value, join_style="mitre", mitre_limit=10.0) if not region.is_empty else region
    shapely.prepare(core)
    out = []
    for g in inner:
        bad = g.difference(core)
        if bad.area > AREA_EPS_UM2:
            c = g.centroid
            out.append((f"{what}: shape at ({c.x:.3f}, {c.y:.3f}) is not enclosed by {value:g} µm "
                        f"({bad.area:.4g} µm² outside)", bad))
    return out


def cavity_clearance(cavities: list[BaseGeometry], dies: list[BaseGeometry], rule: Rule) -> list[Violation]:
    """Every die outline lies in one cavity that encloses it by `rule.value` on every side."""
    assert rule.value is not None
    out = []
    tree = STRtree(cavities) if cavities else None
    for d in dies:
        hits = tree.query(d, predicate="intersects") if tree is not None else []
        if len(hits) != 1:
            out.append((f"{rule.name}: die at {d.centroid.coords[0]} overlaps {len(hits)} cavities (needs one)", d))
            continue
        cav = cavities[int(hits[0])]
        inner = cav.buffer(-rule.value, join_style="mitre", mitre_limit=10.0)
        bad = d.difference(inner)
        if bad.area > AREA_EPS_UM2:
            out.append((f"{rule.name}: {rule.description} — the die at {d.centroid.coords[0]} comes within "
                        f"{_min_clearance(cav, d):.3f} µm of its cavity wall", bad))
    return out


def _min_clearance(cav: BaseGeometry, die: BaseGeometry) -> float:
    return float(shapely.distance(cav.exterior, die)) if isinstance(cav, Polygon) else 0.0


def via_enclosure(vias: list[BaseGeometry], lower: list[BaseGeometry], upper: list[BaseGeometry],
                  lower_rule: Rule, upper_rule: Rule) -> list[Violation]:
    """Every via lies inside the lower and the upper level it joins, by each level's enclosure rule."""
    assert lower_rule.value is not None and upper_rule.value is not None
    return (enclosure_violations(vias, lower, lower_rule.value, f"{lower_rule.name} ({lower_rule.description})")
            + enclosure_violations(vias, upper, upper_rule.value, f"{upper_rule.name} ({upper_rule.description})"))


def net_connectivity(conductors: dict[str, list[BaseGeometry]], vias: list[tuple[str, str, str]],
                     via_shapes: dict[str, list[BaseGeometry]], labels: list[tuple[str, str, float, float]],
                     joined: list[set[str]] | None = None) -> tuple[list[Violation], dict[str, int]]:
    """Opens and shorts, followed level by level through the via stack.

    `conductors`: layer -> polygons; `vias`: (via layer, lower, upper) joining two conductors
    where a via shape overlaps both; `labels`: (layer, net, x, y) on conductor layers naming
    the net at a pad or ball; `joined`: groups of nets a device joins on purpose (a spiral or
    a meander is one piece of metal from one net to another). A violation for every net whose
    labels fall in more than one piece (open) and every piece holding labels of nets that are
    not one group (short); also returns the piece count per net.
    """
    group_of: dict[str, str] = {}
    for g in joined or []:
        key = "+".join(sorted(g))
        for n in g:
            group_of[n] = key
    pieces: list[BaseGeometry] = []
    start: dict[str, int] = {}
    trees: dict[str, STRtree] = {}
    for layer, geoms in conductors.items():
        merged = list(shapely.get_parts(shapely.union_all(geoms))) if geoms else []
        start[layer] = len(pieces)
        pieces.extend(merged)
        trees[layer] = STRtree(merged)
    n = len(pieces)
    rows, cols = [], []
    for via, lower, upper in vias:
        for v in via_shapes.get(via, []):
            ends = []
            for layer in (lower, upper):
                hit = [int(i) + start[layer] for i in trees[layer].query(v, predicate="intersects")
                       if pieces[int(i) + start[layer]].intersection(v).area > AREA_EPS_UM2]
                ends.append(hit)
            for a in ends[0]:
                for b in ends[1]:
                    rows.append(a)
                    cols.append(b)
            for group in ends:
                rows += group[:-1]
                cols += group[1:]
    _, comp = connected_components(coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n)), directed=False) \
        if n else (0, np.zeros(0, dtype=int))
    net_comps: dict[str, set[int]] = {}
    comp_nets: dict[int, set[str]] = {}
    out: list[Violation] = []
    for layer, net, x, y in labels:
        if layer not in trees:
            continue
        p = shapely.Point(x, y)
        hit = [int(i) + start[layer] for i in trees[layer].query(p, predicate="intersects")]
        if not hit:
            out.append((f"NET.OPEN: label {net} at ({x:g}, {y:g}) on {layer} sits on no metal", p.buffer(1)))
            continue
        c = int(comp[hit[0]])
        net_comps.setdefault(net, set()).add(c)
        comp_nets.setdefault(c, set()).add(net)
    for net, comps in sorted(net_comps.items()):
        if len(comps) > 1:
            geo = shapely.union_all([pieces[i] for i in range(n) if comp[i] in comps])
            out.append((f"NET.OPEN: net {net} is in {len(comps)} separate pieces", geo))
    for c, nets in sorted(comp_nets.items()):
        groups = {group_of.get(x, x) for x in nets}
        if len(groups) > 1:
            geo = shapely.union_all([pieces[i] for i in range(n) if comp[i] == c])
            out.append((f"NET.SHORT: one piece of metal joins nets {', '.join(sorted(nets))}", geo))
    return out, {net: len(c) for net, c in net_comps.items()}


def space_violations(geoms: list[BaseGeometry], rule: Rule) -> list[Violation]:
    """Pairs of separate pieces of one layer closer than the space rule (notches are the klayout check's)."""
    assert rule.value is not None
    parts = list(shapely.get_parts(shapely.union_all(geoms))) if geoms else []
    if len(parts) < 2:
        return []
    tree = STRtree(parts)
    a, b = tree.query(parts, predicate="dwithin", distance=rule.value - 1e-6)
    out = []
    for i, j in zip(a.tolist(), b.tolist()):
        if i < j:
            d = shapely.distance(parts[i], parts[j])
            line = LineString(shapely.shortest_line(parts[i], parts[j]))
            out.append((f"{rule.name}: {d:.3f} µm < {rule.value:g} µm", line.buffer(0.5)))
    return out


# -- passives measured from the drawing -----------------------------------------------------
def spiral_dimensions(turns_metal: BaseGeometry) -> tuple[int, float, float]:
    """(turns, d_out, d_in) of a square spiral measured on its drawn turns (no leads).

    Turns: crossings of the metal by a ray from the centre to the right; d_out: the turns'
    bounding box width; d_in: the free span across the centre between the innermost turns.
    """
    x0, y0, x1, y1 = turns_metal.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    # Crossings that start at the centre are the centre via's pad, not a turn.
    right = [p for p in shapely.get_parts(turns_metal.intersection(LineString([(cx, cy), (x1 + 1, cy)])))
             if p.bounds[0] > cx + 1e-6]
    left = [p for p in shapely.get_parts(turns_metal.intersection(LineString([(x0 - 1, cy), (cx, cy)])))
            if p.bounds[2] < cx - 1e-6]
    # The innermost crossing on each side bounds the hole.
    return len(right), x1 - x0, min(p.bounds[0] for p in right) - max(p.bounds[2] for p in left)


def spiral_inductance(turns_metal: BaseGeometry) -> float:
    """Modified Wheeler inductance (nH) of the drawn square spiral."""
    n, d_out, d_in = spiral_dimensions(turns_metal)
    return wheeler_inductance_nh(n, d_out, d_in)


def mim_capacitance(bottom: BaseGeometry, top: BaseGeometry, eps_r: float, thickness_um: float) -> tuple[float, float]:
    """(overlap area µm², capacitance pF) of two drawn plates: the plates' overlap over the dielectric."""
    area = bottom.intersection(top).area
    return area, plate_capacitance_pf(area, eps_r, thickness_um)


def meander_resistance(metal: BaseGeometry, width: float, corners: int, sheet_ohm_sq: float) -> tuple[float, float]:
    """(squares, Ω) of a drawn meander of `width`: area / w² with each of `corners` counted as 0.56 square."""
    squares = metal.area / width ** 2 - corners * (1 - CORNER_SQUARES)
    return squares, squares * sheet_ohm_sq


def count_right_angles(poly: Polygon) -> int:
    """Convex (outer) 90° corners of a Manhattan polygon outline, minus the four of a plain bar: the bends."""
    c = np.asarray(poly.exterior.coords)[:-1]
    d1 = np.roll(c, -1, axis=0) - c
    d0 = c - np.roll(c, 1, axis=0)
    cross = d0[:, 0] * d1[:, 1] - d0[:, 1] * d1[:, 0]
    orient = 1 if poly.exterior.is_ccw else -1
    convex = int(np.sum(cross * orient > 1e-9))
    return convex - 4 if convex >= 4 else 0

"""The wafer cell: the die (with its plating tails) placed by arrays, bus, ring, fill, kerf, marks, shots. All lengths in µm."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..design import Design, Wafer
from ..errors import ConfigError
from ..layout import Cell, Layout, Ref
from ..pdk import Pdk
from .checks import CheckResult, check_isolation, check_plating, geometry_from_layout, network_layers, plated_layers
from .diemap import DieMap, die_map, gross_die_estimate, partial_sites, search_offset
from .fill import Fill, thieving
from .marks import Slot, alignment_cell, bar_width, dot_size, mark_sites
from .outline import WaferShape, inset
from .plating import (Tail, close_ring_notches, fill_acute_notches, conductor_islands, contact_ring, lane_lines, plated_die_cell,
                      plating_tails)
from .shots import ShotMap, shot_map

if TYPE_CHECKING:  # the family module imports the router
    from ..families.result import DieResult

Box = tuple[float, float, float, float]


@dataclass
class WaferResult:
    """A built wafer: layout (top = wafer cell), mask field (wafer outline), summary and check results."""

    layout: Layout
    field: Polygon
    summary: dict
    checks: dict[str, CheckResult] = field(default_factory=dict)
    die_map: DieMap | None = None
    shots: ShotMap | None = None
    slots: list[Slot] = field(default_factory=list)
    sites: list[tuple[float, float]] = field(default_factory=list)
    tails: list[Tail] = field(default_factory=list)

    def mark_regions(self) -> list[Box]:
        """The MARK areas (x0, y0, x1, y1) on the wafer: alignment marks are not product metal, so
        layer rules there can be waived (a DRC waiver `region` each)."""
        hw, hh = (v / 2 for v in self.summary["marks"]["size_um"])
        return [(x - hw, y - hh, x + hw, y + hh) for x, y in self.sites]


@dataclass
class WaferParts:
    """Everything drawn at wafer level, before it goes into cells."""

    outline: Polygon
    usable: Polygon
    ring: Polygon
    bus: list[Polygon]
    kerf: list[Polygon]
    fill: Fill | None
    marks: Cell
    slots: list[Slot]
    mark_half: tuple[float, float]
    mark_sites: list[tuple[float, float]]


# ---------------------------------------------------------------- rules and inputs

def _rule(pdk: Pdk, kind: str, layer: str, other: str | None = None) -> float | None:
    """A rule value, or None when the deck lacks it."""
    r = pdk.find_rule(kind, layer, other)
    return r.value if r is not None else None


def plate_width_min(pdk: Pdk) -> float:
    """Narrowest plating line the PDK allows: PLATE's width rule, else that of the metal it feeds."""
    return _rule(pdk, "width", "PLATE") or _rule(pdk, "width", plated_layers(pdk)[0]) or 0.0


def plate_space(pdk: Pdk) -> float:
    """Clearance of plating metal from other nets' metal: PLATE-to-metal separation, else the metal's space
    (RDL on the front, BSWIRE on the back: the layers the PDK says PLATE touches)."""
    fed = plated_layers(pdk)[0]
    return _rule(pdk, "separation", "PLATE", fed) or _rule(pdk, "space", fed) or 0.0


def check_plating_params(wafer: Wafer, pdk: Pdk) -> None:
    """Tail and bus widths against the PDK, ring inside the edge exclusion; ConfigError naming the field."""
    p, where = wafer.plating, wafer.plating.where()
    least = plate_width_min(pdk)
    for name, value in (("tail_width", p.tail_width), ("bus_width", p.bus_width)):
        if value < least - 1e-9:
            raise ConfigError(f"{where}: Plating.{name} = {value:g} µm is below the {least:g} µm minimum plating line width of PDK {pdk.name}")
    if p.ring_width > wafer.edge_exclusion + 1e-9:
        raise ConfigError(f"{where}: Plating.ring_width = {p.ring_width:g} µm is wider than Wafer.edge_exclusion = "
                          f"{wafer.edge_exclusion:g} µm: the contact ring would cover dies")


def die_outline(die: "DieResult", design: Design) -> Box:
    """The die cell's DIE outline box, else the design's die size about the origin."""
    geoms = die.layout.flat("DIE", die.layout.top)
    if geoms:
        return shapely.union_all(geoms).bounds
    return (-design.die.width / 2, -design.die.height / 2, design.die.width / 2, design.die.height / 2)


# ---------------------------------------------------------------- steps

def place_dies(wafer: Wafer, pdk: Pdk, shape: WaferShape, size: tuple[float, float]) -> DieMap:
    """The die map: the user's grid offset, or the one that fits the most whole dies."""
    pitch = (pdk.snap(size[0] + wafer.scribe), pdk.snap(size[1] + wafer.scribe))
    if wafer.offset == "auto":
        offset = search_offset(shape, size, pitch, pdk.grid_um)
    else:
        offset = (pdk.snap(wafer.offset[0]), pdk.snap(wafer.offset[1]))
    dm = die_map(shape, size, pitch, offset)
    if dm.count == 0:
        raise ConfigError(f"{wafer.where()}: no whole {size[0]:g} × {size[1]:g} µm die fits inside the {wafer.edge_exclusion:g} µm "
                          f"edge exclusion of a {wafer.diameter} mm wafer")
    return dm


def add_tails(die: "DieResult", pdk: Pdk, outline: Box, reach: float, width: float) -> tuple[Cell, list[Polygon], list[Tail], list]:
    """The plated die cell (die cell plus tails to `reach` beyond its edge), its plated pieces, tails, and pieces left without."""
    cell = die.layout.top
    label_layers = list(pdk.connectivity.label_layers) or ["PAD", "BUMP"]
    islands = conductor_islands(die.layout, cell, network_layers(pdk))
    labels = [lb for n in label_layers for lb in die.layout.flat_labels(n, cell)]
    tails, stuck = plating_tails(islands, labels, outline, reach, width, plate_space(pdk), pdk.grid_um, pad_layer=label_layers[0])
    return plated_die_cell(cell, tails), islands, tails, stuck


def draw_network(wafer: Wafer, pdk: Pdk, shape: WaferShape, dm: DieMap) -> WaferParts:
    """Outline, contact ring, marks (outside the dies' sites), bus inside the kerf, saw kerf, fill."""
    grid, p = pdk.grid_um, wafer.plating
    outline = shape.outline(grid)
    ring = contact_ring(outline, inset(outline, p.ring_width, grid))
    bus_reach = inset(outline, p.ring_width / 2.0, grid)
    clear = max(plate_space(pdk), grid)
    busy = shapely.union_all([box(*b) for b in dm.row_sites()]).buffer(clear, join_style="mitre")
    marks, slots, (hw, hh) = alignment_cell(pdk)
    sites: list[tuple[float, float]] = []
    keepout = None
    if slots:
        free = inset(outline, p.ring_width + clear, grid).difference(busy)
        sites = mark_sites(free, (hw + clear, hh + clear), shape.radius, grid)
        if not sites:
            raise ConfigError(f"{wafer.where()}: no room for the {2 * hw:g} × {2 * hh:g} µm alignment marks between the dies and "
                              f"the contact ring: widen Wafer.edge_exclusion or narrow Plating.ring_width")
        keepout = shapely.union_all([box(x - hw - clear, y - hh - clear, x + hw + clear, y + hh + clear) for x, y in sites])
    xs, ys = dm.lanes(shape.radius)
    bus = lane_lines(xs, ys, p.bus_width, bus_reach, keepout, grid)
    ring = close_ring_notches(ring, bus, plate_space(pdk), grid)
    fill = None
    if p.thieving_density:
        blocked = [(x0 - clear, y0 - clear, x1 + clear, y1 + clear) for x0, y0, x1, y1 in dm.row_sites()]
        region = bus_reach.difference(busy)
        if keepout is not None:
            blocked += [tuple(b) for b in shapely.bounds(shapely.get_parts(keepout))]
            region = region.difference(keepout)
        reach = WaferShape(shape.radius, shape.orientation, p.ring_width / 2.0)
        fill = thieving(reach, blocked, ring, bus, p.thieving_density, grid, region.area)
        # Stripes end in the ring's curved inner edge at an angle: fill the V notches they make.
        ring = fill_acute_notches(ring, [s for s in fill.stripes if s.intersects(ring)], plate_space(pdk), grid)
    return WaferParts(outline, shape.usable(grid), ring, bus, lane_lines(xs, ys, wafer.kerf, outline, None, grid),
                      fill, marks, slots, (hw, hh), sites)


def _row_arrays(cell: str, first: list[tuple[float, float]], counts: list[int], step: float) -> list[Ref]:
    """One array reference per row run: first element at `first[k]`, `counts[k]` columns `step` apart."""
    return [Ref(cell, round(x, 6), round(y, 6), columns=n, rows=1, spacing=(step, 0.0) if n > 1 else (0.0, 0.0))
            for (x, y), n in zip(first, counts)]


def wafer_cell(name: str, dm: DieMap, die_centre: tuple[float, float], plated: Cell, parts: WaferParts,
               shots: ShotMap | None, shot_cell: Cell | None) -> Cell:
    """The wafer cell: dies by row arrays, ring, bus and fill on PLATE, kerf, exclusion band, marks, shots."""
    top = Cell(name)
    firsts = [(x - die_centre[0], y - die_centre[1]) for x, y in (dm.run_origin(r) for r in dm.runs)]
    top.refs += _row_arrays(plated.name, firsts, [r[2] - r[1] + 1 for r in dm.runs], dm.pitch[0])
    top.add("PLATE", parts.ring, *parts.bus, *(parts.fill.stripes if parts.fill else []))
    top.add("KERF", *parts.kerf)
    top.add("WAFER", parts.outline.difference(parts.usable))
    for x, y in parts.mark_sites:
        top.place(parts.marks.name, x, y)
    if shots is not None and shot_cell is not None:
        runs = shots.runs()
        top.refs += _row_arrays(shot_cell.name, [shots.centre(dm, (sx0, sy)) for sy, sx0, _ in runs],
                                [sx1 - sx0 + 1 for _, sx0, sx1 in runs], shots.size[0])
    return top


def shot_cell(shots: ShotMap) -> Cell:
    """One reticle shot on SHOT, centred at the origin."""
    w, h = shots.size
    name = f"SHOT_{w:g}x{h:g}".replace(".", "p")
    return Cell(name).add("SHOT", box(-w / 2, -h / 2, w / 2, h / 2))


# ---------------------------------------------------------------- figures

def _inside_length(shape: WaferShape, x0: np.ndarray, x1: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Length of each horizontal segment [x0, x1] at height y inside `shape`'s usable region."""
    lo, hi = shape.x_intervals(y, y)
    over = np.minimum(x1[:, None], hi) - np.maximum(x0[:, None], lo)
    return np.nansum(np.clip(over, 0.0, None), axis=1)


def _outside_area(shape: Polygon, pieces: np.ndarray) -> float:
    """Area of `shape` outside the disjoint `pieces`."""
    hit = shapely.STRtree(pieces).query(shape, predicate="intersects") if len(pieces) else []
    return shape.area - float(shapely.area(shapely.intersection(pieces[hit], shape)).sum()) if len(hit) else shape.area


def wafer_density(inner: WaferShape, dies: int, die_metal: float, bus: list[Polygon], fill: Fill | None, grid: float) -> float:
    """Plating metal inside the contact ring over the area inside it (overlaps where lines cross count twice)."""
    region = inner.usable(grid)
    metal = dies * die_metal
    if bus:
        metal += float(shapely.area(shapely.intersection(np.asarray(bus, dtype=object), region)).sum())
    if fill and fill.stripes:
        b = shapely.bounds(np.asarray(fill.stripes, dtype=object))
        metal += float((_inside_length(inner, b[:, 0], b[:, 2], (b[:, 1] + b[:, 3]) / 2) * (b[:, 3] - b[:, 1])).sum())
    return metal / region.area


def mask_features(pdk: Pdk, wafer: Wafer, fill: Fill | None) -> dict[str, float]:
    """Smallest feature per mask: its layers' width/size rules, plating lines and mark bars drawn on them."""
    out = {}
    for m in pdk.masks:
        vals = [v for n in m.layers for v in (_rule(pdk, "width", n), _rule(pdk, "size", n)) if v]
        vals.append(dot_size(pdk, m.layers[0]) or bar_width(pdk, m.layers[0]))
        if "PLATE" in m.layers:
            vals += [wafer.plating.tail_width, wafer.plating.bus_width] + ([fill.line] if fill and fill.stripes else [])
        out[m.name] = round(min(vals), 6)
    return out


def summarize(wafer: Wafer, pdk: Pdk, dm: DieMap, shots: ShotMap | None, parts: WaferParts, die_box: Box,
              islands: list[Polygon], tails: list[Tail], stuck: list, checks: dict[str, CheckResult]) -> dict:
    """The wafer part of summary.json: map, shots, plating and isolation results, fill and densities, marks."""
    p, grid = wafer.plating, pdk.grid_um
    dbox = box(*die_box)
    metal = np.asarray(islands, dtype=object)  # disjoint pieces: areas add up
    die_density = float(shapely.area(shapely.intersection(metal, dbox)).sum()) / dbox.area if islands else 0.0
    plated_area = float(shapely.area(metal).sum()) + sum(_outside_area(t.shape, metal) for t in tails)
    inner = WaferShape(wafer.diameter * 500.0, wafer.orientation, p.ring_width)
    out = {
        "diameter_mm": wafer.diameter, "orientation": wafer.orientation, "edge_exclusion_um": wafer.edge_exclusion,
        "scribe_um": wafer.scribe, "kerf_um": wafer.kerf, "die_um": [round(v, 6) for v in dm.die], "pitch_um": list(dm.pitch),
        "offset_um": [round(v, 6) for v in dm.offset], "offset_mode": "auto" if wafer.offset == "auto" else "fixed",
        "dies": dm.count, "positions": dm.count, "partial_sites": partial_sites(dm, wafer.diameter * 500.0),
        "gross_die_estimate": round(gross_die_estimate(wafer.diameter * 1000.0, wafer.edge_exclusion, *dm.pitch), 1),
        "map": [list(r) for r in dm.runs],
        "shots": None if shots is None else {
            "per_shot": list(shots.per_shot), "dies_per_shot": shots.dies_per_shot, "size_um": [round(v, 6) for v in shots.size],
            "phase": list(shots.phase), "shots": len(shots.shots), "map": [list(r) for r in shots.runs()]},
        "plating": {"tail_width_um": p.tail_width, "bus_width_um": p.bus_width, "ring_width_um": p.ring_width,
                    "tails_per_die": len(tails), "pieces_per_die": len(islands),
                    "without_tail": [{"net": n, "x": x, "y": y} for n, x, y in stuck],
                    **(checks["plating"].to_json() if "plating" in checks else {})},
        "isolation": checks["isolation"].to_json() if "isolation" in checks else None,
        "fill": None if parts.fill is None else {
            "target": p.thieving_density, "density_in_region": round(parts.fill.density, 4),
            "region_mm2": round(parts.fill.region_area / 1e6, 3), "stripes": len(parts.fill.stripes),
            "period_um": parts.fill.period, "line_um": parts.fill.line},
        "density": {"die": round(die_density, 4),
                    "wafer_inside_ring": round(wafer_density(inner, dm.count, plated_area, parts.bus, parts.fill, grid), 4)},
        "marks": {"cell": parts.marks.name if parts.mark_sites else None,
                  "sites": [[round(v, 6) for v in s] for s in parts.mark_sites],
                  "size_um": [2 * parts.mark_half[0], 2 * parts.mark_half[1]],
                  "slots": {s.target: {"layer": s.layer, "aligned": list(s.aligners), "x": s.x, "y": s.y, "half_um": s.half}
                            for s in parts.slots}},
        "mask_features": mask_features(pdk, wafer, parts.fill),
    }
    if checks:
        out["result"] = f"{checks['plating'].message}; {checks['isolation'].message}"
    return out


# ---------------------------------------------------------------- the wafer

def build_wafer(design: Design, pdk: Pdk, die: "DieResult", run_checks: bool = True) -> WaferResult:
    """The wafer: die map, tails, bus, ring, kerf, marks, optional fill and shots; plating and isolation checked."""
    wafer = design.wafer
    if wafer is None:
        raise ConfigError(f"{design.where()}: Design.wafer is not set: there is no wafer to build")
    check_plating_params(wafer, pdk)
    shape = WaferShape.of(wafer.diameter, wafer.orientation, wafer.edge_exclusion, wafer.where())
    x0, y0, x1, y1 = outline = die_outline(die, design)
    dm = place_dies(wafer, pdk, shape, (x1 - x0, y1 - y0))
    plated, islands, tails, stuck = add_tails(die, pdk, outline, wafer.scribe / 2.0, wafer.plating.tail_width)
    parts = draw_network(wafer, pdk, shape, dm)
    shots = shot_map(dm, wafer.reticle, wafer.where()) if wafer.reticle else None
    scell = shot_cell(shots) if shots else None
    top = wafer_cell(f"{design.name}_WAFER{wafer.diameter}", dm, ((x0 + x1) / 2, (y0 + y1) / 2), plated, parts, shots, scell)
    cells = {**die.layout.cells, plated.name: plated}
    for extra in ([parts.marks] if parts.mark_sites else []) + ([scell] if scell else []):
        cells[extra.name] = extra
    layout = Layout(top=top.name, cells={**cells, top.name: top})
    checks: dict[str, CheckResult] = {}
    if run_checks:
        geom = geometry_from_layout(layout, pdk)
        checks = {"plating": check_plating(geom, pdk), "isolation": check_isolation(geom, pdk)}
    summary = summarize(wafer, pdk, dm, shots, parts, outline, islands, tails, stuck, checks)
    summary["cells"] = {"top": top.name, "die": die.layout.top, "plated_die": plated.name}
    return WaferResult(layout=layout, field=parts.outline, summary=summary, checks=checks, die_map=dm, shots=shots,
                       slots=parts.slots, sites=parts.mark_sites, tails=tails)

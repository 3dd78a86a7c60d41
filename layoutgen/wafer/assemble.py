"""The wafer cell: the die (with its plating tails) placed by arrays, bus, ring, fill, kerf, marks, shots. All lengths in µm."""

from __future__ import annotations

from collections.abc import Iterable

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
from .diemap import DieMap, die_map, gross_die_estimate, partial_sites, search_offset, without
from .fill import Fill, thieving
from .marks import (KEYS, MARK_MARGIN_UM, Slot, Vernier, alignment_cell, bar_width, cross, dot_size, first_masks, key_frame,
                    key_window, mark_sites)
from .outline import SAGITTA_UM, WaferShape, inset
from .plating import (Tail, close_ring_notches, fill_acute_notches, conductor_islands, contact_ring, lane_lines, plated_die_cell,
                      plating_tails)
from .order import alignment_marks
from .shots import ShotMap, shot_map
from layoutgen.units import LENGTH_EPS_UM

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
    verniers: list[Vernier] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)   # files to write beside the masks (teststructures.csv)

    def mark_regions(self) -> list[Box]:
        """The MARK areas (x0, y0, x1, y1) of the mark sites on the wafer: alignment marks are not product
        metal, so layer rules there can be waived (a DRC waiver `region` each)."""
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
    die_map: DieMap
    verniers: list[Vernier] = field(default_factory=list)
    straps: list[Polygon] = field(default_factory=list)
    keys: list[dict] = field(default_factory=list)
    key_cells: list[Cell] = field(default_factory=list)
    dropped: int = 0


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
        if value < least - LENGTH_EPS_UM:
            raise ConfigError(f"{where}: Plating.{name} = {value:g} µm is below the {least:g} µm minimum plating line width of PDK {pdk.name}")
    if p.ring_width > wafer.edge_exclusion + LENGTH_EPS_UM:
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


def choose_sites(wafer: Wafer, pdk: Pdk, shape: WaferShape, dm: DieMap, half: tuple[float, float],
                 clear: float) -> tuple[list[tuple[float, float]], DieMap, int]:
    """Mark sites inside the edge exclusion: the user's (`Wafer.alignment.sites`), else beside the dies near the x axis
    ends, else drop-in sites there that take the dies they cover; and the die map less those dies."""
    grid, (hw, hh) = pdk.grid_um, half
    usable = shape.usable(grid)
    al = wafer.alignment
    if al.sites is not None:
        sites = [(pdk.snap(x), pdk.snap(y)) for x, y in al.sites]
        for x, y in sites:
            if not usable.contains(box(x - hw, y - hh, x + hw, y + hh)):
                raise ConfigError(f"{al.where()}: Alignment.sites: the {2 * hw:g} × {2 * hh:g} µm mark area at ({x:g}, {y:g}) "
                                  f"is not inside the {wafer.edge_exclusion:g} µm edge exclusion of the {wafer.diameter} mm wafer")
    else:
        busy = shapely.union_all([box(*b) for b in dm.row_sites()]).buffer(clear, join_style="mitre")
        sites = mark_sites(usable.difference(busy), (hw + clear, hh + clear), shape.radius, grid)
        if not sites:
            sites = mark_sites(usable, (hw, hh), shape.radius, grid)
        if not sites:
            raise ConfigError(f"{wafer.where()}: the {2 * hw:g} × {2 * hh:g} µm alignment marks do not fit inside the "
                              f"{wafer.edge_exclusion:g} µm edge exclusion of a {wafer.diameter} mm wafer")
    reach = 2 * clear + wafer.plating.bus_width / 2  # the bus line around a drop-in hole stays clear of the marks
    kept, dropped = without(dm, [(x - hw - reach, y - hh - reach, x + hw + reach, y + hh + reach) for x, y in sites])
    if kept.count == 0:
        (w, h), (px, py) = dm.die, dm.pitch
        why = (f"the {dm.count} whole die site(s) of {px:g} × {py:g} µm (the {w:g} × {h:g} µm die plus the "
               f"{wafer.scribe:g} µm scribe) leave no room for the alignment marks, which would take every die")
        culprit = f"Wafer.scribe = {wafer.scribe:g}" if wafer.scribe > min(w, h) else f"the {w:g} × {h:g} µm die"
        raise ConfigError(f"{wafer.where()}: {culprit}: {why}")
    return sites, kept, dropped


def join_marks(sites: list[tuple[float, float]], spine: Box, metal: list[Polygon], blocked: shapely.Geometry,
               width: float, reach: float, grid: float) -> list[Polygon]:
    """A PLATE strap per mark site from its spine (cell box `spine`) to the nearest wafer-level plating metal:
    straight up from the spine, or sideways from either end, whichever is shortest and clear of `blocked`."""
    h = round(width / 2 / grid) * grid
    tree = shapely.STRtree(metal)
    straps = []
    for sx, sy in sites:
        x0, y0, x1, y1 = spine[0] + sx, spine[1] + sy, spine[2] + sx, spine[3] + sy
        ym = round((y0 + y1) / 2 / grid) * grid
        cands = []
        for ray, axis, sign in ((box(sx - h, y0, sx + h, y0 + reach), 1, 1), (box(x1, ym - h, x1 + reach, ym + h), 0, 1),
                                (box(x0 - reach, ym - h, x0, ym + h), 0, -1)):
            near = tree.query(ray, predicate="intersects")
            if not len(near):
                continue
            b = shapely.union_all(shapely.intersection(np.asarray(metal, dtype=object)[near], ray)).bounds
            if axis == 1:
                strap = box(sx - h, y0, sx + h, b[1] + h)
            elif sign > 0:
                strap = box(x1 - h, ym - h, b[0] + h, ym + h)
            else:
                strap = box(b[2] - h, ym - h, x0 + h, ym + h)
            if not strap.intersects(blocked):
                cands.append(shapely.set_precision(strap, grid))
        if not cands:
            raise ConfigError(f"the alignment marks at ({sx:g}, {sy:g}) carry plated features and no straight plating strap "
                              f"reaches the bus or contact ring from them without crossing a die: move them (Wafer.alignment.sites)")
        straps.append(min(cands, key=lambda g: g.area))
    return straps


def through_run(pdk: Pdk) -> float:
    """How far the first backside etch's sloped wall runs in from its drawn opening: the groove profile of the PDK's
    [process] table (substrate thickness / tan(wall angle)), 0 for a PDK without one."""
    if "wall_angle_deg" not in pdk.process:
        return 0.0
    from ..families.backside_wlcsp.rules import wall_run

    return wall_run(pdk)


def place_keys(wafer: Wafer, pdk: Pdk, dm: DieMap, die: "DieResult | None", shape: WaferShape) -> tuple[list[dict], list[Cell]]:
    """Where every first mask registers to the incoming wafer's keys: a box on its layer around each key (die keys in the
    two dies at the ends of the row nearest the x axis, scribe keys where they are), one cell per mask; ConfigError where
    a box would cover the die's own drawing on that layer, a die, or the edge exclusion."""
    al, grid = wafer.alignment, pdk.grid_um
    if not al.keys:
        return [], []
    masks = [m for m in pdk.masks if m.name in first_masks(pdk) and m.aligns_to == KEYS]
    xy, ij = dm.centres(), dm.indices()
    row = np.abs(xy[:, 1]).min()
    ends = [int(k) for k in np.flatnonzero(np.isclose(np.abs(xy[:, 1]), row))]
    ends = [min(ends, key=lambda k: xy[k, 0]), max(ends, key=lambda k: xy[k, 0])]
    sites = shapely.union_all([box(*b) for b in dm.row_sites()])
    usable = shape.usable(grid)
    records, cells = [], []
    for m in masks:
        layer = m.layers[0]
        # A backside mask's key box is etched into the back surface every later backside level is built on: it must
        # clear the die's drawing on all of them. A front one clears the die's drawing on its own layer.
        mine = sorted({lay for mm in pdk.masks if mm.mirror for lay in mm.layers}) if m.mirror else [layer]
        own = shapely.union_all([g for lay in mine for g in die.layout.flat(lay, die.layout.top)]) if die is not None else None
        through = m.mirror and al.backside == "through_wafer"
        for n, key in enumerate(al.keys):
            shapes, ext = key_window(pdk, layer, key.size, through_run(pdk)) if through else key_frame(pdk, layer, key.size)
            ring = shapely.union_all(shapes)
            where = f"{key.where()}: AlignmentKey #{n + 1} ({key.x:g}, {key.y:g}, frame={key.frame!r})"
            at = [(xy[k, 0] + key.x, xy[k, 1] + key.y, [int(v) for v in ij[k]]) for k in ends] if key.frame == "die" \
                else [(key.x, key.y, None)]
            for i, (x, y, die_ij) in enumerate(at):
                # One cell per key site, so that no placement's extent spans the dies between two sites (the DRC would go flat).
                cell = Cell(f"KEYFRAMES_{m.name}_{n + 1}" + (f"_{i + 1}" if len(at) > 1 else ""))
                x, y = pdk.snap(x), pdk.snap(y)
                placed = shapely.affinity.translate(ring, x, y)
                if key.frame == "die":
                    if own is not None and not own.is_empty and shapely.affinity.translate(ring, key.x, key.y).intersects(own):
                        raise ConfigError(f"{where}: mask {m.name}'s {2 * ext:g} µm {'window over' if through else 'box around'} "
                                          f"the key would cover the die's own {'/'.join(mine)} drawing: name a key with "
                                          f"{ext - key.size / 2:g} µm clear around it")
                else:
                    if placed.intersects(sites.buffer(-pdk.grid_um)):
                        raise ConfigError(f"{where}: mask {m.name}'s {2 * ext:g} µm box around the key would reach into a die site")
                if not usable.contains(placed):
                    raise ConfigError(f"{where}: the key at wafer ({x:g}, {y:g}) lies in the {wafer.edge_exclusion:g} µm edge exclusion")
                cell.add(layer, *[shapely.set_precision(shapely.affinity.translate(g, x, y), grid) for g in shapes])
                half = ext + MARK_MARGIN_UM / 5
                cell.add("MARK", box(x - half, y - half, x + half, y + half))
                cell.label("TEXT", f"KEY_{m.name}", x, y)
                records.append({"mask": m.name, "layer": layer, "x": x, "y": y, "frame": key.frame, "die": die_ij,
                                "key_size_um": key.size, "half_um": ext,
                                "seen": (al.backside if m.mirror else "front")})
                cells.append(cell)
    return records, cells


def draw_network(wafer: Wafer, pdk: Pdk, shape: WaferShape, dm: DieMap, die: "DieResult | None" = None) -> WaferParts:
    """Outline, contact ring, marks (inside the edge exclusion, dropping dies where they must), bus inside the kerf,
    straps joining plated marks to it, saw kerf, fill, and the first masks' boxes around the incoming keys."""
    grid, p = pdk.grid_um, wafer.plating
    outline = shape.outline(grid)
    ring = contact_ring(outline, inset(outline, p.ring_width, grid))
    bus_reach = inset(outline, p.ring_width / 2.0, grid)
    clear = max(plate_space(pdk), grid)
    marks, slots, verniers, (hw, hh) = alignment_cell(pdk, plated_layers(pdk) + ["PLATE"], p.tail_width,
                                                      wafer.alignment.vernier_step)
    sites: list[tuple[float, float]] = []
    keepout = None
    dropped = 0
    if slots:
        before = dm
        sites, dm, dropped = choose_sites(wafer, pdk, shape, dm, (hw, hh), clear)
        keepout = shapely.union_all([box(x - hw - clear, y - hh - clear, x + hw + clear, y + hh + clear) for x, y in sites])
        if dropped:  # the bus leaves a drop-in hole whole: lines inside it go, the lines around it stay, so the dies
            # beside it see the same plating metal as any other (no new placement types for the checks and the DRC)
            gone = {tuple(ij) for ij in before.indices().tolist()} - {tuple(ij) for ij in dm.indices().tolist()}
            (ox, oy), (px, py) = dm.offset, dm.pitch
            hole = shapely.union_all([box(ox + (i - 0.5) * px, oy + (j - 0.5) * py, ox + (i + 0.5) * px, oy + (j + 0.5) * py)
                                      for i, j in gone])
            keepout = shapely.union_all([keepout, hole.buffer(-(p.bus_width / 2 + clear), join_style="mitre")])
    busy = shapely.union_all([box(*b) for b in dm.row_sites()]).buffer(clear, join_style="mitre")
    xs, ys = dm.lanes(shape.radius)
    bus = lane_lines(xs, ys, p.bus_width, bus_reach, keepout, grid)
    ring = close_ring_notches(ring, bus, plate_space(pdk), grid)
    straps: list[Polygon] = []
    spine = marks.shapes.get("PLATE")
    if sites and spine:
        top = max(spine, key=lambda g: (g.bounds[2] - g.bounds[0], g.bounds[3]))
        (w, h), (ox, oy), (px, py) = dm.die, dm.offset, dm.pitch
        dies = shapely.union_all([box(ox + i0 * px - w / 2, oy + j * py - h / 2, ox + i1 * px + w / 2, oy + j * py + h / 2)
                                  for j, i0, i1 in dm.runs]).buffer(clear, join_style="mitre")
        straps = join_marks(sites, top.bounds, [ring, *bus], dies, p.tail_width, 2 * shape.radius, grid)
        keepout = shapely.union_all([keepout, *[g.buffer(clear, join_style="mitre") for g in straps]])
    keys, key_cells = place_keys(wafer, pdk, dm, die, shape)
    fill = None
    if p.thieving_density:
        blocked = [(x0 - clear, y0 - clear, x1 + clear, y1 + clear) for x0, y0, x1, y1 in dm.row_sites()]
        # Stripes keep the plating space from the ring (a straight end in its curve would leave a V notch).
        region = inset(outline, p.ring_width + clear, grid).difference(busy)
        if keepout is not None:
            blocked += [tuple(b) for b in shapely.bounds(shapely.get_parts(keepout))]
            region = region.difference(keepout)
        reach = WaferShape(shape.radius, shape.orientation, p.ring_width + clear + SAGITTA_UM + grid)
        fill = thieving(reach, blocked, ring, bus, p.thieving_density, grid, region.area, clear)
    if straps:
        # A strap from a mark site ends in the ring's curved inner edge too: fill its V notches as the bus lines'.
        ring = fill_acute_notches(ring, [s for s in straps if s.intersects(ring)], plate_space(pdk), grid)
    return WaferParts(outline, shape.usable(grid), ring, bus, lane_lines(xs, ys, wafer.kerf, outline, None, grid),
                      fill, marks, slots, (hw, hh), sites, dm, verniers, straps, keys, key_cells, dropped)


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
    top.add("PLATE", parts.ring, *parts.bus, *parts.straps, *(parts.fill.stripes if parts.fill else []))
    top.add("KERF", *parts.kerf)
    top.add("WAFER", parts.outline.difference(parts.usable))
    for x, y in parts.mark_sites:
        top.place(parts.marks.name, x, y)
    for c in parts.key_cells:
        top.place(c.name)
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
                  "slots": {s.target: {"layer": s.layer, "aligned": list(s.aligners), "x": s.x, "y": s.y, "half_um": s.half,
                                       "cross_half_um": cross(pdk, s.layer)[1]}
                            for s in parts.slots},
                  "verniers": [{"target": v.target, "ref_layer": v.ref_layer, "aligned": v.aligner, "layer": v.layer,
                                "x_row": list(v.x_row), "y_row": list(v.y_row), "pitch_um": v.pitch, "step_um": v.step,
                                "gap_um": v.gap}
                               for v in parts.verniers],
                  "keys": parts.keys, "dies_dropped": parts.dropped,
                  "straps": [[round(v, 6) for v in g.bounds] for g in parts.straps],
                  "alignment": alignment_marks(pdk, wafer)},
        "mask_features": mask_features(pdk, wafer, parts.fill),
    }
    if checks:
        out["result"] = f"{checks['plating'].message}; {checks['isolation'].message}"
    return out


# ---------------------------------------------------------------- the wafer

def kerf_structures(wafer: Wafer, pdk: Pdk, stack, dm: DieMap, shape: WaferShape, parts: WaferParts | None, tests,
                    bus_um: float, marks: list[Polygon] = ()):
    """The kerf row (None when the lanes do not hold it or the user said no) and the test sites' record with the kerf
    entry and its structures added (made when no die site is reserved). `dm` the map with the test sites; what the row
    keeps clear of: every die site, the bus, ring, straps and fill, the mark areas and key frames (`parts`, or `marks`)."""
    from .teststructures import TestSites, kerf_check, kerf_row

    (ox, oy), (px, py), (w, h) = dm.offset, dm.pitch, dm.die
    obstacles = [box(ox + i0 * px - w / 2, oy + j * py - h / 2, ox + i1 * px + w / 2, oy + j * py + h / 2) for j, i0, i1 in dm.runs]
    obstacles += list(marks)
    if parts is not None:
        hw, hh = parts.mark_half
        obstacles += [parts.ring, *parts.bus, *parts.straps, *(parts.fill.stripes if parts.fill else [])]
        obstacles += [box(x - hw, y - hh, x + hw, y + hh) for x, y in parts.mark_sites]
        obstacles += [g for c in parts.key_cells for shapes in c.shapes.values() for g in shapes]
    where = f"{wafer.where()}: Wafer.kerf_structures"
    row = kerf_row(pdk, stack, dm, wafer.scribe, bus_um, wafer.plating.tail_width, shape.usable(pdk.grid_um), obstacles,
                   wafer.kerf_structures, where)
    if row is None:
        if tests is not None:
            tests.kerf = kerf_check(pdk, stack, wafer.scribe, bus_um, "" if wafer.kerf_structures is False else
                                    "no stretch of the lane above the top row of dies is clear of the marks and plating lines")
        return None, tests
    if tests is None:
        tests = TestSites(None, [], [], stack)
    else:
        row.summary["placed"] = "kerf and sites"
    tests.kerf = row.summary
    tests.structures = tests.structures + row.structures
    return row, tests


def masks_in_use(pdk: Pdk, drawn: Iterable[str], route: str | None) -> Pdk:
    """The PDK with only the masks this design exposes: those of its process route that it draws
    on, and those a kept mask registers to; so no mark is made for a plate never written
    (an optional rear slot, the other route's levels)."""
    drawn = set(drawn) - {"MARK"}
    pdk = pdk.for_route(route)
    by_name = {m.name: m for m in pdk.masks}
    keep = {m.name for m in pdk.masks if drawn & set(m.layers)}
    todo = list(keep)
    while todo:
        target = by_name[todo.pop()].aligns_to
        if target in by_name and target not in keep:
            keep.add(target)
            todo.append(target)
    return pdk.model_copy(update={"masks": [m for m in pdk.masks if m.name in keep]})


def build_wafer(design: Design, pdk: Pdk, die: "DieResult", run_checks: bool = True) -> WaferResult:
    """The wafer: die map, tails, bus, ring, kerf, marks, optional fill and shots; plating and isolation checked."""
    wafer = design.wafer
    if wafer is None:
        raise ConfigError(f"{design.where()}: Design.wafer is not set: there is no wafer to build")
    check_plating_params(wafer, pdk)
    pdk = masks_in_use(pdk, die.layout.layers(), getattr(design.package, "route", None))
    shape = WaferShape.of(wafer.diameter, wafer.orientation, wafer.edge_exclusion, wafer.where())
    x0, y0, x1, y1 = outline = die_outline(die, design)
    dm = place_dies(wafer, pdk, shape, (x1 - x0, y1 - y0))
    plated, islands, tails, stuck = add_tails(die, pdk, outline, wafer.scribe / 2.0, wafer.plating.tail_width)
    parts = draw_network(wafer, pdk, shape, dm, die)
    dm = parts.die_map
    shots = shot_map(dm, wafer.reticle, wafer.where()) if wafer.reticle else None
    scell = shot_cell(shots) if shots else None
    tests = None
    full = dm
    kerf_wanted = wafer.kerf_structures is True or (wafer.kerf_structures is None and "resistance" in pdk.data)
    if wafer.test_sites or kerf_wanted:
        from .teststructures import package_relief, pdk_stack, reserve, wafer_test_sites

        stack = pdk_stack(pdk, set(die.layout.layers()), plated_layers(pdk), relief=package_relief(design.package, pdk))
    if wafer.test_sites:   # die sites given to test structures: their tails reach the bus around the site like a die's
        where = f"{wafer.where()}: Wafer.test_sites"
        dm, places = reserve(dm, wafer.test_sites, where)
        tests = wafer_test_sites(pdk, stack, places, dm.die, (wafer.scribe / 2.0, wafer.plating.tail_width, plate_space(pdk)),
                                 f"TESTSITE_{pdk.name.upper()}", where, lane=(wafer.scribe, wafer.plating.bus_width))
    kerf = None
    if kerf_wanted:   # structures in the lane above the top row, beyond its bus, when it holds them
        kerf, tests = kerf_structures(wafer, pdk, stack, full, shape, parts, tests, wafer.plating.bus_width)
    top = wafer_cell(f"{design.name}_WAFER{wafer.diameter}", dm, ((x0 + x1) / 2, (y0 + y1) / 2), plated, parts, shots, scell)
    cells = {**die.layout.cells, plated.name: plated}
    if tests is not None and tests.cell is not None:
        cells[tests.cell.name] = tests.cell
        for _, x, y in tests.places:
            top.place(tests.cell.name, round(x, 6), round(y, 6))
    for c, (_, x, y) in zip(kerf.cells, kerf.places) if kerf is not None else ():
        cells[c.name] = c
        top.place(c.name, x, y)
    for extra in ([parts.marks] if parts.mark_sites else []) + parts.key_cells + ([scell] if scell else []):
        cells[extra.name] = extra
    layout = Layout(top=top.name, cells={**cells, top.name: top})
    checks: dict[str, CheckResult] = {}
    if run_checks:
        # Plating counts the marks' plated features as wafer metal (they must plate too); isolation leaves them out.
        checks = {"plating": check_plating(geometry_from_layout(layout, pdk, drop_marks=False), pdk),
                  "isolation": check_isolation(geometry_from_layout(layout, pdk), pdk)}
    summary = summarize(wafer, pdk, dm, shots, parts, outline, islands, tails, stuck, checks)
    summary["cells"] = {"top": top.name, "die": die.layout.top, "plated_die": plated.name}
    files = {}
    if tests is not None:
        from .teststructures import structures_rows

        summary["test_structures"] = tests.summary()
        files["teststructures.csv"] = structures_rows(tests.structures)
    return WaferResult(layout=layout, field=parts.outline, summary=summary, checks=checks, die_map=dm, shots=shots,
                       slots=parts.slots, sites=parts.mark_sites, tails=tails, verniers=parts.verniers, files=files)

"""The fan-out substrate: units on a rectangular carrier panel or a reconstituted round wafer, marks, die shift.

`panel_layout(design, pdk, unit)` places the unit cell in rows (one array per run of nominal
units), draws the substrate outline, two global mark sites (every mask pair: box-in-box and
verniers, as on a fan-in wafer) and, in every unit, two unit marks at opposite corners (the
box-in-box targets of the wiring stack, CAVITY to the top wiring level: what a die-shift
measurement and a unit-by-unit aligner read).

Die shift (seed 004: dies are picked and placed into the carrier's cavities, then the
filling layer is cast; they move). `Fanout.die_shift` names a CSV of the measured shift of
each die after placement: unit (R<row>C<col>, 1-based from the bottom-left), dx, dy (µm),
rotation (degrees, counter-clockwise about the die centre) and, optionally, die (the
instance; empty or absent: every die of the unit). The process decision, as an adaptive-
patterning line makes it:

- CAVITY is etched before placement: it stays nominal.
- VIA1 (the first via mask) follows each die: its thru-holes are drawn on the die's measured
  position and rotation, so they land on the pads where they are.
- WIRE1 follows at the die only: the capture pad over each moved via moves with it and a
  bridge (the hull of the nominal and the moved capture pad) joins it to the nominal trace;
  every trace stays on the nominal grid, so VIA2 and everything above (WIRE2, PASSIV, BUMP:
  the ball grid the board sees) stay nominal, and the unit's marks stay nominal too.
- The as-placed die (PAD, VIA1, capture pads) moves; its CHIP outline (the design's die site,
  which the cavity clearance rule checks) stays nominal.

A shift that takes a die out of its cavity, or a bridge that comes closer to another net's
WIRE1 than its space rule, is refused with the file:line, the value and the reason (exit 2):
such a unit needs a rework, not an adapted mask. All lengths in µm.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Polygon, box

from layoutgen.cells.shapes import rect
from layoutgen.design import Design
from layoutgen.errors import ConfigError
from layoutgen.layout import Cell, Label, Layout, Ref
from layoutgen.pdk import Pdk
from .diemap import DieMap, die_map, search_offset, without
from .marks import (MARK_MARGIN_UM, _pack, _slot_shapes, _up, alignment_cell, gap, mark_sites, targets)
from .order import alignment_marks
from .outline import WaferShape
from .teststructures import Stack, structures_rows, test_site

from ..families.result import DieResult
from ..families.fanout.cells.via import via_landing
from ..families.fanout.model import CarrierPanel, Fanout, FanoutDie, ReconstitutedWafer
from ..families.fanout.rules import process_data
from layoutgen.units import LENGTH_EPS_UM

SHIFT_COLUMNS = ("unit", "dx", "dy", "rotation")


@dataclass(frozen=True)
class Shift:
    """A measured die shift: unit, die instance, dx, dy (µm), rotation (degrees ccw), and the CSV line it came from."""

    unit: str
    die: str
    dx: float
    dy: float
    rotation: float
    where: str


# ---------------------------------------------------------------- sites

def unit_sites(panel: CarrierPanel | ReconstitutedWafer, pitch: tuple[float, float], size: tuple[float, float],
               grid: float) -> tuple[DieMap, Polygon, Polygon]:
    """The unit map, the substrate outline and the region marks must lie in (inside the edge exclusion)."""
    if isinstance(panel, CarrierPanel):
        W, H = panel.size
        room = (W - 2 * panel.frame, H - 2 * panel.frame)
        nx, ny = int((room[0] + LENGTH_EPS_UM) // pitch[0]), int((room[1] + LENGTH_EPS_UM) // pitch[1])
        if nx < 1 or ny < 1:
            raise ConfigError(f"{panel.where()}: CarrierPanel.size = {panel.size}: no {size[0]:g} × {size[1]:g} µm unit "
                              f"(at a {pitch[0]:g} × {pitch[1]:g} µm pitch) fits inside the {panel.frame:g} µm frame")
        off = (round(-(nx - 1) * pitch[0] / 2 / grid) * grid, round(-(ny - 1) * pitch[1] / 2 / grid) * grid)
        dm = DieMap(die=size, pitch=pitch, offset=off, runs=tuple((j, 0, nx - 1) for j in range(ny)))
        e = panel.edge_exclusion
        return dm, rect(W, H, grid), box(-W / 2 + e, -H / 2 + e, W / 2 - e, H / 2 - e)
    shape = WaferShape.of(panel.diameter, panel.orientation, panel.edge_exclusion, panel.where())
    dm = die_map(shape, size, pitch, search_offset(shape, size, pitch, grid))
    if dm.count == 0:
        raise ConfigError(f"{panel.where()}: ReconstitutedWafer: no whole {size[0]:g} × {size[1]:g} µm unit fits inside the "
                          f"{panel.edge_exclusion:g} µm edge exclusion of a {panel.diameter} mm wafer")
    return dm, shape.outline(grid), shape.usable(grid)


def unit_names(dm: DieMap) -> list[str]:
    """R<row>C<col> of every unit in map order, rows and columns counted from 1 at the bottom-left."""
    ij = dm.indices()
    i0, j0 = int(ij[:, 0].min()), int(ij[:, 1].min())
    return [f"R{j - j0 + 1}C{i - i0 + 1}" for i, j in ij.tolist()]


def global_sites(panel: CarrierPanel | ReconstitutedWafer, dm: DieMap, usable: Polygon, half: tuple[float, float],
                 radius: float, grid: float) -> tuple[list[tuple[float, float]], DieMap, int]:
    """The two global mark sites (the user's, else in the free band near the x-axis ends, else drop-in sites that take
    the units they cover) and the unit map less those units."""
    hw, hh = half
    al = panel.alignment
    if al.sites is not None:
        sites = [(round(x / grid) * grid, round(y / grid) * grid) for x, y in al.sites]
        for x, y in sites:
            if not usable.contains(box(x - hw, y - hh, x + hw, y + hh)):
                raise ConfigError(f"{al.where()}: Alignment.sites: the {2 * hw:g} × {2 * hh:g} µm mark area at ({x:g}, {y:g}) "
                                  f"is not inside the {panel.edge_exclusion:g} µm edge exclusion")
    else:
        if isinstance(panel, CarrierPanel):   # at the middle of the left and right edges, just inside the edge band
            x = round((panel.size[0] / 2 - panel.edge_exclusion - hw) / grid) * grid
            sites = [(-x, 0.0), (x, 0.0)]
            if 2 * hh > panel.size[1] - 2 * panel.edge_exclusion or x <= hw:
                sites = []
        else:
            busy = shapely.union_all([box(*b) for b in dm.row_sites()])
            sites = mark_sites(usable.difference(busy), half, radius, grid) or mark_sites(usable, half, radius, grid)
        if not sites:
            raise ConfigError(f"{panel.where()}: the {2 * hw:g} × {2 * hh:g} µm alignment marks do not fit inside the "
                              f"{panel.edge_exclusion:g} µm edge exclusion")
    kept, dropped = without(dm, [(x - hw, y - hh, x + hw, y + hh) for x, y in sites])
    if kept.count == 0:
        raise ConfigError(f"{panel.where()}: the alignment marks take every unit site")
    return sites, kept, dropped


# ---------------------------------------------------------------- unit marks

def unit_mark_pairs(pdk: Pdk, wires: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """The targets registered unit by unit: those of the wiring stack (CAVITY and the VIAn/WIREn masks, whose aligned
    masks are in the stack too); the passivation and ball masks register to the global marks only. No wires: none."""
    if not wires:
        return []
    stack = {"CAVITY", *wires, *(f"VIA{i}" for i in range(1, len(wires) + 1))}
    masks = {m.name: m for m in pdk.masks}
    out = []
    for t, layer, aligners in targets(pdk):
        inner = tuple(a for a in aligners if masks[a].layers[0] in stack)
        if layer in stack and inner:
            out.append((t, layer, inner))
    return out


def _space(pdk: Pdk, layer: str) -> float:
    r = pdk.find_rule("space", layer)
    return r.value if r is not None and r.value is not None else 0.0


def unit_mark_cell(pdk: Pdk, wires: list[str], name: str) -> tuple[Cell, tuple[float, float], list[dict]]:
    """The unit mark: one box-in-box slot per stack target, packed square; its MARK area's half size and the slots."""
    grid = pdk.grid_um
    pairs = unit_mark_pairs(pdk, wires)
    cell = Cell(name)
    if not pairs:
        return cell, (0.0, 0.0), []
    blocks = [_slot_shapes(pdk, layer, aligners) for _, layer, aligners in pairs]
    # Neighbouring slots keep the space of the layers they share (every slot draws its own cross and boxes).
    shared = [lay for lay in {k for b, _ in blocks for k in b} if sum(lay in b for b, _ in blocks) > 1]
    space = _up(max([MARK_MARGIN_UM / 5, *(gap(pdk, lay) for lay in shared)]), grid)
    halves = [h for _, h in blocks]
    centres = _pack(halves, space)
    x0 = min(c[0] - h for c, h in zip(centres, halves))
    x1 = max(c[0] + h for c, h in zip(centres, halves))
    y0 = min(c[1] - h for c, h in zip(centres, halves))
    y1 = max(c[1] + h for c, h in zip(centres, halves))
    sx, sy = -(x0 + x1) / 2, -(y0 + y1) / 2
    slots = []
    for (shapes, h), (cx, cy), (t, layer, aligners) in zip(blocks, centres, pairs):
        px, py = round((cx + sx) / grid) * grid, round((cy + sy) / grid) * grid
        for lay, geoms in shapes.items():
            cell.add(lay, *[shapely.set_precision(affinity.translate(g, px, py), grid) for g in geoms])
        cell.label("TEXT", t, px, py)
        slots.append({"target": t, "layer": layer, "aligned": list(aligners), "x": px, "y": py, "half_um": h})
    margin = MARK_MARGIN_UM / 5
    hw, hh = _up((x1 - x0) / 2 + margin, grid), _up((y1 - y0) / 2 + margin, grid)
    cell.add("MARK", box(-hw, -hh, hw, hh))
    return cell, (hw, hh), slots


def place_unit_marks(unit: DieResult, pkg: Fanout, pdk: Pdk, mark: Cell,
                     half: tuple[float, float]) -> list[tuple[float, float]]:
    """Centres of the two unit marks, as near the lower-left and upper-right corners of the unit as each layer's
    separation from the singulation lane allows, clear of the unit's drawing (the MARK area meets none of it, and each
    layer keeps its space rule); ConfigError where they do not fit."""
    grid = pdk.grid_um
    W, H = pkg.size
    hw, hh = half
    own = {lay: shapely.union_all(g) for lay, g in mark.shapes.items() if lay != "MARK"}
    # How far in the mark must sit: its MARK area inside the unit, each layer's shapes their lane separation away.
    inx, iny = hw, hh
    for lay, geom in own.items():
        r = pdk.find_rule("separation", lay, "KERF")
        sep = r.value if r is not None and r.value is not None else 0.0
        b = geom.bounds
        inx, iny = max(inx, sep - b[0], sep + b[2]), max(iny, sep - b[1], sep + b[3])
    drawn = {lay: unit.layout.flat(lay) for lay in unit.layout.layers() if lay not in ("DIE", "KERF", "TEXT", "MARK")}
    everything = [g for gs in drawn.values() for g in gs]
    tree = shapely.STRtree(everything)
    out = []
    for sx, sy, corner in ((-1, -1, "lower-left"), (1, 1, "upper-right")):
        x = round((sx * (W / 2 - _up(inx, grid))) / grid) * grid
        y = round((sy * (H / 2 - _up(iny, grid))) / grid) * grid
        where = (f"{pkg.where()}: Fanout: the {2 * hw:g} × {2 * hh:g} µm unit mark at the {corner} corner (centre {x:g}, "
                 f"{y:g})")
        hit = tree.query(box(x - hw, y - hh, x + hw, y + hh), predicate="intersects")
        if len(hit):
            b = everything[int(hit[0])].bounds
            raise ConfigError(f"{where} would cover the unit's drawing (a shape at {b[0]:g}, {b[1]:g} .. {b[2]:g}, "
                              f"{b[3]:g}): depopulate the corner balls or keep routes and rings off the corner")
        for lay, geom in own.items():
            placed = affinity.translate(geom, x, y)
            s = _space(pdk, lay)
            near = [g for g in drawn.get(lay, []) if g.distance(placed) < s - LENGTH_EPS_UM]
            if near:
                raise ConfigError(f"{where}: its {lay} comes {near[0].distance(placed):.3g} µm from the unit's {lay} "
                                  f"(space {s:g} µm): depopulate the corner balls or keep routes and rings off the corner")
        out.append((x, y))
    return out


# ---------------------------------------------------------------- die shift

def _resolve(design: Design, name: str) -> Path:
    p = Path(name)
    if not p.is_absolute() and design.config_path is not None:
        p = design.config_path.parent / p
    return p


def read_die_shift(design: Design, units: set[str]) -> list[Shift]:
    """The rows of `Fanout.die_shift`; ConfigError naming file:line, the value and the reason for any bad row."""
    pkg: Fanout = design.package  # type: ignore[assignment]
    path = _resolve(design, pkg.die_shift or "")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"{pkg.where()}: Fanout.die_shift = {pkg.die_shift!r}: cannot read {path}: {e.strerror}") from None
    rows = csv.reader(text.splitlines())
    header = next(rows, None)
    if header is None:
        raise ConfigError(f"{path}:1: the die-shift file is empty: it needs the header {', '.join(SHIFT_COLUMNS)}")
    cols = [h.strip().lower() for h in header]
    missing = [c for c in SHIFT_COLUMNS if c not in cols]
    if missing:
        raise ConfigError(f"{path}:1: header {header!r}: no column {', '.join(missing)} (needs {', '.join(SHIFT_COLUMNS)}, "
                          f"optionally die)")
    dies = {d.instance for d in pkg.dies}
    out: list[Shift] = []
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        line = rows.line_num
        if not any(c.strip() for c in row):
            continue
        where = f"{path}:{line}"
        if len(row) != len(cols):
            raise ConfigError(f"{where}: {row!r}: {len(row)} fields, the header has {len(cols)}")
        rec = {c: v.strip() for c, v in zip(cols, row)}
        unit, die = rec["unit"], rec.get("die", "")
        if unit not in units:
            raise ConfigError(f"{where}: unit = {unit!r}: no such unit on the substrate (units are R<row>C<col>, "
                              f"from R1C1 at the bottom-left; see units.csv)")
        if die and die not in dies:
            raise ConfigError(f"{where}: die = {die!r}: the unit has no such die (its dies: {', '.join(sorted(dies))})")
        vals = {}
        for c in ("dx", "dy", "rotation"):
            try:
                v = float(rec[c])
            except ValueError:
                raise ConfigError(f"{where}: {c} = {rec[c]!r}: not a number ({'degrees' if c == 'rotation' else 'µm'})") from None
            if not math.isfinite(v):
                raise ConfigError(f"{where}: {c} = {rec[c]!r}: not a finite number")
            vals[c] = v
        for d in ([die] if die else sorted(dies)):
            if (unit, d) in seen:
                raise ConfigError(f"{where}: unit = {unit!r}{f', die = {d!r}' if die else ''}: die {d} of this unit "
                                  f"is already shifted on line {seen[(unit, d)]}")
            seen[(unit, d)] = line
            out.append(Shift(unit, d, vals["dx"], vals["dy"], vals["rotation"], where))
    return out


def _moved(d: FanoutDie, s: Shift, pdk: Pdk) -> tuple[float, float, float]:
    """(x, y, rotation) of the die cell as placed: the nominal placement moved by the shift."""
    return pdk.snap(d.x) + pdk.snap(s.dx), pdk.snap(d.y) + pdk.snap(s.dy), float(d.rotation) + s.rotation


def _transform(geom, x: float, y: float, rot: float):
    return affinity.translate(affinity.rotate(geom, rot, origin=(0, 0)), x, y)


def check_in_cavity(d: FanoutDie, s: Shift, pdk: Pdk) -> None:
    """ConfigError when the shifted die leaves its cavity (the die plus the cavity clearance, nominal)."""
    clear = pdk.value("enclosure", "CAVITY", "CHIP")
    w, h = d.footprint()
    x, y = pdk.snap(d.x), pdk.snap(d.y)
    cavity = box(x - w / 2 - clear, y - h / 2 - clear, x + w / 2 + clear, y + h / 2 + clear)
    mx, my, rot = _moved(d, s, pdk)
    placed = _transform(rect(d.die.width, d.die.height, pdk.grid_um), mx, my, rot)
    if not cavity.contains(placed):
        out = placed.difference(cavity)
        reach = max(shapely.distance(shapely.points(np.asarray(out.exterior.coords if out.geom_type == "Polygon"
                                                                 else shapely.get_coordinates(out))), cavity))
        raise ConfigError(f"{s.where}: unit {s.unit} die {d.instance}: dx = {s.dx:g} µm, dy = {s.dy:g} µm, rotation = "
                          f"{s.rotation:g}°: the die would reach {reach:.3g} µm beyond its cavity ({clear:g} µm "
                          f"clearance, CAV.EN.CHIP): no die can sit there; a measurement or unit error, or a unit to rework")


@dataclass
class Adapted:
    """A unit with its dies as placed: the cell, and per die its shift and the moved pad centres."""

    cell: Cell
    shifts: list[Shift]
    vias: list[tuple[str, str, float, float]]   # die instance, pad, x, y of the moved VIA1 centres


class Adapter:
    """Makes the adapted unit cells: the unit's base (all but its dies) with each die placed where it was measured."""

    def __init__(self, pkg: Fanout, pdk: Pdk, unit_top: Cell, layout_cells: dict[str, Cell]):
        self.pkg, self.pdk = pkg, pdk
        self.dies = {d.instance: d for d in pkg.dies}
        self.grid = pdk.grid_um
        nominal = {(d.die.name, pdk.snap(d.x), pdk.snap(d.y)) for d in pkg.dies}
        die_refs = [r for r in unit_top.refs if (r.cell, round(r.x, 6), round(r.y, 6)) in nominal]
        pad_xy = {(round(x, 6), round(y, 6)) for d in pkg.dies for x, y in self._pads(d)}
        self.base = Cell(f"{unit_top.name}_BASE", shapes=unit_top.shapes,
                         labels=[lb for lb in unit_top.labels if not (lb.layer == "PAD" and (round(lb.x, 6), round(lb.y, 6)) in pad_xy)],
                         refs=[r for r in unit_top.refs if r not in die_refs])
        self.src = {d.die.name: layout_cells[d.die.name] for d in pkg.dies}
        self.landing = via_landing(pdk, "VIA1", "WIRE1")
        wire1 = shapely.union_all([g for g in _flat(unit_top, layout_cells, "WIRE1")])
        self.pieces = list(shapely.get_parts(wire1))
        self.tree = shapely.STRtree(self.pieces)
        self.space = pdk.value("space", "WIRE1")
        self._own: dict[str, np.ndarray] = {}

    def _pads(self, d: FanoutDie) -> list[tuple[float, float]]:
        pdk = self.pdk
        return [tuple(pdk.snap(v) for v in d.place(pdk.snap(p.x), pdk.snap(p.y))) for p in d.die.pads]

    def _owners(self, d: FanoutDie, pads: np.ndarray) -> np.ndarray:
        """The nominal WIRE1 piece under each of the die's pads (cached per die instance)."""
        if d.instance not in self._own:
            self._own[d.instance] = np.array([self._piece(px, py) for px, py in pads.tolist()], int)
        return self._own[d.instance]

    def _piece(self, x: float, y: float) -> int:
        hit = self.tree.query(shapely.Point(x, y), predicate="intersects")
        return int(hit[0]) if len(hit) else -1

    def cell(self, name: str, shifts: list[Shift]) -> Adapted:
        """The adapted unit `name`: base, nominal dies not in `shifts`, shifted dies as placed with WIRE1 bridges."""
        pdk, grid = self.pdk, self.grid
        cell = Cell(name, refs=[Ref(self.base.name)])
        by_die = {s.die: s for s in shifts}
        bridges, owners, whose, vias = [], [], [], []
        h = (self.landing.bounds[2] - self.landing.bounds[0]) / 2
        for d in self.pkg.dies:
            s = by_die.get(d.instance)
            x, y = pdk.snap(d.x), pdk.snap(d.y)
            pads = np.asarray(self._pads(d), float).reshape(-1, 2)
            if s is None:
                cell.place(d.die.name, x, y, rotation=float(d.rotation))
                for p, (px, py) in zip(d.die.pads, pads.tolist()):
                    cell.label("PAD", p.net, px, py)
                continue
            check_in_cavity(d, s, pdk)
            mx, my, rot = _moved(d, s, pdk)
            t = math.radians(rot)
            m = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
            move = lambda c, m=m, mx=mx, my=my: c @ m.T + (mx, my)  # noqa: E731
            src = self.src[d.die.name]
            # The die as placed, flattened one level and snapped: its outline (CHIP) stays the nominal site; its pads
            # turn and move; the cells on its pads (VIA1 and its WIRE1 capture) move with the pads' centres.
            for lay, geoms in src.shapes.items():
                if lay == "CHIP":
                    cell.add(lay, *[_transform(g, x, y, float(d.rotation)) for g in geoms])
                else:
                    cell.add(lay, *shapely.transform(np.asarray(geoms, dtype=object),
                                                     lambda c, move=move: np.round(move(c) / grid) * grid))
            if src.refs:
                at = np.round(move(np.array([(r.x, r.y) for r in src.refs], float)) / grid) * grid
                for r, (qx, qy) in zip(src.refs, at.tolist()):
                    cell.place(r.cell, qx, qy, rotation=(r.rotation + d.rotation) % 360)
            local = np.array([(pdk.snap(p.x), pdk.snap(p.y)) for p in d.die.pads], float).reshape(-1, 2)
            q = np.round(move(local) / grid) * grid
            for p, (qx, qy) in zip(d.die.pads, q.tolist()):
                cell.label("PAD", p.net, qx, qy)
                vias.append((d.instance, p.name, qx, qy))
            nominal = shapely.box(pads[:, 0] - h, pads[:, 1] - h, pads[:, 0] + h, pads[:, 1] + h)
            moved = shapely.box(q[:, 0] - h, q[:, 1] - h, q[:, 0] + h, q[:, 1] + h)
            bridges.append(shapely.set_precision(shapely.convex_hull(shapely.union(nominal, moved)), grid))
            owners.append(self._owners(d, pads))
            whose += [(s, p.name) for p in d.die.pads]
        if not bridges:
            return Adapted(cell, shifts, vias)
        geoms, own = np.concatenate(bridges), np.concatenate(owners)
        # every moved capture keeps the WIRE1 space from every other net: the unit's nominal metal and the other bridges
        i, j = self.tree.query(geoms, predicate="dwithin", distance=self.space - 1e-6)
        bad = [(a, self.pieces[b]) for a, b in zip(i.tolist(), j.tolist()) if b != own[a]]
        i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=self.space - 1e-6)
        bad += [(a, geoms[b]) for a, b in zip(i.tolist(), j.tolist()) if a != b and own[a] != own[b]]
        if bad:
            a, other = min(bad, key=lambda ab: ab[0])
            s, pad = whose[a]
            raise ConfigError(f"{s.where}: unit {s.unit} die {s.die}: dx = {s.dx:g} µm, dy = {s.dy:g} µm, rotation = "
                              f"{s.rotation:g}°: pad {pad}'s moved WIRE1 capture comes {geoms[a].distance(other):.3g} µm "
                              f"from another net's WIRE1 (WIRE1 space {self.space:g} µm): beyond what an adapted "
                              f"VIA1/WIRE1 can take")
        cell.add("WIRE1", *geoms)
        return Adapted(cell, shifts, vias)


def _flat(top: Cell, cells: dict[str, Cell], layer: str):
    lay = Layout(top=top.name, cells={**cells, top.name: top})
    return lay.flat(layer, top.name)


# ---------------------------------------------------------------- test structures

def test_stack(pdk: Pdk, wires: list[str]) -> Stack:
    """The fan-out wiring stack for test structures: WIRE1..n, the vias between them (VIA1 lands on the die's pads, which
    a test site has not), sheet resistances from fanout.toml, and each via's resistance from the same data: plated copper
    filling the thru-hole (seed 004, claims 85-86), R = ρ × t / (π d² / 4) with ρ = Rs × thickness of the level above and
    t the dielectric's thickness (contact resistance neglected)."""
    pd = process_data(pdk)
    vias, via_ohm = [], {}
    for lo, hi in zip(wires, wires[1:]):
        via = f"VIA{wires.index(hi) + 1}"
        rho_um = pd.wire(hi).sheet_resistance_ohm_sq * pd.wire(hi).thickness_um      # Ω·µm
        d = pdk.value("size", via)
        via_ohm[via] = rho_um * pd.between(lo, hi).thickness_um / (math.pi * d * d / 4)
        vias.append((via, lo, hi))
    return Stack(levels=list(wires), vias=vias, top=wires[-1],
                 sheet_ohm_sq={w: pd.wire(w).sheet_resistance_ohm_sq for w in wires}, via_ohm=via_ohm, source=pd.source)


def test_units(panel: CarrierPanel | ReconstitutedWafer, dm: DieMap, names: list[str]) -> list[str]:
    """The units given to test structures: the user's, else the middle units of the bottom and top rows."""
    if panel.test_units is not None:
        bad = [n for n in panel.test_units if n not in names]
        if bad:
            raise ConfigError(f"{panel.where()}: {type(panel).__name__}.test_units = {panel.test_units}: no unit {bad[0]} "
                              f"(units are R<row>C<col> from R1C1 at the bottom-left, without the mark sites; see units.csv)")
        return list(dict.fromkeys(panel.test_units))
    ij = dm.indices()
    out = []
    for j in (int(ij[:, 1].min()), int(ij[:, 1].max())):
        row = [k for k in range(len(names)) if int(ij[k, 1]) == j]
        out.append(names[row[len(row) // 2]])
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------- the substrate

def _row_refs(cell: str, dm: DieMap, centre: tuple[float, float], skip: set[tuple[int, int]]) -> list[Ref]:
    """Array references per run of units, split around the units in `skip`."""
    out = []
    px = dm.pitch[0]
    for j, i0, i1 in dm.runs:
        start = None
        for i in range(i0, i1 + 2):
            free = i <= i1 and (i, j) not in skip
            if free and start is None:
                start = i
            elif not free and start is not None:
                n = i - start
                x = dm.offset[0] + start * px - centre[0]
                y = dm.offset[1] + j * dm.pitch[1] - centre[1]
                out.append(Ref(cell, round(x, 6), round(y, 6), columns=n, rows=1, spacing=(px, 0.0) if n > 1 else (0.0, 0.0)))
                start = None
    return out


def panel_layout(design: Design, pdk: Pdk, unit: DieResult) -> tuple[Layout, dict, Polygon, dict[str, str]]:
    """The substrate: units by arrays (adapted units one by one), outline, global and unit marks.

    Returns the layout (top = the substrate cell), its figures for the summary, the mask field
    (the substrate outline) and the files to write beside it (units.csv).
    """
    from layoutgen.wafer.assemble import masks_in_use

    pkg = design.package
    assert isinstance(pkg, Fanout)
    if pkg.panel is None:
        raise ConfigError(f"{pkg.where()}: Fanout.panel is not set: there is no carrier panel to build")
    panel, grid = pkg.panel, pdk.grid_um
    pdk = masks_in_use(pdk, unit.layout.layers(), None)
    W, H = pkg.size
    pitch = (pdk.snap_up(W + pkg.lane), pdk.snap_up(H + pkg.lane))
    dm, outline, usable = unit_sites(panel, pitch, (W, H), grid)
    wires = [w for w in unit.extra["unit"]["wiring"]]

    # Unit marks, inside every unit (the unit cell is copied: the die-level result stays as built).
    layout = Layout(top=f"PANEL_{design.name}".replace("-", "_") if isinstance(panel, CarrierPanel)
                    else f"{design.name}_RWAFER{panel.diameter}".replace("-", "_"))
    layout.cells = dict(unit.layout.cells)
    src = unit.layout.cells[unit.layout.top]
    umark, uhalf, uslots = unit_mark_cell(pdk, wires if pkg.unit_marks == "corners" else [], f"UNITMARKS_{pdk.name.upper()}")
    unit_top = Cell(src.name, shapes=src.shapes, labels=src.labels, refs=list(src.refs))
    umark_sites: list[tuple[float, float]] = []
    if uslots:
        umark_sites = place_unit_marks(unit, pkg, pdk, umark, uhalf)
        layout.cells = {umark.name: umark, **layout.cells}
        for x, y in umark_sites:
            unit_top.place(umark.name, x, y)
    layout.cells[unit_top.name] = unit_top

    # Global marks: every mask pair, as on a wafer; sites in the frame, else drop-in.
    gmark, _, verniers, ghalf = alignment_cell(pdk, [], 20.0, panel.alignment.vernier_step)
    radius = max(b for b in outline.bounds[2:])
    sites, dm, dropped = global_sites(panel, dm, usable, ghalf, radius, grid)

    names = unit_names(dm)
    ij = [tuple(v) for v in dm.indices().tolist()]
    xy = dm.centres()
    shifted: dict[str, list[Shift]] = {}
    if pkg.die_shift:
        for s in read_die_shift(design, set(names)):
            shifted.setdefault(s.unit, []).append(s)
    elif pkg.die_shift is not None:
        raise ConfigError(f"{pkg.where()}: Fanout.die_shift = '': name the die-shift CSV, or leave the field out")

    tests = test_units(panel, dm, names)
    overlap = sorted(set(tests) & set(shifted))
    if overlap:
        raise ConfigError(f"{pkg.where()}: Fanout.die_shift shifts unit {overlap[0]}, which is a test-structure site "
                          f"(test_units): it holds no dies")
    structures = []
    tcell = None
    if tests:
        try:
            tcell, structures = test_site(pdk, test_stack(pdk, wires), (W, H), f"TESTSITE_{pdk.name.upper()}")
        except ConfigError as e:
            raise ConfigError(f"{panel.where()}: {type(panel).__name__}.test_units = {panel.test_units}: {e} (a unit is the "
                              f"site; give test_units=[] to build without test structures)") from None
        tcell.add("DIE", rect(W, H, grid))
        tcell.add("KERF", rect(W + pkg.lane, H + pkg.lane, grid).difference(rect(W, H, grid)))
        layout.cells[tcell.name] = tcell

    top = Cell(layout.top)
    skip = {ij[k] for k, n in enumerate(names) if n in shifted or n in tests}
    top.refs += _row_refs(unit_top.name, dm, (0.0, 0.0), skip)
    adapted: dict[str, Adapted] = {}
    if shifted:
        ad = Adapter(pkg, pdk, unit_top, layout.cells)
        layout.cells[ad.base.name] = ad.base
        for k, n in enumerate(names):
            if n in shifted:
                a = ad.cell(f"{unit_top.name}_{n}", shifted[n])
                adapted[n] = a
                layout.cells[a.cell.name] = a.cell
                top.place(a.cell.name, round(float(xy[k, 0]), 6), round(float(xy[k, 1]), 6))
    placed_structures = []
    for k, n in enumerate(names):
        if n in tests:
            x, y = round(float(xy[k, 0]), 6), round(float(xy[k, 1]), 6)
            top.place(tcell.name, x, y)
            placed_structures += [{"site": n, **st.moved(x, y).to_json()} for st in structures]
    top.add("WAFER", outline.difference(usable) if isinstance(panel, ReconstitutedWafer) else outline)
    for x, y in sites:
        top.place(gmark.name, x, y)
    layout.cells[gmark.name] = gmark
    layout.cells[top.name] = top

    shift_of = {(s.unit, s.die): s for ss in shifted.values() for s in ss}
    lines = ["unit,die,x_um,y_um,dx_um,dy_um,rotation_deg,adapted"]
    for k, n in enumerate(names):
        if n in tests:
            continue
        for d in pkg.dies:
            s = shift_of.get((n, d.instance))
            x, y = float(xy[k, 0]) + pdk.snap(d.x), float(xy[k, 1]) + pdk.snap(d.y)
            lines.append(f"{n},{d.instance},{x:.6g},{y:.6g},{s.dx if s else 0:g},{s.dy if s else 0:g},"
                         f"{s.rotation if s else 0:g},{'yes' if s else 'no'}")
    nominal = [m.name for m in pdk.masks if m.name not in ("VIA1", "WIRE1")]
    figures = {
        "substrate": "panel" if isinstance(panel, CarrierPanel) else "reconstituted_wafer",
        "units": dm.count - len(tests), "test_sites": tests, "rows": len({j for j, _, _ in dm.runs}),
        "columns": len({i for v in ij for i in [v[0]]}), "pitch_um": list(pitch), "dies": (dm.count - len(tests)) * len(pkg.dies),
        **({"panel_um": list(panel.size), "frame_um": panel.frame} if isinstance(panel, CarrierPanel)
           else {"diameter_mm": panel.diameter, "edge_exclusion_um": panel.edge_exclusion}),
        "units_dropped_for_marks": dropped,
        "marks": {"cell": gmark.name, "sites": [list(s) for s in sites],
                  "size_um": [2 * ghalf[0], 2 * ghalf[1]],
                  "verniers": [{"target": v.target, "aligned": v.aligner, "x_row": list(v.x_row), "y_row": list(v.y_row),
                                "pitch_um": v.pitch, "step_um": v.step} for v in verniers],
                  "unit_cell": umark.name if uslots else None, "unit_sites": [list(s) for s in umark_sites],
                  "unit_size_um": [2 * uhalf[0], 2 * uhalf[1]], "unit_slots": uslots,
                  "alignment": alignment_marks(pdk, panel)},
        "die_shift": None if not shifted else {
            "file": pkg.die_shift, "units_adapted": len(adapted), "dies_shifted": len(shift_of),
            "max_shift_um": round(max(math.hypot(s.dx, s.dy) for s in shift_of.values()), 6),
            "max_rotation_deg": max(abs(s.rotation) for s in shift_of.values()),
            "adapted_masks": {"VIA1": "thru-holes on each die as placed",
                              "WIRE1": "capture pads moved with the die, bridged to the nominal traces"},
            "nominal_masks": nominal},
        "units_file": "units.csv",
        "test_structures": {"file": "teststructures.csv", "structures": placed_structures},
    }
    csv_rows = structures_rows(placed_structures)
    return layout, figures, outline, {"units.csv": "\n".join(lines) + "\n", "teststructures.csv": csv_rows}

"""A sheet over the whole wafer (sheet terminals, seed 003, p. 10: a 10-30 cm sheet registered over a wafer of chips).

One conductive sheet covers every chip of the wafer: its leads are bonded to all the chips in
one operation and it is etched into terminals over all of them at once. The wafer cell holds the
die cell (the chip's contacts and its part of the sheet: leads, liners or the grid variant's
vias and traces, spots, rings) placed by row arrays on the die map of `layoutgen.wafer` (the
same map, offset search and edge exclusion as a plated wafer, without the plating network: the
sheet is one piece of metal and needs none), the frame outline once around the whole sheet,
the fiducials (through-sheet holes, THRU, under a MARK cross on every mask) at the wafer's mark
sites beside the dies, below each of them the overlay block (`marks.alignment_cell`: the cross of
every mask others align to and, around it, the box of each of those, with a vernier pair per pair,
all on the masks' own layers, outlined on the PDK's marker layer since MARK prints on every mask),
the saw kerf (the assembly is severed along the scribe lines, claim 8)
and the wafer outline. Every sheet mask is drawn at `WaferSheet.scale` about the wafer centre
(the family's `mask_scale`), so the sheet grown at the bond temperature lands its leads on the contacts.
All lengths in µm, the wafer centred at (0, 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shapely
from shapely.geometry import box

from ..design import Design
from ..errors import PdkError
from ..families.sheet_terminals.cells.fiducial import fiducial_cross
from ..families.sheet_terminals.model import SheetTerminals
from ..families.sheet_terminals.substrate import check_sheet_wafer, refuse
from ..layout import Cell, Layout, name_number
from ..pdk import Pdk
from ..units import LENGTH_EPS_UM
from .assemble import WaferResult, _row_arrays, choose_sites, die_outline, masks_in_use, place_dies
from .diemap import gross_die_estimate
from .marks import alignment_cell, targets
from .marks import cross as mark_cross
from .order import _rule_minimum, alignment_marks
from .outline import WaferShape, disc
from .plating import lane_lines

if TYPE_CHECKING:
    from ..families.result import DieResult


def _ports(design: Design, pdk: Pdk, wafer_r: float, inner_r: float) -> list:
    """Fig. 15: the injection ports, evenly round the ring between the wafer and the frame (the first at the top);
    ConfigError when they do not fit between the clearances of the PDK's sheet.toml [ports]."""
    import math

    from ..cells.shapes import circle

    pk = design.package.ports
    d = pk.diameter
    w_rule = pdk.rule("width", "PORT")
    data, path = pdk.process_data("sheet", "the injection ports' clearances")
    gap_w, gap_m = data["ports"]["wafer_clearance_um"], data["ports"]["frame_clearance_um"]
    if d < w_rule.value - LENGTH_EPS_UM:
        raise refuse(pk.where(), "InjectionPorts.diameter", d, f"below {w_rule.name} ({w_rule.value:g} µm)")
    room = inner_r - wafer_r - gap_w - gap_m
    if d > room + LENGTH_EPS_UM:
        raise refuse(pk.where(), "InjectionPorts.diameter", d,
                      f"the ring between the wafer and the frame leaves {room:g} µm for a port, {gap_w:g} µm clear of the "
                      f"wafer and {gap_m:g} µm of the frame ({path} [ports]): widen WaferSheet.margin or shrink the ports")
    r = (wafer_r + gap_w + inner_r - gap_m) / 2
    hole = circle(d, pdk.circle_vertices, pdk.grid_um, "inscribed")
    out = []
    for k in range(pk.count):
        a = math.pi / 2 + 2 * math.pi * k / pk.count
        out.append(shapely.affinity.translate(hole, pdk.snap(r * math.cos(a)), pdk.snap(r * math.sin(a))))
    return out


def build_sheet_wafer(design: Design, pdk: Pdk, die: "DieResult") -> WaferResult:
    """The wafer-scale sheet: die arrays on the die map, frame around the sheet, fiducials, kerf, wafer outline."""
    check_sheet_wafer(design)
    pkg: SheetTerminals = design.package  # type: ignore[assignment]
    wafer, sheet, grid = design.wafer, pkg.sheet, pdk.grid_um
    pdk = masks_in_use(pdk, die.layout.layers(), None)
    shape = WaferShape.of(wafer.diameter, wafer.orientation, wafer.edge_exclusion, wafer.where())
    x0, y0, x1, y1 = die_outline(die, design)
    dm = place_dies(wafer, pdk, shape, (x1 - x0, y1 - y0))
    line = pdk.value("width", "MARK")
    clear = max([r.value for r in pdk.rules if r.kind == "separation" and "MARK" in (r.layer, r.other) and r.value]
                + [grid])

    cells: dict[str, Cell] = dict(die.layout.cells)
    top = Cell(f"{design.name}_SHEET{wafer.diameter}")
    # The overlay block: per target mask its cross with the box of every mask aligned to it around it, and a vernier
    # pair per aligned mask, each on the mask's own layer (mirrored masks are mirrored with their data, so the boxes
    # still frame the crosses they read); outlined on the PDK's marker layer, not on MARK, which every mask carries.
    area = pdk.mark_area_layer()
    if area in (None, "MARK") and targets(pdk):
        raise PdkError(f"PDK {pdk.name!r}: the sheet's overlay marks need a layer of purpose 'marker' to outline their "
                       f"block (MARK is drawn on every sheet mask, so a MARK box would print on all of them)")
    marks, slots, verniers, (bw, bh) = alignment_cell(pdk, None, step=wafer.alignment.vernier_step, area=area or "MARK")
    fs = pkg.fiducials.size / 2 if pkg.fiducials is not None else 0.0
    if pkg.fiducials is not None and fs < line:
        raise refuse(pkg.fiducials.where(), "Fiducials.size", pkg.fiducials.size,
                      f"a cross needs arms longer than its {line:g} µm line")
    # one site holds the fiducial (top) and the overlay block (below it, `clear` apart), centred on the site
    both = fs > 0 and bool(slots)
    half_h = fs + bh + (clear / 2 if both else 0.0)
    fid_dy, block_dy = (pdk.snap(half_h - fs), pdk.snap(bh - half_h)) if both else (0.0, 0.0)
    sites: list[tuple[float, float]] = []
    dropped = 0
    if fs > 0 or slots:
        sites, dm, dropped = choose_sites(wafer, pdk, shape, dm, (max(fs, bw), half_h), clear)
    fid_sites = [(x, pdk.snap(y + fid_dy)) for x, y in sites] if fs > 0 else []
    block_sites = [(x, pdk.snap(y + block_dy)) for x, y in sites] if slots else []
    if pkg.fiducials is not None:
        cross = fiducial_cross(pkg.fiducials.size, line, grid)
        fid = Cell(f"SHEET_FIDUCIAL_{name_number(pkg.fiducials.size)}").add("MARK", cross).add("THRU", cross)
        cells[fid.name] = fid
        for x, y in fid_sites:
            top.place(fid.name, x, y)
            top.label("TEXT", "SHEET_FIDUCIAL", x, y)
    if slots:
        cells[marks.name] = marks
        for x, y in block_sites:
            top.place(marks.name, x, y)
    tests = None
    if wafer.test_sites:   # die sites given to test structures through the sheet's own stack (no plating: no tails)
        from .teststructures import pdk_stack, reserve, wafer_test_sites

        where = f"{wafer.where()}: Wafer.test_sites"
        full = dm
        dm, places = reserve(dm, wafer.test_sites, where)
        tests = wafer_test_sites(pdk, pdk_stack(pdk, set(die.layout.layers()), [], {"SPOT": pkg.sheet_thickness}), places, dm.die, None,
                                 f"TESTSITE_{pdk.name.upper()}", where, lane=(wafer.scribe, 0.0))
        cells[tests.cell.name] = tests.cell
        for _, x, y in places:
            top.place(tests.cell.name, round(x, 6), round(y, 6))
    if wafer.kerf_structures is True or (wafer.kerf_structures is None and "resistance" in pdk.data):
        from .assemble import kerf_structures
        from .teststructures import pdk_stack

        half = (max(fs, bw), half_h)   # the lane above the top row, clear of the fiducials and mark blocks
        kerf, tests = kerf_structures(wafer, pdk, pdk_stack(pdk, set(die.layout.layers()), [], {"SPOT": pkg.sheet_thickness}),
                                      full if tests is not None else dm, shape, None, tests, 0.0,
                                      [box(x - half[0], y - half[1], x + half[0], y + half[1]) for x, y in sites])
        for c, (_, x, y) in zip(kerf.cells, kerf.places) if kerf is not None else ():
            cells[c.name] = c
            top.place(c.name, x, y)
    firsts = [(x - (x0 + x1) / 2, y - (y0 + y1) / 2) for x, y in (dm.run_origin(r) for r in dm.runs)]
    top.refs[:0] = _row_arrays(die.layout.top, firsts, [r[2] - r[1] + 1 for r in dm.runs], dm.pitch[0])

    radius = shape.radius + sheet.margin
    outline = disc(radius, grid)
    if pkg.frame is not None:
        outer = radius - pkg.frame.inset
        if outer - line <= shape.radius + LENGTH_EPS_UM:
            raise refuse(pkg.frame.where(), "Frame.inset", pkg.frame.inset,
                          f"leaves the {line:g} µm frame line over the wafer edge: raise WaferSheet.margin or lower the inset")
        ring = disc(outer, grid)
        # the inner edge parallel to the outer polygon's (one grid step more, so the snapped vertices keep the width)
        top.add("MARK", shapely.set_precision(ring.difference(ring.buffer(-(line + grid), join_style="mitre")), grid))
    ports = _ports(design, pdk, shape.radius, radius - (pkg.frame.inset + line if pkg.frame else 0.0)) if pkg.ports else []
    top.add("PORT", *ports)
    wafer_outline = shape.outline(grid)
    top.add("WAFER", wafer_outline.difference(shape.usable(grid)))
    xs, ys = (full if tests is not None else dm).lanes(shape.radius)
    top.add("KERF", *lane_lines(xs, ys, wafer.kerf, wafer_outline, None, grid))
    cells[top.name] = top
    layout = Layout(top=top.name, cells=cells)

    scale = sheet.scale
    summary = {
        "diameter_mm": wafer.diameter, "orientation": wafer.orientation, "edge_exclusion_um": wafer.edge_exclusion,
        "scribe_um": wafer.scribe, "kerf_um": wafer.kerf, "die_um": [round(v, 6) for v in dm.die],
        "pitch_um": list(dm.pitch), "offset_um": [round(v, 6) for v in dm.offset],
        "offset_mode": "auto" if wafer.offset == "auto" else "fixed", "dies": dm.count, "positions": dm.count,
        "gross_die_estimate": round(gross_die_estimate(wafer.diameter * 1000.0, wafer.edge_exclusion, *dm.pitch), 1),
        "map": [list(r) for r in dm.runs],
        "sheet": {
            "diameter_mm": round(2 * radius / 1000.0, 6), "margin_um": sheet.margin,
            "frame": None if pkg.frame is None else {"outer_diameter_mm": round(2 * (radius - pkg.frame.inset) / 1000, 6),
                                                     "line_um": line},
            "expansion_ppm_per_k": sheet.expansion, "wafer_expansion_ppm_per_k": sheet.wafer_expansion,
            "temperature_step_k": sheet.temperature_step,
            "growth_ppm": round((sheet.expansion - sheet.wafer_expansion) * sheet.temperature_step, 3),
            "mask_scale": round(scale, 9),
            "mask_pitch_um": [round(p * scale, 6) for p in dm.pitch],
            "edge_shift_compensated_um": round(abs(1 - scale) * shape.usable_radius, 3),
        },
        "ports": [{"x": round(c.x, 3) + 0.0, "y": round(c.y, 3) + 0.0, "diameter_um": pkg.ports.diameter}
                  for c in (g.centroid for g in ports)] if ports else None,
        "fiducials": {"cell": f"SHEET_FIDUCIAL_{name_number(pkg.fiducials.size)}" if pkg.fiducials else None,
                      "sites": [[round(v, 6) for v in s] for s in fid_sites], "dies_dropped": dropped,
                      "layers": ["THRU", "MARK"]},
        "marks": {"cell": marks.name if block_sites else None, "area_layer": area if block_sites else None,
                  "sites": [[round(v, 6) for v in s] for s in block_sites], "size_um": [2 * bw, 2 * bh],
                  "slots": {t.target: {"layer": t.layer, "aligned": list(t.aligners), "x": t.x, "y": t.y, "half_um": t.half,
                                       "cross_half_um": mark_cross(pdk, t.layer)[1]} for t in slots},
                  "verniers": [{"target": v.target, "ref_layer": v.ref_layer, "aligned": v.aligner, "layer": v.layer,
                                "x_row": list(v.x_row), "y_row": list(v.y_row), "pitch_um": v.pitch, "step_um": v.step,
                                "gap_um": v.gap} for v in verniers],
                  "alignment": alignment_marks(pdk, wafer)},
        "mask_features": {m.name: round(v * scale, 6) for m in pdk.masks if (v := _rule_minimum(pdk, m)) is not None},
        "cells": {"top": top.name, "die": die.layout.top},
    }
    files = {}
    if tests is not None:
        from .teststructures import structures_rows

        summary["test_structures"] = tests.summary()
        files["teststructures.csv"] = structures_rows(tests.structures)
    return WaferResult(layout=layout, field=outline, summary=summary, die_map=dm, sites=sites, files=files)

"""Stepper reticles: one per mask, the shot's die array at the stepper's reduction, and the job file. All lengths in µm.

A reticle holds one shot (`ShotMap.per_shot` dies with the lanes between them, half a lane at
each edge so neighbouring shots meet on the lane centre lines), drawn at reticle scale (the
wafer pattern times the reduction 1×, 4× or 5×): the die cell's layers of the mask, scaled
once and placed by an array; the plating bus on the lane centre lines inside the field (masks
that carry PLATE); the mask's alignment cross at the four field corners (the scribe marks a
stepper aligns each field to); on a clear-field mask a chrome band around the field (on a
dark-field mask the area outside the field is chrome already); the field on SHOT; and
the reticle's barcode text (design, mask, revision, reduction) below the field. Mirrored and
inverted as the PDK says for the mask. The job file lists the shots: index, column and row in
the shot grid, and the shot centre on the wafer, for every mask the same grid.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..layout import Cell, Layout
from ..pdk import Mask, Pdk
from ..wafer.diemap import DieMap
from ..wafer.marks import cross
from ..wafer.shots import ShotMap
from . import mask_layer_map, text_polygons

FRAME_UM = 2000.0  # chrome band around the field on a clear-field reticle, at reticle scale


def reticle_name(design: str, revision: str, mask: Mask, reduction: int) -> str:
    """The reticle's barcode text: design, mask, revision and reduction."""
    return f"{design}-{mask.name}-{revision}-{reduction}X"


def reticle_layout(layout: Layout, die_cell: str, die_centre: tuple[float, float], mask: Mask, pdk: Pdk, dm: DieMap,
                   shots: ShotMap, reduction: int, design: str, revision: str, bus_width: float | None = None) -> Layout:
    """The reticle of `mask` for one shot of `shots`, at `reduction` (the wafer pattern × reduction), centred at the origin."""
    grid, r = pdk.grid_um, float(reduction)
    out = mask.layers[0]
    scale = lambda g: shapely.set_precision(shapely.affinity.scale(g, r, r, origin=(0, 0)), grid)  # noqa: E731
    name = reticle_name(design, revision, mask, reduction).replace("-", "_").replace(".", "p")
    die = Cell(f"{name}_DIE")
    for layer in mask.layers:
        geoms = layout.flat(layer, die_cell)
        if geoms:
            die.add(out, *[scale(shapely.affinity.translate(g, -die_centre[0], -die_centre[1])) for g in geoms])
    (nx, ny), (px, py) = shots.per_shot, dm.pitch
    w, h = nx * px * r / 2, ny * py * r / 2
    field = box(-w, -h, w, h)
    top = Cell(name)
    data: list[Polygon] = []
    if "PLATE" in mask.layers and bus_width:
        width = bus_width * r
        xs = (np.arange(nx + 1) - nx / 2) * px * r
        ys = (np.arange(ny + 1) - ny / 2) * py * r
        lines = [box(x - width / 2, -h, x + width / 2, h) for x in xs] + [box(-w, y - width / 2, w, y + width / 2) for y in ys]
        data += [shapely.set_precision(g.intersection(field), grid) for g in lines]
    arms, _ = cross(pdk, out)
    data += [scale(shapely.affinity.translate(g, sx * w / r, sy * h / r)).intersection(field)
             for g in arms for sx in (-1, 1) for sy in (-1, 1)]
    if mask.field == "clear":
        data.append(box(-w - FRAME_UM, -h - FRAME_UM, w + FRAME_UM, h + FRAME_UM).difference(field))
    label = pdk.labels.mask_label_height_um          # the PDK's label height, at wafer scale
    text = text_polygons(reticle_name(design, revision, mask, reduction), -w, -h - FRAME_UM - 2 * label * r, label * r)
    cells = {die.name: die}
    if mask.invert:  # the complement inside the field, flat: a shot is a few dozen dies
        dies = [shapely.affinity.translate(g, (i - (nx - 1) / 2) * px * r, (j - (ny - 1) / 2) * py * r)
                for i in range(nx) for j in range(ny) for g in die.shapes.get(out, [])]
        top.add(out, field.difference(shapely.union_all(dies + data)))
        cells = {}
    else:
        top.place(die.name, -(nx - 1) / 2 * px * r, -(ny - 1) / 2 * py * r, columns=nx, rows=ny,
                  spacing=(px * r, py * r))
        top.add(out, *[g for g in data if not g.is_empty])
    top.add(out, *text)
    top.add("SHOT", field)
    if mask.mirror:
        mirrored = Cell(f"{name}_M")
        mirrored.place(top.name, 0.0, 0.0, rotation=180.0, x_reflection=True)
        cells[top.name] = top
        return Layout(top=mirrored.name, cells={**cells, mirrored.name: mirrored})
    return Layout(top=top.name, cells={**cells, top.name: top})


def job_rows(dm: DieMap, shots: ShotMap) -> list[dict]:
    """One row per shot, bottom to top, left to right: index, shot column and row, centre on the wafer (µm)."""
    out = []
    for k, (sx, sy) in enumerate(sorted(shots.shots, key=lambda s: (s[1], s[0]))):
        x, y = shots.centre(dm, (sx, sy))
        out.append({"shot": k + 1, "column": sx, "row": sy, "x_um": round(x, 6), "y_um": round(y, 6)})
    return out


def write_job(folder: Path, dm: DieMap, shots: ShotMap, reduction: int, reticles: dict[str, str]) -> dict:
    """Write `job.csv` (the shots) and `job.json` (reduction, field, dies per shot, reticle per mask, shots) into `folder`."""
    rows = job_rows(dm, shots)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=["shot", "column", "row", "x_um", "y_um"], lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    (folder / "job.csv").write_text(buf.getvalue(), encoding="utf-8")
    job = {"reduction": reduction, "field_um": [round(v, 6) for v in shots.size], "per_shot": list(shots.per_shot),
           "pitch_um": list(dm.pitch), "reticles": reticles, "shots": len(rows), "shot_table": "job.csv"}
    (folder / "job.json").write_text(json.dumps({**job, "shot_list": rows}, indent=2) + "\n", encoding="utf-8")
    return job


def write_reticles(result, design, pdk: Pdk, outline: tuple[float, float, float, float], masks: list[dict], stage: Path) -> dict:
    """Every written mask's reticle into `stage/reticles/<MASK>.gds`, and the job file; the summary entry."""
    from ..gdsio import write_layout

    stepper, wafer = design.wafer.stepper, design.wafer
    folder = stage / "reticles"
    folder.mkdir(parents=True, exist_ok=True)
    by_name = {m.name: m for m in pdk.masks}
    centre = ((outline[0] + outline[2]) / 2, (outline[1] + outline[3]) / 2)
    files = {}
    for d in masks:
        mask = by_name[d["name"]]
        ly = reticle_layout(result.layout, result.summary["cells"]["plated_die"], centre, mask, pdk, result.die_map,
                            result.shots, stepper.reduction, design.name, design.revision, wafer.plating.bus_width)
        rel = Path("reticles") / f"{mask.name}.gds"
        write_layout(ly, pdk, stage / rel, layer_map=mask_layer_map(mask, pdk))
        files[mask.name] = str(rel)
    return write_job(folder, result.die_map, result.shots, stepper.reduction, files)

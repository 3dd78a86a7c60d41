"""Masks derived from drawn layers as the PDK says: layers merged, tone, mirror, label; the manifest.

A mask's tone is the PDK's (`Mask.invert`): an inverted mask is the complement of its drawn
layers inside the mask field (`invert.py`, which keeps a wafer's die arrays hierarchical).
A mask file holds only its own data: its cells are named after the mask (`PV1_<cell>`), so a
mask and the design load into one session without clashing, and no net-name texts (those
stay in the combined layout). The label says design, mask, revision, tone, mirror and the
date-free build id, large enough to read on the plate.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gdstk
import shapely
from shapely.geometry import Polygon

from ..layout import Cell, Layout
from ..pdk import Mask, Pdk
from .invert import complement_layout


def mask_layer(mask: Mask, pdk: Pdk) -> tuple[int, int]:
    """The GDS layer the mask's data is written on: its first drawn layer's number."""
    return pdk.layer(mask.layers[0]).gds


def _prune(layout: Layout, keep: set[str]) -> Layout:
    """A copy of `layout` holding only the shapes on layers in `keep` (no texts), without cells left empty."""
    out = Layout(top=layout.top)
    nonempty: dict[str, bool] = {}

    def has_data(name: str) -> bool:
        if name not in nonempty:
            c = layout.cells[name]
            nonempty[name] = any(c.shapes.get(k) for k in keep) or any(has_data(r.cell) for r in c.refs)
        return nonempty[name]

    for name, c in layout.cells.items():
        if not has_data(name) and name != layout.top:
            continue
        out.cells[name] = Cell(
            name,
            shapes={k: v for k, v in c.shapes.items() if k in keep},
            refs=[r for r in c.refs if has_data(r.cell)],
        )
    return out


def text_polygons(text: str, x: float, y: float, height: float) -> list[Polygon]:
    """The polygons of `text` in gdstk's stroke font, lower-left at (x, y)."""
    return [Polygon(p.points) for p in gdstk.text(text, height, (x, y))]


def mask_label(design_name: str, revision: str, mask: Mask, build_id: str = "", scale: float = 1.0) -> str:
    """The label a mask carries: design, mask name, revision, tone, mirror, scale (when not 1), build id (never the clock)."""
    tone = f"{mask.field.upper()} FIELD" + (" INVERTED" if mask.invert else "")
    mirror = "MIRRORED" if mask.mirror else "RIGHT READING"
    scaled = f" SCALE {scale:.7f}" if scale != 1.0 else ""
    return f"{design_name} {mask.name} REV {revision} {tone} {mirror}{scaled}" + (f" ID {build_id}" if build_id else "")


def scale_layout(layout: Layout, scale: float, grid: float) -> Layout:
    """The layout magnified by `scale` about the origin, every vertex, placement and array step snapped to `grid`
    (cells stay shared: a cell scaled once is what every scaled placement of it shows)."""
    from dataclasses import replace

    from ..units import snap

    def grow(g):
        return shapely.set_precision(shapely.transform(g, lambda xy: xy * scale), grid)

    cells = {}
    for name, c in layout.cells.items():
        shapes = {k: [p for g in v for p in shapely.get_parts(grow(g)) if not p.is_empty] for k, v in c.shapes.items()}
        refs = [replace(r, x=snap(r.x * scale, grid), y=snap(r.y * scale, grid),
                        spacing=(snap(r.spacing[0] * scale, grid), snap(r.spacing[1] * scale, grid))) for r in c.refs]
        cells[name] = Cell(name, shapes=shapes, labels=c.labels, refs=refs)
    return Layout(top=layout.top, cells=cells)


def label_height(text: str, field: Polygon, least: float) -> float:
    """Text height for the label under `field`: a 40th of the field's short side (at least `least`,
    the PDK's labels.mask_label_height_um), smaller when the line would be wider than the field."""
    x0, y0, x1, y1 = field.bounds
    height = max(least, min(x1 - x0, y1 - y0) / 40)
    per_char = 9 / 16           # gdstk's stroke font: a character advances 9/16 of the text height
    fit = (x1 - x0) / (len(text) * per_char)
    return max(least, min(height, fit))


def rename_cells(layout: Layout, prefix: str) -> Layout:
    """The layout with every cell name prefixed (references follow)."""
    from dataclasses import replace

    new = {name: f"{prefix}{name}" for name in layout.cells}
    cells = {new[name]: Cell(new[name], shapes=c.shapes, labels=c.labels,
                             refs=[replace(r, cell=new[r.cell]) for r in c.refs])
             for name, c in layout.cells.items()}
    return Layout(top=new[layout.top], cells=cells)


def derive_mask(layout: Layout, mask: Mask, pdk: Pdk, design_name: str, revision: str,
                field: Polygon, build_id: str = "", scale: float = 1.0) -> Layout:
    """The mask's layout: its layers kept, the label drawn, mirrored and inverted as the PDK says.

    `field` is the mask field (die or wafer outline): the label sits below it and an inverted
    mask is the complement of the drawn layers inside it. A `scale` other than 1 magnifies the
    data about the origin (a substrate's thermal growth compensated); the label says so.
    """
    out_layer = mask.layers[0]
    if mask.invert:
        # The complement keeps the hierarchy: each die site type is complemented once.
        out = complement_layout(layout, mask.layers, field, pdk, out_layer, f"{design_name}_DATA")
    else:
        out = _prune(layout, set(mask.layers))
    if scale != 1.0:
        out = scale_layout(out, scale, pdk.grid_um)
    out = rename_cells(out, f"{mask.name}_")
    top = Cell(f"{mask.name}_{design_name}")
    if top.name in out.cells:
        top = Cell(f"{top.name}_TOP")
    x0, y0, _, _ = field.bounds
    text = mask_label(design_name, revision, mask, build_id, scale)
    height = label_height(text, field, pdk.labels.mask_label_height_um)
    label = text_polygons(text, x0, y0 - 2 * height, height)
    top.place(out.top, 0.0, 0.0, rotation=180.0 if mask.mirror else 0.0, x_reflection=mask.mirror)
    # The label reads correctly on the mask as exposed: mirrored with the data when mirrored.
    if mask.mirror:
        label = [shapely.affinity.scale(p, -1, 1, origin=(0, 0)) for p in label]
    top.add(out_layer, *label)
    out.cells[top.name] = top
    out.top = top.name
    return out


def mask_layer_map(mask: Mask, pdk: Pdk) -> dict[str, tuple[int, int]]:
    """Every drawn layer of the mask mapped onto the mask's one output layer."""
    target = mask_layer(mask, pdk)
    return {name: target for name in mask.layers}


def sha256(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(out_dir: Path, design: str, revision: str, build_id: str, masks: list[dict], field: Polygon) -> dict:
    """The mask shop's manifest: every mask file with its checksum, layer, tone, mirror, polarity,
    field, size and the mask it aligns to."""
    x0, y0, x1, y1 = field.bounds
    files = []
    for m in masks:
        for rel in m["files"]:
            path = out_dir / rel
            files.append({
                "file": Path(rel).name, "mask": m["name"], "format": "OASIS" if rel.endswith(".oas") else "GDSII",
                "sha256": sha256(path), "bytes": path.stat().st_size,
                "layer": f"{m['gds_layer'][0]}/{m['gds_layer'][1]}", "drawn_layers": m["layers"],
                "tone": f"{m['field']} field", "polarity": "inverted" if m["invert"] else "as drawn",
                "mirror": m["mirror"], "reading": "wrong reading" if m["mirror"] else "right reading",
                "aligns_to": m["aligns_to"], "top_cell": m["top_cell"],
                **({"scale": m["scale"]} if "scale" in m else {}),
            })
    return {"design": design, "revision": revision, "build_id": build_id, "units": "um",
            "field_um": {"x0": round(x0, 3), "y0": round(y0, 3), "x1": round(x1, 3), "y1": round(y1, 3),
                         "width": round(x1 - x0, 3), "height": round(y1 - y0, 3)},
            "files": files}


def job_deck(man: dict) -> str:
    """The manifest as a plain-text job deck, one block per file, for the mask shop's order form."""
    f = man["field_um"]
    lines = [f"# mask job deck: {man['design']} rev {man['revision']}, build {man['build_id']}",
             f"# field {f['width']:g} x {f['height']:g} um, from ({f['x0']:g}, {f['y0']:g}) to ({f['x1']:g}, {f['y1']:g})",
             f"# {len(man['files'])} files; units um", ""]
    for e in man["files"]:
        lines += [f"FILE      {e['file']}", f"MASK      {e['mask']}", f"FORMAT    {e['format']}",
                  f"TOPCELL   {e['top_cell']}", f"LAYER     {e['layer']}", f"TONE      {e['tone']}",
                  f"POLARITY  {e['polarity']}", f"MIRROR    {'yes' if e['mirror'] else 'no'} ({e['reading']})",
                  f"FIELD     {f['width']:g} x {f['height']:g} um", f"SIZE      {e['bytes']} bytes",
                  f"ALIGN     {e['aligns_to'] or '-'}",
                  *([f"SCALE     {e['scale']:.9f} (already applied to the data about (0, 0): write 1:1)"] if "scale" in e else []),
                  f"SHA256    {e['sha256']}", ""]
    return "\n".join(lines)


def write_manifest(out_dir: Path, man: dict) -> list[Path]:
    """masks/manifest.json and masks/jobdeck.txt."""
    folder = out_dir / "masks"
    a = folder / "manifest.json"
    a.write_text(json.dumps(man, indent=2) + "\n", encoding="utf-8")
    b = folder / "jobdeck.txt"
    b.write_text(job_deck(man), encoding="utf-8")
    return [a, b]

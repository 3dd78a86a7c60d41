"""Masks derived from drawn layers as the PDK says: layers merged, tone, mirror, label.

A mask's tone is the PDK's (`Mask.invert`): an inverted mask is the complement of its drawn
layers inside the mask field (`invert.py`, which keeps a wafer's die arrays hierarchical).
"""

from __future__ import annotations

import gdstk
import shapely
from shapely.geometry import Polygon

from ..layout import Cell, Layout
from ..pdk import Mask, Pdk
from .invert import complement_layout

LABEL_HEIGHT_UM = 40.0


def mask_layer(mask: Mask, pdk: Pdk) -> tuple[int, int]:
    """The GDS layer the mask's data is written on: its first drawn layer's number."""
    return pdk.layer(mask.layers[0]).gds


def _prune(layout: Layout, keep: set[str]) -> Layout:
    """A copy of `layout` holding only layers in `keep`, without cells left empty."""
    out = Layout(top=layout.top)
    nonempty: dict[str, bool] = {}

    def has_data(name: str) -> bool:
        if name not in nonempty:
            c = layout.cells[name]
            nonempty[name] = any(c.shapes.get(k) for k in keep) or any(lb.layer in keep for lb in c.labels) \
                or any(has_data(r.cell) for r in c.refs)
        return nonempty[name]

    for name, c in layout.cells.items():
        if not has_data(name) and name != layout.top:
            continue
        out.cells[name] = Cell(
            name,
            shapes={k: v for k, v in c.shapes.items() if k in keep},
            labels=[lb for lb in c.labels if lb.layer in keep],
            refs=[r for r in c.refs if has_data(r.cell)],
        )
    return out


def text_polygons(text: str, x: float, y: float, height: float = LABEL_HEIGHT_UM) -> list[Polygon]:
    """The polygons of `text` in gdstk's stroke font, lower-left at (x, y)."""
    return [Polygon(p.points) for p in gdstk.text(text, height, (x, y))]


def mask_label(design_name: str, revision: str, mask: Mask) -> str:
    """The label a mask carries: design, mask name, revision (never the clock)."""
    return f"{design_name} {mask.name} REV {revision}"


def derive_mask(layout: Layout, mask: Mask, pdk: Pdk, design_name: str, revision: str,
                field: Polygon) -> Layout:
    """The mask's layout: its layers kept, the label drawn, mirrored and inverted as the PDK says.

    `field` is the mask field (die or wafer outline): the label sits below it and an inverted
    mask is the complement of the drawn layers inside it.
    """
    keep = set(mask.layers)
    out = _prune(layout, keep)
    out_layer = mask.layers[0]
    top = Cell(f"{design_name}_{mask.name}")
    x0, y0, _, _ = field.bounds
    label = text_polygons(mask_label(design_name, revision, mask), x0, y0 - 2 * LABEL_HEIGHT_UM)
    if mask.invert:
        # The complement keeps the hierarchy: each die site type is complemented once.
        out = complement_layout(layout, mask.layers, field, pdk, out_layer, f"{top.name}_DATA")
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

"""Pictures of layouts: headless PNGs drawn by klayout.lay with the PDK's .lyp colours.

`render_png` draws one cell of one GDS; `render_previews` draws the pictures of a build
(the die with every layer, each mask alone, the wafer when there is one) into `preview/`.
The picture frames the whole cell with a small margin; with the same input the PNG bytes
are the same (no oversampling, no clock in the file).
"""

from __future__ import annotations

import re
from pathlib import Path

import klayout.db as kdb
import klayout.lay as klay

from ..errors import LayoutgenError
from .files import ViewError, read_summary, write_atomic

MARGIN = 0.02                  # blank band around the drawn extent, as a fraction of it
BACKGROUND = "#ffffff"
SIZE = (1200, 1200)
# The wafer map draws where the dies are, not what is in them (at wafer scale that is a blur).
WAFER_MAP_LAYERS = ("WAFER", "DIE", "KERF", "SHOT", "PLATE", "MARK")
_LD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def _load_view(gds: Path, lyp: Path | None, texts: bool = False) -> klay.LayoutView:
    """A headless view of `gds` with the .lyp's layers (and any the .lyp lacks), all levels."""
    gds = Path(gds)
    if not gds.is_file():
        raise ViewError(f"{gds}: no such layout file")
    view = klay.LayoutView()
    for key, val in {"background-color": BACKGROUND, "grid-visible": "false",
                     "text-visible": "true" if texts else "false"}.items():
        view.set_config(key, val)
    try:
        view.load_layout(str(gds), True)
    except RuntimeError as e:
        raise ViewError(f"{gds}: KLayout cannot read it: {e}") from None
    if lyp is not None:
        if not Path(lyp).is_file():
            raise ViewError(f"{lyp}: no such layer properties file")
        view.load_layer_props(str(lyp), True)
    return view


def _layer_name(node: klay.LayerPropertiesNodeRef) -> str:
    """The layer's name in the .lyp without the "L/D" the name may carry ("RDL 20/0" → "RDL")."""
    name = node.name.strip()
    parts = name.split()
    return parts[0] if len(parts) == 2 and _LD.match(parts[1]) else name


def _matches(node: klay.LayerPropertiesNodeRef, spec: str) -> bool:
    """True when `spec` (a layer name or "L/D") designates the layer of `node`."""
    ld = _LD.match(spec)
    if ld:
        return (node.source_layer, node.source_datatype) == (int(ld[1]), int(ld[2]))
    return _layer_name(node).upper() == spec.strip().upper()


def _show_only(view: klay.LayoutView, layers: list[str]) -> None:
    """Hide every layer that none of `layers` (names or "L/D") designates; ViewError for unknown ones."""
    nodes = list(view.each_layer())
    unknown = [s for s in layers if not any(_matches(n, s) for n in nodes)]
    if unknown:
        known = ", ".join(f"{_layer_name(n)} ({n.source_layer}/{n.source_datatype})" for n in nodes)
        raise ViewError(f"unknown layer {', '.join(map(repr, unknown))}; the layout has {known or 'no layer'}")
    for node in nodes:
        node.visible = any(_matches(node, s) for s in layers)


def _select_cell(view: klay.LayoutView, cell: str | None) -> kdb.Cell:
    """Make `cell` (default: the first top cell) the shown cell and return it."""
    cv = view.cellview(0)
    layout = cv.layout()
    if cell is None:
        tops = layout.top_cells()
        if not tops:
            raise ViewError(f"{cv.filename()}: the layout has no cell")
        cell = tops[0].name
    target = layout.cell(cell)
    if target is None:
        names = ", ".join(c.name for c in layout.top_cells())
        raise ViewError(f"{cv.filename()}: no cell {cell!r} (top cells: {names})")
    cv.cell_name = cell
    return target


def frame(bbox: kdb.DBox, size: tuple[int, int]) -> kdb.DBox:
    """The area a picture of `size` shows for a cell of extent `bbox`: margin added, aspect kept."""
    w, h = bbox.width() * (1 + 2 * MARGIN), bbox.height() * (1 + 2 * MARGIN)
    scale = max(w / size[0], h / size[1]) or 1.0
    cx, cy = bbox.center().x, bbox.center().y
    half_w, half_h = scale * size[0] / 2, scale * size[1] / 2
    return kdb.DBox(cx - half_w, cy - half_h, cx + half_w, cy + half_h)


def _draw(view: klay.LayoutView, png: Path, cell: str | None, layers: list[str] | None,
          size: tuple[int, int], area: kdb.DBox | None = None) -> Path:
    """Draw `cell` of the loaded view (only `layers` when given) into `png`: all of it, or `area` (µm)."""
    target = _select_cell(view, cell)
    for node in view.each_layer():
        node.visible = True
    if layers:
        _show_only(view, layers)
    view.max_hier()
    bbox = target.dbbox()
    if bbox.empty():
        raise ViewError(f"cell {target.name!r} is empty: nothing to draw")
    pixels = view.get_pixels_with_options(size[0], size[1], 1, 1, 0.0, frame(area or bbox, size))
    return write_atomic(Path(png), pixels.to_png_data())


ZOOM_SIZE = (600, 600)


def zoom_areas(summary: dict, mask: str | None = None) -> dict[str, kdb.DBox]:
    """Where a wafer mask's thumbnails zoom in (µm, as drawn): the die site nearest the wafer centre
    and, at the first alignment-mark site, the slot holding `mask`'s own mark (its cross, or its box
    around the cross it aligns to; the whole site when it has none); {} without a wafer."""
    w = summary.get("wafer")
    if not isinstance(w, dict) or not w.get("pitch_um"):
        return {}
    (px, py), (ox, oy) = w["pitch_um"], w.get("offset_um") or (0.0, 0.0)
    cx, cy = ox - round(ox / px) * px, oy - round(oy / py) * py
    dies = [(ox + i * px, oy + j * py) for j, i0, i1 in w.get("map") or () for i in range(i0, i1 + 1)]
    if dies and not any(abs(x - cx) < 1e-3 and abs(y - cy) < 1e-3 for x, y in dies):
        # the site at the centre holds test structures (Wafer.test_sites): the product die nearest the centre
        cx, cy = min(dies, key=lambda c: (round(c[0] ** 2 + c[1] ** 2, 3), c[1], c[0]))
    areas = {"die": kdb.DBox(cx - px / 2, cy - py / 2, cx + px / 2, cy + py / 2)}
    marks = w.get("marks") or {}
    if marks.get("sites") and marks.get("size_um"):
        (mx, my), (sx, sy) = marks["sites"][0], marks["size_um"]
        areas["mark"] = kdb.DBox(mx - 0.6 * sx, my - 0.6 * sy, mx + 0.6 * sx, my + 0.6 * sy)
        slots = marks.get("slots") or {}
        own = slots.get(mask) or next((s for s in slots.values() if mask in s.get("aligned", ())), None)
        if own is not None:
            # its own cross (the target's, framed by the others' boxes) fills the picture; its box, the slot
            half = own.get("cross_half_um") if own is slots.get(mask) else None
            x, y, h = mx + own["x"], my + own["y"], 1.3 * (half or own["half_um"])
            areas["mark"] = kdb.DBox(x - h, y - h, x + h, y + h)
    return areas


def render_png(gds: Path, png: Path, lyp: Path | None = None, layers: list[str] | None = None,
               cell: str | None = None, size: tuple[int, int] = SIZE, texts: bool = False) -> Path:
    """Draw `cell` (default: the top cell) of `gds` into `png`, with the .lyp's colours."""
    if size[0] < 16 or size[1] < 16:
        raise ViewError(f"picture size {size[0]}x{size[1]} is too small (16x16 at least)")
    view = _load_view(gds, lyp, texts)
    return _draw(view, png, cell, layers, size)


def _wafer_layer(view: klay.LayoutView, out_dir: Path) -> tuple[int, int] | None:
    """The GDS layer the .lyp calls WAFER, else the WAFER layer of the design's PDK (named in its
    summary.json), else None (the wafer cell is then found by its name)."""
    for node in view.each_layer():
        if _layer_name(node).upper() == "WAFER":
            return node.source_layer, node.source_datatype
    name = (read_summary(out_dir).get("pdk") or {}).get("name")
    if name:
        from ..pdk import load_pdk

        try:
            pdk = load_pdk(name)
        except LayoutgenError:   # a user's PDK may not be on this machine's search path
            return None
        if "WAFER" in pdk.layers:
            return pdk.layer("WAFER").gds
    return None


def _wafer_map_layers(view: klay.LayoutView) -> list[str] | None:
    """The WAFER_MAP_LAYERS the view's layers name (None, i.e. every layer, when it names none)."""
    names = {_layer_name(n).upper() for n in view.each_layer()}
    found = [name for name in WAFER_MAP_LAYERS if name in names]
    return found or None


def _die_and_wafer(view: klay.LayoutView, die_name: str | None, out_dir: Path) -> tuple[str | None, str | None]:
    """The die cell and the wafer cell (a top cell drawing on WAFER, or named so) of the loaded layout."""
    layout = view.cellview(0).layout()
    wafer_layer = _wafer_layer(view, out_dir)
    li = layout.find_layer(*wafer_layer) if wafer_layer is not None else None
    tops = layout.top_cells()
    wafer = next((c.name for c in tops if (li is not None and not c.bbox(li).empty())
                  or "WAFER" in c.name.upper()), None)
    die = die_name if die_name and layout.cell(die_name) is not None else None
    if die is None:
        die = next((c.name for c in tops if c.name != wafer), None)
    return die, wafer


def render_previews(out_dir: Path, design_name: str, size: tuple[int, int] = SIZE) -> list[Path]:
    """Draw the die (all layers), each mask alone and the wafer map (if any) into `out_dir/preview/`."""
    out_dir = Path(out_dir)
    gds, lyp = out_dir / f"{design_name}.gds", out_dir / f"{design_name}.lyp"
    lyp_or_none = lyp if lyp.is_file() else None
    preview = out_dir / "preview"
    written: list[Path] = []
    view = _load_view(gds, lyp_or_none)
    die_name = (read_summary(out_dir).get("die") or {}).get("name")
    die, wafer = _die_and_wafer(view, die_name, out_dir)
    if die is not None:
        written.append(_draw(view, preview / "die.png", die, None, size))
    summary = read_summary(out_dir)
    mirrored = {m.get("name"): bool(m.get("mirror")) for m in summary.get("masks") or [] if isinstance(m, dict)}
    scaled = {m.get("name"): float(m.get("scale") or 1.0) for m in summary.get("masks") or [] if isinstance(m, dict)}
    for mask in sorted((out_dir / "masks").glob("*.gds")):
        mask_view = _load_view(mask, lyp_or_none)
        written.append(_draw(mask_view, preview / f"mask_{mask.stem}.png", None, None, size))
        for what, area in zoom_areas(summary, mask.stem).items():
            area = area * scaled.get(mask.stem, 1.0)   # a sheet mask is drawn scaled about the wafer centre
            if mirrored.get(mask.stem):      # a mirrored mask holds the site mirrored across x = 0
                area = kdb.DBox(-area.right, area.bottom, -area.left, area.top)
            written.append(_draw(mask_view, preview / f"zoom_{mask.stem}_{what}.png", None, None, ZOOM_SIZE, area))
    if wafer is not None:
        written.append(_draw(view, preview / "wafer.png", wafer, _wafer_map_layers(view), size))
    else:
        separate = sorted(p for p in out_dir.glob("*.gds") if "wafer" in p.stem.lower() and p != gds)
        if separate:
            wafer_view = _load_view(separate[0], lyp_or_none)
            written.append(_draw(wafer_view, preview / "wafer.png", None, _wafer_map_layers(wafer_view), size))
    for stale in preview.glob("*.png"):
        if stale not in written and (stale.name in ("die.png", "wafer.png") or stale.name.startswith(("mask_", "zoom_"))):
            stale.unlink()
    return written

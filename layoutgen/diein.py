"""Die data in: pads read from the layout (GDS/OASIS) or the LEF/DEF a chip designer hands over.

Both read through klayout.db's own readers. Pad centres are given from the die centre, as a
`Pad` wants them: the centre of the DEF's DIEAREA, or (for a layout) of the cell's bounding
box unless `origin` names the die centre in the file's coordinates. Errors name the file
and what is missing (cell, layer, a pad without a name, two names on one pad).
"""

from __future__ import annotations

import re
from pathlib import Path

from .design import CONFIG_FILE, Pad
from .errors import ConfigError


def _resolve(path: str | Path) -> Path:
    """`path`, relative to the running config's folder when relative; ConfigError if absent."""
    p = Path(path)
    cfg = CONFIG_FILE.get()
    if not p.is_absolute() and cfg:
        p = Path(cfg).parent / p
    if not p.is_file():
        raise ConfigError(f"{p}: no such file")
    return p


def natural_key(name: str) -> list:
    """Sort key that orders numbered names as people do: P2 before P10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _layer_spec(spec: str | tuple[int, int] | int, what: str) -> tuple[int, int]:
    """(layer, datatype) of 12, (12, 0) or '12/0'."""
    try:
        if isinstance(spec, int):
            return spec, 0
        if isinstance(spec, str):
            a, _, b = spec.partition("/")
            return int(a), int(b or 0)
        a, b = spec
        return int(a), int(b)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} = {spec!r}: give a GDS layer as 12, (12, 0) or '12/0'") from None


def _shape_of(poly, dbu: float) -> tuple[str, float, float]:
    """Outline kind ('rect', 'octagon', 'round') and bounding-box size (µm) of a klayout polygon."""
    box = poly.bbox()
    n = poly.num_points_hull()
    kind = "rect" if poly.is_box() else ("octagon" if n == 8 else ("round" if n > 8 else "rect"))
    return kind, box.width() * dbu, box.height() * dbu


def _read(path: Path, options=None):
    import klayout.db as kdb

    ly = kdb.Layout()
    try:
        ly.read(str(path), options) if options is not None else ly.read(str(path))
    except RuntimeError as e:
        raise ConfigError(f"{path}: cannot read the layout: {str(e).splitlines()[0]}") from None
    return ly


def pads_from_layout(path: str | Path, layer: str | tuple[int, int] | int, text_layer: str | tuple[int, int] | int | None = None,
                     cell: str | None = None, origin: tuple[float, float] | None = None,
                     nets: dict[str, list[str]] | None = None) -> list[Pad]:
    """Pads from a die layout (GDS or OASIS): each opening on `layer` is a pad, named by the text
    on `text_layer` (default: `layer`) inside it.

    `cell` is the die cell (default: the only top cell); openings are merged over the whole
    hierarchy. Centres are from `origin` (the die centre in the file, µm), default the centre
    of the cell's bounding box. A pad's net is its name unless `nets` maps a net to pad names
    (e.g. {"VDD": ["VDD1", "VDD2"]}).
    """
    import klayout.db as kdb

    p = _resolve(path)
    ly = _read(p)
    if cell is None:
        tops = ly.top_cells()
        if len(tops) != 1:
            raise ConfigError(f"{p}: {len(tops)} top cells ({', '.join(c.name for c in tops) or 'none'}): name the die with cell=")
        top = tops[0]
    else:
        top = ly.cell(cell)
        if top is None:
            raise ConfigError(f"{p}: no cell {cell!r} (cells: {', '.join(sorted(c.name for c in ly.each_cell()))})")
    lay = _layer_spec(layer, "layer")
    tlay = _layer_spec(text_layer, "text_layer") if text_layer is not None else lay
    present = {(info.layer, info.datatype) for info in (ly.get_info(i) for i in ly.layer_indexes())}

    def index(ld: tuple[int, int], what: str) -> int:
        if ld not in present:
            found = ", ".join(f"{a}/{b}" for a, b in sorted(present)) or "none"
            raise ConfigError(f"{p}: no {what} layer {ld[0]}/{ld[1]} in the file (layers: {found})")
        return ly.find_layer(*ld)

    openings = kdb.Region(top.begin_shapes_rec(index(lay, "pad"))).merged()
    if openings.is_empty():
        raise ConfigError(f"{p}: cell {top.name} has no pad openings on layer {lay[0]}/{lay[1]}")
    texts = kdb.Texts(top.begin_shapes_rec(index(tlay, "text")))
    dbu = ly.dbu
    if origin is None:
        b = top.dbbox()
        ox, oy = b.center().x, b.center().y
    else:
        ox, oy = origin
    names: dict[int, list[str]] = {}
    polys = list(openings.each())
    for t in texts.each():
        pt = t.bbox().center()
        for i, poly in enumerate(polys):
            if poly.inside(pt):
                names.setdefault(i, []).append(t.string)
                break
    net_of = {name: net for net, members in (nets or {}).items() for name in members}
    pads: list[Pad] = []
    for i, poly in enumerate(polys):
        c = poly.bbox().center()
        x, y = round(c.x * dbu - ox, 6), round(c.y * dbu - oy, 6)
        found = names.get(i, [])
        if len(found) != 1:
            what = "no text" if not found else f"{len(found)} texts ({', '.join(found)})"
            raise ConfigError(f"{p}: the pad opening at ({c.x * dbu:g}, {c.y * dbu:g}) µm on layer {lay[0]}/{lay[1]} has "
                              f"{what} on layer {tlay[0]}/{tlay[1]}; each opening needs one name")
        kind, w, h = _shape_of(poly, dbu)
        pads.append(Pad(name=found[0], net=net_of.get(found[0], found[0]), x=x, y=y, width=w, height=h, shape=kind))
    unknown = set(net_of) - {pad.name for pad in pads}
    if unknown:
        raise ConfigError(f"{p}: nets= names pads that are not in the layout: {', '.join(sorted(unknown))}")
    return sorted(pads, key=lambda pad: natural_key(pad.name))


def pads_from_def(path: str | Path, lef: str | Path | list[str | Path] = (), layer: str | None = None) -> list[Pad]:
    """Pads from the PINS of a DEF (with its technology LEF): each pin's shape, its name and net.

    Centres are from the centre of the DEF's DIEAREA. `layer` picks the pins' layer (LEF layer
    name) when pins have shapes on several; a pin with no NET gets its own name as the net.
    """
    import klayout.db as kdb

    p = _resolve(path)
    lefs = [_resolve(f) for f in ([lef] if isinstance(lef, (str, Path)) else list(lef))]
    opts = kdb.LoadLayoutOptions()
    cfg = opts.lefdef_config
    cfg.lef_files = [str(f) for f in lefs]
    cfg.produce_pins = True
    cfg.pin_property_name = "PIN"
    cfg.net_property_name = "NET"
    opts.lefdef_config = cfg
    ly = _read(p, opts)
    tops = ly.top_cells()
    if len(tops) != 1:
        raise ConfigError(f"{p}: no design in the DEF")
    top = tops[0]
    dbu = ly.dbu
    die_area = None
    pins: dict[str, list] = {}
    for li in ly.layer_indexes():
        name = ly.get_info(li).name
        if name == "OUTLINE":
            die_area = kdb.Region(top.shapes(li)).bbox()
        if not name.endswith(".PIN") or (layer is not None and name[:-4] != layer):
            continue
        for sh in top.shapes(li).each():
            pin = sh.property("PIN")
            if pin is not None:
                pins.setdefault(str(pin), []).append((name[:-4], sh.polygon, sh.property("NET")))
    if die_area is None or die_area.empty():
        raise ConfigError(f"{p}: no DIEAREA: the pad centres need the die outline")
    if not pins:
        where = f" on layer {layer}" if layer else ""
        raise ConfigError(f"{p}: no PINS with shapes{where} (LEF: {', '.join(map(str, lefs)) or 'none given'})")
    ox, oy = die_area.center().x * dbu, die_area.center().y * dbu
    pads: list[Pad] = []
    for name, shapes in sorted(pins.items(), key=lambda kv: natural_key(kv[0])):
        layers = sorted({s[0] for s in shapes})
        if len(layers) > 1:
            raise ConfigError(f"{p}: pin {name} has shapes on {', '.join(layers)}: choose one with layer=")
        region = kdb.Region([s[1] for s in shapes]).merged()
        if region.count() != 1:
            raise ConfigError(f"{p}: pin {name} has {region.count()} separate shapes; a pad is one opening")
        poly = next(iter(region.each()))
        c = poly.bbox().center()
        kind, w, h = _shape_of(poly, dbu)
        net = shapes[0][2]
        pads.append(Pad(name=name, net=str(net) if net else name, x=round(c.x * dbu - ox, 6), y=round(c.y * dbu - oy, 6),
                        width=w, height=h, shape=kind))
    return pads

"""Support for the wafer tests (no tests here): a small die drawn by hand, and mask writing.

The die is built from `layoutgen.layout` objects and the pad/ball stack cells, without the
router: pads on each side, a straight RDL trace from every pad inward to its own ball, net
labels on PAD and BUMP, ball names on TEXT.
"""

from __future__ import annotations

import functools
from pathlib import Path

import klayout.db as kdb
import shapely
from shapely.geometry import box

from layoutgen.cells.shapes import rect
from layoutgen.cells.stacks import ball_cell, pad_cell
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Pad, Plating, Wafer
from layoutgen.gdsio import write_layout
from layoutgen.layout import Cell, Layout
from layoutgen.masks import derive_mask, mask_layer, mask_layer_map
from layoutgen.pdk import Pdk

TRACE_UM = 20.0


@functools.lru_cache(maxsize=16)
def _read(path: str, stamp: tuple[int, int]) -> kdb.Layout:
    ly = kdb.Layout()
    ly.read(path)
    return ly


def gds_region(path: Path, layers: list[tuple[int, int]], window: tuple[float, float, float, float] | None = None) -> kdb.Region:
    """The merged region of `layers` under the top cell of a GDS file, read by KLayout (each file read once while
    it is unchanged); with `window` (x0, y0, x1, y1, µm) only the shapes touching it, whole (clip with `& window`)."""
    st = Path(path).stat()
    ly = _read(str(path), (st.st_mtime_ns, st.st_size))
    top = ly.top_cell()
    box = None if window is None else kdb.Box(*[round(v / ly.dbu) for v in window])
    reg = kdb.Region()
    for lay in layers:
        li = ly.find_layer(*lay)
        if li is None:
            continue
        reg += kdb.Region(top.begin_shapes_rec(li) if box is None else top.begin_shapes_rec_touching(li, box))
    reg.merge()
    return reg


def pad_ball_pairs(size: float, per_side: int, inset: float = 70.0, ball_in: float = 600.0) -> list[tuple[float, float, float, float]]:
    """(pad x, pad y, ball x, ball y) for `per_side` pads on each side, each ball straight inward."""
    h = size / 2
    step = (size - 2 * 1000.0) / max(per_side - 1, 1)
    along = [-(size / 2 - 1000.0) + k * step for k in range(per_side)] if per_side > 1 else [0.0]
    out = []
    for a in along:
        out += [(-h + inset, a, -h + ball_in, a), (h - inset, a, h - ball_in, a),
                (a, -h + inset, a, -h + ball_in), (a, h - inset, a, h - ball_in)]
    return out


def make_design(size: float = 5000.0, per_side: int = 3, **wafer) -> Design:
    """A design with a `size` square die of 4 × `per_side` pads and the given wafer settings."""
    pairs = pad_ball_pairs(size, per_side)
    pads = [Pad(name=f"P{k + 1}", net=f"N{k + 1}", x=px, y=py) for k, (px, py, _, _) in enumerate(pairs)]
    plating = wafer.pop("plating", Plating())
    return Design(name="wtest", pdk="sky400", revision="B",
                  die=Die(name="TDIE", width=size, height=size, pads=pads),
                  package=FanInWlcsp(balls=BallGrid(rows=1, cols=1, pitch=400)),
                  wafer=Wafer(plating=plating, **{"diameter": 100, **wafer}))


def make_die_result(design: Design, pdk: Pdk):
    """A DieResult-like object (same fields) for `design`, drawn without the router."""
    from types import SimpleNamespace

    d = design.die
    layout = Layout(top=d.name)
    top = Cell(d.name)
    outline = rect(d.width, d.height, pdk.grid_um)
    seal = pdk.die.seal_width_um
    top.add("DIE", outline)
    top.add("SEAL", outline.difference(rect(d.width - 2 * seal, d.height - 2 * seal, pdk.grid_um)))
    bcell = layout.add(ball_cell("round", pdk))
    pairs = pad_ball_pairs(d.width, len(d.pads) // 4)
    balls, ball_nets = [], {}
    for k, (p, (px, py, bx, by)) in enumerate(zip(d.pads, pairs)):
        pcell = layout.add(pad_cell(p.width, p.height, p.shape, pdk, p.name))
        top.place(pcell.name, px, py)
        top.label("PAD", p.net, px, py)
        trace = shapely.LineString([(px, py), (bx, by)]).buffer(TRACE_UM / 2, cap_style="flat")
        top.add("RDL", shapely.set_precision(trace, pdk.grid_um))
        name = f"B{k + 1}"
        top.place(bcell.name, bx, by)
        top.label("BUMP", p.net, bx, by)
        top.label("TEXT", name, bx, by)
        balls.append((name, bx, by))
        ball_nets[name] = p.net
    layout.add(top)
    layout.cells = {k: layout.cells[k] for k in [*(k for k in layout.cells if k != top.name), top.name]}
    return SimpleNamespace(layout=layout, ball_nets=ball_nets, assignment={p.name: b for p, (b, _, _) in zip(d.pads, balls)},
                           route_lengths={}, nets=sorted({p.net for p in d.pads}), balls=balls, extra={})


def write_masks(layout: Layout, field: shapely.Polygon, design: Design, pdk: Pdk, folder: Path) -> list[dict]:
    """Every mask of the PDK whose layers the layout draws, written as build.write_outputs does."""
    used = set(layout.layers())
    out = []
    pdk = pdk.for_route(getattr(design.package, "route", None))   # the masks of the design's process route
    for mask in pdk.masks:
        if not (used & set(mask.layers)) - {"MARK"}:
            continue  # nothing of this mask's own (marks alone make no mask)
        m = derive_mask(layout, mask, pdk, design.name, design.revision, field)
        rel = Path("masks") / f"{mask.name}.gds"
        write_layout(m, pdk, folder / rel, layer_map=mask_layer_map(mask, pdk))
        out.append({"name": mask.name, "file": str(rel), "layers": mask.layers, "gds_layer": list(mask_layer(mask, pdk)),
                    "field": mask.field, "invert": mask.invert, "mirror": mask.mirror, "aligns_to": mask.aligns_to})
    return out


def site_box(x: float, y: float, design: Design) -> shapely.Polygon:
    """The die box of a die centred at (x, y)."""
    return box(x - design.die.width / 2, y - design.die.height / 2, x + design.die.width / 2, y + design.die.height / 2)

"""Out to the board designer: the pinout, the ball map and the netlist, read from the written layout.

Nothing here trusts the router's plan: the die cell of the written GDS is read back, its
conductor pieces and net labels are joined by the DRC's connectivity code (the PDK's via
stack), balls are named by their TEXT labels and pads by the design's pad outlines. The
trace length of a net is that of the wiring the die cell draws itself (the pad and ball
stacks are cells of their own), each merged trace measured as a strip from its area and
perimeter.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely

from .design import Design, _parse_ball
from .diein import natural_key
from .drc.connectivity import place_terminals
from .drc.engine import CellLayers
from .drc.geometry import polygons
from .drc.read import Layout as GdsLayout
from .drc.read import layer_key
from .errors import DrcError
from .pdk import Pdk

POWER = re.compile(r"^(A|D|P|IO)?(VDD|VCC|VPP|VIO|VBAT|PWR|VIN)", re.I)
GROUND = re.compile(r"^(A|D|P|IO)?(VSS|GND|VEE)", re.I)
PINOUT_COLUMNS = ["ball", "row", "column", "x_um", "y_um", "net", "pads"]


@dataclass(frozen=True)
class Ball:
    """One ball as read back: JEDEC name, centre from the die centre (µm), net and the pads it reaches."""

    name: str
    x: float
    y: float
    net: str
    pads: tuple[str, ...]

    @property
    def row(self) -> str:
        """The row letters of a JEDEC name ('' for a terminal named otherwise)."""
        m = re.fullmatch(r"([A-Z]+)(\d+)", self.name)
        return m.group(1) if m else ""

    @property
    def column(self) -> int | str:
        """The column number of a JEDEC name ('' for a terminal named otherwise)."""
        return int(self.name[len(self.row):]) if self.row else ""


def ball_order(name: str) -> tuple:
    """Sort key of a ball name: row, then column (A1, A2, ..., A10, B1); other names naturally, after."""
    try:
        return (0, *_parse_ball(name))
    except ValueError:
        return (1, *natural_key(name))


def kind_of(net: str) -> str:
    """'power', 'ground' or 'signal' from the net name."""
    return "ground" if GROUND.match(net) else "power" if POWER.match(net) else "signal"


def strip_length(poly: shapely.Polygon) -> float:
    """The length of a strip (trace) from its area A and perimeter P: L·w = A, 2(L + w) = P."""
    half = poly.length / 2
    disc = max(half * half - 4 * poly.area, 0.0)
    width = (half - math.sqrt(disc)) / 2
    return half - width


def read_back(gds: Path, pdk: Pdk, cell: str, design: Design | None = None,
              ball_names: set[str] | None = None) -> tuple[list[Ball], dict[str, dict]]:
    """The balls and the netlist (net -> pads, balls, trace length) of `cell` in the written `gds`.

    Balls are the TEXT labels named in `ball_names` (default: any JEDEC name) that sit on a
    shape of the last label layer that carries labels (a PDK may offer alternative terminal
    layers: a sheet's spots or masses); pads are named by the design's pad outlines."""
    layout = GdsLayout(gds)
    if cell not in layout.cells:
        raise DrcError(f"{gds}: no cell {cell!r} to read the pinout from")
    cl = CellLayers(layout.flatten(cell), pdk, layout=layout, top=cell, marks=False)
    stack = pdk.connectivity
    pad_layer = stack.label_layers[0]
    ball_layer = next((n for n in reversed(stack.label_layers[1:]) if len(cl.labels(n)[0])), stack.label_layers[-1])
    labels = {n: cl.labels(n) for n in (pad_layer, ball_layer)}
    terms = place_terminals(cl.pieces, labels)
    names = [(t, x, y) for t, x, y in cl.texts("TEXT")] if "TEXT" in pdk.layers else []
    pad_boxes = [(p.name, shapely.box(p.x - p.width / 2, p.y - p.height / 2, p.x + p.width / 2, p.y + p.height / 2))
                 for p in (design.die.pads if design is not None and design.die is not None else [])]

    def pad_name(i: int) -> str:
        pt = shapely.Point(terms.xy[i])
        return next((n for n, b in pad_boxes if b.covers(pt)), str(terms.net[i]))

    pads_on: dict[int, list[str]] = defaultdict(list)
    for i in np.flatnonzero(terms.layer == pad_layer):
        if terms.piece[i] >= 0:
            pads_on[int(terms.piece[i])].append(pad_name(i))
    # Every ball named on TEXT sits on a shape of the ball layer; its net is the label on that shape (none: NC).
    ball_idx = cl.pieces.of_layer(ball_layer)
    tree = shapely.STRtree(cl.pieces.geoms[ball_idx])
    term_at = {int(ball_idx[j]): i for i, j in zip(*tree.query(shapely.points(terms.xy[terms.layer == ball_layer]),
                                                                 predicate="intersects"))}
    ball_terms = np.flatnonzero(terms.layer == ball_layer)
    balls: list[Ball] = []
    for text, x, y in names:
        if not (text in ball_names if ball_names is not None else re.fullmatch(r"[A-Z]+\d+", text)):
            continue
        hit = tree.query(shapely.Point(x, y), predicate="intersects")
        if len(hit) == 0:
            continue
        shape = int(ball_idx[hit[0]])
        t = term_at.get(shape)
        net = str(terms.net[ball_terms[t]]) if t is not None else ""
        piece = int(cl.pieces.piece[shape])
        bx, by = shapely.centroid(cl.pieces.geoms[shape]).coords[0]
        # + 0.0: a centre on an axis is 0.000, not -0.000, whatever the float noise of the centroid
        balls.append(Ball(text, round(bx, 3) + 0.0, round(by, 3) + 0.0, net,
                          tuple(sorted(pads_on.get(piece, []), key=natural_key)) if net else ()))
    if len({b.name for b in balls}) != len(balls):
        raise DrcError(f"{gds}: a ball name is placed on two balls")
    balls.sort(key=lambda b: ball_order(b.name))
    # The wiring the die cell draws itself, on conductor layers that carry no labels.
    own, _ = layout.own(cell)
    net_of_piece: dict[int, str] = {int(terms.piece[i]): str(terms.net[i]) for i in range(len(terms.net)) if terms.piece[i] >= 0}
    length: dict[str, float] = defaultdict(float)
    for name in stack.conductors:
        if name in stack.label_layers or name not in pdk.layers:
            continue
        traces = shapely.union_all(polygons(own.select(layer_key(*pdk.layer(name).gds)), layout.dbu_um))
        idx = cl.pieces.of_layer(name)
        tree = shapely.STRtree(cl.pieces.geoms[idx]) if len(idx) else None
        for trace in getattr(traces, "geoms", [traces]):
            if trace.is_empty or tree is None:
                continue
            hit = tree.query(trace.representative_point(), predicate="intersects")
            net = net_of_piece.get(int(cl.pieces.piece[idx[hit[0]]])) if len(hit) else None
            if net is not None:
                length[net] += strip_length(trace)
    netlist: dict[str, dict] = {}
    for net in sorted({b.net for b in balls} | {str(n) for n in terms.net}, key=natural_key):
        on = [b for b in balls if b.net == net]
        pads = sorted({p for i in np.flatnonzero(terms.layer == pad_layer) if terms.net[i] == net for p in [pad_name(i)]},
                      key=natural_key)
        netlist[net] = {"kind": kind_of(net), "pads": pads, "balls": [b.name for b in on],
                        "trace_length_um": round(length.get(net, 0.0), 3)}
    return balls, netlist


def pinout_csv(balls: list[Ball]) -> str:
    """The pinout table: one row per ball, A1 first, pads joined by spaces."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(PINOUT_COLUMNS)
    for b in balls:
        w.writerow([b.name, b.row, b.column, f"{b.x:.3f}", f"{b.y:.3f}", b.net, " ".join(b.pads)])
    return buf.getvalue()


_FILL = {"power": "#e8a0a0", "ground": "#a0b8e8", "signal": "#f4f4f4"}


def ballmap_svg(balls: list[Ball], design_name: str, pitch: float | None = None) -> str:
    """The ball map seen from the ball side: the grid with each ball's net, A1 marked, power and ground coloured."""
    if not balls:
        return ""
    xs, ys = [b.x for b in balls], [b.y for b in balls]
    if pitch is None:
        steps = [abs(a - b) for v in (sorted(set(xs)), sorted(set(ys))) for a, b in zip(v[1:], v) if abs(a - b) > 1e-6]
        pitch = min(steps, default=100.0)
    px = 64.0 / pitch        # 64 px per pitch
    margin = 48.0
    x0, y1 = min(xs), max(ys)
    width = (max(xs) - x0) * px + 2 * margin
    height = (y1 - min(ys)) * px + 2 * margin + 24
    r = 26.0
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="9">',
           f'<text x="{margin / 2:.0f}" y="{height - 8:.0f}" font-size="12">{html.escape(design_name)}: ball side view, '
           f'A1 marked; red power, blue ground</text>']
    rows, cols = {}, {}
    for b in balls:
        cx, cy = margin + (b.x - x0) * px, margin + (y1 - b.y) * px
        rows[b.row], cols[b.column] = cy, cx
        kind = kind_of(b.net) if b.net else "signal"
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" fill="{_FILL[kind]}" stroke="#444"/>')
        out.append(f'<text x="{cx:.1f}" y="{cy - 3:.1f}" text-anchor="middle" font-weight="bold">{b.name}</text>')
        out.append(f'<text x="{cx:.1f}" y="{cy + 9:.1f}" text-anchor="middle">{html.escape(b.net[:10])}</text>')
        if b.name == "A1":
            out.append(f'<path d="M{cx - r - 6:.1f},{cy - r - 6:.1f} h14 l-14,14 z" fill="#000"/>')
    for name, cy in rows.items():
        out.append(f'<text x="{margin / 4:.1f}" y="{cy + 4:.1f}" font-size="12">{name}</text>')
    for col, cx in cols.items():
        out.append(f'<text x="{cx:.1f}" y="{margin / 3:.1f}" text-anchor="middle" font-size="12">{col}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_board_files(gds: Path, pdk: Pdk, cell: str, design: Design, out_dir: Path,
                      ball_names: set[str] | None = None) -> dict:
    """Write pinout.csv, ballmap.svg and netlist.json for the die cell of `gds`; the summary entry."""
    balls, netlist = read_back(gds, pdk, cell, design, ball_names)
    pitch = getattr(getattr(design.package, "balls", None), "pitch", None)
    (out_dir / "pinout.csv").write_text(pinout_csv(balls), encoding="utf-8")
    (out_dir / "ballmap.svg").write_text(ballmap_svg(balls, design.name, pitch), encoding="utf-8")
    (out_dir / "netlist.json").write_text(json.dumps(netlist, indent=2) + "\n", encoding="utf-8")
    return {"balls": len(balls), "nets": len(netlist), "files": ["pinout.csv", "ballmap.svg", "netlist.json"]}

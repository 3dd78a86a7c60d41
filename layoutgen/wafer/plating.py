"""The plating network: a tail from every RDL piece of the die into the scribe lane, the bus in
the lanes inside the saw kerf, and the contact ring at the wafer edge. All lengths in µm.

Tails belong to the die (one cell placed by arrays); bus and ring to the wafer cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..drc.geometry import acute_notches   # the DRC's own definition of the notch it checks
from ..layout import Cell, Label, Layout
from layoutgen.units import LENGTH_EPS_UM

SIDES = ("left", "right", "bottom", "top")


@dataclass(frozen=True)
class Tail:
    """A plating tail: the net it feeds, the point it starts at, the side it leaves by, its outline."""

    net: str
    x: float
    y: float
    side: str
    shape: Polygon


def conductor_islands(layout: Layout, cell: str, layers: list[str]) -> list[Polygon]:
    """The connected pieces of `layers` (merged) under `cell`, in the cell's coordinates."""
    geoms = [g for name in layers for g in layout.flat(name, cell)]
    if not geoms:
        return []
    merged = shapely.union_all(geoms)
    parts = [p for p in shapely.get_parts(merged) if p.geom_type == "Polygon" and p.area > 0]
    return sorted(parts, key=lambda p: (round(p.bounds[1], 3), round(p.bounds[0], 3)))


def _side_order(x: float, y: float, die: tuple[float, float, float, float]) -> list[str]:
    """The die sides ordered by distance from (x, y), nearest first."""
    x0, y0, x1, y1 = die
    dist = {"left": x - x0, "right": x1 - x, "bottom": y - y0, "top": y1 - y}
    return sorted(SIDES, key=lambda s: (dist[s], SIDES.index(s)))


def tail_shape(x: float, y: float, side: str, die: tuple[float, float, float, float], reach: float,
               width: float, grid: float) -> Polygon:
    """A straight tail of `width` from (x, y) across the die edge on `side` to `reach` beyond it."""
    x0, y0, x1, y1 = die
    h = round(width / 2.0 / grid) * grid
    if side == "left":
        return box(x0 - reach, y - h, x, y + h)
    if side == "right":
        return box(x, y - h, x1 + reach, y + h)
    if side == "bottom":
        return box(x - h, y0 - reach, x + h, y)
    return box(x - h, y, x + h, y1 + reach)


def _starts(islands: list[Polygon], labels: list[Label], pad_layer: str) -> list[list[tuple[str, float, float]]]:
    """Per island, where a tail may start: its pads (labels on `pad_layer`), else its other labels, else a point on it."""
    on: list[list[Label]] = [[] for _ in islands]
    if labels and islands:
        pts = shapely.points([(lb.x, lb.y) for lb in labels])
        li, ii = shapely.STRtree(islands).query(pts, predicate="intersects")
        for a, b in sorted(zip(li.tolist(), ii.tolist())):
            on[b].append(labels[a])
    out = []
    for island, mine in zip(islands, on):
        pads = [(lb.text, lb.x, lb.y) for lb in mine if lb.layer == pad_layer]
        others = [(lb.text, lb.x, lb.y) for lb in mine]
        p = island.representative_point()
        out.append(pads or others or [("", p.x, p.y)])
    return out


def plating_tails(islands: list[Polygon], labels: list[Label], die: tuple[float, float, float, float],
                  reach: float, width: float, space: float, grid: float,
                  pad_layer: str = "PAD") -> tuple[list[Tail], list[tuple[str, float, float]]]:
    """One straight tail per island (from a pad's landing pad when it has one), clear of every other
    island and tail by `space`; also the (net, x, y) of islands no straight tail can leave."""
    tree = shapely.STRtree(islands) if islands else None
    tails: list[Tail] = []
    stuck: list[tuple[str, float, float]] = []
    for k, starts in enumerate(_starts(islands, labels, pad_layer)):
        made = None
        for net, x, y in starts:
            for side in _side_order(x, y, die):
                shape = tail_shape(x, y, side, die, reach, width, grid)
                near = tree.query(shape, predicate="dwithin", distance=space - LENGTH_EPS_UM) if tree is not None else []
                if any(int(i) != k for i in near):
                    continue
                if tails and shapely.dwithin(shape, np.asarray([t.shape for t in tails], dtype=object), space - LENGTH_EPS_UM).any():
                    continue
                made = Tail(net, x, y, side, shape)
                break
            if made:
                break
        if made:
            tails.append(made)
        else:
            stuck.append(starts[0])
    return tails, stuck


def plated_die_cell(die_cell: str, tails: list[Tail]) -> Cell:
    """The die as placed on the wafer: the die cell and its plating tails on PLATE."""
    cell = Cell(f"{die_cell}_PLATED")
    cell.place(die_cell, 0.0, 0.0)
    cell.add("PLATE", *[t.shape for t in tails])
    return cell


def contact_ring(outline: Polygon, inner: Polygon) -> Polygon:
    """The contact ring: the band between the wafer outline and `inner`."""
    return outline.difference(inner)


def close_ring_notches(ring: Polygon, bus: list[Polygon], space: float, grid: float) -> Polygon:
    """The contact ring with the wedges filled where bus lines meet it at a shallow angle.

    A bus line crossing the ring's inner edge nearly tangentially leaves a sliver of gap
    between its side and the ring narrower than the plating space; closing the ring and the
    bus ends by half the space fills exactly those wedges (they belong to the ring).
    """
    r = space / 2.0 + grid
    zone = ring.buffer(2 * space, join_style="mitre")
    ends = [b.intersection(zone) for b in bus if b.intersects(zone)]
    local = shapely.union_all([ring, *ends])
    closed = local.buffer(r, join_style="mitre").buffer(-r, join_style="mitre")
    wedges = closed.difference(local).intersection(zone)
    if not wedges.is_empty:
        ring = _largest(shapely.set_precision(ring.union(wedges), grid))
    return fill_acute_notches(ring, ends, space, grid)


def _largest(geom: shapely.Geometry) -> Polygon:
    return max(shapely.get_parts(geom), key=lambda g: g.area) if geom.geom_type != "Polygon" else geom


def fill_acute_notches(ring: Polygon, ends: list[Polygon], space: float, grid: float) -> Polygon:
    """The contact ring with the V-shaped notches filled where a straight bus line meets its
    curved inner edge at less than 90°: square-cornered closing leaves a V unchanged, but its
    walls stay closer than the plating space for up to space / sin(angle) from the tip.

    Each notch is filled with the triangle spanned by the parts of its two walls that are
    closer than the space (plus two grid steps); the triangle's base is then at least the
    space wide and meets both walls at more than 90°, so no new notch appears. Repeated
    until none is left (grid snapping can leave a new one, rarely)."""

    margin = space + 2 * grid
    for _ in range(4):
        local = shapely.union_all([ring, *ends])
        parts = np.asarray(shapely.get_parts(local))
        found = [mark for _, mark in acute_notches(parts, margin)]
        if not found:
            break
        ring = _largest(shapely.set_precision(shapely.union_all([ring, *found]), grid))
    return ring


def lane_lines(xs: np.ndarray, ys: np.ndarray, width: float, within: Polygon, keepout: shapely.Geometry | None,
               grid: float) -> list[Polygon]:
    """Lines of `width` on every lane centre line (x = xs, y = ys), across `within`, less `keepout`.

    The bus (inside the saw kerf, reaching into the contact ring) and the saw kerf itself are drawn with it.
    """
    x0, y0, x1, y1 = within.bounds
    h = width / 2.0
    lines = np.concatenate([shapely.box(xs - h, y0, xs + h, y1), shapely.box(x0, ys - h, x1, ys + h)])
    clipped = shapely.intersection(lines, within)
    if keepout is not None and not keepout.is_empty:
        clipped = shapely.difference(clipped, keepout)
    parts = shapely.get_parts(shapely.set_precision(clipped, grid))
    return [p for p in parts if p.geom_type == "Polygon" and p.area > width * width]

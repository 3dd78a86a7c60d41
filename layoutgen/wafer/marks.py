"""Alignment marks: for every mask a cross to align the next mask to, and a box around the cross
of the mask it aligns to (PDK `aligns_to`), all in one cell placed at two sites. All lengths in µm.

Each target (a mask, or a reference layer such as the chip PAD a first mask aligns to) has a
slot: its cross at the slot centre, and around it the box of every mask registered to it, so
a mask's box and its target's cross share a centre by construction. Marks are drawn on the
masks' own first drawn layers so every mask file carries them; feature sizes follow the
layer's rules (bar at least the layer's minimum width; a layer with a `size` rule, such as
BUMP, draws dots of exactly that size instead of bars). The MARK layer outlines the mark
area (checks and fill keep out of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from shapely.geometry import Point, Polygon, box
from shapely.ops import nearest_points

from ..cells.shapes import circle
from ..errors import PdkError
from ..layout import Cell
from ..pdk import Pdk

MARK_BAR_UM = 20.0      # bar width where the layer's own minimum width is smaller
MARK_GAP_UM = 10.0      # gap between a cross and the box around it, at least
SLOT_SPACE_UM = 100.0   # space between neighbouring targets
MARK_MARGIN_UM = 50.0   # MARK area beyond the outermost mark feature


@dataclass(frozen=True)
class Slot:
    """One alignment target: its name, the layer of its cross, the masks whose boxes frame it, centre, half size."""

    target: str
    layer: str
    aligners: tuple[str, ...]
    x: float
    y: float
    half: float


def _up(x: float, grid: float) -> float:
    """`x` rounded up to the grid."""
    return math.ceil(x / grid - 1e-9) * grid


def targets(pdk: Pdk) -> list[tuple[str, str, tuple[str, ...]]]:
    """(target, layer of its cross, masks aligned to it) in exposure order; PdkError for an unknown target."""
    by_name = {m.name: m for m in pdk.masks}
    order: dict[str, list[str]] = {}
    for m in pdk.masks:
        if m.aligns_to is None:
            continue
        if m.aligns_to not in by_name and m.aligns_to not in pdk.layers:
            raise PdkError(f"PDK {pdk.name!r}: mask {m.name} aligns_to {m.aligns_to!r}, which is neither a mask nor a layer")
        order.setdefault(m.aligns_to, []).append(m.name)
    out = []
    for t, aligners in order.items():
        layer = by_name[t].layers[0] if t in by_name else t
        out.append((t, layer, tuple(aligners)))
    return out


def bar_width(pdk: Pdk, layer: str) -> float:
    """Bar width of a mark on `layer`: the layer's minimum width, at least MARK_BAR_UM."""
    rule = pdk.find_rule("width", layer)
    return _up(max(MARK_BAR_UM, rule.value if rule and rule.value else 0.0), pdk.grid_um)


def dot_size(pdk: Pdk, layer: str) -> float | None:
    """Diameter of the dots a layer with a `size` rule draws its marks with, else None."""
    rule = pdk.find_rule("size", layer)
    return rule.value if rule and rule.value else None


def gap(pdk: Pdk, layer: str) -> float:
    """Gap between a target's cross and the box of `layer` around it."""
    rule = pdk.find_rule("space", layer)
    return _up(max(MARK_GAP_UM, rule.value if rule and rule.value else 0.0), pdk.grid_um)


def _dot_pitch(pdk: Pdk, layer: str, d: float) -> float:
    """Centre spacing of mark dots: the layer's pitch rule, at least a dot and a gap."""
    rule = pdk.find_rule("pitch", layer)
    return _up(max(d + gap(pdk, layer), rule.value if rule and rule.value else 0.0), pdk.grid_um)


def _dot(pdk: Pdk, d: float, x: float, y: float) -> Polygon:
    """One mark dot of diameter `d` at (x, y)."""
    return shapely.affinity.translate(circle(d, pdk.circle_vertices, pdk.grid_um, "inscribed"), x, y)


def cross(pdk: Pdk, layer: str) -> tuple[list[Polygon], float]:
    """A cross on `layer` centred at the origin, and its half extent."""
    d = dot_size(pdk, layer)
    if d is not None:
        p = _dot_pitch(pdk, layer, d)
        pts = [(0.0, 0.0), (p, 0.0), (-p, 0.0), (0.0, p), (0.0, -p)]
        return [_dot(pdk, d, x, y) for x, y in pts], p + d / 2.0
    b = bar_width(pdk, layer)
    arm = 1.5 * b
    return [box(-arm, -b / 2, arm, b / 2).union(box(-b / 2, -arm, b / 2, arm))], arm


def frame(pdk: Pdk, layer: str, inner: float) -> tuple[list[Polygon], float]:
    """A box on `layer` whose opening is `inner` from the centre, and its half extent."""
    inner = _up(inner, pdk.grid_um)
    d = dot_size(pdk, layer)
    if d is not None:
        c = _up(max(inner + d / 2.0, _dot_pitch(pdk, layer, d) / 2.0), pdk.grid_um)
        return [_dot(pdk, d, sx * c, sy * c) for sx in (-1, 1) for sy in (-1, 1)], c + d / 2.0
    outer = inner + bar_width(pdk, layer)
    return [box(-outer, -outer, outer, outer).difference(box(-inner, -inner, inner, inner))], outer


def _slot_shapes(pdk: Pdk, layer: str, aligners: tuple[str, ...]) -> tuple[dict[str, list[Polygon]], float]:
    """Shapes per layer of one slot (the cross, the boxes nested around it), and its half size."""
    masks = {m.name: m for m in pdk.masks}
    shapes, ext = cross(pdk, layer)
    out: dict[str, list[Polygon]] = {layer: list(shapes)}
    for name in aligners:
        lay = masks[name].layers[0]
        shapes, ext = frame(pdk, lay, ext + gap(pdk, lay))
        out.setdefault(lay, []).extend(shapes)
    return out, ext


def _pack_rows(halves: list[float], space: float, limit: float) -> list[tuple[float, float]]:
    """Centres of squares of the given half sizes, placed in rows no wider than `limit`."""
    centres, x, y, row_h = [], 0.0, 0.0, 0.0
    for h in halves:
        if x > 0 and x + 2 * h > limit:
            x, y, row_h = 0.0, y - row_h - space, 0.0
        centres.append((x + h, y - h))
        x += 2 * h + space
        row_h = max(row_h, 2 * h)
    return centres


def _extent(halves: list[float], centres: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """Bounding box of squares of half sizes `halves` at `centres`."""
    return (min(c[0] - h for c, h in zip(centres, halves)), min(c[1] - h for c, h in zip(centres, halves)),
            max(c[0] + h for c, h in zip(centres, halves)), max(c[1] + h for c, h in zip(centres, halves)))


def _pack(halves: list[float], space: float) -> list[tuple[float, float]]:
    """Centres of squares of the given half sizes: largest first in rows, the row width giving the smallest diagonal."""
    order = sorted(range(len(halves)), key=lambda k: (-halves[k], k))
    big = [halves[k] for k in order]
    widths = [sum(2 * h + space for h in big[:k]) - space for k in range(1, len(big) + 1)]
    best = None
    for limit in widths:
        centres = _pack_rows(big, space, limit + 1e-9)
        x0, y0, x1, y1 = _extent(big, centres)
        if best is None or math.hypot(x1 - x0, y1 - y0) < best[0] - 1e-9:
            best = (math.hypot(x1 - x0, y1 - y0), centres)
    assert best is not None
    out = [(0.0, 0.0)] * len(halves)
    for k, c in zip(order, best[1]):
        out[k] = c
    return out


def alignment_cell(pdk: Pdk) -> tuple[Cell, list[Slot], tuple[float, float]]:
    """The mark cell (every slot, its MARK area, target names on TEXT), its slots and its half size (x, y)."""
    grid = pdk.grid_um
    cell = Cell(f"ALIGNMARKS_{pdk.name.upper()}")
    tg = targets(pdk)
    if not tg:
        return cell, [], (0.0, 0.0)
    built = [_slot_shapes(pdk, layer, aligners) for _, layer, aligners in tg]
    centres = _pack([h for _, h in built], SLOT_SPACE_UM)
    x0, y0, x1, y1 = _extent([h for _, h in built], centres)
    sx, sy = round(-(x0 + x1) / 2 / grid) * grid, round(-(y0 + y1) / 2 / grid) * grid
    slots = []
    for (t, layer, aligners), (shapes, h), (cx, cy) in zip(tg, built, centres):
        px, py = round((cx + sx) / grid) * grid, round((cy + sy) / grid) * grid
        for lay, geoms in shapes.items():
            cell.add(lay, *[shapely.set_precision(shapely.affinity.translate(g, px, py), grid) for g in geoms])
        cell.label("TEXT", t, px, py)
        slots.append(Slot(t, layer, aligners, px, py, h))
    hw = _up((x1 - x0) / 2 + MARK_MARGIN_UM, grid)
    hh = _up((y1 - y0) / 2 + MARK_MARGIN_UM, grid)
    cell.add("MARK", box(-hw, -hh, hw, hh))
    return cell, slots, (hw, hh)


def mark_sites(free: shapely.Geometry, half: tuple[float, float], radius: float, grid: float) -> list[tuple[float, float]]:
    """Two mark sites in `free`, as near the left and right wafer edge on the x axis as they fit; [] if none fit."""
    room = free.buffer(-(math.hypot(*half) + 2 * grid))
    if room.is_empty:
        return []
    snap = lambda p: (round(p.x / grid) * grid, round(p.y / grid) * grid)  # noqa: E731
    a = snap(nearest_points(room, Point(-radius, 0.0))[0])
    b = snap(nearest_points(room, Point(radius, 0.0))[0])
    if math.dist(a, b) < radius:
        coords = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(room)))
        far = max(coords.tolist(), key=lambda c: math.dist(a, c))
        b = snap(Point(far))
    return [a, b]

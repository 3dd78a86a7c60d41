"""Alignment marks: how every mask registers to the wafer, all in one cell placed at two sites. All lengths in µm.

The first mask of a flow (PDK `aligns_to = "KEYS"`, or no `aligns_to`) registers to what the
wafer already has: the keys the user names (`Wafer.alignment.keys`: in the die's own layout
or in the scribe), framed by a box on the mask's layer at each key; without keys it is a zero
layer, prealigned to the notch or flat, and its own cross becomes the key for the rest. Every
later mask aligns to a mask (`aligns_to`): that mask has a slot with its cross at the centre
and, around it, the box of every mask registered to it (box-in-box, sharing the centre by
construction), and a vernier block per pair (the reference mask's lines at a pitch, the
aligned mask's at the pitch plus `Wafer.alignment.vernier_step`, centre lines coinciding; one
row reads x, one reads y).

Marks are drawn on the masks' own first drawn layers so every mask file carries them; feature
sizes follow the layer's rules (bar at least the layer's minimum width; a layer with a `size`
rule, such as BUMP, draws dots of exactly that size instead of bars). Blocks sit in one row;
marks on a plated layer (the plating network's conductors) get a riser on PLATE to a spine
above the row, which the wafer joins to the network. The MARK layer outlines the mark area
(checks and fill keep out of it).
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
from ..pdk import KEYS, Pdk

MARK_BAR_UM = 20.0      # bar width where the layer's own minimum width is smaller
MARK_GAP_UM = 10.0      # gap between a cross and the box around it, at least
SLOT_SPACE_UM = 100.0   # space between neighbouring targets
MARK_MARGIN_UM = 50.0   # MARK area beyond the outermost mark feature
VERNIER_LINES = 7       # lines per vernier row (centre line and three each side; two where a layer draws dots)
VERNIER_FINE_UM = 40.0  # a layer whose mark elements are wider reads its overlay on five vernier lines, not seven


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


@dataclass(frozen=True)
class Vernier:
    """A vernier pair: reference mask and its layer, aligned mask and its layer, centres of the x and y rows, pitch, step."""

    target: str
    ref_layer: str
    aligner: str
    layer: str
    x_row: tuple[float, float]
    y_row: tuple[float, float]
    pitch: float
    step: float
    gap: float


def first_masks(pdk: Pdk) -> list[str]:
    """The masks that register to the wafer itself: `aligns_to` KEYS (or none); PdkError for an unknown target."""
    by_name = {m.name: m for m in pdk.masks}
    out = []
    for m in pdk.masks:
        if m.aligns_to in (None, KEYS):
            out.append(m.name)
        elif m.aligns_to not in by_name:
            raise PdkError(f"PDK {pdk.name!r}: mask {m.name} aligns_to {m.aligns_to!r}, which is no mask of the PDK; a first "
                           f"mask aligns to {KEYS!r} (the incoming wafer's keys, or its own zero-layer marks)")
    return out


def targets(pdk: Pdk) -> list[tuple[str, str, tuple[str, ...]]]:
    """(target mask, layer of its cross, masks aligned to it) in exposure order; PdkError for an unknown target."""
    by_name = {m.name: m for m in pdk.masks}
    first_masks(pdk)
    order: dict[str, list[str]] = {}
    for m in pdk.masks:
        if m.aligns_to not in (None, KEYS):
            order.setdefault(m.aligns_to, []).append(m.name)
    return [(t, by_name[t].layers[0], tuple(aligners)) for t, aligners in order.items()]


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


def _two_rows(halves: list[float], space: float) -> list[tuple[float, float]]:
    """Centres of squares in two rows (top edges at 0, bottom row below): largest first, each into the shorter row."""
    rows: list[list[int]] = [[], []]
    width = [0.0, 0.0]
    for k in sorted(range(len(halves)), key=lambda k: (-halves[k], k)):
        r = 0 if width[0] <= width[1] else 1
        rows[r].append(k)
        width[r] += 2 * halves[k] + space
    out = [(0.0, 0.0)] * len(halves)
    depth = max((2 * halves[k] for k in rows[0]), default=0.0) + space
    for r, ks in enumerate(rows):
        x = 0.0
        for k in sorted(ks):
            out[k] = (x + halves[k], -r * depth - halves[k] if r == 0 else -depth - halves[k])
            x += 2 * halves[k] + space
    return out


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


def _element(pdk: Pdk, layer: str, x: float, y: float, length: float, vertical: bool) -> Polygon:
    """One vernier element at (x, y): a bar `length` long (vertical or horizontal), or a dot on a `size` layer."""
    d = dot_size(pdk, layer)
    if d is not None:
        return _dot(pdk, d, x, y)
    w = bar_width(pdk, layer)
    return box(x - w / 2, y - length / 2, x + w / 2, y + length / 2) if vertical else box(x - length / 2, y - w / 2, x + length / 2, y + w / 2)


def _width(pdk: Pdk, layer: str) -> float:
    """Element width of a mark on `layer`: its dot size, else its bar width."""
    return dot_size(pdk, layer) or bar_width(pdk, layer)


def vernier_pitch(pdk: Pdk, ref: str, layer: str) -> float:
    """Reference pitch of a vernier between two layers: an element of either and its gap."""
    return _up(max(_width(pdk, n) + gap(pdk, n) for n in (ref, layer)), pdk.grid_um)


def vernier_lines(pdk: Pdk, ref: str, layer: str) -> int:
    """Lines each side of a vernier row's centre line: three for fine layers, two where a layer draws dots or bars
    wider than VERNIER_FINE_UM (those layers' overlay budget is tens of µm: five lines read it, seven only cost room)."""
    if dot_size(pdk, ref) or dot_size(pdk, layer) or max(_width(pdk, ref), _width(pdk, layer)) > VERNIER_FINE_UM:
        return 2
    return VERNIER_LINES // 2


def _bar_length(pdk: Pdk, layer: str) -> float:
    """Length of a vernier bar across its row: twice its width where that is fine, else its width (a square reads as
    well as a line: the vernier reads positions along the row), at least 2 MARK_BAR_UM."""
    w = bar_width(pdk, layer)
    return _up(max(2 * MARK_BAR_UM, w if w > VERNIER_FINE_UM else 2 * w), pdk.grid_um)


def vernier_block(pdk: Pdk, ref: str, layer: str, step: float, riser: float = MARK_BAR_UM,
                  spined: frozenset[str] | None = None) -> tuple[dict[str, list[Polygon]], float, tuple, tuple, float, float]:
    """A vernier pair in a square about the origin: the x row (vertical lines) along the bottom, the y row
    (horizontal lines) along the left.

    The reference layer's lines sit at k·p, the aligned layer's at k·(p + step), k = -n..n
    (`vernier_lines`), in two rows facing each other across a gap, so the centre lines coincide
    when the masks register and the pair that lines up reads the offset in steps. Bars get a
    spine joining their outer ends (a plated layer needs every line on the network: the layers
    in `spined`, every bar layer when None), long enough that a `riser` wide strap from its end
    clears the last line; each row is as thick as its own elements (bar length and spine, or dot).
    Returns shapes per layer, half size, the two row centres, the pitch and the gap between the rows.
    """
    grid = pdk.grid_um
    p = vernier_pitch(pdk, ref, layer)
    n = vernier_lines(pdk, ref, layer)
    wmax = max(_width(pdk, ref), _width(pdk, layer))
    g = _up(MARK_GAP_UM, grid)                      # the rows face each other on two masks: a gap to read across
    same = max(gap(pdk, ref), gap(pdk, layer))      # a layer's x row to its own y row: its space
    reach = _up(n * (p + step) + wmax / 2 + same + riser, grid)  # half length of a row, spine included

    def spine(lay: str) -> bool:
        return dot_size(pdk, lay) is None and (spined is None or lay in spined)

    def depth(lay: str) -> float:   # how far a row's elements (and spine) reach from the gap
        d = dot_size(pdk, lay)
        return d if d is not None else _bar_length(pdk, lay) + (bar_width(pdk, lay) if spine(lay) else 0.0)

    t = g / 2 + max(depth(ref), depth(layer))       # half thickness of the two facing rows
    h = _up(reach + 2 * t + max(g, same), grid)    # the square's half size
    c = _up(h - reach, grid)                       # row centre along its length: clear of the other row
    rx, ry = (c, -h + t), (-h + t, c)
    out: dict[str, list[Polygon]] = {}
    for which, lay, pitch in ((1, ref, p), (-1, layer, p + step)):
        length = _bar_length(pdk, lay)
        ks = [round(k * pitch / grid) * grid for k in range(-n, n + 1)]
        off = which * (g / 2 + (dot_size(pdk, lay) or length) / 2)  # element centres: bars and dots start at the gap
        xrow = [_element(pdk, lay, rx[0] + k, rx[1] + off, length, True) for k in ks]
        yrow = [_element(pdk, lay, ry[0] - off, ry[1] + k, length, False) for k in ks]
        if spine(lay):  # plated bars: a spine at the outer ends makes each row one piece
            w = bar_width(pdk, lay)
            yo = rx[1] + which * (g / 2 + length)
            xrow.append(box(rx[0] - reach, min(yo, yo + which * w), rx[0] + reach, max(yo, yo + which * w)))
            xo = ry[0] - which * (g / 2 + length)
            yrow.append(box(min(xo, xo - which * w), ry[1] - reach, max(xo, xo - which * w), ry[1] + reach))
        for row in (xrow, yrow):
            out.setdefault(lay, []).extend(shapely.get_parts(shapely.set_precision(shapely.union_all(row), grid)))
    return out, h, rx, ry, p, g


def key_frame(pdk: Pdk, layer: str, key_size: float) -> tuple[list[Polygon], float]:
    """The first mask's box around an incoming key of `key_size`, and its half extent."""
    return frame(pdk, layer, key_size / 2.0 + gap(pdk, layer))


def key_window(pdk: Pdk, layer: str, key_size: float, run: float) -> tuple[list[Polygon], float]:
    """A first backside mask's window over a front key of `key_size`, etched through the wafer so that the key shows
    from the back (alignment.backside = "through_wafer"): the key and a gap at the etch bottom, the drawn opening
    widened by `run` for the sloped wall; and its half extent."""
    half = _up(key_size / 2.0 + gap(pdk, layer) + run, pdk.grid_um)
    return [box(-half, -half, half, half)], half


def _risers(geoms: list[Polygon], to: float, width: float, grid: float) -> list[Polygon]:
    """PLATE risers from every piece of `geoms` to height `to`: up from its top at its right end, or down
    from its bottom at its left end when `to` lies below it."""
    if not geoms:
        return []
    h = _up(width / 2, grid)
    out = []
    for piece in shapely.get_parts(shapely.union_all(geoms)):
        x0, y0, x1, y1 = piece.bounds
        up = to > y1
        x = round(((x1 - h) if up else (x0 + h)) / grid) * grid
        cut = piece.intersection(box(x - h, -1e9, x + h, 1e9))
        b = cut.bounds if not cut.is_empty else piece.bounds
        out.append(box(x - h, b[3] - h, x + h, to) if up else box(x - h, to, x + h, b[1] + h))
    return out


def alignment_cell(pdk: Pdk, plated: list[str] | None = None, riser: float = 20.0, step: float = 0.5,
                   area: str = "MARK") -> tuple[Cell, list[Slot], list[Vernier], tuple[float, float]]:
    """The mark cell (every slot and vernier in a row, PLATE risers and spine when `plated` layers carry marks,
    the mark area on layer `area`, target names on TEXT), its slots, verniers and half size (x, y)."""
    grid = pdk.grid_um
    cell = Cell(f"ALIGNMARKS_{pdk.name.upper()}")
    tg = targets(pdk)
    if not tg:
        return cell, [], [], (0.0, 0.0)
    masks = {m.name: m for m in pdk.masks}
    blocks: list[tuple[dict[str, list[Polygon]], float]] = []
    pairs = []
    for _, layer, aligners in tg:
        blocks.append(_slot_shapes(pdk, layer, aligners))
    for t, layer, aligners in tg:
        for a in aligners:
            shapes, h, xr, yr, p, g = vernier_block(pdk, layer, masks[a].layers[0], step, riser, frozenset(plated or []))
            blocks.append((shapes, h))
            pairs.append((t, layer, a, masks[a].layers[0], xr, yr, p, g))
    halves = [h for _, h in blocks]
    centres = _two_rows(halves, SLOT_SPACE_UM)  # each row's risers reach the spine on its side
    x0, y0, x1, y1 = _extent(halves, centres)
    sx, sy = round(-(x0 + x1) / 2 / grid) * grid, round(-(y0 + y1) / 2 / grid) * grid
    placed = [(round((cx + sx) / grid) * grid, round((cy + sy) / grid) * grid) for cx, cy in centres]
    top_row = [abs((cy + sy + h) - (y1 + sy)) < 1e-6 for (cx, cy), h in zip(centres, halves)]
    plated = [n for n in (plated or [])]
    up: list[Polygon] = []
    down: list[Polygon] = []
    for (shapes, _), (px, py), first in zip(blocks, placed, top_row):
        for lay, geoms in shapes.items():
            moved = [shapely.set_precision(shapely.affinity.translate(g, px, py), grid) for g in geoms]
            cell.add(lay, *moved)
            if lay in plated:
                (up if first else down).extend(moved)
    slots = []
    for (t, layer, aligners), (_, h), (px, py) in zip(tg, blocks, placed):
        cell.label("TEXT", t, px, py)
        slots.append(Slot(t, layer, aligners, px, py, h))
    verniers = [Vernier(t, rl, a, al, (px + xr[0], py + xr[1]), (px + yr[0], py + yr[1]), p, step, g)
                for (t, rl, a, al, xr, yr, p, g), (px, py) in zip(pairs, placed[len(tg):])]
    hw = _up((x1 - x0) / 2 + MARK_MARGIN_UM, grid)
    hh = _up((y1 - y0) / 2 + MARK_MARGIN_UM, grid)
    if up or down:  # risers from every plated piece to PLATE spines above and below the rows, joined at both ends
        w = _up(riser, grid)
        top, bot = _up((y1 - y0) / 2 + SLOT_SPACE_UM / 2, grid), -_up((y1 - y0) / 2 + SLOT_SPACE_UM / 2, grid)
        spine = [box(-hw, top, hw, top + w)]
        if down:
            spine += [box(-hw, bot - w, hw, bot), box(-hw, bot - w, -hw + w, top + w), box(hw - w, bot - w, hw, top + w)]
        cell.add("PLATE", *_risers(up, top + w / 2, w, grid), *_risers(down, bot - w / 2, w, grid), *spine)
        hh = _up(top + w + MARK_MARGIN_UM, grid)
        hw = _up(hw + MARK_MARGIN_UM, grid)
    cell.add(area, box(-hw, -hh, hw, hh))
    return cell, slots, verniers, (hw, hh)


def mark_sites(free: shapely.Geometry, half: tuple[float, float], radius: float, grid: float) -> list[tuple[float, float]]:
    """Two mark sites in `free` (the mark box wholly inside), as near the left and right wafer edge on the x axis
    as they fit; [] if none fit."""
    hw, hh = half
    room = free.buffer(-(math.hypot(hw, hh) + 2 * grid))
    if room.is_empty:
        return []
    snap = lambda p: (round(p.x / grid) * grid, round(p.y / grid) * grid)  # noqa: E731
    a = snap(nearest_points(room, Point(-radius, 0.0))[0])
    b = snap(nearest_points(room, Point(radius, 0.0))[0])
    if math.dist(a, b) < radius:
        coords = shapely.get_coordinates(shapely.get_exterior_ring(shapely.get_parts(room)))
        far = max(coords.tolist(), key=lambda c: math.dist(a, c))
        b = snap(Point(far))
        if math.dist(a, b) < radius:
            return []
    return [a, b]

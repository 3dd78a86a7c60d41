"""Print stencil apertures: foil islands held by bridges, slivers too narrow to print dropped.

A stencil prints through its apertures; the foil between them must hang together. An
aperture that encloses a piece of foil (a ring around a pad, the rim around a recessed
tier) would leave that piece unsupported: straight bridges of the PDK's foil web width
(the stencil layer's space rule) tie every such island to the surrounding foil. Aperture
parts narrower than the aspect-ratio limit would not release paste and are left as foil.
All lengths in µm.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry

from layoutgen.pdk import Pdk
from layoutgen.units import STEP_EPS
from .tiers import outline
from layoutgen.cells.shapes import width_across_flats

# Bridge directions, in the order ties are broken: +x, +y, -x, -y.
DIRECTIONS = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))
SLIVER_UM2 = 1e-3


def polygons(geom: BaseGeometry | Iterable[BaseGeometry]) -> list[Polygon]:
    """The polygon parts of a geometry (or of several), empty ones dropped."""
    geoms = [geom] if isinstance(geom, BaseGeometry) else list(geom)
    out: list[Polygon] = []
    for g in geoms:
        out.extend(p for p in shapely.get_parts(g).tolist() if isinstance(p, Polygon) and not p.is_empty)
    return out


def on_grid(geom: BaseGeometry, grid: float) -> BaseGeometry:
    """`geom` with every vertex snapped to `grid`, kept valid."""
    return shapely.set_precision(geom, grid)


def drop_narrow(region: BaseGeometry, min_width: float, grid: float) -> BaseGeometry:
    """`region` less its parts narrower than `min_width` (an opening by half of it, mitred).

    Parts less than two grid steps narrower than `min_width` stay (the aspect-ratio rule's
    tolerance): closer than that an opening no longer tells, since GEOS drops the nm-thin
    cores it would leave, and no stencil is cut that finely.
    """
    if region.is_empty or min_width <= 0:
        return region
    r = min_width / 2 - grid
    core = region.buffer(-r, join_style="mitre", mitre_limit=10.0)
    opened = core.buffer(r, join_style="mitre", mitre_limit=10.0).intersection(region)
    if region.difference(opened).area <= SLIVER_UM2:
        return region
    return on_grid(opened, grid)


def islands(aperture: BaseGeometry) -> list[Polygon]:
    """The foil islands an aperture leaves: the holes of its polygons."""
    return [Polygon(ring) for p in polygons(aperture) for ring in p.interiors]


def _exit_distance(part: Polygon, x: float, y: float, d: tuple[float, float]) -> float:
    """How far from (x, y) along `d` the ray leaves the outline of `part` for the last time."""
    x0, y0, x1, y1 = part.bounds
    far = 2 * math.hypot(x1 - x0, y1 - y0) + 1.0
    hit = LineString([(x, y), (x + d[0] * far, y + d[1] * far)]).intersection(part.exterior)
    pts = shapely.get_coordinates(hit)
    if len(pts) == 0:
        return math.inf
    return float(max((px - x) * d[0] + (py - y) * d[1] for px, py in pts))


def _chosen(reach: list[float], per_island: int) -> list[int]:
    """Directions to bridge along: the shortest, the shortest opposite pair, or the n shortest."""
    order = sorted(range(4), key=lambda k: (reach[k], k))
    if per_island == 1:
        return order[:1]
    if per_island == 2:
        pairs = sorted(((0, 2), (1, 3)), key=lambda p: (reach[p[0]] + reach[p[1]], p))
        return list(pairs[0])
    return order[:min(per_island, 4)]


def bridges(aperture: BaseGeometry, width: float, per_island: int, grid: float) -> list[Polygon]:
    """Straight foil bridges, `width` wide, from every island of `aperture` out to the surrounding foil.

    Each bridge runs along an axis from a point of the island to beyond the aperture's
    outline; the directions are the shortest ways out (`per_island` of them, a symmetric
    pair when two). Bridges may cross other islands, which they then hold as well.
    """
    half = math.ceil(width / 2 / grid - STEP_EPS) * grid
    out: list[Polygon] = []
    for part in polygons(aperture):
        for ring in part.interiors:
            hole = Polygon(ring)
            c = hole.centroid if hole.contains(hole.centroid) else hole.representative_point()
            cx, cy = round(c.x / grid) * grid, round(c.y / grid) * grid
            reach = [_exit_distance(part, cx, cy, d) for d in DIRECTIONS]
            for k in _chosen(reach, per_island):
                if not math.isfinite(reach[k]):
                    continue
                dx, dy = DIRECTIONS[k]
                end = math.ceil((reach[k] + half) / grid) * grid
                xs = sorted((cx, cx + dx * end)) if dx else (cx - half, cx + half)
                ys = sorted((cy, cy + dy * end)) if dy else (cy - half, cy + half)
                out.append(box(xs[0], ys[0], xs[1], ys[1]))
    return out


def print_apertures(region: BaseGeometry, min_width: float, bridge_width: float, per_island: int,
                    grid: float) -> tuple[list[Polygon], list[Polygon]]:
    """The apertures that print `region`, and the bridges cut into it.

    Parts narrower than `min_width` are dropped, every foil island gets `per_island` bridges
    of `bridge_width`, and what the bridges leave too narrow is dropped as well.
    """
    shaped = drop_narrow(on_grid(region, grid), min_width, grid)
    cut = bridges(shaped, bridge_width, per_island, grid)
    if cut:
        shaped = drop_narrow(on_grid(shaped.difference(shapely.union_all(cut)), grid), min_width, grid)
    held = [b.intersection(region) for b in cut]
    return polygons(shaped), [b for b in polygons(held) if b.area > SLIVER_UM2]


def paste_aperture(opening: Polygon, shape: str, overprint: float, pdk: Pdk) -> Polygon:
    """The solder paste aperture over an ENCAP opening: `shape`, the opening's width plus `overprint` each side."""
    w = width_across_flats(opening) + 2 * overprint
    c = opening.centroid
    return shapely.affinity.translate(outline(w, shape, pdk), pdk.snap(c.x), pdk.snap(c.y))

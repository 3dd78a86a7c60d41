"""Trace and teardrop polygons on the manufacturing grid (all lengths in µm).

A trace is its centreline swept by an octagonal pen: half-width `a` across the axes, chamfer
half-length `t`, both on twice the grid. Sweeping a 0/45/90° centreline whose vertices sit on
twice the grid gives a polygon whose edges are all at multiples of 45°, whose vertices are all
on the grid, whose width is at least the rule width everywhere (bends included) and whose
outer bend corners are mitred at 45°. Because `t` is rounded up, a diagonal run is a few nm
wider than an orthogonal one; `Pen.diagonal` is that half-width, and the router spaces
diagonals by it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
import numpy as np
import shapely

from ...units import PARALLEL_EPS, STEP_EPS, snap, snap_down, snap_up
from .model import Route, RouteRules, Routing, Terminal

SQRT2 = math.sqrt(2.0)
TAN_22_5 = math.tan(math.pi / 8.0)



@dataclass(frozen=True)
class Pen:
    """The octagonal pen a trace is drawn with: half-width a on the axes, chamfer half-length t."""

    a: float
    t: float

    @property
    def diagonal(self) -> float:
        """Half-width of a 45° run drawn with this pen (≥ a, since t is rounded up)."""
        return (self.a + self.t) / SQRT2

    @property
    def outline(self) -> np.ndarray:
        """The pen's eight vertices, centred on the origin."""
        a, t = self.a, self.t
        return np.array([(a, -t), (a, t), (t, a), (-t, a), (-a, t), (-a, -t), (-t, -a), (t, -a)])


def pen_for(width: float, grid: float) -> Pen:
    """The pen that draws traces at least `width` wide with every vertex on `grid`."""
    quantum = 2.0 * grid
    a = snap_up(width / 2.0, quantum)
    return Pen(a, snap_up(a * TAN_22_5, quantum))


def trace_polygon(path: Sequence[tuple[float, float]], width: float, grid: float) -> shapely.Polygon:
    """A 0/45/90° centreline swept into an on-grid polygon with mitred 45° corners, ≥ width wide."""
    return trace_polygons([path], width, grid)[0]


def trace_polygons(
    paths: Sequence[Sequence[tuple[float, float]]], width: float, grid: float
) -> list[shapely.Polygon]:
    """`trace_polygon` for many centrelines at once (one vectorised hull pass)."""
    from layoutgen.drc.merge import union_groups

    if not len(paths):
        return []
    hulls, owner = trace_hulls(paths, width, grid)
    merged = union_groups(hulls, owner, np.arange(len(paths)))
    return list(shapely.set_precision(merged, grid))


def trace_hulls(
    paths: Sequence[Sequence[tuple[float, float]]], width: float, grid: float
) -> tuple[np.ndarray, np.ndarray]:
    """Convex pieces of many traces (pen swept along each segment) and the trace each belongs to.

    Their union per trace is the trace polygon; their vertices are path vertices plus pen
    vertices, so they lie on the grid exactly and can be measured without merging.
    """
    outline = pen_for(width, grid).outline
    if not len(paths):
        return np.array([], dtype=object), np.zeros(0, dtype=int)
    pts = [np.asarray(path, dtype=float).reshape(-1, 2) for path in paths]
    pts = [np.vstack([p, p]) if len(p) == 1 else p for p in pts]
    counts = np.array([len(p) - 1 for p in pts])
    flat = np.concatenate(pts)
    first = np.ones(len(flat), bool)
    first[np.cumsum(counts + 1) - 1] = False          # a path's last vertex starts no segment
    begin = np.flatnonzero(first)
    # Each piece is the hull of the pen at both ends of a segment; the 16 points go in as one
    # line string (made from the coordinate array in one call, no point objects).
    ends = np.concatenate([flat[begin, None] + outline, flat[begin + 1, None] + outline], axis=1)
    hulls = shapely.convex_hull(shapely.linestrings(ends))
    return hulls, np.repeat(np.arange(len(paths)), counts)


def inscribed_radius(ball: Terminal) -> float:
    """Distance from the ball centre to the nearest edge of its capture pad."""
    return float(shapely.distance(shapely.Point(ball.x, ball.y), ball.shape.exterior))


def circumradius(shape: shapely.Polygon, x: float, y: float) -> float:
    """Distance from (x, y) to the farthest vertex of shape."""
    coords = np.asarray(shape.exterior.coords)
    return float(np.max(np.hypot(coords[:, 0] - x, coords[:, 1] - y)))


def inscribed_radii(balls: Sequence[Terminal]) -> np.ndarray:
    """`inscribed_radius` of many balls in one vectorised pass."""
    centres = shapely.points([(b.x, b.y) for b in balls]) if balls else np.empty(0, object)
    return shapely.distance(centres, shapely.get_exterior_ring([b.shape for b in balls]))


def teardrop_width(ball: Terminal, rules: RouteRules, r_in: float | None = None) -> float:
    """Teardrop width where it meets the capture pad: ≤ the PDK's fraction of the pad diameter and
    ≤ its number of trace widths (`r_in`: the ball's inscribed radius, when known)."""
    limit = rules.teardrop_max_fraction * 2.0 * (inscribed_radius(ball) if r_in is None else r_in)
    return snap_down(min(limit, rules.teardrop_max_widths * rules.width), 2.0 * rules.grid)


def teardrop_reach(ball: Terminal, rules: RouteRules) -> float:
    """Farthest a teardrop of this ball can reach from the ball centre."""
    return math.hypot(inscribed_radius(ball) + rules.width, rules.width / 2.0)


def teardrop_run(ball: Terminal, rules: RouteRules, r_in: float | None = None) -> float:
    """How far a trace must run straight from the ball centre for a full teardrop to fit (`r_in`:
    the ball's inscribed radius, when known)."""
    return (inscribed_radius(ball) if r_in is None else r_in) + rules.width + rules.width / 2.0 + rules.space


def teardrop(ball: Terminal, path: Sequence[tuple[float, float]], rules: RouteRules,
             r_in: float | None = None) -> shapely.Polygon:
    """Fillet from the trace's last segment to the capture pad, with 45° flanks (empty when none fits;
    `r_in`: the ball's inscribed radius, when known); its corners are `teardrop_corners`."""
    corners = teardrop_corners(ball, path, rules, r_in)
    return shapely.Polygon() if corners is None else shapely.Polygon(corners)


def teardrop_corners(ball: Terminal, path: Sequence[tuple[float, float]], rules: RouteRules,
                     r_in: float | None = None) -> list[tuple[float, float]] | None:
    """The four corners of a trace's teardrop (None when none fits; `r_in`: the ball's inscribed
    radius, when known).

    The flanks leave the trace edges half a trace width outside the pad and widen at 45° until
    their corners lie just inside the pad, the width there at most teardrop_max_fraction of
    the pad diameter; every edge is at a multiple of 45° and every vertex on the grid, so the
    fillet keeps the angle and grid rules. It ends at least a half-width plus the spacing
    before the trace's first bend (a flank running into the next segment would leave a
    notch). Traces that reach the pad diagonally get none: their edges are not on the grid.
    """
    # Plain floats, not numpy arrays of two (called for every trace, several times a route): the
    # same IEEE operations in the same order, so the same corners; distances by numpy's hypot.
    cx, cy = float(ball.x), float(ball.y)
    (xa, ya), (xb, yb) = path[0], path[-1]
    forward = not np.hypot(float(xa) - cx, float(ya) - cy) < np.hypot(float(xb) - cx, float(yb) - cy)
    ex, ey = (float(v) for v in (path[-1] if forward else path[0]))
    px, py = (float(v) for v in (path[(-2 if forward else 1) if len(path) > 1 else 0]))
    if np.hypot(ex - cx, ey - cy) > 1e-6:  # a trace ending off the centre gets none
        return None
    seg = float(np.hypot(px - ex, py - ey))
    r_in = inscribed_radius(ball) if r_in is None else r_in
    w, grid = rules.width, rules.grid
    if seg <= r_in:
        return None
    ax, ay = (px - ex) / seg, (py - ey) / seg
    if min(abs(ax), abs(ay)) > PARALLEL_EPS:
        return None
    nx, ny = -ay, ax
    x_tip = snap_down(min(r_in + w / 2.0, seg - w / 2.0 - rules.space), grid)
    if x_tip <= r_in + grid:
        return None
    # Widen by t on each side: the corner (x_tip - t, w/2 + t) must stay inside the pad.
    r = r_in - 2.0 * grid
    b = w / 2.0 - x_tip
    disc = b * b - 2.0 * (x_tip * x_tip + w * w / 4.0 - r * r)
    if disc <= 0:
        return None
    t = min((-b + math.sqrt(disc)) / 2.0, teardrop_width(ball, rules, r_in) / 2.0 - w / 2.0)
    t = snap_down(t, grid)
    if t <= 2.0 * grid:
        return None
    tx, ty = ex + x_tip * ax, ey + x_tip * ay
    bx, by = ex + (x_tip - t) * ax, ey + (x_tip - t) * ay
    h, f = w / 2.0, w / 2.0 + t
    corners = [(tx - h * nx, ty - h * ny), (bx - f * nx, by - f * ny), (bx + f * nx, by + f * ny),
               (tx + h * nx, ty + h * ny)]
    return [(snap(x, grid), snap(y, grid)) for x, y in corners]


def routing_metal(routing: Routing, rules: RouteRules, pads: Sequence[Terminal] = ()) -> dict[str, shapely.Geometry]:
    """Per net, the RDL metal to draw: the metal the router checked (traces, teardrops and the
    fills of the notches they make with the net's own landings), or, for a routing made by hand,
    its traces and teardrops merged."""
    if routing.metal is not None:
        return dict(routing.metal)
    return routes_metal(routing.routes, {b.name: b for b in routing.balls}, rules)


def octilinear_hull(g: shapely.Geometry, grid: float) -> shapely.Polygon:
    """The smallest octagon with 0/45/90° edges and on-grid vertices that holds `g` (its x, y,
    x + y and x − y extents, rounded outward: to the grid, and the diagonals to twice the grid,
    so that every corner lands on the grid)."""
    xy = shapely.get_coordinates(g)
    u, v = xy[:, 0] + xy[:, 1], xy[:, 0] - xy[:, 1]
    lo = lambda a, s: math.floor(a.min() / s - STEP_EPS) * s   # noqa: E731
    hi = lambda a, s: math.ceil(a.max() / s + STEP_EPS) * s    # noqa: E731
    x0, x1, y0, y1 = lo(xy[:, 0], grid), hi(xy[:, 0], grid), lo(xy[:, 1], grid), hi(xy[:, 1], grid)
    u0, u1, v0, v1 = lo(u, 2 * grid), hi(u, 2 * grid), lo(v, 2 * grid), hi(v, 2 * grid)
    diamond = shapely.Polygon([((a + b) / 2, (a - b) / 2) for a, b in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))])
    return shapely.set_precision(shapely.box(x0, y0, x1, y1).intersection(diamond), grid)


def routes_metal(
    routes: Iterable[Route], balls: Mapping[str, Terminal], rules: RouteRules,
    pads: Mapping[str, Terminal] | None = None,
) -> dict[str, shapely.Geometry]:
    """Per net, the union of its trace polygons (each at its own width) and teardrops, on the grid
    (the pen's convex pieces of every trace unioned per net in one vectorised pass)."""
    from layoutgen.drc.merge import union_groups

    routes = list(routes)
    if not routes:
        return {}
    nets = sorted({r.net for r in routes})
    index = {n: k for k, n in enumerate(nets)}
    dropped = sorted({r.ball for r in routes if r.teardrop and r.ball in balls})
    radius = dict(zip(dropped, inscribed_radii([balls[b] for b in dropped]).tolist()))
    pieces, label = [], []
    for w in sorted({r.width or rules.width for r in routes}):
        mine = [r for r in routes if (r.width or rules.width) == w]
        hulls, owner = trace_hulls([r.path for r in mine], w, rules.grid)
        pieces.append(hulls)
        label.append(np.array([index[mine[k].net] for k in owner.tolist()], dtype=np.int64))
        wrules = replace(rules, width=w)
        drops = [(index[r.net], teardrop_corners(balls[r.ball], r.path, wrules, radius[r.ball]))
                 for r in mine if r.teardrop and r.ball in balls]
        drops = [(k, d) for k, d in drops if d is not None]
        if drops:
            pieces.append(shapely.polygons(np.array([d for _, d in drops])))
            label.append(np.array([k for k, _ in drops], dtype=np.int64))
    merged = union_groups(np.concatenate(pieces), np.concatenate(label), np.arange(len(nets)))
    return dict(zip(nets, shapely.set_precision(merged, rules.grid)))

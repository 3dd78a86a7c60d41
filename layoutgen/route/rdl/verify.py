"""Check a finished routing on its final polygons with the DRC's own checks (all lengths in µm).

Per net, the traces, teardrops, pads and balls are merged, as the DRC merges the RDL layer;
the merged shapes then go through `layoutgen.drc`'s own space (between shapes and inside
notches), width and angle checks with the PDK's rule values (not a second implementation), so
the router does not hand over what the DRC fails. Notches inside one net's own metal are
filled and only the nets that changed (with their neighbours) are checked again. Net classes
asking for more than the rule space are measured too, and the metal must touch no other net's
and stay inside the keep-in.

The checks inside one net (notches, width) run on windows, picked from the MERGED net's walls:
boxes around walls facing each other across the outside within the notch search's reach (every
teardrop/ball junction has some), or across the inside closer than the width (a pen-swept trace
has none), grown by WINDOW_MARGIN rule values; the long runs in between are not closed or
opened at all. A net with a finding in a window is checked whole, so every finding, and every
fill drawn from one, is the whole check's to the last float.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from .geometry import octilinear_hull, routes_metal
from .model import Route, RouteRules, Routing, Terminal

FILL_ROUNDS = 4  # rounds of filling a net's own notches (grid snapping can leave a smaller one)


def checked(routing: Routing, pads: Sequence[Terminal], keepin: shapely.Polygon, rules: RouteRules) -> Routing:
    """The routing with its final metal, which passed the DRC's own checks, or RoutingError naming
    the nets and the place where the RDL would fail the DRC.

    Per net, the traces and teardrops are merged with its pads and balls, as the DRC merges the
    RDL layer, and go through `layoutgen.drc`'s space (between shapes, notches, V notches),
    width and angle checks at the rule values. A notch a net makes with its own walls (a trace
    meeting its own pad or ball at a slant, two of its traces meeting) is filled with the
    smallest octilinear on-grid polygon holding its marker, which lies between that net's own
    walls; the nets that changed, and their neighbours, are then checked again, so only
    checked metal is ever returned.
    """
    from layoutgen.drc.merge import union_groups

    balls = routing.balls
    metal = routes_metal(routing.routes, {b.name: b for b in balls}, rules)
    landings: dict[str, list] = {}
    keepouts: list[tuple[str, Terminal]] = []   # terminals not drawn on the layer: other nets only clear them
    for net, t in [(p.net, p) for p in pads] + [(routing.ball_nets.get(b.name, f"(no-connect ball {b.name})"), b)
                                                  for b in balls]:
        if t.metal:
            landings.setdefault(net, []).append(t.shape)
        else:
            keepouts.append((net, t))
    nets = sorted(set(metal) | set(landings))
    pieces = [(k, g) for k, n in enumerate(nets) for g in ([metal[n]] if n in metal else []) + landings.get(n, [])]
    geoms = union_groups(np.array([g for _, g in pieces], dtype=object), np.array([k for k, _ in pieces]),
                         np.arange(len(nets)))
    todo = np.arange(len(nets))
    reach = max([rules.space] + [c[2] for c in rules.classes])
    for rnd in range(FILL_ROUNDS + 1):
        near = _with_neighbours(geoms, todo, reach)
        fills = _findings(routing.routes, metal, nets, geoms, near, [*pads, *balls], rules)
        if not fills:
            break
        for k, marks in fills.items():
            metal[nets[k]] = shapely.set_precision(
                shapely.union_all([metal[nets[k]], *[_fill(m, rnd, rules) for m in marks]]), rules.grid)
            geoms[k] = _merged(metal[nets[k]], landings.get(nets[k], []))
        todo = np.array(sorted(fills))
    else:
        k = int(todo[0])
        raise RoutingError(f"net {nets[k]}: a notch between its own traces and landings stays narrower than "
                           f"{rules.space:g} µm after {FILL_ROUNDS} fills")
    _check_keepin(routing.routes, metal, pads, balls, keepin)  # fills included
    _check_keepouts(nets, geoms, keepouts, rules)
    _check_class_space(nets, geoms, rules)
    return replace(routing, metal=metal)


def _fill(mark: shapely.Geometry, rnd: int, rules: RouteRules) -> shapely.Geometry:
    """The metal that fills a notch: the smallest octilinear on-grid polygon holding its marker;
    from the second round on (a fill edge meeting a round landing at a slant leaves a smaller V
    further along) the marker grown by the space first, so the fill reaches past that V."""
    grown = mark if rnd == 0 else shapely.buffer(mark, rules.space * rnd, quad_segs=2)
    return octilinear_hull(grown, rules.grid)


def _merged(metal: shapely.Geometry | None, landings: list) -> shapely.Geometry:
    """One net's metal merged with its landings, as the DRC merges the layer."""
    return shapely.union_all([g for g in [metal, *landings] if g is not None])


def _with_neighbours(geoms: np.ndarray, todo: np.ndarray, reach: float) -> np.ndarray:
    """The shapes `todo` and every shape closer to one of them than `reach`."""
    if len(todo) == len(geoms):
        return todo
    _, j = shapely.STRtree(geoms).query(geoms[todo], predicate="dwithin", distance=reach)
    return np.union1d(todo, j)


def _check_keepin(routes: Sequence[Route], metal: Mapping[str, shapely.Geometry], pads: Sequence[Terminal],
                  balls: Sequence[Terminal], keepin: shapely.Polygon) -> None:
    """Every net's traces and teardrops stay inside the keep-in (where not on a pad or ball)."""
    names = list(metal)
    arr = np.array([metal[n] for n in names], dtype=object)
    shapely.prepare(keepin)
    out = np.flatnonzero(~shapely.covered_by(arr, keepin))
    if not len(out):
        return
    landings = shapely.union_all([t.shape for t in [*pads, *balls]])
    for k in out.tolist():
        outside = shapely.difference(shapely.difference(arr[k], keepin), landings)
        if outside.area > 1e-6:
            spot = outside.representative_point()
            raise RoutingError(f"{_near(routes, metal, spot)}leaves the keep-in near ({spot.x:.1f}, {spot.y:.1f})")


def _check_keepouts(nets: list[str], geoms: np.ndarray, keepouts: list[tuple[str, Terminal]],
                    rules: RouteRules) -> None:
    """Every other net's metal keeps its space from a terminal that is only a keep-out (its own
    net's trace runs over it: a track climbing its protrusion); such a terminal is never merged
    into its net's metal, since the layer has no metal there for a notch to be filled against."""
    if not keepouts or not len(geoms):
        return
    shapes = np.array([t.shape for _, t in keepouts], dtype=object)
    k, n = shapely.STRtree(geoms).query(shapes, predicate="dwithin", distance=rules.space - 1e-6)
    for a, b in zip(k.tolist(), n.tolist()):
        net, t = keepouts[a]
        if nets[b] != net:
            gap = float(shapely.distance(t.shape, geoms[b]))
            raise RoutingError(f"net {nets[b]} comes {gap:.3f} µm from {t.name} (net {net}), which it must clear "
                               f"by {rules.space:g} µm")


def _findings(routes: Sequence[Route], metal: Mapping[str, shapely.Geometry], nets: list[str], geoms: np.ndarray,
              which: np.ndarray, terminals: Sequence[Terminal], rules: RouteRules) -> dict[int, list[shapely.Geometry]]:
    """Check the shapes `which` (with each other); return the notches inside one net's own metal
    to fill (net index → markers), or raise RoutingError for anything else the DRC would find."""
    from layoutgen.drc.angle import check_angle
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.space import close_pairs, pair_findings

    sub = geoms[which]
    # Prepared once here, the shapes answer the pair searches' tests (many candidates per shape,
    # since long traces' extents overlap) from their own edge index, with the same answers.
    shapely.prepare(sub)
    tree = shapely.STRtree(sub)
    # Pairs of different nets closer than the space (the DRC's own pair search); a pair that
    # touches is a short.
    i, j = close_pairs(sub, sub, rules.space, once=True)
    touch = shapely.intersects(sub[i], sub[j])
    if touch.any():
        k = np.lexsort((j[touch], i[touch]))[0]
        a, b = int(which[i[touch][k]]), int(which[j[touch][k]])
        spot = shapely.intersection(geoms[a], geoms[b]).representative_point()
        raise RoutingError(f"nets {nets[a]} and {nets[b]} would touch near ({spot.x:.1f}, {spot.y:.1f}) (a short)")
    rest = pair_findings(sub, sub, i, j, "space", rules.space)
    fills: dict[int, list] = {}
    for f in _notches(sub, rules.space, not rest):
        owners = tree.query(f.region, predicate="intersects")
        if len(owners) == 1 and nets[int(which[owners[0]])] in metal:
            fills.setdefault(int(which[owners[0]]), []).append(f.region)  # a notch in one net's own metal
        else:
            rest.append(f)
    # The nets with a notch to fill are checked again once filled (a V notch is also a slit the
    # angle check sees); the others get the width and angle checks now.
    shapes = Shapes.of(geoms[[k for k in which.tolist() if k not in fills]])
    # Width is measured one grid step below the rule: every trace is the pen swept, at least the
    # rule wide by construction, and an opening at exactly the rule width leaves a 1e-4 µm residue
    # that float noise in the merge can break; a real narrowing is at least a grid step.
    rest += _narrow(shapes.geoms, rules.width - rules.grid, rules.grid)
    if rules.angle_tolerance is not None:
        # measured on the merged metal; edges that lie wholly on a pad or ball outline are the
        # landing cells' own (another family's terminals may be drawn at other angles) and skipped
        bad = check_angle(shapes, 45.0, rules.angle_tolerance)
        if bad:
            outlines = shapely.union_all(shapely.boundary(np.array([t.shape for t in terminals], dtype=object)))
            for f in bad:
                mids = [shapely.Point((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0) for e in (f.edges or ())]
                if not mids or any(shapely.distance(m, outlines) > 1e-3 for m in mids):
                    rest.append(f)
    if rest:
        f = rest[0]
        spot = f.region.representative_point() if f.region is not None else shapely.Point(f.edges[0][:2])
        raise RoutingError(f"{_near(routes, metal, spot)}the final RDL fails the DRC near ({spot.x:.1f}, "
                           f"{spot.y:.1f}): {f.message} ({len(rest)} finding(s) in all)")
    return fills


def _notches(geoms: np.ndarray, space: float, apart: bool) -> list:
    """The notch findings (gaps and V notches inside one shape narrower than `space`) of the
    DRC's space check (`drc.space.check_space`) on `geoms`, run on windows: each shape clipped to
    boxes around its walls facing each other across the outside (`drc.geometry.facing_pairs`,
    on the merged shape, within the reach the check itself looks at), grown by WINDOW_MARGIN
    spaces; the shapes with a finding there are then checked whole. A shape with no such walls
    has no notch; a trace's long runs, far from any facing wall, are not closed at all. A closing
    is local (what it fills at a point depends only on the shape within a few spaces of it), so a
    notch of the whole shape is one of its window. `apart`: no two shapes are closer than
    `space`."""
    from layoutgen.drc.geometry import facing_pairs, walls
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.morph import GAP_REACH
    from layoutgen.drc.space import check_space, close_pairs

    reach = GAP_REACH * space
    p0, p1, own, normal = walls(geoms)
    i, j, _ = facing_pairs(p0, p1, own, normal, reach)
    if not len(i):
        return []
    pieces, owner = _windows(geoms, p0, p1, own, i, j, reach, WINDOW_MARGIN * space)
    found = check_space(Shapes.of(pieces), space)
    # Shapes with a finding in a window are checked whole, for the findings (their markers, which
    # fills are drawn from) to be the DRC's own to the last float: GEOS's offsets of a clipped
    # shape are not bit for bit those of the whole, and a 0.03 µm² sliver at a junction can come
    # and go with them. So are shapes with two pieces closer than the space (a gap of the shape
    # whose pieces join outside their box), or all of them when some shapes are (`apart` false).
    whole = np.zeros(len(geoms), bool)
    marks = [f.region for f in found if f.region is not None]
    if marks:
        whole[owner[shapely.STRtree(pieces).query(np.array(marks, object), predicate="intersects")[1]]] = True
    if not apart:
        whole[:] = True
    elif len(marks) < len(found):
        pi, pj = close_pairs(pieces, pieces, space, once=True)
        whole[owner[pi]] = True
        whole[owner[pj]] = True
    if not whole.any():
        return []
    return [f for f in check_space(Shapes.of(geoms[whole]), space) if f.region is not None]


def _narrow(geoms: np.ndarray, width: float, grid: float) -> list:
    """The findings of the DRC's width check (`drc.width.check_width`) on `geoms`, run on windows:
    each shape clipped to boxes around its walls facing each other across its inside closer
    than `width` (half a grid step more, for float noise), grown by WINDOW_MARGIN widths; the
    shapes with a finding there are then checked whole. An opening (shrink, grow back, mitred)
    loses only where two walls facing each other across the inside come closer than the width
    (at an acute corner, two walls meeting): a trace swept by a pen at least the width wide has
    none, and a shape with none loses nothing. An opening is local, so a narrow part of the
    whole shape is one of its window (a cut can add narrow slivers, never remove one)."""
    from layoutgen.drc.geometry import EPS_UM, extent_pairs, segment_distance, walls
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.width import check_width
    from layoutgen.units import RATIO_EPS

    reach = width + grid / 2.0
    p0, p1, own, normal = walls(geoms)
    if len(p0) < 2:
        return []

    def behind(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # some of wall b lies inside wall a
        return np.minimum(np.einsum("ij,ij->i", p0[b] - p0[a], normal[a]),
                          np.einsum("ij,ij->i", p1[b] - p0[a], normal[a])) < -EPS_UM

    def facing(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        out = np.einsum("ij,ij->i", normal[i], normal[j]) < -RATIO_EPS       # more than 90° apart
        k = np.flatnonzero(out)
        out[k] = behind(i[k], j[k]) & behind(j[k], i[k])
        k = k[out[k]]
        out[k] = segment_distance(p0[i[k]], p1[i[k]], p0[j[k]], p1[j[k]]) < reach
        return out

    i, j = extent_pairs(np.minimum(p0, p1), np.maximum(p0, p1), own, reach, facing)
    if not len(i):
        return []
    pieces, owner = _windows(geoms, p0, p1, own, i, j, reach, WINDOW_MARGIN * width)
    found = check_width(Shapes.of(pieces), width)
    if not found:
        return []
    whole = np.zeros(len(geoms), bool)
    whole[owner[shapely.STRtree(pieces).query(np.array([f.region for f in found], object),
                                              predicate="intersects")[1]]] = True
    return check_width(Shapes.of(geoms[whole]), width)


def _windows(geoms: np.ndarray, p0: np.ndarray, p1: np.ndarray, own: np.ndarray, i: np.ndarray, j: np.ndarray,
             reach: float, grow: float) -> tuple[np.ndarray, np.ndarray]:
    """The shapes clipped to windows around wall pairs (i, j) (`drc.geometry.walls` p0, p1, own)
    within `reach`: the extent of the parts of both walls within `reach` of the other (they lie
    in the other's extent grown by `reach`), grown by `grow`; a shape's overlapping windows
    become their common extent, until none overlap. Returns the pieces and the shape of each."""
    from layoutgen.drc.geometry import extent_pairs
    from layoutgen.drc.graph import components

    lo0, hi0 = np.minimum(p0, p1), np.maximum(p0, p1)
    ai, bi = _clip(p0[i], p1[i], lo0[j] - reach, hi0[j] + reach)
    aj, bj = _clip(p0[j], p1[j], lo0[i] - reach, hi0[i] + reach)
    lo = np.minimum(np.minimum(ai, bi), np.minimum(aj, bj)) - grow
    hi = np.maximum(np.maximum(ai, bi), np.maximum(aj, bj)) + grow
    shape = own[i]
    while True:
        a, b = extent_pairs(lo, hi, shape, 0.0)
        if not len(a):
            break
        _, label = components(len(lo), a, b)
        first = np.unique(label, return_index=True)[1]
        new_lo, new_hi = np.full((len(first), 2), np.inf), np.full((len(first), 2), -np.inf)
        np.minimum.at(new_lo, label, lo)
        np.maximum.at(new_hi, label, hi)
        lo, hi, shape = new_lo, new_hi, shape[first]
    clipped = shapely.intersection(geoms[shape], shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    pieces, which = shapely.get_parts(clipped, return_index=True)
    keep = (shapely.get_type_id(pieces) == 3) & (shapely.area(pieces) > 0.0)
    return pieces[keep], shape[which[keep]]


# Around a shape's walls facing each other, the window its notches (narrow parts) are looked for in
# reaches this many spaces (widths) further: what a closing (opening) by the rule changes at a
# point depends on the shape within about one rule value (a few at a sharp corner, whose mitre
# reaches further), so a notch or a narrow part, which lies within one rule value of its walls'
# near parts, is found in the window as in the whole shape.
WINDOW_MARGIN = 5.0


def _clip(p0: np.ndarray, p1: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ends of segments p0 → p1 (n, 2) clipped to boxes (lo, hi) (n, 2); a segment that misses
    its box keeps its ends."""
    d = p1 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        ta, tb = (lo - p0) / d, (hi - p0) / d
    flat = d == 0
    enter = np.where(flat, -np.inf, np.minimum(ta, tb)).max(axis=1)
    leave = np.where(flat, np.inf, np.maximum(ta, tb)).min(axis=1)
    t0, t1 = np.maximum(enter, 0.0), np.minimum(leave, 1.0)
    miss = t0 > t1
    t0[miss], t1[miss] = 0.0, 1.0
    return p0 + t0[:, None] * d, p0 + t1[:, None] * d


def _check_class_space(nets: list[str], geoms: np.ndarray, rules: RouteRules) -> None:
    """Nets of a class with a wider space keep it from every other net."""
    for n, g in zip(nets, geoms):
        space = rules.for_net(n)[1]
        if space <= rules.space:
            continue
        others = np.array([o for m, o in zip(nets, geoms) if m != n], dtype=object)
        d = shapely.distance(g, others)
        if len(d) and d.min() < space - 1e-6:
            raise RoutingError(f"net {n}: its metal comes {d.min():.3f} µm from another net, below its "
                               f"class space {space:g} µm")


def _near(routes: Sequence[Route], metal: Mapping[str, shapely.Geometry], spot: shapely.Point) -> str:
    """'net N (pad P → ball B): ' for the trace nearest a spot, or ''."""
    if not routes:
        return ""
    nets = list(metal)
    d = shapely.distance(np.array([metal[n] for n in nets], dtype=object), spot)
    net = nets[int(np.argmin(d))]
    r = next(r for r in routes if r.net == net)
    return f"net {net} (pad {r.pad} → ball {r.ball}): "

"""Check a finished routing on its final polygons with the DRC's own checks (all lengths in µm).

Per net, the traces, teardrops, pads and balls are merged, as the DRC merges the RDL layer;
the merged shapes then go through `layoutgen.drc`'s own space (between shapes and inside
notches), width and angle checks with the PDK's rule values (not a second implementation), so
the router does not hand over what the DRC fails. The notch part of the space check runs only
in windows where two of a net's convex pieces (trace segments, teardrops, landings) come
within the space, other than at a trace's own bend of 90° or less, since a union of convex
pieces can have a notch nowhere else; windows that are translated copies (the same junction
repeated over the die) are measured once, as the DRC measures repeated shapes. Notches inside
one net's own metal are filled and only the nets that changed (with their neighbours) are
checked again, filled nets over all their metal. Net classes
asking for more than the rule space are measured too, and the metal must touch no other net's
and stay inside the keep-in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from .geometry import metal_pieces, octilinear_hull
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
    traces = metal_pieces(routing.routes, {b.name: b for b in balls}, rules)
    routed = traces[0]
    metal = ({} if not routed else dict(zip(routed, shapely.set_precision(
        union_groups(traces[1], traces[2], np.arange(len(routed))), rules.grid))))
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
    parts = _parts(traces, landings, nets)
    for rnd in range(FILL_ROUNDS + 1):
        near = _with_neighbours(geoms, todo, reach)
        whole = set() if rnd == 0 else set(todo.tolist())  # filled nets: their fills are not in `parts`
        fills = _findings(routing.routes, metal, nets, geoms, near, [*pads, *balls], rules,
                          _windows(parts, geoms, near, whole, rules.space))
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


def _parts(traces: tuple, landings: Mapping[str, list], nets: list[str]) -> tuple[np.ndarray, ...]:
    """The convex pieces the nets' metal is the union of (`metal_pieces` of the routes, and the
    landings), with per piece its net index, its route (−1: not a trace segment) and whether the
    route turns by more than 90° at its far end."""
    routed, pieces, label, owner, sharp = traces
    index = {n: k for k, n in enumerate(nets)}
    label = np.array([index[routed[k]] for k in label.tolist()], dtype=np.int64)
    extra = [(index[n], g) for n, shapes in landings.items() for g in shapes]
    return (np.concatenate([pieces, np.array([g for _, g in extra], dtype=object)]),
            np.concatenate([label, np.array([k for k, _ in extra], dtype=np.int64)]),
            np.concatenate([owner, np.full(len(extra), -1, dtype=np.int64)]),
            np.concatenate([sharp, np.zeros(len(extra), dtype=bool)]))


def _windows(parts: tuple, geoms: np.ndarray, which: np.ndarray, whole: set[int], space: float) -> list[tuple[int, tuple]]:
    """(net index, box) of every place where a net's metal can have a notch: where two of its
    pieces come within `space` of each other other than at a joint of one trace turning by 90° or
    less (every other notch of a union of convex pieces lies between two such pieces), grown by
    twice the space so the DRC's closing there sees all the metal it would see on the whole net;
    boxes of a net closer than the space are merged. Nets in `whole` get one box around all their metal."""
    pieces, net, route, sharp = parts
    mine = np.isin(net, which)
    pieces, net, route, sharp = pieces[mine], net[mine], route[mine], sharp[mine]
    b = shapely.bounds(pieces)
    i, j = shapely.STRtree(pieces).query(shapely.box(b[:, 0] - space, b[:, 1] - space, b[:, 2] + space, b[:, 3] + space))
    keep = (i < j) & (net[i] == net[j]) & np.isin(net[i], list(whole), invert=True)
    joint = (route[i] == route[j]) & (route[i] != -1) & (j == i + 1) & ~sharp[i]
    i, j = i[keep & ~joint], j[keep & ~joint]
    near = shapely.dwithin(pieces[i], pieces[j], space)   # measured only between pieces of one net
    i, j = i[near], j[near]
    grow = 2.0 * space + 1e-3
    boxes = np.hstack([np.maximum(b[i, :2], b[j, :2]) - grow, np.minimum(b[i, 2:], b[j, 2:]) + grow])
    label = net[i]
    if whole:
        ks = np.array(sorted(whole), dtype=np.int64)
        wb = shapely.bounds(geoms[ks])
        boxes = np.vstack([boxes, np.hstack([wb[:, :2] - grow, wb[:, 2:] + grow])])
        label = np.concatenate([label, ks])
    return _merge_boxes(boxes, label, space)


def _merge_boxes(boxes: np.ndarray, label: np.ndarray, gap: float) -> list[tuple[int, tuple]]:
    """(label, box): boxes of one label closer than `gap` replaced by their common bounding box, until none are."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    while len(boxes) > 1:
        rects = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
        i, j = shapely.STRtree(rects).query(rects, predicate="dwithin", distance=gap)
        same = label[i] == label[j]
        n, comp = connected_components(coo_matrix((np.ones(int(same.sum())), (i[same], j[same])),
                                                  shape=(len(boxes), len(boxes))))
        if n == len(boxes):
            break
        merged = np.empty((n, 4))
        merged[:, :2], merged[:, 2:] = np.inf, -np.inf
        np.minimum.at(merged[:, 0], comp, boxes[:, 0])
        np.minimum.at(merged[:, 1], comp, boxes[:, 1])
        np.maximum.at(merged[:, 2], comp, boxes[:, 2])
        np.maximum.at(merged[:, 3], comp, boxes[:, 3])
        first = np.full(n, -1)
        first[comp[::-1]] = np.arange(len(comp))[::-1]
        boxes, label = merged, label[first]
    order = np.lexsort((boxes[:, 1], boxes[:, 0], label))
    return [(int(label[k]), tuple(boxes[k].tolist())) for k in order]


def _space_findings(geoms: np.ndarray, which: np.ndarray, windows: list[tuple[int, tuple]], space: float) -> list:
    """What the DRC's space check finds on the shapes `which`: pairs of different nets' metal
    closer than `space` (its close_pairs and pair_findings), and the notches inside one net's
    metal, found by its own narrow_gaps and acute_notches run only on the net's metal inside the
    windows where a notch can be (clipping to a box adds no notch: it only removes outside)."""
    from layoutgen.drc.space import close_pairs, pair_findings

    sub = geoms[which]
    i, j = close_pairs(sub, sub, space)
    keep = i < j
    found = pair_findings(sub, sub, i[keep], j[keep], "space", space)
    if not windows:
        return found
    return found + _windowed(geoms, windows).per_class(lambda g: _notches(g, space))


def _windowed(geoms: np.ndarray, windows: list[tuple[int, tuple]]) -> "Shapes":
    """Each net's metal clipped to each of its windows, as DRC shapes grouped in classes of
    translated copies (equal vertices to 1e-4 µm relative to the window's corner): the same
    junction of a trace with its pad or ball repeats all over a die and is measured once."""
    from layoutgen.drc.merge import Shapes

    clipped = np.array([shapely.clip_by_rect(geoms[k], *box) for k, box in windows], dtype=object)
    corner = np.array([box[:2] for _, box in windows], dtype=float)
    keep = ~shapely.is_empty(clipped)
    clipped, corner = clipped[keep], corner[keep]
    xy, at = shapely.get_coordinates(clipped, return_index=True)
    moved = shapely.set_coordinates(shapely.from_wkb(shapely.to_wkb(clipped)), np.round((xy - corner[at]) * 1e4) / 1e4)
    cls, reps, seen = np.zeros(len(clipped), np.int64), [], {}
    for k, key in enumerate(shapely.to_wkb(moved).tolist()):
        if key not in seen:
            seen[key] = len(reps)
            reps.append(k)
        cls[k] = seen[key]
    reps = np.array(reps, dtype=np.int64)
    return Shapes(clipped, cls, corner - corner[reps[cls]], reps)


def _notches(geoms: np.ndarray, space: float) -> list:
    """(index, finding) per notch of each geometry narrower than `space`, as the DRC's space
    check finds them: its narrow_gaps, and its acute_notches not already met by a gap."""
    from layoutgen.drc.geometry import acute_notches
    from layoutgen.drc.morph import narrow_gaps
    from layoutgen.drc.violation import Finding

    gaps = narrow_gaps(geoms, space)
    out = [(k, Finding(f"notch narrower than {space:g} µm over {piece.area:.4g} µm²", region=piece))
           for k, piece in gaps]
    notches = acute_notches(geoms, space)
    if notches:
        marks = np.array([m for _, m in notches], object)
        seen = np.zeros(len(marks), bool)
        if gaps:
            hit, _ = shapely.STRtree(np.array([p for _, p in gaps], object)).query(marks, predicate="intersects")
            seen[hit] = True
        out += [(k, Finding(f"acute notch: walls closer than {space:g} µm at less than 90°", region=m))
                for (k, m), dup in zip(notches, seen) if not dup]
    return out
    clipped = np.array([shapely.clip_by_rect(geoms[k], *box) for k, box in windows], dtype=object)
    clipped = clipped[~shapely.is_empty(clipped)]
    gaps = narrow_gaps(clipped, space)
    found += [Finding(f"notch narrower than {space:g} µm over {piece.area:.4g} µm²", region=piece)
              for _, piece in gaps]
    notches = acute_notches(clipped, space)
    if notches:
        marks = np.array([m for _, m in notches], object)
        seen = np.zeros(len(marks), bool)
        if gaps:
            hit, _ = shapely.STRtree(np.array([p for _, p in gaps], object)).query(marks, predicate="intersects")
            seen[hit] = True
        found += [Finding(f"acute notch: walls closer than {space:g} µm at less than 90°", region=m)
                  for m, dup in zip(marks, seen) if not dup]
    return found


def _findings(routes: Sequence[Route], metal: Mapping[str, shapely.Geometry], nets: list[str], geoms: np.ndarray,
              which: np.ndarray, terminals: Sequence[Terminal], rules: RouteRules,
              windows: list[tuple[int, tuple]]) -> dict[int, list[shapely.Geometry]]:
    """Check the shapes `which` (with each other); return the notches inside one net's own metal
    to fill (net index → markers), or raise RoutingError for anything else the DRC would find."""
    from layoutgen.drc.angle import check_angle
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.width import check_width

    sub = geoms[which]
    tree = shapely.STRtree(sub)
    i, j = tree.query(sub, predicate="intersects")
    keep = i < j
    if keep.any():
        a, b = int(which[i[keep][0]]), int(which[j[keep][0]])
        spot = shapely.intersection(geoms[a], geoms[b]).representative_point()
        raise RoutingError(f"nets {nets[a]} and {nets[b]} would touch near ({spot.x:.1f}, {spot.y:.1f}) (a short)")
    found = _space_findings(geoms, which, windows, rules.space)
    fills: dict[int, list] = {}
    rest = []
    for f in found:
        owners = tree.query(f.region, predicate="intersects") if f.region is not None else []
        if f.region is not None and len(owners) == 1 and nets[int(which[owners[0]])] in metal:
            fills.setdefault(int(which[owners[0]]), []).append(f.region)  # a notch in one net's own metal
        else:
            rest.append(f)
    # The nets with a notch to fill are checked again once filled (a V notch is also a slit the
    # angle check sees); the others get the width and angle checks now.
    shapes = Shapes.of(geoms[[k for k in which.tolist() if k not in fills]])
    # Width is measured one grid step below the rule: every trace is the pen swept, at least the
    # rule wide by construction, and an opening at exactly the rule width leaves a 1e-4 µm residue
    # that float noise in the merge can break; a real narrowing is at least a grid step.
    rest += check_width(shapes, rules.width - rules.grid)
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

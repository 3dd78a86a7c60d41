"""Check a finished routing on its final polygons with the DRC's own checks (all lengths in µm).

Per net, the traces, teardrops, pads and balls are merged, as the DRC merges the RDL layer;
the merged shapes then go through `layoutgen.drc`'s own space (between shapes and inside
notches), width and angle checks with the PDK's rule values (not a second implementation), so
the router does not hand over what the DRC fails. Net classes asking for more than the rule space are measured too, and the metal must
touch no other net's and stay inside the keep-in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from .model import Route, RouteRules, Terminal


def check_routing(
    routes: Sequence[Route],
    metal: Mapping[str, shapely.Geometry],
    pads: Sequence[Terminal],
    balls: Sequence[Terminal],
    ball_nets: Mapping[str, str],
    keepin: shapely.Polygon,
    rules: RouteRules,
) -> None:
    """Raise RoutingError naming the nets and the place where the final RDL would fail the DRC."""
    from layoutgen.drc.angle import check_angle
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.space import check_space
    from layoutgen.drc.width import check_width

    traces = shapely.union_all(list(metal.values())) if metal else shapely.Polygon()
    landings = shapely.union_all([t.shape for t in [*pads, *balls]])
    outside = shapely.difference(shapely.difference(traces, keepin), landings)
    if outside.area > 1e-6:
        spot = outside.representative_point()
        raise RoutingError(f"{_near(routes, metal, spot)}leaves the keep-in near ({spot.x:.1f}, {spot.y:.1f})")
    parts: dict[str, list] = defaultdict(list)
    for net, g in metal.items():
        parts[net].append(g)
    # merged again with the pads and balls, as the DRC merges the drawn metal with the pad and ball cells
    for p in pads:
        parts[p.net].append(p.shape)
    for b in balls:
        parts[ball_nets.get(b.name, f"(no-connect ball {b.name})")].append(b.shape)
    nets = sorted(parts)
    geoms = np.array([shapely.union_all(parts[n]) for n in nets], dtype=object)
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i < j
    if keep.any():
        a, b = int(i[keep][0]), int(j[keep][0])
        spot = shapely.intersection(geoms[a], geoms[b]).representative_point()
        raise RoutingError(f"nets {nets[a]} and {nets[b]} would touch near ({spot.x:.1f}, {spot.y:.1f}) (a short)")
    shapes = Shapes.of(geoms)
    # Width is measured one grid step below the rule: every trace is the pen swept, at least the
    # rule wide by construction, and an opening at exactly the rule width leaves a 1e-4 µm residue
    # that float noise in the merge can break; a real narrowing is at least a grid step.
    found = check_space(shapes, rules.space) + check_width(shapes, rules.width - rules.grid)
    if rules.angle_tolerance is not None:
        # measured on the merged metal; edges that lie wholly on a pad or ball outline are the
        # landing cells' own (another family's terminals may be drawn at other angles) and skipped
        outlines = shapely.union_all([shapely.boundary(t.shape) for t in [*pads, *balls]])
        for f in check_angle(shapes, 45.0, rules.angle_tolerance):
            mids = [shapely.Point((e[0] + e[2]) / 2.0, (e[1] + e[3]) / 2.0) for e in (f.edges or ())]
            if not mids or any(shapely.distance(m, outlines) > 1e-3 for m in mids):
                found.append(f)
    if found:
        f = found[0]
        spot = f.region.representative_point() if f.region is not None else shapely.Point(f.edges[0][:2])
        raise RoutingError(f"{_near(routes, metal, spot)}the final RDL fails the DRC near ({spot.x:.1f}, "
                           f"{spot.y:.1f}): {f.message} ({len(found)} finding(s) in all)")
    _check_class_space(nets, geoms, rules)


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

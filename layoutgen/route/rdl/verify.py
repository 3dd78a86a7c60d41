"""Check a finished routing on its final polygons before anyone sees it (all lengths in µm).

Per net, the traces and teardrops are merged; they must keep the spacing rule from every pad,
ball and trace of any other net (unconnected balls count as nets of their own) and stay inside
the keep-in. Space is found with one vectorised STRtree `dwithin` query, not a loop over pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import shapely

from layoutgen.errors import RoutingError
from .assign import describe
from .model import Route, Terminal


def verify_routing(
    routes: Sequence[Route],
    pieces: np.ndarray,
    piece_route: np.ndarray,
    pads: Sequence[Terminal],
    balls: Sequence[Terminal],
    ball_nets: Mapping[str, str],
    keepin: shapely.Polygon,
    space: float,
) -> None:
    """Raise RoutingError naming the nets and pad when the routing breaks spacing or the keep-in.

    `pieces` are the traces' convex pieces and teardrops, `piece_route` the route of each; their
    union per net is the net's metal, so measuring the pieces measures the merged polygons.
    """
    pad_by_name = {p.name: p for p in pads}
    piece_net = [routes[i].net for i in piece_route]
    _check_keepin(routes, pieces, piece_route, keepin, pad_by_name)
    fixed = [*pads, *balls]
    fixed_net = [p.net for p in pads] + [ball_nets.get(b.name, f"(unconnected ball {b.name})") for b in balls]
    fixed_what = [f"pad {p.name}" for p in pads] + [f"ball {b.name}" for b in balls]
    all_geoms = np.concatenate([pieces, np.array([t.shape for t in fixed], dtype=object)])
    all_net = piece_net + fixed_net
    all_what = [f"the trace to pad {routes[i].pad}" for i in piece_route] + fixed_what
    tree = shapely.STRtree(all_geoms)
    src, dst = tree.query(pieces, predicate="dwithin", distance=space - 1e-6)
    clash = [(int(i), int(j)) for i, j in zip(src, dst) if piece_net[i] != all_net[j]]
    if not clash:
        return
    dist = [float(shapely.distance(pieces[i], all_geoms[j])) for i, j in clash]
    i, j = clash[int(np.argmin(dist))]
    where = shapely.shortest_line(pieces[i], all_geoms[j]).coords[0]
    r = routes[int(piece_route[i])]
    raise RoutingError(
        f"net {r.net}: pad {describe(pad_by_name[r.pad])} → ball {r.ball}: its trace comes "
        f"{min(dist):.3f} µm from {all_what[j]} of net {all_net[j]} near ({where[0]:.1f}, "
        f"{where[1]:.1f}), below the {space:g} µm spacing rule; this pad/ball arrangement "
        f"cannot be routed planar on one layer by the ring router"
    )


def _check_keepin(
    routes: Sequence[Route], pieces: np.ndarray, piece_route: np.ndarray, keepin: shapely.Polygon,
    pad_by_name: Mapping[str, Terminal],
) -> None:
    """Raise when some trace leaves the keep-in."""
    inside = shapely.covered_by(pieces, keepin)
    if inside.all():
        return
    k = int(np.flatnonzero(~inside)[0])
    outside = shapely.difference(pieces[k], keepin)
    spot = outside.representative_point()
    r = routes[int(piece_route[k])]
    raise RoutingError(
        f"net {r.net}: pad {describe(pad_by_name[r.pad])} → ball {r.ball}: its trace leaves the "
        f"keep-in near ({spot.x:.1f}, {spot.y:.1f}) ({outside.area:.1f} µm² outside)"
    )

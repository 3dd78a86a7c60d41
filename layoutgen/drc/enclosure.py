"""Two-layer rules: enclosure, separation and overlap, all lengths in µm.

- enclosure: every shape of `other` lies inside one shape of `layer`, its edges at least
  `value` from the layer's edges (Euclidean). A shape of `other` not inside `layer` at all
  (outside, or straddling its edge) is a violation too.
- separation: every shape of `layer` is at least `value` from every shape of `other`;
  overlapping or touching shapes are at distance 0 and violate.
- overlap: wherever a `layer` shape meets an `other` shape, each connected piece of their
  common area is at least `value` wide somewhere (a disc of diameter `value` fits inside
  it); a `layer` shape that only touches `other` along an edge or at a point violates.
  Shapes that do not meet are not this rule's concern.
"""

from __future__ import annotations

import numpy as np
import shapely

from .geometry import EPS_UM, SLIVER_UM2, closest_segments_many
from .merge import Shapes
from .morph import MARGIN_UM, shrink
from .space import close_pairs, pair_findings
from .violation import Finding


def check_enclosure(layer: Shapes, other: Shapes, value: float) -> list[Finding]:
    """One finding per `other` shape not enclosed by `layer` by at least `value`."""
    o, g = other.geoms, layer.geoms
    if len(o) == 0:
        return []
    inside_o, inside_l = (
        shapely.STRtree(g).query(o, predicate="within") if len(g) else (np.zeros(0, int), np.zeros(0, int))
    )
    out = [Finding("not inside the enclosing layer", region=o[k]) for k in np.setdiff1d(np.arange(len(o)), inside_o)]
    rings = shapely.boundary(g[inside_l])
    margin = shapely.distance(o[inside_o], rings)
    bad = np.flatnonzero(margin < value - EPS_UM)
    edges = closest_segments_many(o[inside_o[bad]], g[inside_l[bad]])
    out += [Finding(f"enclosed by {margin[k]:.4f} µm < {value:g} µm", edges=e) for k, e in zip(bad, edges)]
    return out


def check_separation(layer: Shapes, other: Shapes, value: float) -> list[Finding]:
    """One finding per (layer, other) pair of shapes closer than `value` (overlap included)."""
    i, j = close_pairs(layer.geoms, other.geoms, value)
    return pair_findings(layer.geoms, other.geoms, i, j, "separation", value)


def check_overlap(layer: Shapes, other: Shapes, value: float) -> list[Finding]:
    """One finding per piece of common area narrower than `value`, or per touch without overlap."""
    a, b = layer.geoms, other.geoms
    if len(a) == 0 or len(b) == 0:
        return []
    i, j = shapely.STRtree(b).query(a, predicate="intersects")
    common = shapely.intersection(a[i], b[j])
    parts, pair = shapely.get_parts(common, return_index=True)
    solid = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > SLIVER_UM2)
    touch = np.setdiff1d(np.arange(len(i)), pair[solid])
    out = [Finding("touches without overlapping", edges=e) for e in closest_segments_many(a[i[touch]], b[j[touch]])]
    pieces = parts[solid]
    core = shrink(pieces, value / 2 - MARGIN_UM, join="round")
    for piece in pieces[shapely.is_empty(core) | (shapely.area(core) == 0)]:
        out.append(Finding(f"overlap narrower than {value:g} µm ({piece.area:.4g} µm²)", region=piece))
    return out

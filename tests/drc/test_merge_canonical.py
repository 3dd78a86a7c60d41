"""Markers do not depend on how the polygons were drawn: the order of the polygons, the vertex
each starts from and its orientation. Several edge pairs are often equally near (shapes on a
grid: a corner meets two walls, parallel walls face each other over a run); which one a space
marker names, and the residues an opening leaves, followed the merged shapes' rings: those are
normalised (`merge.merge`), and of the equally near edge pairs where the shortest line ends the
one facing most squarely is named (`geometry._tied_pair`)."""

from __future__ import annotations

import numpy as np
import shapely

from layoutgen.drc.merge import merge
from layoutgen.drc.read import Polys
from layoutgen.drc.space import check_space
from layoutgen.drc.width import check_width

DBU_UM = 0.001


def _rectangles(seed: int, n: int = 200, side_um: int = 280) -> np.ndarray:
    """(n, 4) random rectangles on a 1 µm grid (x0, y0, x1, y1 in database units): sides 2–20 µm,
    dense enough to overlap into irregular shapes and to sit closer than 10 µm."""
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, side_um, (n, 2))
    size = rng.integers(2, 21, (n, 2))
    return np.hstack([lo, lo + size]) * 1000


def _polys(boxes: np.ndarray, start: np.ndarray, reverse: np.ndarray) -> Polys:
    """The rectangles as drawn polygons, each starting at corner `start` and turning clockwise where `reverse`."""
    x0, y0, x1, y1 = boxes.T
    corners = np.stack([np.stack([x0, y0], 1), np.stack([x1, y0], 1), np.stack([x1, y1], 1), np.stack([x0, y1], 1)], 1)
    corners = np.where(reverse[:, None, None], corners[:, ::-1], corners)
    corners = np.take_along_axis(corners, ((np.arange(4) + start[:, None]) % 4)[:, :, None], 1)
    return Polys(corners.reshape(-1, 2).astype(np.int64), np.arange(len(boxes) + 1) * 4, np.zeros(len(boxes), np.int64))


def _markers(polys: Polys) -> list[tuple]:
    """Every space and width marker (10 µm): message, edges, region; the edges of a pair are
    listed in the order of their shapes, which follows the drawing order: sorted here."""
    shapes = merge(polys, DBU_UM)
    found = check_space(shapes, 10.0) + check_width(shapes, 10.0)
    return sorted((f.message, tuple(sorted(f.edges or ())), b"" if f.region is None else f.region.wkb) for f in found)


def test_markers_do_not_depend_on_drawing_order_start_vertex_or_orientation():
    boxes = _rectangles(seed=5)
    n = len(boxes)
    rng = np.random.default_rng(1)
    plain = _markers(_polys(boxes, np.zeros(n, int), np.zeros(n, bool)))
    spaces = [(m, np.subtract(e[0][2:], e[0][:2]), np.subtract(e[1][2:], e[1][:2]))
              for m, e, _ in plain if m.startswith("space") and not m.startswith("space 0.0000")]
    # Between shapes along the axes some facing walls are always at the least distance (a corner
    # is as near to a wall as the wall beside it): every marker names two walls facing each
    # other (directions opposite), not a wall and the side of a corner.
    facing = [m for m, u, v in spaces if np.dot(u, v) < 0 and abs(u[0] * v[1] - u[1] * v[0]) < 1e-9]
    assert len(spaces) > 80 and len(facing) == len(spaces)
    assert sum(1 for m in plain if m[0].startswith("narrower")) > 20
    for _ in range(2):
        order = rng.permutation(n)
        shuffled = _polys(boxes[order], rng.integers(0, 4, n), rng.random(n) < 0.5)
        assert _markers(shuffled) == plain

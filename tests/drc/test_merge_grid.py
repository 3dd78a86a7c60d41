"""Rectangles merged on their own grid (`merge.union_rectangles`) give GEOS's union: the same
polygon, holes and vertices (a vertex at every corner of the union and at every rectangle corner
on its outline), shell clockwise; groups whose outline touches itself at a point are left to GEOS."""

from __future__ import annotations

import numpy as np
import shapely

from layoutgen.drc.merge import touching_groups, union_rectangles


def _groups(seed: int, n: int, span: int, most: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`n` random rectangles on a coarse integer grid (shared edges, corners meeting, rings round
    holes and rectangles inside others are common) and their touching groups."""
    rng = np.random.default_rng(seed)
    lo = rng.integers(0, span, (n, 2))
    box = np.concatenate([lo, lo + rng.integers(1, most, (n, 2))], axis=1)
    # Frames of four bars round a hole, some with a bar across it (two holes).
    frames = [[[x, 0, x + 30, 4], [x, 26, x + 30, 30], [x, 0, x + 4, 30], [x + 26, 0, x + 30, 30]]
              for x in range(1000, 1400, 40)]
    bars = [[x + 4, 14, x + 26, 17] for x in range(1000, 1400, 80)]
    box = np.concatenate([box, np.array([r for f in frames for r in f] + bars)])
    geoms = shapely.box(*box.T.astype(float))
    return box, geoms, touching_groups(geoms)


def test_grid_union_is_the_geos_union_vertex_for_vertex():
    done_total = holes = pinched = 0
    for seed in range(4):
        box, geoms, label = _groups(seed, 300, 250, 16)
        n = int(label.max()) + 1
        got, done = union_rectangles(box, label, n, 1.0)
        table = np.full((n, int(np.bincount(label).max())), None, object)
        order = np.argsort(label, kind="stable")
        start = np.searchsorted(label[order], np.arange(n))
        table[label[order], np.arange(len(label)) - start[label[order]]] = geoms[order]
        ref = shapely.union_all(table, axis=1)
        assert (shapely.get_type_id(got[done]) == 3).all() and shapely.is_valid(got[done]).all()
        same = shapely.equals_exact(shapely.normalize(got[done]), shapely.normalize(ref[done]), 0.0)
        assert same.all()
        assert not shapely.is_ccw(shapely.get_exterior_ring(got[done])).any()          # shells clockwise, as GEOS
        done_total += int(done.sum())
        holes += int((shapely.get_num_interior_rings(got[done]) > 0).sum())
        # Left to GEOS: only outlines touching themselves at a point (several polygons, or a hole at a corner).
        left = ~done
        pinched += int(left.sum())
        assert ((shapely.get_type_id(ref[left]) == 6) | ~shapely.is_simple(shapely.boundary(ref[left]))
                | (shapely.get_num_interior_rings(ref[left]) > 0)).all()
    assert done_total > 200 and holes >= 10 and pinched > 5, (done_total, holes, pinched)


def test_a_collinear_rectangle_corner_on_the_outline_is_a_vertex():
    # A small rectangle inside a larger one, touching its top: GEOS keeps its two corners.
    box = np.array([[0, 0, 20, 10], [5, 5, 15, 10]])
    got, done = union_rectangles(box, np.zeros(2, np.int64), 1, 0.5)
    assert done.all()
    assert shapely.get_num_coordinates(got[0]) == 7
    assert shapely.equals_exact(shapely.normalize(got[0]), shapely.normalize(shapely.union(*shapely.box(*box.T * 0.5))), 0.0)

"""The lattice router's track pitch (route/rdl/maze.py): the smallest pitch at which any two nets'
steps on the lattice keep the space rule, measured on the drawn (pen-swept) metal."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely

from layoutgen.route.rdl.geometry import pen_for, trace_hulls
from layoutgen.route.rdl.maze import lattice_pitch, track_pitch

STEPS = [(0, 0), (1, 0), (0, 1), (1, 1), (1, -1)]  # a node, and the four step directions


def _claim(a: tuple[int, int], d: tuple[int, int]) -> set[tuple[int, int]]:
    """The nodes a step claims: its two ends, and a 45° step's two other cell corners."""
    b = (a[0] + d[0], a[1] + d[1])
    return {a, b} | ({(b[0], a[1]), (a[0], b[1])} if d[0] and d[1] else set())


def _closest(p: float, width: float, grid: float) -> float:
    """The smallest distance between the metal of two steps (or nodes) whose claims are disjoint."""
    pieces, claims = [], []
    for (i, j) in itertools.product(range(-3, 4), repeat=2):
        for d in STEPS:
            pieces.append([(i * p, j * p), ((i + d[0]) * p, (j + d[1]) * p)])
            claims.append(_claim((i, j), d))
    hulls, _ = trace_hulls(pieces, width, grid)
    centre = [k for k, c in enumerate(claims) if (0, 0) in c and min(min(n) for n in c) >= 0]
    best = np.inf
    for a in centre:
        others = [b for b in range(len(pieces)) if not claims[a] & claims[b]]
        best = min(best, float(shapely.distance(hulls[a], hulls[others]).min()))
    return best


@pytest.mark.parametrize("width, space, grid", [(10.0, 10.0, 0.005), (5.0, 5.0, 0.005), (15.0, 15.0, 0.005),
                                                (7.0, 8.0, 0.001)])
def test_the_track_pitch_keeps_the_space_exactly_with_no_slack(width, space, grid):
    pen = pen_for(width, grid)
    p = track_pitch(pen, space, grid)
    assert pen.diagonal > pen.a  # the 45° run is wider than the axis run, yet it never binds
    assert p == pytest.approx(2.0 * pen.a + space)
    assert _closest(p, width, grid) == pytest.approx(space, abs=1e-9)
    # one grid step less and two axis runs come closer than the rule: the pitch has no slack
    assert _closest(p - grid, width, grid) < space


def test_a_10_10_lattice_divides_the_400_um_pitch_at_20_um():
    """The 45° half-width (5.006 µm) no longer forces 25 µm: 20 nodes per ball pitch, not 16."""
    pen = pen_for(10.0, 0.005)
    assert 2.0 * pen.diagonal + 10.0 > 20.0
    assert lattice_pitch(track_pitch(pen, 10.0, 0.005), 400.0, 0.005) == 20.0

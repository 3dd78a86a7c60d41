"""Pulling traces tight (route/rdl/tighten.py): staircases become 45° runs where the metal around
leaves room; every trace keeps its pad, ball and end runs, gets no longer, and the routing stays
DRC-clean. The distances it decides by are checked against shapely's."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import layoutgen.route.rdl.router as router
from layoutgen.route.rdl import route
from layoutgen.route.rdl.example import example_die
from layoutgen.route.rdl.maze import octilinear
from layoutgen.route.rdl.spread import spread
from layoutgen.route.rdl.tighten import (_octagon_gap, _parallel_gap, _Shapes, collinear_free, run_hulls,
                                         segment_distance, tighten)
from layoutgen.route.rdl.verify import checked
from test_rdl_route import assert_drc_clean


@pytest.fixture(scope="module")
def die_and_routings():
    """A 3.2 mm die, 7 × 7 balls at 400 µm, 48 pads at 120 µm: routed as drawn (not pulled tight, not spread),
    pulled tight only, and as the router gives it (pulled tight, then spread)."""
    die = example_die(3200.0, 7, 7, 400.0, pads_per_side=12, pad_pitch_um=120.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(router, "spread_checked", checked)
        drawn = route(die.pads, die.balls, die.keepin, die.rules)
    tight = checked(tighten(drawn, die.pads, die.keepin, die.rules), die.pads, die.keepin, die.rules)
    final = route(die.pads, die.balls, die.keepin, die.rules)
    return die, drawn, tight, final


def bound(routing, die) -> float:
    """Sum over traces of the octilinear distance from pad centre to ball centre."""
    pads, balls = {p.name: p for p in die.pads}, {b.name: b for b in die.balls}
    return sum(octilinear(pads[r.pad].x - balls[r.ball].x, pads[r.pad].y - balls[r.ball].y) for r in routing.routes)


def direction(a, b) -> np.ndarray:
    """Unit direction of a run."""
    d = np.subtract(b, a)
    return d / np.hypot(*d)


def test_pulled_tight_traces_keep_their_ends_and_end_runs_get_no_longer_and_stay_0_45_90(die_and_routings):
    die, drawn, tight, _ = die_and_routings
    assert [(r.pad, r.ball, r.net) for r in tight.routes] == [(r.pad, r.ball, r.net) for r in drawn.routes]
    shorter = 0
    for old, new in zip(drawn.routes, tight.routes):
        assert new.path[0] == old.path[0] and new.path[-1] == old.path[-1]
        np.testing.assert_allclose(direction(*new.path[:2]), direction(*old.path[:2]), atol=1e-9)
        np.testing.assert_allclose(direction(*new.path[-2:]), direction(*old.path[-2:]), atol=1e-9)
        assert new.length_um <= old.length_um + 1e-6
        shorter += new.length_um < old.length_um - 1.0
        d = np.abs(np.diff(np.array(new.path), axis=0))
        assert np.all((d.min(axis=1) < 1e-9) | (np.abs(d[:, 0] - d[:, 1]) < 1e-9)), new.pad   # 0/45/90° runs only
        assert np.allclose(np.round(np.array(new.path) / die.rules.grid), np.array(new.path) / die.rules.grid)
    assert shorter >= len(tight.routes) // 3, shorter
    # the 45° runs take most of what the staircases added over the octilinear bound
    excess_before = sum(r.length_um for r in drawn.routes) - bound(drawn, die)
    excess_after = sum(r.length_um for r in tight.routes) - bound(tight, die)
    assert excess_after <= 0.6 * excess_before, (excess_before, excess_after)


def test_the_routing_pulled_tight_then_spread_is_drc_clean_and_no_longer(die_and_routings):
    die, drawn, tight, final = die_and_routings
    assert_drc_clean(tight, die)
    assert_drc_clean(final, die)   # widths, spaces, notches, 0/45/90° edges, grid, keep-in
    assert sum(r.length_um for r in final.routes) <= sum(r.length_um for r in tight.routes) + 1e-6
    assert sum(r.length_um for r in final.routes) <= 1.08 * bound(final, die)


def test_pulling_a_tight_routing_again_changes_nothing_much(die_and_routings):
    die, _, tight, _ = die_and_routings
    again = tighten(tight, die.pads, die.keepin, die.rules)
    assert sum(r.length_um for r in again.routes) >= sum(r.length_um for r in tight.routes) * 0.995


def test_a_staircase_in_the_open_becomes_one_45_degree_run(die_and_routings):
    die, drawn, _, _ = die_and_routings
    # one trace alone with its pad and ball, its middle redrawn as a fine staircase, pulled tight
    r = max(drawn.routes, key=lambda r: np.abs(np.subtract(r.path[-2], r.path[1])).min())
    a, b = np.array(r.path[1]), np.array(r.path[-2])
    assert np.abs(b - a).min() > 100.0
    steps = 12
    d = (b - a) / steps
    stairs = [tuple(a)]
    for k in range(steps):
        x, y = stairs[-1]
        stairs += [(x + d[0], y), (x + d[0], y + d[1])]
    path = (r.path[0], *[(round(x, 6), round(y, 6)) for x, y in stairs], r.path[-1])
    ball = [b for b in drawn.balls if b.name == r.ball]
    lone = drawn.__class__((r.__class__(r.pad, r.ball, r.net, path, 0.0),), {r.ball: r.net}, tuple(ball), (),
                           router="ring")
    pads = [p for p in die.pads if p.name == r.pad]
    out = tighten(lone, pads, die.keepin, die.rules).routes[0]
    middle = octilinear(*(b - a))
    ends = np.hypot(*np.subtract(r.path[1], r.path[0])) + np.hypot(*np.subtract(r.path[-1], r.path[-2]))
    assert out.length_um == pytest.approx(ends + middle, abs=1e-6)
    assert len(out.path) <= 5     # pad run, at most one 45° and one straight run, ball run


def test_segment_distance_is_shapelys():
    rng = np.random.default_rng(7)
    p0, p1, q0, q1 = (rng.uniform(-50, 50, (400, 2)) for _ in range(4))
    q1[:50] = q0[:50]          # points
    p1[50:80] = p0[50:80] + (q1[50:80] - q0[50:80])   # parallel pairs
    want = shapely.distance(shapely.linestrings(np.stack([p0, p1], axis=1)),
                            shapely.linestrings(np.stack([q0, q1], axis=1)))
    np.testing.assert_allclose(segment_distance(p0, p1, q0, q1), want, atol=1e-9)


def octilinear_runs(rng, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n random 0/45/90° runs on a 0.005 µm grid."""
    dirs = np.array([(1, 0), (1, 1), (0, 1), (-1, 1)], dtype=float)
    p0 = np.round(rng.uniform(-40, 40, (n, 2)) / 0.005) * 0.005
    p1 = p0 + dirs[rng.integers(0, 4, n)] * np.round(rng.uniform(0.5, 30, n) / 0.005)[:, None] * 0.005
    return p0, p1


def test_the_octagon_gap_never_exceeds_the_distance_and_the_parallel_gap_is_exact():
    rng = np.random.default_rng(11)
    grid = 0.005
    p0, p1 = octilinear_runs(rng, 3000)
    q0, q1 = octilinear_runs(rng, 3000)
    wp, wq = rng.choice([5.0, 10.0, 25.0], 3000), rng.choice([5.0, 10.0, 25.0], 3000)
    true = shapely.distance(run_hulls(p0, p1, wp, grid), run_hulls(q0, q1, wq, grid))
    bound = _octagon_gap(p0, p1, wp, q0, q1, wq, grid)
    assert np.all(bound <= true + 1e-6)
    apart = true > 0
    assert np.mean(np.abs(bound[apart] - true[apart]) < 1e-6) > 0.4   # often exact
    obs = _Shapes(q0, q1, np.zeros(3000), np.zeros(3000), np.zeros(3000, int), np.zeros(3000), np.zeros(3000, int),
                  wq, np.full(3000, None))
    gap, known = _parallel_gap(p0, p1, wp, obs, np.arange(3000), grid)
    known &= apart
    assert known.sum() >= 100
    np.testing.assert_allclose(gap[known], true[known], atol=1e-6)


def test_collinear_vertices_and_repeats_are_dropped():
    path = np.array([(0, 0), (0, 5), (0, 5), (0, 10), (5, 15), (10, 20), (10, 30)], dtype=float)
    assert collinear_free(path).tolist() == [[0, 0], [0, 10], [10, 20], [10, 30]]

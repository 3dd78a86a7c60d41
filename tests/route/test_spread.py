"""Spreading (route/rdl/spread.py): runs bundled at minimum space move apart where their channel
has room; every trace keeps its pad, ball and 45° shape, gets no longer than the pass allows, and
the routing stays DRC-clean."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import shapely

import layoutgen.route.rdl.router as router
from layoutgen.route.rdl import route
from layoutgen.route.rdl.example import example_die
from layoutgen.route.rdl.geometry import routing_metal
from layoutgen.route.rdl.spread import LONGER, spread
from layoutgen.route.rdl.verify import checked
from test_rdl_route import assert_drc_clean


def nearest_space(routing, die) -> np.ndarray:
    """Per net: the space from its metal (traces, pads, balls) to the nearest other net's, within 40 µm."""
    parts = collections.defaultdict(list)
    for net, g in routing_metal(routing, die.rules).items():
        parts[net].append(g)
    for p in die.pads:
        parts[p.net].append(p.shape)
    for b in die.balls:
        parts[routing.ball_nets.get(b.name, "~" + b.name)].append(b.shape)
    geoms = np.array([shapely.union_all(g) for g in parts.values()], dtype=object)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=40.0)
    keep = i != j
    near = np.full(len(geoms), np.inf)
    np.minimum.at(near, i[keep], shapely.distance(geoms[i[keep]], geoms[j[keep]]))
    return near[np.isfinite(near)]


@pytest.fixture(scope="module")
def die_and_routings():
    """A 3.2 mm die, 7 × 7 balls at 400 µm, 48 pads at 120 µm: routed without and with spreading (neither
    pulled tight, so that spreading is all that differs)."""
    die = example_die(3200.0, 7, 7, 400.0, pads_per_side=12, pad_pitch_um=120.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(router, "spread_checked", lambda r, pads, keepin, rules: checked(spread(r, pads, keepin, rules),
                                                                                     pads, keepin, rules))
        spread_on = route(die.pads, die.balls, die.keepin, die.rules)
        mp.setattr(router, "spread_checked", checked)
        bundled = route(die.pads, die.balls, die.keepin, die.rules)
    return die, bundled, spread_on


def test_spreading_moves_bundled_traces_apart(die_and_routings):
    die, bundled, spread_on = die_and_routings
    before, after = nearest_space(bundled, die), nearest_space(spread_on, die)
    rule = die.rules.space
    assert before.min() >= rule - 1e-6 and after.min() >= rule - 1e-6
    at_rule_before = int((before < rule + 0.5).sum())
    at_rule_after = int((after < rule + 0.5).sum())
    assert at_rule_before >= 16 and at_rule_after <= at_rule_before // 2, (at_rule_before, at_rule_after)
    assert np.median(after) >= np.median(before) + 0.4 * rule


def test_spread_traces_keep_their_ends_and_45_degree_shape_and_get_no_longer(die_and_routings):
    die, bundled, spread_on = die_and_routings
    assert [(r.pad, r.ball) for r in spread_on.routes] == [(r.pad, r.ball) for r in bundled.routes]
    moved = 0
    for old, new in zip(bundled.routes, spread_on.routes):
        assert new.path[0] == old.path[0] and new.path[-1] == old.path[-1]
        assert new.length_um <= old.length_um * (1.0 + LONGER) + 1e-6
        moved += new.path != old.path
    assert moved >= len(spread_on.routes) // 4
    total = sum(r.length_um for r in spread_on.routes)
    assert total <= sum(r.length_um for r in bundled.routes) + 1e-6
    assert_drc_clean(spread_on, die)  # widths, spaces, notches, 0/45/90° edges, grid, keep-in


def test_spreading_a_spread_routing_changes_little_and_stays_clean(die_and_routings):
    die, _, spread_on = die_and_routings
    again = checked(spread(spread_on, die.pads, die.keepin, die.rules), die.pads, die.keepin, die.rules)
    assert nearest_space(again, die).min() >= die.rules.space - 1e-6
    assert sum(r.length_um for r in again.routes) <= sum(r.length_um for r in spread_on.routes) * (1 + LONGER) + 1e-6


def test_spreading_shortens_no_axis_run_beside_a_45_degree_run_below_the_pens_corner_reach(die_and_routings):
    # shorter, the pens' chamfered corners at its two bends overlap: the merged outline skips the run
    from layoutgen.route.rdl.geometry import pen_for

    die, bundled, spread_on = die_and_routings
    pen = pen_for(die.rules.width, die.rules.grid)
    checked_runs = 0
    for old, new in zip(bundled.routes, spread_on.routes):
        a, b = np.diff(np.array(old.path), axis=0), np.diff(np.array(new.path), axis=0)
        assert a.shape == b.shape  # spreading slides runs, it adds and drops no bend
        diagonal = (np.abs(b[:, 0]) > 1e-9) & (np.abs(b[:, 1]) > 1e-9)
        for k in range(len(b)):
            beside = (k > 0 and diagonal[k - 1]) or (k + 1 < len(b) and diagonal[k + 1])
            if diagonal[k] or not beside:
                continue
            checked_runs += 1
            before, after = float(np.hypot(*a[k])), float(np.hypot(*b[k]))
            assert after >= min(before, pen.a + pen.t) - 1e-6, (new.pad, k, before, after)
    assert checked_runs >= 20

"""The topological planner (layoutgen/route/rdl/sketch.py): it names the gap a plan over-fills, and
the guides it plans for a pinout out of ring order cross no other net's guide."""

from __future__ import annotations

import dataclasses
import math

import pytest
import shapely

from layoutgen.route.rdl.example import capture_pad, example_die, square
from layoutgen.route.rdl.maze import Job
from layoutgen.route.rdl.model import RouteRules, Terminal
from layoutgen.route.rdl.sketch import PlanOverCapacity, sketch


def _jobs(pads, balls, rules):
    """One job per pad, to the ball of its net."""
    ball_of = {b.net: k for k, b in enumerate(balls) if b.net}
    return [Job(i, ball_of[p.net], p.net, *rules.for_net(p.net)) for i, p in enumerate(pads)]


def _wall(nets: int):
    """A wall of five balls at x = 0 from the bottom to the top of the keep-in (none passes between
    its end balls and the die edge), `nets` pads on the left and their balls on the right, traces
    75 µm wide at 10 µm: each of the wall's four 165 µm gaps carries one."""
    rules = RouteRules(width=75.0, space=10.0, grid=0.005, teardrop_max_fraction=0.5, pitch=400.0)
    wall = [Terminal(f"W{k}", None, 0.0, y, capture_pad(0.0, y, 235.0, rules.grid))
            for k, y in enumerate((-800.0, -400.0, 0.0, 400.0, 800.0))]
    ys = [-800.0, -400.0, 0.0, 400.0, 800.0][:nets]
    right = [Terminal(f"R{k}", f"N{k}", 600.0, y, capture_pad(600.0, y, 235.0, rules.grid)) for k, y in enumerate(ys)]
    pads = [Terminal(f"P{k}", f"N{k}", -750.0, y, square(-750.0, y, 60.0)) for k, y in enumerate(ys)]
    balls = wall + right
    return pads, balls, shapely.box(-900.0, -900.0, 900.0, 900.0), rules


def test_a_gap_over_capacity_is_named_with_its_obstacles_and_by_how_much():
    pads, balls, keepin, rules = _wall(5)
    with pytest.raises(PlanOverCapacity) as error:
        sketch(pads, balls, keepin, _jobs(pads, balls, rules), rules)
    message = str(error.value)
    # five traces, four gaps of one track: one gap of the wall takes two
    assert "takes 2 track(s) through the gap between ball W" in message
    assert "which carries 1 (over by 1)" in message
    assert message.count("ball W") == 2, message
    # with four nets the wall carries them all, one per gap
    pads, balls, keepin, rules = _wall(4)
    plan = sketch(pads, balls, keepin, _jobs(pads, balls, rules), rules)
    wall_gaps = [g for g, gap in enumerate(plan.gaps) if plan.names[gap.a].startswith("ball W")
                 and plan.names[gap.b].startswith("ball W")]
    through = sorted(g for walk in plan.crossed for g in walk if g in wall_gaps)
    assert len(through) == 4 and len(set(through)) == 4


def _interleaved():
    """The outer ring of a 5 × 5 array at 400 µm on a 2.8 mm die, its 16 balls taking the 16 pads at
    stride 5 round the die (pinout_datasheet of the corpus): 40 of the 120 pairs of nets interleave."""
    die = example_die(2800.0, 5, 5, 400.0, pads_per_side=4, pad_pitch_um=200.0)
    ring = sorted((b for b in die.balls if max(abs(b.x), abs(b.y)) > 700), key=lambda b: math.atan2(b.y, b.x))
    pads = sorted(die.pads, key=lambda p: math.atan2(p.y, p.x))
    nets = {b.name: pads[(5 * k) % 16].net for k, b in enumerate(ring)}
    balls = [dataclasses.replace(b, net=nets.get(b.name)) for b in die.balls]
    return die.pads, balls, die.keepin, die.rules


def test_the_guides_of_an_interleaved_pinout_cross_no_other_guide():
    pads, balls, keepin, rules = _interleaved()
    jobs = _jobs(pads, balls, rules)
    plan = sketch(pads, balls, keepin, jobs, rules)
    lines = [shapely.LineString(g) for g in plan.guides]
    for k, line in enumerate(lines):
        pad, ball = pads[jobs[k].pad], balls[jobs[k].ball]
        assert line.coords[0] == (pad.x, pad.y) and line.coords[-1] == (ball.x, ball.y)
        assert keepin.covers(line), f"guide of net {jobs[k].net} leaves the keep-in"
        for j in range(k + 1, len(lines)):
            assert not line.intersects(lines[j]), f"guides of nets {jobs[k].net} and {jobs[j].net} cross"
    # no gap takes more traces than it carries
    load = {}
    for walk in plan.crossed:
        for g in walk:
            load[g] = load.get(g, 0) + 1
    assert all(n <= plan.gaps[g].tracks for g, n in load.items())
    # a net whose ball is not beside its pad winds round other nets' balls: some guides are long
    bound = sum(math.dist(g[0], g[-1]) for g in plan.guides)
    assert sum(line.length for line in lines) > 1.2 * bound

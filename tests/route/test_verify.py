"""The router's final check (route/rdl/verify.py): it finds on the merged RDL what the DRC's own
space check finds, notches looked for in windows around each net's facing walls included."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import shapely

import layoutgen.route.rdl.verify as verify
from layoutgen.drc.merge import Shapes
from layoutgen.drc.space import check_space
from layoutgen.drc.width import check_width
from layoutgen.errors import RoutingError
from layoutgen.route.rdl import Route, Routing
from layoutgen.route.rdl.example import example_die


@pytest.fixture(scope="module")
def die():
    """A 1.6 mm die, 2 × 2 balls at 400 µm, one pad a side."""
    return example_die(1600.0, 2, 2, 400.0, pads_per_side=1, pad_pitch_um=100.0)


def routing(die, extra: tuple[Route, ...] = ()) -> Routing:
    """Each pad straight in and then along the axis into its ball (a teardrop at every ball), plus `extra`."""
    ball_of = {"P1": "A2", "P2": "B2", "P3": "B1", "P4": "A1"}
    balls = {b.name: b for b in die.balls}
    routes = []
    for p in die.pads:
        b = balls[ball_of[p.name]]
        corner = (p.x, b.y) if p.x == 0.0 else (b.x, p.y)
        path = ((p.x, p.y), corner, (b.x, b.y))
        routes.append(Route(p.name, b.name, p.net, path, sum(np.hypot(*np.subtract(u, v)) for u, v in zip(path, path[1:]))))
    return Routing(routes=tuple(routes) + extra, ball_nets={ball_of[p.name]: p.net for p in die.pads},
                   balls=die.balls)


def slit(die) -> Route:
    """A stub of net N1 out of ball A2, beside N1's own trace and teardrop, 5 µm from the trace
    (the rule space is 10 µm): a notch in N1's own metal that starts at the teardrop/ball junction."""
    a2 = next(b for b in die.balls if b.name == "A2")
    w = die.rules.width
    y = a2.y + w + 5.0          # trace top at a2.y + w/2, stub bottom at y - w/2: 5 µm between them
    return Route("P1", "A2", "N1", ((a2.x, y), (a2.x - 180.0, y)), 180.0, teardrop=False)


def merged(die, r: Routing) -> np.ndarray:
    """Per net, the routing's metal merged with its pads and balls, as the DRC merges the layer."""
    metal = verify.routes_metal(r.routes, {b.name: b for b in die.balls}, die.rules)
    parts = {n: [g] for n, g in metal.items()}
    for p in die.pads:
        parts[p.net].append(p.shape)
    for b in die.balls:
        parts[r.ball_nets[b.name]].append(b.shape)
    return np.array([shapely.union_all(parts[n]) for n in sorted(parts)], dtype=object)


def test_the_clean_die_passes_without_a_fill(die, monkeypatch):
    monkeypatch.setattr(verify, "FILL_ROUNDS", 0)
    out = verify.checked(routing(die), die.pads, die.keepin, die.rules)
    assert sorted(out.metal) == ["N1", "N2", "N3", "N4"]


def test_a_notch_planted_at_a_teardrop_ball_junction_is_named(die, monkeypatch):
    planted = routing(die, (slit(die),))
    monkeypatch.setattr(verify, "FILL_ROUNDS", 0)      # no fill: the notch it finds is reported
    with pytest.raises(RoutingError, match=r"net N1: a notch between its own traces and landings stays narrower "
                                           r"than 10 µm"):
        verify.checked(planted, die.pads, die.keepin, die.rules)


def test_the_planted_notch_is_filled_and_the_result_passes_the_drc_space_check(die):
    planted = routing(die, (slit(die),))
    out = verify.checked(planted, die.pads, die.keepin, die.rules)
    bare = verify.routes_metal(planted.routes, {b.name: b for b in die.balls}, die.rules)
    a2 = next(b for b in die.balls if b.name == "A2")
    top = a2.y + die.rules.width / 2.0                                    # the trace's top wall
    gap = shapely.box(a2.x - 170.0, top, a2.x - 135.0, top + 5.0)          # the slit, short of the teardrop
    assert out.metal["N1"].area > bare["N1"].area + 100.0                   # the 5 µm slit, filled
    assert shapely.intersection(out.metal["N1"], gap).area > 0.9 * gap.area
    for net in ("N2", "N3", "N4"):
        assert shapely.equals(out.metal[net], bare[net])                  # the other nets untouched
    parts = {n: [g] for n, g in out.metal.items()}
    for p in die.pads:
        parts[p.net].append(p.shape)
    for b in die.balls:
        parts[planted.ball_nets[b.name]].append(b.shape)
    final = np.array([shapely.union_all(parts[n]) for n in sorted(parts)], dtype=object)
    assert check_space(Shapes.of(final), die.rules.space) == []


def test_the_windowed_notches_are_the_whole_space_checks(die):
    geoms = merged(die, routing(die, (slit(die),)))
    whole = [f for f in check_space(Shapes.of(geoms), die.rules.space) if f.region is not None]
    windowed = verify._notches(geoms, die.rules.space, True)
    assert len(whole) >= 1
    assert [f.message for f in windowed] == [f.message for f in whole]
    assert all(shapely.equals_exact(a.region, b.region, 0.0) for a, b in zip(windowed, whole))
    # the notch lies at N1's ball: between the stub and the trace, from the teardrop outward
    a2 = next(b for b in die.balls if b.name == "A2")
    assert all(shapely.distance(f.region, a2.shape) < die.rules.space for f in whole)


def test_a_net_without_walls_facing_within_two_spaces_is_not_clipped(die):
    geoms = merged(die, routing(die))
    assert verify._notches(geoms, die.rules.space, True) == []
    assert [f for f in check_space(Shapes.of(geoms), die.rules.space) if f.region is not None] == []


def thin_stub(die, width: float) -> Route:
    """A stub of net N3 out of ball B1, straight down and `width` wide (the rule width is 10 µm)."""
    b1 = next(b for b in die.balls if b.name == "B1")
    return Route("P3", "B1", "N3", ((b1.x - 60.0, b1.y), (b1.x - 60.0, b1.y - 200.0)), 200.0, width=width,
                 teardrop=False)


def test_a_narrow_stub_planted_on_a_ball_is_named_and_found_as_the_whole_width_check_finds_it(die):
    planted = routing(die, (thin_stub(die, 6.0),))
    with pytest.raises(RoutingError, match=r"net N3 \(pad P3 → ball B1\): the final RDL fails the DRC near "
                                           r"\(-260\.0, -3\d\d\.\d\): narrower than 9\.995 µm"):
        verify.checked(planted, die.pads, die.keepin, die.rules)
    limit = die.rules.width - die.rules.grid
    geoms = merged(die, planted)
    whole = check_width(Shapes.of(geoms), limit)
    assert len(whole) == 1 and whole[0].region.area > 0.9 * 6.0 * (200.0 - 117.5)
    windowed = verify._narrow(geoms, limit, die.rules.grid)
    assert [f.message for f in windowed] == [f.message for f in whole]
    assert shapely.equals_exact(windowed[0].region, whole[0].region, 0.0)


def test_a_stub_at_the_rule_width_passes_and_is_not_clipped(die):
    geoms = merged(die, routing(die, (thin_stub(die, die.rules.width),)))
    limit = die.rules.width - die.rules.grid
    assert check_width(Shapes.of(geoms), limit) == [] and verify._narrow(geoms, limit, die.rules.grid) == []
    out = verify.checked(routing(die, (thin_stub(die, die.rules.width),)), die.pads, die.keepin, die.rules)
    assert out.metal["N3"].area > verify.routes_metal(routing(die).routes, {b.name: b for b in die.balls},
                                                      die.rules)["N3"].area + 1500.0

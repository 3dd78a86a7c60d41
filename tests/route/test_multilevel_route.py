"""The multi-level fan-out router on small cases: level changes, no crossings within a level,
spacing by construction, radial entry into round pads, failures that name the net, notch fill."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import Point, box

from layoutgen.errors import RoutingError
from layoutgen.route.multilevel import LevelSpec, Obstacle, Terminal, ViaSpec, notch_fill, route

LEVELS = [LevelSpec("WIRE1", 15, 15), LevelSpec("WIRE2", 20, 20, cost=1.5)]
VIAS = [ViaSpec("VIA2", 0, 30, 45, 50, 200)]
KEEPIN = box(-1000, -1000, 1000, 1000)


def pad(name: str, net: str, x: float, y: float, level: int = 0, side: float = 40) -> Terminal:
    return Terminal(name, net, level, box(x - side / 2, y - side / 2, x + side / 2, y + side / 2), x, y, "stub")


def level_metal(routing, net: str, level: str):
    return shapely.union_all(routing.nets[net].metal.get(level, []))


def test_two_crossing_nets_use_both_levels_and_never_meet_on_one():
    terms = [pad("a1", "A", -600, 0), pad("a2", "A", 600, 0), pad("b1", "B", 0, -600), pad("b2", "B", 0, 600)]
    r = route(terms, [], KEEPIN, LEVELS, VIAS, pitch=40)
    vias = {n: len(r.nets[n].vias) for n in "AB"}
    assert sorted(vias.values()) == [0, 2]          # one net goes up and comes back down
    for level in LEVELS:
        a, b = level_metal(r, "A", level.name), level_metal(r, "B", level.name)
        if not a.is_empty and not b.is_empty:
            assert a.distance(b) >= level.space - 1e-9
    crossing = "A" if vias["A"] else "B"
    assert set(r.nets[crossing].length_by_level) == {"WIRE1", "WIRE2"}
    straight = "B" if crossing == "A" else "A"
    assert r.nets[straight].length_um == pytest.approx(1200)   # routed directly, no detour


def test_on_one_level_the_crossing_net_fails_by_name():
    # Both nets span the routing area from edge to edge: on one level the second cannot get past.
    terms = [pad("a1", "A", -960, 0), pad("a2", "A", 960, 0), pad("b1", "B", 0, -960), pad("b2", "B", 0, 960)]
    with pytest.raises(RoutingError, match=r"net [AB]: cannot reach [ab][12] .* blocked"):
        route(terms, [], KEEPIN, LEVELS[:1], [], pitch=40)


def test_a_keep_out_makes_the_route_go_around_it():
    terms = [pad("a1", "A", -600, 0), pad("a2", "A", 600, 0)]
    wall = Obstacle(0, box(-20, -400, 20, 400), None, where="wall")
    r = route(terms, [wall], KEEPIN, LEVELS[:1], [], pitch=40)
    metal = level_metal(r, "A", "WIRE1")
    assert metal.distance(wall.geometry) >= 15 - 1e-9
    assert r.nets["A"].length_um > 1200 + 2 * 400            # around the wall's end
    assert len(r.nets["A"].legs[0].runs[0][1]) <= 6          # straightened: a few bends, not a staircase


def test_an_enclosed_terminal_fails_naming_net_and_terminal():
    terms = [pad("a1", "A", -600, 0), pad("a2", "A", 600, 0)]
    fence = box(400, -200, 800, 200).difference(box(450, -150, 750, 150))
    obst = [Obstacle(0, fence, None, where="fence"), Obstacle(1, fence, None, where="fence")]
    with pytest.raises(RoutingError, match=r"net A: cannot reach a\d .*from a\d"):
        route(terms, obst, KEEPIN, LEVELS, VIAS, pitch=40)


def test_fixed_metal_of_two_nets_too_close_is_refused():
    terms = [pad("a1", "A", 0, 0), pad("a2", "A", 600, 0), pad("b1", "B", 45, 0), pad("b2", "B", -600, 0)]
    with pytest.raises(RoutingError, match=r"on WIRE1, a1 \(net A\) and b1 \(net B\) are 5\.000 µm apart"):
        route(terms, [], KEEPIN, LEVELS, VIAS, pitch=40)


def test_round_pads_are_entered_through_their_centre_only():
    disc = Point(400, 400).buffer(150, 64)
    terms = [pad("p", "S", -400, -300), Terminal("ball", "S", 1, disc, 400, 400, "centre")]
    r = route(terms, [], KEEPIN, LEVELS, VIAS, pitch=50)
    near = disc.buffer(20)
    cross = box(400 - 25, -1000, 400 + 25, 1000).union(box(-1000, 400 - 25, 1000, 400 + 25))
    for level in ("WIRE1", "WIRE2"):
        m = level_metal(r, "S", level)
        if level == "WIRE2":
            assert m.intersection(near).difference(cross).area < 1e-9
    # The route comes up at the pad's centre (via in pad) or runs on its row or column.
    assert any(abs(x - 400) < 1e-9 and abs(y - 400) < 1e-9 for _, x, y in r.nets["S"].vias) \
        or level_metal(r, "S", "WIRE2").intersects(Point(400, 400))


def test_multi_terminal_net_grows_one_tree():
    ring = box(-900, -900, 900, 900).difference(box(-800, -800, 800, 800))
    terms = [Terminal("ring", "VDD", 1, ring, 0, 0, "inside"),
             pad("p1", "VDD", -200, 0), pad("p2", "VDD", 200, 0), pad("p3", "VDD", 0, 300)]
    r = route(terms, [], KEEPIN, LEVELS, VIAS, pitch=40)
    legs = r.nets["VDD"].legs
    assert [leg.terminal for leg in legs] and sorted(leg.terminal for leg in legs) == ["p1", "p2", "p3"]
    # Each pad joins the ring or a leg already drawn: fewer vias than one per pad and ring.
    assert 1 <= len(r.nets["VDD"].vias) <= 3
    assert r.attempts == 1


def test_notch_fill_closes_a_same_net_slot_and_leaves_other_nets_alone():
    a = box(0, 0, 100, 15)
    b = box(0, 25, 100, 40)           # a 10 µm slot between two arms of one net...
    joint = box(0, 0, 15, 40)         # ...joined at one end: a notch
    fill = notch_fill([a, b, joint], [], 15, 0.005)
    assert len(fill) == 1 and fill[0].area == pytest.approx(85 * 10)
    assert all(abs(c / 0.005 - round(c / 0.005)) < 1e-6 for c in fill[0].exterior.coords[0])
    other = box(40, 55, 60, 70)       # another net 15 µm above: still clear, fill stays
    assert len(notch_fill([a, b, joint], [other], 15, 0.005)) == 1
    near = box(40, 45, 60, 60)        # 5 µm above: the fill would not change that, but keep away
    assert notch_fill([a, b, joint], [near.buffer(-1)], 15, 0.005) in ([], notch_fill([a, b, joint], [], 15, 0.005))
    assert notch_fill([a, box(0, 30, 100, 45), box(0, 0, 15, 45)], [], 15, 0.005) == []   # 15 µm: no notch

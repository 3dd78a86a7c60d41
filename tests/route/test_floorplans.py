"""Floorplans real chips have (tests/route/floorplans.py): each routes DRC-clean, or is refused
with a reason; none ever yields a layout with a DRC violation."""

from __future__ import annotations

import pytest

from layoutgen.errors import RoutingError
from layoutgen.families.wlcsp_fanin.build import build_die
from layoutgen.pdk import load_pdk
from floorplans import FLOORPLANS, build_checked, design, row
from layoutgen.design import BallGrid, NetClass

# Floorplans the router does not route yet (each refused with exit 2 and a reason, never exit 1):
# the lattice router finds no planar set of traces on it (neither negotiation nor one-at-a-time routing), though one exists.
NOT_YET = {"pinout_datasheet"}
# Floorplans no single-layer routing exists for, refused with the reason (a proof, not a failed search).
INFEASIBLE = {
    # VDD's pads 3 and 13 meet at A1, VSS's pads 8 and 18 at F6: the pads alternate along the edge
    "partial": r"nets VDD and VSS cannot both be routed on one layer: VDD joins pads P13, P3 at ball A1 .* "
               r"alternate along the die edge \(VDD P3, VSS P8, VDD P13, VSS P18\)",
    # 25 inner nets drawn 75 µm wide, the outer ring's 24 gaps carry one each
    "pinout_overfull": r"nets W1, W11, .* and 17 more cannot all be routed on one layer: 25 trace\(s\) must cross "
                       r"ring 0 \(outer ring\) .* its 24 gaps carry only 24 traces of 75 µm at 10 µm spacing .* "
                       r"over by 1 track\(s\)",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A floorplan's die, its DRC and its folder, built once per module (the tests below share them)."""
    done = {}

    def get(name: str):
        if name not in done:
            folder = tmp_path_factory.mktemp(name)
            done[name] = (*build_checked(FLOORPLANS[name][1](), folder), folder)
        return done[name]
    return get


@pytest.mark.parametrize("name", sorted(FLOORPLANS))
def test_floorplan_routes_drc_clean_or_is_refused_with_a_reason(name, tmp_path, built):
    cls, make = FLOORPLANS[name]
    d = make()
    if name in NOT_YET or name in INFEASIBLE:
        with pytest.raises(RoutingError, match=INFEASIBLE.get(name)):
            build_checked(d, tmp_path)
        assert not any(tmp_path.iterdir()), "nothing is written when a route fails"
        return
    die, drc, _ = built(name)
    assert drc.ok, f"{cls} {name}: {drc.counts()}"
    pads = {p.name for p in d.die.pads}
    assert set(die.assignment) == pads, "every pad has a trace"
    for pad, ball in die.assignment.items():
        net = next(p.net for p in d.die.pads if p.name == pad)
        assert die.ball_nets[ball] == net
    fixed = d.package.balls.nets
    if d.package.balls.assign == "explicit" or fixed:
        for ball, net in fixed.items():
            assert die.ball_nets.get(ball, net) == net, f"ball {ball} keeps its net {net}"


def test_a_no_connect_ball_is_reported(built):
    die, drc, _ = built("no_connect")
    assert drc.ok and die.extra["no_connect_balls"] == ["A2"]
    assert "A2" not in die.ball_nets


def test_net_classes_draw_wider_traces(built):
    d = FLOORPLANS["net_classes"][1]()
    die = built("net_classes")[0]
    import shapely
    rdl = shapely.union_all(die.layout.cells[die.layout.top].shapes["RDL"])
    vdd_pad = next(p for p in d.die.pads if p.net == "VDD1")
    # the VDD1 trace leaving its pad is 20 µm wide: a 20 × 20 µm square fits in the metal just outside the pad
    assert die.route_lengths[vdd_pad.name] > 0
    assert rdl.area > 0


def test_a_trace_wider_than_every_gap_is_refused_naming_its_net(tmp_path):
    pads = row("B", 3, 400, y=-1135)
    classes = {"B2": NetClass(width=150, space=10)}
    d = design("over", "sky400", 2400, 2400, pads, BallGrid(rows=5, cols=5, pitch=400, assign="explicit",
                                                            nets={"E1": "B1", "C3": "B2", "E5": "B3"}, net_classes=classes))
    with pytest.raises(RoutingError, match=r"nets B2 cannot all be routed on one layer: 1 trace\(s\) must cross "
                                           r"ring 0 .* carry only 0 traces of 150 µm .* over by 1 track\(s\)"):
        build_checked(d, tmp_path)
    assert not any(tmp_path.iterdir()), "nothing is written when a route fails"



@pytest.mark.parametrize("name, balls", [("one_pad_two_balls_of_a_net", {"A1", "A2"}),
                                         ("one_pad_three_balls", {"A1", "A2", "B1"})])
def test_every_ball_of_a_net_with_more_balls_than_pads_is_joined_to_its_pad(name, balls, built):
    import klayout.db as kdb

    d = FLOORPLANS[name][1]()
    die, drc, folder = built(name)
    assert drc.ok, drc.counts()
    assert {b for b, n in die.ball_nets.items() if n == "A"} == balls and not die.extra.get("no_connect_balls")
    # read back by KLayout: one RDL polygon holds pad P1 and the centre of every ball of net A
    layout = kdb.Layout()
    layout.read(str(folder / f"{d.name}.gds"))
    pdk = load_pdk(d.pdk)
    rdl = kdb.Region(layout.top_cell().begin_shapes_rec(layout.layer(*pdk.layers["RDL"].gds))).merged()
    pad = next(p for p in d.die.pads if p.net == "A")
    where = {n: (x, y) for n, x, y in d.package.balls.positions()}
    dbu = layout.dbu
    hold = [poly for poly in rdl.each() if poly.inside(kdb.Point(round(pad.x / dbu), round(pad.y / dbu)))]
    assert len(hold) == 1
    for ball in balls:
        x, y = where[ball]
        assert hold[0].inside(kdb.Point(round(x / dbu), round(y / dbu))), f"ball {ball} is not joined to pad {pad.name}"


def _ring_over_by(inner_nets: int):
    """A 7 × 7 array at 400 µm: the 24 balls of the outer ring carry nets O*, `inner_nets` of the 25
    inner balls nets W* drawn 75 µm wide, so that every gap of the outer ring (164.7 µm) carries one."""
    from layoutgen.route.rdl.example import example_die
    from layoutgen.route.rdl.grid import infer_grid
    import dataclasses

    die = example_die(3600.0, 7, 7, 400.0, pads_per_side=13, pad_pitch_um=200.0)
    ring = infer_grid(die.balls, 400.0).ring
    outer = [b for b, r in zip(die.balls, ring) if r == 0]
    inner = [b for b, r in zip(die.balls, ring) if r > 0][:inner_nets]
    nets = {b.name: f"O{k}" for k, b in enumerate(outer)} | {b.name: f"W{k}" for k, b in enumerate(inner)}
    balls = [dataclasses.replace(b, net=nets.get(b.name)) for b in die.balls]
    pads = [dataclasses.replace(p, net=n) for p, n in zip(die.pads, sorted(nets.values()))]
    rules = dataclasses.replace(die.rules, classes=(("W*", 75.0, 10.0),))
    return pads, balls, die.keepin, rules


def test_a_ring_one_track_short_is_refused_naming_the_nets_the_ring_and_by_how_much():
    from layoutgen.route.rdl import route
    from layoutgen.route.rdl.capacity import cut_over_capacity

    pads, balls, keepin, rules = _ring_over_by(25)
    with pytest.raises(RoutingError) as error:
        route(pads, balls, keepin, rules, mode="explicit")
    message = str(error.value)
    assert "25 trace(s) must cross ring 0 (outer ring)" in message
    assert "its 24 gaps carry only 24 traces of 75 µm at 10 µm spacing" in message
    assert "over by 1 track(s)" in message and "nets W0, W1, W10" in message
    assert "between balls A1 and A2, carries 1" in message
    # with one inner net fewer the ring carries them all: no proof
    pads, balls, keepin, rules = _ring_over_by(24)
    index = {b.name: k for k, b in enumerate(balls)}
    by_net = {b.net: index[b.name] for b in balls if b.net}
    assert cut_over_capacity(pads, balls, [(i, by_net[p.net]) for i, p in enumerate(pads)], rules) is None


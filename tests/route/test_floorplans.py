"""Floorplans real chips have (tests/route/floorplans.py): each routes DRC-clean, or is refused
with a reason; none ever yields a layout with a DRC violation."""

from __future__ import annotations

import pytest

from layoutgen.errors import RoutingError
from layoutgen.families.wlcsp_fanin.build import build_die
from layoutgen.pdk import load_pdk
from floorplans import FLOORPLANS, build_checked, design, row
from layoutgen.design import BallGrid, NetClass

# Floorplans the router does not route yet (each refused with exit 2 and a reason, never exit 1): none now.
# pinout_datasheet maps 16 pads to the outer ring at stride 5 (each net travels up to half way round the die), so
# 40 of the 120 pairs of nets interleave and one of each pair must wind round the other's ball. It routes in two passes:
# - the lattice router alone (20 µm lattice, 7 nodes per 165 µm ball gap) leaves most traces sharing nodes, after
#   negotiated rip-up and one at a time (every order closes some later net off);
# - so the topological planner runs (sketch.py: Delaunay gaps between pads, balls and the die edge, each gap keeping
#   its traces in order): a plan without crossings within every gap's tracks; each guide is rounded about the
#   obstacle each two of its gaps share, its traces 2 tracks apart on gaps with room (√2 pitches along a 45° gap);
# - the lattice router then searches again, each trace in a hard lane 3 pitches either side of its rounded guide,
#   never stepping between two places of its guide far apart (a guide winding round a ball comes back past itself):
#   DRC-clean, 2.2 times the octilinear pad-to-ball length, about 5 s CPU for the build and DRC.
# A random permutation of the 20 outer balls of a 6 x 6 array (2.8 mm die, 20 pads) was refused for 3 of 3 seeds
# before this (for two the plan itself ends with a crossing or a gap one track over); not in the corpus.
# The reversed pinout (pads counter-clockwise, the outer ring's balls clockwise: 4 of 120 pairs interleave) routes
# since the lattice runs at 20 µm (pinout_reversed).
NOT_YET: set[str] = set()
# a refusal names the nets, and which net's trace closed which ball off from its pad in the last order tried
NOT_YET_REASON = (r"cannot all be routed on one layer: .* \(in the last one-at-a-time order, net P\d+'s trace from "
                  r"pad P\d+ to ball [A-E]\d closed net P\d+'s ball [A-E]\d off from its pad P\d+")
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
        with pytest.raises(RoutingError, match=INFEASIBLE.get(name, NOT_YET_REASON)):
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


def test_every_net_of_the_datasheet_pinout_joins_its_pad_to_its_ball(built):
    import klayout.db as kdb

    d = FLOORPLANS["pinout_datasheet"][1]()
    die, drc, folder = built("pinout_datasheet")
    assert drc.ok, drc.counts()
    # read back by KLayout: the RDL polygon holding each pad's centre holds its ball's centre, and no other pad's
    layout = kdb.Layout()
    layout.read(str(folder / f"{d.name}.gds"))
    pdk = load_pdk(d.pdk)
    rdl = kdb.Region(layout.top_cell().begin_shapes_rec(layout.layer(*pdk.layers["RDL"].gds))).merged()
    where = {n: (x, y) for n, x, y in d.package.balls.positions()}
    ball_of = {net: ball for ball, net in d.package.balls.nets.items()}
    dbu = layout.dbu

    def at(x: float, y: float):
        return kdb.Point(round(x / dbu), round(y / dbu))

    for pad in d.die.pads:
        hold = [poly for poly in rdl.each() if poly.inside(at(pad.x, pad.y))]
        assert len(hold) == 1, f"pad {pad.name} lies in {len(hold)} RDL polygons"
        assert hold[0].inside(at(*where[ball_of[pad.net]])), f"net {pad.net}: pad {pad.name} is not joined to its ball"
        others = [p.name for p in d.die.pads if p.name != pad.name and hold[0].inside(at(p.x, p.y))]
        assert not others, f"net {pad.net}: pad {pad.name} is joined to pads {others}"


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



def _listed(kind: str, inner_nets: int, mode: str, pads_n: int | None = None):
    """Balls off any square lattice, the W* nets drawn wide, pads around a 4 mm die.

    'hex': 37 balls of a hexagonal cluster at 400 µm (rows 347 µm apart): its outer ring is the
    18 balls of its hull, every gap 165 µm, one 75 µm trace each. 'staggered': 6 × 5 balls, rows
    shifted ±100 µm, 150 µm traces: the hull's 15 balls leave 10 gaps of 165 µm (none), 2 of 212 µm
    (one each) and 3 of 565 µm (three each), 11 in all.
    'explicit': the outer ring's balls carry nets O*, `inner_nets` inner balls nets W*;
    'auto': `pads_n` pads of nets W*, every ball free; 'partial': as auto, one outer ball fixed."""
    from layoutgen.route.rdl.example import capture_pad, example_die, square
    from layoutgen.route.rdl.capacity import ball_rings
    from layoutgen.route.rdl.model import RouteRules, Terminal

    if kind == "hex":
        at = [(400.0 * (q + r / 2.0), 347.0 * r) for q in range(-3, 4) for r in range(-3, 4) if abs(q + r) <= 3]
        wide = 75.0
    else:
        at = [((c - 2.5) * 400 + (100 if r % 2 else -100), (2 - r) * 400.0) for r in range(5) for c in range(6)]
        wide = 150.0
    rules = RouteRules(width=10.0, space=10.0, grid=0.005, teardrop_max_fraction=0.5, pitch=400.0,
                       classes=(("W*", wide, 10.0),))
    balls = [Terminal(f"B{k}", None, x, y, capture_pad(x, y, 235.0, rules.grid)) for k, (x, y) in enumerate(at)]
    outer = set(ball_rings(balls, 400.0)[0])
    die = example_die(4000.0, 1, 1, 400.0, pads_per_side=10, pad_pitch_um=200.0)
    if mode == "explicit":
        inner = [k for k in range(len(balls)) if k not in outer][:inner_nets]
        nets = {k: f"O{k}" for k in outer} | {k: f"W{k}" for k in inner}
        balls = [Terminal(b.name, nets.get(k), b.x, b.y, b.shape) for k, b in enumerate(balls)]
        pad_nets = sorted(nets.values())
    else:
        pad_nets = [f"W{k}" for k in range(pads_n)]
        if mode == "partial":
            k = min(outer)
            balls[k] = Terminal(balls[k].name, "W0", balls[k].x, balls[k].y, balls[k].shape)
    pads = [Terminal(p.name, n, p.x, p.y, square(p.x, p.y, 60.0)) for p, n in zip(die.pads, pad_nets)]
    return pads, balls, die.keepin, rules, len(outer)


@pytest.mark.parametrize("kind, mode, short, fits, ring, tracks, width", [
    ("hex", "explicit", 19, 18, 18, 18, 75),
    ("staggered", "explicit", 12, 11, 15, 11, 150),
    ("hex", "auto", 37, 36, 18, 18, 75),
    ("hex", "partial", 37, 36, 18, 18, 75),
])
def test_a_ball_list_or_free_assignment_one_track_short_is_refused_naming_the_ring(kind, mode, short, fits, ring,
                                                                                    tracks, width):
    """Off a square lattice the rings are the convex layers of the balls; with automatic or partial
    assignment the nets that must cross a ring are those beyond the free balls on their side of it."""
    from layoutgen.route.rdl import route
    from layoutgen.route.rdl.anywhere import _check_free_cuts
    from layoutgen.route.rdl.capacity import cut_over_capacity
    from layoutgen.route.rdl.plan import assign_balls

    pads, balls, keepin, rules, outer = _listed(kind, short, mode, short)
    assert outer == ring
    with pytest.raises(RoutingError) as error:
        route(pads, balls, keepin, rules, mode="explicit" if mode == "explicit" else "auto")
    message = str(error.value)
    assert f"{tracks + 1} trace(s) must cross ring 0 (outer ring)" in message
    assert f"({ring} balls)" in message
    assert f"its {ring} gaps carry only {tracks} traces of {width} µm at 10 µm spacing" in message
    assert "over by 1 track(s)" in message
    if mode != "explicit":
        free = ring - (mode == "partial")
        assert f"nets with their pads outside it have only {free} free balls on or outside it" in message
    # one net fewer: the ring carries them all, no proof
    pads, balls, keepin, rules, _ = _listed(kind, fits, mode, fits)
    if mode == "explicit":
        assert cut_over_capacity(pads, balls, assign_balls(pads, balls, "explicit"), rules) is None
    else:
        _check_free_cuts(pads, balls, rules)


@pytest.mark.parametrize("rows, cols", [(6, 6), (5, 7)])
def test_the_convex_layers_of_a_full_array_are_its_rings(rows, cols):
    """The rings a ball list off the lattice is given are the lattice's own rings on a full array:
    the same balls, each ring in order around it (neighbours one pitch apart)."""
    import numpy as np
    from layoutgen.route.rdl.capacity import convex_layers
    from layoutgen.route.rdl.example import example_die
    from layoutgen.route.rdl.grid import infer_grid

    die = example_die(4000.0, rows, cols, 400.0, pads_per_side=4)
    xy = np.array([(b.x, b.y) for b in die.balls])
    rings = convex_layers(xy, 1e-3)
    ring_of = infer_grid(die.balls, 400.0).ring
    assert len(rings) == min(rows, cols) // 2  # an odd array's middle line spans no area: not a ring
    for k, ring in enumerate(rings):
        assert sorted(ring) == sorted(np.flatnonzero(ring_of == k).tolist())
        if len(ring) > 2:
            steps = np.hypot(*(xy[ring] - xy[np.roll(ring, -1)]).T)
            assert np.allclose(steps, 400.0)

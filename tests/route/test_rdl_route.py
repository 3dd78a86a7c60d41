"""The single-layer RDL router: every pad reaches its own ball, planar and DRC-clean, measured."""

from __future__ import annotations

import dataclasses
import math


import numpy as np
import pytest
import klayout.db as kdb
import shapely

from layoutgen.errors import RoutingError
from layoutgen.pads import peripheral_pads
from layoutgen.route.rdl import Route, RouteRules, Routing, Terminal, route, teardrop, trace_polygon
from layoutgen.route.rdl.example import Die, capture_pad, example_die, square
from layoutgen.route.rdl.geometry import routing_metal, trace_polygons
from layoutgen.route.rdl.maze import octilinear

W = S = 10.0
GRID = 0.005


def centre_depopulated(rows: int, cols: int, size: int):
    """Depopulate the centre size × size block of a rows × cols array."""
    r0, c0 = (rows - size) // 2, (cols - size) // 2
    return lambda r, c: r0 <= r < r0 + size and c0 <= c < c0 + size


def template_die(**kw) -> Die:
    """5 × 5 mm die, 12 × 12 balls at 400 µm with the centre 4 × 4 depopulated, 32 pads a side."""
    return example_die(5000.0, 12, 12, 400.0, centre_depopulated(12, 12, 4), 32, 140.0, **kw)


def benchmark_die() -> Die:
    """6.8 × 6.8 mm die, full 16 × 16 array at 400 µm, 64 pads a side."""
    return example_die(6800.0, 16, 16, 400.0, pads_per_side=64, pad_pitch_um=95.0)


def with_ball_nets(die: Die, ball_nets: dict[str, str]) -> list[Terminal]:
    """The die's balls carrying the given nets (explicit ball map)."""
    return [dataclasses.replace(b, net=ball_nets[b.name]) for b in die.balls]


# ---------------------------------------------------------------- measuring a routing


def net_metal(routing: Routing, die: Die) -> dict[str, shapely.Geometry]:
    """Per net: traces, teardrops, its pads and its balls merged; unconnected balls on their own."""
    parts: dict[str, list] = {net: [g] for net, g in routing_metal(routing, die.rules).items()}
    for p in die.pads:
        parts.setdefault(p.net, []).append(p.shape)
    for b in die.balls:
        parts.setdefault(routing.ball_nets.get(b.name, f"~{b.name}"), []).append(b.shape)
    return {net: shapely.union_all(g) for net, g in parts.items()}


def spacing_violations(metal: dict[str, shapely.Geometry], space: float) -> list[tuple[str, str, float]]:
    """Pairs of different nets closer than the spacing rule (one vectorised STRtree query)."""
    nets = list(metal)
    geoms = np.array([metal[n] for n in nets], dtype=object)
    src, dst = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=space - 1e-6)
    keep = src < dst
    return [(nets[i], nets[j], float(shapely.distance(geoms[i], geoms[j]))) for i, j in zip(src[keep], dst[keep])]


def point_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance from points p to segments a–b (row-wise)."""
    d = b - a
    t = np.clip(((p - a) * d).sum(1) / np.maximum((d * d).sum(1), 1e-300), 0.0, 1.0)
    return np.hypot(*(p - a - t[:, None] * d).T)


def notches(geom, space: float) -> list[tuple[float, float, float]]:
    """Notches of one net's metal (or of each of several geometries) narrower than the spacing
    rule, as (distance, x, y).

    As a rule deck measures them: two boundary edges of one polygon that do not share a vertex,
    face each other (outward normals more than 90° apart, each edge in front of the other) and
    come closer than s. Edges meeting at 90° or more, such as a trace entering a pad, never
    count. Candidate edge pairs come from one STRtree query of the edges (not all pairs)."""
    polys = shapely.get_parts(shapely.orient_polygons(np.asarray(geom, dtype=object).reshape(-1)))
    rings, poly_of = shapely.get_rings(polys, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b, owner = xy[:-1][same], xy[1:][same], poly_of[ring_of[:-1][same]]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 0
    a, b, owner, d, length = a[keep], b[keep], owner[keep], d[keep], length[keep]
    normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]  # outward (shells CCW, holes CW)
    mid = (a + b) / 2.0
    segs = shapely.linestrings(np.stack([a, b], 1))
    lo, hi = np.minimum(a, b) - space, np.maximum(a, b) + space
    j, i = shapely.STRtree(segs).query(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))  # boxes within s
    pick = (i < j) & (owner[i] == owner[j])
    i, j = i[pick], j[pick]
    touching = np.isclose(a[i], b[j]).all(1) | np.isclose(b[i], a[j]).all(1) | np.isclose(a[i], a[j]).all(1)
    facing = ((normal[i] * normal[j]).sum(1) < -1e-9) & ~touching
    facing &= ((mid[j] - mid[i]) * normal[i]).sum(1) > 0
    facing &= ((mid[i] - mid[j]) * normal[j]).sum(1) > 0
    i, j = i[facing], j[facing]
    gap = np.min([point_segment(a[i], a[j], b[j]), point_segment(b[i], a[j], b[j]),
                  point_segment(a[j], a[i], b[i]), point_segment(b[j], a[i], b[i])], axis=0) if len(i) else np.zeros(0)
    return [(float(gap[k]), *((mid[i[k]] + mid[j[k]]) / 2.0).tolist()) for k in np.flatnonzero(gap < space - 1e-6)]


def interior_angles(poly: shapely.Polygon) -> np.ndarray:
    """Interior angle (degrees) at every vertex of a polygon's rings."""
    poly = shapely.geometry.polygon.orient(poly, 1.0)
    out = []
    for ring, sign in [(poly.exterior, 1.0)] + [(r, -1.0) for r in poly.interiors]:
        v = np.asarray(ring.coords)[:-1]
        e_in, e_out = v - np.roll(v, 1, axis=0), np.roll(v, -1, axis=0) - v
        turn = np.arctan2(e_in[:, 0] * e_out[:, 1] - e_in[:, 1] * e_out[:, 0], (e_in * e_out).sum(axis=1))
        out.append(np.degrees(math.pi - sign * turn))
    return np.concatenate(out)


def on_grid(values: np.ndarray, grid: float) -> bool:
    """Whether every value is a multiple of the grid."""
    k = np.asarray(values) / grid
    return bool(np.all(np.abs(k - np.rint(k)) < 1e-6))


def assert_drc_clean(routing: Routing, die: Die) -> None:
    """Everything the rule deck asks of routed metal, measured on the final polygons."""
    rules, pads = die.rules, {p.name: p for p in die.pads}
    balls = {b.name: b for b in die.balls}
    assert len(routing.routes) == len(die.pads)
    assert [r.pad for r in routing.routes] == [p.name for p in die.pads]
    assert len({r.ball for r in routing.routes}) == len(die.pads), "every pad has its own ball"
    metal = net_metal(routing, die)
    assert spacing_violations(metal, rules.space) == []
    traced = routing_metal(routing, rules)
    assert all(shapely.covered_by(g, die.keepin) for g in traced.values()), "metal leaves the keep-in"
    for r in routing.routes:
        pad, ball = pads[r.pad], balls[r.ball]
        assert r.net == pad.net and routing.ball_nets[r.ball] == pad.net
        assert_centreline(r, pad, ball, rules)
    assert_trace_polygons(routing.routes, pads, balls, rules)
    facet = 360.0 / 64  # a trace meets a 64-gon capture pad at most one facet off square
    for net, g in metal.items():
        for poly in getattr(g, "geoms", [g]):
            angles = interior_angles(poly)
            assert angles.min() >= 90.0 - 1e-6, f"acute corner in net {net}"
            assert angles.max() <= 270.0 + facet + 1e-6, f"acute notch at a vertex in net {net}"
    assert notches(list(metal.values()), rules.space) == [], f"notch narrower than {rules.space} µm"
    lines = np.array([shapely.LineString(r.path) for r in routing.routes], dtype=object)
    src, dst = shapely.STRtree(lines).query(lines, predicate="intersects")
    nets = [r.net for r in routing.routes]
    assert [(i, j) for i, j in zip(src, dst) if nets[i] != nets[j]] == [], "two routes cross"


def assert_centreline(r: Route, pad: Terminal, ball: Terminal, rules: RouteRules) -> None:
    """Pad centre to ball centre, 0/45/90° segments, on-grid vertices, length as reported."""
    pts = np.asarray(r.path)
    assert np.hypot(*(pts[0] - (pad.x, pad.y))) < 2 * rules.grid, "starts at the pad centre"
    assert np.hypot(*(pts[-1] - (ball.x, ball.y))) < 2 * rules.grid, "ends at the ball centre"
    d = np.diff(pts, axis=0)
    assert np.all(np.hypot(d[:, 0], d[:, 1]) > 0)
    ortho = (np.abs(d[:, 0]) < 1e-9) | (np.abs(d[:, 1]) < 1e-9)
    diag = np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9
    assert np.all(ortho | diag), f"{r.pad}: segment not at a multiple of 45°"
    assert on_grid(pts, rules.grid)
    assert r.length_um == pytest.approx(float(np.hypot(d[:, 0], d[:, 1]).sum()), abs=1e-5)


def assert_full_width(polys: np.ndarray, paths, width: float, grid: float) -> None:
    """No neck narrower than w: eroding by a disk of radius w/2 less one grid step (Euclidean
    width) leaves one piece, and the centreline's band of half-width w/2 (less 1 nm) lies
    inside the polygon everywhere (all traces at once).

    (Eroding closer than a grid step leaves nm-thin cores that GEOS splits numerically; mitre
    erosion also splits at short 45° chamfers where the true width is over 10.9 µm.)"""
    cores = shapely.buffer(polys, -(width / 2.0 - grid), quad_segs=16)
    assert (shapely.get_type_id(cores) == 3).all() and not shapely.is_empty(cores).any(), "trace narrower than w"
    bands = shapely.buffer(shapely.linestrings(paths) if isinstance(paths, np.ndarray) else
                           np.array([shapely.LineString(p) for p in paths], dtype=object),
                           width / 2.0 - 1e-3, cap_style="flat", join_style="round")
    assert (shapely.area(shapely.difference(bands, polys)) < 1e-6).all(), "the full width is not there along the centreline"


def assert_trace_polygons(routes, pads: dict, balls: dict, rules: RouteRules) -> None:
    """Per trace: width ≥ w everywhere, edges at 45° multiples, on grid, joins pad and ball, no
    stubs (every trace at once, vectorised)."""
    paths = [r.path for r in routes]
    polys = np.array(trace_polygons(paths, rules.width, rules.grid), dtype=object)
    assert_full_width(polys, paths, rules.width, rules.grid)
    xy, ring = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    assert on_grid(xy, rules.grid)
    d = np.diff(xy, axis=0)[ring[1:] == ring[:-1]]
    assert np.all((np.abs(d[:, 0]) < 1e-9) | (np.abs(d[:, 1]) < 1e-9) | (np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9))
    pad_shapes = np.array([pads[r.pad].shape for r in routes], dtype=object)
    ball_shapes = np.array([balls[r.ball].shape for r in routes], dtype=object)
    assert shapely.intersects(polys, pad_shapes).all() and shapely.intersects(polys, ball_shapes).all()
    for k, shapes in ((0, pad_shapes), (-1, ball_shapes)):
        ends = shapely.points([r.path[k] for r in routes])
        caps = shapely.intersection(shapely.buffer(ends, rules.width, quad_segs=4), polys)
        stub = ~shapely.covers(shapes, caps)
        assert not stub.any(), f"{routes[int(np.argmax(stub))].pad}: trace end sticks out of the pad/ball"
    for r in routes:
        ball = balls[r.ball]
        drop = teardrop(ball, r.path, rules)
        if not drop.is_empty:
            a = np.asarray(r.path[-2]) - np.asarray(r.path[-1])
            normal = np.array([-a[1], a[0]]) / np.hypot(*a)
            across = np.asarray(drop.exterior.coords) @ normal
            diameter = 2 * shapely.distance(shapely.Point(ball.x, ball.y), ball.shape.exterior)
            assert across.max() - across.min() <= rules.teardrop_max_fraction * diameter + 1e-6
            assert on_grid(np.asarray(drop.exterior.coords), rules.grid)


# ---------------------------------------------------------------- the cases


@pytest.fixture(scope="module")
def template() -> tuple[Die, Routing]:
    die = template_die()
    return die, route(die.pads, die.balls, die.keepin, die.rules)


def test_template_die_routes_every_pad_drc_clean(template):
    die, routing = template
    assert len(die.balls) == 128 and len(die.pads) == 128
    assert_drc_clean(routing, die)


def test_benchmark_die_routes_every_net_drc_clean():
    # a full array eight rings deep, escaped ring by ring (the ten-ring 20 × 20 die with 75 µm pads,
    # the same code path at twice the cost, is routed with its figures by benchmarks/bench_route.py);
    # its speed is measured there too, not here
    die = benchmark_die()
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert len(routing.routes) == 256 and len(routing.ball_nets) == 256
    assert_drc_clean(routing, die)


def test_explicit_map_is_kept_and_routed(template):
    die, auto = template
    balls = with_ball_nets(die, auto.ball_nets)
    routing = route(die.pads, balls, die.keepin, die.rules, mode="explicit")
    assert routing.ball_nets == auto.ball_nets
    assert_drc_clean(routing, die)




def test_over_capacity_is_refused_before_routing_naming_the_ring(monkeypatch):
    die = example_die(4000.0, 12, 12, 300.0, pads_per_side=36, pad_pitch_um=95.0)
    assert len(die.pads) == len(die.balls) == 144  # 100 inner nets, 44 outer gaps of 2 traces

    def no_routing(*_args, **_kw):
        raise AssertionError("routing started")

    monkeypatch.setattr("layoutgen.route.rdl.router.plan_side", no_routing)
    with pytest.raises(RoutingError, match=r"ring 0 \(outer ring\).*100 inner nets.*44 gaps.*2 traces"):
        route(die.pads, die.balls, die.keepin, die.rules)


def full_lattice_ring_die(rules: RouteRules) -> Die:
    """24 × 24 balls at 200 µm, 130 µm capture pads, 576 pads at 25 µm: at 5/5 µm the lattice (10 µm,
    dividing the pitch) has 5 nodes per 200 µm gap at least 5 + 2.7 + 0.5 µm clear of both pads (70 µm
    from a centre is 3.2 µm too close), so the outer ring's 92 gaps hold 460 nodes for the 22 × 22 = 484
    inner nets."""
    return example_die(5400.0, 24, 24, 200.0, pads_per_side=144, pad_pitch_um=25.0, capture_um=130.0,
                       landing_um=18.0, pad_inset_um=40.0, rules=rules)


def test_a_ring_with_fewer_free_lattice_nodes_than_nets_crossing_it_is_refused_before_any_search(monkeypatch):
    """A net class keeps the ring router out of `full_lattice_ring_die`, so the lattice router gets the job."""
    rules = RouteRules(width=5.0, space=5.0, grid=0.005, teardrop_max_fraction=0.5, pitch=200.0,
                       classes=(("N1", 6.0, 5.0),))
    die = full_lattice_ring_die(rules)

    def no_search(*_args, **_kw):
        raise AssertionError("path search started")

    monkeypatch.setattr("layoutgen.route.rdl.anywhere.Maze", no_search)
    with pytest.raises(RoutingError, match=r"ring through \(-2300\.0, -2300\.0\) and \(2300\.0, 2300\.0\) must let 484 "
                                           r"nets out.*only 460 nodes.*10 µm.*over by 24"):
        route(die.pads, die.balls, die.keepin, rules)


def test_the_lattice_router_is_not_started_when_the_ring_router_fails_and_its_outer_ring_is_full(monkeypatch):
    # without the net class the ring router takes the die and overflows a channel; counted before any
    # assignment, the lattice router's outer ring lets out 484 nets through at most 460 nodes
    die = full_lattice_ring_die(RouteRules(width=5.0, space=5.0, grid=0.005, teardrop_max_fraction=0.5, pitch=200.0))

    def no_lattice(*_args, **_kw):
        raise AssertionError("the lattice router started")

    monkeypatch.setattr("layoutgen.route.rdl.router.route_anywhere", no_lattice)
    with pytest.raises(RoutingError, match=r"net N\d+: .*the channel between ring 1 and ring 0 is full.*; the lattice "
                                           r"router cannot take it either: the ball ring through \(-2300\.0, -2300\.0\) "
                                           r"and \(2300\.0, 2300\.0\) must let at least 484 nets out .*at most 460 "
                                           r"nodes .*over by 24"):
        route(die.pads, die.balls, die.keepin, die.rules)


def test_shared_power_and_ground_nets_route_each_pad_to_its_own_ball():
    die = template_die(nets=lambda k: "VDD" if k % 16 == 3 else "VSS" if k % 16 == 11 else f"N{k}")
    assert sum(p.net == "VDD" for p in die.pads) == 8 and sum(p.net == "VSS" for p in die.pads) == 8
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert list(routing.ball_nets.values()).count("VDD") == 8
    assert_drc_clean(routing, die)
    explicit = route(die.pads, with_ball_nets(die, routing.ball_nets), die.keepin, die.rules, mode="explicit")
    assert explicit.ball_nets == routing.ball_nets


@pytest.fixture(scope="module")
def spare_balls() -> tuple[Die, Routing]:
    """A full 12 × 12 array with 128 pads: 16 balls stay without a net (routed once per module)."""
    die = example_die(5000.0, 12, 12, 400.0, pads_per_side=32, pad_pitch_um=140.0)
    return die, route(die.pads, die.balls, die.keepin, die.rules)


def test_unused_balls_stay_unconnected_and_clear(spare_balls):
    die, routing = spare_balls
    assert len(die.balls) - len(routing.ball_nets) == 16
    assert_drc_clean(routing, die)


def test_other_rule_values_are_honoured():
    rules = RouteRules(width=15.0, space=15.0, grid=0.005, teardrop_max_fraction=0.5, pitch=500.0)
    die = example_die(6800.0, 12, 12, 500.0, centre_depopulated(12, 12, 4), 32, 180.0, capture_um=300.0, rules=rules)
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert_drc_clean(routing, die)


def test_explicit_balls_without_pads_stay_unconnected(spare_balls):
    die, auto = spare_balls
    spare = {b.name: "NC" for b in die.balls if b.name not in auto.ball_nets}
    routing = route(die.pads, with_ball_nets(die, {**auto.ball_nets, **spare}), die.keepin, die.rules, mode="explicit")
    assert routing.ball_nets == auto.ball_nets



def edge_pads(edge: float, per_side: tuple[int, ...], pitch: tuple[float, ...], size: float) -> tuple[Terminal, ...]:
    """Square pads along the die edges `edge` µm from the centre (top, right, bottom, left), per side
    a count and a pitch, centred on the side; each pad its own net."""
    pads = []
    for side, (dx, dy, ux, uy) in enumerate([(0, 1, 1, 0), (1, 0, 0, -1), (0, -1, -1, 0), (-1, 0, 0, 1)]):
        for a in (np.arange(per_side[side]) - (per_side[side] - 1) / 2.0) * pitch[side]:
            x, y = round(dx * edge + ux * a, 6), round(dy * edge + uy * a, 6)
            pads.append(Terminal(f"P{len(pads) + 1}", f"N{len(pads) + 1}", x, y, square(x, y, size)))
    return tuple(pads)


def test_pads_on_two_sides_take_the_balls_on_their_sides():
    """2.8 mm die, full 6 × 6 array at 400 µm, 10 pads on the left edge and 10 on the right: cut
    into cones of the outer ring, half the traces ran round the array to the top and bottom rows
    (19.4 mm in all, up to 2.6 mm each); the balls nearest the pads are its two outer columns a side."""
    base = example_die(2800.0, 6, 6, 400.0, pads_per_side=2)  # its balls and keep-in
    die = Die(edge_pads(1330.0, (0, 10, 0, 10), (0.0, 150.0, 0.0, 150.0), 60.0), base.balls, base.keepin, base.rules)
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    balls, pads = {b.name: b for b in die.balls}, {p.name: p for p in die.pads}
    for r in routing.routes:
        ball, pad = balls[r.ball], pads[r.pad]
        assert ball.x * pad.x > 0 and abs(ball.x) >= 600.0, f"pad {pad.name} took ball {ball.name} at x={ball.x}"
    total = sum(r.length_um for r in routing.routes)
    bound = sum(octilinear(pads[r.pad].x - balls[r.ball].x, pads[r.pad].y - balls[r.ball].y) for r in routing.routes)
    assert total < 12500.0 and total < 1.1 * bound
    assert_drc_clean(routing, die)


def test_a_pad_off_the_array_centre_takes_its_nearest_ball():
    """One pad right of a 2 × 2 array, level with its upper row: its trace runs straight to the upper
    right ball (510 µm), not round the array to the first ball by name (1,193 µm)."""
    rules = RouteRules(width=W, space=S, grid=GRID, teardrop_max_fraction=0.5, pitch=400.0)
    balls = tuple(Terminal(f"{row}{c + 1}", None, x, y, capture_pad(x, y, 235.0, GRID))
                  for row, y in (("A", 250.0), ("B", -150.0)) for c, x in enumerate((-300.0, 100.0)))
    pads = (Terminal("P1", "A", 610.0, 250.0, square(610.0, 250.0, 60.0)),)
    die = Die(pads, balls, square(0.0, 0.0, 1330.0), rules)
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert routing.routes[0].ball == "A2" and routing.routes[0].length_um == pytest.approx(510.0)
    assert_drc_clean(routing, die)


def uneven_die() -> Die:
    """3.4 mm die, full 16 × 16 array at 200 µm (5/5 µm, 110 µm capture pads), 64 pads at 47 µm on
    the top and bottom edges and 52 at 58 µm on the left and right: 232 pads, whose outer traces
    move farther sideways than one 45° jog can between the outer balls and the pads."""
    rules = RouteRules(width=5.0, space=5.0, grid=GRID, teardrop_max_fraction=0.5, pitch=200.0)
    base = example_die(3400.0, 16, 16, 200.0, pads_per_side=2, capture_um=110.0, rules=rules)
    return Die(edge_pads(1660.0, (64, 52, 64, 52), (47.0, 58.0, 47.0, 58.0), 18.0), base.balls, base.keepin, rules)


def test_a_big_die_whose_only_failure_is_the_fan_out_band_is_drawn_as_a_channel_before_any_lattice_search(
        monkeypatch):
    # the lattice router searched 33 s (CPU) before refusing this die; the stairs pass draws it in 0.5 s
    die = uneven_die()

    def no_lattice(*_args, **_kw):
        raise AssertionError("the lattice router started")

    monkeypatch.setattr("layoutgen.route.rdl.router.route_anywhere", no_lattice)
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert routing.router == "ring" and len(routing.routes) == 232
    assert_drc_clean(routing, die)


def test_importing_the_router_leaves_scipy_optimize_unloaded():
    # the assignment solver loads when a ball is assigned: a config that imports the router stays quick
    import subprocess
    import sys

    code = "import sys, layoutgen.route.rdl; print('scipy.optimize' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_pads_gives_an_empty_routing():
    die = template_die()
    routing = route([], die.balls, die.keepin, die.rules)
    assert routing.routes == () and routing.ball_nets == {}





# ---------------------------------------------------------------- the polygon builders


@pytest.mark.parametrize(
    "path",
    [
        [(0, 0), (0, 100), (100, 100)],  # 90° bend
        [(0, 0), (0, 100), (50, 150), (50, 300)],  # two 45° bends
        [(0, 0), (50, 50), (100, 0)],  # 90° bend between diagonals
        [(0, 0), (100, 0), (100, 10), (111.69, 21.69), (200, 21.69)],  # short steps
    ],
)
def test_trace_polygon_is_on_grid_octilinear_and_never_narrower_than_w(path):
    poly = trace_polygon(path, W, GRID)
    coords = np.asarray(poly.exterior.coords)
    assert on_grid(coords, GRID)
    d = np.diff(coords, axis=0)
    assert np.all((np.abs(d[:, 0]) < 1e-9) | (np.abs(d[:, 1]) < 1e-9) | (np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9))
    assert interior_angles(poly).min() >= 90.0 - 1e-6
    assert_full_width(np.array([poly], dtype=object), [path], W, GRID)


def test_trace_hulls_are_the_pen_swept_along_each_segment_of_each_path():
    from layoutgen.route.rdl.geometry import pen_for, trace_hulls

    pen = pen_for(W, GRID)
    octagon = 4 * pen.a ** 2 - 2 * (pen.a - pen.t) ** 2
    hulls, owner = trace_hulls([[(0, 0), (100, 0), (100, 50)], [(5, 5)], [(0, 0), (0, 30)]], W, GRID)
    assert owner.tolist() == [0, 0, 1, 2]  # one piece per segment; a lone point is one piece
    # a segment of length L along an axis sweeps the octagon plus a 2a × L band
    assert np.allclose(shapely.area(hulls), [octagon + 2 * pen.a * 100, octagon + 2 * pen.a * 50, octagon,
                                              octagon + 2 * pen.a * 30])
    assert shapely.equals(hulls[2], shapely.Polygon(pen.outline + (5, 5)))
    assert on_grid(shapely.get_coordinates(hulls), GRID)


def test_teardrop_is_no_wider_than_the_rule_fraction_and_leaves_no_stub():
    die = template_die()
    ball = next(b for b in die.balls if b.name == "B2")
    path = [(ball.x + 300.0, ball.y), (ball.x, ball.y)]
    drop = teardrop(ball, path, die.rules)
    trace = trace_polygon(path, W, GRID)
    assert not drop.is_empty
    corners = np.asarray(drop.exterior.coords)[:-1]
    # flanks at 45°, every vertex on the grid (the angle and grid rules hold on the fillet)
    d = np.diff(np.asarray(drop.exterior.coords), axis=0)
    assert np.all((np.abs(d[:, 0]) < 1e-9) | (np.abs(d[:, 1]) < 1e-9) | (np.abs(np.abs(d[:, 0]) - np.abs(d[:, 1])) < 1e-9))
    assert on_grid(corners, GRID)
    across = corners @ np.array([0.0, 1.0])
    assert across.max() - across.min() <= die.rules.teardrop_max_fraction * 235.0 + 1e-6
    reach = np.hypot(corners[:, 0] - ball.x, corners[:, 1] - ball.y)
    assert reach.max() <= math.hypot(117.5 + W, W / 2) + 0.01, "reaches at most one trace width past the pad"
    wide, narrow = corners[reach < 117.5], corners[reach >= 117.5]
    assert len(wide) == 2 and all(ball.shape.covers(shapely.Point(c)) for c in wide), "set back inside the pad"
    assert len(narrow) == 2 and all(trace.covers(shapely.Point(c)) for c in narrow), "narrow end inside the trace"
    assert shapely.union_all([ball.shape, trace, drop]).geom_type == "Polygon"
    narrow = dataclasses.replace(die.rules, teardrop_max_fraction=0.04)
    assert teardrop(ball, path, narrow).is_empty  # no room for a teardrop wider than the trace
    diagonal = [(ball.x + 300.0, ball.y + 300.0), (ball.x, ball.y)]
    assert teardrop(ball, diagonal, die.rules).is_empty  # a diagonal trace's edges are off the grid


# ---------------------------------------------------------------- balls that are only keep-outs


def drawn_rdl_findings(routing: Routing, pads, rules: RouteRules) -> list[str]:
    """What KLayout (an independent reader) finds on the RDL the build would draw: the routed metal
    and the pad landings (balls that are keep-outs draw no RDL): width, space, non-octilinear edges."""
    dbu = 0.001
    region = kdb.Region()
    for g in [*routing_metal(routing, rules, pads).values(), *(p.shape for p in pads)]:
        for poly in getattr(g, "geoms", [g]):
            pts = [kdb.Point(round(x / dbu), round(y / dbu)) for x, y in list(poly.exterior.coords)[:-1]]
            region.insert(kdb.Polygon(pts))
    region.merge()
    out = [f"width {e}" for e in region.width_check(round(rules.width / dbu) - 1, False, kdb.Metrics.Projection).each()]
    out += [f"space {e}" for e in region.space_check(round(rules.space / dbu) - 1, False, kdb.Metrics.Projection).each()]
    out += [f"angle {e}" for e in region.edges().with_angle(kdb.Edges.OrthoDiagonalEdges, True).each()]
    return out


def test_balls_that_are_keep_outs_get_no_fill_and_traces_clear_them():
    # relief400's every-option case (issue 15): 3 mm die, 6 pads a side at 300 µm, 5 × 5 balls at
    # 400 µm less C3, each ball an octagonal 260 µm protrusion footprint that is no RDL metal. Its
    # 45° edges lie half a grid step off the traces' diagonals, so a trace entering at 45° met one
    # at a point off the grid; the router read the float noise there as a notch, "filled" it against
    # the footprint, and the fill drew a 0.01 µm step (RDL.W.1, RDL.ANGLE 45.04°) on the real RDL.
    from layoutgen.families.relief_csp.cells.tiers import footprint
    from layoutgen.pdk import load_pdk

    pdk = load_pdk("relief400")
    foot = footprint(260, "octagon", pdk)
    pads = [Terminal(p.name, p.net, p.x, p.y, shapely.box(p.x - 50, p.y - 50, p.x + 50, p.y + 50))
            for p in peripheral_pads(3000, 3000, 6, 300, inset=90, size=70, nets={"VDD": [1, 11], "VSS": [6, 16]})]
    balls = [Terminal(f"{'ABCDE'[r]}{c + 1}", None, (c - 2) * 400.0, (2 - r) * 400.0,
                      shapely.affinity.translate(foot, (c - 2) * 400.0, (2 - r) * 400.0), metal=False)
             for r in range(5) for c in range(5) if (r, c) != (2, 2)]
    rules = RouteRules(width=10.0, space=10.0, grid=0.005, teardrop_max_fraction=0.0, pitch=400.0)
    routing = route(pads, balls, shapely.box(-1465, -1465, 1465, 1465), rules)
    assert len(routing.routes) == 24
    assert any(abs(abs(b[0] - a[0]) - abs(b[1] - a[1])) < 1e-9 and b == (ball.x, ball.y)
               for r in routing.routes for ball in balls if ball.name == r.ball
               for a, b in zip(r.path, r.path[1:])), "some trace enters its ball at 45°"
    assert drawn_rdl_findings(routing, pads, rules) == []
    metal = routing_metal(routing, rules, pads)
    for r in routing.routes:   # no metal beyond the trace itself inside its own ball's footprint
        ball = next(b for b in balls if b.name == r.ball)
        extra = metal[r.net].intersection(ball.shape).difference(trace_polygon(list(r.path), rules.width, rules.grid))
        assert extra.area < 1e-6, f"{r.net}: {extra.area:.4f} µm² of fill against its keep-out ball"
    for b in balls:   # and every other net's metal clears each ball by the space
        gaps = [shapely.distance(g, b.shape) for net, g in metal.items() if routing.ball_nets.get(b.name) != net]
        assert min(gaps) >= rules.space - 1e-6, b.name


def test_a_pad_reaching_past_the_keep_in_is_landed_on():
    # pads 40 µm in from a 1.2 mm die's edge: the 18 µm landings reach 4 µm past the keep-in (seal
    # 25 + 10 µm), so the only lattice points on them lie nearer the keep-in edge than the pen's
    # reach; the pen there is wholly on the pad, whose metal it is. A net class (wider VDD) sends
    # the job to the lattice router, which refused such pads before ("every way is closed").
    rules = RouteRules(width=5.0, space=5.0, grid=0.005, teardrop_max_fraction=0.5, pitch=200.0,
                       classes=(("N1", 8.0, 5.0),))
    die = example_die(1200.0, 4, 4, 200.0, pads_per_side=4, pad_pitch_um=100.0, capture_um=110.0,
                      landing_um=18.0, pad_inset_um=40.0, rules=rules)
    assert all(not shapely.covered_by(p.shape, die.keepin) for p in die.pads)
    routing = route(die.pads, die.balls, die.keepin, rules)
    assert routing.router == "lattice" and len(routing.routes) == 16
    pads = {p.name: p for p in die.pads}
    for r in routing.routes:   # each trace ends on its own landing, and its metal off the pads stays inside
        assert shapely.covers(pads[r.pad].shape, shapely.Point(r.path[0]))
    off_pads = shapely.difference(shapely.union_all(list(routing_metal(routing, rules).values())),
                                  shapely.union_all([p.shape for p in die.pads]))
    assert shapely.covered_by(off_pads, die.keepin)


def dense_corner_die() -> Die:
    """4.4 mm die, full 20 × 20 array at 200 µm (5/5 µm, 110 µm capture pads), 97 pads a side at
    42 µm reaching past the corner balls: the 1,000-pad die's corner situation ten rings deep
    instead of sixteen (the smallest full array found whose first plan overflows a corner channel)."""
    rules = RouteRules(width=5.0, space=5.0, grid=GRID, teardrop_max_fraction=0.5, pitch=200.0)
    return example_die(4400.0, 20, 20, 200.0, pads_per_side=97, pad_pitch_um=42.0, capture_um=110.0,
                       landing_um=18.0, pad_inset_um=40.0, rules=rules)


def test_corner_channels_of_a_dense_array_are_relieved_and_route_drc_clean(monkeypatch):
    # every ring is one pitch wider at each corner than the ring inside, so traces shift towards the
    # corners ring by ring; planned with gap capacities only, a channel between two rings near a
    # corner must carry more traces sideways than it has levels (the planner's own drawing refuses it)
    import layoutgen.route.rdl.router as ring_router

    die = dense_corner_die()
    with monkeypatch.context() as m:
        m.setattr(ring_router, "relieve_channels", lambda job, plan, overflow: plan)
        m.setattr(ring_router, "MAX_DRAWN", 1)  # the cheapest plan is the one that overflows
        with pytest.raises(RoutingError, match=r"the channel between ring \d+ and ring \d+ is full"):
            ring_router._ring_route(die.pads, die.balls, die.keepin, die.rules, "auto")
    # with each channel's sideways traffic limited (towards the corners, from the deepest ring out)
    relieved = []
    original = ring_router.relieve_channels

    def spy(job, plan, overflow):
        out = original(job, plan, overflow)
        relieved.append(out is not plan and out.escapes != plan.escapes)
        return out

    monkeypatch.setattr(ring_router, "relieve_channels", spy)
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    assert relieved and all(relieved), "every overflowing side was planned again"
    assert routing.router == "ring" and len(routing.routes) == 388
    assert_drc_clean(routing, die)


def shallow_band_die() -> Die:
    """2.56 mm die, full 12 × 12 array at 200 µm (5/5 µm, 110 µm capture pads), 34 pads a side at
    30 µm whose row sits 131 µm above the outer ball centres: some traces must move sideways
    farther than one 45° jog can rise between the outer balls and the pads."""
    rules = RouteRules(width=5.0, space=5.0, grid=GRID, teardrop_max_fraction=0.5, pitch=200.0)
    return example_die(2560.0, 12, 12, 200.0, pads_per_side=34, pad_pitch_um=30.0, capture_um=110.0,
                       landing_um=18.0, pad_inset_um=40.0, rules=rules)


def test_a_band_too_shallow_for_one_jog_is_drawn_as_a_channel_drc_clean(monkeypatch):
    # route() tries this pass before the lattice router on a die of this size (136 pads, more than
    # router.STAIRS_FIRST), after it on smaller ones; the ring router is called directly to see both passes
    import layoutgen.route.rdl.router as ring_router
    from layoutgen.route.rdl.band import BandBlocked, jog_starts

    die = shallow_band_die()
    with pytest.raises(RoutingError, match=r"fan-out band too short"):
        ring_router._ring_route(die.pads, die.balls, die.keepin, die.rules, "auto")
    bands = []

    def spy(band, clear=None):
        jog = jog_starts(band, clear)
        bands.append((band, jog))
        return jog

    monkeypatch.setattr(ring_router, "jog_starts", spy)
    routing = ring_router._ring_route(die.pads, die.balls, die.keepin, die.rules, "auto", stairs=True)
    assert routing.router == "ring" and len(routing.routes) == 136
    stairs = [(band, jog) for band, jog in bands if jog.stairs is not None]
    assert stairs, "some side's band is drawn as a channel"
    for band, jog in stairs:
        with pytest.raises(BandBlocked):
            jog_starts(band)  # one 45° jog per trace does not fit
        height = float(np.min(band.top) - np.max(band.floor))
        assert float(np.max(np.abs(band.u1 - band.u0))) > height  # a move no single 45° jog in the band makes
        for u0, u1, stair in zip(band.u0, band.u1, jog.stairs):
            if abs(u1 - u0) < 1e-9:
                assert stair == []
                continue
            us, vs = np.array(stair).T
            assert us[0] == pytest.approx(u0) and us[-1] == pytest.approx(u1)
            assert vs.min() >= float(np.max(band.floor)) and vs.max() <= float(np.min(band.top))
    assert_drc_clean(routing, die)

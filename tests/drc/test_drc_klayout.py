"""Our DRC agrees with KLayout's own engine (klayout.db, Euclidean metric), rule by rule.

KLayout reports edge pairs; we report one violation per site (a narrow part, a pair of
shapes, a notch). Where the engines count differently, each test says how and checks it:

- width / space: KLayout gives several edge pairs per site (e.g. 5 for a narrow bridge,
  3 where two 64-gons meet); merging the edge-pair markers gives one cluster per site,
  and that equals our count.
- enclosure: KLayout's enclosing_check only sees `other` shapes inside `layer`; ours also
  flags `other` shapes outside or straddling it (KLayout: not_inside).
- separation: KLayout's separation_check ignores overlapping shapes; ours counts them
  (distance 0), so ours = KLayout sites + overlapping pairs.
- grid: KLayout marks each off-grid vertex; we mark each polygon holding one.
- angle: KLayout's edge filter has no notion of curves; off-angle edges away from round
  pads agree with ours.
- overlap, area, hole_area, density, size, pitch, edge_distance: no single KLayout check;
  each is rebuilt from KLayout region operations or measurements and compared.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import klayout.db as kdb
import pytest

from layoutgen.drc import run_drc
from layoutgen.pdk import load_pdk

from drc_corpus import CASES, PDK, wlcsp_die, write_test_pdk

E = kdb.Metrics.Euclidian


@pytest.fixture(scope="module")
def pdk(tmp_path_factory):
    return load_pdk(str(write_test_pdk(tmp_path_factory.mktemp("pdks"))))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Every corpus layout written once: case name → path."""
    d = tmp_path_factory.mktemp("corpus")
    out = {}
    for name, case in CASES.items():
        case(d / f"{name}.gds")
        out[name] = d / f"{name}.gds"
    return out


def region(path: Path, layer: str) -> tuple[kdb.Layout, kdb.Region]:
    ly = kdb.Layout()
    ly.read(str(path))
    return ly, kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*PDK.layers[layer].gds)))


def sites(ep: kdb.EdgePairs) -> int:
    """Edge-pair markers merged into clusters: one per violation site."""
    return kdb.Region(list(ep.polygons(1))).merged().count()


def ours(pdk, path: Path, rule: str) -> int:
    return run_drc(path, pdk, rules=[rule]).counts()[rule]


def um(ly: kdb.Layout, v: float) -> int:
    return round(v / ly.dbu)


@pytest.mark.parametrize("case, rule", [("width", "RDL.W.1"), ("space", "RDL.S.1")])
def test_width_and_space_agree_per_site(pdk, corpus, case, rule):
    ly, r = region(corpus[case], "RDL")
    d = um(ly, 10)
    ep = r.width_check(d, False, E) if case == "width" else r.space_check(d, False, E)
    assert ep.count() > sites(ep)                    # KLayout: several edge pairs per site
    assert ours(pdk, corpus[case], rule) == sites(ep)


def test_space_is_between_shapes_plus_notches(pdk, corpus):
    ly, r = region(corpus["space"], "RDL")
    d = um(ly, 10)
    between, notches = sites(r.isolated_check(d, False, E)), sites(r.notch_check(d, False, E))
    assert (between, notches) == (3, 2)
    assert ours(pdk, corpus["space"], "RDL.S.1") == between + notches


def test_enclosure_agrees_counting_shapes_outside_too(pdk, corpus):
    ly, rdl = region(corpus["enclosure"], "RDL")
    _, pv1 = region(corpus["enclosure"], "PV1")
    ep = rdl.enclosing_check(pv1, um(ly, 10), False, E)
    short = pv1.interacting(ep.second_edges())
    outside = pv1.not_inside(rdl)
    assert short.count() == 1 and outside.count() == 2
    assert ours(pdk, corpus["enclosure"], "RDL.EN.PV1") == (short + outside).merged().count()


def test_separation_agrees_plus_overlapping_pairs(pdk, corpus):
    ly, pv1 = region(corpus["separation"], "PV1")
    _, pv2 = region(corpus["separation"], "PV2")
    kl = sites(pv1.separation_check(pv2, um(ly, 25), False, E))
    overlapping = pv1.overlapping(pv2).count()
    assert (kl, overlapping) == (2, 1)
    assert ours(pdk, corpus["separation"], "PV1.PV2.S") == kl + overlapping


def test_area_and_hole_area_agree(pdk, corpus):
    ly, r = region(corpus["area"], "RDL")
    assert ours(pdk, corpus["area"], "RDL.A.1") == r.merged().with_area(0, um(ly, 20) ** 2, False).count()
    ly, r = region(corpus["hole_area"], "RDL")
    assert ours(pdk, corpus["hole_area"], "RDL.H.1") == r.merged().holes().with_area(0, um(ly, 30) ** 2, False).count()


def test_overlap_agrees_with_klayout_region_operations(pdk, corpus):
    ly, plate = region(corpus["overlap"], "PLATE")
    _, rdl = region(corpus["overlap"], "RDL")
    common = plate & rdl
    thin = common.count() - common.interacting(common.sized(-um(ly, 2.5) + 1)).count()
    touch_only = plate.interacting(rdl).count() - plate.overlapping(rdl).count()
    assert (thin, touch_only) == (1, 1)
    assert ours(pdk, corpus["overlap"], "PLATE.OV.RDL") == thin + touch_only


def test_grid_agrees_per_polygon(pdk, corpus):
    flagged = vertices = 0
    for layer in ("RDL", "PV1"):
        _, r = region(corpus["grid"], layer)
        r.merged_semantics = False
        ep = r.grid_check(5, 5)
        vertices += ep.count()
        flagged += r.interacting(ep.polygons(1)).count()
    assert vertices == 3                               # KLayout: one marker per vertex
    assert ours(pdk, corpus["grid"], "GRID.1") == flagged == 2


def test_angle_edges_agree_away_from_curves(pdk, corpus):
    _, r = region(corpus["angle"], "RDL")
    merged = r.merged()
    round_pads = kdb.Region([p for p in merged.each() if p.num_points() > 32])
    off = merged.edges().with_angle(kdb.Edges.OrthoDiagonalEdges, True).not_interacting(round_pads)
    result = run_drc(corpus["angle"], pdk, rules=["RDL.ANGLE"])
    edges = [v for v in result.violations if "edge at" in v.message]
    assert len(edges) == off.count() == 4


def test_density_agrees_with_klayout_areas(pdk, corpus):
    rule = pdk.rule("density", "RDL")
    win, step = rule.window, rule.step
    for case in ("density", "density_clean"):
        ly, r = region(corpus[case], "RDL")
        r = r.merged()
        bad = 0
        for x, y in itertools.product((0, step, 2 * step), repeat=2):
            box = kdb.Box(um(ly, x), um(ly, y), um(ly, x + win), um(ly, y + win))
            frac = (r & kdb.Region(box)).area() / box.area()
            bad += not (rule.min <= frac <= rule.max)
        assert ours(pdk, corpus[case], "RDL.DEN") == bad


def test_size_pitch_and_edge_distance_agree_with_klayout_measurements(pdk, corpus):
    ly, r = region(corpus["size"], "BUMP")
    def diameter(p: kdb.Polygon) -> float:
        c = p.bbox().center()
        return 2 * max(pt.distance(c) for pt in p.each_point_hull()) * ly.dbu
    assert ours(pdk, corpus["size"], "BUMP.SIZE") == sum(abs(diameter(p) - 261) > 2 for p in r.merged().each())
    ly, r = region(corpus["pitch"], "BUMP")
    centres = [p.bbox().center() for p in r.merged().each()]
    close = sum(a.distance(b) * ly.dbu < 400 - 1e-6 for a, b in itertools.combinations(centres, 2))
    assert ours(pdk, corpus["pitch"], "BUMP.P.1") == close == 2
    ly, ubm = region(corpus["edge_distance"], "UBM")
    _, seal = region(corpus["edge_distance"], "SEAL")
    outer = seal.merged().bbox()
    def margin(c: kdb.Point) -> float:
        if not outer.contains(c):
            return -math.inf
        return min(c.x - outer.left, outer.right - c.x, c.y - outer.bottom, outer.top - c.y) * ly.dbu
    assert ours(pdk, corpus["edge_distance"], "UBM.SEAL.D") == sum(
        margin(p.bbox().center()) < 155 - 1e-6 for p in ubm.merged().each())


def test_a_clean_die_is_clean_for_klayout_too(tmp_path):
    path = wlcsp_die(tmp_path / "die.gds")
    ly, rdl = region(path, "RDL")
    assert rdl.width_check(um(ly, 10), False, E).count() == 0
    assert rdl.isolated_check(um(ly, 10), False, E).count() == 0
    _, ubm = region(path, "UBM")
    assert rdl.enclosing_check(ubm, um(ly, 10), False, E).count() == 0
    assert run_drc(path, load_pdk("sky400")).ok


def test_rotated_traces_into_round_pads_differ_only_at_snapped_corners(pdk, tmp_path):
    """Traces at 13°, 30°, 45°, 77° into 64-gon pads. KLayout's Euclidean width check flags
    the free trace ends, whose corners grid snapping leaves a hair under 90°: each of its
    edge pairs is two edges sharing a vertex (distance 0). Our opening sees no narrow part;
    neither engine sees a notch where the trace meets the pad."""
    from drc_corpus import Gds, snap
    g = Gds()
    for k, ang in enumerate([13, 30, 45, 77]):
        cx = 1000 * k
        g.circle("RDL", cx, 0, 250)
        ux, uy = math.cos(math.radians(ang)), math.sin(math.radians(ang))
        ends = [(cx - 300 * ux, -300 * uy), (cx, 0)]
        side = [(e[0] + s * 10 * -uy, e[1] + s * 10 * ux) for s, e in ((1, ends[0]), (1, ends[1]), (-1, ends[1]), (-1, ends[0]))]
        g.poly("RDL", [(snap(x), snap(y)) for x, y in side])
    path = g.write(tmp_path / "junctions.gds")
    ly, r = region(path, "RDL")
    width = r.width_check(um(ly, 10), False, E)
    assert width.count() > 0
    for ep in width.each():
        shared = {(p.x, p.y) for p in (ep.first.p1, ep.first.p2)} & {(p.x, p.y) for p in (ep.second.p1, ep.second.p2)}
        assert shared, str(ep)
    assert r.notch_check(um(ly, 10), False, E).count() == 0
    assert run_drc(path, pdk, rules=["RDL.W.1", "RDL.S.1", "RDL.ANGLE"]).counts() == {
        "RDL.W.1": 0, "RDL.S.1": 0, "RDL.ANGLE": 9}    # 13°, 30°, 77°: two sides and the end

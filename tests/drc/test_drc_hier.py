"""Hierarchical DRC (`layoutgen.drc.hier`): a wafer checked cell by cell and placement type by
placement type gives the flat check's counts, the wafer's plating and isolation rules run on the
hierarchy, alignment marks are exempt inside their MARK area.

The wafers are of the hand-drawn 10 mm die (12 nets, 54 dies on 100 mm; the template's die on a
wafer, whose flat check takes minutes, is compared by `benchmarks/bench_drc_wafer.py --flat`). With
injected violations, the comparison leaves out the rules whose shapes the plating network joins
into one polygon reaching every die (PLATE.OV.RDL, NET.OPEN) and RDL.DEN (a window every 500 µm
over the wafer); with thieving fill, it compares the whole deck. Two results differ by design (drc/hier says why):
NET.SHORT (the plating network joins every net before dicing; PLATE.ISO checks after dicing) and
RDL.DEN (per die, not over the blank wafer edge).
"""

from __future__ import annotations

import math
from pathlib import Path

import gdstk
import numpy as np
import pytest
import shapely

from layoutgen.design import Plating
from layoutgen.drc import run_drc, write_reports
from layoutgen.drc.engine import CellLayers, run_rule
from layoutgen.drc.hier import HierDrcResult, prefers_hierarchy
from layoutgen.drc.read import Layout
from layoutgen.drc.waivers import Waiver
from layoutgen.gdsio import write_layout
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer

from wafer_support import make_design, make_die_result

SLOW_FLAT = {"PLATE.OV.RDL", "NET.OPEN", "NET.SHORT", "RDL.DEN"}
BY_DESIGN = {"NET.SHORT", "RDL.DEN"}
RDL, PV1, PLATE, MARK = (20, 0), (10, 0), (21, 0), (210, 0)


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky400")


@pytest.fixture(scope="module")
def die_wafer(pdk, tmp_path_factory) -> Path:
    """The hand-drawn 10 mm die (12 nets) on a 100 mm wafer, written (54 dies). It stands in for the
    template's die: the fixture meant to build that (template with its diameter replaced) had failed
    on the template's own `wafer=` since it gained one and silently fell back to a hand-drawn die,
    and the template wafer's flat check costs about 45 s CPU (bench_drc_wafer.py --flat compares it)."""
    design = make_design(size=10000.0, per_side=3, diameter=100)
    result = build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
    return write_layout(result.layout, pdk, tmp_path_factory.mktemp("w100") / "w100.gds")


def _placed(path: Path) -> tuple[Layout, str, str, list]:
    """The layout, its top, the plated die cell and the top's placements of it."""
    lay = Layout(path)
    top = lay.pick_tops(None)[0]
    pls = [p for p in lay.placements(top) if p.child.endswith("_PLATED")]
    return lay, top, pls[0].child, pls


@pytest.fixture(scope="module")
def injected(die_wafer, tmp_path_factory) -> dict:
    """The wafer with one violation inside the die cell (a 6 µm RDL bar at the die centre: RDL.W.1 in
    every die) and one in the top next to a die (a PLATE stub off the bus 5 µm beside a tail: a notch
    of the plating network, PLATE.S.1)."""
    path = die_wafer
    lay, top, die, pls = _placed(path)
    pl = pls[len(pls) // 2]
    ox, oy = (np.asarray(pl.origin) + pl.offsets[0]) * lay.dbu_um
    flat = lay.flatten(die)
    plate = flat.polys.select((PLATE[0] << 16) | PLATE[1])
    from layoutgen.drc.geometry import polygons

    b = shapely.bounds(polygons(plate, lay.dbu_um))
    low = flat.bounds_dbu[1] * lay.dbu_um
    x0, y0, x1, y1 = b[np.flatnonzero(np.isclose(b[:, 1], low))[0]]       # a tail leaving by the bottom
    lib = gdstk.read_gds(str(path))
    cells = {c.name: c for c in lib.cells}
    cells[die].add(gdstk.rectangle((-3, -50), (3, 50), layer=RDL[0], datatype=RDL[1]))
    stub = (ox + x1 + 5, oy + y0, ox + x1 + 25, oy + y0 + 40)
    cells[top].add(gdstk.rectangle(stub[:2], stub[2:], layer=PLATE[0], datatype=PLATE[1]))
    out = tmp_path_factory.mktemp("inj") / "injected.gds"
    lib.write_gds(str(out))
    return {"path": out, "top": top, "die": die, "dies": sum(len(p.offsets) for p in pls), "stub": stub}


@pytest.fixture(scope="module")
def hand_wafer(pdk, tmp_path_factory) -> Path:
    """The hand-drawn 10 mm die (12 nets) on a 100 mm wafer with thieving fill, written: too few
    polygons placed for the size rule alone to pick the hierarchy (the wafer outline does)."""
    design = make_design(size=10000.0, per_side=3, diameter=100, plating=Plating(thieving_density=0.2))
    result = build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
    return write_layout(result.layout, pdk, tmp_path_factory.mktemp("hand") / "hand.gds")


@pytest.fixture(scope="module")
def injected_results(pdk, injected) -> tuple[HierDrcResult, object]:
    rules = [r.name for r in pdk.rules if r.name not in SLOW_FLAT]
    hier = run_drc(injected["path"], pdk, rules=rules)                      # auto: a wafer goes hierarchical
    flat = run_drc(injected["path"], pdk, rules=rules, hierarchical=False)
    return hier, flat


# ---------------------------------------------------------------- hierarchical = flat

def test_a_100mm_wafer_checked_hierarchically_counts_as_the_flat_check(injected, injected_results):
    hier, flat = injected_results
    assert isinstance(hier, HierDrcResult) and hier.stats[injected["top"]]["mode"] == "hierarchical"
    assert not isinstance(flat, HierDrcResult)
    assert hier.flat_counts() == flat.counts()
    assert flat.counts()["RDL.W.1"] == injected["dies"]
    assert flat.counts()["PLATE.S.1"] >= 1


def test_a_violation_inside_the_die_is_reported_once_for_the_cell_with_its_placements(injected, injected_results):
    hier, _ = injected_results
    n = injected["dies"]
    found = [(v, k) for v, k in zip(hier.violations, hier.occurrences) if v.rule == "RDL.W.1"]
    assert len(found) == 1
    v, k = found[0]
    assert v.cell == injected["die"] and k == n and f"(in {n} of {n} placements)" in v.message
    x0, y0, x1, y1 = v.bounds()
    assert (x0, y0, x1, y1) == pytest.approx((-3, -50, 3, 50))          # in the die cell's coordinates


def test_a_violation_of_the_top_next_to_a_die_is_reported_in_the_top_where_it_is(injected, injected_results):
    hier, flat = injected_results
    sx0, sy0, sx1, sy1 = injected["stub"]
    near = lambda v: shapely.box(*v.bounds()).distance(shapely.box(sx0, sy0, sx1, sy1)) < 10  # noqa: E731
    mine = [v for v in hier.of_rule("PLATE.S.1") if near(v)]
    assert len(mine) == 1 and mine[0].cell == injected["top"]
    assert len([v for v in flat.of_rule("PLATE.S.1") if near(v)]) == 1


def test_the_whole_deck_agrees_on_the_hand_drawn_die_wafer_but_density_and_shorts_by_design(pdk, hand_wafer):
    hier = run_drc(hand_wafer, pdk)                  # auto: a wafer goes hierarchical whatever its die size
    flat = run_drc(hand_wafer, pdk, hierarchical=False)
    assert isinstance(hier, HierDrcResult)
    hc, fc = hier.flat_counts(), flat.counts()
    assert {r: hc[r] for r in hc if r not in BY_DESIGN} == {r: fc[r] for r in fc if r not in BY_DESIGN}
    # the fill stripes met the contact ring in V notches; the ring fills them now (issue #18 cause 13)
    assert fc["PLATE.S.1"] == hc["PLATE.S.1"] == 0
    # before dicing the plating network joins every net of the wafer: one short flat; per die there is
    # none (a 10 mm die was checked flat by size and failed on this short: a wafer now always goes hierarchical)
    assert fc["NET.SHORT"] == 1 and hc["NET.SHORT"] == 0
    lay = Layout(hand_wafer)
    dies = sum(len(p.offsets) for p in lay.placements(lay.pick_tops(None)[0]) if p.child.endswith("_PLATED"))
    # density per die (the die cell's extent), not over the blank wafer edge
    den = [(v, k) for v, k in zip(hier.violations, hier.occurrences) if v.rule == "RDL.DEN"]
    assert den and all(v.cell.endswith("_PLATED") and k == dies for v, k in den) and dies == 54


# ---------------------------------------------------------------- mode, reports, waivers

def test_a_die_is_checked_flat_and_a_wafer_hierarchically(pdk, hand_wafer, tmp_path):
    lay = Layout(hand_wafer)
    wafer_key = (pdk.layer("WAFER").gds[0] << 16) | pdk.layer("WAFER").gds[1]
    assert not prefers_hierarchy(lay, lay.pick_tops(None)[0])          # 54 dies of 10 mm: few polygons ...
    assert prefers_hierarchy(lay, lay.pick_tops(None)[0], wafer_key)   # ... but a wafer outline
    design = make_design(size=5000.0, per_side=3, diameter=100)
    die = write_layout(make_die_result(design, pdk).layout, pdk, tmp_path / "die.gds")
    lay = Layout(die)
    assert not prefers_hierarchy(lay, lay.pick_tops(None)[0])
    result = run_drc(die, pdk)
    assert not isinstance(result, HierDrcResult)
    assert result.counts() == run_drc(die, pdk, hierarchical=True).counts()   # a top that places small cells: same


def test_reports_and_cell_waivers_work_on_a_hierarchical_result(pdk, injected, tmp_path):
    waiver = Waiver("RDL.W.1", "test bar", cell=injected["die"])
    result = run_drc(injected["path"], pdk, rules=["RDL.W.1", "PLATE.S.1"], waivers=[waiver])
    assert result.flat_counts()["RDL.W.1"] == 0 and result.waived_counts()["RDL.W.1"] == 1
    paths = write_reports(result, tmp_path)
    import klayout.rdb as rdb

    db = rdb.ReportDatabase("")
    db.load(str(paths["lyrdb"]))
    assert {c.name() for c in db.each_cell()} >= {injected["die"], injected["top"]}


# ---------------------------------------------------------------- wafer rules

def test_plating_and_isolation_rules_run_on_the_hierarchy(pdk, injected, injected_results, hand_wafer, tmp_path):
    hier, flat = injected_results
    # the bar has no tail (it does not plate); the stub off the bus is left on a die after dicing
    assert hier.counts()["PLATE.NET"] == flat.counts()["PLATE.NET"] == 1
    assert "no plating tail" in hier.of_rule("PLATE.NET")[0].message
    assert hier.counts()["PLATE.ISO"] == flat.counts()["PLATE.ISO"] == 1
    assert "outside the saw kerf" in hier.of_rule("PLATE.ISO")[0].message
    assert run_drc(hand_wafer, pdk, rules=["PLATE.NET", "PLATE.ISO"]).ok
    design = make_design(size=5000.0, per_side=3, diameter=100)
    die = write_layout(make_die_result(design, pdk).layout, pdk, tmp_path / "die.gds")
    assert run_drc(die, pdk, rules=["PLATE.NET", "PLATE.ISO"]).ok              # no WAFER outline: nothing to check


# ---------------------------------------------------------------- marks

def test_marks_are_exempt_inside_their_MARK_area(pdk, hand_wafer, tmp_path):
    lay = Layout(hand_wafer)
    top = lay.pick_tops(None)[0]
    marks = [p for p in lay.placements(top) if p.child.startswith("ALIGNMARKS")]
    assert len(marks) == 2
    cl = CellLayers(lay.flatten(marks[0].child), pdk, marks=False)
    rules = [r for r in pdk.rules if r.kind == "enclosure"]
    # drawn on the masks' own layers, the marks would break the enclosure rules ...
    assert sum(len(run_rule(r, cl)) for r in rules) > 0
    # ... but they lie inside the mark cell's MARK box, so they do not count
    assert run_drc(hand_wafer, pdk, rules=[r.name for r in rules]).ok
    # a shape of the top inside a MARK area is exempt, one outside is not
    lib = gdstk.read_gds(str(hand_wafer))
    cell = {c.name: c for c in lib.cells}[top]
    mx, my = np.asarray(marks[0].origin) * lay.dbu_um
    for x, y in ((mx + 0.0, my - 300.0), (0.0, 0.0)):          # inside the mark area; at the wafer centre (a lane crossing)
        cell.add(gdstk.rectangle((x - 10, y - 10), (x + 10, y + 10), layer=PV1[0], datatype=PV1[1]))
    path = tmp_path / "marked.gds"
    lib.write_gds(str(path))
    result = run_drc(path, pdk, rules=["PV1.W.1"])
    assert result.counts()["PV1.W.1"] == 1
    assert shapely.box(*result.of_rule("PV1.W.1")[0].bounds()).distance(shapely.Point(0, 0)) < 20


# ---------------------------------------------------------------- placements that meet

def _synthetic(path: Path, pitch: float, turned: bool, top_shapes: bool) -> Path:
    """A 3 × 3 array of a small cell (its shapes come within a rule's distance of, or touch, those of
    the neighbours when the pitch is small), a row of a second cell, a turned and a mirrored single
    placement beside the array, and top shapes crossing the placements (a 6 µm bar, a 45° line, a
    bus with a spur, a sliver in a lane), a MARK area over one placement with a PV1 square in it."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)

    def rect(x0, y0, x1, y1, layer):
        return gdstk.rectangle((x0, y0), (x1, y1), layer=layer[0], datatype=layer[1])

    u = lib.new_cell("UNIT")
    u.add(rect(0, 100, 30, 200, RDL), rect(5, 140, 25, 160, PV1), rect(292, 120, 300, 180, RDL))
    u.add(rect(100, 20, 200, 40, RDL), rect(100, 45, 200, 60, RDL))
    u.add(gdstk.ellipse((150, 150), 50, tolerance=0.01, layer=50, datatype=0))
    u.add(rect(120, 290, 180, 300, PLATE), rect(110, 285, 190, 296, RDL))
    u.add(rect(0, 0, 12, 12, RDL), rect(288, 288, 300, 300, RDL))
    v = lib.new_cell("OTHER")
    v.add(rect(0, 0, 50, 9, RDL), rect(0, 20, 50, 40, PLATE), rect(45, 0, 60, 30, RDL))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(u, (0, 0), columns=3, rows=3, spacing=(pitch, pitch)))
    top.add(gdstk.Reference(v, (-80, -80), columns=3, rows=1, spacing=(pitch, 0)))
    if turned:
        top.add(gdstk.Reference(u, (3 * pitch + 303, 0), rotation=math.pi / 2))
        top.add(gdstk.Reference(u, (0, 3 * pitch + 303), x_reflection=True))
    if top_shapes:
        top.add(rect(-50, 140, 2000, 146, RDL))
        top.add(gdstk.Polygon([(-20, -25), (880, 875), (880, 881), (-20, -19)], layer=RDL[0], datatype=RDL[1]))
        top.add(rect(-100, -100, 2100, -60, PLATE), rect(150, -60, 160, 250, PLATE))
        top.add(rect(600, pitch + 1, 640, pitch + 3, PLATE))
        top.add(rect(2 * pitch - 5, pitch - 5, 3 * pitch + 5, 2 * pitch + 5, MARK))
        top.add(rect(2 * pitch + 10, pitch + 10, 2 * pitch + 20, pitch + 20, PV1))
        top.add(rect(-400, 500, -390, 520, PV1))
    lib.write_gds(str(path))
    return path


SYNTHETIC_RULES = ["RDL.W.1", "RDL.S.1", "RDL.EN.PV1", "PV1.W.1", "PV1.S.1", "PAD.EN.PV1", "BUMP.SIZE", "BUMP.P.1",
                   "PLATE.OV.RDL", "RDL.ANGLE", "GRID.1", "PLATE.W.1", "PLATE.S.1", "UBM.SEAL.D"]


@pytest.mark.parametrize("pitch, turned", [(304, False), (304, True), (310, True), (1000, True), (300, False)])
def test_shapes_of_neighbouring_placements_and_of_the_top_are_checked_together(pdk, tmp_path, pitch, turned):
    # 304: 4 µm lanes (space violations across every lane); 300: abutting cells (shapes merge across
    # placements); 1000: placements apart (each its own site, grown by the halo)
    path = _synthetic(tmp_path / "s.gds", pitch, turned, True)
    hier = run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=True)
    flat = run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=False)
    assert hier.stats["TOP"]["mode"] == "hierarchical"
    assert hier.flat_counts() == flat.counts()
    assert flat.counts()["RDL.S.1"] > 0 and flat.counts()["RDL.W.1"] > 0


def test_cells_drawing_the_same_shapes_are_checked_once_and_each_reports_its_findings(pdk, tmp_path):
    """A copy of a placed cell under another name (adapted units measured alike) is checked once: the
    copy reports the same findings under its own name, as the flat check counts them. A cell drawing
    another's polygons on some layers (a unit and its base) takes the findings of the rules on those
    layers from it and finds its own on the others."""
    path = _synthetic(tmp_path / "s.gds", 1000, False, False)
    lib = gdstk.read_gds(str(path))
    cells = {c.name: c for c in lib.cells}
    twin = cells["UNIT"].copy("TWIN")
    other = cells["OTHER"].copy("OTHER2")
    other.add(gdstk.rectangle((0, 41), (50, 60), layer=PLATE[0], datatype=PLATE[1]))   # 1 µm from OTHER's PLATE bar
    lib.add(twin, other)
    cells["TOP"].add(gdstk.Reference(twin, (4000, 0)), gdstk.Reference(other, (4000, -600)))
    lib.write_gds(str(path))
    hier = run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=True)
    flat = run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=False)
    assert hier.stats["TOP"]["mode"] == "hierarchical" and hier.stats["TOP"]["cells_checked"] == 3   # UNIT, OTHER, OTHER2
    assert hier.flat_counts() == flat.counts()

    def found(cell: str, layer: str = "") -> list:
        return sorted((v.rule, v.message.split(" (in ")[0], v.bounds()) for v in hier.violations
                      if v.cell == cell and v.rule.startswith(layer))

    assert found("TWIN") and found("TWIN") == found("UNIT")
    assert found("OTHER2", "RDL") and found("OTHER2", "RDL") == found("OTHER", "RDL")
    assert len(found("OTHER2", "PLATE.S")) == len(found("OTHER", "PLATE.S")) + 1


def test_placements_that_overlap_each_other_are_checked_flat(pdk, tmp_path):
    path = _synthetic(tmp_path / "s.gds", 296, True, True)
    result = run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=True)
    assert result.stats["TOP"] == {"mode": "flat", "reason": "placements overlap each other"}
    assert result.counts() == run_drc(path, pdk, rules=SYNTHETIC_RULES, hierarchical=False).counts()


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs


def test_a_cell_placing_one_cell_many_times_flattens_as_placement_by_placement(tmp_path):
    """Consecutive single placements of one cell in one orientation are placed in one step
    (`read.batched`): the same vertices in the same order as placing them one by one, through
    every orientation and a scaled placement between them; the area KLayout reads agrees."""
    import klayout.db as kdb

    from layoutgen.drc.geometry import polygons
    from layoutgen.drc.read import batched, concat_polys, place_polys

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    via = lib.new_cell("VIA")
    via.add(gdstk.Polygon([(0, 0), (3, 0), (3, 1), (1, 2), (0, 2)], layer=5), gdstk.rectangle((4, 0), (5, 7), layer=6))
    via.add(gdstk.Label("N", (1, 1), layer=5, texttype=1))
    top = lib.new_cell("TOP")
    top.add(gdstk.rectangle((-50, -50), (50, 50), layer=1))
    refs = [gdstk.Reference(via, (10 * k, 3)) for k in range(5)]
    refs += [gdstk.Reference(via, (7, 10 * k + 1.5), rotation=math.pi / 2) for k in range(3)]
    refs += [gdstk.Reference(via, (-20, -20), x_reflection=True), gdstk.Reference(via, (-30, 9), magnification=2)]
    refs += [gdstk.Reference(via, (20 * k - 40, -40), rotation=math.pi) for k in range(4)]
    top.add(*refs)
    path = tmp_path / "many.gds"
    lib.write_gds(str(path))
    layout = Layout(path)
    assert len(batched(layout.placements("TOP"))) == 5        # rows of 5, 3 and 4 placed in one step each
    flat = layout.flatten("TOP")
    one_by_one = concat_polys([layout.own("TOP")[0]] + [place_polys(layout.flatten("VIA").polys, p) for p in layout.placements("TOP")])
    assert len(flat.polys) == 1 + 2 * len(refs)
    assert np.array_equal(flat.polys.xy, one_by_one.xy) and np.array_equal(flat.polys.offsets, one_by_one.offsets)
    assert np.array_equal(flat.polys.key, one_by_one.key) and len(flat.labels) == len(refs)
    ly = kdb.Layout()
    ly.read(str(path))
    area = 0
    for li in ly.layer_indexes():
        region = kdb.Region(ly.top_cell().begin_shapes_rec(li))
        region.merged_semantics = False            # each polygon's own area, overlaps counted twice as ours
        area += region.area()
    assert shapely.area(polygons(flat.polys, layout.dbu_um)).sum() == pytest.approx(area * ly.dbu ** 2, rel=1e-9)


def test_a_placed_cell_without_the_ring_its_rule_measures_to_is_checked_as_the_flat_check_does(tmp_path):
    """UBM.SEAL.D measures each UBM centre to the seal ring around it. A placed cell that draws UBM but no SEAL, in a
    layout whose other cells draw the ring, has nothing to measure against on its own: its pads are checked on the
    flattened top (each in no ring is a finding, as flat), never passed as clean. With the ring in every cell the
    rule stays per cell; the counts equal the flat check's either way."""
    pdk = load_pdk("sky400")
    ubm, seal = pdk.layer("UBM").gds, pdk.layer("SEAL").gds
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    die = lib.new_cell("DIE")
    die.add(*gdstk.boolean(gdstk.rectangle((-1000, -1000), (1000, 1000)), gdstk.rectangle((-975, -975), (975, 975)),
                           "not", layer=seal[0], datatype=seal[1]))
    die.add(gdstk.rectangle((-100, -100), (100, 100), layer=ubm[0], datatype=ubm[1]))      # 875 µm inside: clean
    site = lib.new_cell("SITE")
    for x in (-600.0, 600.0):
        site.add(gdstk.rectangle((x - 100, -100), (x + 100, 100), layer=ubm[0], datatype=ubm[1]))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(die, (0, 0), columns=6, rows=6, spacing=(2100, 2100)))
    top.add(gdstk.Reference(site, (6 * 2100, 0)))
    path = tmp_path / "w.gds"
    lib.write_gds(str(path))
    hier = run_drc(path, pdk, rules=["UBM.SEAL.D"], hierarchical=True)
    flat = run_drc(path, pdk, rules=["UBM.SEAL.D"], hierarchical=False)
    assert hier.counts() == flat.counts() == {"UBM.SEAL.D": 2}
    assert sorted(round(v.region.centroid.x) for v in hier.violations) == [6 * 2100 - 600, 6 * 2100 + 600]
    site.add(*gdstk.boolean(gdstk.rectangle((-1000, -1000), (1000, 1000)), gdstk.rectangle((-975, -975), (975, 975)),
                            "not", layer=seal[0], datatype=seal[1]))    # the site's own ring: 375 µm from the pads
    lib.write_gds(str(path))
    again = run_drc(path, pdk, rules=["UBM.SEAL.D"], hierarchical=True)
    assert again.ok and again.counts() == {"UBM.SEAL.D": 0}


def test_graph_components_are_numbered_as_scipy_numbers_them():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    from layoutgen.drc.graph import components

    rng = np.random.default_rng(7)
    for t in range(300):
        n = int(rng.integers(1, 200))
        if t % 3 == 0:       # long chains in random order: many hooking rounds
            perm = rng.permutation(n)
            i, j = perm[:-1], perm[1:]
        else:
            m = int(rng.integers(0, 2 * n + 1))
            i, j = rng.integers(0, n, m), rng.integers(0, n, m)
        count, label = connected_components(coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n)), directed=False)
        got = components(n, i, j)
        assert got[0] == count and np.array_equal(got[1], label)
    assert components(0, np.zeros(0, np.int64), np.zeros(0, np.int64))[0] == 0


def test_site_types_of_lane_lines_in_numbers_are_those_of_clipping_each_part():
    from layoutgen.wafer.checks import _round, _translate, site_types

    grid = 0.005
    # scribe lanes and bus lines ending on a round edge (slanted ends: the middle row's sites lie within their
    # inner boxes, the outer rows' reach the ends), a rectangle, an L (clipped by GEOS)
    lanes = [shapely.Polygon([(x, -r), (x + 50, -r - 0.7), (x + 50, r + 0.7), (x, r)]) for x, r in ((-1025.0, 2900.0), (975.0, 2880.0))]
    lanes += [shapely.Polygon([(-r, y), (r, y + 0.3), (r, y + 30), (-r, y + 30)]) for y, r in ((-1010.0, 2870.0), (990.0, 2860.0))]
    shapes = lanes + [shapely.box(-300, -300, -250, 40.002), shapely.Polygon([(0, 0), (60, 0), (60, 10), (10, 10), (10, 60), (0, 60)])]
    site = shapely.box(-1000, -1000, 1000, 1000)
    origins = np.array([[i * 2000.0, j * 2000.0] for i in (-1, 0, 1) for j in (-1, 0, 1)]) + 0.0004
    codes, patterns = site_types(shapes, site, origins, grid)
    # the reference: every part clipped by GEOS in die coordinates, rounded, compared by normalized WKB
    arr = np.asarray(shapes, dtype=object)
    keys = []
    for o in origins:
        clip = shapely.normalize(_round(shapely.clip_by_rect(_translate(arr, np.tile(-o, (len(arr), 1))), *site.bounds), grid))
        parts = shapely.get_parts(clip)
        parts = parts[(shapely.get_type_id(parts) == 3) & (shapely.area(parts) > grid * grid)]
        keys.append(tuple(sorted(shapely.to_wkb(parts).tolist())))
    order = list(dict.fromkeys(keys))           # codes in the order sites first show a pattern
    assert codes.tolist() == [order.index(k) for k in keys]
    assert len(patterns) == len(order) > 2
    for k, pattern in zip(order, patterns):
        assert [g.wkb for g in pattern] == list(k)


def test_sites_hit_by_the_same_top_polygons_relative_to_their_origin_are_one_kind():
    """`Types._alike_sites`: sites whose hits are the same polygons at the same place relative to their
    origins are one kind (the first site of it), a polygon one unit off or a missing one makes another;
    sites without hits are one kind."""
    from types import SimpleNamespace

    from layoutgen.drc.hier.types import Types
    from layoutgen.drc.read import Polys

    sq = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.int64)
    tri = np.array([[0, 0], [7, 0], [0, 5]], np.int64)
    rings = [sq + (100, 100), tri + (130, 100), sq + (1100, 100), tri + (1130, 100), sq + (2101, 100), tri + (2130, 100),
             sq + (3100, 100), sq + (5100, 100), tri + (5130, 100)]
    xy = np.concatenate(rings)
    offsets = np.r_[0, np.cumsum([len(r) for r in rings])]
    chk = SimpleNamespace(top_polys=Polys(xy, offsets, np.zeros(len(rings), np.int64)),
                          origin=np.array([[0, 0], [1000, 0], [2000, 0], [3000, 0], [4000, 0], [5000, 0], [6000, 0]], np.int64))
    mine = np.arange(7)
    # site 0: square and triangle; 1: the same, 1000 to the right; 2: the square one unit off; 3: the square alone;
    # 4 and 6: nothing; 5: triangle first, then square (the same polygons)
    polys = np.array([0, 1, 3, 2, 4, 5, 6, 8, 7])
    at = np.array([0, 0, 1, 1, 2, 2, 3, 5, 5])
    rep, like = Types._alike_sites(chk, polys, at, mine)
    assert like.tolist() == [0, 0, 2, 3, 4, 0, 4] and rep.tolist() == [0, 2, 3, 4]

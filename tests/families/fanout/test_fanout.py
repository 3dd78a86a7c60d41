"""The fan-out template (two dies, two wiring levels, bus rings, an inductor, a capacitor), built
and measured: the mask set, the hierarchy, cavity and via enclosures, widths and spaces per level,
connectivity net by net through the via stack, passives against their formulas.

Geometry is read back from the written GDS with klayout.db (an independent reader) and, where
our own rule functions are exercised, converted to shapely from that same file.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gdstk
import klayout.db as kdb
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from layoutgen.pipeline import build
from layoutgen.families.fanout.cells.inductor import wheeler_inductance_nh
from layoutgen.cli import main
from layoutgen.config import load_config
from layoutgen.families import builder
from layoutgen.families.fanout import Fanout
from layoutgen.drc import run_drc
from layoutgen.families.fanout.rules import mim_capacitance, process_data, spiral_dimensions, spiral_inductance
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES

TEMPLATE = TEMPLATES / "fanout_2die.py"
MASKS = {"CAVITY", "VIA1", "WIRE1", "VIA2", "WIRE2", "PASSIV", "BUMP"}
STACK = [("VIA1", "PAD", "WIRE1"), ("VIA2", "WIRE1", "WIRE2"), ("PASSIV", "WIRE2", "BUMP")]


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("fanout500")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fanout")
    return build(TEMPLATE, out=out, drc=False, quiet=True).out_dir


@pytest.fixture(scope="module")
def summary(built: Path) -> dict:
    return json.loads((built / "summary.json").read_text())


@pytest.fixture(scope="module")
def unit(pdk):
    design = load_config(TEMPLATE)
    return design, builder(design.package.family)(design, pdk)


@pytest.fixture(scope="module")
def gds(built: Path) -> kdb.Layout:
    ly = kdb.Layout()
    ly.read(str(built / "fanout_2die.gds"))
    return ly


@pytest.fixture(scope="module")
def flat(built: Path, pdk) -> tuple[dict[str, list[Polygon]], list[tuple[str, str, float, float]]]:
    """Every layer of the written GDS, flattened, as shapely polygons (µm), and every label."""
    ly = kdb.Layout()
    ly.read(str(built / "fanout_2die.gds"))
    top = ly.top_cell()
    ly.flatten(top.cell_index(), -1, True)
    shapes: dict[str, list[Polygon]] = {}
    labels = []
    for name, layer in pdk.layers.items():
        li = ly.find_layer(*layer.gds)
        if li is None:
            continue
        for s in top.shapes(li).each():
            if s.is_text():
                labels.append((name, s.text_string, s.text_dpos.x, s.text_dpos.y))
            elif s.is_polygon() or s.is_box() or s.is_path():
                p = s.dpolygon
                shapes.setdefault(name, []).append(
                    Polygon([(q.x, q.y) for q in p.each_point_hull()],
                            [[(q.x, q.y) for q in p.each_point_hole(h)] for h in range(p.holes())]))
    return shapes, labels


def drc_of(built: Path, pdk, out: Path, rules: list[str], edit=None) -> list:
    """The project's DRC engine, the named rules only, on the written GDS flattened and changed by `edit(top)` (gdstk)."""
    lib = gdstk.read_gds(str(built / "fanout_2die.gds"))
    top = lib.top_level()[0].flatten()
    if edit is not None:
        edit(top)
    changed = gdstk.Library(unit=lib.unit, precision=lib.precision)
    changed.add(top)
    changed.write_gds(out / "changed.gds")
    return run_drc(out / "changed.gds", pdk, rules=rules, hierarchical=False).violations


def on_layer(cell: gdstk.Cell, pdk, name: str) -> list[gdstk.Polygon]:
    return [p for p in cell.polygons if (p.layer, p.datatype) == tuple(pdk.layer(name).gds)]


def region(ly: kdb.Layout, layer: tuple[int, int], cell: kdb.Cell | None = None) -> kdb.Region:
    top = cell or ly.top_cell()
    return kdb.Region(top.begin_shapes_rec(ly.layer(*layer))).merged()


def um(ly: kdb.Layout, v: float) -> int:
    return int(round(v / ly.dbu))


# -- outputs and hierarchy -------------------------------------------------------------------
def test_template_is_a_fanout_design_with_two_different_dies():
    design = load_config(TEMPLATE)
    pkg = design.package
    assert isinstance(pkg, Fanout) and design.die is None
    assert [(d.die.name, d.rotation) for d in pkg.dies] == [("MCU", 0), ("RF", 90)]
    assert pkg.balls.pitch == 500 and pkg.levels == 2
    assert (pkg.balls.cols - 1) * pkg.balls.pitch > max(d.die.width for d in pkg.dies)   # grid larger than the dies


def test_every_mask_of_the_issue_is_written_with_its_features(built: Path, summary: dict):
    assert {p.stem for p in (built / "masks").glob("*.gds")} == MASKS
    expect = {"CAVITY": 2, "VIA1": 60, "VIA2": 48, "PASSIV": 217, "BUMP": 217}
    for name, n in expect.items():
        ly = kdb.Layout()
        ly.read(str(built / "masks" / f"{name}.gds"))
        top = ly.top_cell()
        li = ly.find_layer(*load_pdk("fanout500").layer(name).gds)
        # The mask label (text polygons) lies outside the unit; count the features inside it.
        inside = kdb.Region(top.begin_shapes_rec(li)).merged() & kdb.Region(kdb.Box(-4000000, -4000000, 4000000, 4000000))
        assert inside.count() == n, name
    assert summary["counts"]["dies"] == 2 and summary["counts"]["balls"] == 217
    assert summary["die"] == {"name": "FANOUT_fanout_2die", "width_um": 8000.0, "height_um": 8000.0}


def test_dies_vias_and_balls_are_cells_placed_by_reference(gds: kdb.Layout):
    top = gds.top_cell()
    placed = {}
    for inst in top.each_inst():
        name = gds.cell(inst.cell_index).name
        placed.setdefault(name, []).append(inst)
    mcu, rf = placed["MCU"][0], placed["RF"][0]
    assert (mcu.dcplx_trans.disp.x, mcu.dcplx_trans.disp.y, mcu.dcplx_trans.angle) == (-1000, 600, 0)
    assert (rf.dcplx_trans.disp.x, rf.dcplx_trans.disp.y, rf.dcplx_trans.angle) == (1700, 800, 90)
    assert len(placed["FO_BALL_WIRE2_FANOUT500"]) == 217
    assert len(placed["FO_VIA2_FANOUT500"]) == 47
    # One VIA1 stack cell, placed at every pad inside each chip cell (36 + 24).
    via1 = gds.cell("FO_PADVIA_FANOUT500")
    assert via1 is not None
    assert sum(1 for i in gds.cell("MCU").each_inst() if i.cell_index == via1.cell_index()) == 36
    assert sum(1 for i in gds.cell("RF").each_inst() if i.cell_index == via1.cell_index()) == 24


def test_every_vertex_is_on_the_5nm_grid(gds: kdb.Layout, pdk):
    step = um(gds, pdk.grid_um)
    off = 0
    for cell in gds.each_cell():
        for li in gds.layer_indexes():
            for s in cell.shapes(li).each():
                if s.is_polygon() or s.is_box():
                    off += sum(1 for p in s.polygon.each_point_hull() if p.x % step or p.y % step)
    assert off == 0


# -- what the issue asks the tests to measure ------------------------------------------------
def gds_layer(pdk, name: str) -> tuple[int, int]:
    return pdk.layer(name).gds


def test_every_cavity_encloses_its_die_by_the_clearance(gds: kdb.Layout, pdk, built, tmp_path):
    clear = pdk.value("enclosure", "CAVITY", "CHIP")
    chips = region(gds, gds_layer(pdk, "CHIP"))
    cavs = region(gds, gds_layer(pdk, "CAVITY"))
    assert chips.count() == 2 and cavs.count() == 2
    assert cavs.enclosing_check(chips, um(gds, clear)).count() == 0
    # ... and by exactly the clearance: one more nanometre fails on all four sides of both.
    assert cavs.enclosing_check(chips, um(gds, clear) + 1).count() == 8
    assert (chips - cavs).is_empty()
    rule = pdk.rule("enclosure", "CAVITY", "CHIP")
    assert drc_of(built, pdk, tmp_path, [rule.name]) == []

    def shrink(top):   # every cavity 1 µm smaller on each side
        cavs = on_layer(top, pdk, "CAVITY")
        top.remove(*cavs)
        top.add(*[q for c in cavs for q in gdstk.offset(c, -1, join="miter", layer=c.layer, datatype=c.datatype)])

    found = drc_of(built, pdk, tmp_path, [rule.name], shrink)
    assert len({v.bounds()[:2] for v in found}) == 2      # both dies, each too close to its cavity wall


@pytest.mark.parametrize("via, lower, upper", [("VIA1", "PAD", "WIRE1"), ("VIA2", "WIRE1", "WIRE2")])
def test_every_via_sits_inside_both_levels_it_joins(gds: kdb.Layout, pdk, built, tmp_path, via, lower, upper):
    v = region(gds, gds_layer(pdk, via))
    assert v.count() == {"VIA1": 60, "VIA2": 48}[via]
    for level in (lower, upper):
        enc = pdk.value("enclosure", level, via)
        metal = region(gds, gds_layer(pdk, level))
        assert (v - metal).is_empty(), f"{via} outside {level}"
        assert metal.enclosing_check(v, um(gds, enc)).count() == 0, f"{level} encloses {via} by < {enc}"
    lo, hi = pdk.rule("enclosure", lower, via), pdk.rule("enclosure", upper, via)
    assert drc_of(built, pdk, tmp_path, [lo.name, hi.name]) == []

    def move_one(top):   # moved by the enclosure, a via leaves its landing
        on_layer(top, pdk, via)[0].translate(lo.value, 0)

    assert drc_of(built, pdk, tmp_path, [lo.name, hi.name], move_one)


def test_bonding_pad_passivation_and_bump_stack(gds: kdb.Layout, pdk):
    wire2, passiv, bump = (region(gds, gds_layer(pdk, n)) for n in ("WIRE2", "PASSIV", "BUMP"))
    assert wire2.enclosing_check(passiv, um(gds, pdk.value("enclosure", "WIRE2", "PASSIV"))).count() == 0
    assert bump.enclosing_check(passiv, um(gds, pdk.value("enclosure", "BUMP", "PASSIV"))).count() == 0
    assert passiv.width_check(um(gds, pdk.value("width", "PASSIV")), False, kdb.Metrics.Projection).count() == 0
    centres = sorted((p.bbox().center().x, p.bbox().center().y) for p in bump.each())
    d = min(math.dist(a, b) for a, b in zip(centres, centres[1:]))
    assert d * gds.dbu >= pdk.value("pitch", "BUMP") - 1e-6


@pytest.mark.parametrize("layer", ["WIRE1", "WIRE2"])
def test_wiring_keeps_width_and_space_including_notches(gds: kdb.Layout, pdk, layer):
    metal = region(gds, gds_layer(pdk, layer))
    w, s = pdk.value("width", layer), pdk.value("space", layer)
    # Projection metric: KLayout's Euclidean width check flags neighbouring edges of a 64-gon
    # (round bonding pads) that are not a width problem (see DRC.md).
    assert metal.width_check(um(gds, w), False, kdb.Metrics.Projection).count() == 0
    assert metal.space_check(um(gds, s), False, kdb.Metrics.Euclidian).count() == 0   # also notches
    kerf = region(gds, gds_layer(pdk, "KERF"))
    assert metal.separation_check(kerf, um(gds, pdk.value("separation", layer, "KERF"))).count() == 0


def test_vias_cavities_and_bumps_keep_their_spaces(gds: kdb.Layout, pdk):
    for layer in ("VIA1", "VIA2", "CAVITY"):
        r = region(gds, gds_layer(pdk, layer))
        assert r.space_check(um(gds, pdk.value("space", layer))).count() == 0, layer
    kerf = region(gds, gds_layer(pdk, "KERF"))
    for layer in ("BUMP", "CAVITY"):
        r = region(gds, gds_layer(pdk, layer))
        assert r.separation_check(kerf, um(gds, pdk.value("separation", layer, "KERF"))).count() == 0, layer
    for via in ("VIA1", "VIA2"):
        diam = {round(p.bbox().width() * gds.dbu, 2) for p in region(gds, gds_layer(pdk, via)).each()}
        assert all(abs(d - pdk.value("size", via)) <= pdk.rule("size", via).tolerance for d in diam), (via, diam)


NETS = ["NET.OPEN", "NET.SHORT"]


def test_every_net_is_connected_through_its_vias_and_to_nothing_else(built, pdk, flat, tmp_path):
    _, labels = flat
    nets = {lb[1] for lb in labels if lb[0] in ("PAD", "BUMP")}
    assert len(nets) == 45
    assert drc_of(built, pdk, tmp_path, NETS) == []
    # Without the inductor's declaration (its JOIN label), its two nets are one piece of metal: a short.

    def undeclare(top):
        top.remove(*[lb for lb in top.labels if lb.text.startswith("JOIN:") and "ANT" in lb.text])

    found = drc_of(built, pdk, tmp_path, NETS, undeclare)
    assert [v.rule for v in found] == ["NET.SHORT"] and all(n in found[0].message for n in ("ANT", "RF_OUT"))


def test_removing_one_via_opens_exactly_that_net(built, pdk, flat, summary, tmp_path):
    """The check follows the via stack level by level: a missing VIA2 opens its net."""
    shapes, labels = flat
    ball_at = {lb[1]: Point(lb[2], lb[3]) for lb in labels if lb[0] == "BUMP"}
    net = next(n for n, info in sorted(summary["nets"].items()) if info["kind"] == "die-to-ball"
               and any(v.contains(ball_at[n]) for v in shapes["VIA2"]))

    def drop_ball_via(top):
        top.remove(*[v for v in on_layer(top, pdk, "VIA2") if Polygon(v.points).contains(ball_at[net])])

    found = drc_of(built, pdk, tmp_path, NETS, drop_ball_via)
    assert found and {v.rule for v in found} == {"NET.OPEN"} and all(net in v.message for v in found)


def test_klayout_extracts_one_net_per_name(built: Path, pdk, summary):
    """KLayout's own netlist extraction (flattened GDS, the PDK's via stack) agrees."""
    ly = kdb.Layout()
    ly.read(str(built / "fanout_2die.gds"))
    top = ly.top_cell()
    ly.flatten(top.cell_index(), -1, True)
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, top, []))
    names = ["PAD", "VIA1", "WIRE1", "VIA2", "WIRE2", "PASSIV", "BUMP"]
    r = {n: l2n.make_layer(ly.layer(*pdk.layer(n).gds), n) for n in names}
    t = {n: l2n.make_text_layer(ly.layer(*pdk.layer(n).gds), f"{n}_text") for n in ("PAD", "BUMP")}
    for layer in r.values():
        l2n.connect(layer)
    for via, lower, upper in STACK:
        l2n.connect(r[lower], r[via])
        l2n.connect(r[via], r[upper])
    for n in t:
        l2n.connect(r[n], t[n])
    l2n.extract_netlist()
    extracted = [n.name for n in l2n.netlist().top_circuit().each_net() if n.name]
    # The devices that join two nets say so in the GDS itself: TEXT labels "JOIN:a,b".
    text = ly.layer(*pdk.layer("TEXT").gds)
    joined = {s.text_string[5:] for s in top.shapes(text).each() if s.is_text() and s.text_string.startswith("JOIN:")}
    assert joined == {",".join(sorted(g)) for g in summary["joined_nets"]} == {"ANT,RF_OUT"}
    assert all("," not in n or ",".join(sorted(n.split(","))) in joined for n in extracted)
    per_name: dict[str, int] = {}
    for n in extracted:
        for part in n.split(","):
            per_name[part] = per_name.get(part, 0) + 1
    assert set(per_name) == set(summary["nets"]) and set(per_name.values()) == {1}


# -- the per-net report ------------------------------------------------------------------------
def test_every_net_reports_its_length_and_vias(summary, unit):
    nets = summary["nets"]
    assert len(nets) == 45
    kinds = {k: sum(1 for v in nets.values() if v["kind"] == k) for k in ("die-to-ball", "die-to-die", "bus", "device")}
    assert kinds == {"die-to-ball": 35, "die-to-die": 6, "bus": 2, "device": 2}
    design, res = unit
    pads = {name: (x, y) for name, _, x, y in res.pads}
    balls = {name: (x, y) for name, x, y in res.balls}
    for net, info in nets.items():
        assert info["vias"]["VIA1"] == sum(1 for t in info["terminals"] if t.split(".")[0] in ("MCU", "RF"))
        assert math.isclose(sum(info["length_by_level_um"].values()), info["length_um"], abs_tol=1e-3)
        if info["kind"] == "die-to-ball":
            # From WIRE1 at the die pad to the ball on WIRE2: at least one level change, and
            # at least the Manhattan distance less the two short stubs to the routing grid.
            assert info["vias"].get("VIA2", 0) >= 1
            (pad,) = [t for t in info["terminals"] if not t.startswith("ball ")]
            (px, py), (bx, by) = pads[pad], balls[info["balls"][0]]
            assert info["length_um"] >= abs(px - bx) + abs(py - by) - 2 * summary["unit"]["route_pitch_um"]
            if (px, py) == (bx, by):   # a pad right under its ball: VIA2 stacked on VIA1, no trace
                assert info["length_um"] == 0 and info["via_count"] == 2
        else:
            assert info["length_um"] > 0
        if info["kind"] == "die-to-die":
            assert info["balls"] == [] and set(info["length_by_level_um"]) <= {"WIRE1", "WIRE2"}
    assert sum(res.route_lengths.values()) == pytest.approx(sum(v["length_um"] for v in nets.values()), abs=0.1)
    assert summary["counts"]["vias_VIA2"] == sum(v["vias"].get("VIA2", 0) for v in nets.values()) == 47


def test_power_balls_sit_on_their_rings_nets(summary):
    assert summary["rings"]["VDD"]["balls"] == ["B11", "B5", "P11", "P5"]
    assert summary["rings"]["VSS"]["balls"] == ["B8", "H14", "H2", "P8"]
    assert summary["ball_nets"]["B5"] == "VDD" and summary["nets"]["VDD"]["kind"] == "bus"
    # Every die pad of the bus nets and the capacitor plate joined the ring (one tree).
    vdd = summary["nets"]["VDD"]["terminals"]
    assert {"ring VDD", "C1.top", "MCU.M5", "RF.R3"} <= set(vdd)


# -- passives --------------------------------------------------------------------------------
def test_inductance_within_one_percent_of_the_formula_for_the_drawn_spiral(flat, summary):
    ind = summary["passives"]["L1"]
    half = ind["d_out_um"] / 2
    footprint = box(ind["x_um"] - half, ind["y_um"] - half, ind["x_um"] + half, ind["y_um"] + half)
    shapes, _ = flat
    turns = shapely.union_all([g for g in shapes["WIRE2"] if g.intersects(footprint)]).intersection(footprint)
    n, d_out, d_in = spiral_dimensions(turns)
    assert (n, round(d_out, 3), round(d_in, 3)) == (3, 360.0, 160.0)
    drawn = spiral_inductance(turns)
    assert abs(drawn - ind["inductance_nh"]) / drawn < 0.01
    assert drawn == pytest.approx(wheeler_inductance_nh(3, 360, 160))
    assert 3.0 < drawn < 3.7   # 2.34 µ0 n² d_avg / (1 + 2.75 ρ) = 3.34 nH


def test_capacitance_within_one_percent_of_the_formula_for_the_drawn_plates(flat, summary, pdk):
    cap = summary["passives"]["C1"]
    x, y, w, h = cap["x_um"], cap["y_um"], cap["width_um"], cap["height_um"]
    ov = process_data(pdk).capacitor.bottom_overhang_um
    site = box(x - w / 2 - ov, y - h / 2 - ov, x + w / 2 + ov, y + h / 2 + ov)
    shapes, _ = flat
    bottom = shapely.union_all([g for g in shapes["WIRE1"] if g.intersects(site)]).intersection(site)
    top = shapely.union_all([g for g in shapes["WIRE2"] if g.intersects(site)]).intersection(site)
    area, pf = mim_capacitance(bottom, top, cap["eps_r"], cap["thickness_um"])
    assert area == pytest.approx(w * h, rel=0.01)
    assert abs(pf - cap["capacitance_pf"]) / pf < 0.01
    assert cap["capacitance_pf"] == pytest.approx(8.8541878128e-12 * 3.3 * 400e-6 * 400e-6 / 5e-6 * 1e12, rel=1e-6)
    diel = process_data(pdk).between("WIRE1", "WIRE2")
    assert (cap["eps_r"], cap["thickness_um"], cap["dielectric"]) == (diel.eps_r, diel.thickness_um, diel.name)


# -- reproducible, and runnable from the command line -------------------------------------------
def test_same_config_gives_the_same_gds(built: Path, tmp_path: Path):
    again = build(TEMPLATE, out=tmp_path, drc=False, quiet=True).out_dir
    assert (again / "fanout_2die.gds").read_bytes() == (built / "fanout_2die.gds").read_bytes()
    for m in MASKS:
        assert (again / "masks" / f"{m}.gds").read_bytes() == (built / "masks" / f"{m}.gds").read_bytes()


def test_cli_builds_the_template(tmp_path: Path, capsys):
    assert main(["build", str(TEMPLATE), "-o", str(tmp_path), "--no-drc"]) == 0
    assert "2 dies" in capsys.readouterr().out
    assert (tmp_path / "fanout_2die" / "masks" / "WIRE2.gds").is_file()


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

"""The fan-out substrate: a carrier panel and a reconstituted wafer of units, global and unit marks, die shift.

One panel is built whole (with a die-shift file) and read back with klayout.db; the die-shift
file's errors, the reconstituted wafer and the unit-mark placement run on one routed unit.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
import shapely

from layoutgen.config import load_config
from layoutgen.drc import run_drc
from layoutgen.drc.cell import CellLayers, check_cell
from layoutgen.drc.connectivity import conductor_pieces, place_terminals
from layoutgen.drc.read import Layout, concat_polys, place_polys
from layoutgen.errors import ConfigError
from layoutgen.families import builder
from layoutgen.families.fanout import CarrierPanel, ReconstitutedWafer
from layoutgen.wafer.panel import panel_layout
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build

from conftest import TEMPLATES, template_variant

# The template's unit on a 60 × 40 mm panel; its lower-left and upper-right corner balls make room for the unit marks.
VARIANT = """
from layoutgen import CarrierPanel
pkg = design.package
balls = pkg.balls.model_copy(update={'depopulate': [*pkg.balls.depopulate, 'R1', 'A15']})
design = design.model_copy(update={'name': 'panel', 'package': pkg.model_copy(
    update={'balls': balls, 'panel': CarrierPanel(size=(60000, 40000), frame=5000), 'die_shift': 'shift.csv'})})
"""
SHIFT = "unit,dx,dy,rotation\nR1C1,4,-3,0.02\nR2C3,-3,2.5,0\n"
SHIFTED = {"R1C1": (4.0, -3.0, 0.02), "R2C3": (-3.0, 2.5, 0.0)}
MASKS = ["CAVITY", "VIA1", "WIRE1", "VIA2", "WIRE2", "PASSIV", "BUMP"]


@pytest.fixture(scope="module")
def cfg(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fanout_panel")
    (folder / "shift.csv").write_text(SHIFT)
    return template_variant(TEMPLATES / "fanout_2die.py", folder / "panel.py", VARIANT)


@pytest.fixture(scope="module")
def built(cfg):
    result = build(cfg, out=cfg.parent / "out", quiet=True)
    return result


@pytest.fixture(scope="module")
def summary(built) -> dict:
    return json.loads((built.out_dir / "summary.json").read_text())


@pytest.fixture(scope="module")
def regions(built) -> dict[str, kdb.Region]:
    """Every mask file read once: its one layer as a flat region (µm database units of the file)."""
    out: dict = {"layouts": []}   # a region read from a layout lives only as long as the layout
    for m in MASKS:
        ly = kdb.Layout()
        out["layouts"].append(ly)
        ly.read(str(built.out_dir / "masks" / f"{m}.gds"))
        li = [i for i in ly.layer_indexes()][0]
        out[m] = kdb.Region(ly.top_cell().begin_shapes_rec(li))
        out["dbu"] = ly.dbu
    return out


@pytest.fixture(scope="module")
def units(built) -> dict[str, tuple[float, float]]:
    with open(built.out_dir / "units.csv") as f:
        return {r["unit"]: (float(r["x_um"]), float(r["y_um"])) for r in csv.DictReader(f) if r["die"] == "MCU"}


@pytest.fixture(scope="module")
def unit(cfg):
    design = load_config(cfg)
    pdk = load_pdk("fanout500")
    return design, pdk, builder("fanout")(design, pdk)


def _window(x: float, y: float, hw: float, hh: float, dbu: float) -> kdb.Region:
    return kdb.Region(kdb.Box(round((x - hw) / dbu), round((y - hh) / dbu), round((x + hw) / dbu), round((y + hh) / dbu)))


def test_the_panel_builds_drc_clean_with_marks_and_adapted_units(built, summary):
    assert built.exit_code == 0 and built.drc.ok and summary["drc"]["rules_checked"] > 20
    p = summary["panel"]
    # 4 × 3 units fit; the global mark sites (each a few mm) sit in the frame or take the units they cover.
    assert p["substrate"] == "panel" and p["units"] + len(p["test_sites"]) + p["units_dropped_for_marks"] == 18
    assert len(p["marks"]["sites"]) == 2 and len(p["marks"]["unit_sites"]) == 2
    assert p["die_shift"]["units_adapted"] == 2 and p["die_shift"]["dies_shifted"] == 4
    assert set(p["die_shift"]["adapted_masks"]) == {"VIA1", "WIRE1"}
    ly = kdb.Layout()
    ly.read(str(built.gds))
    top = ly.top_cell()
    # nominal units by arrays (one per run between adapted units), adapted units one by one
    assert sum(i.size() for i in top.each_inst() if i.cell.name == "FANOUT_panel") == p["units"] - 2
    assert len([i for i in top.each_inst() if i.cell.name.startswith("FANOUT_panel_R")]) == 2
    bumps = kdb.Region(top.begin_shapes_rec(ly.layer(50, 0))) - kdb.Region(top.begin_shapes_rec(ly.layer(*load_pdk("fanout500").layer("MARK").gds)))
    assert bumps.count() == p["units"] * summary["counts"]["balls"]     # every unit's balls, adapted units too


def test_a_shifted_units_vias_move_with_their_die_and_unshifted_units_are_unchanged(regions, units, summary):
    dbu = regions["dbu"]
    w, h = summary["panel"]["pitch_um"]
    names = list(units)
    # the nominal unit: the unit's centre and its VIA1 relative to it (an unshifted unit)
    ref = next(n for n in names if n not in SHIFTED)
    rx, ry = units[ref]
    mcu = {n: xy for n, xy in units.items()}

    def local(layer: str, name: str) -> kdb.Region:
        x, y = mcu[name]
        cx, cy = x + 1000, y - 600   # the MCU sits at (-1000, 600) in the unit: back to the unit centre
        r = regions[layer] & _window(cx, cy, w / 2, h / 2, dbu)
        return r.moved(-round(cx / dbu), -round(cy / dbu))

    nominal = local("VIA1", ref)
    for name in names:
        here = local("VIA1", name)
        assert here.count() == nominal.count() == 60 + 2 * 9   # the pads' vias and the two unit marks' VIA1 dots
        if name not in SHIFTED:
            assert (here ^ nominal).is_empty(), name          # unshifted units: byte for byte the nominal vias
            assert (local("VIA2", name) ^ local("VIA2", ref)).is_empty()
            continue
        dx, dy, rot = SHIFTED[name]
        assert not (here ^ nominal).is_empty()
        # every nominal via of the MCU (at -1000, 600) and the RF (at 1700, 800) moves with its die
        moved, on_dies = [], lambda x, y: -2600 < x < 2600 and -700 < y < 1900   # the dies' area, not the marks
        for poly in nominal.each():
            c = poly.bbox().center()
            x, y = c.x * dbu, c.y * dbu
            if not on_dies(x, y):
                continue
            ox, oy = (-1000.0, 600.0) if x < 500 else (1700.0, 800.0)
            t = math.radians(rot)
            mx = ox + dx + (x - ox) * math.cos(t) - (y - oy) * math.sin(t)
            my = oy + dy + (x - ox) * math.sin(t) + (y - oy) * math.cos(t)
            moved.append((mx, my))
        got = sorted((p.bbox().center().x * dbu, p.bbox().center().y * dbu) for p in here.each())
        got = [c for c in got if on_dies(*c)]
        assert len(got) == len(moved) == 60
        for (gx, gy), (mx, my) in zip(got, sorted(moved)):
            assert math.hypot(gx - mx, gy - my) < 0.02
        # later layers stay on the nominal grid
        assert (local("VIA2", name) ^ local("VIA2", ref)).is_empty()
        assert (local("BUMP", name) ^ local("BUMP", ref)).is_empty()


def test_the_moved_vias_sit_on_the_moved_pads_and_under_their_wire1_capture(built, regions, summary):
    """The combined GDS: every VIA1 inside a die pad by the enclosure rule, and inside WIRE1 (the DRC says so too)."""
    ly = kdb.Layout()
    ly.read(str(built.gds))
    top = ly.top_cell()

    pdk = load_pdk("fanout500")
    def reg(name):
        g = pdk.layer(name).gds
        return kdb.Region(top.begin_shapes_rec(ly.layer(g[0], g[1])))
    via, pad, wire = reg("VIA1"), reg("PAD"), reg("WIRE1")
    product = via - kdb.Region(top.begin_shapes_rec(ly.layer(*pdk.layer("MARK").gds)))
    assert product.count() == summary["panel"]["units"] * 60
    assert (product - pad).is_empty() and (product - wire).is_empty()
    enc = round(pdk.value("enclosure", "PAD", "VIA1") / ly.dbu)
    assert product.sized(enc - 2).inside(pad).count() == product.count()


def test_unit_and_global_marks_of_consecutive_masks_coincide(regions, summary, units):
    dbu = regions["dbu"]
    p = summary["panel"]
    masks = {m: m for m in MASKS}

    def centre(layer: str, x: float, y: float, half: float) -> tuple[float, float]:
        r = regions[layer] & _window(x, y, half, half, dbu)
        assert not r.is_empty(), (layer, x, y)
        b = r.bbox()
        return b.center().x * dbu, b.center().y * dbu

    checked = 0
    for name, (mx, my) in units.items():
        ux, uy = mx + 1000, my - 600
        for sx, sy in p["marks"]["unit_sites"]:
            for slot in p["marks"]["unit_slots"]:
                x, y = ux + sx + slot["x"], uy + sy + slot["y"]
                cross = centre(masks[slot["target"]], x, y, 40.0)   # the target's cross
                for a in slot["aligned"]:
                    box_ = centre(a, x, y, slot["half_um"])
                    assert math.dist(cross, box_) < 0.01 and math.dist(cross, (x, y)) < 0.01
                    checked += 1
    assert checked == len(units) * 2 * 4
    # the global sites: each slot's boxes around its cross, as on a fan-in wafer
    for sx, sy in p["marks"]["sites"]:
        for v in p["marks"]["verniers"]:
            assert v["step_um"] == 0.5
        assert centre("CAVITY", sx, sy, p["marks"]["size_um"][0] / 2)


def test_the_units_file_lists_every_die_with_its_shift(built, summary):
    with open(built.out_dir / "units.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * summary["panel"]["units"]
    moved = {(r["unit"], r["die"]): (float(r["dx_um"]), float(r["dy_um"]), float(r["rotation_deg"])) for r in rows if r["adapted"] == "yes"}
    assert moved == {(u, d): v for u, v in SHIFTED.items() for d in ("MCU", "RF")}


@pytest.mark.parametrize("text, line, needle", [
    ("unit,dx,dy,rotation\nR9C9,1,1,0\n", 2, "unit = 'R9C9': no such unit"),
    ("unit,dx,dy,rotation\nR1C1,1,1,0\nR1C1,2,2,0\n", 3, "already shifted on line 2"),
    ("unit,dx,dy,rotation\nR1C1,abc,1,0\n", 2, "dx = 'abc': not a number"),
    ("unit,dx,dy,rotation\nR1C1,nan,1,0\n", 2, "dx = 'nan': not a finite number"),
    ("unit,dx,dy\nR1C1,1,1\n", 1, "no column rotation"),
    ("unit,dx,dy,rotation,die\nR1C1,1,1,0,GPU\n", 2, "die = 'GPU'"),
    ("unit,dx,dy,rotation\nR1C1,80,0,0\n", 2, "beyond its cavity"),
    ("unit,dx,dy,rotation\nR1C1,12,-8,0.05\n", 2, "another net's WIRE1"),
])
def test_a_bad_die_shift_row_names_file_line_value_and_reason(unit, tmp_path, text, line, needle):
    design, pdk, die = unit
    (tmp_path / "bad.csv").write_text(text)
    design = design.model_copy(update={"package": design.package.model_copy(update={"die_shift": str(tmp_path / "bad.csv")})})
    with pytest.raises(ConfigError) as e:
        panel_layout(design, pdk, die)
    assert f"{tmp_path / 'bad.csv'}:{line}:" in str(e.value) and needle in str(e.value)


def test_a_bad_die_shift_file_exits_2_with_nothing_written(cfg, tmp_path, capsys):
    from layoutgen.cli import main

    bad = tmp_path / "bad.py"
    (tmp_path / "shift.csv").write_text("unit,dx,dy,rotation\nR1C1,x,0,0\n")
    bad.write_text(cfg.read_text())
    assert main(["build", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert f"{tmp_path / 'shift.csv'}:2: dx = 'x'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "panel").exists()


def test_a_reconstituted_wafer_keeps_units_and_marks_inside_its_edge_exclusion(unit):
    design, pdk, die = unit
    pkg = design.package.model_copy(update={"panel": ReconstitutedWafer(diameter=300, edge_exclusion=3000), "die_shift": None})
    layout, fig, field, files = panel_layout(design.model_copy(update={"package": pkg}), pdk, die)
    r = 150000 - 3000
    assert fig["substrate"] == "reconstituted_wafer" and fig["units"] > 900
    lines = files["units.csv"].splitlines()[1:]
    assert len(lines) == 2 * fig["units"]
    w, h = fig["pitch_um"]
    top = layout.cells[layout.top]
    placed = [(ref.x + c * ref.spacing[0], ref.y) for ref in top.refs if ref.cell == die.layout.top for c in range(ref.columns)]
    assert len(placed) == fig["units"]
    for x, y in placed:   # every unit (with half its lanes) inside the edge exclusion
        assert max(math.hypot(x + sx * (w - 100) / 2, y + sy * (h - 100) / 2) for sx in (-1, 1) for sy in (-1, 1)) <= r + 1e-6
    hw, hh = (v / 2 for v in fig["marks"]["size_um"])
    for x, y in fig["marks"]["sites"]:
        assert max(math.hypot(x + sx * hw, y + sy * hh) for sx in (-1, 1) for sy in (-1, 1)) <= r + 1e-6
        for ux, uy in placed:
            assert abs(ux - x) >= hw + (w - 100) / 2 - 1e-6 or abs(uy - y) >= hh + (h - 100) / 2 - 1e-6
    assert field.bounds == pytest.approx((-150000, -150000, 150000, 150000), abs=5)


def test_a_unit_mark_that_would_cover_the_units_drawing_is_refused(unit):
    from shapely.geometry import box

    from layoutgen.layout import Cell, Layout

    design, pdk, die = unit
    src = die.layout.cells[die.layout.top]
    busy = Cell(src.name, shapes={**src.shapes, "WIRE2": [*src.shapes["WIRE2"], box(-3700, -3700, -3600, -3600)]},
                labels=src.labels, refs=src.refs)
    crowded = type(die)(**{**die.__dict__, "layout": Layout(top=src.name, cells={**die.layout.cells, src.name: busy})})
    d = design.model_copy(update={"package": design.package.model_copy(update={"die_shift": None})})
    with pytest.raises(ConfigError, match="unit mark at the lower-left corner .* would cover the unit's drawing"):
        panel_layout(d, pdk, crowded)


# ---------------------------------------------------------------- test structures

@pytest.fixture(scope="module")
def netlist(built):
    """The combined GDS read once and its nets extracted with KLayout over the PDK's conductor stack."""
    pdk = load_pdk("fanout500")
    ly = kdb.Layout()
    ly.read(str(built.gds))
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    layers = {}
    for name in ["PAD", "WIRE1", "WIRE2", "BUMP", "VIA1", "VIA2", "PASSIV"]:
        layers[name] = l2n.make_layer(ly.layer(*pdk.layer(name).gds), name)
    for name in ["PAD", "WIRE1", "WIRE2", "BUMP"]:
        l2n.connect(layers[name])
    for via, lo, hi in [("VIA1", "PAD", "WIRE1"), ("VIA2", "WIRE1", "WIRE2"), ("PASSIV", "WIRE2", "BUMP")]:
        l2n.connect(layers[via])
        l2n.connect(layers[lo], layers[via])
        l2n.connect(layers[via], layers[hi])
    l2n.extract_netlist()
    return ly, l2n, layers


def _net(netlist, x: float, y: float):
    ly, l2n, layers = netlist
    net = l2n.probe_net(layers["WIRE2"], kdb.DPoint(x, y))
    assert net is not None, (x, y)
    return net


def _net_box(netlist, net) -> kdb.DBox:
    ly, l2n, layers = netlist
    r = kdb.Region()
    for name in ("WIRE1", "WIRE2", "VIA2"):
        r += l2n.shapes_of_net(net, layers[name], True)
    return r.bbox().to_dtype(ly.dbu)


def test_every_test_structure_is_listed_with_its_probe_pads(built, summary):
    ts = summary["panel"]["test_structures"]["structures"]
    sites = summary["panel"]["test_sites"]
    assert len(sites) == 2 and not set(sites) & set(SHIFTED)
    kinds = {s["kind"] for s in ts}
    assert kinds == {"daisy_chain", "kelvin", "line_width", "space_comb", "plating_monitor"}
    with open(built.out_dir / "teststructures.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(len(s["pads"]) for s in ts)
    assert {r["net"] for r in rows} == {p["net"] for s in ts for p in s["pads"]}


def test_each_daisy_chain_and_kelvin_is_connected_end_to_end_and_isolated_from_product_nets(summary, netlist):
    w, h = summary["panel"]["pitch_um"]
    ts = summary["panel"]["test_structures"]["structures"]
    with_sites = {}
    for s in ts:
        with_sites.setdefault(s["site"], []).append(s)
    for site, structures in with_sites.items():
        pads = {(s["name"], p["pad"]): (p["x_um"], p["y_um"]) for s in structures for p in s["pads"]}
        sx = sum(x for x, _ in pads.values()) / len(pads)
        for s in structures:
            if s["kind"] not in ("daisy_chain", "kelvin", "line_width"):
                continue
            nets = {_net(netlist, p["x_um"], p["y_um"]).cluster_id for p in s["pads"]}
            assert len(nets) == 1, (site, s["name"])      # one piece of metal from pad to pad, through every via
            box_ = _net_box(netlist, _net(netlist, s["pads"][0]["x_um"], s["pads"][0]["y_um"]))
            # the net stays inside its test site: no product metal joins it
            assert box_.width() < w and box_.height() < h
            others = {q for (n, _), q in pads.items() if n != s["name"]}
            for x, y in others:
                assert not box_.contains(kdb.DPoint(x, y)) or _net(netlist, x, y).cluster_id not in nets
        combs = [s for s in structures if s["kind"] == "space_comb"]
        for c in combs:   # a comb's two halves are apart: open unless a space is bridged
            a, b = (_net(netlist, p["x_um"], p["y_um"]).cluster_id for p in c["pads"])
            assert a != b


def test_the_combs_widths_and_spaces_are_the_rules_they_monitor(summary, netlist):
    ly, l2n, layers = netlist
    pdk = load_pdk("fanout500")
    dbu = ly.dbu
    for s in summary["panel"]["test_structures"]["structures"]:
        if s["kind"] != "space_comb":
            continue
        (level,) = s["layers"]
        w, sp = pdk.value("width", level), pdk.value("space", level)
        assert (s["width_um"], s["space_um"]) == (w, sp)
        x0 = min(p["x_um"] for p in s["pads"]) + 50     # from the pads' edge (both on the left) past the last finger
        x1 = x0 + (s["fingers"] + 2) * (w + sp)
        y0 = min(p["y_um"] for p in s["pads"]) + w / 2 + 1     # above the bottom spine
        y1 = max(p["y_um"] for p in s["pads"]) - w / 2 - 1     # below the top spine
        region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(level).gds))) & kdb.Region(
            kdb.Box(round(x0 / dbu), round(y0 / dbu), round(x1 / dbu), round(y1 / dbu)))
        fingers = [p.bbox() for p in region.merged().each() if p.bbox().height() > 10 * p.bbox().width()]
        assert len(fingers) >= 2 * 10 - 2
        assert {round(f.width() * dbu, 6) for f in fingers} == {w}
        xs = sorted((f.left * dbu, f.right * dbu) for f in fingers)
        assert {round(b[0] - a[1], 6) for a, b in zip(xs, xs[1:])} == {sp}
        assert region.space_check(round(sp / dbu)).is_empty() and not region.space_check(round(sp / dbu) + 1).is_empty()


def test_the_expected_resistances_are_the_hand_calculation(summary, netlist):
    ly, l2n, layers = netlist
    pdk = load_pdk("fanout500")
    # fanout.toml: WIRE1 5 µm Cu at 3.44 mΩ/□, WIRE2 8 µm at 2.15 mΩ/□, DIEL2 5 µm thick; VIA2 30 µm across
    rho = 0.00215 * 8.0                                       # Ω·µm, plated Cu
    r_via = rho * 5.0 / (math.pi * 15.0 ** 2)                  # ρ t / A
    ts = {s["name"]: s for s in summary["panel"]["test_structures"]["structures"] if s["site"] == summary["panel"]["test_sites"][0]}
    assert ts["KELVIN_VIA2"]["expected_resistance_ohm"] == pytest.approx(r_via, rel=1e-9)
    chain = ts["CHAIN_VIA2"]
    (xa, y), (xb, _) = [(p["x_um"], p["y_um"]) for p in chain["pads"]]
    dbu = ly.dbu
    win = kdb.Region(kdb.Box(round(xa / dbu), round((y - 40) / dbu), round(xb / dbu), round((y + 40) / dbu)))
    vias = sorted(p.bbox().center().x * dbu for p in (kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("VIA2").gds))) & win).each())
    links1 = [p.bbox() for p in (kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("WIRE1").gds))) & win).merged().each()]
    n, pitch = len(vias), round(vias[1] - vias[0], 6)
    a1 = links1[0].height() * dbu
    links2 = [p.bbox() for p in (kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("WIRE2").gds))) & win).merged().each()
              if p.bbox().left * dbu > xa + 60 and p.bbox().right * dbu < xb - 60]     # not the leads to the pads
    a2 = links2[0].height() * dbu
    assert n == chain["vias"] and len(links1) == n // 2 and len(links2) == n // 2 - 1
    assert {round(b.width() * dbu - a1, 6) for b in links1} == {pitch} and {round(b.width() * dbu - a2, 6) for b in links2} == {pitch}
    leads = (vias[0] - xa) + (xb - vias[-1])
    hand = n * r_via + (n // 2) * pitch / a1 * 0.00344 + ((n // 2 - 1) * pitch + leads) / a2 * 0.00215
    assert chain["expected_resistance_ohm"] == pytest.approx(hand, rel=1e-6)
    line = ts["LINE_WIRE1"]
    (la, ly_), (lb, _) = [(p["x_um"], p["y_um"]) for p in line["pads"]]
    assert line["expected_resistance_ohm"] == pytest.approx(0.00344 * (lb - la - 100) / 15.0, rel=1e-9)



pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs


def test_the_hierarchical_drc_checks_the_adapted_units_base_once_and_each_delta_in_context(built, tmp_path):
    """The adapted units (base cell placed in each, plus its dies as placed and their bridges) are
    checked as the shared base and each delta with the base around it: clean as built, and a WIRE1
    bar planted in one adapted unit's cell is reported once, at its place on the panel, as the flat
    check of the same file reports it."""
    pdk = load_pdk("fanout500")
    stats = built.drc.stats["PANEL_panel"]          # the build's own check, as built
    assert built.drc.ok and stats["mode"] == "hierarchical" and stats["deltas"] == 2
    assert "FANOUT_panel_BASE" in stats["cells"] and "FANOUT_panel_R2C3" in stats["cells"]
    lib = gdstk.read_gds(str(built.gds))
    cells = {c.name: c for c in lib.cells}
    w1 = pdk.layer("WIRE1").gds
    bridge = next(p for p in cells["FANOUT_panel_R2C3"].polygons if (p.layer, p.datatype) == tuple(w1))
    (_, y0), (x1, y1) = bridge.bounding_box()
    ym = round((y0 + y1) / 2)
    cells["FANOUT_panel_R2C3"].add(gdstk.rectangle((x1 - 1, ym - 2.5), (x1 + 59, ym + 2.5), layer=w1[0], datatype=w1[1]))
    ox, oy = next(r.origin for r in cells["PANEL_panel"].references if r.cell.name == "FANOUT_panel_R2C3")
    path = tmp_path / "planted.gds"
    lib.write_gds(str(path))
    rules = [r.name for r in pdk.rules]
    hier = run_drc(path, pdk, rules=rules, hierarchical=True)
    flat = run_drc(path, pdk, rules=rules, hierarchical=False)
    assert hier.flat_counts() == flat.counts()
    assert {k: v for k, v in flat.counts().items() if v} == {"WIRE1.W.1": 1}
    (v,) = hier.of_rule("WIRE1.W.1")
    assert v.cell == "PANEL_panel" and hier.placements()[hier.violations.index(v)] == 1
    # the bar less its 1 µm on the bridge: 5 × 59 µm where it was planted, in panel coordinates
    assert np.allclose(v.bounds(), (ox + x1, oy + ym - 2.5, ox + x1 + 59, oy + ym + 2.5), atol=1e-6)
    (f,) = flat.of_rule("WIRE1.W.1")
    assert np.allclose(f.bounds(), v.bounds(), atol=1e-6)



def test_an_open_and_a_short_planted_in_an_adapted_unit_are_found_as_the_whole_cell_and_the_flat_check_find_them(built, tmp_path):
    """The adapted unit's conductor layers are merged from its base's, merged once (`CellLayers.base`):
    with one die pad's via taken out (an open) and a WIRE1 bar from one pad's bridge to the next (a
    short), the connectivity findings are those of the unit merged whole (messages, markers) and
    those of the flat check of the panel, at the same places."""
    pdk = load_pdk("fanout500")
    lib = gdstk.read_gds(str(built.gds))
    cells = {c.name: c for c in lib.cells}
    unit = cells["FANOUT_panel_R2C3"]
    w1 = tuple(pdk.layer("WIRE1").gds)
    via = next(r for r in unit.references if r.cell.name.startswith("FO_PADVIA"))
    cut_off = _net_at(unit, via.origin)
    unit.remove(via)                                                           # the open: a die pad without its via
    bridges = sorted((p for p in unit.polygons if (p.layer, p.datatype) == w1), key=lambda p: tuple(p.bounding_box()[0]))
    (ax, ay), (bx, by) = (np.mean(bridges[k].bounding_box(), axis=0) for k in (5, 6))
    assert ax == bx and by > ay                                                # two bridges of one die side, one above the other
    unit.add(gdstk.rectangle((ax - 2.5, ay), (ax + 2.5, by), layer=w1[0], datatype=w1[1]))   # the short
    joined = sorted({_net_at(unit, (ax, ay)), _net_at(unit, (bx, by))})
    path = tmp_path / "planted.gds"
    lib.write_gds(str(path))
    nets = [r for r in pdk.rules if r.kind == "connectivity"]
    assert {r.name for r in nets} == {"NET.OPEN", "NET.SHORT"}

    layout = Layout(path)
    base = next(p for p in layout.placements(unit.name) if p.child == "FANOUT_panel_BASE")
    delta = concat_polys([layout.own(unit.name)[0]] + [place_polys(layout.flatten(p.child).polys, p)
                                                       for p in layout.placements(unit.name) if p is not base])
    whole = check_cell(layout.flatten(unit.name), pdk, nets)
    via_base = check_cell(layout.flatten(unit.name), pdk, nets, base=(CellLayers(layout.flatten(base.child), pdk), delta))
    key = lambda v: (v.rule, v.message, v.bounds())                                            # noqa: E731
    assert sorted(map(key, via_base)) == sorted(map(key, whole))
    # the pieces from the base's (its overlaps kept, only the delta's looked for) are the whole unit's
    cl = CellLayers(layout.flatten(unit.name), pdk, base=(CellLayers(layout.flatten(base.child), pdk), delta))
    merged_onto = conductor_pieces(cl._stack_layers(), pdk.connectivity, cl.stack_pairs)
    on_whole = CellLayers(layout.flatten(unit.name), pdk).pieces
    assert merged_onto.count == on_whole.count
    assert sorted(np.bincount(merged_onto.piece).tolist()) == sorted(np.bincount(on_whole.piece).tolist())
    # and so are those of the base's merged shapes with the delta's polygons unmerged (what the check
    # uses, `CellLayers._parts_onto`), numbered alike: each terminal on the same piece
    from_base = cl.pieces
    assert len(from_base.geoms) > len(merged_onto.geoms) and from_base.count == on_whole.count
    labels = {n: cl.labels(n) for n in pdk.connectivity.label_layers}
    assert np.array_equal(place_terminals(from_base, labels).piece, place_terminals(merged_onto, labels).piece)
    assert all(shapely.equals(a.region, b.region) for a, b in zip(sorted(via_base, key=key), sorted(whole, key=key)))
    assert sorted(v.rule for v in whole) == ["NET.OPEN", "NET.OPEN", "NET.SHORT"]
    assert all(v.message.startswith(f"net {cut_off}:") for v in whole if v.rule == "NET.OPEN")
    (short,) = [v for v in whole if v.rule == "NET.SHORT"]
    assert short.message.startswith(f"nets {', '.join(joined)} on one piece of metal")

    rules = [r.name for r in nets]
    hier = run_drc(path, pdk, rules=rules, hierarchical=True)
    flat = run_drc(path, pdk, rules=rules, hierarchical=False)
    assert hier.stats["PANEL_panel"]["deltas"] == 2
    assert hier.flat_counts() == flat.counts() == {"NET.OPEN": 2, "NET.SHORT": 1}
    ox, oy = next(r.origin for r in cells["PANEL_panel"].references if r.cell.name == unit.name)
    for rule in rules:
        found = sorted(v.bounds() for v in hier.of_rule(rule))
        assert all(v.cell == unit.name for v in hier.of_rule(rule))
        assert np.allclose(np.add(found, (ox, oy, ox, oy)), sorted(f.bounds() for f in flat.of_rule(rule)), atol=1e-6)


def _net_at(unit: gdstk.Cell, xy) -> str:
    """The net of the die pad label nearest a point of a unit cell."""
    return min(unit.labels, key=lambda lab: math.dist(lab.origin, xy)).text

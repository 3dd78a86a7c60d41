"""Fan-out configs beyond the template: a meander resistor, one die placed twice, one wiring
level; bad values stopped with file:line, field and reason; the process data beside the rules."""

from __future__ import annotations

import re
from pathlib import Path

import gdstk
import pytest
import shapely
from shapely.geometry import box

from layoutgen.config import load_config
from conftest import TEMPLATES
from layoutgen.errors import ConfigError, PdkError, RoutingError
from layoutgen.families.fanout.build import build_die
from layoutgen.drc import run_drc
from layoutgen.families.fanout.rules import count_right_angles, meander_resistance, process_data
from layoutgen.pdk import load_pdk

BASE = '''
from layoutgen import BallGrid, Design, Die, Pad
from layoutgen.families.fanout import BusRing, Fanout, FanoutDie, MeanderResistor, SpiralInductor, MimCapacitor

pads = [Pad(name="A", net="SIG", x=-200, y=0), Pad(name="B", net="RIN", x=200, y=0),
        Pad(name="C", net="VDD", x=0, y=200)]
die = Die(name="D1", width=600, height=600, pads=pads)
design = Design(
    name="fo_small", pdk="fanout500",
    package=Fanout(
        size=(3000, 3000),
        levels=LEVELS,
        dies=[FanoutDie(die=die, x=0, y=0)],
        balls=BallGrid(rows=5, cols=5, pitch=500, nets={"E1": "VDD"}),
        resistors=[MeanderResistor(name="R1", nets=("RIN", "ROUT"), x=0, y=-550, legs=5, leg_length=200)],
        rings=[BusRing(net="VDD", size=(1500, 1500), width=60)],
        EXTRA
    ),
)
'''


def cfg(write_config, levels: int = 2, extra: str = "", **swap: str) -> Path:
    text = BASE.replace("LEVELS", str(levels)).replace("EXTRA", extra)
    for old, new in swap.items():
        assert old in text, old
        text = text.replace(old, new)
    return write_config(text)


def build(path: Path):
    design = load_config(path)
    return build_die(design, load_pdk(design.pdk, extra=[path.parent]))


@pytest.fixture
def one_level_pdk(tmp_path: Path) -> str:
    """A PDK beside the config: fanout500 with bonding pads allowed on WIRE1 (one wiring level)."""
    d = tmp_path / "fo1"
    d.mkdir()
    (d / "pdk.toml").write_text('name = "fo1"\nextends = "fanout500"\ndescription = "one-level fan-out"\n')
    (d / "rules.toml").write_text('[[rule]]\nname = "WIRE1.EN.PASSIV"\nkind = "enclosure"\nlayer = "WIRE1"\n'
                                  'other = "PASSIV"\nvalue = 20\ndescription = "WIRE1 bonding pad encloses PASSIV by 20"\n')
    return "fo1"


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("fanout500")


def test_meander_resistance_is_squares_times_the_sheet_resistance(write_config, pdk):
    res = build(cfg(write_config))
    r = res.extra["passives"]["R1"]
    rs = process_data(pdk).wire("WIRE1").sheet_resistance_ohm_sq
    assert r["sheet_resistance_ohm_sq"] == rs and r["corners"] == 10
    # Measured on the drawn meander: its WIRE1 polygon in the resistor cell.
    (metal,) = res.layout.cells[r["cell"]].shapes["WIRE1"]
    assert count_right_angles(metal) == r["corners"]
    squares, ohm = meander_resistance(metal, r["width_um"], r["corners"], rs)
    assert abs(ohm - r["resistance_ohm"]) / ohm < 0.01
    # 5 legs of 200 µm, 4 jogs of 30 µm, two leads: centreline / width less 0.44 per corner.
    assert squares == pytest.approx(r["centreline_um"] / 15 - 10 * 0.44, rel=1e-9)


def test_resistor_pins_are_routed_to_a_pad_and_to_a_ball(write_config):
    res = build(cfg(write_config))
    nets = res.extra["nets"]
    assert nets["RIN"]["terminals"] == ["D1.B", "R1.a"] and nets["RIN"]["balls"] == []
    assert nets["ROUT"]["terminals"][0] == "R1.b" and len(nets["ROUT"]["balls"]) == 1   # one pin only: a ball
    assert ["RIN", "ROUT"] in res.extra["joined_nets"]


def test_one_die_placed_twice_is_one_cell_placed_twice(write_config):
    path = cfg(write_config, **{
        "dies=[FanoutDie(die=die, x=0, y=0)]":
            'dies=[FanoutDie(die=die, x=-500, y=350, name="U1"), FanoutDie(die=die, x=500, y=350, rotation=180, name="U2")]',
        'resistors=[MeanderResistor(name="R1", nets=("RIN", "ROUT"), x=0, y=-550, legs=5, leg_length=200)],': "",
        'size=(1500, 1500)': 'size=(2500, 2500)', "size=(3000, 3000)": "size=(4000, 4000)",
        "rows=5, cols=5": "rows=7, cols=7", 'nets={"E1": "VDD"}': 'nets={"G1": "VDD"}'})
    res = build(path)
    top = res.layout.cells[res.layout.top]
    refs = [r for r in top.refs if r.cell == "D1"]
    assert [(r.x, r.y, r.rotation) for r in refs] == [(-500, 350, 0), (500, 350, 180)]
    cavities = [r for r in top.refs if r.cell.startswith("FO_CAVITY_")]
    assert len(cavities) == 2 and len({r.cell for r in cavities}) == 1
    assert res.counts["dies"] == 2 and res.counts["die_types"] == 1
    # The same pad names on both copies, told apart by instance; the nets are shared
    # (SIG on U1 and U2 is one die-to-die net, VDD joins the ring from both).
    assert {p[0] for p in res.pads} == {"U1.A", "U1.B", "U1.C", "U2.A", "U2.B", "U2.C"}
    assert res.extra["nets"]["SIG"]["kind"] == "die-to-die"
    # Rotated by 180°, U2's pad A (at x = -200 on the die) lands at x = 500 + 200.
    assert ("U2.A", "SIG", 700.0, 350.0) in res.pads


def test_one_wiring_level_puts_the_balls_on_wire1(write_config, one_level_pdk):
    path = cfg(write_config, levels=1, **{'pdk="fanout500"': f'pdk="{one_level_pdk}"', 'resistors=[MeanderResistor(name="R1", nets=("RIN", "ROUT"), x=0, y=-550, legs=5, leg_length=200)],': "",
                                          "rings=[BusRing(net=\"VDD\", size=(1500, 1500), width=60)],": ""})
    res = build(path)
    cell = res.layout.cells["FO_BALL_WIRE1_FO1"]
    assert "WIRE1" in cell.shapes and res.counts.get("vias_VIA2", 0) == 0
    assert all(set(v["length_by_level_um"]) <= {"WIRE1"} for v in res.extra["nets"].values())


def test_a_net_that_cannot_cross_a_ring_on_one_level_fails_by_name(write_config, one_level_pdk):
    # One level: the VDD ring on WIRE1 closes the die in; the balls inside are depopulated.
    path = cfg(write_config, levels=1,
               **{'pdk="fanout500"': f'pdk="{one_level_pdk}"', 'resistors=[MeanderResistor(name="R1", nets=("RIN", "ROUT"), x=0, y=-550, legs=5, leg_length=200)],': "",
                  'nets={"E1": "VDD"}': 'nets={"E1": "VDD"}, depopulate=["B2:D4"]',
                  'size=(1500, 1500), width=60': 'size=(1500, 1500), width=60, level=1'})
    with pytest.raises(RoutingError, match=r":\d+: net (SIG|RIN): cannot reach ") as e:
        build(path)
    assert str(path) in str(e.value)


@pytest.mark.parametrize("swap, field, reason", [
    ({"dies=[FanoutDie(die=die, x=0, y=0)]": "dies=[FanoutDie(die=die, x=0, y=0), FanoutDie(die=die, x=700, y=0, name='D2')]"},
     "FanoutDie.x", r"cavity is \d+ µm from die D1's: the carrier web needs ≥ 300 µm"),
    ({"rings=[": 'inductors=[SpiralInductor(name="L1", nets=("SIG", "X"), x=500, y=500, turns=2, width=20, spacing=20, inner_diameter=100)], rings=['},
     "BallGrid.depopulate", r"ball B4's WIRE2 pad at \(500, 500\) is 0 µm from inductor L1"),
    ({"rings=[": 'inductors=[SpiralInductor(name="L1", nets=("SIG", "X"), x=750, y=-750, turns=2, width=20, spacing=20, inner_diameter=60)], rings=['},
     "SpiralInductor.inner_diameter", r"needs an inner diameter ≥ 90"),
    ({'nets={"E1": "VDD"}': 'nets={"E1": "VDD", "A1": "NOPE"}'},
     "BallGrid.nets", r"net 'NOPE' is on no die pad, ring or passive"),
    ({"levels=2": "levels=3"}, "Fanout.levels", "PDK fanout500 has no layer WIRE3"),
    ({'x=200, y=0)': 'x=200, y=0, width=30, height=30)'}, "Pad.width", r"cannot enclose the 25\.\d+ µm VIA1 by 5 µm"),
    ({"size=(3000, 3000)": "size=(2400, 2400)"}, "BallGrid.rows", r"ball A1 at \(-1000, 1000\) comes within 200 µm"),
    ({"width=60)": "width=10)"}, "BusRing.width", "below WIRE2's minimum width 20"),
    ({"size=(3000, 3000),": "size=(3000, 3000), route_pitch=40,"}, "Fanout.route_pitch",
     r"ball A2 at \(-500, 1000\) is not on the 40 µm routing grid"),
])
def test_bad_values_name_file_line_field_and_reason(write_config, swap, field, reason):
    """Each bad value stops the build before anything is drawn, pointing at its config line."""
    path = cfg(write_config, **swap)
    with pytest.raises(ConfigError) as e:
        build(path)
    msg = str(e.value)
    assert re.match(rf"{re.escape(str(path))}:\d+: {re.escape(field)} = ", msg), msg
    assert re.search(reason, msg), msg


def test_a_die_on_the_design_is_refused(write_config):
    path = cfg(write_config, **{'    package=Fanout(': '    die=die,\n    package=Fanout('})
    with pytest.raises(ConfigError, match=r"Design.die: the fan-out family places its dies itself"):
        build(path)


def test_duplicate_instances_are_refused_at_load(write_config):
    path = cfg(write_config, **{"dies=[FanoutDie(die=die, x=0, y=0)]": "dies=[FanoutDie(die=die, x=0, y=0), FanoutDie(die=die, x=900, y=0)]"})
    with pytest.raises(ConfigError, match=r"die instance 'D1' used twice"):
        load_config(path)


def test_process_data_is_inherited_by_a_pdk_that_extends_fanout500(tmp_path: Path, pdk):
    mine = tmp_path / "myfo"
    mine.mkdir()
    (mine / "pdk.toml").write_text('name = "myfo"\nextends = "fanout500"\ndescription = "x"\n')
    other = load_pdk(str(mine))
    assert process_data(other) == process_data(pdk)
    assert process_data(pdk).between("WIRE1", "WIRE2").eps_r == 3.3
    with pytest.raises(PdkError, match="no fanout.toml"):
        process_data(load_pdk("sky400"))


def test_the_drc_finds_two_wire_shapes_too_close(pdk, tmp_path):
    rule = pdk.rule("space", "WIRE1")

    def found(gap: float) -> list:
        lib = gdstk.Library()
        top = lib.new_cell("TOP")
        layer, datatype = pdk.layer("WIRE1").gds
        top.add(gdstk.rectangle((0, 0), (10, 10), layer=layer, datatype=datatype),
                gdstk.rectangle((10 + gap, 0), (20 + gap, 10), layer=layer, datatype=datatype))
        lib.write_gds(tmp_path / "two.gds")
        return run_drc(tmp_path / "two.gds", pdk, rules=[rule.name]).violations

    assert found(15) == []
    (v,) = found(10)
    assert v.rule == "WIRE1.S.1" and "10.0000 µm < 15 µm" in v.message


def test_carrier_panel_arrays_the_unit_with_singulation_lanes_between(write_config, pdk):
    from layoutgen.wafer.panel import panel_layout

    path = cfg(write_config, extra="panel=CarrierPanel(size=(30000, 15000), frame=2000, test_units=[]), unit_marks='none',",
               **{"from layoutgen.families.fanout import ": "from layoutgen.families.fanout import CarrierPanel, "})
    design = load_config(path)
    unit = build_die(design, pdk)
    layout, info, field, _ = panel_layout(design, pdk, unit)
    # Unit 3000 + lane 100 = 3100 µm pitch; 26000 × 11000 µm inside the frame: 8 × 3 sites, less those the global
    # marks take (they do not fit the 2 mm frame: drop-in sites); each row's run of units is one array.
    assert (info["units"] + info["units_dropped_for_marks"], info["pitch_um"]) == (24, [3100.0, 3100.0])
    assert 0 < info["units_dropped_for_marks"] < 24 and info["marks"]["unit_sites"] == []
    refs = [r for r in layout.cells[layout.top].refs if r.cell == unit.layout.top]
    assert sum(r.columns * r.rows for r in refs) == info["units"] and all(r.spacing[0] in (0.0, 3100.0) for r in refs)
    assert field.bounds == (-15000, -7500, 15000, 7500)
    # a 3 mm unit cannot hold the test structures: the error names the field
    small = design.package.model_copy(update={"panel": design.package.panel.model_copy(update={"test_units": None})})
    with pytest.raises(ConfigError, match=r"CarrierPanel.test_units = None: the 3000 × 3000 µm test site cannot hold"):
        panel_layout(design.model_copy(update={"package": small}), pdk, unit)
    units = layout.flat("DIE")
    kerf = shapely.union_all(layout.flat("KERF"))
    assert len(units) == info["units"]
    # Between two neighbouring units the two half lanes make one lane of the full width.
    a, b = sorted(units, key=lambda g: (g.bounds[1], g.bounds[0]))[:2]
    gap = box(a.bounds[2], a.bounds[1], b.bounds[0], a.bounds[3])
    assert b.bounds[0] - a.bounds[2] == pytest.approx(100) and gap.difference(kerf).area < 1e-6
    assert all(g.within(box(-13000, -5500, 13000, 5500)) for g in units)      # inside the 2 mm frame


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs


def test_the_panel_template_is_the_unit_template_on_a_carrier_panel():
    """templates/fanout_panel.py takes fanout_2die.py's unit as it is (layoutgen.load) and adds only the panel and
    the two corner balls left out for the unit marks: the unit is not written twice. (The panel build itself,
    marks, adapted units and test structures: test_fanout_substrate.py.)"""
    from layoutgen.families.fanout import CarrierPanel

    unit, panel = load_config(TEMPLATES / "fanout_2die.py"), load_config(TEMPLATES / "fanout_panel.py")
    assert isinstance(panel.package.panel, CarrierPanel) and panel.package.panel.size == (100000.0, 100000.0)
    assert set(panel.package.balls.depopulate) - set(unit.package.balls.depopulate) == {"R1", "A15"}
    strip = {"panel", "balls"}
    assert panel.package.model_dump(exclude=strip) == unit.package.model_dump(exclude=strip)
    assert panel.die == unit.die and panel.pdk == unit.pdk and panel.name == "fanout_panel"

"""A config is Python that builds a validated Design; bad values name field, value and file:line."""

from __future__ import annotations

import pytest

from layoutgen.config import load_config
from layoutgen.design import BallGrid, ball_name, expand_balls
from layoutgen.errors import ConfigError
from layoutgen.pads import pads_from_csv, peripheral_pads

from conftest import TEMPLATES

GOOD = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, peripheral_pads
pads = peripheral_pads(5000, 5000, per_side=32, pitch=140)
design = Design(
    name="t",
    pdk="sky400",
    die=Die(width={width}, height=5000, pads=pads),
    package=FanInWlcsp(balls=BallGrid(rows=12, cols=12, pitch={pitch}, depopulate=["E5:H8"])),
)
"""


def test_the_template_loads():
    d = load_config(TEMPLATES / "wlcsp_fanin.py")
    assert d.name == "wlcsp_fanin" and len(d.die.pads) == 128
    assert len(d.package.balls.positions()) == 144 - 16
    nets = [p.net for p in d.die.pads]
    assert nets.count("VDD") == 16 and nets.count("VSS") == 16


def test_bad_value_names_field_value_and_line(write_config):
    cfg = write_config(GOOD.format(width=-5000, pitch=400))
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert f"{cfg}:6:" in msg and "width" in msg and "-5000" in msg and "greater than 0" in msg


def test_bad_ball_range_is_reported(write_config):
    cfg = write_config(GOOD.format(width=5000, pitch=400).replace("E5:H8", "I5:H8"))
    with pytest.raises(ConfigError, match=r"cfg.py:7: .*depopulate.*not used by JEDEC"):
        load_config(cfg)


def test_config_without_design_is_an_error(write_config):
    with pytest.raises(ConfigError, match="must set `design = Design"):
        load_config(write_config("x = 1\n"))


def test_python_error_in_config_points_at_its_line(write_config):
    with pytest.raises(ConfigError, match=r"cfg.py:2: ZeroDivisionError"):
        load_config(write_config("a = 1\nb = a / 0\n"))


def test_jedec_ball_names_skip_i_o_q_s_x_z():
    names = [ball_name(r, 0) for r in range(22)]
    assert names[:9] == ["A1", "B1", "C1", "D1", "E1", "F1", "G1", "H1", "J1"]
    assert not any(ch in n for n in names for ch in "IOQSXZ")
    assert names[20] == "AA1" and ball_name(21, 11) == "AB12"
    assert expand_balls("AA1") == [(20, 0)]
    assert len(expand_balls("E5:H8")) == 16


def test_ball_grid_positions_a1_top_left():
    g = BallGrid(rows=3, cols=4, pitch=400)
    pos = {n: (x, y) for n, x, y in g.positions()}
    assert pos["A1"] == (-600.0, 400.0) and pos["C4"] == (600.0, -400.0)


def test_peripheral_pads_are_spaced_and_inside():
    pads = peripheral_pads(5000, 5000, per_side=(10, 12, 10, 12), pitch=150, inset=70,
                           nets={"VDD": [1, 2]})
    assert len(pads) == 44
    assert pads[0].net == pads[1].net == "VDD" and pads[2].net == "P3"
    xs = sorted(p.x for p in pads if p.y < -2000)
    assert all(abs((b - a) - 150) < 1e-9 for a, b in zip(xs, xs[1:]))
    assert all(max(abs(p.x), abs(p.y)) == 2430 for p in pads)


def test_pads_from_csv_and_its_errors(tmp_path):
    csv = tmp_path / "pads.csv"
    csv.write_text("name,net,x,y,width,height\nP1,VDD,-100,-2400,60,60\nP2,IO1,100,-2400,60,60\n")
    pads = pads_from_csv(csv)
    assert [(p.name, p.net, p.x) for p in pads] == [("P1", "VDD", -100.0), ("P2", "IO1", 100.0)]
    ll = pads_from_csv(csv, origin="lower_left", die_size=(5000, 5000))
    assert ll[0].x == -2600.0
    csv.write_text("name,net,x,y\nP1,VDD,-100,-2400\nP2,IO1,abc,-2400\n")
    with pytest.raises(ConfigError, match=r"pads.csv:3: pad x = 'abc'"):
        pads_from_csv(csv)


def test_csv_pads_in_a_config_are_found_next_to_it(write_config, tmp_path):
    (tmp_path / "pads.csv").write_text("name,net,x,y\n" + "\n".join(f"P{i},N{i},{-2000 + 200 * i},-2400" for i in range(10)))
    cfg = write_config("""
        from layoutgen import BallGrid, Design, Die, FanInWlcsp, pads_from_csv
        design = Design(name="c", pdk="sky400", die=Die(width=5000, height=5000, pads=pads_from_csv("pads.csv")),
                        package=FanInWlcsp(balls=BallGrid(rows=3, cols=4, pitch=400)))
    """)
    assert len(load_config(cfg).die.pads) == 10


def test_explicit_assignment_needs_nets(write_config):
    cfg = write_config(GOOD.format(width=5000, pitch=400).replace('depopulate=["E5:H8"]', 'assign="explicit"'))
    with pytest.raises(ConfigError, match="explicit.*needs nets"):
        load_config(cfg)


def test_flat_labels_follow_rotation_and_reflection():
    from layoutgen.layout import Cell, Layout

    lay = Layout(top="T")
    lay.add(Cell("C").label("PAD", "N", 10.0, 0.0))
    top = Cell("T").place("C", 100, 0, rotation=90).place("C", 0, 0, rotation=180, x_reflection=True)
    lay.add(top)
    pts = sorted((round(lb.x, 9), round(lb.y, 9)) for lb in lay.flat_labels("PAD"))
    assert pts == [(-10.0, 0.0), (100.0, 10.0)]

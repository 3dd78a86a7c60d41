"""A bad value is blamed on itself (issue #18 cause 17): the message names the file and line
where the culprit is written, the field, the value and why, through `layoutgen build`.

Before: a scribe larger than the reticle allows blamed the reticle, one that left no room for
the marks blamed the marks, a coarse PDK grid blamed a pad ("too small") that was not, a broken
PDK value led with the config's line, and ball-map errors named `BallGrid.nets.A1` or the whole
BallGrid instead of `BallGrid.nets['A1']` at the `nets=` line.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from layoutgen.cli import main
from layoutgen.config import load_config
from layoutgen.pdk import load_pdk

CONFIG = """\
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Wafer, peripheral_pads

pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)
design = Design(
    name="small",
    pdk={pdk!r},
    die=Die(name="SMALL", width=1600, height=1600, pads=pads),
    package=FanInWlcsp(
        balls=BallGrid(
            rows=3, cols=3, pitch=400, depopulate=["B2"],
            assign={assign!r},
            nets={nets!r},
        ),
    ),
    wafer=Wafer(
        diameter=100,
        scribe={scribe},
        reticle={reticle!r},
    ),
)
"""
EIGHT = {"A1": "P1", "A2": "P2", "A3": "P3", "B1": "P4", "B3": "P5", "C1": "P6", "C2": "P7", "C3": "P8"}


def _build(tmp_path: Path, capsys, **change) -> tuple[str, str]:
    """`layoutgen build` of the config with `change`: (the error message, the config line it names)."""
    values = {"pdk": "sky400", "assign": "auto", "nets": {}, "scribe": 100, "reticle": None, **change}
    cfg = tmp_path / "cfg.py"
    cfg.write_text(CONFIG.format(**values))
    assert main(["build", str(cfg), "-o", str(tmp_path / "out"), "-q", "--no-drc"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    m = re.search(rf"{re.escape(str(cfg))}:(\d+)", err)
    return err, (cfg.read_text().splitlines()[int(m[1]) - 1].strip() if m else "")


def test_a_scribe_narrower_than_the_kerf_is_blamed_on_the_scribe(tmp_path, capsys):
    err, line = _build(tmp_path, capsys, scribe=40)
    assert "Wafer.scribe = 40.0: the scribe lane must be wider than the saw kerf that runs in it (kerf = 50 µm)" in err
    assert line == "scribe=40,"


def test_a_scribe_too_wide_for_the_reticle_is_blamed_on_the_scribe(tmp_path, capsys):
    err, _ = _build(tmp_path, capsys, scribe=20000, reticle=(20400, 25500))
    assert ("Wafer.scribe = 20000: a die site of 21600 × 21600 µm (the 1600 × 1600 µm die plus the 20000 µm scribe) "
            "is larger than the 20400 × 25500 µm reticle field") in err, err
    assert "Wafer.reticle =" not in err


def test_a_scribe_that_leaves_no_room_for_the_marks_is_blamed_on_the_scribe(tmp_path, capsys):
    err, _ = _build(tmp_path, capsys, scribe=60000)
    assert re.search(r"Wafer.scribe = 60000: the \d+ whole die site\(s\) of 61600 × 61600 µm \(the 1600 × 1600 µm "
                     r"die plus the 60000 µm scribe\) leave no room for the alignment marks", err), err


@pytest.fixture
def pdk_copy(tmp_path):
    """A copy of sky400 named 'mine' beside the config, and a way to change one line of its pdk.toml."""
    dst = tmp_path / "mine"
    shutil.copytree(load_pdk("sky400").path, dst)

    def change(old: str, new: str) -> Path:
        top = dst / "pdk.toml"
        text = top.read_text()
        assert old in text
        top.write_text(text.replace(old, new, 1).replace('name = "sky400"', 'name = "mine"'))
        return top

    return change


def test_a_grid_coarser_than_the_rules_is_blamed_on_the_grid_not_a_pad(tmp_path, capsys, pdk_copy):
    top = pdk_copy("grid_um = 0.005", "grid_um = 5")
    err, line = _build(tmp_path, capsys, pdk="mine")
    # PAD.EN.PV1 is 7.5 µm, off a 5 µm grid; before, the 60 µm pads were "too small" for their PV1 opening.
    assert re.match(rf"error: {re.escape(str(top))}: grid_um = 5.0: rule [\w.]+ \([\d.]+ µm, rules.toml\) is not a "
                    rf"whole number of grid steps", err), err
    assert "pad P" not in err
    assert line == "pdk='mine',"        # and the config line that names this PDK


def test_a_pdk_value_of_the_wrong_type_names_its_file(tmp_path, capsys, pdk_copy):
    top = pdk_copy("grid_um = 0.005", 'grid_um = "fine"')
    err, _ = _build(tmp_path, capsys, pdk="mine")
    assert err.startswith(f"error: {top}: grid_um = 'fine': Input should be a valid number"), err


@pytest.mark.parametrize("nets, expect", [
    ({"A1": 5}, "BallGrid.nets['A1'] = 5: Input should be a valid string"),
    ({**EIGHT, "D1": "P1"}, "BallGrid.nets['D1'] = 'P1': ball D1 is outside the 3 × 3 grid"),
    ({**EIGHT, "I2": "P1"}, "BallGrid.nets['I2'] = 'P1': ball row letter 'I' in 'I2' is not used by JEDEC"),
    ({k: v for k, v in EIGHT.items() if k != "A2"}, "BallGrid.nets: net 'P2' (pad P2 at (200, -730)) has no ball in "
                                                   "the explicit ball map; give it a ball, or use assign='auto'"),
])
def test_explicit_ball_map_errors_name_the_entry_at_the_nets_line(tmp_path, capsys, nets, expect):
    err, line = _build(tmp_path, capsys, assign="explicit", nets=nets)
    assert expect in err, err
    assert line.startswith("nets="), line


def test_a_ball_named_in_lower_case_is_that_ball(write_config):
    cfg = write_config(CONFIG.format(pdk="sky400", assign="explicit", nets={"a1": "P1", **{k: v for k, v in EIGHT.items()
                                                                                          if k != "A1"}},
                                     scribe=100, reticle=None))
    assert load_config(cfg).package.balls.nets["A1"] == "P1"     # as depopulate=["e5:h8"] is E5:H8


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

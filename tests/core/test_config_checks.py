"""Input the config gives that would build something wrong is refused at its line (issue #18 causes 1, 2, 6, 14).

A die named like a generated cell, overlapping pads of different nets, pads outside the die
or in the seal band, ball-map entries that name no pad's net or a depopulated ball, `nets=`
that assign="auto" would ignore, pad numbers that do not exist, a device between a net and
itself, and NaN/inf in any float field: each is a ConfigError naming file:line, field and
value, before anything is built.
"""

from __future__ import annotations

import re

import pytest

from layoutgen.config import load_config
from layoutgen.errors import ConfigError

HEAD = """\
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Pad, Plating, Posts, Wafer, peripheral_pads
"""

BASE = """\
pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)
design = Design(
    name="small", pdk="sky400",
    die=Die(name="SMALL", width=1600, height=1600, pads=pads),
    package=FanInWlcsp(balls=BallGrid(rows=3, cols=3, pitch=400)),
)
"""


def _error(write_config, body: str) -> tuple[str, list[str]]:
    cfg = write_config(HEAD + body)
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    msg = str(e.value)
    assert msg.startswith(f"{cfg}:"), msg
    line = int(re.match(rf"{re.escape(str(cfg))}:(\d+):", msg)[1])
    return msg, cfg.read_text().splitlines()[line - 1]


@pytest.mark.parametrize("name", ["PADSTACK_RECT_60x60", "BALLSTACK_ROUND_SKY400", "ALIGNMARKS_SKY400", "SMALL_PLATED",
                                  "small_WAFER100"])
def test_a_die_named_like_a_generated_cell_is_refused(write_config, name):
    msg, line = _error(write_config, BASE.replace('name="SMALL"', f'name="{name}"'))
    assert name in msg and ("reserved" in msg or "wafer cell" in msg) and "choose another die name" in msg
    assert "Die(" in line or "design = Design(" in line


def test_overlapping_pads_of_different_nets_are_refused(write_config):
    body = BASE.replace("pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)",
                        "pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)\n"
                        "pads.append(Pad(name='X', net='NX', x=-200, y=-710, width=60, height=60))")
    msg, _ = _error(write_config, body)
    assert "pads P1 (net P1) at (-200, -730) and X (net NX) at (-200, -710) overlap" in msg
    # Same net: allowed (one metal piece).
    ok = write_config(HEAD + body.replace("net='NX'", "net='P1'"), "same.py")
    assert len(load_config(ok).die.pads) == 9


def test_round_pads_that_only_share_a_bounding_box_corner_are_fine(write_config):
    body = BASE.replace("pads = peripheral_pads(1600, 1600, per_side=2, pitch=400, inset=70, size=60)",
                        "pads = [Pad(name='A', net='A', x=0, y=0, shape='round'), "
                        "Pad(name='B', net='B', x=55, y=55, shape='round')]")
    assert len(load_config(write_config(HEAD + body)).die.pads) == 2


def test_pads_in_the_seal_band_are_refused(write_config):
    msg, _ = _error(write_config, BASE.replace('name="SMALL", width=1600, height=1600, pads=pads',
                                               'name="SMALL", width=1600, height=1600, pads=pads, seal_width=60'))
    assert "pad P1 at (-200, -730), 60 × 60 µm, reaches into the 60 µm seal ring band" in msg


def test_pads_in_the_pdk_seal_band_are_refused_at_build(write_config):
    from layoutgen.families import builder
    from layoutgen.pipeline import resolve_pdk

    cfg = write_config(HEAD + BASE.replace("inset=70", "inset=40"))    # sky400 seal band: 25 µm
    design = load_config(cfg)
    with pytest.raises(ConfigError, match=rf"{re.escape(str(cfg))}:\d+: Die.pads: pad P1 .* reaches into the 25 µm seal"):
        builder(design.package.family)(design, resolve_pdk(design))


def test_pads_outside_the_die_are_refused(write_config):
    msg, _ = _error(write_config, BASE.replace("inset=70", "inset=10"))
    assert "lies outside the 1600.0 × 1600.0 die" in msg


BALLS = 'package=FanInWlcsp(balls=BallGrid(rows=3, cols=3, pitch=400)),'


@pytest.mark.parametrize("balls, expect", [
    ('BallGrid(rows=3, cols=3, pitch=400, assign="explicit",\n        nets={"A1": "NOPE"})',
     r"BallGrid.nets\['A1'\] = 'NOPE': no pad of die SMALL has net 'NOPE'"),
    ('BallGrid(rows=3, cols=3, pitch=400, depopulate=["A1"], assign="explicit",\n        nets={"A1": "P1"})',
     r"BallGrid.nets\['A1'\] = 'P1': ball A1 is depopulated"),
    ('BallGrid(rows=3, cols=3, pitch=400, assign="explicit",\n        nets={"D1": "P1"})',
     r"BallGrid.nets\['D1'\] = 'P1': ball D1 is outside the 3 × 3 grid"),
])
def test_ball_map_entries_that_would_be_ignored_are_refused(write_config, balls, expect):
    msg, line = _error(write_config, BASE.replace(BALLS, f"package=FanInWlcsp(balls={balls}),"))
    assert re.search(expect, msg), msg
    assert "nets=" in line, line


def test_peripheral_pad_numbers_must_exist(write_config):
    msg, line = _error(write_config, BASE.replace("size=60)", 'size=60, nets={"VDD": [999]})'))
    assert "nets['VDD'] names pad number 999, but the pads are numbered 1 to 8" in msg and "peripheral_pads" in line


def test_a_capacitor_between_a_net_and_itself_is_refused():
    from pydantic import ValidationError

    from layoutgen.families.fanout.model import MimCapacitor

    with pytest.raises(ValidationError, match="both pins on net 'VDD'"):
        MimCapacitor(name="C1", nets=("VDD", "VDD"), x=0, y=0, width=100, height=100)


@pytest.mark.parametrize("change, field", [
    ("size=60)", "size=float('nan'))"),
    ('BallGrid(rows=3, cols=3, pitch=400)', "BallGrid(rows=3, cols=3, pitch=400, offset=(float('inf'), 0))"),
    ('BallGrid(rows=3, cols=3, pitch=400)),', "BallGrid(rows=3, cols=3, pitch=400), posts=Posts(diameter=25, height=250, modulus_gpa=float('inf'))),"),
    ('BallGrid(rows=3, cols=3, pitch=400)),', "BallGrid(rows=3, cols=3, pitch=400)),\n    wafer=Wafer(diameter=100, scribe=float('nan')),"),
    ('BallGrid(rows=3, cols=3, pitch=400)),', "BallGrid(rows=3, cols=3, pitch=400)),\n    wafer=Wafer(diameter=100, reticle=(float('inf'), 20000)),"),
    ('BallGrid(rows=3, cols=3, pitch=400)),', "BallGrid(rows=3, cols=3, pitch=400)),\n    wafer=Wafer(diameter=100, offset=(float('nan'), 0)),"),
])
def test_nan_and_inf_are_refused_in_every_float_field(write_config, change, field):
    msg, _ = _error(write_config, BASE.replace(change, field))
    assert "finite number" in msg, msg


@pytest.mark.parametrize("shape", ["round", "octagon"])
def test_bump_openings_pass_their_own_size_rule(shape):
    """bump="octagon" drew 261 µm across flats, 282.5 µm as BUMP.SIZE measures it (issue #18 cause 13)."""
    import shapely

    from layoutgen.cells.bump import bump_opening
    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sky400")
    rule = pdk.rule("size", "BUMP")
    opening = bump_opening(pdk, shape)
    assert len(opening.exterior.coords) - 1 == (8 if shape == "octagon" else pdk.circle_vertices)
    assert abs(2 * shapely.minimum_bounding_radius(opening) - rule.value) <= rule.tolerance


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

"""Backside-groove family: cells keep their rules, the family checks find what is wrong, bad configs are refused with file:line.

The checks of `backside_wlcsp_rules` are tried on small hand-made layouts with a known
number of faults (and on clean ones at exactly the rule value); the builder's refusals name
the config line, the value and the rule.
"""

from __future__ import annotations

import math

import shapely
import pytest
from shapely import affinity
from shapely.geometry import Polygon, box

from layoutgen.families.backside_wlcsp.cells.ball import ball_pad, ball_stack_cell, smask_opening
from layoutgen.families.backside_wlcsp.cells.groove import groove1_cell, groove1_extent, groove2_cell, groove2_extent
from layoutgen.families.backside_wlcsp.cells.lead import lead_cell
from layoutgen.cells.shapes import width_across_flats
from layoutgen.config import load_config
from layoutgen.errors import ConfigError, PdkError
from layoutgen.families.backside_wlcsp import rules as R
from layoutgen.families.backside_wlcsp.build import build_die, pad_rows
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES

PDK = load_pdk("backside400")
TEMPLATE = (TEMPLATES / "backside_wlcsp.py").read_text()
ROWS = R.family_rule(PDK, "groove_over_row")
THROUGH = R.family_rule(PDK, "cut_through_pads")
CONTACT = R.family_rule(PDK, "cut_contact")
ANGLE = R.family_rule(PDK, "wall_angle")
WALL = R.family_rule(PDK, "wall_crossing")
CLEAR = PDK.rule("enclosure", "GROOVE1", "PAD")
CUT_EN = PDK.rule("enclosure", "GROOVE1", "GROOVE2")
WIDTH = PDK.rule("width", "BSWIRE")
ENC = PDK.rule("enclosure", "BSWIRE", "SMASK")


def on_grid(g, grid=PDK.grid_um) -> bool:
    q = shapely.get_coordinates(g) / grid
    return bool(abs(q - q.round()).max() < 1e-6)


# A row of three 60 µm pads at 200 µm pitch on y = 0 in a vertical-walled groove (run 0) at exactly
# 20 µm clearance across; one 10 µm cut through the three pads, 10 µm past the end ones, 30 µm from
# the groove's ends (GROOVE1.EN.GROOVE2 is 20); each lead lines its pad's stretch of the cut 5 µm
# beyond both cut walls and climbs the wall at y = 50.
PADS = [box(x - 30, -30, x + 30, 30) for x in (0, 200, 400)]
GROOVE = box(-60, -50, 460, 50)
CUT = box(-40, -5, 440, 5)
LANDINGS = [box(x - 30, -10, x + 30, 10) for x in (0, 200, 400)]
LEADS = [box(x - 30, -10, x + 30, 10).union(box(x - 7.5, 0, x + 7.5, 85)) for x in (0, 200, 400)]
BALLS = [box(x - 10, 200, x + 10, 260) for x in (0, 200, 400)]                # stand-ins for ball pads


def wiring() -> list[Polygon]:
    return [shapely.union_all([l, box(x - 7.5, 85, x + 7.5, 230), b]) for x, l, b in zip((0, 200, 400), LEADS, BALLS)]


# --- the family rules in the PDK ----------------------------------------------------------------

def test_family_rules_come_from_the_pdk_and_follow_extends(tmp_path):
    assert {r.name: r.kind for r in R.family_rules(PDK)} == {
        "GROOVE1.ROW": "groove_over_row", "GROOVE1.WALL": "wall_angle", "GROOVE2.ROW": "cut_through_pads",
        "BSWIRE.CUT": "cut_contact", "BSWIRE.GROOVE1.X": "wall_crossing"}
    assert WALL.value == 20
    own = tmp_path / "mybs"
    own.mkdir()
    (own / "pdk.toml").write_text('name = "mybs"\nextends = "backside400"\n')
    (own / "rules.toml").write_text(
        '[[rule]]\nname = "BSWIRE.GROOVE1.X"\nkind = "wall_crossing"\nlayer = "BSWIRE"\nother = "GROOVE1"\n'
        'value = 35\ndescription = "wider wall clearance"\n')
    mine = load_pdk(str(own))
    assert R.family_rule(mine, "wall_crossing").value == 35
    assert R.family_rule(mine, "groove_over_row").name == "GROOVE1.ROW"        # inherited
    (own / "rules.toml").write_text('[[rule]]\nname = "X"\nkind = "nonsense"\nlayer = "A"\nother = "B"\ndescription = ""\n')
    with pytest.raises(PdkError, match="rule 'X': unknown kind 'nonsense'"):
        load_pdk(str(own))


# --- cells ------------------------------------------------------------------------------------

def test_groove_cells_widen_the_opening_for_the_sloped_wall():
    # vertical walls: the bottom is the opening; pads ± 20 µm across, the cut's 10 + 20 µm at the ends
    start, length, half = groove1_extent([(-30, 30), (170, 230)], 30, 5, 0.0, PDK)
    assert (start, length, half) == (-60, 320, 50)
    g1 = groove1_cell(length, half)
    assert g1.name == "BS_GROOVE1_320x100" and g1.shapes["GROOVE1"][0].bounds == (0, -50, 320, 50)
    # the process's 75° wall through 100 µm of silicon: 26.795 µm more on every side, snapped outward
    run = R.wall_run(PDK)
    assert run == pytest.approx(100 / math.tan(math.radians(75)))
    start, length, half = groove1_extent([(-30, 30), (170, 230)], 30, 5, run, PDK)
    assert (start, length, half) == (-86.795, 373.59, 76.795)
    assert groove1_extent([(0, 10)], 5, 5, 0.0, PDK)[1] >= PDK.value("width", "GROOVE1")   # never below the minimum width
    assert groove2_extent([(-30, 30), (170, 230)], PDK) == (-40, 280)                     # through both pads, 10 µm past
    cut = groove2_cell(280, PDK).shapes["GROOVE2"][0]
    assert cut.bounds == (0, -5, 280, 5) and on_grid(cut)


def _pdk_with_process(tmp_path, **process) -> "object":
    own = tmp_path / "proc"
    own.mkdir(exist_ok=True)
    table = "\n".join(f"{k} = {v}" for k, v in {"substrate_thickness_um": 100, "groove_depth_um": 100,
                                                 "wall_angle_deg": 75, **process}.items())
    (own / "pdk.toml").write_text(f'name = "proc"\nextends = "backside400"\n[process]\n{table}\n')
    return load_pdk(str(own))


def test_the_groove_profile_is_the_pdks_and_a_bad_one_is_refused(tmp_path, write_config):
    design = load_config(write_config(TEMPLATE))
    steep = _pdk_with_process(tmp_path, wall_angle_deg=85)
    with pytest.raises(PdkError, match=r"wall_angle_deg = 85: .*GROOVE1.WALL allows walls of ≤ 80°"):
        build_die(design, steep)
    assert R.wall_angles([GROOVE], wiring(), ANGLE, 85) and R.wall_angles([GROOVE], wiring(), ANGLE, 75) == []
    shallow = _pdk_with_process(tmp_path, groove_depth_um=90)
    with pytest.raises(PdkError, match="leave 10 µm of silicon over the pads"):
        build_die(design, shallow)
    thick = _pdk_with_process(tmp_path, substrate_thickness_um=120, groove_depth_um=120)
    die = build_die(design, thick)                                                      # a wider opening for the longer wall
    g = shapely.union_all(die.layout.flat("GROOVE1"))
    assert R.wall_run(thick) == pytest.approx(120 / math.tan(math.radians(75)))
    assert die.extra["backside"]["rows"][0]["groove1_um"][1] == pytest.approx(100 + 2 * R.wall_run(thick), abs=0.01)
    assert R.groove1_over_rows(die.layout.flat("GROOVE1"), die.layout.flat("PAD"), ROWS, CLEAR, R.wall_run(thick)) == []
    assert g.area > 0


@pytest.mark.parametrize("shape", ["rect", "octagon", "round"])
def test_lead_cell_lines_the_pads_stretch_of_the_cut_and_runs_up_the_wall(shape):
    cell = lead_cell(60, 60, shape, 77.5, 15, PDK)
    pad, wire = cell.shapes["PAD"][0], cell.shapes["BSWIRE"][0]
    assert on_grid(wire) and on_grid(pad)
    landing = wire.intersection(box(-100, -20, 100, 7.4))
    assert landing.bounds == pytest.approx((pad.bounds[0], -10, pad.bounds[2], 7.4))  # the pad's length, cut ± 5 µm
    assert wire.bounds[3] == pytest.approx(77.5 + 7.5)                             # ends in a 15 µm square at 77.5
    above = wire.intersection(box(-100, 40, 100, 200))
    assert above.bounds[0] == -7.5 and above.bounds[2] == 7.5 and above.area == pytest.approx(15 * 45)


@pytest.mark.parametrize("shape", ["round", "octagon"])
def test_ball_stack_keeps_its_rules(shape):
    cell = ball_stack_cell(shape, PDK)
    pad, opening, ball = cell.shapes["BSWIRE"][0], cell.shapes["SMASK"][0], cell.shapes["BUMP"][0]
    assert pad.equals(ball_pad(PDK, shape)) and opening.equals(smask_opening(PDK, shape))
    assert width_across_flats(opening) >= PDK.value("width", "SMASK")
    assert pad.contains(opening) and pad.exterior.distance(opening) >= ENC.value - 1e-9
    # measured as BUMP.SIZE measures it: the smallest circle around the opening (an octagon lies inside it)
    assert abs(2 * shapely.minimum_bounding_radius(ball) - PDK.value("size", "BUMP")) <= PDK.rule("size", "BUMP").tolerance
    assert all(on_grid(g) for g in (pad, opening, ball))


# --- GROOVE1.ROW ------------------------------------------------------------------------------

def test_groove_over_row_clean_at_exactly_the_clearance():
    assert R.groove1_over_rows([GROOVE], PADS, ROWS, CLEAR) == []
    # the same bottom under a sloped wall: the drawn opening is wider by the run, the clearance measured below
    assert R.groove1_over_rows([GROOVE.buffer(26.795, join_style="mitre")], PADS, ROWS, CLEAR, 26.795) == []


def test_groove_over_row_finds_each_fault():
    tight = box(-45, -50, 460, 50)                                                  # 15 µm at the left pad
    assert [m.split(":")[0] for m, _ in R.groove1_over_rows([tight], PADS, ROWS, CLEAR)] == ["GROOVE1.EN.PAD"]
    # drawn as if the wall were vertical while it slopes: the bottom is 26.795 µm narrower each side
    assert len(R.groove1_over_rows([GROOVE], PADS, ROWS, CLEAR, 26.795)) == 3
    two_rows = PADS + [box(570, 100, 630, 160)]
    big = box(-50, -50, 650, 180)
    found = R.groove1_over_rows([big], two_rows, ROWS, CLEAR)
    assert len(found) == 1 and "2 rows" in found[0][0]
    found = R.groove1_over_rows([GROOVE, box(1000, 0, 1100, 100)], PADS + [box(2000, 0, 2060, 60)], ROWS, CLEAR)
    assert sorted(m.split(": ", 1)[1].split(" ")[0] for m, _ in found) == ["first-groove", "pad"]


# --- GROOVE2.ROW ------------------------------------------------------------------------------

def test_one_cut_through_the_row_is_clean():
    assert R.groove2_through_pads([CUT], PADS, [GROOVE], THROUGH, CUT_EN) == []


@pytest.mark.parametrize("cuts,why", [
    ([box(40, -5, 160, 5), box(240, -5, 360, 5)], "runs through no pad"),           # the old scheme: between the pads
    ([box(-35, -5, 440, 5)], "runs 5.000 µm past its end pad"),                   # stops 5 µm past the first pad
    ([box(-40, -5, 280, 5)], "not cut by the second groove"),                     # misses the last pad
    ([box(-40, -5, 20, 5), box(40, -5, 440, 5)], "does not run across pad"),      # stops inside the first pad
    ([box(-40, 25, 440, 35)], "does not run across pad"),                         # off the row line, nicks the pads' edge
    ([box(-55, -5, 440, 5)], "GROOVE1.EN.GROOVE2"),                               # 5 µm from the groove's end
])
def test_cuts_out_of_place_are_found(cuts, why):
    found = R.groove2_through_pads(cuts, PADS, [GROOVE], THROUGH, CUT_EN)
    assert found and any(why in m for m, _ in found), found


# --- BSWIRE.CUT -------------------------------------------------------------------------------

def test_each_lead_on_its_own_stretch_is_clean():
    assert R.cut_contacts(wiring(), [CUT], PADS, CONTACT) == []


@pytest.mark.parametrize("change,why", [
    (lambda w: [w[0], w[1], box(392.5, 20, 407.5, 230).union(BALLS[2])], "no lead lines its stretch"),     # stops short: open
    (lambda w: [w[0].union(box(0, -10, 200, 10)), w[2]], "lines the stretches of 2 pads"),               # along the cut: short
    (lambda w: [w[0].union(box(20, -10, 60, 10)), w[1], w[2]], "off its pad's stretch"),                 # 30 µm past its pad
    (lambda w: [w[0].difference(box(-40, -20, 40, -7)), w[1], w[2]], "5 µm beyond the cut's sides"),     # lines one wall only
])
def test_lead_faults_on_the_cut_are_found(change, why):
    found = R.cut_contacts(change(wiring()), [CUT], PADS, CONTACT)
    assert found and any(why in m for m, _ in found), found


def test_one_piece_on_two_pads_stretches_is_a_short_unless_they_are_one_net():
    """Pads 1 and 2 joined by one piece on the back (over the wall, off the cut): a short between two product nets or
    unlabelled pads; one net (both pads labelled so, or unlabelled pads and the piece labelled: a daisy chain's link)
    is what was drawn."""
    w = wiring()
    link = shapely.union_all([w[0], w[1], box(0, 200, 200, 215)])     # the two leads joined at their ball pads' level
    joined = [link, w[2]]
    short = "lines the stretches of 2 pads"
    for nets, labels in ((None, []), (["VDD", "VSS", "IO"], []), (["VDD", "VSS", "IO"], [("TS_CHAIN", 100, 207)]),
                         (None, [("TS_CHAIN", 100, 207), ("OTHER", 0, 150)])):
        found = R.cut_contacts(joined, [CUT], PADS, CONTACT, nets, labels)
        assert any(short in m for m, _ in found), (nets, labels)
    for nets, labels in ((["VDD", "VDD", "IO"], []), (None, [("TS_CHAIN", 100, 207)]), ([None, "TS_CHAIN", None],
                                                                                          [("TS_CHAIN", 100, 207)])):
        assert R.cut_contacts(joined, [CUT], PADS, CONTACT, nets, labels) == [], (nets, labels)
    assert R.pad_labels(PADS, [("VDD", 200, 0), ("VSS", 0, 5), ("X", 1000, 0)]) == ["VSS", "VDD", None]


# --- BSWIRE.GROOVE1.X -------------------------------------------------------------------------

def test_leads_crossing_square_are_clean():
    assert R.groove_wall_crossings(wiring(), [GROOVE], WALL, WIDTH) == []


def test_wall_faults_are_found():
    along_edge = box(230, 60, 350, 75)                                              # 10 µm above the groove edge
    found = R.groove_wall_crossings(wiring() + [along_edge], [GROOVE], WALL, WIDTH)
    assert len(found) == 1 and "within 20 µm" in found[0][0]
    slanted = shapely.Polygon([(95, 40), (110, 40), (140, 90), (125, 90)])
    found = R.groove_wall_crossings([slanted], [GROOVE], WALL, WIDTH)
    assert len(found) == 1 and "BSWIRE.GROOVE1.X" in found[0][0]
    thin = box(95, 40, 105, 90)
    found = R.groove_wall_crossings([thin], [GROOVE], WALL, WIDTH)
    assert len(found) == 1 and found[0][0].startswith("BSWIRE.W.1")


# --- nets and solder mask ---------------------------------------------------------------------

def _nets(wires, balls=None):
    pads = list(zip(["A", "B", "C"], PADS))
    balls = balls if balls is not None else [("A", 0, 230), ("B", 200, 230), ("C", 400, 230)]
    return R.bswire_nets(wires, pads, balls, [GROOVE])


def test_nets_clean_and_spare_ball_allowed():
    spare = box(590, 200, 610, 260)
    assert _nets(wiring() + [spare], [("A", 0, 230), ("B", 200, 230), ("C", 400, 230), (None, 600, 230)]) == []


def test_net_faults_are_found():
    w = wiring()
    short = _nets(w + [box(0, 150, 200, 165)])
    assert len(short) == 1 and "nets A, B touch" in short[0][0]
    cut_off = [w[0], w[1], LEADS[2], BALLS[2]]
    found = sorted(m for m, _ in _nets(cut_off))
    assert len(found) == 2 and "reaches its pad but no ball pad" in found[1] and "reaches no pad" in found[0]
    no_pad = [w[0], w[1], box(392.5, 60, 407.5, 230).union(BALLS[2])]                # stops above the pad
    found = [m for m, _ in _nets(no_pad)]
    assert any("net C: pad" in m and "no backside wiring inside its groove" in m for m in found)


def test_smask_openings_inside_ball_pads():
    pad = ball_pad(PDK, "round")
    opening = smask_opening(PDK, "round")
    assert R.smask_within_ball_pads([opening], [pad], ENC) == []
    shifted = affinity.translate(opening, 5, 0)
    found = R.smask_within_ball_pads([shifted], [pad], ENC)
    assert len(found) == 1 and "enclosed by 5.0" in found[0][0]
    found = R.smask_within_ball_pads([affinity.translate(opening, 500, 0)], [pad], ENC)
    assert len(found) == 1 and "not inside a ball pad" in found[0][0]


# --- configs the builder refuses --------------------------------------------------------------

def _die(write_config, text: str):
    design = load_config(write_config(text))
    return design, build_die(design, PDK)


@pytest.mark.parametrize("old,new,message", [
    ("inset=130", "inset=90", "GROOVE1.SEAL.S"),
    ("ball=\"round\",", "ball=\"round\", lead_width=80,", "lead is wider than pad P1"),
    ("ball=\"round\",", "ball=\"round\", lead_width=10,", "BSWIRE.W.1"),
    ("rows=8, cols=8", "rows=10, cols=10", "ball A3 at (-1000, 1800)"),
    ("size=60", "size=8", "would cut it away instead of through it"),
])
def test_bad_configs_name_line_value_and_rule(write_config, old, new, message):
    assert old in TEMPLATE
    with pytest.raises(ConfigError) as e:
        _die(write_config, TEMPLATE.replace(old, new))
    assert message in str(e.value) and "cfg.py:" in str(e.value)


def test_corner_pads_join_the_longer_row_or_are_refused(write_config):
    base = TEMPLATE.replace("pads = peripheral_pads(", "pads = [] or peripheral_pads(")
    design = load_config(write_config(base))
    rows = pad_rows(design, PDK)
    assert [len(r.pads) for r in rows] == [12, 12, 12, 12]
    # a pad at (−1870, −1870) is as near the bottom as the left side; the bottom line holds more pads
    corner = base.replace("per_side=12", "per_side=(12, 12, 12, 10)").replace("design = Design(", "from layoutgen import Pad\n"
                          "pads = pads + [Pad(name='PC', net='PC', x=-1870, y=-1870, width=60, height=60)]\n"
                          "design = Design(")
    rows = pad_rows(load_config(write_config(corner, "corner.py")), PDK)
    assert rows[0].side == "S" and [p.name for p in rows[0].pads][0] == "PC" and len(rows[0].pads) == 13
    lone = TEMPLATE.replace("pads = peripheral_pads(", "from layoutgen import Pad\npads = [Pad(name='PC', net='PC', x=-1870, y=-1870, width=60, height=60)] or peripheral_pads(")
    with pytest.raises(ConfigError, match="as near to the S as to the W"):
        pad_rows(load_config(write_config(lone, "lone.py")), PDK)


def test_round_pads_and_octagon_balls_build_clean(write_config):
    text = TEMPLATE.replace("design = Design(", "pads = [p.model_copy(update={'shape': 'round'}) for p in pads]\ndesign = Design(")
    design, die = _die(write_config, text.replace('ball="round"', 'ball="octagon"'))
    lay = die.layout
    assert any(n.startswith("BS_PADLEAD_ROUND_60x60_") for n in lay.cells) and "BS_BALLSTACK_OCTAGON_BACKSIDE400" in lay.cells
    pads = lay.flat("PAD")
    labels = {(lb.x, lb.y): lb.text for lb in lay.flat_labels("PAD")}
    pad_nets = [(labels[(round(p.centroid.x, 3), round(p.centroid.y, 3))], p) for p in pads]
    balls = [(die.ball_nets.get(n), x, y) for n, x, y in die.balls]
    layers = {k: lay.flat(k) for k in ("GROOVE1", "GROOVE2", "BSWIRE", "SMASK")}
    found = R.check_all(layers, pad_nets, balls, PDK)
    assert all(v == [] for v in found.values()), {k: v[:2] for k, v in found.items() if v}
    assert all(on_grid(g) for g in lay.flat("BSWIRE"))

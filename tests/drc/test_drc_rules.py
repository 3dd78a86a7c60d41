"""The DRC finds exactly the violations drawn into small layouts, and nothing at the rule value."""

from __future__ import annotations


import gdstk
import pytest

from layoutgen.drc import run_drc
from layoutgen.errors import DrcError
from layoutgen.pdk import load_pdk
from layoutgen.rulekinds import RULE_KINDS

from drc_corpus import CASES, Gds, wlcsp_die, write_test_pdk


@pytest.fixture(scope="session")
def test_pdk(tmp_path_factory):
    """sky400 plus area, hole_area and overlap rules."""
    return load_pdk(str(write_test_pdk(tmp_path_factory.mktemp("pdks"))))


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_case_finds_exactly_its_violations(case, tmp_path, test_pdk):
    path = tmp_path / f"{case}.gds"
    expected = CASES[case](path)
    result = run_drc(path, test_pdk, rules=list(expected))
    assert result.counts() == expected
    assert all(v.cell == "TOP" for v in result.violations)


def test_corpus_covers_every_geometric_rule_kind(tmp_path, test_pdk):
    by_name = {r.name: r.kind for r in test_pdk.rules}
    covered = {by_name[rule] for case in CASES.values() for rule in case(tmp_path / "x.gds")}
    assert covered | {"connectivity"} == {k for k, v in RULE_KINDS.items() if v.family is None}


def test_a_clean_die_passes_the_whole_deck(tmp_path, test_pdk):
    result = run_drc(wlcsp_die(tmp_path / "die.gds"), test_pdk)
    assert result.ok and result.violations == []
    assert result.cells == ["DIE_TOP"]


@pytest.mark.parametrize("fault, rule, count", [
    ("open", "NET.OPEN", 2),     # the pad's piece lacks a ball, the ball's piece lacks a pad
    ("short", "NET.SHORT", 1),
    ("narrow", "RDL.W.1", 1),
    ("close", "RDL.S.1", 1),
])
def test_each_injected_fault_is_found_and_nothing_else(fault, rule, count, tmp_path):
    result = run_drc(wlcsp_die(tmp_path / "die.gds", (fault,)), load_pdk("sky400"))
    assert {k: v for k, v in result.counts().items() if v} == {rule: count}


def test_a_shared_net_may_reach_its_balls_through_separate_pieces(tmp_path):
    """VDD has two pads and two balls, each pad wired to its own ball: not an open."""
    result = run_drc(wlcsp_die(tmp_path / "die.gds"), load_pdk("sky400"), rules=["NET.OPEN", "NET.SHORT"])
    assert result.counts() == {"NET.OPEN": 0, "NET.SHORT": 0}


def _mini_net(g: Gds, net: str, x: float, ball: bool = True, pad: bool = True) -> None:
    if pad:
        g.rect("PAD", x, 0, x + 80, 80).rect("PV1", x + 15, 15, x + 65, 65).rect("RDL", x, 0, x + 80, 80)
        g.label("PAD", net, x + 40, 40)
    g.rect("RDL", x + 30, 40, x + 50, 400)
    if ball:
        g.circle("RDL", x + 40, 400, 280).circle("PV2", x + 40, 400, 200).circle("UBM", x + 40, 400, 240)
        g.circle("BUMP", x + 40, 400, 261).label("BUMP", net, x + 40, 400)


def test_opens_are_pieces_missing_a_pad_or_a_ball_and_labels_on_no_metal(tmp_path):
    g = Gds()
    _mini_net(g, "A", 0)                          # fine
    _mini_net(g, "B", 1000, ball=False)           # pads of B joined to each other but to no ball
    g.rect("RDL", 1040, 60, 2040, 80)
    _mini_net(g, "B", 2000, ball=False)
    g.label("PAD", "C", 5000, 5000)               # label on no pad
    g.label("TEXT", "A1", 40, 400)                # ball name: ignored
    result = run_drc(g.write(tmp_path / "nets.gds"), load_pdk("sky400"), rules=["NET.OPEN", "NET.SHORT"])
    assert result.counts() == {"NET.OPEN": 2, "NET.SHORT": 0}
    messages = sorted(v.message for v in result.violations)
    assert "net B" in messages[0] and "no BUMP" in messages[0]
    assert "net C" in messages[1] and "on no PAD shape" in messages[1]


def test_a_via_joins_only_where_it_overlaps_both_conductors(tmp_path):
    g = Gds()
    _mini_net(g, "A", 0)
    g.rect("PAD", 1000, 0, 1080, 80).label("PAD", "D", 1040, 40)   # PV1 missing: pad not joined
    g.rect("PV1", 2000, 15, 2050, 65)
    g.rect("RDL", 1030, 40, 1050, 400).circle("RDL", 1040, 400, 280).circle("PV2", 1040, 400, 200)
    g.circle("UBM", 1040, 400, 240).circle("BUMP", 1040, 400, 261).label("BUMP", "D", 1040, 400)
    g.rect("RDL", 1000, 0, 1080, 80)
    result = run_drc(g.write(tmp_path / "via.gds"), load_pdk("sky400"), rules=["NET.OPEN"])
    assert result.counts() == {"NET.OPEN": 2}


def test_repeated_cells_are_checked_through_references(tmp_path):
    """An array of a cell with one narrow line, mirrored and rotated placements: one violation
    per placement, each at the placed position."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    unit = lib.new_cell("UNIT")
    unit.add(gdstk.rectangle((0, 0), (100, 8), layer=20))            # 8 wide: violation
    unit.add(gdstk.rectangle((0, 50), (100, 60), layer=20))          # at value
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(unit, (0, 0), columns=3, rows=2, spacing=(200, 200)))
    top.add(gdstk.Reference(unit, (1000, 0), rotation=1.5707963267948966))
    top.add(gdstk.Reference(unit, (2000, 0), x_reflection=True))
    lib.write_gds(str(tmp_path / "arr.gds"))
    result = run_drc(tmp_path / "arr.gds", load_pdk("sky400"), rules=["RDL.W.1"])
    assert result.counts() == {"RDL.W.1": 8}
    boxes = sorted(tuple(round(v, 3) for v in v.bounds()) for v in result.violations)
    assert (0, 0, 100, 8) in boxes and (400, 200, 500, 208) in boxes
    assert (992, 0, 1000, 100) in boxes and (2000, -8, 2100, 0) in boxes


def test_paths_are_checked_as_polygons(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    cell.add(gdstk.FlexPath([(0, 0), (200, 0)], 8, layer=20))
    cell.add(gdstk.FlexPath([(0, 100), (200, 100), (200, 300)], 10, layer=20))
    lib.write_gds(str(tmp_path / "path.gds"))
    assert run_drc(tmp_path / "path.gds", load_pdk("sky400"), rules=["RDL.W.1"]).counts() == {"RDL.W.1": 1}


def test_every_top_cell_is_checked_unless_one_is_named(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    for name in ("A", "B"):
        lib.new_cell(name).add(gdstk.rectangle((0, 0), (100, 8), layer=20))
    lib.write_gds(str(tmp_path / "two.gds"))
    pdk = load_pdk("sky400")
    both = run_drc(tmp_path / "two.gds", pdk, rules=["RDL.W.1"])
    assert sorted(v.cell for v in both.violations) == ["A", "B"]
    assert [v.cell for v in run_drc(tmp_path / "two.gds", pdk, top="B", rules=["RDL.W.1"]).violations] == ["B"]


def test_bad_input_raises_drc_errors_naming_what(tmp_path):
    pdk = load_pdk("sky400")
    (tmp_path / "junk.gds").write_bytes(b"not a gds file at all")
    with pytest.raises(DrcError, match="junk.gds"):
        run_drc(tmp_path / "junk.gds", pdk)
    with pytest.raises(DrcError, match="no such file"):
        run_drc(tmp_path / "missing.gds", pdk)
    die = wlcsp_die(tmp_path / "die.gds")
    with pytest.raises(DrcError, match="no cell 'NOPE'.*DIE_TOP"):
        run_drc(die, pdk, top="NOPE")
    with pytest.raises(DrcError, match="no rule XX"):
        run_drc(die, pdk, rules=["XX"])
    with pytest.raises(DrcError, match="not one string"):
        run_drc(die, pdk, rules="RDL.W.1")
    with pytest.raises(DrcError, match="is a Rule, not a rule name.*RDL.W.1"):
        run_drc(die, pdk, rules=[pdk.rules[0]])


def test_the_whole_deck_runs_and_names_what_it_could_not_check(tmp_path, test_pdk):
    """Every rule of the deck is run; the rules on layers a fan-in die never draws (posts, the
    plating network) are named not applicable, and the two planted faults are the only findings."""
    result = run_drc(wlcsp_die(tmp_path / "die.gds", ("open", "narrow")), test_pdk)
    assert [r.name for r in result.rules] == [r.name for r in test_pdk.rules]
    assert set(result.not_applicable) == {r.name for r in test_pdk.rules
                                          if r.name.startswith(("POST.", "PV1.POST", "GRID.POST", "PLATE."))}
    assert sorted(v.rule for v in result.violations) == ["NET.OPEN", "NET.OPEN", "RDL.W.1"]
    narrow = next(v for v in result.violations if v.rule == "RDL.W.1")
    assert narrow.region.area > 0


def test_a_gds_written_by_klayout_is_read(tmp_path):
    """What a user's KLayout session writes: boxes, a polygon with a hole (saved as a
    keyhole), an array of a cell, a layer the PDK does not know."""
    import klayout.db as kdb
    ly = kdb.Layout()
    ly.dbu = 0.001
    rdl, other = ly.layer(20, 0), ly.layer(99, 0)
    unit = ly.create_cell("UNIT")
    unit.shapes(rdl).insert(kdb.DBox(0, 0, 100, 8))                   # narrow: violation
    top = ly.create_cell("EDITED")
    frame = kdb.DPolygon(kdb.DBox(0, 500, 100, 600))
    frame.insert_hole(kdb.DBox(30, 530, 70, 536))                     # 6 µm hole: violation
    top.shapes(rdl).insert(frame)
    top.shapes(other).insert(kdb.DBox(0, 0, 1, 1))
    top.insert(kdb.DCellInstArray(unit.cell_index(), kdb.DTrans(0, 0), kdb.DVector(0, 100), kdb.DVector(200, 0), 2, 2))
    ly.write(str(tmp_path / "edited.gds"))
    result = run_drc(tmp_path / "edited.gds", load_pdk("sky400"), rules=["RDL.W.1", "RDL.S.1"])
    assert result.cells == ["EDITED"]
    assert result.counts() == {"RDL.W.1": 4, "RDL.S.1": 1}


def _per_net_pdk(tmp_path):
    """sky400 asking only that each net's terminals meet (as fanout500 does)."""
    d = tmp_path / "pernet"
    d.mkdir()
    d.joinpath("pdk.toml").write_text(
        'name = "pernet"\nextends = "sky400"\n[connectivity]\nconductors = ["PAD", "RDL", "PLATE", "UBM", "BUMP"]\n'
        'vias = [{ via = "PV1", lower = "PAD", upper = "RDL" }, { via = "PV2", lower = "RDL", upper = "UBM" }]\n'
        'touching = [["RDL", "PLATE"], ["UBM", "BUMP"]]\nlabel_layers = ["PAD", "BUMP"]\nrequired_label_layers = []\n')
    return load_pdk(str(d))


def test_a_pad_only_net_must_meet_its_other_pads(tmp_path):
    """Die-to-die nets have pads only: joined pads are fine, a lone pad of such a net is open."""
    g = Gds()
    _mini_net(g, "D2D", 0, ball=False)
    g.rect("RDL", 40, 300, 1040, 320)                 # joins the two D2D pads' stubs
    _mini_net(g, "D2D", 1000, ball=False)
    _mini_net(g, "LONE", 3000, ball=False)             # its other pad is not joined
    _mini_net(g, "LONE", 4000, ball=False)
    _mini_net(g, "IO", 6000)                           # an ordinary pad-to-ball net
    pdk = _per_net_pdk(tmp_path)
    result = run_drc(g.write(tmp_path / "d2d.gds"), pdk, rules=["NET.OPEN"])
    assert result.counts() == {"NET.OPEN": 2}
    assert all("LONE" in v.message and "none of the net's other 1 terminal" in v.message for v in result.violations)
    # the fan-in deck still wants every net at a ball: D2D's piece and both LONE pads
    assert run_drc(tmp_path / "d2d.gds", load_pdk("sky400"), rules=["NET.OPEN"]).counts()["NET.OPEN"] == 3


def test_a_device_joining_two_nets_on_purpose_is_no_short(tmp_path):
    g = Gds()
    _mini_net(g, "RF", 0)
    g.rect("RDL", 40, 300, 1040, 320)                 # an 'inductor' from RF to ANT
    _mini_net(g, "ANT", 1000)
    gds = g.write(tmp_path / "short.gds")
    assert run_drc(gds, load_pdk("sky400"), rules=["NET.SHORT"]).counts() == {"NET.SHORT": 1}
    g.label("TEXT", "JOIN:ANT,RF", 540, 310)
    gds = g.write(tmp_path / "joined.gds")
    assert run_drc(gds, load_pdk("sky400"), rules=["NET.SHORT", "NET.OPEN"]).counts() == {"NET.SHORT": 0, "NET.OPEN": 0}

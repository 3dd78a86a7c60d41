"""Sheet-terminal variants and the checks that must fail: spot shapes and the bias, grid placement,
spots the bias merges, rings that cut the plane, leads off their contacts, and bad configs.
"""

from __future__ import annotations

import json
import math

import pytest
import shapely
from shapely.geometry import Point

from layoutgen.pipeline import build
from layoutgen.cells.shapes import width_across_flats
from layoutgen.families.sheet_terminals.cells.ring import isolation_ring
from layoutgen.families.sheet_terminals.cells.spot import ETCH_MODELS, regular_outline, undercut_model
from layoutgen.design import BallGrid, Design, Die
from layoutgen.errors import ConfigError
from layoutgen.families.sheet_terminals.build import PotentialPlane, SheetTerminals, build_die, plan_sheet
from layoutgen.drc import run_drc
from layoutgen.families.sheet_terminals.rules import plane_pieces, ring_isolation, spot_spacing
from layoutgen.gdsio import write_layout
from layoutgen.layout import Cell, Layout
from layoutgen.pads import peripheral_pads
from layoutgen.pdk import load_pdk

PDK = load_pdk("sheet100")
GRID = PDK.grid_um


def design(**pkg) -> Design:
    """A 3 × 3 mm die, 3 contacts per side at 300 µm, and the sheet parameters given."""
    pads = peripheral_pads(3000, 3000, per_side=3, pitch=300, inset=100, size=60)
    return Design(name="sheet_case", pdk="sheet100", die=Die(name="SHEET_CASE", width=3000, height=3000, pads=pads),
                  package=SheetTerminals(**{"offsets": [300], "lift": 150, **pkg}))


def flat(res, layer):
    return res.layout.flat(layer)


@pytest.mark.parametrize("shape,sides", [("circle", 6), ("square", 6), ("triangle", 6), ("polygon", 7)])
def test_the_spot_is_the_target_top_plus_2T_over_EF(shape, sides):
    t, ef, top = 200.0, 2.5, 100.0
    d = design(spot_shape=shape, spot_sides=sides, sheet_thickness=t, etch_factor=ef, terminal_top=top)
    res = build_die(d, PDK)
    assert res.extra["sheet"]["bias_um"] == pytest.approx(2 * t / ef)               # 160 µm
    spots, liners = flat(res, "SPOT"), flat(res, "LINER")
    assert len(spots) == 12 == len(liners)
    for s in spots:
        assert abs(width_across_flats(s) - top - 2 * t / ef) <= 2 * GRID               # measured on the polygon
        n = {"circle": PDK.circle_vertices, "square": 4, "triangle": 3, "polygon": 7}[shape]
        assert len(s.exterior.coords) - 1 == n
    # One spot per terminal over its liner, its centroid (a triangle's too) on the liner's centre.
    assert all(sum(s.contains(lin) for s in spots) == 1 for lin in liners)
    for lin in liners:
        assert min(s.centroid.distance(lin.centroid) for s in spots) <= GRID


def test_the_undercut_model_predicts_a_cooling_tower():
    sz = undercut_model(120, 150, 3.0, 1.25)
    assert (sz.spot, sz.tip, sz.neck, sz.base, sz.bias) == (220, 120, 95, 220, 100)
    assert sz.base > sz.tip > sz.neck


def test_a_users_etch_model_replaces_the_default(write_config, tmp_path):
    cfg = write_config('''
        from layoutgen import Design, Die, peripheral_pads
        from layoutgen.families.sheet_terminals.cells.spot import TowerSizes, register_etch_model
        from layoutgen.families.sheet_terminals import SheetTerminals

        def isotropic(top, depth, ef, neck):
            """Isotropic wet etch: undercut equals depth whatever the etch factor."""
            return TowerSizes(spot=top + 2 * depth, tip=top, neck=top, base=top + 2 * depth)

        register_etch_model("isotropic_test", isotropic)
        design = Design(name="iso", pdk="sheet100",
                        die=Die(name="ISO", width=3000, height=3000, pads=peripheral_pads(3000, 3000, 3, 300, 100, 60)),
                        package=SheetTerminals(offsets=[300], lift=150, terminal_top=60, sheet_thickness=100,
                                               etch_model="isotropic_test"))
    ''')
    try:
        s = build(cfg, out=tmp_path / "out", drc=False).summary
        assert s["sheet"]["bias_um"] == 200 and s["sheet"]["spot_um"] == 260
    finally:
        ETCH_MODELS.pop("isotropic_test", None)


def test_spots_the_bias_would_merge_are_a_drc_violation_naming_them():
    # 4 × 4 terminals at 300 µm: targets of 100 µm are 200 µm apart, but a 200 µm sheet at EF 1.5
    # biases each spot by 267 µm, so neighbouring spots overlap.
    d = design(placement="grid", grid=BallGrid(rows=4, cols=4, pitch=300), terminal_top=100, sheet_thickness=200,
               etch_factor=1.5)
    res = build_die(d, PDK)
    spots = flat(res, "SPOT")
    names = [n for n, _, _ in res.balls]
    assert len(spots) == 16 and len(shapely.get_parts(shapely.union_all(spots))) == 1    # they do merge
    v = spot_spacing(spots, PDK.rule("spot_spacing", "SPOT"), names)
    assert len(v) == 24                                                    # every row and column neighbour (diagonals clear)
    msg = " | ".join(m for m, _ in v)
    assert "SPOT.S.1: spots A1 and A2 merge" in msg and "≥ 40 µm" in msg
    assert all(g.area > 0 for _, g in v)
    # Just apart but below the space: 280 µm spots at 300 µm leave 20 µm.
    near = build_die(design(placement="grid", grid=BallGrid(rows=4, cols=4, pitch=300), terminal_top=100,
                            sheet_thickness=200, etch_factor=200 / 90), PDK)
    v = spot_spacing(flat(near, "SPOT"), PDK.rule("spot_spacing", "SPOT"), [n for n, _, _ in near.balls])
    assert len(v) == 24 and all(" are 20.0" in m and "merge" in m for m, _ in v)


def test_grid_placement_puts_spots_on_the_grid_and_keeps_leads_on_contacts():
    g = BallGrid(rows=4, cols=4, pitch=500)
    res = build_die(design(placement="grid", grid=g), PDK)
    spots, leads, pads = flat(res, "SPOT"), flat(res, "LEAD"), flat(res, "PAD")
    assert len(spots) == 16 and flat(res, "LINER") == [] and len(leads) == 12
    for (name, x, y), s in zip(g.positions(), sorted(spots, key=lambda s: (-round(s.centroid.y), round(s.centroid.x)))):
        assert Point(x, y).distance(s.centroid) <= GRID, name
    for lead in leads:                                             # each tip on exactly one contact
        assert sum(lead.intersection(p).area > 0 for p in pads) == 1
    assert res.counts["liners"] == 0 and res.counts["terminals"] == 16 and res.counts["traces"] == 12


def test_rings_that_close_a_pocket_cut_the_plane():
    # Rings 290 µm across at 280 µm pitch overlap and wall in the plane between each four terminals.
    d = design(placement="grid", grid=BallGrid(rows=4, cols=4, pitch=280), terminal_top=100, sheet_thickness=150,
               plane=PotentialPlane(thickness=30))
    plan = plan_sheet(d, PDK)
    res = build_die(d, PDK)
    rings = flat(res, "PLANE")
    assert len(rings) == 16
    v = plane_pieces(plan.field, rings, PDK.rule("space", "PLANE"))
    assert len(v) == 9 and all("cut the potential plane into 10 pieces" in m for m, _ in v)   # 9 walled-in pockets
    assert sum(g.intersects(Point(0, 0)) for _, g in v) == 1                                  # one of them at the centre
    # At 500 µm the same rings leave the plane whole.
    ok = design(placement="grid", grid=BallGrid(rows=4, cols=4, pitch=500), terminal_top=100, sheet_thickness=150,
                plane=PotentialPlane(thickness=30))
    assert plane_pieces(plan_sheet(ok, PDK).field, flat(build_die(ok, PDK), "PLANE"), PDK.rule("space", "PLANE")) == []


def _drc(tmp_path, shapes: dict[str, list], rules: list[str], labels=()):
    """The DRC's findings per rule on a one-cell layout of `shapes` (layer -> polygons)."""
    cell = Cell("CASE")
    for layer, geoms in shapes.items():
        cell.add(layer, *geoms)
    for layer, text, x, y in labels:
        cell.label(layer, text, x, y)
    gds = write_layout(Layout(top="CASE", cells={"CASE": cell}), PDK, tmp_path / "case.gds")
    return run_drc(gds, PDK, rules=rules).counts()


def test_the_ring_rule_catches_a_ring_around_two_terminals_an_open_ring_and_a_thin_clearance(tmp_path):
    spot = regular_outline(200, 64, GRID)
    two = [shapely.affinity.translate(spot, 1000, 0), shapely.affinity.translate(spot, 1220, 0)]
    wide = isolation_ring(shapely.union_all(two).convex_hull, 30, 30, GRID)           # one ring round two terminals
    good = isolation_ring(spot, 30, 30, GRID)
    thin = shapely.affinity.translate(isolation_ring(spot, 10, 30, GRID), 0, 1000)     # 10 µm clearance
    cut = shapely.affinity.translate(good, 0, -1000).difference(shapely.box(-400, -1010, -100, -990))   # not closed
    spots = [spot, *two, shapely.affinity.translate(spot, 0, 1000), shapely.affinity.translate(spot, 0, -1000)]
    counts = _drc(tmp_path, {"SPOT": spots, "PLANE": [good, wide, thin, cut]}, ["PLANE.RING.1", "PLANE.SPOT.S"])
    assert counts["PLANE.RING.1"] == 2 and counts["PLANE.SPOT.S"] >= 1               # two rings, one clearance
    rule = PDK.rule("ring_isolation", "PLANE", "SPOT")
    msgs = [m for m, _ in ring_isolation([wide, cut], spots, rule)]
    assert any("surrounds 2 terminals" in m for m in msgs) and any("is not closed" in m for m in msgs)
    assert "clears its terminal by 10.0" in ring_isolation([thin], spots, PDK.rule("separation", "PLANE", "SPOT"))[0][0]


def test_the_deck_catches_a_lead_off_its_contact_and_a_spot_off_its_liner(tmp_path):
    res = build_die(design(), PDK)
    shapes = {k: flat(res, k) for k in ("LEAD", "PAD", "LINER", "SPOT", "BOND")}
    labels = [(lb.layer, lb.text, lb.x, lb.y) for lb in res.layout.flat_labels("PAD")] + \
             [(lb.layer, lb.text, lb.x, lb.y) for lb in res.layout.flat_labels("SPOT")]
    rules = ["NET.OPEN", "LEAD.EN.LINER", "LEAD.OV.PAD", "SPOT.EN.LINER"]
    assert sum(_drc(tmp_path, shapes, rules, labels).values()) == 0
    # a lead moved 150 µm off its contact and its liner; a spot moved off its liner
    moved = {**shapes, "LEAD": [shapely.affinity.translate(shapes["LEAD"][0], 0, 150), *shapes["LEAD"][1:]],
             "SPOT": [shapely.affinity.translate(shapes["SPOT"][3], 80, 0), *shapes["SPOT"][:3], *shapes["SPOT"][4:]]}
    counts = _drc(tmp_path, moved, rules, labels)
    assert counts["NET.OPEN"] >= 1 and counts["LEAD.EN.LINER"] >= 1 and counts["SPOT.EN.LINER"] >= 1


def test_every_lead_is_long_enough_for_any_lift_it_accepts():
    for lift in (50, 300, 600):
        res = build_die(design(lift=lift, lead_slack=0.2), PDK)
        for ld in res.extra["leads"]:
            offset = math.dist(ld["fixed"], ld["tip"])
            assert ld["length_um"] >= 1.2 * (lift + offset) - 1e-3


BAD = {
    "tip_diameter=70": ("Pad P1 (60 × 60 µm) is smaller than the lead tip", "cfg.py:3"),
    "lift=3000": ("lead of contact P1 (offset 300 µm, lift 3000 µm", "cfg.py:6"),
    "plane=PotentialPlane(thickness=200)": ("plane.thickness 200 µm must be below sheet_thickness 150", "cfg.py:6"),
    "placement='grid'": ("placement='grid' needs grid=BallGrid", "cfg.py:6"),
    "etch_model='nope'": ("etch_model 'nope' is not registered", "cfg.py:6"),
    "plane=PotentialPlane(thickness=30, clearance=5)": ("PotentialPlane.clearance = 5", "cfg.py:6"),
    "terminal_top=20, etch_factor=1.0": ("undercuts the neck", "cfg.py:6"),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_bad_values_name_the_field_and_the_config_line(bad, write_config, tmp_path):
    cfg = write_config(f'''
        from layoutgen import Design, Die, peripheral_pads
        from layoutgen.families.sheet_terminals import PotentialPlane, SheetTerminals
        pads = peripheral_pads(3000, 3000, 3, 300, 100, 60)
        die = Die(name="BAD", width=3000, height=3000, pads=pads)
        design = Design(name="bad", pdk="sheet100", die=die,
                        package=SheetTerminals(offsets=[300], {bad}))
    ''')
    with pytest.raises(ConfigError) as e:
        build(cfg, out=tmp_path / "out", drc=False)
    text, line = BAD[bad]
    assert text in str(e.value) and line in str(e.value), str(e.value)
    assert not (tmp_path / "out" / "bad").exists()


def test_crossing_corner_leads_are_refused_naming_both(tmp_path):
    pads = peripheral_pads(3000, 3000, per_side=(1, 0, 0, 1), pitch=300, inset=100, size=60)
    # Move the two contacts next to the bottom-left corner, where their leads would cross.
    pads = [pads[0].model_copy(update={"x": -1300.0}), pads[1].model_copy(update={"y": -1300.0})]
    d = Design(name="corner", pdk="sheet100", die=Die(name="CORNER", width=3000, height=3000, pads=pads),
               package=SheetTerminals(offsets=[400], lift=100, fiducials=None))
    with pytest.raises(ConfigError, match=r"leads of contacts P1 and P2 come 0\.000 µm apart.*LEAD\.S\.1 needs ≥ 15 µm"):
        build_die(d, PDK)


def test_summary_reports_every_terminals_predicted_sizes(tmp_path, write_config):
    cfg = write_config('''
        from layoutgen import Design, Die, peripheral_pads
        from layoutgen.families.sheet_terminals import SheetTerminals
        design = Design(name="sizes", pdk="sheet100",
                        die=Die(name="SIZES", width=3000, height=3000, pads=peripheral_pads(3000, 3000, 3, 300, 100, 60)),
                        package=SheetTerminals(offsets=[300], lift=150, spot_shape="square", terminal_top=100,
                                               sheet_thickness=120, etch_factor=4))
    ''')
    out = build(cfg, out=tmp_path, drc=False).out_dir
    s = json.loads((out / "summary.json").read_text())
    assert len(s["terminals"]) == 12
    assert {(t["spot_um"], t["tip_um"], t["neck_um"], t["base_um"]) for t in s["terminals"]} == {(160.0, 100.0, 85.0, 160.0)}
    assert s["counts"]["isolation_rings"] == 0 and "PLANE" not in s["shapes"]      # no plane variant, no rings


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

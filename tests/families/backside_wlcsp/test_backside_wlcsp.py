"""Backside-groove WLCSP: the mask files, mirrored back into die coordinates, put every groove, cut, wire and opening where it belongs.

Everything is measured on the written files with klayout.db (an independent reader): the
backside masks are read from masks/*.gds and mirrored back (x → −x); the pads, their net
labels and the ball labels come from the combined GDS. The family checks of
`backside_wlcsp_rules` and KLayout's own width/space/enclosure/separation checks must find
nothing on the template.
"""

from __future__ import annotations

import filecmp
import json
import math
from collections import Counter
from functools import lru_cache
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from layoutgen.pipeline import build
from layoutgen.config import load_config
from layoutgen.families.backside_wlcsp import rules as R
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES, template_variant

TEMPLATE = TEMPLATES / "backside_wlcsp.py"
PDK = load_pdk("backside400")
RUN = R.wall_run(PDK)               # how far each first-groove wall runs in from the drawn opening
GDS = {name: tuple(layer.gds) for name, layer in PDK.layers.items()}
MASKS = ("GROOVE1", "GROOVE2", "BSWIRE", "SMASK", "BUMP")

# A lopsided die: rows of 12, 9, 10 and 7 pads, the top and bottom rows off centre, so that a
# mask file that is not mirrored back cannot line up with the pads by symmetry.
ASYMMETRIC = """
from layoutgen import BallGrid, Design, Die, peripheral_pads
from layoutgen.families.backside_wlcsp import BacksideWlcsp
pads = peripheral_pads(4000, 4000, per_side=(12, 9, 10, 7), pitch=200, inset=130, size=60,
                       nets={"VDD": [1, 13, 22], "VSS": [2, 14, 23]})
pads = [p.model_copy(update={"x": p.x + 150}) if abs(p.y) > 1800 else p for p in pads]
design = Design(name="lopsided", pdk="backside400", die=Die(name="LOPSIDED", width=4000, height=4000, pads=pads),
                package=BacksideWlcsp(balls=BallGrid(rows=7, cols=7, pitch=400)))
"""



pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

# --- reading the written files ------------------------------------------------------------------

@lru_cache(maxsize=None)
def _layout(path: Path) -> kdb.Layout:
    """The layout read from `path`, kept alive (regions built on it refer to it)."""
    ly = kdb.Layout()
    ly.read(str(path))
    return ly


def region(path: Path, layer: str, mirror_back: bool = False) -> kdb.Region:
    """The flattened region of a drawn layer (a mask file holds its data on the mask layer), optionally mirrored x → −x."""
    ly = _layout(path)
    r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*GDS[layer])))
    return r.transformed(kdb.Trans(kdb.Trans.M90)) if mirror_back else r


def texts(path: Path, layer: str) -> list[tuple[str, float, float]]:
    """(text, x µm, y µm) of every label on a layer."""
    ly = _layout(path)
    out = []
    it = ly.top_cell().begin_shapes_rec(ly.layer(*GDS[layer]))
    while not it.at_end():
        if it.shape().is_text():
            t = it.shape().text.transformed(it.trans())
            out.append((t.string, t.x * ly.dbu, t.y * ly.dbu))
        it.next()
    return out


def shapes(r: kdb.Region, dbu: float = 0.001) -> list[Polygon]:
    """The region's merged polygons as shapely polygons in µm."""
    out = []
    for p in r.merged().each():
        hull = [(q.x * dbu, q.y * dbu) for q in p.each_point_hull()]
        holes = [[(q.x * dbu, q.y * dbu) for q in p.each_point_hole(i)] for i in range(p.holes())]
        out.append(Polygon(hull, holes))
    return out


def die_box(built: Path) -> kdb.Region:
    return region(built / f"{built.name}.gds", "DIE")


def mask_shapes(built: Path, layer: str, mirror_back: bool = True) -> list[Polygon]:
    """A backside mask's data read from its file, mirrored back, without the mask label (which sits outside the die)."""
    return shapes(region(built / "masks" / f"{layer}.gds", layer, mirror_back) & die_box(built))


def pads_with_nets(built: Path) -> list[tuple[str, Polygon]]:
    """(net, pad polygon) from the combined GDS: PAD shapes and the net labels at their centres."""
    pads = shapes(region(built / f"{built.name}.gds", "PAD"))
    labels = texts(built / f"{built.name}.gds", "PAD")
    out = []
    for pad in pads:
        nets = [t for t, x, y in labels if pad.contains(shapely.Point(x, y))]
        assert len(nets) == 1
        out.append((nets[0], pad))
    return out


def balls_with_nets(built: Path) -> list[tuple[str | None, float, float]]:
    """(net or None, x, y) of every ball: BUMP apertures of the combined GDS and the BUMP net labels."""
    labels = {(round(x, 3), round(y, 3)): t for t, x, y in texts(built / f"{built.name}.gds", "BUMP")}
    out = []
    for b in shapes(region(built / f"{built.name}.gds", "BUMP")):
        c = b.centroid
        out.append((labels.get((round(c.x, 3), round(c.y, 3))), round(c.x, 3), round(c.y, 3)))
    return out


@pytest.fixture(scope="module")
def die_only(tmp_path_factory) -> Path:
    """The template's config without its wafer."""
    return template_variant(TEMPLATE, tmp_path_factory.mktemp("cfg") / "die_only.py",
                            "design = design.model_copy(update={'wafer': None})")


@pytest.fixture(scope="module")
def built(die_only, tmp_path_factory) -> Path:
    """The template's die without its wafer: these tests are about the die (test_backside_wafer.py the wafer)."""
    return build(die_only, out=tmp_path_factory.mktemp("out"), drc=False).out_dir


@pytest.fixture(scope="module")
def lopsided(tmp_path_factory) -> Path:
    cfg = tmp_path_factory.mktemp("cfg") / "lopsided.py"
    cfg.write_text(ASYMMETRIC, encoding="utf-8")
    return build(cfg, out=tmp_path_factory.mktemp("out"), drc=False).out_dir


@pytest.fixture(scope="module", params=["template", "lopsided"])
def any_built(request, built, lopsided) -> Path:
    return built if request.param == "template" else lopsided


# --- outputs and summary ------------------------------------------------------------------------

def test_outputs_summary_and_mirrored_masks(built: Path):
    assert {p.name for p in (built / "masks").iterdir()} == {f"{m}.gds" for m in MASKS} | {"manifest.json", "jobdeck.txt", "mask_order.csv", "mask_order.json"}
    s = json.loads((built / "summary.json").read_text())
    assert s["family"] == "backside_wlcsp" and s["pdk"]["name"] == "backside400"
    c = s["counts"]
    assert (c["pads"], c["balls"], c["routes"], c["connected_balls"], c["nets"]) == (48, 48, 48, 48, 34)
    assert (c["pad_rows"], c["groove1_openings"], c["groove2_cuts"], c["leads"], c["smask_openings"]) == (4, 4, 4, 48, 48)
    assert all(m["mirror"] for m in s["masks"]) and [m["name"] for m in s["masks"]] == list(MASKS)
    bs = s["backside"]
    assert bs["mirrored_masks"] == list(MASKS)
    assert [r["side"] for r in bs["rows"]] == ["S", "E", "N", "W"] and all(len(r["pads"]) == 12 for r in bs["rows"])
    # groove bottom: 12 pads at 200 µm (2260 µm) + 30 µm each end (the cut's 10 µm reach + 20 µm
    # GROOVE1.EN.GROOVE2), 60 + 2 × 20 µm across; the drawn opening adds 100 µm / tan 75° = 26.795 µm a side
    run = 100 / math.tan(math.radians(75))
    assert bs["groove_profile"] == {"substrate_thickness_um": 100.0, "groove_depth_um": 100.0, "wall_angle_deg": 75.0,
                                    "wall_run_um": round(run, 3), "max_wall_angle_deg": 80.0}
    assert all(r["groove1_um"] == [pytest.approx(2320 + 2 * run, abs=0.01), pytest.approx(100 + 2 * run, abs=0.01)]
               and r["groove2_um"] == 2280.0 for r in bs["rows"])
    assert bs["groove2"] == {"width_um": 10.0, "length_um": [2280.0, 2280.0]}
    assert bs["lead"] == {"width_um": 15.0, "length_um": [104.295]}            # top half width + 20 µm + 7.5 µm
    # per net: VDD and VSS each stand for 8 pads, each pad its own ball; lengths add up
    assert len(bs["nets"]["VDD"]["pads"]) == 8 == len(set(bs["nets"]["VDD"]["balls"]))
    assert sum(n["route_um"] for n in bs["nets"].values()) == pytest.approx(s["routing"]["total_length_um"], abs=0.05)
    assert all(n["lead_um"] == pytest.approx(104.295 * len(n["pads"])) for n in bs["nets"].values())


def test_mask_files_are_the_drawn_layers_mirrored(any_built: Path):
    """Each mask file, mirrored back, is exactly its drawn layer; read as it is, it is not (the die is lopsided)."""
    combined = any_built / f"{any_built.name}.gds"
    die = die_box(any_built)
    for layer in MASKS:
        drawn = region(combined, layer).merged()
        back = (region(any_built / "masks" / f"{layer}.gds", layer, mirror_back=True) & die).merged()
        assert drawn.count() > 0 and (drawn ^ back).is_empty(), layer
        label = region(any_built / "masks" / f"{layer}.gds", layer, mirror_back=True) - die
        assert label.area() > 0, f"{layer}: the mask label is missing"
    if any_built.name == "lopsided":
        raw = (region(any_built / "masks" / "GROOVE1.gds", "GROOVE1") & die).merged()
        assert not (region(combined, "GROOVE1").merged() ^ raw).is_empty()


def test_die_is_hierarchical(built: Path):
    ly = _layout(built / f"{built.name}.gds")
    top = ly.top_cell()
    assert top.name == "BACKSIDE_WLCSP_4X4"
    placed = Counter(inst.cell.name for inst in top.each_inst())
    assert placed["BS_PADLEAD_RECT_60x60_L104p295_W15"] == 48
    assert placed["BS_GROOVE2_2280x10"] == 4
    assert placed["BS_BALLSTACK_ROUND_BACKSIDE400"] == 48
    assert placed["BS_GROOVE1_2373p59x153p59"] == 4
    own = {ly.get_info(i).layer for i in ly.layer_indexes() if not top.shapes(i).is_empty()}
    assert GDS["GROOVE1"][0] not in own and GDS["GROOVE2"][0] not in own and GDS["SMASK"][0] not in own


def test_rebuild_is_byte_identical(built: Path, die_only: Path, tmp_path):
    a = built
    b = build(die_only, out=tmp_path / "b", drc=False).out_dir
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert {f"masks/{m}.gds" for m in MASKS} | {"backside_wlcsp.gds", "summary.json"} <= {str(f) for f in files}
    assert all(filecmp.cmp(a / f, b / f, shallow=False) for f in files)


# --- what the issue asks to show, on the mask files mirrored back -------------------------------

def test_every_groove1_opening_lies_over_its_pad_row(any_built: Path):
    openings = mask_shapes(any_built, "GROOVE1")
    pads = [p for _, p in pads_with_nets(any_built)]
    rows = json.loads((any_built / "summary.json").read_text())["backside"]["rows"]
    assert len(openings) == len(rows) == 4
    clearance = PDK.value("enclosure", "GROOVE1", "PAD")
    for g in openings:
        inside = [p for p in pads if g.contains(p)]
        centres = np.array([p.centroid.coords[0] for p in inside])
        x0, y0, x1, y1 = g.bounds
        axis = 0 if x1 - x0 > y1 - y0 else 1
        assert np.ptp(centres[:, 1 - axis]) < 1e-3                                  # one row, on one line
        assert centres[0, 1 - axis] == pytest.approx((g.bounds[1 - axis] + g.bounds[3 - axis]) / 2)
        bottom = R.groove_bottom(g, RUN)                                              # the opening less the wall's run
        assert min(bottom.exterior.distance(p) for p in inside) == pytest.approx(clearance, abs=0.01)
        assert len(inside) in {len(r["pads"]) for r in rows}
    assert sum(1 for p in pads for g in openings if g.contains(p)) == len(pads)       # every pad, once
    assert R.groove1_over_rows(openings, pads, R.family_rule(PDK, "groove_over_row"),
                               PDK.rule("enclosure", "GROOVE1", "PAD"), RUN) == []
    if any_built.name == "lopsided":
        raw = mask_shapes(any_built, "GROOVE1", mirror_back=False)
        assert R.groove1_over_rows(raw, pads, R.family_rule(PDK, "groove_over_row"),
                                   PDK.rule("enclosure", "GROOVE1", "PAD"), RUN) != []


def test_each_row_has_one_cut_through_all_its_pads_and_each_lead_lines_only_its_own_pad(any_built: Path):
    """GROOVE2 runs along each row through every pad; each pad's stretch of it is lined by the lead of that pad only."""
    cuts = mask_shapes(any_built, "GROOVE2")
    grooves = mask_shapes(any_built, "GROOVE1")
    pads = pads_with_nets(any_built)
    wiring = mask_shapes(any_built, "BSWIRE")
    rows = json.loads((any_built / "summary.json").read_text())["backside"]["rows"]
    assert len(cuts) == len(rows) == 4
    reach = R.family_rule(PDK, "cut_through_pads").value
    for cut in cuts:
        home = [g for g in grooves if g.contains(cut)]
        assert len(home) == 1
        inside = [p for _, p in pads if home[0].contains(p)]
        assert all(p.intersection(cut).area == pytest.approx(10 * 60, abs=0.01) for p in inside)   # 10 µm across, the pad's 60 µm
        x0, y0, x1, y1 = shapely.union_all(inside).bounds
        c0, d0, c1, d1 = cut.bounds
        run = (c0, c1, x0, x1) if c1 - c0 > d1 - d0 else (d0, d1, y0, y1)
        assert run[2] - run[0] == pytest.approx(reach) and run[1] - run[3] == pytest.approx(reach)
        assert R.groove_bottom(home[0], RUN).exterior.distance(cut) >= PDK.value("enclosure", "GROOVE1", "GROOVE2") - 0.01
    e = R.family_rule(PDK, "cut_contact").value
    all_cuts = shapely.union_all(cuts)
    for net, pad in pads:
        stretch = pad.intersection(all_cuts)
        lining = [w for w in wiring if w.intersection(stretch).area > 1e-6]
        assert len(lining) == 1                                                        # one lead per pad's stretch
        b0, b1, b2, b3 = stretch.bounds                                                # the cut through this pad
        lined = shapely.box(b0, b1 - e, b2, b3 + e) if b2 - b0 > b3 - b1 else shapely.box(b0 - e, b1, b2 + e, b3)
        assert lining[0].buffer(1e-3).covers(lined)                                    # both cut walls, e beyond
        in_cut = lining[0].intersection(all_cuts)
        assert in_cut.difference(stretch).area < 1e-6                                  # on its own pad's stretch only
        # the lead touches this pad's face nowhere but over the cut: the insulator lies between them
        others = [p for n2, p in pads if p is not pad]
        assert all(lining[0].intersection(p).area < 1e-6 for p in others)
    found = R.groove2_through_pads(cuts, [p for _, p in pads], grooves, R.family_rule(PDK, "cut_through_pads"),
                                   PDK.rule("enclosure", "GROOVE1", "GROOVE2"), RUN)
    assert found == []
    assert R.cut_contacts(wiring, cuts, [p for _, p in pads], R.family_rule(PDK, "cut_contact")) == []


def test_every_bswire_net_reaches_its_pad_in_the_groove_and_its_ball_pad(any_built: Path):
    wiring = mask_shapes(any_built, "BSWIRE")
    grooves = shapely.union_all(mask_shapes(any_built, "GROOVE1"))
    cuts = shapely.union_all(mask_shapes(any_built, "GROOVE2"))
    pads = pads_with_nets(any_built)
    balls = balls_with_nets(any_built)
    summary = json.loads((any_built / "summary.json").read_text())
    spare = sum(1 for net, *_ in balls if net is None)
    assert len(wiring) == summary["counts"]["routes"] + spare                          # one piece per route, spare pads apart
    for piece in wiring:
        mine = [(net, p) for net, p in pads if piece.intersects(p)]
        ball = [(net, x, y) for net, x, y in balls if piece.contains(shapely.Point(x, y))]
        assert len(ball) == 1
        if ball[0][0] is None:
            assert not mine                                                              # a spare ball pad
            continue
        assert len(mine) == 1 and mine[0][0] == ball[0][0]                              # one pad, one ball, one net
        assert piece.intersection(mine[0][1]).intersection(grooves).intersection(cuts).area > 0   # over its stretch of the cut
    # the pad-to-ball assignment in the summary is what the wiring joins (ball names on TEXT)
    if any_built.name == "backside_wlcsp":
        pad_at = {p.name: shapely.Point(p.x, p.y) for p in load_config(TEMPLATE).die.pads}
        ball_at = {t: shapely.Point(x, y) for t, x, y in texts(any_built / f"{any_built.name}.gds", "TEXT")}
        for pad, ball in summary["routing"]["assignment"].items():
            owner = [k for k, w in enumerate(wiring) if w.intersects(pad_at[pad])]
            assert len(owner) == 1 and wiring[owner[0]].contains(ball_at[ball])


def test_every_smask_opening_lies_within_its_ball_pad(any_built: Path):
    openings = mask_shapes(any_built, "SMASK")
    wiring = mask_shapes(any_built, "BSWIRE")
    balls = balls_with_nets(any_built)
    assert len(openings) == len(balls)
    e = PDK.value("enclosure", "BSWIRE", "SMASK")
    for o in openings:
        home = [w for w in wiring if w.contains(o)]
        assert len(home) == 1 and home[0].exterior.distance(o) >= e - 1e-3
        assert sum(home[0].contains(shapely.Point(x, y)) and o.contains(shapely.Point(x, y)) for _, x, y in balls) == 1
    assert R.smask_within_ball_pads(openings, wiring, PDK.rule("enclosure", "BSWIRE", "SMASK")) == []


def test_leads_cross_the_groove_wall_square_and_nothing_else_comes_near(any_built: Path):
    wiring = mask_shapes(any_built, "BSWIRE")
    grooves = mask_shapes(any_built, "GROOVE1")
    rule = R.family_rule(PDK, "wall_crossing")
    assert R.groove_wall_crossings(wiring, grooves, rule, PDK.rule("width", "BSWIRE")) == []
    band = shapely.union_all([g.buffer(rule.value, join_style="mitre").difference(g) for g in grooves])
    crossings = shapely.get_parts(shapely.union_all(wiring).intersection(band))
    assert len(crossings) == len(pads_with_nets(any_built))                            # one lead per pad
    assert {(round(c.bounds[2] - c.bounds[0], 3), round(c.bounds[3] - c.bounds[1], 3)) for c in crossings} <= {(15.0, 20.0), (20.0, 15.0)}


# --- the template is DRC-clean ------------------------------------------------------------------

def _klayout_violations(built: Path, rule) -> int:
    """Violations of one generic rule on the combined GDS, by KLayout's Euclidean checks (1 dbu below the value)."""
    gds = built / f"{built.name}.gds"
    d = round(rule.value / 0.001) - 1
    a = region(gds, rule.layer).merged()
    m = kdb.Metrics.Euclidian
    if rule.kind == "width":
        # Round openings drawn at the minimum width (SMASK): KLayout's Euclidean width check
        # measures chords of a polygonal circle against each other and flags all of them;
        # the projection metric measures facing edges, which is the width across flats.
        round_shapes = rule.layer == "SMASK"
        return a.width_check(d, False, kdb.Metrics.Projection if round_shapes else m).count()
    if rule.kind == "space":
        return a.space_check(d, False, m).count()
    b = region(gds, rule.other).merged()
    if rule.kind == "enclosure":
        return a.enclosing_check(b, d, False, m).count() + (b - a).count()
    if rule.kind == "separation":
        return a.separation_check(b, d, False, m).count() + (a & b).count()
    raise AssertionError(rule.kind)


BACKSIDE_RULES = [r for r in PDK.rules if r.kind in ("width", "space", "enclosure", "separation")
                  and {r.layer, r.other} & {"GROOVE1", "GROOVE2", "BSWIRE", "SMASK", "BUMP"}]


def test_the_deck_covers_every_backside_layer():
    names = {r.name for r in BACKSIDE_RULES}
    assert {"GROOVE1.W.1", "GROOVE1.S.1", "GROOVE1.EN.PAD", "GROOVE1.SEAL.S", "GROOVE2.W.1", "ISO.EN.GROOVE1",
            "ISO.EN.BSWIRE", "GROOVE1.EN.GROOVE2", "BSWIRE.W.1", "BSWIRE.S.1", "BSWIRE.SEAL.S", "SMASK.W.1",
            "SMASK.S.1", "BSWIRE.EN.SMASK", "SMASK.GROOVE1.S"} <= names


@pytest.mark.parametrize("rule", BACKSIDE_RULES, ids=lambda r: r.name)
def test_template_is_clean_in_klayout(built: Path, rule):
    assert _klayout_violations(built, rule) == 0


def test_template_is_clean_by_the_family_checks_and_the_rest_of_the_deck(built: Path):
    gds = built / f"{built.name}.gds"
    layers = {k: shapes(region(gds, k)) for k in ("GROOVE1", "GROOVE2", "BSWIRE", "SMASK")}
    found = R.check_all(layers, pads_with_nets(built), balls_with_nets(built), PDK)
    assert set(found) == {"GROOVE1.ROW", "GROOVE2.ROW", "BSWIRE.CUT", "BSWIRE.GROOVE1.X", "BSWIRE.NETS", "BSWIRE.EN.SMASK"}
    assert all(v == [] for v in found.values()), {k: v[:2] for k, v in found.items() if v}
    # ball apertures: size and pitch
    bumps = shapes(region(gds, "BUMP"))
    size = PDK.rule("size", "BUMP")
    assert all(abs(2 * shapely.distance(b.centroid, b.exterior) - size.value) <= size.tolerance for b in bumps)
    centres = np.array([b.centroid.coords[0] for b in bumps])
    dist = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1)) + np.eye(len(centres)) * 1e9
    assert len(bumps) == 48 and dist.min() >= PDK.value("pitch", "BUMP") - 1e-3
    # Grid and angles of everything drawn on the back: the cells' shapes and the routed wiring.
    ly = _layout(gds)
    for layer in ("GROOVE1", "GROOVE2", "BSWIRE", "SMASK", "BUMP"):
        r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*GDS[layer])))
        assert r.count() > 0
        for poly in r.each():
            pts = np.array([(p.x, p.y) for p in poly.each_point_hull()])
            assert not (pts % round(PDK.grid_um / ly.dbu)).any(), layer
        if layer in ("GROOVE1", "GROOVE2", "BSWIRE"):
            # 0°, 45°, 90° only; the round ball pads are curves, exempt as in the DRC's angle rule.
            round_pads = kdb.Region([p for p in r.each() if p.num_points() >= PDK.circle_vertices])
            checked = 0
            for e in (r.merged().edges() - round_pads.edges()).each():
                dx, dy = abs(e.d().x), abs(e.d().y)
                assert dx == 0 or dy == 0 or abs(dx - dy) <= 1, (layer, str(e))
                checked += 1
            assert checked >= 4 * (r.count() - round_pads.count()), layer     # every straight edge was measured


def test_template_is_clean_by_the_project_drc(built: Path):
    """The generic rule deck of backside400, run by layoutgen.drc on the written GDS, finds nothing."""
    from layoutgen.drc import run_drc

    result = run_drc(built / f"{built.name}.gds", PDK)
    assert result.ok, {k: v for k, v in result.counts().items() if v}


# --- the wiring meets a pad only at its cut sidewall (the PDK's connectivity, run by the DRC) -----

def _doctored(built: Path, out: Path, edit) -> Path:
    """The template's die flattened, `edit(layout, cell, layer index by name)` applied, written to `out`."""
    ly = kdb.Layout()
    ly.read(str(built / f"{built.name}.gds"))
    top = ly.top_cell()
    top.flatten(True)
    edit(ly, top, {name: ly.layer(*GDS[name]) for name in ("PAD", "GROOVE2", "BSWIRE")})
    ly.write(str(out))
    return out


def _nets(path: Path) -> dict[str, list[str]]:
    from layoutgen.drc import run_drc

    result = run_drc(path, PDK, rules=["NET.OPEN", "NET.SHORT", "BSWIRE.CUT", "GROOVE2.ROW"])
    return {name: [v.message for v in result.violations if v.rule == name]
            for name in ("NET.OPEN", "NET.SHORT", "BSWIRE.CUT", "GROOVE2.ROW")}


def test_the_wiring_joins_a_pad_only_where_the_cut_runs_through_it(built: Path, tmp_path):
    assert _nets(_doctored(built, tmp_path / "same.gds", lambda *_: None)) == \
        {"NET.OPEN": [], "NET.SHORT": [], "BSWIRE.CUT": [], "GROOVE2.ROW": []}

    def no_cut(ly, top, li):
        top.shapes(li["GROOVE2"]).clear()

    # Without the second groove the insulator covers every pad: all 48 pads are open.
    found = _nets(_doctored(built, tmp_path / "no_cut.gds", no_cut))
    assert sum("@PAD" in m and "joined to no BUMP" in m for m in found["NET.OPEN"]) == 48 and found["NET.SHORT"] == []
    assert len(found["GROOVE2.ROW"]) == 48                                           # every exposed pad uncut

    def old_scheme(ly, top, li):
        # the reversed scheme: wiring over each pad's face, short cuts between the pads kept clear of them
        cuts = kdb.Region(top.shapes(li["GROOVE2"]))
        pads = kdb.Region(top.shapes(li["PAD"]))
        top.shapes(li["GROOVE2"]).clear()
        top.shapes(li["GROOVE2"]).insert(cuts - pads.sized(20_000))
        top.shapes(li["BSWIRE"]).insert(pads)

    found = _nets(_doctored(built, tmp_path / "old.gds", old_scheme))
    assert sum("@PAD" in m and "joined to no BUMP" in m for m in found["NET.OPEN"]) == 48   # wiring on the insulator: open
    assert found["NET.SHORT"] == []

    def bridge(ly, top, li):
        # one lead run along the cut onto its neighbour's stretch: P1 (VDD) and P2 join
        top.shapes(li["BSWIRE"]).insert(kdb.Box(-1130_000, -1880_000, -870_000, -1860_000))

    found = _nets(_doctored(built, tmp_path / "bridge.gds", bridge))
    assert len(found["NET.SHORT"]) == 1 and found["NET.SHORT"][0].startswith("nets P2, VDD on one piece")
    assert "VDD" in found["NET.SHORT"][0] and len(found["BSWIRE.CUT"]) == 1 and "shorts them" in found["BSWIRE.CUT"][0]

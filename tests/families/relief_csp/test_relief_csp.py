"""The relief CSP template: wells, tiered protrusions, tracks, ENCAP and stencils, measured.

Geometry is measured on the in-memory layout with shapely and, independently, on the
written GDS read back with klayout.db (layers by GDS number, labels for the nets).
"""

from __future__ import annotations

import filecmp
import json
import re
from collections import Counter
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from layoutgen.pipeline import build
from layoutgen.config import load_config
from layoutgen.errors import ConfigError
from layoutgen.families import builder
from layoutgen.families.relief_csp.build import ReliefCsp, ball_height, build_die
from layoutgen.families.relief_csp.rules import (
    apertures,
    check_stencils,
    family_rules,
    thicknesses_from_labels,
)
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES, template_variant

pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

TEMPLATE = TEMPLATES / "relief_csp.py"
PDK = load_pdk("relief400")
LAYERS = ("PAD", "WELL", "RDL", "MOULD1", "MOULD2", "ENCAP", "PASTE", "STENCIL", "STENCIL2", "STENCIL3", "SEAL", "DIE")


@pytest.fixture(scope="module")
def die():
    design = load_config(TEMPLATE)
    return design, builder(design.package.family)(design, PDK)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(TEMPLATE, out=tmp_path_factory.mktemp("out"), drc=False, quiet=True).out_dir


@pytest.fixture(scope="module")
def gds(built: Path) -> dict:
    """The written GDS read back with klayout.db: merged regions per layer, labels, dbu."""
    ly = kdb.Layout()
    ly.read(str(built / "relief_csp.gds"))
    top = ly.top_cell()
    regions, labels = {}, {}
    for name in LAYERS:
        gl, gd = PDK.layer(name).gds
        idx = ly.find_layer(gl, gd)
        regions[name] = kdb.Region(top.begin_shapes_rec(idx)).merged() if idx is not None else kdb.Region()
    for name in ("PAD", "PASTE", "TEXT"):
        gl = PDK.layer(name).gds[0]
        out = []
        for li in ly.layer_indexes():
            if ly.get_info(li).layer != gl:
                continue
            it = top.begin_shapes_rec(li)
            while not it.at_end():
                sh = it.shape()
                if sh.is_text():
                    t = sh.text.transformed(it.trans())
                    out.append((t.string, t.x * ly.dbu, t.y * ly.dbu))
                it.next()
        labels[name] = out
    return {"layout": ly, "top": top, "r": regions, "labels": labels, "dbu": ly.dbu}


def to_shapely(region: kdb.Region, dbu: float) -> list[Polygon]:
    """Each polygon of a merged klayout region as a shapely polygon in µm (holes kept)."""
    out = []
    for p in region.each():
        hull = [(pt.x * dbu, pt.y * dbu) for pt in p.each_point_hull()]
        holes = [[(pt.x * dbu, pt.y * dbu) for pt in p.each_point_hole(h)] for h in range(p.holes())]
        out.append(Polygon(hull, holes))
    return out


def um(value: float, dbu: float) -> int:
    return int(round(value / dbu))


# --- one well per pad, each enclosing its pad ------------------------------------------------

def test_one_well_per_pad_enclosing_it_by_the_rule(die):
    design, result = die
    pads = result.layout.flat("PAD")
    wells = result.layout.flat("WELL")
    assert len(pads) == len(wells) == len(design.die.pads) == 48
    rule = PDK.rule("enclosure", "WELL", "PAD")
    tree = shapely.STRtree(wells)
    margins = []
    for pad in pads:
        hits = tree.query(pad, predicate="within")
        assert len(hits) == 1                                   # inside exactly one well
        margins.append(shapely.distance(pad, wells[hits[0]].exterior))
    assert min(margins) >= rule.value - 1e-9
    assert min(margins) == pytest.approx(5.0, abs=0.011)        # the template asks for 5 µm


def test_wells_read_back_with_klayout(gds):
    r, dbu = gds["r"], gds["dbu"]
    assert r["WELL"].count() == r["PAD"].count() == 48
    # Every pad is inside a well, and the well's edges are at least WELL.EN.PAD away.
    assert (r["PAD"] - r["WELL"]).is_empty()
    enc = um(PDK.value("enclosure", "WELL", "PAD"), dbu)
    assert r["WELL"].enclosing_check(r["PAD"], enc).count() == 0
    assert r["WELL"].enclosing_check(r["PAD"], enc + 5).count() > 0   # and the check can fail


# --- protrusions: both tiers, the recessed one inside the footprint --------------------------

def test_every_protrusion_has_two_tiers_with_the_recess_inside(die):
    _, result = die
    feet, recesses = result.layout.flat("MOULD1"), result.layout.flat("MOULD2")
    assert len(feet) == len(recesses) == 48
    rim = PDK.value("enclosure", "MOULD1", "MOULD2")
    tree = shapely.STRtree(feet)
    owners = []
    for rec in recesses:
        hits = tree.query(rec, predicate="within")
        assert len(hits) == 1
        owners.append(int(hits[0]))
        foot = feet[hits[0]]
        assert shapely.distance(rec, foot.exterior) >= rim - 1e-9
        protuberant = foot.difference(rec)
        # The protuberant zone is a closed rim around the ball seat: one ring, its hole the recess.
        assert protuberant.geom_type == "Polygon" and len(protuberant.interiors) == 1
        assert protuberant.area == pytest.approx(foot.area - rec.area, rel=1e-9)
    assert sorted(owners) == list(range(48))                    # one recess per footprint


def test_tiers_read_back_with_klayout(gds):
    r, dbu = gds["r"], gds["dbu"]
    assert r["MOULD1"].count() == r["MOULD2"].count() == 48
    assert (r["MOULD2"] - r["MOULD1"]).is_empty()
    assert r["MOULD1"].enclosing_check(r["MOULD2"], um(PDK.value("enclosure", "MOULD1", "MOULD2"), dbu)).count() == 0
    # Footprint 260 µm and recess 180 µm octagons: the rim is 40 µm wide all round.
    assert r["MOULD1"].enclosing_check(r["MOULD2"], um(40.0, dbu)).count() == 0
    assert r["MOULD1"].enclosing_check(r["MOULD2"], um(40.5, dbu)).count() > 0


@pytest.fixture(scope="module")
def moulded(tmp_path_factory) -> Path:
    """The template with its relief moulded (route='mould') instead of printed, the ball seat 10 µm right of centre."""
    text = TEMPLATE.read_text(encoding="utf-8")
    assert 'route="print"' in text and "recess_offset=(0, 0)," in text
    cfg = tmp_path_factory.mktemp("cfg") / "moulded.py"
    cfg.write_text(text.replace('route="print"', 'route="mould"').replace("recess_offset=(0, 0),", "recess_offset=(10, 0),"),
                   encoding="utf-8")
    return build(cfg, out=tmp_path_factory.mktemp("out"), drc=False, quiet=True).out_dir


def test_each_route_writes_only_its_own_masks(built: Path, moulded: Path):
    printed = {m["name"] for m in json.loads((built / "summary.json").read_text())["masks"]}
    assert printed == {"STENCIL", "STENCIL2", "STENCIL3", "RDL", "ENCAP", "PASTE"}
    assert {p.stem for p in (built / "stencils").glob("*.gbr")} == {"STENCIL", "STENCIL2", "STENCIL3", "PASTE"}
    mould = {m["name"] for m in json.loads((moulded / "summary.json").read_text())["masks"]}
    assert mould == {"WELL", "MOULD1", "MOULD2", "RDL", "ENCAP", "PASTE"}
    assert {p.stem for p in (moulded / "stencils").glob("*.gbr")} == {"PASTE"}     # only the ball stencil
    s = json.loads((moulded / "summary.json").read_text())
    assert s["relief"]["route"] == "mould" and "print_passes" not in s["relief"] and s["counts"]["stencil_bridges"] == 0


def test_mould_masks_have_the_tone_of_a_negative(moulded: Path):
    built = moulded
    summary = json.loads((built / "summary.json").read_text())
    masks = {m["name"]: m for m in summary["masks"]}
    assert list(masks) == ["WELL", "MOULD1", "MOULD2", "RDL", "ENCAP", "PASTE"]
    # Footprints are etched into the mould (clear windows); pillars and recessed tiers are kept (chrome).
    assert (masks["MOULD1"]["field"], masks["MOULD2"]["field"], masks["WELL"]["field"]) == ("dark", "clear", "clear")
    depth = summary["relief"]["mould_etch_um"]
    heights = summary["relief"]["heights_um"]
    # The etch depths add up to the relief: pillars to pads, base, recessed and protuberant tiers.
    assert depth["WELL"] == heights["base"]
    assert depth["MOULD1"] == heights["protuberant"]
    assert depth["MOULD1"] - depth["MOULD2"] == heights["recessed"]
    for name, gl in (("MOULD1", 61), ("MOULD2", 62), ("WELL", 11)):
        ly = kdb.Layout()
        ly.read(str(built / "masks" / f"{name}.gds"))
        region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.find_layer(gl, 0))).merged()
        # 48 features, plus the polygons of the mask label's letters (below the die field).
        bottom = -summary["die"]["height_um"] / 2
        big = [p for p in region.each() if p.area() * ly.dbu ** 2 > 1000.0 and p.bbox().center().y * ly.dbu > bottom]
        assert len(big) == 48


# --- tracks: each pad to its own bonding pad, nothing else ------------------------------------

def test_every_track_joins_its_pad_to_its_bonding_pad_and_nothing_else(die):
    design, result = die
    lay = result.layout
    rdl = shapely.get_parts(shapely.union_all(lay.flat("RDL"))).tolist()
    assert len(rdl) == 48                                      # one separate piece of metal per pad
    wells, encaps = lay.flat("WELL"), lay.flat("ENCAP")
    pad_net = {(round(lb.x, 3), round(lb.y, 3)): lb.text for lb in lay.flat_labels("PAD")}
    ball_net = {(round(lb.x, 3), round(lb.y, 3)): lb.text for lb in lay.flat_labels("PASTE")}
    assignment = result.assignment
    ball_at = {(round(x, 3), round(y, 3)): n for n, x, y in result.balls}
    pad_at = {(round(x, 3), round(y, 3)): n for n, _, x, y in result.pads}
    seen_pads = set()
    for piece in rdl:
        w = [g for g in wells if piece.intersects(g)]
        e = [g for g in encaps if piece.intersects(g)]
        assert len(w) == 1 and len(e) == 1                     # one well, one bonding pad
        assert piece.contains(w[0]) and piece.contains(e[0])    # covering both completely
        pc = w[0].centroid
        bc = e[0].centroid
        pkey, bkey = (round(pc.x, 3), round(pc.y, 3)), (round(bc.x, 3), round(bc.y, 3))
        assert pad_net[pkey] == ball_net[bkey]                 # same net at both ends
        assert assignment[pad_at[pkey]] == ball_at[bkey]        # the ball the router chose
        seen_pads.add(pad_at[pkey])
    assert len(seen_pads) == 48
    # Metal of different pieces keeps the RDL spacing.
    space = PDK.value("space", "RDL")
    tree = shapely.STRtree(rdl)
    i, j = tree.query(rdl, predicate="dwithin", distance=space - 1e-6)
    assert all(a == b for a, b in zip(i, j))


def test_tracks_climb_only_their_own_protrusion(die):
    _, result = die
    lay = result.layout
    feet = lay.flat("MOULD1")
    for piece in shapely.get_parts(shapely.union_all(lay.flat("RDL"))).tolist():
        climbed = [f for f in feet if piece.intersects(f)]
        assert len(climbed) == 1                                # its own footprint only
        # ...and it keeps the RDL space from every other footprint.
        others = [f for f in feet if f is not climbed[0]]
        assert min(shapely.distance(piece, f) for f in others) >= PDK.value("space", "RDL") - 1e-9


def test_connectivity_read_back_with_klayout(gds):
    r, lab, dbu = gds["r"], gds["labels"], gds["dbu"]
    rdl = r["RDL"]
    assert rdl.count() == 48
    pad_labels = {(round(x, 3), round(y, 3)): t for t, x, y in lab["PAD"]}
    ball_labels = {(round(x, 3), round(y, 3)): t for t, x, y in lab["PASTE"]}
    assert len(pad_labels) == len(ball_labels) == 48
    for k, piece in enumerate(rdl.each()):
        one = kdb.Region(piece)
        w = r["WELL"].interacting(one)
        e = r["ENCAP"].interacting(one)
        assert w.count() == 1 and e.count() == 1
        wc, ec = w.bbox().center(), e.bbox().center()
        assert pad_labels[(round(wc.x * dbu, 3), round(wc.y * dbu, 3))] == \
            ball_labels[(round(ec.x * dbu, 3), round(ec.y * dbu, 3))]


# --- ENCAP openings inside their bonding pads -------------------------------------------------

def test_every_encap_opening_lies_inside_its_bonding_pad(die):
    _, result = die
    enc = PDK.value("enclosure", "RDL", "ENCAP")
    pcell = next(c for c in result.layout.cells.values() if c.name.startswith("PROTRUSION_"))
    bond, opening = pcell.shapes["RDL"][0], pcell.shapes["ENCAP"][0]
    assert bond.contains(opening)
    # At least the rule, and no more than the snap to twice the grid adds.
    assert enc <= shapely.distance(opening, bond.exterior) <= enc + 2 * 2 * PDK.grid_um + 1e-9
    # And flat, over the whole die: 48 openings, each within the RDL by ≥ RDL.EN.ENCAP.
    rdl = shapely.union_all(result.layout.flat("RDL"))
    openings = result.layout.flat("ENCAP")
    assert len(openings) == 48
    assert all(rdl.contains(o) for o in openings)
    parts = shapely.get_parts(rdl)
    margins = [min(shapely.distance(o, p.exterior) for p in parts if p.contains(o)) for o in openings]
    assert min(margins) >= enc - 1e-9


def test_encap_inside_bonding_pad_read_back_with_klayout(gds):
    r, dbu = gds["r"], gds["dbu"]
    assert r["ENCAP"].count() == 48
    assert (r["ENCAP"] - r["RDL"]).is_empty()
    assert r["RDL"].enclosing_check(r["ENCAP"], um(PDK.value("enclosure", "RDL", "ENCAP"), dbu)).count() == 0
    assert r["MOULD2"].enclosing_check(r["ENCAP"], um(PDK.value("enclosure", "MOULD2", "ENCAP"), dbu)).count() == 0


# --- the template is DRC-clean ----------------------------------------------------------------

def test_template_keeps_every_width_space_enclosure_and_separation_rule(gds):
    """Every generic two-edge rule of the deck on the drawn layers, checked by KLayout (Euclidean)."""
    r, dbu = gds["r"], gds["dbu"]
    checked = set()
    for rule in PDK.rules:
        if rule.kind not in ("width", "space", "enclosure", "separation"):
            continue
        names = [rule.layer] + ([rule.other] if rule.other else [])
        if any(n not in r or r[n].is_empty() for n in names):
            continue                                            # a layer this family does not draw
        d = um(rule.value, dbu)
        a = r[rule.layer]
        if rule.kind == "width":
            bad = a.width_check(d).count()
        elif rule.kind == "space":
            bad = a.space_check(d).count()
        elif rule.kind == "enclosure":
            b = r[rule.other]
            bad = a.enclosing_check(b, d).count() + (b - a).count()
        else:
            b = r[rule.other]
            bad = a.separation_check(b, d).count() + (a & b).count()
        assert bad == 0, f"{rule.name}: {bad} violations"
        checked.add(rule.name)
    # Every relief rule of these kinds was reached (none skipped for an empty layer).
    assert checked == {
        "RDL.W.1", "RDL.S.1", "RDL.SEAL.S", "WELL.W.1", "WELL.S.1", "WELL.EN.PAD", "RDL.EN.WELL", "WELL.SEAL.S",
        "MOULD1.W.1", "MOULD1.S.1", "MOULD2.W.1", "MOULD1.EN.MOULD2", "MOULD1.WELL.S", "MOULD1.SEAL.S",
        "MOULD2.EN.ENCAP", "RDL.EN.ENCAP", "ENCAP.W.1", "ENCAP.S.1", "STENCIL.S.1", "STENCIL.WELL.S",
        "STENCIL.SEAL.S", "STENCIL2.S.1", "STENCIL3.S.1", "PASTE.S.1"}


def test_template_keeps_pitch_grid_and_density(gds, die):
    r, dbu = gds["r"], gds["dbu"]
    for layer in ("MOULD1", "PASTE"):
        centres = np.array([[p.bbox().center().x * dbu, p.bbox().center().y * dbu] for p in r[layer].each()])
        d = np.hypot(*(centres[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(d, np.inf)
        assert d.min() >= PDK.value("pitch", layer) - 1e-6
    grid = PDK.find_rule("grid")
    _, result = die
    for name in grid.layers:
        xy = np.concatenate([shapely.get_coordinates(g) for g in result.layout.flat(name)] or [np.zeros((0, 2))])
        q = xy / grid.value
        assert np.abs(q - np.round(q)).max(initial=0) < 1e-6, name
    den = PDK.find_rule("density", "RDL")
    rdl = shapely.union_all(result.layout.flat("RDL"))
    x0, y0, x1, y1 = shapely.union_all(result.layout.flat("DIE")).bounds
    xs = np.arange(x0, x1 - den.window + den.step, den.step)
    ys = np.arange(y0, y1 - den.window + den.step, den.step)
    dens = [rdl.intersection(shapely.box(x, y, x + den.window, y + den.window)).area / den.window ** 2 for x in xs for y in ys]
    assert den.min <= min(dens) and max(dens) <= den.max


def test_template_passes_the_stencil_rules_read_back_from_gds(gds):
    r, lab, dbu = gds["r"], gds["labels"], gds["dbu"]
    thickness = thicknesses_from_labels(t for t, _, _ in lab["TEXT"])
    assert thickness == {"STENCIL": 10.0, "STENCIL2": 20.0, "STENCIL3": 20.0, "PASTE": 100.0}
    shapes = {name: to_shapely(r[name], dbu) for name in ("STENCIL", "STENCIL2", "STENCIL3", "PASTE")}
    found = check_stencils(shapes, thickness, family_rules(PDK))
    assert len(found) == 12
    assert {k: len(v) for k, v in found.items() if v} == {}
    # The rims of pass 3 are held by two bridges each: 96 pieces, no islands.
    assert len(shapes["STENCIL3"]) == 96 and all(not p.interiors for p in shapes["STENCIL3"])
    assert len(shapes["PASTE"]) == 48 and len(shapes["STENCIL2"]) == 48


# --- hierarchy, summary, determinism, the CLI ---------------------------------------------------

def test_die_is_hierarchical(gds):
    top = gds["top"]
    ly = gds["layout"]
    placed = Counter(ly.cell(inst.cell_index).name for inst in top.each_inst())
    prot = [n for n in placed if n.startswith("PROTRUSION_")]
    wells = [n for n in placed if n.startswith("WELLSTACK_")]
    assert len(prot) == 1 and placed[prot[0]] == 48
    assert len(wells) == 1 and placed[wells[0]] == 48
    # Cell names derive from the parameters.
    assert prot[0] == "PROTRUSION_OCT_F260_R180_O0_0_PRND80_W30B40x2_W30B30x2"
    assert wells[0] == "WELLSTACK_RECT_70x70_C5"


def test_summary_reports_the_counts_and_figures(built: Path):
    s = json.loads((built / "summary.json").read_text())
    c = s["counts"]
    assert (c["pads"], c["wells"], c["protrusions"], c["balls"], c["tracks"]) == (48, 48, 48, 48, 48)
    assert (c["encap_openings"], c["paste_apertures"], c["connected_balls"], c["nets"]) == (48, 48, 48, 34)
    assert c["stencil_bridges"] == 96 and c["relief_print_apertures"] == 1 + 48 + 96
    relief, ball = s["relief"], s["ball_stencil"]
    assert relief["rim_min_um"] == pytest.approx(40.0, abs=0.01)
    assert relief["print_passes"]["STENCIL3"]["min_aspect_ratio"] == pytest.approx(2.0, abs=0.01)
    # Ø300 µm round paste aperture in a 100 µm foil: area ratio D / 4t = 0.75, aspect 3.
    assert ball["aperture_um"] == pytest.approx(300.0, abs=0.05)
    assert ball["area_ratio"] == pytest.approx(0.75, abs=0.001)
    assert ball["aspect_ratio"] == pytest.approx(3.0, abs=0.002)
    assert ball["paste_volume_nl"] == pytest.approx(np.pi / 4 * 300 ** 2 * 100 * 1e-6, rel=2e-3)
    assert 100 < ball["ball_height_um"] < 250
    assert s["routing"]["total_length_um"] > 0 and len(s["routing"]["assignment"]) == 48


def test_ball_height_is_the_spherical_cap_of_the_solder():
    # A hemisphere of radius 100 µm on a Ø200 µm pad: V = 2/3 π r³, height 100.
    v = 2 / 3 * np.pi * 100 ** 3
    assert ball_height(v / 0.5, 0.5, 200.0) == pytest.approx(100.0, rel=1e-9)


def test_the_cli_builds_the_template_to_the_same_bytes(built: Path, tmp_path: Path):
    """`layoutgen build` (a new process) writes what build() wrote for the same config, byte for byte."""
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "layoutgen", "build", str(TEMPLATE), "-o", str(tmp_path), "--no-drc"],
                       capture_output=True, text=True, cwd=TEMPLATE.parent.parent)
    assert p.returncode == 0, p.stderr
    assert "48 wells" in p.stdout and "6 masks" in p.stdout
    again = tmp_path / "relief_csp"
    names = ["relief_csp.gds", *(f"masks/{m}.gds" for m in ("STENCIL", "STENCIL2", "STENCIL3", "PASTE"))]
    for name in names:
        assert filecmp.cmp(built / name, again / name, shallow=False), name
    assert len(list((tmp_path / "relief_csp" / "masks").glob("*.gds"))) == 6


# --- bad configs ---------------------------------------------------------------------------------

def _variant(write_config, old: str, new: str) -> Path:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert old in text
    return write_config(text.replace(old, new))


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


@pytest.mark.parametrize("old, new, field, needle, rule", [
    ("recess=180,", "recess=240,", "Tiers.recess = 240", "tiers=Tiers(", "MOULD1.EN.MOULD2"),
    ("thickness=100,", "thickness=125,", "BallStencil.thickness = 125", "stencil=BallStencil(", "PASTE.AR"),
    ("pitch=400,", "pitch=350,", "BallGrid.pitch = 350", "grid=BallGrid(", "MOULD1.P.1"),
    ("overprint=80", "overprint=160", "BallStencil.overprint = 160", "stencil=BallStencil(", "PASTE.S.1"),
    ("well_clearance=5,", "well_clearance=2,", "ReliefCsp.well_clearance = 2", "package=ReliefCsp(", "WELL.EN.PAD"),
    ("footprint=260,", "footprint=330,", "Protrusions.footprint = 330", "protrusions=Protrusions(", "MOULD1.S.1"),
])
def test_bad_values_name_the_line_field_value_and_rule(write_config, old, new, field, needle, rule):
    cfg = _variant(write_config, old, new)
    design = load_config(cfg)
    with pytest.raises(ConfigError) as e:
        build_die(design, PDK)
    msg = str(e.value)
    assert field in msg and rule in msg
    m = re.match(rf"{re.escape(str(cfg))}:(\d+): ", msg)
    assert m, msg
    assert _line_of(cfg, needle) <= int(m.group(1)) <= _line_of(cfg, needle) + 12


def test_tiers_must_step_down(write_config):
    cfg = _variant(write_config, "protuberant_height=40,", "protuberant_height=15,")
    with pytest.raises(ConfigError) as e:
        load_config(cfg)
    assert "Tiers" in str(e.value) and "protuberant_height 15" in str(e.value)


def test_a_rim_too_thin_to_print_is_refused(write_config):
    # A 40 µm rim printed 30 µm thick: aspect ratio 1.33 < 1.5 would drop it from pass 3.
    cfg = _variant(write_config, "protuberant_height=40,", "protuberant_height=50,")
    with pytest.raises(ConfigError) as e:
        build_die(load_config(cfg), PDK)
    assert "Tiers.protuberant_height = 50" in str(e.value) and "STENCIL3.ASP" in str(e.value)


def test_model_is_a_package_with_its_family():
    assert ReliefCsp.model_fields["family"].default == "relief_csp"
    design = load_config(TEMPLATE)
    assert isinstance(design.package, ReliefCsp) and design.pdk == "relief400"


def test_an_offset_recess_moves_the_ball_seat_and_its_track_follows(write_config):
    cfg = _variant(write_config, "recess_offset=(0, 0),", "recess_offset=(10, 0),")
    # Printed, an offset protrusion cannot be turned to keep its rim's bridge gaps off its track: refused, naming a ball.
    with pytest.raises(ConfigError, match=r"the track to ball \w+ crosses a gap a stencil bridge leaves .* route='mould'"):
        build_die(load_config(cfg), PDK)
    prints = relief_prints_of(load_config(cfg))
    # 30 µm of rim printed 20 µm thick is exactly the 1.5 aspect ratio: it prints, bridged (2 bridges, 2 apertures).
    assert len(prints["STENCIL3"].apertures) == 2 and len(prints["STENCIL3"].bridges) == 2
    cfg = _variant(write_config, "recess_offset=(0, 0),", "recess_offset=(10, 0),").read_text().replace('route="print"', 'route="mould"')
    result = build_die(load_config(write_config(cfg, "moulded.py")), PDK)
    lay = result.layout
    feet, openings = lay.flat("MOULD1"), lay.flat("ENCAP")
    # Each ball seat sits 10 µm right of its footprint's centre; the rim is 30 µm at its narrowest.
    for o in openings:
        foot = next(f for f in feet if f.contains(o))
        assert o.centroid.x - foot.centroid.x == pytest.approx(10.0, abs=1e-6)
        assert o.centroid.y - foot.centroid.y == pytest.approx(0.0, abs=1e-6)
    assert result.extra["relief"]["rim_min_um"] == pytest.approx(30.0, abs=0.01)
    # Ball labels and ball positions follow the seat; every track still reaches its seat.
    assert {(round(lb.x, 3), round(lb.y, 3)) for lb in lay.flat_labels("PASTE")} == \
        {(round(o.centroid.x, 3), round(o.centroid.y, 3)) for o in openings}
    rdl = shapely.get_parts(shapely.union_all(lay.flat("RDL"))).tolist()
    assert len(rdl) == 48 and all(sum(p.contains(o) for p in rdl) == 1 for o in openings)


def test_a_rim_the_print_would_lose_is_refused(write_config):
    # Offset 15 µm: the mould rule (rim ≥ 20 µm) holds at 25 µm, but 25 µm cannot print 20 µm thick.
    cfg = _variant(write_config, "recess_offset=(0, 0),", "recess_offset=(15, 0),")
    with pytest.raises(ConfigError) as e:
        build_die(load_config(cfg), PDK)
    assert "protuberant rim is narrower than 1.5 × its 20 µm print thickness (STENCIL3.ASP)" in str(e.value)


def relief_prints_of(design):
    """The relief print passes of one protrusion of `design`."""
    from layoutgen.families.relief_csp.build import print_passes
    from layoutgen.families.relief_csp.cells.protrusion import ProtrusionSpec, relief_prints

    pkg = design.package
    passes = print_passes(pkg, PDK)
    t = pkg.protrusions.tiers
    spec = ProtrusionSpec(pkg.protrusions.footprint, t.recess, pkg.protrusions.shape, t.recess_offset, pkg.stencil.shape,
                          pkg.stencil.overprint, passes["STENCIL2"][1], passes["STENCIL3"][1])
    return relief_prints(spec, PDK)


def _mask_polygons(path: Path, layer: tuple[int, int]) -> list[Polygon]:
    """The polygons of one mask file (merged, µm), the label's letters (below the die field) left out."""
    ly = kdb.Layout()
    ly.read(str(path))
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.find_layer(*layer))).merged()
    bottom = -json.loads((path.parent.parent / "summary.json").read_text())["die"]["height_um"] / 2
    return [p for p in to_shapely(region, ly.dbu) if p.area > 1000.0 and p.centroid.y > bottom]


def test_mould_masks_are_mirrored_and_stencils_are_not(moulded: Path, built: Path):
    # With the ball seat 10 µm right of centre, a mirrored mask shows it 10 µm left.
    out = moulded
    masks = {m["name"]: m for m in json.loads((out / "summary.json").read_text())["masks"]}
    assert [n for n, m in masks.items() if m["mirror"]] == ["WELL", "MOULD1", "MOULD2"]
    feet = _mask_polygons(out / "masks" / "MOULD1.gds", (61, 0))
    seats = _mask_polygons(out / "masks" / "MOULD2.gds", (62, 0))
    assert len(feet) == len(seats) == 48
    for seat in seats:
        foot = next(f for f in feet if f.contains(seat))
        assert seat.centroid.x - foot.centroid.x == pytest.approx(-10.0, abs=1e-6)
    # The stencils are seen from the squeegee side, like the wafer: not mirrored. The printed template's
    # protrusions are turned one by one (bridge gaps off the tracks), so the rim stencil is not symmetric:
    # its mask file is the drawn layer as it is, and mirrored it is not.
    masks = {m["name"]: m for m in json.loads((built / "summary.json").read_text())["masks"]}
    assert not masks["STENCIL3"]["mirror"] and not masks["PASTE"]["mirror"]
    rims = shapely.union_all(_mask_polygons(built / "masks" / "STENCIL3.gds", (60, 3)))
    ly = kdb.Layout()
    ly.read(str(built / "relief_csp.gds"))
    drawn = shapely.union_all(to_shapely(kdb.Region(ly.top_cell().begin_shapes_rec(ly.find_layer(60, 3))).merged(), ly.dbu))
    assert rims.symmetric_difference(drawn).area < 1.0
    assert rims.symmetric_difference(shapely.affinity.scale(drawn, -1, 1, origin=(0, 0))).area > 1000.0

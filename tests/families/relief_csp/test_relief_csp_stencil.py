"""Print stencils: the IPC-7525 rules, bridges that hold foil islands, and the Gerber/DXF for the shop.

The rules are tested on small apertures built here with a known answer (an area ratio of
0.6, a ring with no bridge, a slot too narrow for its foil); the files are read back with
gerbonara, with a plain-text reading of the Gerber, and with KLayout's DXF reader.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely
from shapely.geometry import Polygon, box

from layoutgen.families.relief_csp.cells.stencil import bridges, drop_narrow, islands, paste_aperture, print_apertures
from layoutgen.families.relief_csp.cells.tiers import outline
from layoutgen.config import load_config
from layoutgen.families.relief_csp.build import build_die
from layoutgen.families.relief_csp.rules import (
    apertures,
    area_ratio,
    check_area_ratio,
    check_aspect_ratio,
    check_islands,
    check_stencils,
    family_rule,
    family_rules,
    narrowest_width,
)
from layoutgen.families.relief_csp.stencil_export import (
    dxf_text,
    export_stencils,
    gerber_bytes,
    read_dxf,
)
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES

PDK = load_pdk("relief400")
GRID = PDK.grid_um


@pytest.fixture(scope="module")
def template_layout():
    design = load_config(TEMPLATES / "relief_csp.py")
    return build_die(design, PDK).layout


def ring(outer: float, inner: float) -> Polygon:
    """A square ring aperture: a pad of `inner` µm with foil around it, cut in a square of `outer`."""
    return box(-outer / 2, -outer / 2, outer / 2, outer / 2).difference(box(-inner / 2, -inner / 2, inner / 2, inner / 2))


# --- the rules come from the PDK ----------------------------------------------------------------

def test_stencil_rules_come_from_the_pdk():
    rules = {r.name: r for r in family_rules(PDK)}
    assert len(rules) == 12
    for layer in ("STENCIL", "STENCIL2", "STENCIL3", "PASTE"):
        assert rules[f"{layer}.AR"].kind == "area_ratio" and rules[f"{layer}.AR"].value == 0.66
        assert rules[f"{layer}.ASP"].kind == "aspect_ratio" and rules[f"{layer}.ASP"].value == 1.5
        assert rules[f"{layer}.ISL"].kind == "island"
    assert family_rule(PDK, "island", "STENCIL3").value == 2


# --- area ratio -----------------------------------------------------------------------------------

def test_area_ratio_finds_an_aperture_of_0_6():
    rule = family_rule(PDK, "area_ratio", "PASTE")
    t = 100.0
    low = paste_aperture(box(-60, -60, 60, 60), "round", 60.0, PDK)       # Ø240 µm round: 240 / 400 = 0.6
    assert area_ratio(low, t) == pytest.approx(0.6, abs=1e-3)
    ok = paste_aperture(box(-60, -60, 60, 60), "round", 72.0, PDK)        # Ø264 µm: 0.66, at the limit
    assert area_ratio(ok, t) == pytest.approx(0.66, abs=1e-3)
    found = check_area_ratio([low, shapely.affinity.translate(ok, 500, 0)], rule, t)
    assert len(found) == 1
    message, where = found[0]
    assert "area ratio 0.600" in message and "PASTE.AR" in message
    assert where.equals(low)
    assert check_area_ratio([ok], rule, t) == []


def test_area_ratio_of_a_rectangle_is_lw_over_2t_l_plus_w():
    rule = family_rule(PDK, "area_ratio", "PASTE")
    slot = box(0, 0, 400, 100)                                           # 40000 / (1000 × t)
    assert area_ratio(slot, 60.0) == pytest.approx(40000 / (1000 * 60.0))
    assert len(check_area_ratio([slot], rule, 61.0)) == 1                # 0.656
    assert check_area_ratio([slot], rule, 60.0) == []                    # 0.667


# --- aspect ratio ---------------------------------------------------------------------------------

def test_aspect_ratio_finds_a_slot_too_narrow_for_its_foil():
    rule = family_rule(PDK, "aspect_ratio", "PASTE")
    slot = box(0, 0, 300, 14)
    found = check_aspect_ratio([slot], rule, 10.0)                       # 14 / 10 = 1.4 < 1.5
    assert len(found) == 1 and "aspect ratio 1.400" in found[0][0]
    assert check_aspect_ratio([box(0, 0, 300, 15)], rule, 10.0) == []    # exactly 1.5 passes


def test_aspect_ratio_marks_a_narrow_part_of_a_larger_aperture():
    rule = family_rule(PDK, "aspect_ratio", "PASTE")
    # A 200 µm square with a 10 µm wide tail: the tail is the violation, not the square.
    shape = shapely.union_all([box(0, 0, 200, 200), box(200, 95, 300, 105)])
    found = check_aspect_ratio([shape], rule, 20.0)
    assert len(found) == 1
    assert found[0][1].area == pytest.approx(1000.0, rel=0.02)
    assert narrowest_width(shape) == pytest.approx(10.0, abs=0.02)


# --- islands and bridges --------------------------------------------------------------------------

def test_island_rule_finds_a_ring_aperture_without_bridges():
    rule = family_rule(PDK, "island", "PASTE")
    found = check_islands([ring(400, 200)], rule)
    assert len(found) == 1
    assert found[0][1].area == pytest.approx(200 * 200)
    assert "PASTE.ISL" in found[0][0]
    # Two C-shaped halves that touch still enclose the foil: merged, they are one ring.
    halves = [ring(400, 200).intersection(box(-300, -300, 0, 300)), ring(400, 200).intersection(box(0, -300, 300, 300))]
    assert len(check_islands(halves, rule)) == 1


def test_bridges_hold_the_ring_and_leave_nothing_unprintable():
    width = PDK.value("space", "PASTE")
    rule_isl = family_rule(PDK, "island", "PASTE")
    pieces, cut = print_apertures(ring(400, 200), 1.5 * 50.0, width, int(rule_isl.value), GRID)
    assert len(cut) == 2 and len(pieces) == 2                             # two bridges, two C-shapes
    assert check_islands(pieces, rule_isl) == []
    for b in cut:                                                         # each bridge spans the ring wall
        x0, y0, x1, y1 = b.bounds
        assert min(x1 - x0, y1 - y0) == pytest.approx(width)
        assert max(x1 - x0, y1 - y0) == pytest.approx(100.0)
    # The bridges are a symmetric pair: the foil web between the halves is the bridge width.
    assert shapely.distance(pieces[0], pieces[1]) == pytest.approx(width)
    assert sum(p.area for p in pieces) == pytest.approx(ring(400, 200).area - 2 * 100 * width)
    t = 50.0
    assert check_area_ratio(pieces, family_rule(PDK, "area_ratio", "PASTE"), t) == []
    assert check_aspect_ratio(pieces, family_rule(PDK, "aspect_ratio", "PASTE"), t) == []


def test_each_island_gets_its_bridges_along_the_shortest_way_out():
    # A relief print over a die with two wells: one near the left edge, one in the middle.
    region = box(0, 0, 1000, 600).difference(shapely.union_all([box(60, 260, 140, 340), box(460, 260, 540, 340)]))
    assert len(islands(region)) == 2
    cut = bridges(region, 40.0, 1, GRID)
    assert len(cut) == 2
    left = next(b for b in cut if b.bounds[0] < 100)
    assert left.bounds[0] <= 0 and left.bounds[2] == pytest.approx(100.0)  # out through the left edge
    middle = next(b for b in cut if b.bounds[0] >= 100)
    # 300 µm up or down beats 500 µm sideways; the tie goes to +y.
    assert middle.bounds == pytest.approx((480.0, 300.0, 520.0, 620.0))
    pieces, _ = print_apertures(region, 15.0, 40.0, 1, GRID)
    assert islands(shapely.union_all(pieces)) == []


def test_thin_strips_are_left_as_foil():
    # A 10 µm strip between a well and the edge cannot print at 10 µm (aspect 1.0): it becomes foil,
    # and the well, now tied to the outer foil, needs no bridge.
    region = box(0, 0, 1000, 600).difference(box(10, 260, 90, 340))
    pieces, cut = print_apertures(region, 15.0, 40.0, 1, GRID)
    assert cut == [] and len(pieces) == 1 and not pieces[0].interiors
    assert region.area - pieces[0].area == pytest.approx(10 * 80, abs=1.0)
    assert drop_narrow(box(0, 0, 100, 100), 15.0, GRID).equals(box(0, 0, 100, 100))


def test_template_stencils_pass_every_stencil_rule(template_layout):
    thickness = {"STENCIL": 10.0, "STENCIL2": 20.0, "STENCIL3": 20.0, "PASTE": 100.0}
    shapes = {k: template_layout.flat(k) for k in thickness}
    found = check_stencils(shapes, thickness, family_rules(PDK))
    assert sorted(found) == sorted(r.name for r in family_rules(PDK))
    assert all(v == [] for v in found.values())
    # A foil too thick for the rims (25 µm: 40 / 25 = 1.6 passes; 30 µm: 1.33 fails) is caught.
    worse = check_stencils(shapes, thickness | {"STENCIL3": 30.0}, family_rules(PDK))
    assert len(worse["STENCIL3.ASP"]) == 96
    # So is a missing thickness: the check cannot be made, and says so.
    unknown = check_stencils(shapes, {"PASTE": 100.0}, family_rules(PDK))
    assert "no foil thickness" in unknown["STENCIL.AR"][0][0]


# --- Gerber X2 and DXF ------------------------------------------------------------------------------

def _plain_gerber(text: str) -> list[Polygon]:
    """An independent reading of our Gerber: FS/MO, G36…G37 regions, %LPD/%LPC polarity."""
    fs = re.search(r"%FSLAX(\d)(\d)Y(\d)(\d)\*%", text)
    assert fs and "%MOMM*%" in text
    scale = 1000.0 / 10 ** int(fs.group(2))                              # file units (mm) → µm
    shape, dark, ring_pts, inside = Polygon(), True, [], False
    for word in re.findall(r"%[^%]*%|[^*%\s]+\*", text):
        if word.startswith("%LP"):
            dark = word == "%LPD*%"
        elif word == "G36*":
            inside, ring_pts = True, []
        elif word == "G37*":
            poly = Polygon(ring_pts)
            shape = shape.union(poly) if dark else shape.difference(poly)
            inside = False
        elif inside and (m := re.fullmatch(r"X(-?\d+)Y(-?\d+)D0[12]\*", word)):
            ring_pts.append((int(m.group(1)) * scale, int(m.group(2)) * scale))
    return apertures([shape])


def read_gerber(path: Path) -> list[Polygon]:
    """The apertures of a Gerber file read by gerbonara (the test extra): dark regions add, clear ones remove (µm)."""
    gerbonara = pytest.importorskip("gerbonara")
    from gerbonara.graphic_objects import Region
    from gerbonara.utils import MM

    shape = Polygon()
    for obj in gerbonara.GerberFile.open(path).objects:
        if not isinstance(obj, Region) or len(obj.outline) < 3:
            continue
        scale = 1000.0 if obj.unit == MM else 25400.0
        poly = shapely.make_valid(Polygon([(x * scale, y * scale) for x, y in obj.outline]))
        shape = shape.union(poly) if obj.polarity_dark else shape.difference(poly)
    return apertures([shape])


def _klayout_dxf(path: Path, layer: str) -> kdb.Region:
    opts = kdb.LoadLayoutOptions()
    opts.dxf_unit = 1000.0                                              # 1 drawing unit (mm) = 1000 µm
    opts.dxf_dbu = 0.001
    ly = kdb.Layout()
    ly.read(str(path), opts)
    idx = next(li for li in ly.layer_indexes() if ly.get_info(li).name == layer)
    return kdb.Region(ly.top_cell().begin_shapes_rec(idx)).merged()


@pytest.fixture(scope="module")
def exported(template_layout, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("stencils")
    export_stencils(template_layout, out)
    return out


@pytest.mark.parametrize("layer, count", [("PASTE", 48), ("STENCIL", 1), ("STENCIL2", 48), ("STENCIL3", 96)])
def test_gerber_and_dxf_give_back_the_same_apertures(template_layout, exported, layer, count):
    drawn = apertures(template_layout.flat(layer))
    area = sum(p.area for p in drawn)
    assert len(drawn) == count
    readings = {
        "gerbonara": read_gerber(exported / f"{layer}.gbr"),
        "plain text": _plain_gerber((exported / f"{layer}.gbr").read_text()),
        "ezdxf": read_dxf(exported / f"{layer}.dxf", layer),
    }
    for how, back in readings.items():
        assert len(back) == count, how
        assert sum(p.area for p in back) == pytest.approx(area, rel=1e-3), how
        # Not only the totals: the same places (every aperture found where it was drawn).
        assert shapely.union_all(back).symmetric_difference(shapely.union_all(drawn)).area < 1e-3 * area, how
    k = _klayout_dxf(exported / f"{layer}.dxf", layer)
    assert k.count() == count
    assert k.area() * 1e-6 == pytest.approx(area, rel=1e-3)


def test_gerber_is_x2_with_the_stencil_function(exported):
    paste = (exported / "PASTE.gbr").read_text()
    # X2 attributes, in the G04 #@! form that every Gerber reader accepts
    assert "G04 #@! TF.FileFunction,Paste,Top*" in paste and "G04 #@! TF.FilePolarity,Positive*" in paste
    assert "G04 #@! TF.GenerationSoftware,layoutgen,layoutgen," in paste and "%MOMM*%" in paste
    assert "**" not in paste and "CreationDate" not in paste and paste.rstrip().endswith("M02*")
    relief = (exported / "STENCIL3.gbr").read_text()
    assert "G04 #@! TF.FileFunction,Other,Relief print stencil pass 3 (protuberant zones)*" in relief
    assert paste.count("G36*") == 48


def test_holes_survive_the_round_trip(tmp_path: Path):
    ap = [ring(400, 200), shapely.affinity.translate(box(0, 0, 100, 100), 500, 0)]
    back_g = _plain_gerber(gerber_bytes(ap, "PASTE").decode())
    assert len(back_g) == 2 and sum(len(p.interiors) for p in back_g) == 1
    assert sum(p.area for p in back_g) == pytest.approx(400 ** 2 - 200 ** 2 + 100 ** 2)
    text = dxf_text(ap, "PASTE")
    assert text.count("LWPOLYLINE") == 3                                  # two outlines and one hole
    path = tmp_path / "ring.dxf"
    path.write_text(text)
    back_d = read_dxf(path)
    assert len(back_d) == 2 and sum(len(p.interiors) for p in back_d) == 1


def test_export_is_deterministic(template_layout, exported, tmp_path: Path):
    export_stencils(template_layout, tmp_path)
    for name in ("PASTE.gbr", "PASTE.dxf", "STENCIL.gbr", "STENCIL.dxf"):
        assert (tmp_path / name).read_bytes() == (exported / name).read_bytes(), name


# --- cells ----------------------------------------------------------------------------------------------

def test_paste_aperture_is_the_opening_plus_the_overprint():
    opening = outline(140, "octagon", PDK)
    for shape in ("round", "square", "octagon"):
        ap = paste_aperture(opening, shape, 80.0, PDK)
        assert narrowest_width(ap) == pytest.approx(300.0, abs=0.05)
        assert ap.contains(opening)
    sq = paste_aperture(box(-50, -50, 50, 50), "square", 25.0, PDK)
    assert sq.equals(box(-75, -75, 75, 75))
    assert math.isclose(area_ratio(sq, 50.0), 150 * 150 / (600 * 50.0))


def test_build_hook_writes_the_stencil_files(tmp_path: Path):
    from layoutgen.families.relief_csp.build import write_extra_outputs

    design = load_config(TEMPLATES / "relief_csp.py")
    written = write_extra_outputs(build_die(design, PDK), tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{layer}.{ext}" for layer in ("PASTE", "STENCIL", "STENCIL2", "STENCIL3") for ext in ("gbr", "dxf"))
    assert all(p.parent == tmp_path / "stencils" and p.stat().st_size > 0 for p in written)


def test_wells_away_from_the_edge_are_held_by_one_bridge_each(write_config):
    # Pads 200 µm in from the die edge: each well's foil island sits 120 µm inside pass 1's aperture.
    text = (TEMPLATES / "relief_csp.py").read_text().replace("inset=90, size=70", "inset=200, size=70")
    result = build_die(load_config(write_config(text)), PDK)
    base = apertures(result.layout.flat("STENCIL"))
    assert len(base) == 1 and len(base[0].interiors) == 0                # no island left
    assert result.extra["relief"]["print_passes"]["STENCIL"]["bridges"] == 48
    # The foil inside the aperture's outline is the wells' islands and one bridge each, out to the border.
    keep = PDK.value("separation", "STENCIL", "WELL")
    web = PDK.value("space", "STENCIL")
    frame = box(*base[0].bounds)
    foil = frame.difference(base[0])
    pieces = shapely.get_parts(foil)
    assert len(pieces) == 48 and all(p.intersects(frame.exterior) for p in pieces)  # each tied to the border
    islands_ = shapely.union_all([w.buffer(keep, join_style="mitre") for w in result.layout.flat("WELL")])
    tabs = [p for p in shapely.get_parts(foil.difference(islands_)) if p.area > 1.0]
    assert len(tabs) == 48
    for tab in tabs:
        x0, y0, x1, y1 = tab.bounds
        assert min(x1 - x0, y1 - y0) == pytest.approx(web)               # the PDK's bridge width
        assert max(x1 - x0, y1 - y0) == pytest.approx(120.0)             # the shortest way out
    found = check_stencils({"STENCIL": base}, {"STENCIL": 10.0}, [r for r in family_rules(PDK) if r.layer == "STENCIL"])
    assert all(v == [] for v in found.values())

"""Backside-groove WLCSP on a wafer: the plating network is drawn on the back with the wiring (BSWIRE
mask), every net plates before dicing and is its own piece after, the marks of the mirrored
masks register to each other and to the front-side pads, and the DRC of the template is clean.

The template's own 200 mm wafer is built through `layoutgen build` (with its DRC); the flat
cross-checks with KLayout run on the same die on a 100 mm wafer, whose mask files are read back
and mirrored (x → −x) into die coordinates.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import klayout.db as kdb
import klayout.rdb as rdb
import pytest
import shapely

from layoutgen.pipeline import build
from layoutgen.errors import ConfigError
from layoutgen.families.backside_wlcsp import rules as R
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES, template_variant

TEMPLATE = TEMPLATES / "backside_wlcsp.py"
PDK = load_pdk("backside400")
MASKS = ["GROOVE1", "GROOVE2", "BSWIRE", "SMASK", "BUMP"]
MIRROR = kdb.Trans(kdb.Trans.M90)   # x → −x: a mask file seen from the back, back into die coordinates
PADS_PER_DIE = 48


def variant(tmp: Path, name: str, change: str) -> Path:
    """A config: the template, then `change` applied to its `design`."""
    return template_variant(TEMPLATE, tmp / f"{name}.py", change)


# On 100 mm the GROOVE1 windows go through the wafer over two front keys in the edge region (not mirror images
# of each other, so a mask file that is not mirrored cannot line up with them).
SMALL = ("from layoutgen import Alignment, AlignmentKey\n"
         "design = design.model_copy(update={'name': 'backside_100', 'wafer': design.wafer.model_copy("
         "update={'diameter': 100, 'edge_exclusion': 18000, 'offset': (2050, 2050), 'test_sites': [], 'reticle': None, 'alignment': Alignment(backside='through_wafer', keys=["
         "AlignmentKey(x=-2000, y=30500, frame='wafer'), AlignmentKey(x=6000, y=-30000, frame='wafer')])})})")


@pytest.fixture(scope="module")
def wafer(tmp_path_factory) -> Path:
    """The template as `layoutgen build` makes it: 200 mm wafer, masks, DRC."""
    return build(TEMPLATE, out=tmp_path_factory.mktemp("out"), quiet=True).out_dir


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """The template's die on a 100 mm wafer (no shots), for flat checks of the written files."""
    cfg = variant(tmp_path_factory.mktemp("cfg"), "small", SMALL)
    with pytest.MonkeyPatch.context() as mp:   # measured on its files: no preview PNGs (the template's wafer has them)
        mp.setattr("layoutgen.pipeline.render_previews", lambda *a, **k: [])
        return build(cfg, out=tmp_path_factory.mktemp("out"), drc=False, quiet=True).out_dir


@lru_cache(maxsize=None)
def layout(path: Path) -> kdb.Layout:
    """The layout read from `path`, kept alive (a region built on it refers to it)."""
    ly = kdb.Layout()
    ly.read(str(path))
    return ly


def region(ly: kdb.Layout, name: str, cell: str | None = None, near: kdb.Box | None = None) -> kdb.Region:
    """The flattened region of a PDK layer under the top (or the named) cell; only shapes touching `near` if given."""
    top = ly.cell(cell) if cell else ly.top_cell()
    layer = ly.layer(*PDK.layer(name).gds)
    return kdb.Region(top.begin_shapes_rec_touching(layer, near) if near else top.begin_shapes_rec(layer))


def to_shapely(r: kdb.Region) -> list[shapely.Polygon]:
    return [shapely.Polygon([(p.x / 1000, p.y / 1000) for p in poly.each_point_hull()],
                            [[(p.x / 1000, p.y / 1000) for p in poly.each_point_hole(i)] for i in range(poly.holes())])
            for poly in r.each()]


def um(v: float) -> int:
    return round(v * 1000)


def wafer_box(ly: kdb.Layout) -> kdb.Region:
    """The wafer's bounding box (the WAFER outline band), which the mask labels lie outside."""
    return kdb.Region(region(ly, "WAFER").bbox())


# --- the template's wafer -------------------------------------------------------------------------

def test_the_template_wafer_plates_isolates_and_is_drc_clean(wafer: Path):
    s = json.loads((wafer / "summary.json").read_text())
    w = s["wafer"]
    assert (w["diameter_mm"], w["dies"], s["counts"]["dies"]) == (200, 1661, 1661)
    assert w["shots"]["per_shot"] == [5, 6] and w["shots"]["dies_per_shot"] == 30
    assert w["plating"]["tails_per_die"] == w["plating"]["pieces_per_die"] == PADS_PER_DIE
    assert w["plating"]["without_tail"] == [] and w["plating"]["ok"] and w["isolation"]["ok"]
    assert w["result"] == ("79,728 BSWIRE pieces (34 nets per die) plate (48 per die × 1,661 dies) and 90 test-structure "
                           "pieces (3 test sites): one network joined to the contact ring; all 79,728 pieces isolated after "
                           "dicing (48 per die × 1,661 dies, 34 nets per die); 3 test sites cut free of the bus")
    assert w["test_structures"]["sites"] == ["R24C24", "R47C24", "R1C24"]     # centre, top, bottom of the template
    # 30 pieces a site: the groove chain's 19 links and 2 end leads, the Kelvin's 2 leads, line, comb halves, 4 monitors
    assert sum(1 for st in w["test_structures"]["structures"] if st["site"] == "R24C24") == 8
    masks = {m["name"]: m for m in s["masks"]}
    assert list(masks) == MASKS and all(m["mirror"] for m in masks.values())
    assert masks["BSWIRE"]["layers"] == ["BSWIRE", "PLATE"]
    drc = json.loads((wafer / "drc.json").read_text())
    assert drc["ok"] and drc["totals"]["violations"] == 0
    ran = {r["name"] for r in drc["rules"]}
    assert {"PLATE.NET", "PLATE.ISO", "PLATE.W.1", "PLATE.S.1", "PLATE.OV.BSWIRE", "BSWIRE.CUT", "GROOVE1.WALL",
            "BSWIRE.GROOVE1.X", "GROOVE1.ROW", "GROOVE2.ROW", "BSWIRE.DEN", "NET.OPEN", "NET.SHORT"} <= ran
    assert not ran & {"PLATE.OV.RDL", "RDL.W.1", "PV1.W.1", "UBM.W.1"}       # the fan-in deck's layers are not here


def test_the_mask_order_lists_the_backside_masks_mirrored_from_the_pads(wafer: Path):
    rows = json.loads((wafer / "masks" / "mask_order.json").read_text())
    assert [r["mask"] for r in rows] == MASKS and all(r["mirror"] for r in rows)
    assert rows[2]["layers"] == "BSWIRE+PLATE" and rows[2]["gds_layer"] == "82/0"
    assert rows[0]["alignment_sequence"] == "KEYS > GROOVE1"
    assert rows[-1]["alignment_sequence"] == "KEYS > GROOVE1 > BSWIRE > SMASK > BUMP"


def test_every_tail_leaves_its_pad_square_across_the_groove_wall_and_the_seal_to_the_bus(wafer: Path):
    """In the plated die cell: one tail per pad, from the pad centre straight out of the die to the kerf centre line."""
    s = json.loads((wafer / "summary.json").read_text())
    ly = layout(wafer / f"{wafer.name}.gds")
    cell = s["wafer"]["cells"]["plated_die"]
    tails = to_shapely(region(ly, "PLATE", cell).merged())
    assert len(tails) == PADS_PER_DIE
    half, reach, width = 2000.0, s["wafer"]["scribe_um"] / 2, s["wafer"]["plating"]["tail_width_um"]
    pads = to_shapely(region(ly, "PAD", cell).merged())
    for t in tails:
        x0, y0, x1, y1 = t.bounds
        assert sorted([round(x1 - x0, 3), round(y1 - y0, 3)])[0] == width                  # straight, tail-wide
        assert max(abs(v) for v in t.bounds) == pytest.approx(half + reach)               # ends on the kerf centre line
        starts = [p.centroid for p in pads if t.exterior.distance(p.centroid) < 1e-3]
        assert len(starts) == 1                                                          # starts at one pad's centre,
        c = starts[0]
        assert min(abs(c.x - (x0 + x1) / 2), abs(c.y - (y0 + y1) / 2)) < 1e-3            # on its centre line
    metal = to_shapely(region(ly, "BSWIRE", cell)) + tails
    grooves = to_shapely(region(ly, "GROOVE1", cell).merged())
    assert R.groove_wall_crossings(metal, grooves, R.family_rule(PDK, "wall_crossing"), PDK.rule("width", "BSWIRE")) == []
    band = shapely.union_all([g.buffer(20.0, join_style="mitre").difference(g) for g in grooves])
    crossings = shapely.get_parts(shapely.union_all(metal).intersection(band))
    assert len(crossings) == 2 * PADS_PER_DIE                          # a lead in, a tail out, at every pad
    # a tail leaves its pad over that pad's own stretch of the cut (the same mask as its lead), nowhere else
    cuts = to_shapely(region(ly, "GROOVE2", cell))
    assert R.cut_contacts(metal, cuts, pads, R.family_rule(PDK, "cut_contact")) == []
    on_cut = shapely.union_all(tails).intersection(shapely.union_all(cuts))
    assert on_cut.difference(shapely.union_all(pads)).area < 1e-6


# --- the written masks, read back by KLayout -----------------------------------------------------

@pytest.mark.parametrize("mask", MASKS)
def test_every_mask_file_is_its_drawn_layers_mirrored_across_the_wafer(small: Path, mask: str):
    """Across a strip through the wafer centre (dies, lanes, bus, ring, both mark sites) and below it (the label):
    BSWIRE carries the wiring and the plating network, the others their own layer."""
    combined = layout(small / f"{small.name}.gds")
    written = layout(small / "masks" / f"{mask}.gds")
    layers = PDK.masks[MASKS.index(mask)].layers
    inside = wafer_box(combined)
    x0, x1 = inside.bbox().left, inside.bbox().right
    strip = kdb.Box(x0 - 1, -um(3000), x1 + 1, um(3000))               # symmetric about x = 0: its own mirror image
    drawn = kdb.Region()
    for name in layers:
        drawn += region(combined, name, near=strip)
    drawn = (drawn & kdb.Region(strip)).merged()
    data = region(written, layers[0], near=strip) & kdb.Region(strip)   # a mask file holds its data on its first layer's number
    back = data.transformed(MIRROR).merged()
    assert drawn.count() >= 2 * 12 and (back ^ drawn).is_empty()      # at least the dies of the strip
    assert not (data.merged() ^ drawn).is_empty()                       # as written it is the mirror image
    below = kdb.Box(x0, inside.bbox().bottom - um(20000), x1, inside.bbox().bottom - 1)
    assert not region(written, layers[0], near=below).is_empty()       # the mask label, below the wafer
    if mask == "BSWIRE":
        assert layers == ["BSWIRE", "PLATE"] and not (back & region(combined, "PLATE", near=strip)).is_empty()


def test_before_dicing_the_back_metal_is_one_piece_joined_to_the_ring(small: Path):
    combined = layout(small / f"{small.name}.gds")
    back = region(layout(small / "masks" / "BSWIRE.gds"), "BSWIRE").transformed(MIRROR)
    pieces = (back & wafer_box(combined)).merged().not_inside(region(combined, "MARK"))
    assert pieces.count() == 1
    ring = region(combined, "WAFER")                                    # the edge exclusion band holds the ring
    assert pieces.interacting(ring).count() == 1


def test_after_dicing_every_die_holds_one_piece_per_pad_each_one_net(small: Path):
    combined = layout(small / f"{small.name}.gds")
    s = json.loads((small / "summary.json").read_text())
    dies = s["wafer"]["dies"]
    back = region(layout(small / "masks" / "BSWIRE.gds"), "BSWIRE").transformed(MIRROR)
    diced = (back - region(combined, "KERF")).merged()
    sites = region(combined, "DIE").sized(um(s["wafer"]["scribe_um"] / 2))
    on_dies = diced.inside(sites)
    assert on_dies.count() == PADS_PER_DIE * dies
    labels = kdb.Texts(combined.top_cell().begin_shapes_rec(combined.layer(*PDK.layer("PAD").gds)))
    assert labels.count() == PADS_PER_DIE * dies
    # as many pieces as pad labels, each piece holding exactly one and every label in a piece: one pad's net each
    assert on_dies.interacting(labels, 1, 1).count() == on_dies.count()
    assert labels.interacting(on_dies).count() == labels.count()


def test_the_marks_of_the_mirrored_masks_register_to_each_other_and_to_the_pads(wafer: Path):
    s = json.loads((wafer / "summary.json").read_text())
    marks = s["wafer"]["marks"]
    combined = layout(wafer / f"{wafer.name}.gds")
    files = {m: layout(wafer / "masks" / f"{m}.gds") for m in MASKS}

    def window(x: float, y: float, half: float) -> kdb.Region:
        return kdb.Region(kdb.Box(um(x - half), um(y - half), um(x + half), um(y + half)))

    def mark(target: str, layer: str, x: float, y: float, half: float) -> kdb.Region:
        """The mark as the mask file holds it, mirrored back, less the PLATE risers that join plated marks to the network."""
        near = window(x, y, half)
        risers = region(combined, "PLATE", near=near.bbox())
        return (region(files[target], layer, near=window(-x, y, half).bbox()).transformed(MIRROR) - risers) & near

    pairs = 0
    assert len(marks["sites"]) == 2
    for sx, sy in marks["sites"]:
        for target, slot in marks["slots"].items():
            x, y, half = sx + slot["x"], sy + slot["y"], slot["half_um"]
            cross = mark(target, slot["layer"], x, y, half)
            assert not cross.is_empty(), target
            for name in slot["aligned"]:
                frame = mark(name, PDK.masks[MASKS.index(name)].layers[0], x, y, half)
                c, f = cross.bbox(), frame.bbox()
                assert (c.center().x, c.center().y) == (f.center().x, f.center().y), (target, name)
                assert f.contains(c.p1) and f.contains(c.p2) and (frame & cross).is_empty()
                # the file as written holds the frame at the mirror image of the site
                raw = region(files[name], PDK.masks[MASKS.index(name)].layers[0], near=window(-x, y, half).bbox()) & window(-x, y, half)
                assert raw.bbox().center().x == -f.center().x
                pairs += 1
    assert pairs == 2 * (len(MASKS) - 1)  # every mask but the first (aligned to the front keys) has its box


@pytest.mark.parametrize("built", ["wafer", "small"])
def test_groove1_registers_to_the_front_keys_mirrored_framed_in_ir_or_opened_through_the_wafer(built, request):
    """GROOVE1, the first backside mask, at every front key: in infrared a box framing the key (the key itself left
    dark); through the wafer a window over it, as wide as the key, its gap and the sloped wall's run. The mask file
    holds it at the key's mirror image (x → −x), nothing at the key's own place."""
    out: Path = request.getfixturevalue(built)
    s = json.loads((out / "summary.json").read_text())
    keys = s["wafer"]["marks"]["keys"]
    mode = {"wafer": "ir", "small": "through_wafer"}[built]
    assert len(keys) == 2 and {k["mask"] for k in keys} == {"GROOVE1"} and {k["seen"] for k in keys} == {mode}
    gap = max(10.0, PDK.value("space", "GROOVE1"))
    g1 = layout(out / "masks" / "GROOVE1.gds")
    for k in keys:
        x, y, half = k["x"], k["y"], k["half_um"]
        box = kdb.Box(um(-x - half - 50), um(y - half - 50), um(-x + half + 50), um(y + half + 50))
        drawn = region(g1, "GROOVE1", near=box) & kdb.Region(box)
        assert not drawn.is_empty() and drawn.bbox().center() == kdb.Point(um(-x), um(y))    # mirrored: at (−x, y)
        assert drawn.bbox().width() == um(2 * half)
        mirror_image = kdb.Box(um(x - 5), um(y - 5), um(x + 5), um(y + 5))
        assert (region(g1, "GROOVE1", near=mirror_image) & kdb.Region(mirror_image)).is_empty()
        centre = kdb.Region(kdb.Box(um(-x - 1), um(y - 1), um(-x + 1), um(y + 1)))
        if mode == "ir":   # a frame: the key (and its gap) stays dark, the box outside it is etched
            assert (drawn & centre).is_empty() and half > k["key_size_um"] / 2 + gap
            hole = kdb.Region(drawn.bbox()) - drawn
            assert hole.bbox().width() == um(k["key_size_um"] + 2 * gap)
        else:              # a window over the key, widened for the sloped wall like the grooves
            assert (centre - drawn).is_empty()
            assert half == pytest.approx(k["key_size_um"] / 2 + gap + R.wall_run(PDK), abs=PDK.grid_um)
    rows = json.loads((out / "masks" / "mask_order.json").read_text())
    seen = {"ir": "seen through the wafer in infrared", "through_wafer": "through-wafer keys"}[mode]
    assert seen in rows[0]["alignment_mark"] and rows[0]["mask"] == "GROOVE1"


def test_a_backside_wafer_without_front_keys_is_refused(tmp_path):
    cfg = variant(tmp_path, "nokeys", "from layoutgen import Alignment\n"
                  "design = design.model_copy(update={'wafer': design.wafer.model_copy(update={'alignment': Alignment()})})")
    with pytest.raises(ConfigError, match=r"Wafer.alignment.keys is empty: the backside masks \(GROOVE1 first\)"):
        build(cfg, out=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# --- what goes wrong is found ---------------------------------------------------------------------

def test_a_tail_narrower_than_a_lead_is_caught_where_it_climbs_the_groove_wall(tmp_path):
    cfg = variant(tmp_path, "thin", SMALL + "\ndesign = design.model_copy(update={'wafer': design.wafer.model_copy("
                  "update={'plating': design.wafer.plating.model_copy(update={'tail_width': 10.0})})})")
    result = build(cfg, out=tmp_path / "out", quiet=True)
    drc, dies = result.drc, result.summary["wafer"]["dies"]
    counts = {k: v for k, v in drc.counts().items() if v}
    assert counts == {"BSWIRE.GROOVE1.X": PADS_PER_DIE}               # once per tail, in the plated die cell
    assert all("crosses the groove edge 10.000 µm wide < 15 µm" in v.message for v in drc.violations if v.rule == "BSWIRE.GROOVE1.X")
    assert drc.flat_counts()["BSWIRE.GROOVE1.X"] == PADS_PER_DIE * dies  # as a flat check counts them
    # every report says how many times a violation in the die cell occurs on the wafer
    data = json.loads((result.out_dir / "drc.json").read_text())
    rule = next(r for r in data["rules"] if r["name"] == "BSWIRE.GROOVE1.X")
    assert data["check"] == "hierarchical" and data["totals"]["violations_all_placements"] == PADS_PER_DIE * dies
    assert (rule["count"], rule["count_all_placements"]) == (PADS_PER_DIE, PADS_PER_DIE * dies)
    assert all(v["placements"] == dies and v["cell"].endswith("_PLATED") for v in rule["violations"])
    db = rdb.ReportDatabase("")
    db.load(str(result.out_dir / "drc.lyrdb"))
    texts = [v.string() for item in db.each_item() for v in item.each_value() if v.is_string()]
    assert len(texts) == PADS_PER_DIE and all(t.endswith(f"(in {dies:,} placements)") for t in texts)
    from test_view_report import parse

    table = parse(result.out_dir / "report.html").tables["DRC"]
    row = next(r for r in table if r[0] == "BSWIRE.GROOVE1.X")
    assert table[0][3] == "all placements" and row[2:4] == [str(PADS_PER_DIE), str(PADS_PER_DIE * dies)]


def test_spare_balls_cannot_plate_and_are_named(tmp_path):
    """Balls left without a net would float on the plated wafer (PLATE.NET on every die): the
    build refuses them at the ball grid's line, naming them (issue #18 cause 13)."""
    cfg = variant(tmp_path, "spare", SMALL + "\ndesign = design.model_copy(update={'package': design.package.model_copy("
                  "update={'balls': design.package.balls.model_copy(update={'depopulate': ['D4:E5']})})})")
    with pytest.raises(ConfigError, match=r"\.py:\d+: BallGrid.depopulate: balls (\w+, ){7}\w+ and 4 more have no net; "
                                          r"on a plated wafer"):
        build(cfg, out=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "backside_100").exists()


def test_a_family_without_a_wafer_level_refuses_one_naming_the_line(tmp_path):
    fanout = TEMPLATES / "fanout_2die.py"      # (the sheet family builds its own: one sheet over the wafer)
    cfg = template_variant(fanout, tmp_path / "fanout_wafer.py",
                           "from layoutgen import Wafer\ndesign = design.model_copy(update={'wafer': Wafer(diameter=100)})")
    with pytest.raises(ConfigError, match=r"fanout_wafer\.py:4: Design\.wafer: .*families wlcsp_fanin, relief_csp, "
                                          r"sheet_terminals, backside_wlcsp; family 'fanout'"):
        build(cfg, out=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out" / "fanout_2die").exists()


def test_the_report_shows_the_wafer_and_both_plating_results(wafer: Path):
    from test_view_report import parse

    table = dict((r[0], r[1]) for r in parse(wafer / "report.html").tables["Wafer"][1:])
    assert table["dies"] == "1661" and table["tails per die"] == "48"
    assert table["shots"] == "68 of 30 dies (5, 6), field 20500, 24600 µm"
    assert table["before dicing"].startswith("79,728 BSWIRE pieces") and table["before dicing"].endswith("joined to the contact ring")
    assert table["after dicing"].startswith("all 79,728 pieces isolated after dicing")
    assert table["plating tail, bus, ring (µm)"] == "20; 30; 2000"
    s = json.loads((wafer / "summary.json").read_text())["wafer"]["test_structures"]
    assert table["test sites"] == f"R24C24, R47C24, R1C24: {len(s['structures'])} structures on PAD, BSWIRE (probe pads in teststructures.csv)"   # the chain runs through the pads


def test_the_contact_ring_has_no_acute_notch_where_the_bus_meets_it(wafer):
    """KLayout's Euclidean space check on PLATE found 196 V notches here (issue #18 cause 18); none now."""
    ly = layout(wafer / "backside_wlcsp.gds")
    plate = region(ly, "PLATE")
    plate.merge()
    assert plate.space_check(round(PDK.value("space", "PLATE") / ly.dbu), False, kdb.Metrics.Euclidian).count() == 0


def test_mask_thumbnails_zoom_to_a_die_site_and_the_mark_site_even_when_mirrored(wafer):
    import klayout.lay as klay

    masks = json.loads((wafer / "summary.json").read_text())["masks"]
    assert masks and all(m["mirror"] for m in masks)
    for m in masks:
        for what in ("die", "mark"):
            png = wafer / "preview" / f"zoom_{m['name']}_{what}.png"
            pixels = klay.PixelBuffer.read_png(str(png))
            white = 0xFFFFFFFF
            # every 3rd pixel: a 4- or 8-pixel stipple (hatched fill) cannot fall between the samples everywhere
            inked = sum(1 for y in range(0, pixels.height(), 3) for x in range(0, pixels.width(), 3)
                        if pixels.pixel(x, y) | 0xFF000000 != white)
            assert inked > 20, (png.name, inked)          # something of the site is drawn, not empty field
    page = (wafer / "report.html").read_text()
    assert all(f'alt="mask {m["name"]}, the mark site"' in page for m in masks)


def test_after_dicing_the_groove_chain_runs_through_its_pads_and_touches_no_product_net(wafer: Path):
    """The centre site's chain read from the mask files (mirrored back) and the pads: from probe pad A, grow its net
    through each cut face (a cut through a pad lined by a lead) to the pad and on to the pad's other face: it reaches
    B through all 20 pads, and no product pad, ball or other structure, once the saw kerf is gone."""
    s = json.loads((wafer / "summary.json").read_text())
    structures = [st for st in s["wafer"]["test_structures"]["structures"] if st["site"] == "R24C24"]
    (chain,) = [st for st in structures if st["name"] == "CHAIN_GROOVE2"]
    (a, b) = [(p["x_um"], p["y_um"]) for p in chain["pads"]]
    cx, cy = (a[0] + b[0]) / 2, a[1] - 1600
    near = kdb.Box(um(cx - 6500), um(cy - 6500), um(cx + 6500), um(cy + 6500))    # the site and its neighbours
    mirrored = near.transformed(MIRROR)
    combined = layout(wafer / f"{wafer.name}.gds")

    def mask(name: str) -> kdb.Region:
        return region(layout(wafer / "masks" / f"{name}.gds"), name, near=mirrored).transformed(MIRROR).merged()

    metal = (mask("BSWIRE") - region(combined, "KERF", near=near)).merged()
    pads = region(combined, "PAD", near=near).merged()
    faces = (mask("GROOVE2") & pads & metal).merged()

    def at(x: float, y: float) -> kdb.Region:
        return kdb.Region(kdb.Box(um(x) - 1, um(y) - 1, um(x) + 1, um(y) + 1))

    net, through = metal.interacting(at(*a)), kdb.Region()
    for _ in range(100):
        through = pads.interacting(faces.interacting(net))
        grown = (net + metal.interacting(faces.interacting(through))).merged()
        if grown.count() == net.count():
            break
        net = grown
    assert not net.interacting(at(*b)).is_empty()
    assert through.count() == chain["cut_pads"] == 20 and net.count() == 21        # 19 links and the two end leads
    texts = kdb.Region()
    for name in ("PAD", "BUMP"):    # the product nets' labels: pad centres and ball centres
        for t in kdb.Texts(combined.top_cell().begin_shapes_rec_touching(combined.layer(*PDK.layer(name).gds), near)).each():
            texts += at(t.bbox().center().x / 1000, t.bbox().center().y / 1000)
    assert texts.count() > 100
    assert net.interacting(texts).is_empty() and through.interacting(texts).is_empty()
    others = [at(p["x_um"], p["y_um"]) for st in structures if st["name"] != chain["name"] for p in st["pads"]]
    assert all(net.interacting(o).is_empty() for o in others)

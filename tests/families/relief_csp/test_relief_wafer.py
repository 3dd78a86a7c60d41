"""The relief CSP at substrate level (templates/relief_csp_wafer.py on a 100 mm wafer): wafer-size mould
levels and stencils, mirrored where the PDK says, die map, lanes and marks, DRC-clean; read back with KLayout."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely

from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build
from layoutgen.wafer.outline import WaferShape

from conftest import TEMPLATES, template_variant

pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

PDK = load_pdk("relief400")
MIRROR = kdb.Trans(kdb.Trans.M90)  # x -> -x: a mirrored mask file back into wafer (front-view) coordinates


@pytest.fixture(scope="module")
def wafer(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("relief_wafer")
    cfg = template_variant(TEMPLATES / "relief_csp_wafer.py", tmp / "relief100.py",
                           "design.wafer = design.wafer.model_copy(update={'diameter': 100})")
    result = build(cfg, out=tmp / "out", quiet=True)
    assert result.exit_code == 0
    return result.out_dir


def _region(path: Path, layer: str, near: kdb.Box | None = None) -> kdb.Region:
    """The merged layer of a GDS file under its top cell (only shapes touching `near` when given)."""
    ly = kdb.Layout()
    ly.read(str(path))
    top, lay = ly.top_cell(), ly.layer(*PDK.layer(layer).gds)
    reg = kdb.Region(top.begin_shapes_rec_touching(lay, near) if near else top.begin_shapes_rec(lay))
    reg.merge()
    return reg


def _box(x0: float, y0: float, x1: float, y1: float) -> kdb.Region:
    return kdb.Region(kdb.Box(round(x0 * 1000), round(y0 * 1000), round(x1 * 1000), round(y1 * 1000)))


def test_the_wafer_is_drc_clean_plated_isolated_and_mapped(wafer):
    s = json.loads((wafer / "summary.json").read_text())
    w = s["wafer"]
    assert s["drc"]["ok"] and s["drc"]["violations"] == 0
    assert w["plating"]["ok"] and w["isolation"]["ok"] and w["plating"]["without_tail"] == []
    assert w["dies"] == sum(i1 - i0 + 1 for _, i0, i1 in w["map"]) == s["counts"]["dies"] > 300
    assert w["pitch_um"] == [4100.0, 4100.0] and w["kerf_um"] == 50.0
    rows = list(csv.DictReader((wafer / "masks" / "mask_order.csv").open()))
    # the mould route (the template's): its levels only, no print stencils, no rear slots (none drawn)
    assert [r["mask"] for r in rows] == ["WELL", "MOULD1", "MOULD2", "RDL", "ENCAP", "PASTE"]
    by = {r["mask"]: r for r in rows}
    assert by["WELL"]["mirror"] == "True" and by["WELL"]["alignment_mark"].startswith("zero layer")
    assert by["MOULD1"]["alignment_sequence"] == "KEYS > WELL > MOULD1" and "verniers" in by["MOULD1"]["alignment_mark"]


@pytest.mark.parametrize("mask", ["WELL", "MOULD1", "MOULD2"])
def test_mould_levels_and_stencils_are_wafer_size_and_mirrored_as_the_pdk_says(wafer, mask):
    m = next(k for k in PDK.masks if k.name == mask)
    drawn = _region(wafer / f"{wafer.name}.gds", m.layers[0])
    written = _region(wafer / "masks" / f"{mask}.gds", m.layers[0])
    if m.mirror:
        written = written.transformed(MIRROR)
    r = 50_000.0
    disc = _box(-r, -r, r, r)
    assert drawn.bbox().width() > 80_000_000  # every die of the wafer carries the level
    assert ((drawn & disc) ^ (written & disc)).area() <= 0.5 * (drawn.perimeter() + written.perimeter())


def test_mould_and_stencil_marks_register_level_to_level_inside_the_edge_exclusion(wafer):
    s = json.loads((wafer / "summary.json").read_text())
    marks = s["wafer"]["marks"]
    written = {m["name"] for m in s["masks"]}
    masks = {m.name: m for m in PDK.masks if m.name in written}
    combined = wafer / f"{wafer.name}.gds"
    hw, hh = (v / 2 for v in marks["size_um"])
    near = [_box(x - hw, y - hh, x + hw, y + hh).bbox() for x, y in marks["sites"]]
    risers = sum((_region(combined, "PLATE", b) for b in near), kdb.Region())

    def mark(name: str) -> kdb.Region:
        """The level's marks near both sites, as the mask file holds them, back in wafer coordinates."""
        out = kdb.Region()
        for b in near:
            where = b.transformed(MIRROR) if masks[name].mirror else b
            reg = _region(wafer / "masks" / f"{name}.gds", masks[name].layers[0], where)
            out += reg.transformed(MIRROR) if masks[name].mirror else reg
        return out - risers

    files = {name: mark(name) for name in masks}
    pairs = 0
    for sx, sy in marks["sites"]:
        for target, slot in marks["slots"].items():
            x, y, h = sx + slot["x"], sy + slot["y"], slot["half_um"]
            win = _box(x - h, y - h, x + h, y + h)
            cross = files[target] & win
            for name in slot["aligned"]:
                frame = files[name] & win
                c, f = cross.bbox(), frame.bbox()
                assert (c.center().x, c.center().y) == (f.center().x, f.center().y), (target, name)
                assert f.contains(c.p1) and f.contains(c.p2) and (frame & cross).is_empty()
                pairs += 1
    assert pairs == 2 * (len(masks) - 1)  # every level but the first (WELL), at both sites
    w = s["wafer"]
    usable = WaferShape.of(w["diameter_mm"], w["orientation"], w["edge_exclusion_um"]).usable(PDK.grid_um)
    for sx, sy in marks["sites"]:
        assert usable.contains(shapely.box(sx - hw, sy - hh, sx + hw, sy + hh))


def test_each_test_site_runs_a_line_over_four_protrusions_of_the_mould_masks(wafer):
    """Read from the mask files: at every test site the RDL mask holds the relief line in one piece between its probe
    pads, and the mould masks (mirrored back) four footprints with their recessed tiers under it."""
    s = json.loads((wafer / "summary.json").read_text())
    lines = [st for st in s["wafer"]["test_structures"]["structures"] if st["kind"] == "relief_line"]
    assert len(lines) == len(s["wafer"]["test_structures"]["sites"]) == 3
    from layoutgen.config import load_config

    t = load_config(TEMPLATES / "relief_csp_wafer.py").package.protrusions.tiers
    tiers = (t.protuberant_height, t.recessed_height)
    for line in lines:
        (ax, ay), (bx, by) = [(p["x_um"], p["y_um"]) for p in line["pads"]]
        near = kdb.Box(round(ax * 1000) - 60000, round(ay * 1000) - 200000, round(bx * 1000) + 60000, round(ay * 1000) + 200000)
        rdl = _region(wafer / "masks" / "RDL.gds", "RDL", near)
        track = _box(ax, ay - 1, bx, ay + 1)
        assert rdl.interacting(track).count() == 1 and (track - rdl).is_empty()
        feet = _region(wafer / "masks" / "MOULD1.gds", "MOULD1", near.transformed(MIRROR)).transformed(MIRROR)
        recess = _region(wafer / "masks" / "MOULD2.gds", "MOULD2", near.transformed(MIRROR)).transformed(MIRROR)
        assert feet.interacting(track).count() == line["protrusions"] == 4
        assert line["steps"]["total_um"] == 8 * tiers[0] + 8 * (tiers[0] - tiers[1])
        # MOULD2 is clear field (chrome on the recessed tiers): the tiers under the line are its drawn shapes
        assert recess.interacting(track).count() == 4


# ---------------------------------------------------------------- the printed relief (claims 3-4) on the wafer

@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> Path:
    """The template printed instead of moulded, on a 100 mm wafer with 300 µm lanes that hold kerf structures."""
    tmp = tmp_path_factory.mktemp("relief_printed")
    cfg = template_variant(TEMPLATES / "relief_csp_wafer.py", tmp / "printed100.py",
                           "design = design.model_copy(update={'package': design.package.model_copy(update={'route': "
                           "'print'}), 'wafer': design.wafer.model_copy(update={'diameter': 100, 'scribe': 300, "
                           "'kerf_structures': True})})")
    result = build(cfg, out=tmp / "out", quiet=True)
    assert result.exit_code == 0
    return result.out_dir


def _crossings(region: kdb.Region, y: float, x0: float, x1: float) -> int:
    """How many edges of `region` the horizontal segment (x0, y) - (x1, y) crosses."""
    line = kdb.Edge(round(x0 * 1000), round(y * 1000), round(x1 * 1000), round(y * 1000))
    return sum(1 for e in region.edges().each() if e.intersects(line) and not e.is_parallel(line))


def test_a_printed_relief_wafer_runs_its_line_over_the_print_stencils_protrusions(printed):
    """Read from the mask files of the printed route: at every test site the RDL mask holds the line in one piece, the
    base print (STENCIL) lies under all of it, and every edge of the footprint and rim prints (STENCIL2, STENCIL3) it
    crosses is one step of that foil's thickness; R = Rs × (length + steps) / width is the summary's, and the wafer
    (sites included) is clean against the deck's stencil rules, whose foil thicknesses the site carries too."""
    import tomllib

    s = json.loads((printed / "summary.json").read_text())
    assert s["drc"]["ok"] and s["drc"]["violations"] == 0
    checked = {r["name"] for r in json.loads((printed / "drc.json").read_text())["rules"] if r["status"] != "not applicable"}
    assert {"STENCIL.AR", "STENCIL2.ASP", "STENCIL3.ISL"} <= checked
    assert [r["mask"] for r in csv.DictReader((printed / "masks" / "mask_order.csv").open())] == \
        ["STENCIL", "STENCIL2", "STENCIL3", "RDL", "ENCAP", "PASTE"]
    ts = s["wafer"]["test_structures"]
    lines = [st for st in ts["structures"] if st["kind"] == "relief_line"]
    assert len(lines) == len(ts["sites"]) == 3
    from layoutgen.config import load_config

    t = load_config(TEMPLATES / "relief_csp_wafer.py").package.protrusions.tiers
    foil = {"STENCIL2": t.recessed_height, "STENCIL3": t.protuberant_height - t.recessed_height}
    rs = tomllib.loads(Path(PDK.data_files["resistance"]).read_text())["level"][0]["sheet_resistance_ohm_sq"]
    w = PDK.value("width", "RDL")
    for line in lines:
        assert line["layers"] == ["RDL", "STENCIL2", "STENCIL3"]
        (ax, ay), (bx, by) = [(p["x_um"], p["y_um"]) for p in line["pads"]]
        near = kdb.Box(round(ax * 1000) - 60000, round(ay * 1000) - 200000, round(bx * 1000) + 60000, round(ay * 1000) + 200000)
        track = _box(ax, ay - w / 2, bx, ay + w / 2)
        rdl = _region(printed / "masks" / "RDL.gds", "RDL", near)
        assert rdl.interacting(track).count() == 1 and (track - rdl).is_empty()
        assert (track - _region(printed / "masks" / "STENCIL.gds", "STENCIL", near)).is_empty()
        x0, x1 = ax + 50, bx - 50                       # between the probe pads' edges
        edges = {k: _crossings(_region(printed / "masks" / f"{k}.gds", k, near), ay, x0, x1) for k in foil}
        feet = _region(printed / "masks" / "STENCIL2.gds", "STENCIL2", near)
        assert feet.interacting(track).count() == line["protrusions"] == 4
        # each footprint print is climbed and left once, each rim print twice (onto and off the rim on either side)
        assert (edges["STENCIL2"], edges["STENCIL3"]) == (line["steps"]["footprint_print_edges"],
                                                          line["steps"]["rim_print_edges"]) == (8, 16)
        # no bridge gap under the line: the rim print covers the track wherever the footprint's rim is
        rim = _region(printed / "masks" / "STENCIL3.gds", "STENCIL3", near)
        assert (rim & track).count() == 8
        steps = sum(edges[k] * foil[k] for k in foil)
        assert steps == line["steps"]["total_um"] == 8 * t.protuberant_height + 8 * (t.protuberant_height - t.recessed_height)
        assert line["expected_resistance_ohm"] == pytest.approx(rs * (x1 - x0 + steps) / w, rel=1e-9)
    rows = [r for r in csv.DictReader((printed / "teststructures.csv").open()) if ".RELIEF_RDL," in f"{r['structure']},"]
    assert len(rows) == 6 and {float(r["expected_resistance_ohm"]) for r in rows} == {lines[0]["expected_resistance_ohm"]}


def test_the_wide_lane_above_the_top_row_holds_a_line_and_a_comb_each_tied_once_to_the_bus(printed):
    """Read from the wafer's GDS: the kerf structures lie in the lane above the top row, in its half beyond the bus (the
    dies' tails cross the other half), a space from the bus and inside the lane; each plated piece has one tail to the
    bus; the line is whole between its pads and the comb's halves apart on RDL; after dicing (the saw kerf removed) no
    kerf piece touches a die. The wafer is DRC-clean, plated and isolated with them (test above)."""
    s = json.loads((printed / "summary.json").read_text())
    w = s["wafer"]
    assert w["plating"]["ok"] and w["isolation"]["ok"]
    k = w["test_structures"]["kerf"]
    assert (k["lane_um"], k["fits"], k["placed"], k["structures"]) == (300.0, True, "kerf and sites", ["LINE_RDL", "COMB_RDL"])
    kerf = [st for st in w["test_structures"]["structures"] if st["site"] == "KERF"]
    assert [st["name"] for st in kerf] == k["structures"]
    space, bus = PDK.value("space", "RDL"), w["plating"]["bus_width_um"]
    yc = k["lane_y_um"]
    (ox, oy), (px, py), (dw, dh) = w["offset_um"], w["pitch_um"], w["die_um"]
    assert yc == pytest.approx(oy + (max(j for j, _, _ in w["map"]) + 0.5) * py)      # the lane above the top row
    band = _box(-50_000, yc + bus / 2 + space, 50_000, yc + 150 - space)            # beyond the bus, inside the lane
    near = band.bbox().enlarged(0, 200_000)
    combined = printed / f"{printed.name}.gds"        # the mask file holds RDL and PLATE as one: read them apart here
    rdl, plate = _region(combined, "RDL", near), _region(combined, "PLATE", near)
    bus_line = plate & _box(-50_000, yc - bus / 2, 50_000, yc + bus / 2)
    for st in kerf:
        pads = [(p["x_um"], p["y_um"]) for p in st["pads"]]
        for x, y in pads:
            sq = rdl.interacting(_box(x - 1, y - 1, x + 1, y + 1))
            assert sq.count() == 1 and (_box(x - 50, y - 50, x + 50, y + 50) - sq).is_empty()
            assert (_box(x - 50, y - 50, x + 50, y + 50) - band).is_empty()              # the pad inside the band
        pieces = [rdl.interacting(_box(x - 1, y - 1, x + 1, y + 1)) for x, y in pads]
        if st["kind"] == "space_comb":
            assert pieces[0].interacting(pieces[1]).is_empty()                           # open on RDL
        else:
            assert (pieces[0] ^ pieces[1]).is_empty()                                    # whole end to end
        for piece in {id(pc): pc for pc in pieces}.values():
            mine = (plate - bus_line).merged().interacting(piece)
            assert mine.count() == 1 and not (mine.sized(1) & bus_line).is_empty()      # one tail, onto the bus
            assert (piece - band).is_empty()                                             # the metal inside the band
    # after dicing: the saw kerf removes the bus; no kerf piece reaches a die
    saw = _box(-50_000, yc - w["kerf_um"] / 2, 50_000, yc + w["kerf_um"] / 2)
    diced = ((rdl + plate).merged() - saw).merged()
    dies = kdb.Region()
    for j, i0, i1 in w["map"]:
        dies += _box(ox + i0 * px - dw / 2, oy + j * py - dh / 2, ox + i1 * px + dw / 2, oy + j * py + dh / 2)
    for st in kerf:
        for p in st["pads"]:
            assert diced.interacting(_box(p["x_um"] - 1, p["y_um"] - 1, p["x_um"] + 1, p["y_um"] + 1)).interacting(dies).is_empty()
    rows = [r for r in csv.DictReader((printed / "teststructures.csv").open()) if r["structure"].startswith("KERF.")]
    assert {(r["structure"], float(r["x_um"]), float(r["y_um"])) for r in rows} == {
        (f"KERF.{st['name']}", p["x_um"], p["y_um"]) for st in kerf for p in st["pads"]}

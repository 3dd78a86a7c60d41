"""The sheet at wafer scale (seed 003: one sheet registered over a whole wafer of chips), read back with klayout.db:
one frame around the sheet, fiducials the two sides share, the lead and spot arrays of every chip, and the masks
drawn at the thermal scale (array pitch = die pitch × scale, on the grid). One 100 mm build per module."""

from __future__ import annotations

import json
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest

from layoutgen.errors import ConfigError
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build

from conftest import TEMPLATES, template_variant

TEMPLATE = TEMPLATES / "compliant_terminals_wafer.py"
DIE_TEMPLATE = TEMPLATES / "compliant_terminals.py"
PDK = load_pdk("sheet100")
GRID = PDK.grid_um
DBU = 1000  # database units per µm in every shipped PDK
SMALL = ("design = design.model_copy(update={'wafer': design.wafer.model_copy(update={'diameter': 100, 'test_sites': []})})")   # chips only: test sites are test_teststructures'


@pytest.fixture(scope="module")
def wafer(tmp_path_factory) -> Path:
    cfg = template_variant(TEMPLATE, tmp_path_factory.mktemp("cfg") / "sheet_wafer.py", SMALL)
    return build(cfg, out=tmp_path_factory.mktemp("out")).out_dir


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _layer(ly: kdb.Layout, name: str) -> int:
    return ly.layer(*PDK.layer(name).gds)


def _read(path: Path) -> kdb.Layout:
    ly = kdb.Layout()
    ly.read(str(path))
    return ly


def _mask_polygons(out: Path, m: dict, near: list | None = None) -> tuple[list[kdb.Polygon], np.ndarray]:
    """A mask's polygons inside its field (not the label below it), flattened, as exposed seen from the sheet's top
    (a mirrored mask mirrored back), and their bounding boxes (x0, y0, x1, y1) in µm; only those touching the
    boxes `near` ((x0, y0, x1, y1) µm, seen from the top) when given."""
    ly = _read(out / m["file"])
    flip = kdb.ICplxTrans(kdb.Trans(kdb.Trans.M90) if m["mirror"] else kdb.Trans())
    li = _layer(ly, m["layers"][0])
    iters = [ly.top_cell().begin_shapes_rec(li)] if near is None else [
        ly.top_cell().begin_shapes_rec_touching(li, flip.inverted() * kdb.DBox(*b) * (1 / ly.dbu)) for b in near]
    polys = []
    for it in iters:
        while not it.at_end():
            polys.append(it.shape().polygon.transformed(flip * it.trans()))
            it.next()
    boxes = np.array([[b.left, b.bottom, b.right, b.top] for b in (p.bbox() for p in polys)]) / DBU
    f = json.loads((out / "masks" / "manifest.json").read_text())["field_um"]
    keep = (boxes[:, 1] >= f["y0"]) & (boxes[:, 3] <= f["y1"])
    return [p for p, k in zip(polys, keep) if k], boxes[keep]


def test_the_sheet_covers_the_wafer_drc_clean_with_every_terminal_connected(wafer: Path):
    s = _summary(wafer)
    rules = {r["name"]: r["status"] for r in json.loads((wafer / "drc.json").read_text())["rules"]}
    assert s["drc"]["ok"] and rules["NET.OPEN"] == rules["NET.SHORT"] == rules["PLANE.ONE"] == "clean"
    assert [m["name"] for m in s["masks"]] == ["THRU", "LINER", "LEAD", "BOND", "SPOT", "PLANE"]
    order = (wafer / "masks" / "mask_order.csv").read_text().splitlines()
    assert order[0].endswith(",scale") and len(order) == 7 and all("fiducial" in r and r.endswith(",0.997415907") for r in order[1:])
    assert s["wafer"]["dies"] > 200 and s["counts"]["dies"] == s["wafer"]["dies"]


def test_one_frame_around_the_whole_sheet_not_per_die(wafer: Path):
    s = _summary(wafer)
    ly = _read(wafer / f"{s['design']}.gds")
    marks = kdb.Region(ly.top_cell().begin_shapes_rec(_layer(ly, "MARK")))
    dies = kdb.Region(ly.top_cell().begin_shapes_rec(_layer(ly, "DIE")))
    rings = [p for p in marks.merged().each() if p.holes() > 0]              # GDS keyholes merged back into a ring
    assert dies.count() == s["wafer"]["dies"] and len(rings) == 1
    hole = kdb.Region(kdb.Polygon(list(rings[0].each_point_hole(0))))
    assert (dies - hole).is_empty()                                               # every die inside the frame
    frame_d = rings[0].bbox().width() / DBU
    assert frame_d == pytest.approx(s["wafer"]["sheet"]["frame"]["outer_diameter_mm"] * 1000, abs=2 * GRID)
    assert frame_d > 100_000                                                      # outside the 100 mm wafer


def test_the_fiducials_of_the_two_sides_coincide_on_every_mask(wafer: Path):
    s = _summary(wafer)
    scale = s["wafer"]["sheet"]["mask_scale"]
    masks = {m["name"]: m for m in s["masks"]}
    holes, boxes = _mask_polygons(wafer, masks["THRU"])                            # bottom side, mirrored
    small = np.abs(boxes[:, 2] - boxes[:, 0] - 400 * scale) < 1                           # the 400 µm crosses: not the ports, not the overlay block
    holes, boxes = [h for h, k in zip(holes, small) if k], boxes[small]
    sites = np.array(s["wafer"]["fiducials"]["sites"]) * scale
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert len(holes) == len(sites) == 2
    assert all(np.abs(centres - c).max(axis=1).min() <= GRID for c in sites)    # the holes at the sites, scaled
    around = [(x - 1000, y - 1000, x + 1000, y + 1000) for x, y in sites]
    for name in ("LEAD", "SPOT", "PLANE"):                                        # both sides' masks carry the same cross
        polys, b = _mask_polygons(wafer, masks[name], around)
        crosses = [p for p, w in zip(polys, b[:, 2] - b[:, 0]) if abs(w - 400 * scale) < 1]   # not the frame, not the block
        assert (kdb.Region(crosses) ^ kdb.Region(holes)).is_empty(), name
        assert masks[name]["mirror"] == (name == "LEAD")


def _in_wafer(out: Path, m: dict, scale: float, x0: float, y0: float, x1: float, y1: float) -> tuple[kdb.Region, np.ndarray]:
    """A mask's shapes (its own layer, MARK included: a mask file holds them on one layer) in the wafer box (x0, y0, x1, y1) µm, read from the mask file and brought back
    to wafer coordinates (mirror undone, thermal scale divided out): the merged region in µm and the element centres."""
    polys, boxes = _mask_polygons(out, m, [(x0 * scale, y0 * scale, x1 * scale, y1 * scale)])
    inside = kdb.Region(kdb.Box(*(round(v * scale * DBU) for v in (x0, y0, x1, y1))))
    region = kdb.Region(polys).merged() & inside          # the box's own shapes, not the sheet's frame ring
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2 / scale
    inside = (centres[:, 0] > x0) & (centres[:, 0] < x1) & (centres[:, 1] > y0) & (centres[:, 1] < y1)
    return region, centres[inside]


def test_every_later_mask_frames_the_target_of_the_mask_it_aligns_to(wafer: Path):
    # Box-in-box read back from the mask files: at each overlay block, each aligned mask's box (on its own layer) is
    # centred on its reference mask's cross (on that mask's layer) at the same wafer position, mirrored bottom-side
    # masks (THRU, LINER, LEAD, BOND) and unmirrored top-side ones (SPOT, PLANE) alike, and clears it all round.
    s = _summary(wafer)
    w, masks = s["wafer"], {m["name"]: m for m in s["masks"]}
    scale, marks = w["sheet"]["mask_scale"], w["marks"]
    assert {t: v["aligned"] for t, v in marks["slots"].items()} == {"THRU": ["LINER", "LEAD", "BOND", "SPOT"], "SPOT": ["PLANE"]}
    assert len(marks["sites"]) == 2 and marks["area_layer"] == "MARKAREA"
    for bx, by in marks["sites"]:
        fid = min(w["fiducials"]["sites"], key=lambda f: np.hypot(f[0] - bx, f[1] - by))
        assert fid[1] - by >= 200 + marks["size_um"][1] / 2                    # clear of the fiducial (below it)
        hw, hh = marks["size_um"][0] / 2, marks["size_um"][1] / 2
        corners = np.array([(bx + sx * hw, by + sy * hh) for sx in (-1, 1) for sy in (-1, 1)])
        assert np.hypot(*corners.T).max() <= w["diameter_mm"] * 500 - w["edge_exclusion_um"]   # inside the exclusion
        (ox, oy), (px, py), (dw, dh) = w["offset_um"], w["pitch_um"], w["die_um"]
        for j, i0, i1 in w["map"]:                                              # and clear of every die of the map
            x = ox + np.arange(i0, i1 + 1) * px
            assert (np.abs(oy + j * py - by) >= hh + dh / 2) or (np.abs(x - bx) >= hw + dw / 2).all()
        for target, slot in marks["slots"].items():
            x, y, h = bx + slot["x"], by + slot["y"], slot["half_um"] + 20    # the slot and 20 of its 100 µm space
            ref, _ = _in_wafer(wafer, masks[target], scale, x - h, y - h, x + h, y + h)
            crosses = [p for p in ref.each() if p.holes() == 0]
            assert len(crosses) == 1, target
            c = crosses[0].bbox().center()
            # the reference cross is at the slot's wafer position, and its half extent is the summary's
            assert (c.x / DBU / scale, c.y / DBU / scale) == pytest.approx((x, y), abs=GRID / scale + 1e-6), target
            assert crosses[0].bbox().width() / DBU / scale == pytest.approx(2 * slot["cross_half_um"], abs=2 * GRID)
            inner = slot["cross_half_um"]
            for name in slot["aligned"]:
                box, _ = _in_wafer(wafer, masks[name], scale, x - h, y - h, x + h, y + h)
                frames = [p for p in box.each() if p.holes() == 1 and p.bbox().contains(c)]
                assert len(frames) == 1, (target, name)
                hole = kdb.Polygon(list(frames[0].each_point_hole(0))).bbox()
                assert (hole.center().x / DBU, hole.center().y / DBU) == pytest.approx((c.x / DBU, c.y / DBU), abs=GRID)
                opening = hole.width() / DBU / scale / 2
                assert opening > inner + 5 and abs(hole.width() - hole.height()) <= 2 * GRID * DBU  # square, the cross clear
                inner = frames[0].bbox().width() / DBU / scale / 2               # the next box goes round this one
    # every mask after the first has its box, and the mask order table names the mark it aligns to
    aligned = [a for slot in marks["slots"].values() for a in slot["aligned"]]
    assert sorted(aligned) == sorted(m for m in masks if m != "THRU")
    rows = json.loads((wafer / "masks" / "mask_order.json").read_text())
    for r in rows[1:]:
        assert r["alignment_mark"].startswith(f"box-in-box around {r['aligns_to']}'s cross"), r["mask"]
        assert f"verniers on {r['aligns_to']}'s lines" in r["alignment_mark"]
    assert rows[0]["mask"] == "THRU" and rows[0]["aligns_to"] == "" and "zero layer" in rows[0]["alignment_mark"]


def test_the_verniers_of_every_mask_read_zero_against_its_reference(wafer: Path):
    # Each vernier pair read back from the two mask files: the reference mask's lines at a pitch p, the aligned mask's at
    # p + step, both in wafer coordinates; the pair that lines up is the centre pair, so the vernier reads 0.
    s = _summary(wafer)
    w, masks = s["wafer"], {m["name"]: m for m in s["masks"]}
    scale, marks = w["sheet"]["mask_scale"], w["marks"]
    assert len(marks["verniers"]) == 5
    for bx, by in marks["sites"]:
        for v in marks["verniers"]:
            p, step = v["pitch_um"], v["step_um"]
            for axis, (cx, cy) in ((0, v["x_row"]), (1, v["y_row"])):
                cx, cy = bx + cx, by + cy
                along, across = 4 * (p + step), v["gap_um"] / 2 + 60     # the row's lines on both masks, not the other row
                win = (cx - along, cy - across, cx + along, cy + across) if axis == 0 else \
                      (cx - across, cy - along, cx + across, cy + along)
                rows = []
                for name in (v["target"], v["aligned"]):
                    _, centres = _in_wafer(wafer, masks[name], scale, *win)
                    rows.append(np.sort(centres[:, axis]) - (cx, cy)[axis])
                ref, al = rows
                assert len(ref) == len(al) and len(ref) in (5, 7), v
                k = np.arange(len(ref)) - len(ref) // 2
                assert ref == pytest.approx(k * p, abs=GRID / scale + 1e-6)              # the reference's pitch
                assert al == pytest.approx(k * (p + step), abs=GRID / scale + 1e-6)      # the aligned mask's pitch
                miss = np.abs(al - ref)
                assert int(np.argmin(miss)) == len(ref) // 2 and miss.min() < step / 2, v   # reads 0 steps
                assert np.diff(miss[len(ref) // 2:]) == pytest.approx(step, abs=2 * GRID / scale)


def test_every_chip_has_its_leads_and_spots_on_the_scaled_die_pitch(wafer: Path):
    s = _summary(wafer)
    w = s["wafer"]
    scale, n = w["sheet"]["mask_scale"], w["dies"]
    masks = {m["name"]: m for m in s["masks"]}
    (ox, oy), (px, py) = w["offset_um"], w["pitch_um"]
    sites = np.array(w["fiducials"]["sites"]) * scale
    for name in ("LEAD", "SPOT"):
        _, boxes = _mask_polygons(wafer, masks[name])
        centre, size = (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]
        near_fid = np.min(np.hypot(*(centre[:, None, :] - sites[None]).transpose(2, 0, 1)), axis=1) < 1000
        block = np.zeros(len(centre), bool)
        for bx, by in w["marks"]["sites"]:                                        # the overlay block below each fiducial
            half = np.array(w["marks"]["size_um"]) / 2 * scale
            block |= (np.abs(centre - np.array([bx, by]) * scale) <= half).all(axis=1)
        product = (size.max(axis=1) < px / 2) & ~near_fid & ~block & (np.hypot(*centre.T) < 50_000)  # not frame, marks, label
        # each product shape in the scaled site of one chip of the map, 56 in every chip's site
        i = np.round((centre[product, 0] / scale - ox) / px).astype(int)
        j = np.round((centre[product, 1] / scale - oy) / py).astype(int)
        inside = (np.abs(centre[product, 0] - (ox + i * px) * scale) <= w["die_um"][0] / 2 * scale) & \
                 (np.abs(centre[product, 1] - (oy + j * py) * scale) <= w["die_um"][1] / 2 * scale)
        assert inside.all(), name
        per_chip = {}
        for key in zip(i.tolist(), j.tolist()):
            per_chip[key] = per_chip.get(key, 0) + 1
        chips = {(i, j) for j, i0, i1 in w["map"] for i in range(i0, i1 + 1)}
        assert set(per_chip) == chips and set(per_chip.values()) == {56}, name
    # the arrays themselves: die pitch × scale on the grid in the mask, the die pitch in the combined layout
    ly = _read(wafer / masks["SPOT"]["file"])
    steps = [inst.b.x / DBU for c in ly.each_cell() for inst in c.each_inst() if inst.is_regular_array() and inst.nb > 1]
    assert steps and all(abs(v - px * scale) <= GRID / 2 + 1e-9 and round(v / GRID) * GRID == pytest.approx(v)
                         for v in steps)
    assert abs(px * scale - px) > 10                                              # the scale moves an edge die's data
    combined = _read(wafer / f"{s['design']}.gds")
    assert {inst.b.x / DBU for inst in combined.top_cell().each_inst() if inst.is_regular_array() and inst.nb > 1} == {px}


def test_the_injection_ports_go_through_the_sheet_between_the_wafer_and_the_frame(wafer: Path):
    s = _summary(wafer)
    scale, sheet = s["wafer"]["sheet"]["mask_scale"], s["wafer"]["sheet"]
    thru = next(m for m in s["masks"] if m["name"] == "THRU")
    _, boxes = _mask_polygons(wafer, thru)
    ports = boxes[(boxes[:, 2] - boxes[:, 0]) > 1000]
    assert len(ports) == 2                                                          # etched with the fiducial holes
    wafer_r = s["wafer"]["diameter_mm"] * 500 * scale
    frame_inner = (sheet["frame"]["outer_diameter_mm"] * 500 - sheet["frame"]["line_um"]) * scale
    for x0, y0, x1, y1 in ports:
        assert x1 - x0 == pytest.approx(1500 * scale, abs=1)
        near = min(abs(y0), abs(y1))                                                # on the y axis, top and bottom
        gaps = PDK.data["sheet"]["ports"]
        assert near - wafer_r >= gaps["wafer_clearance_um"] * scale - GRID
        assert frame_inner - max(abs(y0), abs(y1)) >= gaps["frame_clearance_um"] * scale - GRID


def test_the_scale_is_the_wafers_growth_over_the_sheets():
    from layoutgen.families.sheet_terminals import WaferSheet

    ws = WaferSheet(expansion=17.0, wafer_expansion=2.6, temperature_step=180)
    assert ws.scale == pytest.approx((1 + 2.6e-6 * 180) / (1 + 17e-6 * 180))
    assert WaferSheet(temperature_step=0).scale == 1.0


WAFER = '"wafer": Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50,\n                   test_sites=["centre", "top", "bottom"]),'
PORTS = '"ports": InjectionPorts(count=2, diameter=1500),'
BAD = {
    "no sheet": ([('"sheet": WaferSheet(', '"sheet": None and WaferSheet(')],
                 r"Design.wafer = 'Wafer\(diameter=200\)': .*give SheetTerminals.sheet=WaferSheet"),
    "no wafer": ([(WAFER, "")],
                 r"SheetTerminals.ports = 'InjectionPorts\(...\)': the injection ports of fig. 15 .* need a wafer-scale sheet"),
    "no wafer, no ports": ([(WAFER, ""), (PORTS, "")],
                           r"SheetTerminals.sheet = 'WaferSheet\(...\)': a wafer-scale sheet covers a wafer"),
    "reticle": ([("kerf=50,", "kerf=50, reticle=(20000, 20000),")], r"Wafer.reticle = \(20000.0, 20000.0\): .*1X masks"),
    "frame over the wafer": ([("Frame(inset=1000)", "Frame(inset=6000)")],
                             r"Frame.inset = 6000.0: puts the frame inside the wafer edge"),
    "ports too big": ([("diameter=1500)", "diameter=2500)")],
                      r"InjectionPorts.diameter = 2500.0: the ring between the wafer and the frame leaves 1980 µm for a port"),
}


@pytest.mark.parametrize("bad", list(BAD))
def test_a_sheet_wafer_it_cannot_make_is_refused_naming_the_field(bad, write_config):
    edits, message = BAD[bad]
    text = TEMPLATE.read_text()
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    write_config(DIE_TEMPLATE.read_text(), DIE_TEMPLATE.name)   # the chip the wafer template loads, beside it
    with pytest.raises(ConfigError, match=r"cfg.py:\d+: " + message):
        build(write_config(text), drc=False)


def test_a_grid_with_spare_terminals_goes_onto_the_sheet_wafer():
    # figs. 8-9 allow more terminals than leads; a sheet has no plating network, so a terminal without a net is no
    # floating plated pad (the plated wafer's refusal does not apply): 16 terminals, 12 leads, on every chip
    from layoutgen.design import Design, Die, Wafer
    from layoutgen.families import builder
    from layoutgen.families.sheet_terminals import SheetTerminals, WaferSheet
    from layoutgen.pads import peripheral_pads
    from layoutgen.pipeline import place_on_wafer

    pads = peripheral_pads(3000, 3000, per_side=3, pitch=300, inset=100, size=60)
    d = Design(name="sheet_grid", pdk="sheet100", die=Die(name="SHEET_GRID", width=3000, height=3000, pads=pads),
               package=SheetTerminals(offsets=[300], lift=150, placement="grid", grid={"rows": 4, "cols": 4, "pitch": 500},
                                      sheet=WaferSheet(temperature_step=150)),
               wafer=Wafer(diameter=100))
    die = builder("sheet_terminals")(d, PDK)
    w = place_on_wafer(d, PDK, die)
    assert len(die.balls) == 16 and len(die.ball_nets) == 12 and w.summary["dies"] > 500
    assert w.summary["sheet"]["mask_scale"] == pytest.approx((1 + 2.6e-6 * 150) / (1 + 17e-6 * 150))


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs


def test_the_overlay_block_is_outlined_on_the_marker_layer_and_a_pdk_without_one_is_refused():
    # MARK prints on every sheet mask, so the exempt mark area is the PDK's marker layer; the plated flows keep MARK
    from layoutgen.design import Design, Die, Wafer
    from layoutgen.errors import PdkError
    from layoutgen.families import builder
    from layoutgen.families.sheet_terminals import SheetTerminals, WaferSheet
    from layoutgen.pads import peripheral_pads
    from layoutgen.pipeline import place_on_wafer

    assert PDK.mark_area_layer() == "MARKAREA" and load_pdk("sky400").mark_area_layer() == "MARK"
    bare = PDK.model_copy(update={"layers": {n: v for n, v in PDK.layers.items() if n != "MARKAREA"}})
    assert bare.mark_area_layer() is None                                   # MARK is ruled here: no exempt area at all
    pads = peripheral_pads(2000, 2000, per_side=2, pitch=400, inset=100, size=60)
    d = Design(name="sheet_bare", pdk="sheet100", die=Die(name="SHEET_BARE", width=2000, height=2000, pads=pads),
               package=SheetTerminals(offsets=[300], lift=150, sheet=WaferSheet(temperature_step=150)),
               wafer=Wafer(diameter=100))
    die = builder("sheet_terminals")(d, bare)
    with pytest.raises(PdkError, match=r"PDK 'sheet100': the sheet's overlay marks need a layer of purpose 'marker'"):
        place_on_wafer(d, bare, die)

"""A 100 mm wafer of a small hand-drawn die: placed by arrays, plated through one network, isolated
by dicing, with marks registered mask to mask, written as small hierarchical files."""

from __future__ import annotations

import json
from pathlib import Path

import gdstk
import klayout.db as kdb
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from layoutgen.design import Plating
from layoutgen.errors import ConfigError
from layoutgen.gdsio import write_layout
from layoutgen.layout import Cell, Layout
from layoutgen.masks import derive_mask, mask_layer_map
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer, check_isolation, check_plating, mask_order_rows, write_mask_order
from layoutgen.masks.invert import complement_layout

from wafer_support import gds_region, make_design, make_die_result, write_masks

RETICLE = (20400.0, 25500.0)
DENSITY = 0.25


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky400")


@pytest.fixture(scope="module")
def built(pdk, tmp_path_factory):
    """The 100 mm wafer built and written: combined GDS and one file per mask."""
    design = make_design(reticle=RETICLE, plating=Plating(thieving_density=DENSITY))
    die = make_die_result(design, pdk)
    result = build_wafer(design, pdk, die)
    out = tmp_path_factory.mktemp("wafer")
    write_layout(result.layout, pdk, out / "wafer.gds")
    masks = write_masks(result.layout, result.field, design, pdk, out)
    return design, die, result, out, masks


def _region(path: Path, layers: list[tuple[int, int]], near: tuple[float, float, float] | None = None) -> kdb.Region:
    """The merged region of `layers` under the top cell of a GDS file (read by KLayout); with `near` (x, y, half)
    only the shapes touching that window."""
    return gds_region(path, layers, None if near is None else (near[0] - near[2], near[1] - near[2], near[0] + near[2], near[1] + near[2]))


def _window(x: float, y: float, half: float) -> kdb.Region:
    return kdb.Region(kdb.Box(round((x - half) * 1000), round((y - half) * 1000), round((x + half) * 1000), round((y + half) * 1000)))


def _kerf(result, design) -> shapely.Geometry:
    """The saw kerf computed from the die map alone: a strip of kerf width on every lane centre."""
    dm, k, r = result.die_map, design.wafer.kerf, design.wafer.diameter * 500.0
    (ox, oy), (px, py) = dm.offset, dm.pitch
    n = int(r / min(px, py)) + 2
    xs, ys = ox + (np.arange(-n, n + 1) + 0.5) * px, oy + (np.arange(-n, n + 1) + 0.5) * py
    return shapely.union_all(np.concatenate([shapely.box(xs - k / 2, -r, xs + k / 2, r), shapely.box(-r, ys - k / 2, r, ys + k / 2)]))


def _flat_metal(path: Path, pdk) -> kdb.Region:
    """All RDL and PLATE metal of the written wafer, flattened and merged by KLayout (an independent reader, exact on
    the 1 nm grid), shapes inside MARK areas left out."""
    ly = kdb.Layout()
    ly.read(str(path))
    top = ly.top_cell()
    metal = kdb.Region()
    for name in ("RDL", "PLATE"):
        metal += kdb.Region(top.begin_shapes_rec(ly.layer(*pdk.layer(name).gds)))
    marks = kdb.Region(top.begin_shapes_rec(ly.layer(*pdk.layer("MARK").gds)))
    metal.merged_semantics = False          # each drawn shape on its own: those inside a mark area go
    metal = metal.not_inside(marks)
    metal.merged_semantics = True
    return metal.merged()


def _kpoly(g: shapely.Polygon) -> kdb.Polygon:
    """A KLayout polygon (1 nm units) of a hole-free shapely polygon."""
    return kdb.Polygon([kdb.Point(round(x * 1000), round(y * 1000)) for x, y in g.exterior.coords[:-1]])


def _kregion(geom: shapely.Geometry) -> kdb.Region:
    """A KLayout region (1 nm units) of a shapely geometry, holes kept."""
    reg = kdb.Region()
    for g in shapely.get_parts(geom):
        poly = _kpoly(g)
        for h in g.interiors:
            poly.insert_hole([kdb.Point(round(x * 1000), round(y * 1000)) for x, y in h.coords[:-1]])
        reg.insert(poly)
    return reg


@pytest.fixture(scope="module")
def flat_metal(pdk, built):
    return _flat_metal(built[3] / "wafer.gds", pdk)


# ---------------------------------------------------------------- map and hierarchy

def test_the_summary_reports_dies_shots_and_results(built):
    design, die, result, _, _ = built
    s = result.summary
    # 240 whole dies fit; the alignment marks (inside the edge exclusion) take 8 of their sites.
    assert s["dies"] == s["positions"] == result.die_map.count == 240 - s["marks"]["dies_dropped"] == 232
    assert s["gross_die_estimate"] == pytest.approx(225.9, abs=0.05)
    assert s["shots"]["per_shot"] == [4, 5] and s["shots"]["dies_per_shot"] == 20
    assert s["shots"]["shots"] * 20 >= 232
    assert s["result"] == ("2,784 nets plate (12 per die × 232 dies): one network joined to the contact ring; "
                           "all 2,784 pieces isolated after dicing (12 per die × 232 dies, 12 nets per die)")
    json.dumps(s)  # plain data


def test_dies_are_placed_by_arrays_of_one_die_cell_never_copied(built):
    design, die, result, out, _ = built
    lib = gdstk.read_gds(str(out / "wafer.gds"))
    cells = {c.name: c for c in lib.cells}
    assert [n for n in cells if n == "TDIE"] == ["TDIE"]
    (top,) = lib.top_level()
    placed = [r for r in top.references if r.cell.name == "TDIE_PLATED"]
    count = sum(r.repetition.size if r.repetition.size else 1 for r in placed)
    assert count == 232 and len(placed) == len(result.die_map.runs) < 30
    assert any(r.repetition.columns > 1 for r in placed)
    # The die cell is placed once, by the plated die cell (tails beside it), and nowhere else.
    users = [c.name for c in lib.cells for r in c.references if r.cell.name == "TDIE"]
    assert users == ["TDIE_PLATED"]
    # The wafer cell draws no die content itself: no pads, openings, UBM or bumps.
    die_layers = {(2, 0), (10, 0), (30, 0), (40, 0), (50, 0)}
    assert not [p for p in top.polygons if (p.layer, p.datatype) in die_layers]


@pytest.fixture(scope="module")
def wafer300(pdk):
    """The hand-drawn die on a 300 mm wafer with a shot map, unchecked (the file-size tests)."""
    design = make_design(diameter=300, reticle=(26000.0, 33000.0))
    return build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)


def test_the_combined_gds_of_a_300mm_wafer_stays_small(pdk, wafer300, tmp_path):
    result = wafer300
    path = write_layout(result.layout, pdk, tmp_path / "w300.gds")
    assert result.die_map.count > 2000
    assert path.stat().st_size < 300_000, path.stat().st_size  # under 150 bytes per die, all cells included


def test_masks_keep_the_hierarchy_and_stay_small(built):
    _, _, result, out, masks = built
    for m in masks:
        lib = gdstk.read_gds(str(out / m["file"]))
        names = {c.name for c in lib.cells}
        assert f"{m['name']}_TDIE_PLATED" in names, m["name"]      # the die cell, named after the mask
        assert (out / m["file"]).stat().st_size < 400_000, m


def test_the_build_is_deterministic(pdk, built, tmp_path):
    design, die, _, out, _ = built
    again = build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
    write_layout(again.layout, pdk, tmp_path / "again.gds")
    assert (tmp_path / "again.gds").read_bytes() == (out / "wafer.gds").read_bytes()


# ---------------------------------------------------------------- plating network

def test_every_net_has_a_tail_from_its_landing_pad_across_the_seal_into_the_lane(pdk, built):
    design, die, result, _, _ = built
    w, s = design.die.width / 2, design.wafer.scribe / 2
    tails = result.tails
    assert len(tails) == len(design.die.pads) == 12
    landing = {p.net: box(p.x - 32.5, p.y - 32.5, p.x + 32.5, p.y + 32.5) for p in design.die.pads}
    for t in tails:
        x0, y0, x1, y1 = t.shape.bounds
        assert min(x1 - x0, y1 - y0) == pytest.approx(design.wafer.plating.tail_width)
        assert t.shape.intersects(landing[t.net])
        assert max(abs(x0), abs(x1), abs(y0), abs(y1)) == pytest.approx(w + s)  # to the lane centre
    cell = result.layout.cells["TDIE_PLATED"]
    assert len(cell.shapes["PLATE"]) == 12 and [r.cell for r in cell.refs] == ["TDIE"]


def test_the_bus_runs_inside_the_saw_kerf_and_the_ring_at_the_edge(built):
    design, _, result, _, _ = built
    top = result.layout.cells[result.layout.top]
    kerf = _kerf(result, design)
    plate = top.shapes["PLATE"]
    ring = max(plate, key=lambda p: p.area)
    r, rw = 50000.0, design.wafer.plating.ring_width
    assert ring.bounds[0] == pytest.approx(-r, abs=0.01) and ring.bounds[2] == pytest.approx(r, abs=0.01)
    assert ring.area == pytest.approx(np.pi * (r * r - (r - rw) ** 2), rel=0.01)  # less the notch
    width = design.wafer.plating.bus_width
    bus = [p for p in plate if min(p.bounds[2] - p.bounds[0], p.bounds[3] - p.bounds[1]) == pytest.approx(width)]
    assert len(bus) > 30
    lanes = kerf.buffer(1e-6)
    assert shapely.contains(lanes, shapely.difference(np.asarray(bus, dtype=object), ring)).all()


def test_before_dicing_all_plating_metal_is_one_piece_joined_to_the_ring(built):
    result = built[2]
    chk = result.checks["plating"]
    assert chk.ok, chk.findings[:3]
    assert chk.figures["pieces_before_dicing"] == 1 and chk.figures["tails"] == 2784


def test_a_flat_check_agrees_before_dicing(built, flat_metal):
    result = built[2]
    assert flat_metal.count() == 1
    ring = _kregion(max(result.layout.cells[result.layout.top].shapes["PLATE"], key=lambda p: p.area))
    # The ring's vertices off the 1 nm grid are rounded when written: what remains of it outside the piece is slivers.
    assert not (flat_metal & ring).is_empty() and (ring - flat_metal).area() < 1e6   # under 1 µm²


def test_after_dicing_every_net_is_its_own_piece(built):
    result = built[2]
    chk = result.checks["isolation"]
    assert chk.ok, chk.findings[:3]
    assert chk.figures["pieces_after_dicing"] == 12 * 232 == chk.figures["nets_per_die"] * result.die_map.count


def test_a_flat_check_agrees_after_dicing(built, flat_metal):
    design, _, result, _, _ = built
    c = result.die_map.centres()
    w, h = design.die.width, design.die.height
    dies = _kregion(shapely.union_all(shapely.box(c[:, 0] - w / 2, c[:, 1] - h / 2, c[:, 0] + w / 2, c[:, 1] + h / 2)))
    on_dies = (flat_metal - _kregion(_kerf(result, design))).interacting(dies)
    assert on_dies.count() == 12 * 232
    pieces = [shapely.Polygon([(pt.x / 1000, pt.y / 1000) for pt in p.each_point_hull()]) for p in on_dies.each()]
    labels = [lb for n in ("PAD", "BUMP") for lb in result.layout.flat_labels(n)]
    pts = shapely.points([(lb.x, lb.y) for lb in labels])
    p_idx, l_idx = shapely.STRtree(pieces).query(pts, predicate="intersects")[::-1]
    nets: dict[int, set[str]] = {}
    for p, lab in zip(p_idx.tolist(), l_idx.tolist()):
        nets.setdefault(p, set()).add(labels[lab].text)
    assert len(nets) == len(pieces) and all(len(v) == 1 for v in nets.values())


def _with_top(result, **change) -> Layout:
    """A copy of the wafer layout whose top cell has its PLATE shapes (and refs) replaced."""
    top = result.layout.cells[result.layout.top]
    new = Cell(top.name, shapes={**top.shapes, **change.get("shapes", {})}, labels=top.labels,
               refs=change.get("refs", top.refs))
    return Layout(top=top.name, cells={**result.layout.cells, **change.get("cells", {}), top.name: new})


def test_a_net_without_a_tail_is_reported(pdk, built):
    result = built[2]
    plated = result.layout.cells["TDIE_PLATED"]
    broken = Cell(plated.name, shapes={"PLATE": plated.shapes["PLATE"][1:]}, refs=plated.refs)
    layout = _with_top(result, cells={plated.name: broken})
    found = check_plating(layout, pdk).findings
    assert len(found) == 1 and "has no plating tail" in found[0].message and "232 placements" in found[0].message
    net = result.tails[0].net
    assert f"net {net}:" in found[0].message


def test_an_island_no_straight_tail_can_leave_is_listed_and_reported(pdk):
    design = make_design()
    die = make_die_result(design, pdk)
    # A floating RDL square at the die centre: every straight way out meets a middle pad's trace.
    die.layout.cells["TDIE"].add("RDL", box(-50, -50, 50, 50))
    result = build_wafer(design, pdk, die)
    assert result.summary["plating"]["without_tail"] == [{"net": "", "x": 0.0, "y": 0.0}]
    found = result.checks["plating"].findings
    assert len(found) == 1 and "RDL piece with no net (an unconnected ball pad, or floating metal) has no plating tail" in found[0].message
    assert result.checks["isolation"].figures["unlabelled_pieces"] == 232


def test_a_cut_bus_line_is_reported_where_it_floats(pdk, built):
    result = built[2]
    top = result.layout.cells[result.layout.top]
    plate = list(top.shapes["PLATE"])
    ring = max(plate, key=lambda p: p.area)
    # Keep the ring and one vertical bus line, cut 3 mm short of the ring at both ends: the
    # line floats, and the dies beside the other lanes lose their bus.
    line = next(p for p in plate if p.bounds[2] - p.bounds[0] < 40 and p.bounds[3] - p.bounds[1] > 50000)
    x0, y0, x1, y1 = line.bounds
    cut = line.intersection(box(x0, y0 + 3000, x1, y1 - 3000))
    layout = _with_top(result, shapes={"PLATE": [ring, cut]})
    found = check_plating(layout, pdk).findings
    assert any("is not joined to the contact ring" in f.message for f in found)
    assert any("meets no bus" in f.message for f in found)


def test_a_short_left_after_dicing_is_reported(pdk, built):
    result = built[2]
    plated = result.layout.cells["TDIE_PLATED"]
    t0, t1 = result.tails[0], result.tails[1]
    bridge = shapely.LineString([(t0.x, t0.y), (t1.x, t1.y)]).buffer(10, cap_style="flat")
    broken = Cell(plated.name, shapes={"PLATE": [*plated.shapes["PLATE"], bridge]}, refs=plated.refs)
    layout = _with_top(result, cells={plated.name: broken})
    found = check_isolation(layout, pdk).findings
    assert len(found) == 1 and "still joined after dicing" in found[0].message
    assert t0.net in found[0].message and t1.net in found[0].message


def test_the_checks_agree_on_the_gds_read_back(pdk, built):
    read = pytest.importorskip("layoutgen.drc.read")
    _, _, result, out, _ = built
    gds = read.Layout(out / "wafer.gds")
    plating, isolation = check_plating(gds, pdk), check_isolation(gds, pdk)
    assert plating.ok and isolation.ok
    assert plating.figures == result.checks["plating"].figures
    assert isolation.figures == result.checks["isolation"].figures


def test_thieving_fill_reaches_its_density_and_plates_with_the_network(built):
    design, _, result, _, _ = built
    fill = result.summary["fill"]
    assert fill["density_in_region"] == pytest.approx(DENSITY, rel=0.05)
    assert fill["stripes"] > 100
    assert result.checks["plating"].ok  # every stripe is joined to the ring


# ---------------------------------------------------------------- masks

def test_the_marks_of_consecutive_masks_coincide(pdk, built):
    _, _, result, out, masks = built
    marks = result.summary["marks"]
    by_name = {m.name: m for m in pdk.masks}
    pairs = 0
    for sx, sy in marks["sites"]:
        for target, slot in marks["slots"].items():
            x, y, half = sx + slot["x"], sy + slot["y"], slot["half_um"]
            risers = _region(out / "wafer.gds", [pdk.layer("PLATE").gds], (x, y, half))  # the plated marks' risers
            cross = (_region(out / "masks" / f"{target}.gds", [pdk.layer(slot["layer"]).gds], (x, y, half)) - risers) & _window(x, y, half)
            for name in slot["aligned"]:
                frame = (_region(out / "masks" / f"{name}.gds", [pdk.layer(by_name[name].layers[0]).gds], (x, y, half))
                         - risers) & _window(x, y, half)
                c, f = cross.bbox(), frame.bbox()
                assert (c.center().x, c.center().y) == (f.center().x, f.center().y), (target, name)
                assert f.contains(c.p1) and f.contains(c.p2) and (frame & cross).is_empty()  # around it, clear of it
                pairs += 1
    assert pairs == 2 * (len(pdk.for_route("vias").masks) - 1)  # every later mask's box, at both sites (PV1 is the zero layer)
    assert len(marks["sites"]) == 2
    a, b = marks["sites"]
    assert np.hypot(a[0] - b[0], a[1] - b[1]) > 50000


def test_every_mask_file_carries_its_marks_and_its_label(pdk, built):
    design, _, result, out, masks = built
    assert [m["name"] for m in masks] == ["PV1", "RDL", "PV2", "UBM", "BUMP"]
    y0 = result.field.bounds[1]
    for m in masks:
        lay = pdk.layer(pdk.masks[[k.name for k in pdk.masks].index(m["name"])].layers[0]).gds
        below = gds_region(out / m["file"], [lay], (-1e6, -1e6, 1e6, y0 - 1)) \
            & kdb.Region(kdb.Box(-10**9, -10**9, 10**9, round((y0 - 1) * 1000)))
        assert not below.is_empty(), f"{m['name']}: no label below the wafer"
        for x0, y0, x1, y1 in result.mark_regions():
            area = kdb.Region(kdb.Box(round(x0 * 1000), round(y0 * 1000), round(x1 * 1000), round(y1 * 1000)))
            assert not (gds_region(out / m["file"], [lay], (x0, y0, x1, y1)) & area).is_empty()


def test_an_inverted_mask_is_the_exact_complement_of_its_drawn_layers_within_the_field(pdk, built, tmp_path):
    design, _, result, out, _ = built
    inv_pdk = pdk.model_copy(update={"masks": [m.model_copy(update={"invert": True}) if m.name == "RDL" else m for m in pdk.masks]})
    mask = next(m for m in inv_pdk.masks if m.name == "RDL")
    derived = derive_mask(result.layout, mask, inv_pdk, design.name, design.revision, result.field)
    write_layout(derived, inv_pdk, tmp_path / "RDL_inv.gds", layer_map=mask_layer_map(mask, inv_pdk))
    field = kdb.Region(kdb.Polygon([kdb.Point(round(x * 1000), round(y * 1000)) for x, y in result.field.exterior.coords[:-1]]))
    inverted = _region(tmp_path / "RDL_inv.gds", [(20, 0)]) & field
    drawn = _region(out / "wafer.gds", [(20, 0), (21, 0)]) & field
    # Vertices off the 1 nm database grid are rounded when written: each boundary may move by
    # half a database unit, so areas agree to ½ dbu × boundary length (here ~10⁻⁸ of the field).
    tol = 0.5 * (inverted.perimeter() + drawn.perimeter() + field.perimeter())
    assert abs(field.area() - inverted.area() - drawn.area()) <= tol
    assert (inverted & drawn).area() <= tol
    assert ((inverted + drawn) ^ field).area() <= tol
    assert inverted.area() > 0.8 * field.area()
    # The hierarchical complement (one cell per placement type, placed by arrays) is the same.
    hier = complement_layout(result.layout, mask.layers, result.field, inv_pdk, "RDL", "INV")
    write_layout(hier, inv_pdk, tmp_path / "RDL_hier.gds")
    assert len(hier.cells) < 6 and any(r.columns > 1 for r in hier.cells["INV"].refs)
    assert (_region(tmp_path / "RDL_hier.gds", [(20, 0)]) ^ inverted).area() <= tol


def test_a_mirrored_mask_carries_its_marks_mirrored_about_the_wafer_axis(pdk, built, tmp_path):
    design, _, result, out, _ = built
    mirrored = pdk.model_copy(update={"masks": [m.model_copy(update={"mirror": True}) if m.name == "RDL" else m for m in pdk.masks]})
    mask = next(m for m in mirrored.masks if m.name == "RDL")
    derived = derive_mask(result.layout, mask, mirrored, design.name, design.revision, result.field)
    write_layout(derived, mirrored, tmp_path / "RDL_mirror.gds", layer_map=mask_layer_map(mask, mirrored))
    slot = result.summary["marks"]["slots"]["PV1"]  # the RDL box around PV1's cross
    for sx, sy in result.summary["marks"]["sites"]:
        x, y, half = sx + slot["x"], sy + slot["y"], slot["half_um"]
        plain = (_region(out / "masks" / "RDL.gds", [(20, 0)], (x, y, half)) & _window(x, y, half)).bbox()
        flipped = (_region(tmp_path / "RDL_mirror.gds", [(20, 0)], (-x, y, half)) & _window(-x, y, half)).bbox()
        assert (flipped.center().x, flipped.center().y) == (-plain.center().x, plain.center().y)
        assert flipped.width() == plain.width()


def test_an_inverted_300mm_mask_stays_hierarchical_and_small(pdk, wafer300, tmp_path):
    result = wafer300
    hier = complement_layout(result.layout, ["RDL", "PLATE"], result.field, pdk, "RDL", "INV")
    path = write_layout(hier, pdk, tmp_path / "inv300.gds")
    assert path.stat().st_size < 200_000
    placed = sum(r.columns * r.rows for r in hier.cells["INV"].refs)
    assert placed == result.die_map.count > 2000


def test_the_shot_map_is_drawn_on_the_shot_layer(pdk, built):
    _, _, result, out, _ = built
    shots = _region(out / "wafer.gds", [pdk.layer("SHOT").gds])
    lib = gdstk.read_gds(str(out / "wafer.gds"))
    (top,) = lib.top_level()
    n = sum(r.repetition.size or 1 for r in top.references if r.cell.name.startswith("SHOT_"))
    assert n == result.summary["shots"]["shots"]
    c = result.die_map.centres() * 1000
    assert all(shots.interacting(kdb.Region(kdb.Box(round(x) - 1, round(y) - 1, round(x) + 1, round(y) + 1))).count() == 1
               for x, y in c)


def test_the_mask_order_table_lists_every_mask_in_alignment_order(pdk, built, tmp_path):
    _, _, result, _, masks = built
    for m in masks:
        m["smallest_feature_um"] = result.summary["mask_features"][m["name"]]
    rows = mask_order_rows(pdk, masks)
    assert [r["mask"] for r in rows] == ["PV1", "RDL", "PV2", "UBM", "BUMP"]
    rdl = rows[1]
    assert rdl["layers"] == "RDL+PLATE" and rdl["gds_layer"] == "20/0"
    assert (rdl["field_tone"], rdl["digitized_tone"], rdl["inverted"], rdl["mirror"]) == ("dark", "clear", False, False)
    assert rdl["smallest_feature_um"] == 10.0 and rdl["alignment_sequence"] == "KEYS > PV1 > RDL"
    write_mask_order(rows, tmp_path)
    csv_lines = (tmp_path / "mask_order.csv").read_text().splitlines()
    assert csv_lines[0].startswith("seq,mask,layers,gds_layer,field_tone,digitized_tone") and len(csv_lines) == 6
    assert json.loads((tmp_path / "mask_order.json").read_text()) == json.loads(json.dumps(rows))


# ---------------------------------------------------------------- inputs

def test_a_ring_wider_than_the_edge_exclusion_is_refused(pdk):
    design = make_design(plating=Plating(ring_width=4000.0))
    with pytest.raises(ConfigError, match=r"Plating.ring_width = 4000 µm is wider than Wafer.edge_exclusion"):
        build_wafer(design, pdk, make_die_result(design, pdk))


def test_a_tail_narrower_than_the_pdk_allows_is_refused(pdk):
    design = make_design(plating=Plating(tail_width=5.0))
    with pytest.raises(ConfigError, match=r"Plating.tail_width = 5 µm is below the 10 µm minimum"):
        build_wafer(design, pdk, make_die_result(design, pdk))


def test_a_fixed_offset_centres_a_die_on_the_wafer(pdk):
    design = make_design(offset=(0.0, 0.0))
    result = build_wafer(design, pdk, make_die_result(design, pdk))
    assert result.summary["offset_um"] == [0.0, 0.0] and result.summary["offset_mode"] == "fixed"
    assert result.summary["dies"] == 233 - result.summary["marks"]["dies_dropped"] == 231
    assert result.checks["plating"].ok and result.checks["isolation"].ok


def test_a_flat_wafer_plates_and_isolates_too(pdk):
    design = make_design(diameter=150, orientation="flat")
    result = build_wafer(design, pdk, make_die_result(design, pdk))
    assert result.checks["plating"].ok and result.checks["isolation"].ok
    flat_y = result.field.bounds[1]
    assert flat_y > -75000 + 1000  # the flat cuts the disc


# ---------------------------------------------------------------- the template die

def test_the_template_die_plates_and_isolates_on_a_wafer(pdk):
    from layoutgen.pipeline import resolve_pdk
    from layoutgen.config import load_config
    from layoutgen.design import Wafer
    from layoutgen.families.wlcsp_fanin.build import build_die

    from conftest import TEMPLATES

    design = load_config(TEMPLATES / "wlcsp_fanin.py")
    design.wafer = Wafer(diameter=100, reticle=(20400.0, 25500.0))
    tpdk = resolve_pdk(design)
    die = build_die(design, tpdk)
    result = build_wafer(design, tpdk, die)
    assert result.summary["dies"] == 240 - result.summary["marks"]["dies_dropped"] == 232
    assert result.summary["plating"]["without_tail"] == []
    assert result.checks["plating"].ok, result.checks["plating"].findings[:3]
    assert result.checks["isolation"].ok, result.checks["isolation"].findings[:3]
    per_die = result.checks["isolation"].figures["pieces_per_die"]
    assert per_die == len(die.assignment)  # one piece per routed pad


def test_a_wafer_on_a_family_without_one_is_refused_naming_its_substrate():
    from layoutgen.config import load_config
    from layoutgen.design import Wafer
    from layoutgen.pipeline import place_on_wafer

    from conftest import TEMPLATES

    design = load_config(TEMPLATES / "fanout_2die.py").model_copy(update={"wafer": Wafer(diameter=200)})
    with pytest.raises(ConfigError) as err:
        place_on_wafer(design, load_pdk(design.pdk), None)
    msg = str(err.value)
    assert "family 'fanout' takes no Design.wafer" in msg and "Fanout.panel" in msg and "plating" not in msg
    assert "the families wlcsp_fanin, relief_csp, sheet_terminals, backside_wlcsp;" in msg

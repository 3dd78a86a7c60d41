"""Alignment to real targets on a 100 mm wafer, read back from the mask files with KLayout: the first mask
frames the user's incoming keys, every later mask has a box and verniers on its reference mask's cross,
no mark feature lies in the edge exclusion, and plated marks are joined to the plating network."""

from __future__ import annotations

import math
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely

from layoutgen.design import Alignment, AlignmentKey
from layoutgen.errors import ConfigError
from layoutgen.gdsio import write_layout
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer, mask_order_rows
from layoutgen.wafer.outline import WaferShape

from wafer_support import gds_region, make_design, make_die_result, write_masks

KEY = AlignmentKey(x=-1500.0, y=0.0, size=40.0)  # a key in the die's own layout, clear of its drawing


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky400")


@pytest.fixture(scope="module")
def built(pdk, tmp_path_factory):
    design = make_design(alignment=Alignment(keys=[KEY]))
    result = build_wafer(design, pdk, make_die_result(design, pdk))
    out = tmp_path_factory.mktemp("align")
    write_layout(result.layout, pdk, out / "wafer.gds")
    masks = write_masks(result.layout, result.field, design, pdk, out)
    return design, result, out, masks


def _region(path: Path, gds: tuple[int, int], window: tuple[float, float, float, float] | None = None) -> kdb.Region:
    return gds_region(path, [gds], window)


def _box(x0: float, y0: float, x1: float, y1: float) -> kdb.Region:
    return kdb.Region(kdb.Box(round(x0 * 1000), round(y0 * 1000), round(x1 * 1000), round(y1 * 1000)))


def _poly(p: shapely.Polygon) -> kdb.Region:
    return kdb.Region(kdb.Polygon([kdb.Point(round(x * 1000), round(y * 1000)) for x, y in p.exterior.coords[:-1]]))


def _mark_areas(result) -> kdb.Region:
    reg = kdb.Region()
    for b in result.mark_regions():
        reg += _box(*b)
    for k in result.summary["marks"]["keys"]:
        h = k["half_um"]
        reg += _box(k["x"] - h, k["y"] - h, k["x"] + h, k["y"] + h)
    return reg


def test_no_mark_feature_lies_in_the_edge_exclusion(pdk, built):
    design, result, out, masks = built
    w = design.wafer
    usable = _poly(WaferShape.of(w.diameter, w.orientation, w.edge_exclusion).usable(pdk.grid_um))
    areas = _mark_areas(result)
    assert len(result.summary["marks"]["sites"]) == 2 and result.summary["marks"]["dies_dropped"] > 0
    for m in masks:
        on_mask = kdb.Region()
        for a in areas.each():   # what the mask has there, read area by area (the dies between them left unread)
            b = a.bbox()
            on_mask += _region(out / m["file"], tuple(m["gds_layer"]), (b.left / 1000, b.bottom / 1000, b.right / 1000, b.top / 1000))
        on_mask.merge()
        marks = on_mask & areas
        assert not marks.is_empty(), m["name"]
        assert (marks - usable).is_empty(), f"{m['name']}: mark features in the edge exclusion"
    # the marks are far apart on the x axis, as an aligner's two objectives need
    (ax, _), (bx, _) = result.summary["marks"]["sites"]
    assert bx - ax > 0.6 * w.diameter * 1000


def test_the_first_mask_frames_the_incoming_die_keys(pdk, built):
    design, result, out, masks = built
    keys = result.summary["marks"]["keys"]
    dm = result.die_map
    assert [k["mask"] for k in keys] == ["PV1", "PV1"] and all(k["frame"] == "die" for k in keys)
    pv1 = _region(out / "masks" / "PV1.gds", pdk.layer("PV1").gds)
    for k in keys:
        i, j = k["die"]
        assert (k["x"], k["y"]) == pytest.approx((dm.offset[0] + i * dm.pitch[0] + KEY.x, dm.offset[1] + j * dm.pitch[1] + KEY.y))
        h = k["half_um"]
        frame = pv1 & _box(k["x"] - h, k["y"] - h, k["x"] + h, k["y"] + h)
        c = frame.bbox().center()
        assert (c.x / 1000, c.y / 1000) == pytest.approx((k["x"], k["y"]))
        key = _box(k["x"] - KEY.size / 2, k["y"] - KEY.size / 2, k["x"] + KEY.size / 2, k["y"] + KEY.size / 2)
        assert (frame & key).is_empty() and frame.bbox().contains(key.bbox().p1) and frame.bbox().contains(key.bbox().p2)
    assert abs(keys[0]["x"] - keys[1]["x"]) > 0.4 * design.wafer.diameter * 1000  # two dies far apart


def test_every_vernier_reads_zero_when_the_masks_register(pdk, built):
    design, result, out, masks = built
    verniers = result.summary["marks"]["verniers"]
    files = {m["name"]: out / m["file"] for m in masks}
    assert [(v["target"], v["aligned"]) for v in verniers] == [("PV1", "RDL"), ("RDL", "PV2"), ("PV2", "UBM"), ("UBM", "BUMP")]
    for sx, sy in result.summary["marks"]["sites"]:
        for v in verniers:
            p, step = v["pitch_um"], v["step_um"]
            x, y = sx + v["x_row"][0], sy + v["x_row"][1]
            centres = {}
            for mask, layer, side in ((v["target"], v["ref_layer"], 1), (v["aligned"], v["layer"], -1)):
                at = y + side * (v["gap_um"] / 2 + 1)  # a thin band across the row's lines, just off the gap between them
                window = (x - 5 * p, at - 0.5, x + 5 * p, at + 0.5)
                band = _box(*window)
                risers = _region(out / "wafer.gds", pdk.layer("PLATE").gds, window)
                reg = (_region(files[mask], pdk.layer(layer).gds, window) - risers) & band
                centres[side] = sorted(poly.bbox().center().x / 1000 - x for poly in reg.each())
            ref, al = centres[1], centres[-1]
            n = len(ref) // 2
            assert len(ref) == len(al) >= 5 and len(ref) % 2 == 1, v
            assert ref[n] == pytest.approx(0, abs=1e-3) and al[n] == pytest.approx(0, abs=1e-3)  # centre lines coincide
            assert all(b - a == pytest.approx(p, abs=0.006) for a, b in zip(ref, ref[1:]))
            assert all(b - a == pytest.approx(p + step, abs=0.006) for a, b in zip(al, al[1:]))


def test_every_plated_mark_is_joined_to_the_plating_network(pdk, built):
    design, result, out, masks = built
    assert result.checks["plating"].ok  # the build's check counts the marks' metal as wafer metal
    rdl = _region(out / "masks" / "RDL.gds", pdk.layer("RDL").gds)  # RDL and PLATE on one mask
    r = design.wafer.diameter * 500.0
    edge = _box(-r, -r, r, r) - _poly(shapely.Point(0, 0).buffer(r - 500, 256))
    areas = _mark_areas(result)
    marked = rdl.interacting(areas)
    assert marked.count() >= 1
    assert marked.interacting(edge).count() == marked.count()  # every piece in a mark area reaches the contact ring


def test_the_order_table_names_the_mark_every_mask_aligns_with(pdk, built):
    design, result, out, masks = built
    rows = {r["mask"]: r for r in mask_order_rows(pdk, masks, design.wafer)}
    assert rows["PV1"]["aligns_to"] == "KEYS" and rows["PV1"]["alignment_mark"] == "box around the incoming die keys"
    assert rows["RDL"]["alignment_mark"] == "box-in-box on PV1's cross, x and y verniers (0.5 µm step)"
    zero = {r["mask"]: r for r in mask_order_rows(pdk, masks, make_design().wafer)}
    assert zero["PV1"]["alignment_mark"].startswith("zero layer")


def test_a_backside_first_mask_sees_the_front_keys_through_the_wafer(built):
    design = built[0]
    bpdk = load_pdk("backside400")
    rows = {r["mask"]: r for r in mask_order_rows(bpdk, [{"name": m.name} for m in bpdk.masks], design.wafer)}
    assert rows["GROOVE1"]["alignment_mark"] == "box around the incoming die keys, seen through the wafer in infrared"
    through = design.wafer.model_copy(update={"alignment": Alignment(keys=[KEY], backside="through_wafer")})
    rows = {r["mask"]: r for r in mask_order_rows(bpdk, [{"name": m.name} for m in bpdk.masks], through)}
    assert rows["GROOVE1"]["alignment_mark"].endswith("through-wafer keys")


def test_user_mark_sites_are_used_and_bad_ones_refused(pdk):
    design = make_design(alignment=Alignment(sites=[(-30000.0, 0.0), (30000.0, 0.0)]))
    result = build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
    assert result.summary["marks"]["sites"] == [[-30000.0, 0.0], [30000.0, 0.0]]
    assert result.summary["dies"] < 240  # the sites took die sites
    design = make_design(alignment=Alignment(sites=[(-47000.0, 0.0), (30000.0, 0.0)]))
    with pytest.raises(ConfigError, match=r"Alignment.sites: .* at \(-47000, 0\) is not inside the 3000 µm edge exclusion"):
        build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)


def test_a_scribe_key_whose_box_reaches_into_a_die_is_refused(pdk):
    keys = [AlignmentKey(x=0.0, y=0.0, frame="wafer"), AlignmentKey(x=10000.0, y=0.0, frame="wafer")]
    design = make_design(offset=(0.0, 0.0), alignment=Alignment(keys=keys))
    with pytest.raises(ConfigError, match=r"AlignmentKey #1 \(0, 0, frame='wafer'\): mask PV1's .* would reach into a die site"):
        build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
    with pytest.raises(ValueError, match="one wafer-frame key fixes no rotation"):
        Alignment(keys=keys[:1])
    assert math.isfinite(Alignment().vernier_step)

"""Stepper reticles of a 100 mm wafer of the hand-drawn die, read back with KLayout: the shot's die array at the
reduction, the bus on the lane centre lines, the job file's shots where the shot map puts them."""

from __future__ import annotations

import csv
import json

import klayout.db as kdb
import pytest
import shapely
from pydantic import ValidationError

from layoutgen.design import Plating, Stepper, Wafer
from layoutgen.gdsio import write_layout
from layoutgen.masks import mask_layer_map
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer
from layoutgen.masks.reticle import reticle_layout, write_job

from wafer_support import make_design, make_die_result

RETICLE = (20400.0, 25500.0)


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky400")


@pytest.fixture(scope="module")
def wafer(pdk):
    design = make_design(reticle=RETICLE, plating=Plating())
    return design, build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)


def _read(path):
    ly = kdb.Layout()
    ly.read(str(path))
    return ly


@pytest.mark.parametrize("reduction", [1, 4, 5])
def test_a_reticle_is_the_shot_die_array_at_the_reduction(pdk, wafer, tmp_path, reduction):
    design, result = wafer
    mask = next(m for m in pdk.masks if m.name == "RDL")
    ly = reticle_layout(result.layout, result.summary["cells"]["plated_die"], (0.0, 0.0), mask, pdk, result.die_map,
                        result.shots, reduction, design.name, design.revision, design.wafer.plating.bus_width)
    path = write_layout(ly, pdk, tmp_path / "RDL.gds", layer_map=mask_layer_map(mask, pdk))
    k = _read(path)
    top = k.top_cell()
    (nx, ny), (px, py) = result.shots.per_shot, result.die_map.pitch
    shot = kdb.Region(top.begin_shapes_rec(k.layer(*pdk.layer("SHOT").gds))).bbox()
    assert (shot.width() * k.dbu, shot.height() * k.dbu) == pytest.approx((nx * px * reduction, ny * py * reduction), abs=0.1)
    (inst,) = list(top.each_inst())
    steps = sorted([(inst.a, inst.na), (inst.b, inst.nb)], key=lambda v: abs(v[0].y))  # the x step first
    assert [n for _, n in steps] == [nx, ny]
    assert (steps[0][0].x * k.dbu, steps[1][0].y * k.dbu) == pytest.approx((px * reduction, py * reduction))
    # the die's RDL and plating tails, scaled: area × reduction²
    drawn = shapely.union_all([g for n in ("RDL", "PLATE") for g in result.layout.flat(n, result.summary["cells"]["plated_die"])])
    die = kdb.Region(inst.cell.begin_shapes_rec(k.layer(*pdk.layer("RDL").gds)))
    die.merge()
    assert die.area() * k.dbu ** 2 == pytest.approx(drawn.area * reduction ** 2, rel=1e-5)
    # the bus on the field's lane centre lines: the field's horizontal centre line is a lane only for even ny
    data = kdb.Region(top.shapes(k.layer(*pdk.layer("RDL").gds)))
    w = design.wafer.plating.bus_width * reduction
    edge = kdb.Box(round(-1000 / k.dbu), round((ny * py * reduction / 2 - w / 2) / k.dbu),
                   round(1000 / k.dbu), round((ny * py * reduction / 2) / k.dbu))
    assert (data & kdb.Region(edge)).area() == pytest.approx(edge.area(), rel=1e-6)


def test_the_job_file_puts_every_shot_where_the_shot_map_does(wafer, tmp_path):
    design, result = wafer
    job = write_job(tmp_path, result.die_map, result.shots, 5, {"RDL": "reticles/RDL.gds"})
    rows = list(csv.DictReader((tmp_path / "job.csv").open()))
    assert job["shots"] == len(rows) == len(result.shots.shots) == result.summary["shots"]["shots"]
    for r in rows:
        assert (float(r["x_um"]), float(r["y_um"])) == pytest.approx(result.shots.centre(result.die_map, (int(r["column"]), int(r["row"]))))
    # every die of the map lies in exactly one shot of the job
    (nx, ny), (px, py) = result.shots.per_shot, result.die_map.pitch
    boxes = [shapely.box(float(r["x_um"]) - nx * px / 2, float(r["y_um"]) - ny * py / 2,
                         float(r["x_um"]) + nx * px / 2, float(r["y_um"]) + ny * py / 2) for r in rows]
    for x, y in result.die_map.centres():
        assert sum(b.contains(shapely.Point(x, y)) for b in boxes) == 1
    assert json.loads((tmp_path / "job.json").read_text())["reduction"] == 5


def test_a_stepper_needs_a_field_that_fits_the_reticle():
    with pytest.raises(ValidationError, match="stepper needs reticle"):
        Wafer(diameter=100, stepper=Stepper())
    with pytest.raises(ValidationError, match=r"at 5× is 165 mm: larger than the reticle.s 132 mm pattern area"):
        Wafer(diameter=100, reticle=(26000.0, 33000.0), stepper=Stepper(reduction=5))
    assert Wafer(diameter=100, reticle=(26000.0, 33000.0), stepper=Stepper(reduction=4)).stepper.reduction == 4


def test_the_field_limits_are_the_users_tool_not_constants():
    """A 1X stepper with a 44 × 44 mm field: its limits are Stepper data, the defaults are a 26 × 33 mm scanner's."""
    with pytest.raises(ValidationError, match=r"must be positive and at most 26000 × 33000 µm"):
        Wafer(diameter=100, reticle=(40000.0, 40000.0))
    wide = Stepper(reduction=1, max_field=(44000.0, 44000.0))
    assert Wafer(diameter=100, reticle=(40000.0, 40000.0), stepper=wide).reticle == (40000.0, 40000.0)
    with pytest.raises(ValidationError, match=r"at most 44000 × 44000 µm \(the largest field of the stepper, Stepper.max_field\)"):
        Wafer(diameter=100, reticle=(45000.0, 40000.0), stepper=wide)
    with pytest.raises(ValidationError, match=r"at 4× is 160 mm: larger than the reticle's 152 mm pattern area"):
        Wafer(diameter=100, reticle=(40000.0, 30000.0), stepper=Stepper(reduction=4, max_field=(44000.0, 44000.0),
                                                                          reticle_pattern=152000.0))

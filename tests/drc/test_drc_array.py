"""A cell placed by a large regular array (GDS AREF) is checked once per distinct neighbourhood
and the result equals the flat check of the expanded array, violation for violation."""

from __future__ import annotations

import re

import gdstk
import pytest

from layoutgen.drc import run_drc
from layoutgen.drc.hier.array import ArrayCheck, check_array
from layoutgen.drc.hier.markers import ref_points
from layoutgen.drc.read import Layout
from layoutgen.drc.violation import Finding
from layoutgen.pdk import load_pdk

from drc_corpus import PDK

COLS, ROWS, PITCH = 21, 13, (15.0, 40.0)
RULES = ["RDL.W.1", "RDL.S.1", "RDL.EN.PV1", "GRID.1", "RDL.DEN"]


def write_array(path, cell_shapes, cols=COLS, rows=ROWS, pitch=PITCH) -> None:
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("UNIT")
    for layer, box in cell_shapes:
        lay, dt = PDK.layers[layer].gds
        cell.add(gdstk.rectangle(box[:2], box[2:], layer=lay, datatype=dt))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(cell, (100.0, -50.0), columns=cols, rows=rows, spacing=pitch))
    lib.write_gds(str(path))


# Each unit: an RDL block 1 µm from its right neighbour and 2 µm from the one above (space across
# placements both ways), a 4 µm RDL stub on its top edge (width; its space to the block above), a
# PV1 opening off the block's edge (enclosure), a PV1 vertex off the 5 nm grid, and 88 % RDL density.
UNIT = [("RDL", (0, 0, 14, 38)), ("RDL", (5, 38, 9, 38.5)), ("PV1", (10, 10, 15.5, 16)),
        ("PV1", (2, 2, 4.0021, 5))]


def key(v, where: bool = True) -> tuple:
    """A violation as the flat check reports it: rule, message (without the placement note; without
    the coordinates it names, unless `where`), marker: where its edges come closest, or its region's
    centre and area (translated copies of one shape may start their outlines elsewhere: a marker's
    edges at a corner may be either edge there, and a region carry a zero-area sliver more or less)."""
    message = v.message.split(" (in ")[0]
    if v.region is not None:
        c = v.region.centroid
        marker = (round(c.x, 3), round(c.y, 3), round(v.region.area, 3))
    else:
        marker = tuple(ref_points([Finding(v.message, None, v.edges)], 0.001)[0].tolist())
    return (v.rule, message if where else re.sub(r"\(.*?\)", "()", message), marker)


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    d = tmp_path_factory.mktemp("array")
    write_array(d / "array.gds", UNIT)
    write_array(d / "row.gds", UNIT, cols=80, rows=1)
    write_array(d / "apart.gds", [("RDL", (0, 0, 4, 30))], cols=30, rows=3, pitch=(2500.0, 2500.0))
    return d


@pytest.mark.parametrize("name", ["array", "row"])
def test_an_array_checked_once_per_neighbourhood_equals_the_flat_check(arrays, name):
    path = arrays / f"{name}.gds"
    pdk = load_pdk("sky400")
    flat = run_drc(path, pdk, rules=RULES, hierarchical=False)
    assert all(flat.counts()[r] > 0 for r in RULES)
    if name == "row":                                   # the engine takes an array this way by itself
        res = run_drc(path, pdk, rules=RULES, hierarchical=True)
        assert res.stats["TOP"]["mode"] == "array" and res.flat_counts() == flat.counts()
    layout = Layout(path)
    chk = ArrayCheck(layout, "TOP", pdk, [r for r in pdk.rules if r.name in RULES], layout.placements("TOP")[0])
    found, occ, stats = chk.run()
    assert stats["checked_array"][0] < (COLS if name == "array" else 80)   # a smaller array was checked
    counts = {r: 0 for r in RULES}
    for v, k in zip(found, occ):
        counts[v.rule] += k
    assert counts == flat.counts()
    assert len(found) < len(flat.violations)           # each class once
    # violation for violation: every placement of every class, as the flat check reports them
    every = sorted(key(v, where=False) for v in chk.every_placement())
    assert every == sorted(key(v, where=False) for v in flat.violations if v.rule != "RDL.DEN")
    # each reported violation is one of the flat check's, message and coordinates as they are there
    assert {key(v) for v in found} <= {key(v) for v in flat.violations}
    assert sorted(key(v) for v in found if v.rule == "RDL.DEN") == \
        sorted(key(v) for v in flat.violations if v.rule == "RDL.DEN")


def test_density_of_an_array_of_far_apart_cells_counts_each_placement(arrays):
    pdk = load_pdk("sky400")
    path = arrays / "apart.gds"
    flat = run_drc(path, pdk, rules=["RDL.DEN", "RDL.W.1"], hierarchical=False)
    res = run_drc(path, pdk, rules=["RDL.DEN", "RDL.W.1"], hierarchical=True)
    assert res.stats["TOP"]["mode"] == "array"
    assert flat.counts()["RDL.DEN"] == 90 and res.flat_counts() == flat.counts()


def test_an_array_whose_cells_touch_is_not_checked_as_an_array(tmp_path):
    write_array(tmp_path / "touch.gds", [("RDL", (0, 0, 15, 20))], cols=12, rows=8, pitch=(15.0, 40.0))
    pdk = load_pdk("sky400")
    layout = Layout(tmp_path / "touch.gds")
    assert check_array(layout, "TOP", pdk, list(pdk.rules)) is None   # merged shapes cross placements
    flat = run_drc(tmp_path / "touch.gds", pdk, hierarchical=False)
    assert run_drc(tmp_path / "touch.gds", pdk, hierarchical=True).flat_counts() == flat.counts()

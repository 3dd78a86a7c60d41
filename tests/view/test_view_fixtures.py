"""Small output folders for the view tests, made here because the router and the DRC are still being written.

`make_design_dir` writes out/demo/ as a build would: demo.gds (a 1 × 1 mm die cell with a DIE
outline, RDL traces and round pads, PV1 openings, one BUMP circle, net and ball labels), masks/RDL.gds
and masks/BUMP.gds, demo.lyp from the sky400 PDK, summary.json (with a per-ball table), drc.json and
drc.lyrdb (one rule with 3 markers). `with_wafer=True` adds a WAFER top cell placing the die 3 × 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import gdstk
import klayout.db as kdb
import klayout.rdb as krdb
import pytest

from layoutgen.lyp import write_lyp
from layoutgen.pdk import load_pdk

DIE = "DIE_DEMO"
HALF = 500.0                       # the die spans -500..500 µm in x and y
TRACE_W = 30.0
# A straight RDL trace: its middle, away from every other layer, is a place RDL alone is drawn.
TRACE = [(-300.0, -300.0), (200.0, -300.0), (200.0, 200.0)]
TRACE_MIDDLE = (-50.0, -300.0)
EMPTY_SPOT = (250.0, -100.0)       # inside the die, nothing but the die outline near it
BALL = (200.0, 200.0)
WAFER_PITCH = 1100.0
MARKERS = 3


def _die_cell(lib: gdstk.Library) -> gdstk.Cell:
    """The die: outline, two nets of RDL (round pads joined by traces), PV1 over the pads, a bump."""
    c = lib.new_cell(DIE)
    c.add(gdstk.rectangle((-HALF, -HALF), (HALF, HALF), layer=1))
    c.add(*gdstk.FlexPath(TRACE, TRACE_W, layer=20).to_polygons())
    c.add(*gdstk.FlexPath([(-300.0, 300.0), (-300.0, 100.0)], TRACE_W, layer=20).to_polygons())
    for x, y in [(-300.0, -300.0), (-300.0, 300.0), (-300.0, 100.0)]:
        c.add(gdstk.ellipse((x, y), 40, layer=20, tolerance=0.01))
        c.add(gdstk.ellipse((x, y), 20, layer=10, tolerance=0.01))
    c.add(gdstk.ellipse(BALL, 120, layer=20, tolerance=0.01))
    c.add(gdstk.ellipse(BALL, 100, layer=50, tolerance=0.01))
    c.add(gdstk.Label("VDD", BALL, layer=50), gdstk.Label("A1", BALL, layer=220))
    return c


def _write_gds(lib: gdstk.Library, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lib.write_gds(str(path))
    return path


def _mask(out: Path, name: str, layer: int) -> None:
    """masks/<name>.gds: the die's shapes of `layer` flattened into one top cell."""
    lib = gdstk.Library("MASK", unit=1e-6, precision=1e-9)
    die = _die_cell(gdstk.Library("TMP", unit=1e-6, precision=1e-9))
    top = lib.new_cell(f"demo_{name}")
    top.add(*[p.copy() for p in die.polygons if p.layer == layer])
    top.add(*gdstk.text(f"demo {name} REV A", 40, (-HALF, -HALF - 80), layer=layer))
    _write_gds(lib, out / "masks" / f"{name}.gds")


def _lyrdb(path: Path) -> None:
    """drc.lyrdb: the rule RDL.S.1 with MARKERS boxes, as the DRC will write it."""
    db = krdb.ReportDatabase("drc")
    db.top_cell_name = DIE
    cell = db.create_cell(DIE)
    cat = db.create_category("RDL.S.1")
    cat.description = "RDL space >= 10 µm"
    for i in range(MARKERS):
        item = db.create_item(cell.rdb_id(), cat.rdb_id())
        item.add_value(kdb.DBox(-100 + 20 * i, -320, -95 + 20 * i, -280))
    db.save(str(path))


SUMMARY = {
    "design": "demo", "revision": "A", "family": "wlcsp_fanin",
    "pdk": {"name": "sky400", "rules": 30, "grid_um": 0.005},
    "die": {"name": DIE, "width_um": 1000.0, "height_um": 1000.0},
    "counts": {"dies": 1, "pads": 3, "balls": 1, "connected_balls": 1, "nets": 2, "routes": 1},
    "shapes": {"DIE": 1, "PV1": 3, "RDL": 6, "BUMP": 1},
    "masks": [
        {"name": "RDL", "file": "masks/RDL.gds", "layers": ["RDL", "PLATE"], "gds_layer": [20, 0],
         "field": "dark", "invert": False, "mirror": False, "aligns_to": "PV1"},
        {"name": "BUMP", "file": "masks/BUMP.gds", "layers": ["BUMP"], "gds_layer": [50, 0],
         "field": "dark", "invert": False, "mirror": False, "aligns_to": "UBM"},
    ],
    "routing": {"total_length_um": 900.0, "max_length_um": 900.0, "assignment": {"P1": "A1"}},
    "ball_nets": {"A1": "VDD"},
    "capture_pad_um": 240.0,
    "per_ball": [{"ball": "A1", "net": "VDD", "post_width_um": 100.0, "post_height_um": 120.0,
                  "compliance_um_per_mN": 0.03125}],
    "versions": {"layoutgen": "0.1.0", "klayout": "0.30"},
}
DRC = [
    {"name": "RDL.S.1", "description": "RDL space >= 10 µm", "count": MARKERS, "waived": False},
    {"name": "RDL.W.1", "description": "RDL width >= 10 µm", "count": 0, "waived": False},
    {"name": "PV1.W.1", "description": "PV1 opening width >= 35 µm", "count": 2, "waived": True},
]


def make_design_dir(root: Path, with_wafer: bool = False, drc: bool = True) -> Path:
    """Write out/demo/ under `root` (see the module docstring) and return the folder."""
    out = root / "out" / "demo"
    lib = gdstk.Library("LAYOUTGEN", unit=1e-6, precision=1e-9)
    die = _die_cell(lib)
    if with_wafer:
        wafer = lib.new_cell("WAFER")
        wafer.add(gdstk.ellipse((0, 0), 2.2 * WAFER_PITCH, layer=201, tolerance=0.1))
        wafer.add(gdstk.Reference(die, (-WAFER_PITCH, -WAFER_PITCH), columns=3, rows=3,
                                  spacing=(WAFER_PITCH, WAFER_PITCH)))
    _write_gds(lib, out / "demo.gds")
    _mask(out, "RDL", 20)
    _mask(out, "BUMP", 50)
    write_lyp(load_pdk("sky400"), out / "demo.lyp")
    (out / "summary.json").write_text(json.dumps(SUMMARY, indent=2), encoding="utf-8")
    if drc:
        (out / "drc.json").write_text(json.dumps(DRC, indent=2), encoding="utf-8")
        _lyrdb(out / "drc.lyrdb")
    return out


@pytest.fixture
def design_dir(tmp_path: Path) -> Path:
    """out/demo/ with a die, two masks, the .lyp, the summary and DRC results."""
    return make_design_dir(tmp_path)

"""A carrier panel of fan-out units through the whole build: units by one array, DRC-clean."""

from __future__ import annotations

import json

import klayout.db as kdb

from layoutgen.pipeline import build

from conftest import TEMPLATES, template_variant


def test_the_build_writes_a_panel_of_units_when_the_config_asks(tmp_path):
    cfg = template_variant(TEMPLATES / "fanout_2die.py", tmp_path / "panel.py",
                           "from layoutgen import CarrierPanel\n"
                           "design = design.model_copy(update={'name': 'panel', 'package': design.package.model_copy(\n"
                           "    update={'panel': CarrierPanel(size=(60000, 40000), frame=5000)})})")
    result = build(cfg, out=tmp_path / "out")
    assert result.exit_code == 0 and result.drc is not None and result.drc.ok
    panel = json.loads((result.out_dir / "summary.json").read_text())["panel"]
    # (60 − 2·5) mm / 8.1 mm → 6 columns, (40 − 10) / 8.1 → 3 rows
    assert (panel["columns"], panel["rows"], panel["units"], panel["dies"]) == (6, 3, 18, 36)
    ly = kdb.Layout()
    ly.read(str(result.out_dir / "panel.gds"))
    top = ly.top_cell()
    placed = sum(inst.size() for inst in top.each_inst())
    assert placed == 18 and len(list(top.each_inst())) <= 3  # one array (per row at most), never copies
    bumps = kdb.Region(top.begin_shapes_rec(ly.layer(50, 0)))
    unit = json.loads((result.out_dir / "summary.json").read_text())["counts"]["balls"]
    assert bumps.count() == 18 * unit

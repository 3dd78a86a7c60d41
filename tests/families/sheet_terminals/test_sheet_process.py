"""The sheet flow as the patent makes it: the grid variant (figs. 8-9) wired through the dielectric,
bonding metal on every lead tip, and fiducial holes through the opaque sheet that the masks of
both sides register to. Measured on the written GDS files (klayout.db) and by the project's DRC."""

from __future__ import annotations

import json
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely

from layoutgen.config import load_config
from layoutgen.drc import run_drc
from layoutgen.errors import ConfigError
from layoutgen.pipeline import build
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES, template_variant
from test_sheet_terminals import read_polys

TEMPLATE = TEMPLATES / "compliant_terminals.py"
PDK = load_pdk("sheet100")
L = {name: PDK.layer(name).gds for name in ("PAD", "LEAD", "BOND", "TVIA", "TRACE", "SVIA", "SPOT", "MARK", "THRU", "LINER")}
GRID8 = ("design = design.model_copy(update={'package': design.package.model_copy(update={"
         "'placement': 'grid', 'grid': BallGrid(rows=8, cols=8, pitch=350)})})")


@pytest.fixture(scope="module")
def grid_built(tmp_path_factory) -> Path:
    cfg = template_variant(TEMPLATE, tmp_path_factory.mktemp("cfg") / "grid.py",
                           "from layoutgen import BallGrid\n" + GRID8)
    return build(cfg, out=tmp_path_factory.mktemp("out")).out_dir


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(TEMPLATE, out=tmp_path_factory.mktemp("out"), drc=False).out_dir


def test_the_grid_variant_joins_every_lead_to_its_own_terminal_through_the_dielectric(grid_built: Path):
    s = json.loads((grid_built / "summary.json").read_text())
    assert s["drc"]["ok"] and {"NET.OPEN", "NET.SHORT", "TRACE.W.1", "TRACE.S.1", "SPOT.EN.SVIA"} <= {
        r["name"] for r in json.loads((grid_built / "drc.json").read_text())["rules"]}
    assert [m["name"] for m in s["masks"]] == ["THRU", "SVIA", "TRACE", "TVIA", "LEAD", "BOND", "SPOT", "PLANE"]
    assert (s["counts"]["leads"], s["counts"]["traces"], s["counts"]["terminals"], s["counts"]["liners"]) == (56, 56, 64, 0)
    gds = grid_built / "compliant_terminals.gds"
    leads, tvias, svias = (read_polys(gds, L[k]) for k in ("LEAD", "TVIA", "SVIA"))
    traces = shapely.get_parts(shapely.union_all(read_polys(gds, L["TRACE"])))
    spots = read_polys(gds, L["SPOT"])
    assert len(tvias) == 56 and len(svias) == 56 and len(traces) == 56                 # one trace per lead
    for tr in traces:                                                                 # each: one fixed end, one terminal
        assert sum(tr.contains(v) for v in tvias) == 1 and sum(tr.contains(v) for v in svias) == 1
    assert all(any(l.contains(v) and l.exterior.distance(v) >= 10 - 1e-3 for l in leads) for v in tvias)
    assert all(sum(sp.contains(v) for sp in spots) == 1 for v in svias)
    # the pad-to-terminal assignment is what the traces join
    fixed = {ld["contact"]: ld["fixed"] for ld in s["leads"]}
    at = {t["name"]: (t["x"], t["y"]) for t in s["terminals"]}
    assignment = s["routing"]["assignment"]
    assert sorted(assignment) == sorted(fixed) and len(set(assignment.values())) == 56
    for contact, term in assignment.items():
        tr = [t for t in traces if t.contains(shapely.Point(fixed[contact])) and t.contains(shapely.Point(at[term]))]
        assert len(tr) == 1, contact


def test_a_grid_with_fewer_terminals_than_leads_is_refused_naming_it(write_config):
    text = TEMPLATE.read_text().replace('placement="per_lead",', 'placement="grid", grid=BallGrid(rows=6, cols=6, pitch=500),')
    text = text.replace("from layoutgen import Design,", "from layoutgen import BallGrid, Design,")
    with pytest.raises(ConfigError, match=r"cfg.py:\d+: SheetTerminals.grid = '6 × 6 \(36 terminals\)': .*the grid needs ≥ 56 terminals"):
        build(write_config(text), drc=False)


def test_each_tip_carries_its_bonding_metal_on_its_contact_and_without_it_every_contact_is_open(built: Path, tmp_path):
    gds = built / "compliant_terminals.gds"
    bonds, pads, leads = (read_polys(gds, L[k]) for k in ("BOND", "PAD", "LEAD"))
    assert len(bonds) == 56
    for b in bonds:
        (pad,) = [p for p in pads if p.intersects(b)]
        (lead,) = [l for l in leads if l.intersects(b)]
        assert pad.exterior.distance(b) >= PDK.value("enclosure", "PAD", "BOND") - 1e-3 and pad.contains(b)
        assert lead.exterior.distance(b) >= PDK.value("enclosure", "LEAD", "BOND") - 1e-3 and lead.contains(b)
    assert (built / "masks" / "BOND.gds").is_file()
    ly = kdb.Layout()
    ly.read(str(gds))
    ly.top_cell().flatten(True)
    ly.top_cell().shapes(ly.layer(*L["BOND"])).clear()
    ly.write(str(tmp_path / "no_bond.gds"))
    opens = [v for v in run_drc(tmp_path / "no_bond.gds", PDK, rules=["NET.OPEN"]).violations]
    assert sum("@PAD" in v.message for v in opens) == 56                               # no bond, no joint


def test_the_masks_of_both_sides_register_to_holes_through_the_sheet(built: Path):
    s = json.loads((built / "summary.json").read_text())
    align = {m["name"]: m["aligns_to"] for m in s["masks"]}
    assert list(align)[0] == "THRU" and align["LINER"] == align["LEAD"] == align["SPOT"] == "THRU"
    gds = built / "compliant_terminals.gds"
    holes, marks = read_polys(gds, L["THRU"]), read_polys(gds, L["MARK"])
    assert len(holes) == 4
    for h in holes:
        assert any(m.equals_exact(h, 1e-3) or m.contains(h) for m in marks)
    # every mask file (mirrored or not) carries a cross over each hole, so each exposure registers to them
    for m in s["masks"]:
        ly = kdb.Layout()
        ly.read(str(built / m["file"]))
        r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*PDK.layer(m["layers"][0]).gds)))
        if m["mirror"]:
            r = r.transformed(kdb.Trans(kdb.Trans.M90))
        for h in holes:
            c = h.centroid
            assert r.interacting(kdb.Region(kdb.Box(round(c.x * 1000) - 1, round(c.y * 1000) - 1,
                                                    round(c.x * 1000) + 1, round(c.y * 1000) + 1))).count() == 1, m["name"]


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

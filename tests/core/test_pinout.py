"""Out to the board designer: pinout.csv, ballmap.svg and netlist.json agree with the written layout read back by klayout.db."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import klayout.db as kdb
import pytest

from layoutgen import build
from layoutgen.pinout import ball_order, kind_of, strip_length

from test_api import small_design

LAYERS = {"PAD": (2, 0), "PV1": (10, 0), "RDL": (20, 0), "PV2": (30, 0), "POST": (31, 0), "UBM": (40, 0), "BUMP": (50, 0),
          "TEXT": (220, 0)}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    design = small_design().model_copy(update={"name": "pinout"})
    return design, build(design, out=tmp_path_factory.mktemp("pinout"), drc=False)


def test_pinout_rows_match_the_layout_read_back(built) -> None:
    design, result = built
    rows = list(csv.DictReader((result.out_dir / "pinout.csv").open(encoding="utf-8")))
    assert list(rows[0]) == ["ball", "row", "column", "x_um", "y_um", "net", "pads"]
    assert [r["ball"] for r in rows] == sorted((r["ball"] for r in rows), key=ball_order)
    ly = kdb.Layout()
    ly.read(str(result.gds))
    top = ly.top_cell()
    region = {n: kdb.Region(top.begin_shapes_rec(ly.layer(*ld))).merged() for n, ld in LAYERS.items() if n != "TEXT"}
    texts = {n: kdb.Texts(top.begin_shapes_rec(ly.layer(*LAYERS[n]))) for n in ("BUMP", "TEXT")}
    um = lambda v: round(float(v) / ly.dbu)  # noqa: E731
    pads_by_box = {p.name: kdb.Box(um(p.x - p.width / 2), um(p.y - p.height / 2), um(p.x + p.width / 2), um(p.y + p.height / 2))
                   for p in design.die.pads}
    seen_pads = []
    for r in rows:
        at = kdb.Point(um(r["x_um"]), um(r["y_um"]))
        bump = kdb.Region([p for p in region["BUMP"].each() if p.inside(at)])
        assert bump.count() == 1, r
        assert r["row"] + r["column"] == r["ball"]
        assert [t.string for t in texts["TEXT"].interacting(bump).each()] == [r["ball"]]
        assert [t.string for t in texts["BUMP"].interacting(bump).each()] == [r["net"]]
        # through the via stack, bump down to the pads, as klayout sees it
        # (a ball on a post: the post via in the thick polymer takes the PV2 opening's place)
        rdl = region["RDL"].interacting((region["PV2"] + region["POST"]).interacting(region["UBM"].interacting(bump)))
        pads = region["PAD"].interacting(region["PV1"].interacting(rdl))
        names = sorted(n for n, b in pads_by_box.items() if pads.interacting(kdb.Region(b)).count())
        assert names == sorted(r["pads"].split()), r
        seen_pads += names
    assert sorted(seen_pads) == sorted(p.name for p in design.die.pads)   # every pad reaches exactly one ball


def test_netlist_lists_each_net_with_pads_balls_and_the_drawn_trace_length(built) -> None:
    design, result = built
    netlist = json.loads((result.out_dir / "netlist.json").read_text())
    rows = list(csv.DictReader((result.out_dir / "pinout.csv").open(encoding="utf-8")))
    for net, entry in netlist.items():
        assert entry["balls"] == [r["ball"] for r in rows if r["net"] == net]
        assert entry["pads"] == sorted((p.name for p in design.die.pads if p.net == net), key=lambda n: int(n[1:]))
        assert entry["kind"] == kind_of(net)
    assert netlist["VDD"]["kind"] == "power" and netlist["VSS"]["kind"] == "ground" and netlist["P2"]["kind"] == "signal"
    # the drawn traces are as long as the router planned, to within the part hidden under the lands
    plan = result.summary["routing"]
    for pad, ball in plan["assignment"].items():
        net = next(p.net for p in design.die.pads if p.name == pad)
        if len(netlist[net]["pads"]) == 1:
            assert netlist[net]["trace_length_um"] > 0
    total = sum(e["trace_length_um"] for e in netlist.values())
    assert total == pytest.approx(plan["total_length_um"], rel=0.1)


def test_strip_length_of_a_trace() -> None:
    import shapely

    line = shapely.LineString([(0, 0), (300, 0), (300, 200)]).buffer(5, cap_style="flat", join_style="mitre")
    assert strip_length(line) == pytest.approx(500, abs=0.5)


def test_ball_map_shows_every_ball_with_its_net_and_a1_marked(built) -> None:
    _, result = built
    svg = ET.parse(result.out_dir / "ballmap.svg").getroot()
    ns = "{http://www.w3.org/2000/svg}"
    circles = svg.findall(f"{ns}circle")
    assert len(circles) == 16
    words = [t.text for t in svg.findall(f"{ns}text")]
    assert "A1" in words and "D4" in words and words.count("VDD") == 2 and words.count("VSS") == 2
    fills = [c.get("fill") for c in circles]
    assert fills.count("#e8a0a0") == 2 and fills.count("#a0b8e8") == 2     # power red, ground blue
    assert len(svg.findall(f"{ns}path")) == 1                              # the A1 corner mark
    assert list(result.summary["ball_nets"])[:4] == ["A1", "A2", "A3", "A4"]


def test_balls_sort_by_row_then_column_number() -> None:
    assert sorted(["A10", "B1", "A2", "AA1", "A1", "Y3"], key=ball_order) == ["A1", "A2", "A10", "B1", "Y3", "AA1"]


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

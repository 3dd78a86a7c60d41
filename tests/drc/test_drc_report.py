"""DRC reports (drc.json, drc.lyrdb, JUnit), the `drc` command's exit codes, and waivers."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import gdstk
import klayout.rdb as rdb
import pytest

from layoutgen.drc import run_drc, write_reports
from layoutgen.drc.command import add_arguments, main
from layoutgen.pdk import load_pdk

from drc_corpus import wlcsp_die


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Path:
    """The die with an open net and a narrow trace."""
    return wlcsp_die(tmp_path_factory.mktemp("faulty") / "die.gds", ("open", "narrow"))


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return main(parser.parse_args([str(a) for a in argv]))


def test_drc_json_has_rules_counts_and_coordinates(faulty, tmp_path):
    result = run_drc(faulty, load_pdk("sky400"))
    write_reports(result, tmp_path)
    data = json.loads((tmp_path / "drc.json").read_text())
    assert data["pdk"] == "sky400" and data["input"].endswith("die.gds") and data["runtime_s"] > 0
    assert data["totals"] == {"violations": 3, "violations_all_placements": 3, "waived": 0, "rules": len(result.rules),
                              "rules_checked": len(result.checked_rules()),
                              "rules_not_applicable": len(result.not_applicable), "rules_failed": 2}
    assert data["check"] == "flat"
    rules = {r["name"]: r for r in data["rules"]}
    assert list(rules) == [r.name for r in result.rules]
    assert {n: r["count"] for n, r in rules.items()} == result.counts()
    width = rules["RDL.W.1"]
    assert width["kind"] == "width" and width["value"] == 10 and width["description"].startswith("RDL line width")
    (v,) = width["violations"]
    x0, y0, x1, y1 = v["bbox"]
    assert 1330 < x0 < x1 < 1470 and (y0, y1) == (1196, 1204)
    assert v["polygon"][0][0] and v["cell"] == "DIE_TOP"
    assert rules["NET.OPEN"]["count"] == 2 and "N7" in rules["NET.OPEN"]["violations"][0]["message"]


def test_lyrdb_loads_in_klayout_with_one_category_per_rule(faulty, tmp_path):
    result = run_drc(faulty, load_pdk("sky400"))
    write_reports(result, tmp_path)
    db = rdb.ReportDatabase("")
    db.load(str(tmp_path / "drc.lyrdb"))
    cats = {c.name(): c for c in db.each_category()}
    assert list(cats) == [r.name for r in result.rules]
    for r in result.rules:
        assert cats[r.name].description == r.description
        assert cats[r.name].num_items() == result.counts()[r.name]
    assert [c.name() for c in db.each_cell()] == ["DIE_TOP"]
    (item,) = list(db.each_item_per_category(cats["RDL.W.1"].rdb_id()))
    values = list(item.each_value())
    assert values[0].is_polygon() and values[-1].is_string()
    assert db.original_file.endswith("die.gds") and db.top_cell_name == "DIE_TOP"


def test_junit_has_a_testcase_per_rule_and_failures_for_violated_ones(faulty, tmp_path):
    result = run_drc(faulty, load_pdk("sky400"))
    write_reports(result, tmp_path, junit=tmp_path / "junit.xml")
    suite = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == [r.name for r in result.rules]
    failed = {n for n, c in cases.items() if c.find("failure") is not None}
    assert failed == {"RDL.W.1", "NET.OPEN"} and suite.get("failures") == "2"
    text = cases["RDL.W.1"].find("failure").text
    assert "DIE_TOP (1339" in text and "µm" in text


def test_exit_codes_and_report_places(faulty, tmp_path, capsys):
    clean = wlcsp_die(tmp_path / "clean.gds")
    assert run_cli(clean, "--pdk", "sky400") == 0
    assert (tmp_path / "drc.json").is_file() and (tmp_path / "drc.lyrdb").is_file()
    out = capsys.readouterr().out
    assert "RDL.W.1" not in out and "clean" in out and "rules pass (--all lists them)" in out
    assert run_cli(faulty, "--pdk", "sky400", "-o", tmp_path / "rep", "--junit", tmp_path / "j.xml") == 1
    assert (tmp_path / "rep" / "drc.json").is_file() and (tmp_path / "j.xml").is_file()
    assert "3 violation(s)" in capsys.readouterr().out
    pdk_dir = load_pdk("sky400").path
    assert run_cli(clean, "--pdk", pdk_dir, "-o", tmp_path / "rep2") == 0


def test_the_check_can_be_forced_flat_or_hierarchical_and_counts_the_same(tmp_path):
    """A cell with an 8 µm RDL line placed three times: flat, three violations; hierarchical, one in three placements."""
    lib = gdstk.Library("T", unit=1e-6, precision=1e-9)
    line = lib.new_cell("LINE")
    line.add(gdstk.rectangle((0, 0), (8, 200), layer=20, datatype=0))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(line, (0, 0), columns=3, rows=1, spacing=(100, 0)))
    gds = tmp_path / "lines.gds"
    lib.write_gds(str(gds))
    runs = {}
    for mode in ("--flat", "--hierarchical"):
        assert run_cli(gds, "--pdk", "sky400", "-o", tmp_path / mode, mode) == 1
        runs[mode] = json.loads((tmp_path / mode / "drc.json").read_text())
    assert runs["--flat"]["check"] == "flat" and runs["--hierarchical"]["check"] == "hierarchical"
    rules = {m: {r["name"]: r for r in d["rules"]} for m, d in runs.items()}
    flat, hier = rules["--flat"]["RDL.W.1"], rules["--hierarchical"]["RDL.W.1"]
    assert (flat["count"], flat["count_all_placements"]) == (3, 3)
    assert (hier["count"], hier["count_all_placements"]) == (1, 3)
    (v,) = hier["violations"]
    assert v["cell"] == "LINE" and v["placements"] == 3 and v["bbox"][2] - v["bbox"][0] == 8
    assert all(r["count"] == rules["--hierarchical"][n]["count_all_placements"] for n, r in rules["--flat"].items())
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args([str(gds), "--pdk", "sky400", "--flat", "--hierarchical"])


@pytest.mark.parametrize("args, says", [
    (("missing.gds", "--pdk", "sky400"), "no such file"),
    (("junk.gds", "--pdk", "sky400"), "cannot read GDS"),
    (("clean.gds", "--pdk", "nopdk"), "no PDK 'nopdk'"),
    (("clean.gds", "--pdk", "sky400", "--top", "NOPE"), "no cell 'NOPE'"),
    (("clean.gds", "--pdk", "sky400", "--waivers", "bad.toml"), "needs a reason"),
])
def test_bad_input_exits_2_naming_what(args, says, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    wlcsp_die(tmp_path / "clean.gds")
    (tmp_path / "junk.gds").write_bytes(b"\0\1garbage")
    (tmp_path / "bad.toml").write_text('[[waiver]]\nrule = "RDL.W.1"\ncell = "DIE_TOP"\n')
    assert run_cli(*args) == 2
    assert says in capsys.readouterr().err.replace("\n", " ")


def test_waived_violations_are_reported_as_waived_and_do_not_fail(faulty, tmp_path, capsys):
    (tmp_path / "waivers.toml").write_text(
        '[[waiver]]\nrule = "RDL.W.*"\nregion = [1300, 1150, 1500, 1250]\nreason = "neck checked by hand"\n\n'
        '[[waiver]]\nrule = "NET.OPEN"\ncell = "DIE_TOP"\nreason = "N7 is opened on purpose"\n\n'
        '[[waiver]]\nrule = "RDL.S.1"\nregion = [0, 0, 10, 10]\nreason = "stale"\n'
    )
    assert run_cli(faulty, "--pdk", "sky400", "-o", tmp_path, "--waivers", tmp_path / "waivers.toml") == 0
    out = capsys.readouterr().out
    assert "waivers.toml#3" in out and "matched no violation" in out
    data = json.loads((tmp_path / "drc.json").read_text())
    rules = {r["name"]: r for r in data["rules"]}
    assert (rules["RDL.W.1"]["count"], rules["RDL.W.1"]["waived"]) == (0, 1)
    assert rules["RDL.W.1"]["violations"][0]["waiver"] == "neck checked by hand"
    assert (rules["NET.OPEN"]["count"], rules["NET.OPEN"]["waived"]) == (0, 2)
    assert data["ok"] and data["totals"]["waived"] == 3
    db = rdb.ReportDatabase("")
    db.load(str(tmp_path / "drc.lyrdb"))
    assert db.num_items() == 3


def test_a_region_waiver_covers_only_markers_inside_it(faulty):
    from layoutgen.drc.waivers import Waiver
    pdk = load_pdk("sky400")
    elsewhere = Waiver("RDL.W.1", "wrong place", region=(0, 0, 100, 100))
    result = run_drc(faulty, pdk, waivers=[elsewhere], rules=["RDL.W.1"])
    assert result.counts() == {"RDL.W.1": 1} and not result.ok
    assert result.unused_waivers == ["#1 (RDL.W.1)"]

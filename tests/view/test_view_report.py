"""report.html: one self-contained page with the pictures, the summary counts, the DRC rules and per-ball figures."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from test_view_fixtures import DRC, MARKERS, SUMMARY, design_dir, make_design_dir  # noqa: F401

from layoutgen.view.render import render_previews
from layoutgen.view.report import table_html, write_report


class Page(HTMLParser):
    """The page's images (src), tables (rows of cell texts, by the heading before them) and links."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._heading = ""
        self._in: str | None = None
        self._text = ""
        self._table: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src", ""))
        if tag in ("a", "link", "script"):
            self.links.append(a.get("href") or a.get("src") or "")
        if tag in ("h2", "h3", "td", "th"):
            self._in, self._text = tag, ""
        if tag == "table":
            self._table = []
            self.tables[self._heading] = self._table
        if tag == "tr" and self._table is not None:
            self._table.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3") and self._in == tag:
            self._heading, self._in = self._text.strip(), None
        if tag in ("td", "th") and self._table is not None:
            self._table[-1].append(self._text.strip())
            self._in = None
        if tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text += data


def parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_inlines_every_picture_and_needs_no_other_file(design_dir: Path) -> None:
    pngs = render_previews(design_dir, "demo", size=(200, 200))
    page = parse(write_report(design_dir))
    assert len(page.images) == len(pngs) == 3
    assert all(src.startswith("data:image/png;base64,") for src in page.images)
    assert base64.b64decode(page.images[0].split(",", 1)[1]) == (design_dir / "preview" / "die.png").read_bytes()
    assert page.links == []
    assert not re.search(r'(src|href)="(?!data:)', (design_dir / "report.html").read_text(encoding="utf-8"))


def test_report_tabulates_the_summary_counts_masks_and_shapes(design_dir: Path) -> None:
    page = parse(write_report(design_dir))
    overview = dict(page.tables["Summary"][1:])
    assert overview == {"dies": "1", "pads": "3", "balls": "1", "connected_balls": "1", "nets": "2",
                        "routes": "1", "masks": "2", "shapes": "11"}
    masks = page.tables["Masks"]
    assert masks[0][:3] == ["name", "file", "layers"] and [r[0] for r in masks[1:]] == ["RDL", "BUMP"]
    assert masks[1][2] == "RDL, PLATE"
    assert dict(page.tables["Shapes per layer"][1:]) == {k: str(v) for k, v in SUMMARY["shapes"].items()}
    assert dict(page.tables["Figures"][1:]) == {"capture_pad_um": "240"}


def test_report_lists_each_drc_rule_with_its_description_count_and_result(design_dir: Path) -> None:
    html = write_report(design_dir).read_text(encoding="utf-8")
    page = parse(design_dir / "report.html")
    # failing rules first, then waived ones; the passing rules folded away below them
    assert page.tables["DRC"] == [
        ["rule", "description", "count", "waived", "result"],
        ["RDL.S.1", "RDL space >= 10 µm", str(MARKERS), "no", "FAIL"],
        ["PV1.W.1", "PV1 opening width >= 35 µm", "2", "yes", "waived"],
    ]
    assert page.tables["Passing rules"][1:] == [["RDL.W.1", "RDL width >= 10 µm", "0", "no", "pass"]]
    assert f"FAIL: {MARKERS} violations in 1 rule" in html
    assert "<details><summary>1 of 3 rules pass</summary>" in html


def test_the_report_is_a_sign_off_page_verdict_first_then_identity_checksums_approval_pictures(design_dir: Path) -> None:
    import hashlib

    render_previews(design_dir, "demo", size=(100, 100))
    text = write_report(design_dir).read_text(encoding="utf-8")
    order = [text.index(mark) for mark in ("class='verdict", "id=drc>", "id=signoff>", "Approval", "id=files",
                                           "id=summary>", "id=pictures>")]
    assert order == sorted(order)
    page = parse(design_dir / "report.html")
    files = {row[0]: row[1:] for row in page.tables["Files"][1:]}
    on_disk = {p.relative_to(design_dir).as_posix(): p for p in design_dir.rglob("*") if p.is_file()
               and p.name != "report.html" and p.parent.name != "preview"}
    assert set(files) == set(on_disk) and files
    for name, (digest, size) in files.items():
        assert digest == hashlib.sha256(on_disk[name].read_bytes()).hexdigest() and int(size) == on_disk[name].stat().st_size
    assert [r[0] for r in page.tables["Approval"][1:]] == ["Drawn by", "Checked by", "Approved by"]
    assert all(cell == "" for r in page.tables["Approval"][1:] for cell in r[1:])    # to fill in
    assert any(r[0] == "version of layoutgen" for r in page.tables["Sign-off"][1:])


def test_report_renders_the_per_ball_table_whatever_its_columns(design_dir: Path) -> None:
    page = parse(write_report(design_dir))
    assert page.tables["Per ball"] == [
        ["ball", "net", "post_width_um", "post_height_um", "compliance_um_per_mN"],
        ["A1", "VDD", "100", "120", "0.03125"],
    ]


def test_any_table_shape_renders_as_rows() -> None:
    by_ball = {"A1": {"F_mN": 1.5}, "B2": {"F_mN": 2.0, "note": "edge"}}
    assert re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", table_html(by_ball, "ball")) == \
        ["ball", "F_mN", "note", "A1", "1.5", "", "B2", "2", "edge"]
    columns = {"ball": ["A1", "A2"], "F": [1.0, 2.0]}
    assert re.findall(r"<td[^>]*>([^<]*)</td>", table_html(columns)) == ["A1", "1", "A2", "2"]
    assert "&lt;b&gt;" in table_html([{"name": "<b>"}])


def test_report_without_drc_results_or_previews_still_reads_well(tmp_path: Path) -> None:
    out = make_design_dir(tmp_path, drc=False)
    text = write_report(out).read_text(encoding="utf-8")
    assert "No DRC results (drc.json is absent" in text
    assert "No pictures" in text


def test_a_drc_json_without_descriptions_takes_them_from_the_pdk(design_dir: Path) -> None:
    from layoutgen.pdk import load_pdk

    rule = load_pdk("sky400").rules[0]
    (design_dir / "drc.json").write_text(json.dumps({"rules": [{"name": rule.name, "count": 1}]}), encoding="utf-8")
    page = parse(write_report(design_dir))
    assert page.tables["DRC"][1][:3] == [rule.name, rule.description, "1"]


def test_same_results_give_the_same_report_bytes(design_dir: Path) -> None:
    render_previews(design_dir, "demo", size=(100, 100))
    first = write_report(design_dir).read_bytes()
    assert write_report(design_dir).read_bytes() == first
    assert list(design_dir.glob(".*.tmp")) == []
    assert DRC[0]["name"].encode() in first

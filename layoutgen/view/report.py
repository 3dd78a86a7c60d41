"""The design report: one self-contained HTML page to sign a build off, then its counts and pictures.

First the verdict and the DRC table (failing and waived rules, the passing ones folded),
then what identifies the build (build id and config hash, tool versions, the SHA-256 of
every file written) and an approval block to fill in; then the tables and the pictures.
`out/<design>/report.html` inlines every picture of `preview/` and the ball map, tabulates `summary.json`
(dies, nets, balls, masks, shapes per layer, the wafer with its plating and dicing results,
and any per-ball or other `per_*` table a family computes, such as post compliance) and
`drc.json` (each rule with its description and count).
It carries no clock, so the same results give the same page.
"""

from __future__ import annotations

import base64
import html
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from .files import read_summary, write_atomic

# summary.json keys with a section of their own; other scalars go to "Figures", `per_*` tables each get one.
_KNOWN = {"design", "revision", "family", "pdk", "die", "counts", "shapes", "masks", "routing",
          "ball_nets", "versions", "config_hash", "build_id", "board", "drc"}
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{margin-bottom:.1em} h1 small{font-weight:normal;color:#666;font-size:.6em}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0} td,th{border:1px solid #ccc;padding:.2em .6em;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.gallery{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0} figure img{width:380px;border:1px solid #ccc}
figcaption{text-align:center;color:#555} .swatch{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #888}
.fail{color:#b00;font-weight:bold} .pass{color:#070;font-weight:bold} .waived{color:#a60}
footer{margin-top:2em;color:#777;font-size:.85em}
.verdict{font-size:1.6em;padding:.3em .6em;display:inline-block;border:2px solid} .verdict.fail{border-color:#b00}
.verdict.pass{border-color:#070} .verdict.none{border-color:#a60;color:#a60;font-weight:bold}
.approval td{height:2.2em;min-width:12em} code{font-size:.85em} details{margin:.5em 0}
""".strip()


def _fmt(value: Any) -> str:
    """A table cell's text: floats to 6 significant digits, lists joined, mappings as JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_fmt(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return "" if value is None else str(value)


def _cell(value: Any, tag: str = "td") -> str:
    """One escaped table cell, numbers right-aligned."""
    num = isinstance(value, (int, float)) and not isinstance(value, bool)
    return f'<{tag}{" class=num" if num and tag == "td" else ""}>{html.escape(_fmt(value))}</{tag}>'


def _rows(data: Any, index: str = "name") -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of any table-like JSON: list of rows, mapping of rows, of columns, or of values."""
    if isinstance(data, dict) and data and all(isinstance(v, dict) for v in data.values()):
        cols = [index] + list(dict.fromkeys(k for v in data.values() for k in v))
        return cols, [[key, *(row.get(c) for c in cols[1:])] for key, row in data.items()]
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()) \
            and len({len(v) for v in data.values()}) == 1:
        cols = list(data)
        return cols, [list(r) for r in zip(*data.values())]
    if isinstance(data, dict):
        return [index, "value"], [[k, v] for k, v in data.items()]
    if isinstance(data, list) and all(isinstance(r, dict) for r in data):
        cols = list(dict.fromkeys(k for r in data for k in r))
        return cols, [[r.get(c) for c in cols] for r in data]
    if isinstance(data, list):
        return ["value"], [[v] for v in data]
    return ["value"], [[data]]


def table_html(data: Any, index: str = "name") -> str:
    """An HTML table of any table-like JSON value (see `_rows`)."""
    cols, rows = _rows(data, index)
    head = "".join(_cell(c, "th") for c in cols)
    body = "".join("<tr>" + "".join(_cell(v) for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _pictures(out_dir: Path) -> str:
    """Figures of every preview PNG, inlined: the die, the masks, the wafer, then any other."""
    pngs = sorted((out_dir / "preview").glob("*.png"))
    order = {"die": 0, "wafer": 1}

    def key(p: Path) -> tuple:
        if p.stem in order:
            return (order[p.stem], "", 0)
        if p.stem.startswith(("mask_", "zoom_")):          # each mask, then its die and mark-site zooms
            parts = p.stem.split("_")
            return (2, parts[1], 0 if parts[0] == "mask" else 1, p.name)
        return (3, p.name, 0)

    pngs.sort(key=key)
    figs = []
    for p in pngs:
        data = base64.b64encode(p.read_bytes()).decode("ascii")
        caption = p.stem.replace("mask_", "mask ").replace("zoom_", "mask ").replace("_die", ", one die site") \
            .replace("_mark", ", the mark site").replace("_", " ")
        figs.append(f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
                    f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return f'<div class="gallery">{"".join(figs)}</div>' if figs else "<p>No pictures (preview/ is empty).</p>"


def _lyp_colours(out_dir: Path, design: str) -> dict[str, str]:
    """Layer name → fill colour from the design's .lyp ({} when there is none)."""
    lyp = out_dir / f"{design}.lyp"
    if not lyp.is_file():
        return {}
    try:
        root = ET.parse(lyp).getroot()
    except ET.ParseError:
        return {}
    out = {}
    for props in root.iter("properties"):
        name = (props.findtext("name") or "").split(" ")[0]
        if name:
            out[name] = props.findtext("fill-color") or "#808080"
    return out


def _summary_section(summary: dict, colours: dict[str, str]) -> str:
    """Counts, masks, shapes per layer (with the layer colours), routing and other figures."""
    counts = dict(summary.get("counts") or {})
    shapes = summary.get("shapes") or {}
    masks = summary.get("masks") or []
    overview = {**counts, "masks": len(masks), "shapes": sum(v for v in shapes.values() if isinstance(v, int))}
    parts = ["<h2 id=summary>Summary</h2>", table_html(overview, "count")]
    if masks:
        parts += ["<h3>Masks</h3>", table_html(masks)]
    if shapes:
        rows = "".join(
            f'<tr><td><span class=swatch style="background:{html.escape(colours.get(k, "#fff"))}"></span> '
            f"{html.escape(k)}</td>{_cell(v)}</tr>" for k, v in shapes.items())
        parts += ["<h3>Shapes per layer</h3>", f"<table><thead><tr><th>layer</th><th>shapes</th></tr></thead>"
                  f"<tbody>{rows}</tbody></table>"]
    routing = {k: v for k, v in (summary.get("routing") or {}).items() if not isinstance(v, (dict, list))}
    if routing:
        parts += ["<h3>Routing</h3>", table_html(routing, "figure")]
    figures = {k: v for k, v in summary.items()
               if k not in _KNOWN and not k.startswith("per_") and not isinstance(v, (dict, list))}
    if figures:
        parts += ["<h3>Figures</h3>", table_html(figures, "figure")]
    return "\n".join(parts)


def _wafer_section(summary: dict) -> str:
    """With a wafer: map, shots, plating network, the plating and isolation results, marks ('' without)."""
    w = summary.get("wafer")
    if not isinstance(w, dict):
        return ""
    shots, p = w.get("shots") or {}, w.get("plating") or {}
    rows = {
        "wafer": f"{w.get('diameter_mm')} mm, {w.get('orientation')}, edge exclusion {_fmt(w.get('edge_exclusion_um'))} µm",
        "dies": w.get("dies"), "gross die estimate": w.get("gross_die_estimate"), "partial sites": w.get("partial_sites"),
        "die, pitch (µm)": f"{_fmt(w.get('die_um'))}; {_fmt(w.get('pitch_um'))}",
        "scribe, saw kerf (µm)": f"{_fmt(w.get('scribe_um'))}; {_fmt(w.get('kerf_um'))}",
        "grid offset (µm)": f"{_fmt(w.get('offset_um'))} ({w.get('offset_mode')})",
        "shots": (f"{shots.get('shots')} of {shots.get('dies_per_shot')} dies ({_fmt(shots.get('per_shot'))}), "
                  f"field {_fmt(shots.get('size_um'))} µm") if shots else "no reticle given",
        "plating tail, bus, ring (µm)": f"{_fmt(p.get('tail_width_um'))}; {_fmt(p.get('bus_width_um'))}; {_fmt(p.get('ring_width_um'))}",
        "tails per die": p.get("tails_per_die"),
        "before dicing": p.get("message", ""),
        "after dicing": (w.get("isolation") or {}).get("message", ""),
        "mark sites": "; ".join(f"({_fmt(x)}, {_fmt(y)})" for x, y in (w.get("marks") or {}).get("sites", [])),
    }
    ts = w.get("test_structures")
    if isinstance(ts, dict) and ts.get("sites"):
        rows["test sites"] = (f"{', '.join(ts['sites'])}: {len(ts.get('structures') or [])} structures on "
                              f"{', '.join(ts.get('levels') or [])} (probe pads in {ts.get('file')})")
    if w.get("fill"):
        rows["thieving fill"] = f"{w['fill'].get('stripes')} stripes, density {_fmt(w['fill'].get('density_in_region'))}"
    return "<h2 id=wafer>Wafer</h2>" + table_html({k: v for k, v in rows.items() if v not in (None, "")}, "figure")


def _per_tables(summary: dict) -> str:
    """One section per `per_*` table of the summary (per_ball: one row per ball)."""
    parts = []
    for key, value in summary.items():
        if key.startswith("per_") and isinstance(value, (dict, list)) and value:
            what = key[4:]
            parts += [f"<h2 id={html.escape(key)}>Per {html.escape(what.replace('_', ' '))}</h2>",
                      table_html(value, what)]
    return "\n".join(parts)


def _drc_rules(out_dir: Path) -> list[dict] | None:
    """The rules of drc.json (a list, or an object with "rules"), or None without a drc.json."""
    path = out_dir / "drc.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None
    rules = data.get("rules", []) if isinstance(data, dict) else data
    return [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []


def _pdk_descriptions(summary: dict) -> dict[str, str]:
    """Rule name → description from the design's PDK, for a drc.json that lacks them ({} if not loadable)."""
    name = (summary.get("pdk") or {}).get("name")
    if not name:
        return {}
    try:
        from ..pdk import load_pdk

        return {r.name: r.description for r in load_pdk(name).rules}
    except Exception:  # a user's PDK may not be on this machine's search path
        return {}


def _open_count(rule: dict) -> tuple[int, int]:
    """(violations not waived, violations waived) of a drc.json rule; `waived` is a flag or a count."""
    count, waived = int(rule.get("count") or 0), rule.get("waived") or 0
    n_waived = count if waived is True else min(int(waived), count)
    return count - n_waived, n_waived


def _drc_section(out_dir: Path, summary: dict) -> str:
    """The verdict and the DRC table: failing rules first, then waived ones, the passing rules folded."""
    rules = _drc_rules(out_dir)
    if rules is None:
        return ("<p class='verdict none'>NOT CHECKED</p><h2 id=drc>DRC</h2>"
                "<p>No DRC results (drc.json is absent: built with --no-drc?). This build is not signed off.</p>")
    descriptions = _pdk_descriptions(summary) if any(not r.get("description") for r in rules) else {}
    # A hierarchical check reports a violation inside a die cell once; say how often it occurs.
    repeated = any(r.get("count_all_placements", r.get("count")) != r.get("count") for r in rules)
    rows: dict[str, list[str]] = {"fail": [], "waived": [], "pass": []}
    failing = 0
    for r in rules:
        count, waived = _open_count(r)
        failing += count
        kind = "fail" if count else "waived" if waived else "pass"
        result = {"fail": "<span class=fail>FAIL</span>", "waived": "<span class=waived>waived</span>",
                  "pass": "<span class=pass>pass</span>"}[kind]
        desc = r.get("description") or descriptions.get(str(r.get("name")), "")
        placed = _cell(int(r.get("count_all_placements") or 0)) if repeated else ""
        rows[kind].append(f"<tr>{_cell(r.get('name'))}{_cell(desc)}{_cell(int(r.get('count') or 0))}{placed}"
                          f"{_cell(r.get('waived', False))}<td>{result}</td></tr>")
    head = ("<thead><tr><th>rule</th><th>description</th><th>count</th>" + ("<th>all placements</th>" if repeated else "")
            + "<th>waived</th><th>result</th></tr></thead>")
    nfail = len(rows["fail"])
    verdict = (f"<p class='verdict fail'>FAIL: {failing} violation{'s' * (failing != 1)} in {nfail} "
               f"rule{'s' * (nfail != 1)}</p>" if failing else
               f"<p class='verdict pass'>PASS: {len(rules)} rules clean" +
               (f", {len(rows['waived'])} with waived violations" if rows["waived"] else "") + "</p>")
    parts = [verdict, "<h2 id=drc>DRC</h2>"]
    if rows["fail"] or rows["waived"]:
        parts.append(f"<table id=drc-open>{head}<tbody>{''.join(rows['fail'] + rows['waived'])}</tbody></table>")
    if rows["pass"]:
        parts.append(f"<details><summary>{len(rows['pass'])} of {len(rules)} rules pass</summary><h3>Passing rules</h3>"
                     f"<table id=drc-pass>{head}<tbody>{''.join(rows['pass'])}</tbody></table></details>")
    return "".join(parts)


def _checksums(out_dir: Path) -> dict[str, dict]:
    """SHA-256 and size of every file of the build (the previews are in this page; the page itself is not listed)."""
    import hashlib

    out = {}
    for p in sorted(out_dir.rglob("*")):
        rel = p.relative_to(out_dir).as_posix()
        if not p.is_file() or rel == "report.html" or rel.startswith("preview/") or p.name.startswith("."):
            continue
        out[rel] = {"sha256": hashlib.sha256(p.read_bytes()).hexdigest(), "bytes": p.stat().st_size}
    return out


def _signoff_section(out_dir: Path, summary: dict) -> str:
    """What identifies the build (build id, config hash, versions, file checksums) and the approval block."""
    ident = {"design": summary.get("design"), "revision": summary.get("revision"),
             "build id": summary.get("build_id", ""), "config hash (SHA-256 of design and PDK)": summary.get("config_hash", ""),
             "PDK": (summary.get("pdk") or {}).get("name", ""),
             **{f"version of {k}": v for k, v in (summary.get("versions") or {}).items()}}
    files = "".join(f"<tr><td>{html.escape(name)}</td><td><code>{e['sha256']}</code></td>{_cell(e['bytes'])}</tr>"
                    for name, e in _checksums(out_dir).items())
    roles = "".join(f"<tr><th>{r}</th><td></td><td></td><td></td></tr>" for r in ("Drawn by", "Checked by", "Approved by"))
    return ("<h2 id=signoff>Sign-off</h2>" + table_html({k: v for k, v in ident.items() if v not in (None, "")}, "build")
            + "<h3>Approval</h3><table class=approval><thead><tr><th></th><th>name</th><th>signature</th><th>date</th>"
            + f"</tr></thead><tbody>{roles}</tbody></table>"
            + "<h3>Files</h3><table id=files><thead><tr><th>file</th><th>SHA-256</th><th>bytes</th></tr></thead>"
            + f"<tbody>{files}</tbody></table>")


def _ball_map(out_dir: Path) -> str:
    """The ball map (ballmap.svg), inlined, or '' without one."""
    svg = out_dir / "ballmap.svg"
    if not svg.is_file():
        return ""
    data = base64.b64encode(svg.read_bytes()).decode("ascii")
    return ("<h2 id=ballmap>Ball map</h2><figure><img style='width:auto;max-width:100%' alt='ball map' "
            f"src='data:image/svg+xml;base64,{data}'><figcaption>ball side view, pinout.csv</figcaption></figure>")


def report_html(out_dir: Path) -> str:
    """The report page of an output folder, as a string."""
    out_dir = Path(out_dir)
    summary = read_summary(out_dir)
    design = str(summary.get("design") or out_dir.name)
    pdk = (summary.get("pdk") or {}).get("name", "")
    sub = " · ".join(str(s) for s in (
        f"rev {summary['revision']}" if summary.get("revision") else "", summary.get("family", ""),
        f"PDK {pdk}" if pdk else "", (summary.get("die") or {}).get("name", "")) if s)
    versions = summary.get("versions") or {}
    footer = " · ".join(f"{html.escape(k)} {html.escape(str(v))}" for k, v in versions.items())
    body = [
        f"<h1>{html.escape(design)} <small>{html.escape(sub)}</small></h1>",
        _drc_section(out_dir, summary),
        _signoff_section(out_dir, summary),
        _summary_section(summary, _lyp_colours(out_dir, design)),
        _wafer_section(summary),
        _per_tables(summary),
        _ball_map(out_dir),
        "<h2 id=pictures>Pictures</h2>", _pictures(out_dir),
        f"<footer>Made by layoutgen from summary.json and drc.json. {footer}</footer>",
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(design)} — '
            f"layoutgen report</title><style>{_CSS}</style></head>\n<body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_report(out_dir: Path) -> Path:
    """Write `out_dir/report.html` (pictures inlined) and return its path."""
    return write_atomic(Path(out_dir) / "report.html", report_html(Path(out_dir)))

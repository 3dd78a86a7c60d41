"""DRC reports: drc.json, JUnit XML and the terminal table (the .lyrdb is in lyrdb.py)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .lyrdb import write_lyrdb
from .violation import DrcResult, Violation

FIRST_N = 50
_PARAMS = ("layer", "other", "layers", "tolerance", "tolerance_um", "window", "step", "min", "max")


def _violation_json(v: Violation, placements: int) -> dict:
    """A violation as plain data; one inside a cell placed many times says how many times it occurs."""
    return {**v.to_json(), **({"placements": placements} if placements != 1 else {})}


def rule_summary(result: DrcResult, first_n: int = FIRST_N) -> list[dict]:
    """Per rule: name, kind, description, value, counts (reported, and in every placement), the first violations."""
    counts, waived, placed = result.counts(), result.waived_counts(), result.flat_counts()
    by_rule: dict[str, list[tuple[Violation, int]]] = {}
    for v, n in zip(result.violations, result.placements()):
        by_rule.setdefault(v.rule, []).append((v, n))
    out = []
    skipped = set(result.not_applicable)
    for r in result.rules:
        vs = by_rule.get(r.name, [])
        out.append({
            "name": r.name,
            "status": "not applicable" if r.name in skipped else ("failed" if counts[r.name] else "clean"),
            "kind": r.kind,
            "description": r.description,
            "value": r.value if r.kind != "connectivity" else r.check,
            "params": {k: getattr(r, k) for k in _PARAMS if getattr(r, k) is not None},
            "count": counts[r.name],
            "count_all_placements": placed[r.name],
            "waived": waived[r.name],
            "violations": [_violation_json(v, n) for v, n in vs[:first_n]],
        })
    return out


def to_json(result: DrcResult, first_n: int = FIRST_N, reproducible: bool = False) -> dict:
    """The whole result as plain data (what drc.json holds); `reproducible` drops time and folders."""
    counts, placed = result.counts(), result.flat_counts()
    return {
        "input": Path(result.gds_path).name if reproducible else str(Path(result.gds_path).resolve()),
        "pdk": result.pdk,
        "cells": result.cells,
        "check": "hierarchical" if result.hierarchical else "flat",
        "ok": result.ok,
        **({} if reproducible else {"runtime_s": round(result.runtime_s, 4)}),
        "totals": {
            "violations": sum(counts.values()),
            "violations_all_placements": sum(placed.values()),
            "waived": sum(result.waived_counts().values()),
            "rules": len(result.rules),
            "rules_checked": len(result.checked_rules()),
            "rules_not_applicable": len(result.not_applicable),
            "rules_failed": sum(1 for c in counts.values() if c),
        },
        "unknown_layers": result.unknown_layers,
        "unused_waivers": result.unused_waivers,
        "rules": rule_summary(result, first_n),
    }


def write_json(result: DrcResult, path: Path, reproducible: bool = False) -> Path:
    """Write drc.json."""
    path.write_text(json.dumps(to_json(result, reproducible=reproducible), indent=1, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def _lines(vs: list[Violation], limit: int) -> str:
    lines = [f"{v.where()}: {v.message}" for v in vs[:limit]]
    if len(vs) > limit:
        lines.append(f"... and {len(vs) - limit} more")
    return "\n".join(lines)


def write_junit(result: DrcResult, path: Path, limit: int = 20) -> Path:
    """Write JUnit XML: one testcase per rule, a failure listing the first violations."""
    counts = result.counts()
    suite = ET.Element("testsuite", {
        "name": f"drc.{result.pdk}", "tests": str(len(result.rules)),
        "failures": str(sum(1 for c in counts.values() if c)), "errors": "0",
        "skipped": str(len(result.not_applicable)),
        "time": f"{result.runtime_s:.3f}",
    })
    for r in result.rules:
        case = ET.SubElement(suite, "testcase", {"classname": f"drc.{result.pdk}", "name": r.name})
        if r.name in result.not_applicable:
            ET.SubElement(case, "skipped", {"message": "not applicable: the layout draws nothing on the rule's layers"})
            continue
        vs = result.of_rule(r.name)
        active = [v for v in vs if not v.waived]
        if active:
            fail = ET.SubElement(case, "failure", {"message": f"{len(active)} violation(s): {r.description}", "type": r.kind})
            fail.text = _lines(active, limit)
        waived = [v for v in vs if v.waived]
        if waived:
            out = ET.SubElement(case, "system-out")
            out.text = f"{len(waived)} waived:\n" + "\n".join(f"{v.where()}: {v.waiver}" for v in waived[:limit])
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
    return path


def print_table(result: DrcResult, console: Console | None = None, show_all: bool = False) -> None:
    """The terminal summary: a row per failing (or waived) rule, every rule with `show_all`, and a verdict line."""
    console = console or Console()
    counts, waived, placed = result.counts(), result.waived_counts(), result.flat_counts()
    repeated = placed != counts          # some violation lies in a cell placed many times
    from rich.markup import escape  # names, descriptions and waivers are text, not markup

    table = Table(title=escape(f"DRC {Path(result.gds_path).name} · PDK {result.pdk} · {', '.join(result.cells)}"))
    table.add_column("rule")
    table.add_column("description")
    table.add_column("count", justify="right")
    if repeated:
        table.add_column("all placements", justify="right")
    table.add_column("waived", justify="right")
    shown = 0
    for r in result.rules:
        c = counts[r.name]
        if not (show_all or c or waived[r.name]):
            continue
        shown += 1
        na = r.name in result.not_applicable
        row = [escape(r.name), escape(r.description), "[dim]n/a[/dim]" if na else f"[red]{c}[/red]" if c else "[green]0[/green]"]
        if repeated:
            row.append(f"{placed[r.name]:,}" if placed[r.name] else "")
        table.add_row(*row, str(waived[r.name] or ""))
    if shown:
        console.print(table)
    if shown < len(result.rules):
        console.print(f"{len(result.rules) - shown} of {len(result.rules)} rules pass (--all lists them)")
    total = sum(counts.values())
    if total:
        every = f" ({sum(placed.values()):,} counting every placement)" if repeated else ""
        console.print(f"[red]{total} violation(s)[/red]{every} in {sum(1 for c in counts.values() if c)} rule(s), "
                      f"{sum(waived.values())} waived, {result.runtime_s:.2f} s")
    else:
        console.print(f"[green]clean[/green]: {len(result.checked_rules())} rules checked, {sum(waived.values())} waived, "
                      f"{result.runtime_s:.2f} s")
    if result.not_applicable:
        console.print(f"{len(result.not_applicable)} rule(s) not applicable (the layout draws nothing on their layers): "
                      + escape(", ".join(result.not_applicable)), highlight=False)
    if result.unknown_layers:
        console.print(f"[yellow]warning:[/yellow] {unknown_layers_text(result)}", highlight=False)
    for w in result.unused_waivers:
        console.print(f"[yellow]waiver {escape(str(w))} matched no violation[/yellow]")


def unknown_layers_text(result: DrcResult) -> str:
    """The shapes no rule saw: layer/datatype pairs the PDK does not define, with their polygon counts."""
    listed = ", ".join(f"{k} ({n} polygon{'s' if n != 1 else ''})" for k, n in result.unknown_layers.items())
    return f"shapes on layers PDK {result.pdk} does not define were not checked: {listed}"


def write_reports(result: DrcResult, out_dir: str | Path, junit: str | Path | None = None,
                  reproducible: bool = False) -> dict[str, Path]:
    """Write drc.json and drc.lyrdb into `out_dir` (and JUnit XML to `junit` if given).

    `reproducible` (what `layoutgen build` asks for) leaves out the run time and absolute
    paths, so that the same layout gives the same report bytes.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": write_json(result, out / "drc.json", reproducible),
             "lyrdb": write_lyrdb(result, out / "drc.lyrdb", reproducible)}
    if junit is not None:
        paths["junit"] = write_junit(result, Path(junit))
    return paths

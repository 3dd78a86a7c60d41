"""Design sweeps on Dask: many designs built and checked at once, one table of the results.

`sweep(designs)` builds every design (a `Design`, or the path of a config file) with
`build` on a Dask cluster (a local one on this machine's cores by default, any cluster
given its scheduler address), each into `out_root/<design>/` exactly as `layoutgen build`
writes it, and keeps going past a design that fails (its error goes in the table). The
table (`sweep.csv`, `sweep.html` in `out_root`) has one row per design: routed or why not,
the DRC verdict, dies on the wafer, trace lengths, the largest post force, build time.

A sweep file (`layoutgen sweep SWEEP.py`) is Python that sets `designs = [...]`.
"""

from __future__ import annotations

import csv
import html
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .design import CONFIG_FILE, Design
from .errors import ConfigError, LayoutgenError, RoutingError

COLUMNS = ["design", "status", "routed", "drc", "violations", "dies", "gross_dies", "total_trace_um",
           "max_trace_um", "max_post_force_mN", "build_s", "out_dir", "error"]


@dataclass
class SweepResult:
    """The rows of a sweep (one dict per design, keys COLUMNS) and the table files written."""

    rows: list[dict]
    csv_path: Path
    html_path: Path
    files: dict = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """2 when a design could not be built, else 1 when one has DRC violations, else 0."""
        if any(r["status"] in ("config error", "routing failed", "error") for r in self.rows):
            return 2
        return 1 if any(r["status"] == "DRC violations" for r in self.rows) else 0


def _row(name: str, status: str, **values) -> dict:
    row = dict.fromkeys(COLUMNS, "")
    row.update(design=name, status=status, **values)
    return row


def build_one(design: Design | str | Path, out_root: str, run_drc: bool) -> dict:
    """Build one design and summarise it as a table row; failures become rows too (a Dask task)."""
    from .pipeline import build

    name = design.name if isinstance(design, Design) else Path(design).stem
    t0 = time.perf_counter()
    try:
        result = build(design, out_root, drc=run_drc, quiet=True)
    except RoutingError as e:
        return _row(name, "routing failed", routed=f"no: {e}", build_s=round(time.perf_counter() - t0, 2), error=str(e))
    except ConfigError as e:
        return _row(name, "config error", routed="not built", build_s=round(time.perf_counter() - t0, 2), error=str(e))
    except Exception as e:  # noqa: BLE001 - one design's failure must not stop the sweep; its error goes in the table
        return _row(name, "error", routed="not built", build_s=round(time.perf_counter() - t0, 2),
                    error=f"{type(e).__name__}: {e}")
    s = result.summary
    routing = s.get("routing", {})
    forces = [b["force_mN"] for b in s.get("per_ball", []) if "force_mN" in b]
    wafer = s.get("wafer", {})
    drc = s.get("drc")
    if drc is None:
        verdict, status, count = "not run", "built", ""
    else:
        count = drc["violations"]
        verdict = "clean" if drc["ok"] else f"{count} violations in {', '.join(drc['failed_rules'])}"
        status = "ok" if drc["ok"] else "DRC violations"
    return _row(s["design"], status, routed="yes" if routing else "no routing in this family", drc=verdict,
                violations=count, dies=s["counts"].get("dies", 1), gross_dies=wafer.get("gross_die_estimate", ""),
                total_trace_um=routing.get("total_length_um", ""), max_trace_um=routing.get("max_length_um", ""),
                max_post_force_mN=max(forces) if forces else "", build_s=round(time.perf_counter() - t0, 2),
                out_dir=str(result.out_dir))


def sweep(designs: Iterable[Design | str | Path], out_root: str | Path = "out", scheduler: str | None = None,
          workers: int | None = None, client=None, run_drc: bool = True) -> SweepResult:
    """Build and check every design on Dask; write `sweep.csv` and `sweep.html` in `out_root`.
    `client`: an existing dask.distributed Client, else one on `scheduler` or on a local
    cluster of `workers` processes. Two designs of one name are a ConfigError (their outputs
    would collide)."""
    items = list(designs)
    if not items:
        raise ConfigError("sweep: no designs given")
    names = [d.name if isinstance(d, Design) else Path(d).stem for d in items]
    for d in items:
        if not isinstance(d, (Design, str, Path)):
            raise ConfigError(f"sweep: {d!r} is neither a Design nor a config file path")
    dup = sorted({n for n in names if names.count(n) > 1 and isinstance(items[names.index(n)], Design)})
    if dup:
        raise ConfigError(f"sweep: more than one design named {', '.join(dup)} (each writes out/<name>/; rename them)")
    out = Path(out_root)
    out.mkdir(parents=True, exist_ok=True)
    from .drc.tiles import dask_client

    own = client is None
    cluster = None
    if own:
        client, cluster = dask_client(scheduler, workers)
    try:
        futures = [client.submit(build_one, d, str(out), run_drc, pure=False) for d in items]
        rows = client.gather(futures)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return write_table(rows, out)


def write_table(rows: list[dict], out: Path) -> SweepResult:
    """sweep.csv and sweep.html in `out` from the rows."""
    csv_path, html_path = out / "sweep.csv", out / "sweep.html"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "\n".join(
        f"<tr class=\"{html.escape(r['status'].replace(' ', '-'))}\">" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in COLUMNS) + "</tr>"
        for r in rows)
    html_path.write_text(
        "<!doctype html><meta charset=\"utf-8\"><title>layoutgen sweep</title>\n"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}"
        ".ok td{background:#eaffea}.DRC-violations td{background:#fff4d6}.routing-failed td,.config-error td,.error td"
        "{background:#ffe4e4}</style>\n"
        f"<h1>Sweep: {len(rows)} designs</h1>\n<table><tr>{head}</tr>\n{body}\n</table>\n", encoding="utf-8")
    return SweepResult(rows, csv_path, html_path)


def load_sweep(path: str | Path) -> list[Design | str | Path]:
    """Run a sweep file and return its `designs` (Designs or config paths, relative ones
    taken from the file's folder); a ConfigError names the file and line."""
    from .config import _config_frame_line

    p = Path(path).resolve()
    if not p.is_file():
        raise ConfigError(f"{path}: no such sweep file")
    namespace: dict[str, object] = {"__file__": str(p), "__name__": "layoutgen_sweep"}
    token = CONFIG_FILE.set(str(p))
    try:
        exec(compile(p.read_text(encoding="utf-8"), str(p), "exec"), namespace)
    except SyntaxError as e:
        raise ConfigError(f"{p}:{e.lineno}: syntax error: {e.msg}") from None
    except LayoutgenError as e:
        raise ConfigError(f"{p}:{_config_frame_line(e.__traceback__, str(p)) or '?'}: {e}") from None
    except Exception as e:  # noqa: BLE001 - the sweep file is user code: say where it failed
        raise ConfigError(f"{p}:{_config_frame_line(e.__traceback__, str(p)) or '?'}: {type(e).__name__}: {e}") from None
    finally:
        CONFIG_FILE.reset(token)
    designs = namespace.get("designs")
    if not isinstance(designs, (list, tuple)):
        raise ConfigError(f"{p}: the sweep file must set `designs = [...]` (Designs or config paths), "
                          f"found {type(designs).__name__}")
    out: list[Design | str | Path] = []
    for k, d in enumerate(designs):
        if isinstance(d, Design):
            d.config_path = d.config_path or p
            out.append(d)
        elif isinstance(d, (str, Path)):
            out.append(Path(d) if Path(d).is_absolute() else p.parent / d)
        else:
            raise ConfigError(f"{p}: designs[{k}] is a {type(d).__name__}, not a Design or a config path")
    return out

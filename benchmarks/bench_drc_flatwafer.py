"""Flat whole-deck DRC of a flattened wafer: ours untiled and tiled (1 and 2 Dask workers)
against KLayout flat, on the same file.

Builds the fan-in template (templates/wlcsp_fanin.py) on a wafer of `--diameter` mm
without its own DRC, flattens the wafer cell with KLayout into one flat cell (what a
vendor's flattened mask data looks like), then in separate processes:

- ours untiled: `run_drc(..., hierarchical=False)`, the whole sky400 deck;
- ours tiled on 1 and 2 local Dask worker processes (`--tiles auto`), the whole deck
  (connectivity and the wafer's plating and isolation checks run whole on one worker);
- KLayout flat: every width and space rule of the deck as `Region.width_check` /
  `Region.space_check` (the deck's other rule kinds have no one-call KLayout equivalent).

Printed: wall times, ratios, peak memory (RSS) of the process, and for the tiled runs the
largest peak of a worker process; violation counts.

Run: python benchmarks/bench_drc_flatwafer.py [--diameter 200] [--skip untiled]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def flat_wafer(tmp: Path, diameter: float) -> Path:
    """The template built on a `diameter` mm wafer, its top cell flattened into a new GDS."""
    import klayout.db as kdb

    from layoutgen.pipeline import build

    cfg = tmp / "wafer_cfg.py"
    template = ROOT / "templates" / "wlcsp_fanin.py"
    cfg.write_text(f"exec(compile(open({str(template)!r}).read(), {str(template)!r}, 'exec'))\n"
                   f"design = design.model_copy(update={{'wafer': design.wafer.model_copy(update={{'diameter': {diameter}}})}})\n")
    result = build(cfg, tmp / "out", drc=False, quiet=True)
    ly = kdb.Layout()
    ly.read(str(result.out_dir / f"{result.summary['design']}.gds"))
    top = ly.top_cell()
    top.flatten(-1, True)
    out = tmp / "flat_wafer.gds"
    ly.write(str(out))
    return out


def run_ours(path: str, workers: int) -> dict:
    from layoutgen.drc.engine import run_drc
    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sky400")
    t0 = time.perf_counter()
    if workers == 0:
        res, worker_mb, tiles = run_drc(path, pdk, hierarchical=False), 0.0, 0
    else:
        from layoutgen.drc.tiles import run_drc_tiled

        res, info = run_drc_tiled(path, pdk, workers=workers, report_memory=True)
        worker_mb, tiles = info["worker_peak_mb"], info["tiles"]
    return {"check_s": time.perf_counter() - t0, "violations": sum(res.counts().values()),
            "client_mb": _rss_mb(), "worker_mb": worker_mb, "tiles": tiles}


def run_klayout(path: str) -> dict:
    import klayout.db as kdb

    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sky400")
    t0 = time.perf_counter()
    ly = kdb.Layout()
    ly.read(path)
    top = ly.top_cell()
    n = 0
    for r in pdk.rules:
        if r.kind not in ("width", "space"):
            continue
        li = ly.layer(*pdk.layer(r.layer).gds)
        region = kdb.Region(top.begin_shapes_rec(li))
        d = round(r.value / ly.dbu)
        ep = region.width_check(d, False, kdb.Metrics.Euclidian) if r.kind == "width" else \
            region.space_check(d, False, kdb.Metrics.Euclidian)
        n += ep.count()
    return {"check_s": time.perf_counter() - t0, "violations": n, "client_mb": _rss_mb(), "worker_mb": 0.0, "tiles": 0}


def _child(engine: str, path: Path, workers: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", engine, "--gds", str(path), "--workers", str(workers)],
                         capture_output=True, text=True)
    if out.returncode:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diameter", type=float, default=200.0)
    ap.add_argument("--skip", default="", help="comma list of runs to skip: untiled, tiled1, tiled2, klayout")
    ap.add_argument("--child", choices=["ours", "klayout"])
    ap.add_argument("--gds")
    ap.add_argument("--workers", type=int, default=0)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_ours(a.gds, a.workers) if a.child == "ours" else run_klayout(a.gds)))
        return
    skip = set(filter(None, a.skip.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = flat_wafer(Path(tmp), a.diameter)
        print(f"{a.diameter:g} mm wafer flattened in {time.perf_counter() - t0:.0f} s: {path.stat().st_size / 1e6:.0f} MB GDS")
        runs = {"klayout": ("KLayout flat W+S", lambda: _child("klayout", path)),
                "untiled": ("ours untiled", lambda: _child("ours", path, 0)),
                "tiled1": ("ours tiled 1 wk", lambda: _child("ours", path, 1)),
                "tiled2": ("ours tiled 2 wk", lambda: _child("ours", path, 2))}
        kl = None
        print(f"{'engine':>17} {'time s':>8} {'× KLayout':>9} {'client MB':>9} {'worker MB':>9} {'tiles':>5}  violations")
        for key, (name, fn) in runs.items():
            if key in skip:
                continue
            r = fn()
            if "error" in r:
                print(f"{name:>17} failed: {r['error']}", flush=True)
                continue
            kl = r if key == "klayout" else kl
            ratio = f"{r['check_s'] / kl['check_s']:9.2f}" if kl else f"{'–':>9}"
            print(f"{name:>17} {r['check_s']:8.1f} {ratio} {r['client_mb']:9.0f} {r['worker_mb']:9.0f} {r['tiles']:5d}  "
                  f"{r['violations']}", flush=True)


if __name__ == "__main__":
    main()

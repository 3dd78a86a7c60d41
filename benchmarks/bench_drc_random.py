"""DRC on data we did not make: random overlapping rectangles, ours against KLayout flat.

Writes (with gdstk) N random axis-parallel rectangles on RDL (20/0) into one flat cell:
sides 2–40 µm on a 1 nm grid, scattered over a square sized for about 25 % coverage, so
many overlap and merge into irregular shapes, many are narrower than the rule (width
violations) and many sit closer than the rule to a neighbour (space violations). Then, on
that one file and the same two rules (RDL width and space, 10 µm, Euclidean):

- ours untiled: `run_drc(..., rules=[RDL.W.1, RDL.S.1])`, the engine as `layoutgen drc` runs it;
- ours tiled on 1 and on 2 Dask workers (`--tiles auto`), when `--tiled`;
- KLayout: read, then `Region.width_check` + `Region.space_check` (flat).

Each runs in its own process so each peak memory (RSS) is its own; the tiled runs report
the peak of the busiest worker process. Violation counts are printed side by side.

Run: python benchmarks/bench_drc_random.py [--sizes 100000,1000000] [--tiled]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RDL = (20, 0)
RULE = 10.0
SEED = 17


def write_random_gds(path: Path, n: int, seed: int = SEED, coverage: float = 0.25) -> float:
    """Write `n` random rectangles on RDL into one flat cell; returns the square's side (µm)."""
    import gdstk

    rng = np.random.default_rng(seed)
    wh = rng.integers(2000, 40001, size=(n, 2)) / 1000.0          # 2–40 µm on the 1 nm grid
    side = math.sqrt(float((wh[:, 0] * wh[:, 1]).sum()) / coverage)
    xy = rng.integers(0, int(side * 1000), size=(n, 2)) / 1000.0
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("RANDOM")
    for (x, y), (w, h) in zip(xy, wh):
        cell.add(gdstk.rectangle((x, y), (x + w, y + h), layer=RDL[0], datatype=RDL[1]))
    lib.write_gds(str(path))
    return side


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pdk():
    """sky400 with only RDL width and space, both set to RULE (the file is checked against these)."""
    from layoutgen.pdk import load_pdk

    return load_pdk("sky400")


RULES = ["RDL.W.1", "RDL.S.1"]


def run_ours(path: str, workers: int) -> dict:
    """Our engine in this process (workers = 0: untiled; else tiled on a local Dask cluster)."""
    from layoutgen.drc.engine import run_drc

    pdk = _pdk()
    t0 = time.perf_counter()
    if workers == 0:
        res = run_drc(path, pdk, rules=RULES, hierarchical=False)
        worker_mb = 0.0
    else:
        from layoutgen.drc.tiles import run_drc_tiled

        res, info = run_drc_tiled(path, pdk, rules=RULES, workers=workers, report_memory=True)
        worker_mb = info["worker_peak_mb"]
    t = time.perf_counter() - t0
    counts = res.counts()
    return {"check_s": t, "width": counts.get("RDL.W.1", 0), "space": counts.get("RDL.S.1", 0),
            "peak_mb": max(_rss_mb(), worker_mb)}


def run_klayout(path: str) -> dict:
    """KLayout flat Region checks in this process: read, width_check, space_check."""
    import klayout.db as kdb

    t0 = time.perf_counter()
    ly = kdb.Layout()
    ly.read(path)
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*RDL)))
    d = round(RULE / ly.dbu)
    w = region.width_check(d, False, kdb.Metrics.Euclidian)
    s = region.space_check(d, False, kdb.Metrics.Euclidian)
    t = time.perf_counter() - t0
    return {"check_s": t, "width": w.count(), "space": s.count(), "peak_mb": _rss_mb()}


def _child(engine: str, path: Path, workers: int = 0) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", engine, "--gds", str(path), "--workers", str(workers)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--tiled", action="store_true", help="also run tiled on 1 and 2 Dask workers")
    ap.add_argument("--skip", default="", help="comma list of runs to skip: untiled, tiled1, tiled2")
    ap.add_argument("--child", choices=["ours", "klayout"])
    ap.add_argument("--gds")
    ap.add_argument("--workers", type=int, default=0)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_ours(a.gds, a.workers) if a.child == "ours" else run_klayout(a.gds)))
        return
    skip = set(filter(None, a.skip.split(",")))
    print(f"{'case':>9} {'engine':>16} {'time s':>8} {'× KLayout':>9} {'peak MB':>8}  width / space violations")
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in a.sizes.split(",")):
            path = Path(tmp) / f"random{n}.gds"
            write_random_gds(path, n)
            kl = _child("klayout", path)
            runs = [("KLayout flat", "klayout", 0), ("ours untiled", "untiled", 0)]
            if a.tiled:
                runs += [("ours tiled 1 wk", "tiled1", 1), ("ours tiled 2 wk", "tiled2", 2)]
            for name, key, workers in runs:
                if key in skip:
                    continue
                r = kl if key == "klayout" else _child("ours", path, workers)
                print(f"{n:9d} {name:>16} {r['check_s']:8.2f} {r['check_s'] / kl['check_s']:9.2f} "
                      f"{r['peak_mb']:8.0f}  {r['width']} / {r['space']}", flush=True)


if __name__ == "__main__":
    main()

"""One cell placed by a 2000 × 2000 array (a GDS of a few hundred bytes): our hierarchical check,
which checks each distinct neighbourhood of the array once (drc/hier/array.py), against KLayout
deep (hierarchical) width and space on the same file.

The cell holds an 8 × 30 µm RDL bar (narrower than RDL.W.1) at a 15 × 40 µm pitch (7 µm from
its neighbours along x: RDL.S.1 between every two columns). Printed: time, peak memory and the
violations as a flat check counts them (4,000,000 width, 3,998,000 space).

Run: python benchmarks/bench_drc_array.py [--n 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drc_bench_common import rss_mb  # noqa: E402


def write_array(path: Path, n: int) -> None:
    import gdstk

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("BAR")
    cell.add(gdstk.rectangle((0, 0), (8, 30), layer=20, datatype=0))
    top = lib.new_cell("TOP")
    top.add(gdstk.Reference(cell, (0, 0), columns=n, rows=n, spacing=(15, 40)))
    lib.write_gds(str(path))


def ours(path: str) -> dict:
    from layoutgen.drc.engine import run_drc
    from layoutgen.pdk import load_pdk

    t0 = time.perf_counter()
    res = run_drc(path, load_pdk("sky400"))          # the whole deck, hierarchical (auto)
    c = res.flat_counts()
    return {"s": time.perf_counter() - t0, "mb": rss_mb(), "width": c["RDL.W.1"], "space": c["RDL.S.1"],
            "reported": len(res.violations), "mode": res.stats["TOP"]["mode"]}


def klayout(path: str) -> dict:
    import klayout.db as kdb

    t0 = time.perf_counter()
    ly = kdb.Layout()
    ly.read(path)
    dss = kdb.DeepShapeStore()
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(20, 0)), dss)
    w = region.width_check(10000, False, kdb.Metrics.Euclidian)
    s = region.space_check(10000, False, kdb.Metrics.Euclidian)
    return {"s": time.perf_counter() - t0, "mb": rss_mb(), "width": w.count(), "space": s.count(),
            "reported": w.count() + s.count(), "mode": "deep"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--child", choices=["ours", "klayout"])
    ap.add_argument("--gds")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(ours(a.gds) if a.child == "ours" else klayout(a.gds)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "array.gds"
        write_array(path, a.n)
        print(f"{a.n} x {a.n} array, GDS {path.stat().st_size} bytes")
        print(f"{'engine':>14} {'time s':>8} {'peak MB':>8}  width / space (flat count), reported, mode")
        for engine in ("ours", "klayout"):
            out = subprocess.run([sys.executable, __file__, "--child", engine, "--gds", str(path)],
                                 capture_output=True, text=True, timeout=600)
            if out.returncode:
                print(f"{engine:>14} failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{engine:>14} {r['s']:8.2f} {r['mb']:8.0f}  {r['width']} / {r['space']}, {r['reported']}, {r['mode']}",
                  flush=True)


if __name__ == "__main__":
    main()

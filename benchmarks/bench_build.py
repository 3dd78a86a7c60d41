"""Build benchmark: the 6.8 × 6.8 mm die with a full 16 × 16 grid (256 nets), routed and written.

Prints routing time, total build time (config to written mask set, no DRC) and peak memory.
Run: python benchmarks/bench_build.py
"""

from __future__ import annotations

import importlib.util
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

if importlib.util.find_spec("layoutgen") is None:  # a plain checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.pipeline import build
from layoutgen.config import load_config
from layoutgen.families import builder
from layoutgen.pdk import load_pdk

CONFIG = Path(__file__).parent / "configs" / "wlcsp_16x16.py"
AIM_S = 2.0


def main() -> int:
    design = load_config(CONFIG)
    pdk = load_pdk(design.pdk)
    t0 = time.perf_counter()
    die = builder(design.package.family)(design, pdk)
    t_die = time.perf_counter() - t0
    times = []
    for _ in range(4):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            result = build(CONFIG, out=tmp, drc=False)
            times.append(time.perf_counter() - t0)
    t_cold, t_total = times[0], statistics.median(times[1:])
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as tmp:
        build(CONFIG, out=tmp, drc=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        build(CONFIG, out=tmp, drc=True)
        t_drc = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    c = result.summary["counts"]
    print(f"die 6.8 x 6.8 mm, 16 x 16 balls at 400 um: {c['routes']}/{c['pads']} nets routed")
    print(f"die build (cells + routing): {t_die:.3f} s")
    print(f"total build (config -> GDS + 5 masks + previews + report, no DRC): median {t_total:.3f} s "
          f"(aim < {AIM_S} s: {t_total / AIM_S:.2f} of it); first in a fresh process {t_cold:.3f} s "
          f"(includes importing klayout for the previews)")
    print(f"total build with the DRC of the written GDS: {t_drc:.3f} s")
    print(f"peak Python memory (tracemalloc): {peak / 1e6:.1f} MB; max RSS {rss:.0f} MB")
    return 0 if c["routes"] == c["pads"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""Routing speed and memory on the benchmark die: 6.8 × 6.8 mm, full 16 × 16 array at 400 µm, 256 pads.

Run: python benchmarks/bench_route.py [--repeat N]
Prints the routing time (first call and median of N), nets routed, and peak memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

if importlib.util.find_spec("layoutgen") is None:  # a plain checkout, not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from layoutgen.route.rdl import route  # noqa: E402
from layoutgen.route.rdl.example import example_die  # noqa: E402

TARGET_S = 2.0


def main() -> int:
    """Route the benchmark die, print the figures, exit 1 if a net is missing or it is too slow."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed runs after the first (default 5)")
    args = parser.parse_args()
    die = example_die(6800.0, 16, 16, 400.0, pads_per_side=64, pad_pitch_um=95.0)

    start = time.perf_counter()
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    first = time.perf_counter() - start
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        route(die.pads, die.balls, die.keepin, die.rules)
        times.append(time.perf_counter() - start)

    tracemalloc.start()
    route(die.pads, die.balls, die.keepin, die.rules)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    routed = len(routing.routes)
    median = statistics.median(times) if times else first
    length_mm = sum(r.length_um for r in routing.routes) / 1000.0
    print(f"die             6.8 x 6.8 mm, {len(die.balls)} balls (16 x 16 @ 400 um), {len(die.pads)} pads")
    print(f"python          {platform.python_version()} on {platform.machine()}")
    print(f"nets routed     {routed} / {len(die.pads)}  (total trace length {length_mm:.1f} mm)")
    print(f"routing time    first {first:.3f} s, median of {len(times)} {median:.3f} s (target < {TARGET_S} s)")
    print(f"peak memory     {peak / 2**20:.1f} MiB traced by tracemalloc, {rss_mb:.0f} MiB max RSS")
    return 0 if routed == len(die.pads) and median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())

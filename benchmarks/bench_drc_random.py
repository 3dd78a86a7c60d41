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
the peak of the busiest worker process. Violation counts are printed side by side (KLayout
counts edge pairs, several per site; ours one per site). Shared code: drc_bench_common.py.

Run: python benchmarks/bench_drc_random.py [--sizes 100000,1000000 | --n 1000000] [--tiled]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drc_bench_common import HEADER, child_main, compare  # noqa: E402

RDL = (20, 0)
SEED = 17
RULES = ["RDL.W.1", "RDL.S.1"]      # sky400: RDL width and space, 10 µm


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


def main() -> None:
    if child_main(sys.argv):
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000", help="comma list of rectangle counts")
    ap.add_argument("--n", type=int, help="one rectangle count (instead of --sizes)")
    ap.add_argument("--tiled", action="store_true", help="also run tiled on 1 and 2 Dask workers")
    ap.add_argument("--skip", default="", help="comma list of runs to skip: klayout, untiled, tiled1, tiled2")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(","))) | (set() if a.tiled else {"tiled1", "tiled2"})
    print(f"{HEADER}  width / space violations")
    with tempfile.TemporaryDirectory() as tmp:
        for n in [a.n] if a.n else (int(s) for s in a.sizes.split(",")):
            path = Path(tmp) / f"random{n}.gds"
            write_random_gds(path, n)
            compare(__file__, path, str(n), RULES, skip, lambda c: f"{c.get('RDL.W.1', 0)} / {c.get('RDL.S.1', 0)}")


if __name__ == "__main__":
    main()
